//! Single KV keys through wrangler (`kv key get/put`), the bundle history
//! that `publish` records, and `borderless rollback`.
//!
//! Before it moves the pointer, `publish` keeps the config it replaces under
//! [`history_key`] of the new bundle. Rolling back reads the live config,
//! finds the config that was live before it, checks that bundle's values
//! are still in KV, and writes it back as the pointer. Rolling back again
//! goes one more version back.

use super::wrangler::{find_wrangler, kv_command, Target};
use crate::config;
use crate::schema::{bundle_key, CONFIG_KEY, GLOBAL_COUNTRY, KIND_COUNTRY};
use std::path::PathBuf;

/// What `wrangler kv key get` prints for a missing key (exit status 0).
const NOT_FOUND: &str = "Value not found\n";

/// Key of the config that was live before `bundle` was published.
pub fn history_key(bundle: &str) -> String {
    format!("history/{bundle}")
}

fn wrangler(t: &Target) -> PathBuf {
    t.wrangler.clone().unwrap_or_else(find_wrangler)
}

/// A key's value; `None` when it does not exist.
pub fn get(key: &str, t: &Target) -> Result<Option<String>, String> {
    let w = wrangler(t);
    let out = kv_command(&w, ["key", "get", key], t)?
        .arg("--text")
        .output()
        .map_err(|e| format!("running {}: {e}", w.display()))?;
    if !out.status.success() {
        return Err(format!(
            "wrangler kv key get {key} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8(out.stdout).map_err(|_| format!("{key}: not UTF-8"))?;
    Ok((text != NOT_FOUND).then_some(text))
}

/// Writes one key (the value through a file: no argument length limit).
pub fn put(key: &str, value: &str, t: &Target) -> Result<(), String> {
    let w = wrangler(t);
    let file = std::env::temp_dir().join(format!("borderless-put-{}.json", std::process::id()));
    std::fs::write(&file, value).map_err(|e| format!("{}: {e}", file.display()))?;
    let status = kv_command(&w, ["key", "put", key], t)?
        .arg("--path")
        .arg(&file)
        .status();
    let _ = std::fs::remove_file(&file);
    let status = status.map_err(|e| format!("running {}: {e}", w.display()))?;
    if !status.success() {
        return Err(format!("wrangler kv key put {key} failed ({status})"));
    }
    Ok(())
}

/// The history entry `publish` adds for a new bundle: the live config it
/// replaces, when there is one for another bundle.
pub fn previous_config(new_bundle: &str, live: Option<String>) -> Option<(String, String)> {
    let live = live?;
    let doc = config::parse(&live).ok()?.doc;
    (doc.bundle != new_bundle).then(|| (history_key(new_bundle), live))
}

/// What a rollback did.
#[derive(Debug, PartialEq)]
pub struct Rollback {
    pub from: String,
    pub to: String,
}

/// Flips the pointer back to the config live before the current bundle.
/// `dry_run` checks everything and writes nothing.
pub fn rollback(t: &Target, dry_run: bool) -> Result<Rollback, String> {
    let live = get(CONFIG_KEY, t)?.ok_or("no config in KV: nothing to roll back")?;
    let current = config::parse(&live)
        .map_err(|e| format!("the live config is invalid ({e}); publish a good bundle instead"))?
        .doc
        .bundle;
    let prev = get(&history_key(&current), t)?.ok_or(format!(
        "no history for bundle {current}: it was published before history was kept, or it is the first"
    ))?;
    let prev_doc = config::parse(&prev)
        .map_err(|e| format!("{}: invalid config ({e})", history_key(&current)))?
        .doc;
    // Every bundle has a global pack: its absence means the values are gone.
    let probe = bundle_key(&prev_doc.bundle, KIND_COUNTRY, GLOBAL_COUNTRY);
    if get(&probe, t)?.is_none() {
        return Err(format!(
            "bundle {} is no longer in KV ({probe} missing): publish it again",
            prev_doc.bundle
        ));
    }
    if !dry_run {
        put(CONFIG_KEY, &prev, t)?;
    }
    Ok(Rollback {
        from: current,
        to: prev_doc.bundle,
    })
}
