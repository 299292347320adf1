//! The `borderless extract` / `pseudo` commands and the `--translations`
//! part of `build` and `check`.

use super::extract::{self, Stats};
use super::{import, po, pseudo, xliff, Catalog};
use crate::rewrite::tm::memory::TmValue;
use crate::rewrite::tm::Options;
use crate::schema::Config;
use std::path::{Path, PathBuf};
use std::rc::Rc;

#[derive(clap::Args)]
pub struct ExtractArgs {
    /// Pages: files, directories of `.html`/`.html.gz`, `http(s)://` URLs,
    /// or a `sitemap.xml` (file or URL) whose pages are fetched.
    #[arg(required = true)]
    pub pages: Vec<String>,
    /// Output directory: `source.xlf` and `source.pot` (merged with what is there).
    #[arg(short, long)]
    pub out: PathBuf,
    /// The pages' language.
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// CSS selector of content never translated (as in the worker's config); repeatable.
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Largest segment in bytes (as in the worker's config).
    #[arg(long, default_value_t = 4096)]
    pub max_segment_bytes: usize,
}

#[derive(clap::Args)]
pub struct PseudoArgs {
    /// The source catalog (`source.xlf` or `.pot`).
    pub source: PathBuf,
    /// Target language written into the catalog.
    #[arg(long)]
    pub lang: String,
    /// Output: `.xlf` or `.po`.
    #[arg(short, long)]
    pub out: PathBuf,
}

pub fn extract_cmd(a: &ExtractArgs) -> Result<(), String> {
    let opts = Rc::new(Options {
        max_segment_bytes: a.max_segment_bytes,
        exclude: a.exclude.clone(),
        ..Options::default()
    });
    std::fs::create_dir_all(&a.out).map_err(|e| format!("{}: {e}", a.out.display()))?;
    let xlf = a.out.join("source.xlf");
    let mut cat = if xlf.exists() {
        let text = std::fs::read_to_string(&xlf).map_err(|e| format!("{}: {e}", xlf.display()))?;
        xliff::read(&text)
            .map_err(|e| format!("{}: {e}", xlf.display()))?
            .0
    } else {
        Catalog::new(&a.lang)
    };
    let before = cat.units.len();
    cat.src_lang.clone_from(&a.lang);
    cat.trg_lang = None;
    let mut stats = Stats::default();
    for src in &a.pages {
        let files = if Path::new(src).is_dir() {
            extract::pages_in(Path::new(src))?
        } else {
            vec![src.clone()]
        };
        for f in files {
            for (path, html) in extract::read_source(&f)? {
                extract::page(&mut cat, &path, &html, &opts, &mut stats)?;
            }
        }
    }
    cat.cap_pages(50);
    write_catalog(&cat, &xlf)?;
    write_catalog(&cat, &a.out.join("source.pot"))?;
    let left: Vec<String> = stats
        .left
        .iter()
        .map(|(k, v)| format!("{k:?} {v}"))
        .collect();
    eprintln!(
        "{} pages ({} skipped: encoding): {} segments, {} units ({} new); left alone: {}",
        stats.pages,
        stats.skipped,
        stats.segments,
        cat.units.len(),
        cat.units.len() - before.min(cat.units.len()),
        if left.is_empty() {
            "none".into()
        } else {
            left.join(", ")
        }
    );
    Ok(())
}

pub fn pseudo_cmd(a: &PseudoArgs) -> Result<(), String> {
    let mut cat = read_catalog(&a.source)?;
    cat.trg_lang = Some(a.lang.clone());
    for u in cat.units.values_mut() {
        u.target = pseudo(&u.source);
    }
    write_catalog(&cat, &a.out)?;
    eprintln!(
        "pseudo-translated {} units into {}",
        cat.units.len(),
        a.out.display()
    );
    Ok(())
}

/// `build --translations DIR`: the memories, one summary line per locale.
/// The config learns which locales have one and their shard counts, so the
/// worker reads only those, base and shard at once.
pub fn memories(dir: &Path, cfg: &mut Config, shard_bytes: usize) -> Result<Vec<TmValue>, String> {
    let locales = cfg
        .localization
        .as_ref()
        .map(|l| l.locales.clone())
        .unwrap_or_default();
    let imp = import::read_dir(dir, &locales)?;
    for r in imp.rejected.iter().take(20) {
        eprintln!("rejected: {r}");
    }
    let mut out = Vec::new();
    for (locale, tm) in &imp.locales {
        let v = import::values(locale, tm, shard_bytes);
        eprintln!(
            "translations {locale}: {} segments in {} value(s)",
            tm.entries.len(),
            v.len()
        );
        out.extend(v);
    }
    eprintln!(
        "translations: {} files, {} units rejected",
        imp.files,
        imp.rejected.len()
    );
    match cfg
        .localization
        .as_mut()
        .and_then(|l| l.translation.as_mut())
    {
        Some(tr) => {
            tr.shards = out
                .iter()
                .filter(|t| t.shard.is_none())
                .map(|t| (t.locale.clone(), t.shards))
                .collect()
        }
        None => eprintln!(
            "note: the config has no localization.translation: the worker will not use the memories"
        ),
    }
    Ok(out)
}

/// `check`'s lines: entries per locale and, given a source catalog, its
/// coverage per locale.
pub fn check_lines(
    counts: &std::collections::BTreeMap<String, usize>,
    entries: &[crate::schema::BulkEntry],
    catalog: Option<&Path>,
) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = counts
        .iter()
        .map(|(l, n)| format!("translation memory {l}: {n} segments"))
        .collect();
    if let Some(c) = catalog {
        let cat = read_catalog(c)?;
        let tm: Vec<TmValue> = entries
            .iter()
            .filter(|e| e.key.contains("/tm/"))
            .filter_map(|e| serde_json::from_str(&e.value).ok())
            .collect();
        for (locale, have, all) in coverage(&cat, &tm) {
            out.push(format!(
                "coverage {locale}: {have}/{all} segments ({:.1}%)",
                100.0 * have as f64 / all.max(1) as f64
            ));
        }
    }
    Ok(out)
}

/// Coverage of a source catalog by the bundle's memories, per locale.
pub fn coverage(cat: &Catalog, tm: &[TmValue]) -> Vec<(String, usize, usize)> {
    let mut locales: Vec<&str> = tm.iter().map(|t| t.locale.as_str()).collect();
    locales.dedup();
    locales
        .into_iter()
        .map(|l| {
            let have = cat
                .units
                .keys()
                .filter(|k| {
                    tm.iter()
                        .any(|t| t.locale == l && t.entries.contains_key(*k))
                })
                .count();
            (l.to_string(), have, cat.units.len())
        })
        .collect()
}

pub fn read_catalog(p: &Path) -> Result<Catalog, String> {
    let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let is_po = p.extension().is_some_and(|x| x == "po" || x == "pot");
    let (cat, errs) = if is_po {
        po::read(&text)
    } else {
        xliff::read(&text)
    }
    .map_err(|e| format!("{}: {e}", p.display()))?;
    if let Some(e) = errs.first() {
        return Err(format!("{}: {e} ({} errors)", p.display(), errs.len()));
    }
    Ok(cat)
}

pub fn write_catalog(cat: &Catalog, p: &Path) -> Result<(), String> {
    let is_po = p.extension().is_some_and(|x| x == "po" || x == "pot");
    let text = if is_po {
        po::write(cat, &now_po())?
    } else {
        xliff::write(cat)
    };
    std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display()))
}

fn now_po() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let t = crate::precompute::agg::rfc3339(ms);
    // 2026-11-29T12:00:00Z → 2026-11-29 12:00+0000
    format!(
        "{} {}+0000",
        t.get(..10).unwrap_or(""),
        t.get(11..16).unwrap_or("")
    )
}
