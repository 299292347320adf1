//! Running `wrangler kv …` against the shop's namespace (local or remote).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

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
