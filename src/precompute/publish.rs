//! Publishing a bundle with `wrangler kv bulk put`: every versioned value
//! first (in files of at most 10,000 pairs), the pointer (`config`) last in
//! a call of its own, so readers switch to the new version only once all of
//! it is in KV. The config it replaces is kept for `borderless rollback`.

use super::bundle;
pub use super::wrangler::{find_wrangler, kv, Target};
use crate::schema::{BulkEntry, CONFIG_KEY};
use std::path::Path;

/// Pairs per `wrangler kv bulk put` file (wrangler's limit).
pub const MAX_PAIRS_PER_PUT: usize = 10_000;

/// The calls made, in order (for the report).
#[derive(Debug, Default)]
pub struct Report {
    pub calls: Vec<(usize, String)>,
}

/// Validates `entries` and writes them in the safe order.
pub fn publish(entries: &[BulkEntry], target: &Target) -> Result<Report, String> {
    let summary = bundle::check(entries).map_err(|errs| {
        format!(
            "refusing to publish an invalid bundle:\n  {}",
            errs.join("\n  ")
        )
    })?;
    let (pointer, mut data): (Vec<&BulkEntry>, Vec<&BulkEntry>) =
        entries.iter().partition(|e| e.key == CONFIG_KEY);
    let wrangler = target.wrangler.clone().unwrap_or_else(find_wrangler);
    // The config being replaced, kept for `borderless rollback`.
    let history = super::kv::previous_config(&summary.bundle, super::kv::get(CONFIG_KEY, target)?)
        .map(|(key, value)| BulkEntry {
            key,
            value,
            expiration_ttl: None,
        });
    data.extend(history.as_ref());
    let dir = std::env::temp_dir().join(format!(
        "borderless-publish-{}-{}",
        std::process::id(),
        summary.bundle
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut report = Report::default();
    let result = (|| {
        for (i, chunk) in data.chunks(MAX_PAIRS_PER_PUT).enumerate() {
            let file = dir.join(format!("values-{i}.json"));
            put(&wrangler, &file, chunk, target)?;
            report.calls.push((chunk.len(), file.display().to_string()));
        }
        let file = dir.join("pointer.json");
        put(&wrangler, &file, &pointer, target)?;
        report
            .calls
            .push((pointer.len(), file.display().to_string()));
        Ok::<(), String>(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result.map(|()| report)
}

pub fn put(wrangler: &Path, file: &Path, entries: &[&BulkEntry], t: &Target) -> Result<(), String> {
    let json = serde_json::to_string(entries).map_err(|e| e.to_string())?;
    std::fs::write(file, json).map_err(|e| format!("{}: {e}", file.display()))?;
    kv(wrangler, &["bulk", "put"], file.as_os_str(), t).map_err(|status| {
        format!(
            "{} kv bulk put {} failed ({status}); the pointer was {}",
            wrangler.display(),
            file.display(),
            if entries.iter().any(|e| e.key == CONFIG_KEY) {
                "not confirmed"
            } else {
                "not moved: readers still see the previous bundle"
            }
        )
    })
}
