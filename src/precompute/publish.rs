//! Publishing a bundle with `wrangler kv bulk put`: every versioned value
//! first (in files of at most 10,000 pairs), the pointer (`config`) last in
//! a call of its own, so readers switch to the new version only once all of
//! it is in KV. The config it replaces is kept for `borderless rollback`.

use super::bundle;
use crate::schema::{BulkEntry, CONFIG_KEY};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Pairs per `wrangler kv bulk put` file (wrangler's limit).
pub const MAX_PAIRS_PER_PUT: usize = 10_000;

#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Local (Miniflare) storage instead of Cloudflare.
    pub local: bool,
    /// `wrangler --env`.
    pub env: Option<String>,
    pub binding: String,
    /// The wrangler to run; default `$BORDERLESS_WRANGLER`, else
    /// `node_modules/.bin/wrangler` found from the current directory up,
    /// else `wrangler` on the PATH.
    pub wrangler: Option<PathBuf>,
}

pub fn find_wrangler() -> PathBuf {
    if let Some(w) = std::env::var_os("BORDERLESS_WRANGLER").filter(|w| !w.is_empty()) {
        return PathBuf::from(w);
    }
    let mut dir = std::env::current_dir().ok();
    while let Some(d) = dir {
        let w = d.join("node_modules/.bin/wrangler");
        if w.exists() {
            return w;
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    PathBuf::from("wrangler")
}

/// The calls made, in order (for the report).
#[derive(Debug, Default)]
pub struct Report {
    pub calls: Vec<(usize, String)>,
}

/// `wrangler kv <args…> --binding B [--env E] --local|--remote`.
pub(crate) fn kv_command<S: AsRef<OsStr>>(
    wrangler: &Path,
    args: impl IntoIterator<Item = S>,
    t: &Target,
) -> Result<Command, String> {
    let mut cmd = Command::new(wrangler);
    cmd.arg("kv").args(args).args(["--binding", &t.binding]);
    if let Some(env) = &t.env {
        cmd.args(["--env", env]);
    }
    cmd.arg(if t.local { "--local" } else { "--remote" });
    // wrangler needs Node ≥ 22: prefer the node installed beside it.
    if let Some(bin) = wrangler.parent().filter(|d| d.join("node").exists()) {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![bin.to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        cmd.env(
            "PATH",
            std::env::join_paths(dirs).map_err(|e| e.to_string())?,
        );
    }
    Ok(cmd)
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

/// Runs `wrangler kv <sub…> <arg> …`; `Err` describes the failure.
pub fn kv(wrangler: &Path, sub: &[&str], arg: &OsStr, t: &Target) -> Result<(), String> {
    let args = sub.iter().map(OsStr::new).chain([arg]);
    let status = kv_command(wrangler, args, t)?
        .status()
        .map_err(|e| format!("running {}: {e}", wrangler.display()))?;
    if !status.success() {
        return Err(status.to_string());
    }
    Ok(())
}
