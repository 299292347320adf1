//! Translated catalogs (XLIFF or PO, any mix) → one memory per locale, as
//! the bundle's `tm` values: segments on several pages in the base value,
//! and — when a locale's memory is large — segments of one page only in the
//! shard of that page, so a request reads at most one extra value.

use super::{po, validate, xliff, Catalog};
use crate::rewrite::tm::memory::{shard_of, TmValue, MAX_SHARDS};
use crate::rewrite::tm::notation;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One locale's translations: key → (target notation, pages).
#[derive(Debug, Default)]
pub struct LocaleTm {
    pub entries: BTreeMap<String, (String, BTreeSet<String>)>,
}

/// What an import found.
#[derive(Debug, Default)]
pub struct Imported {
    pub locales: BTreeMap<String, LocaleTm>,
    /// Units skipped, with why.
    pub rejected: Vec<String>,
    pub files: usize,
}

/// Reads every `.xlf`, `.xliff` and `.po` file of `dir`. `locales` are the
/// site's: a file's language (`de` or `de-DE`) must name one of them.
pub fn read_dir(dir: &Path, locales: &[String]) -> Result<Imported, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "xlf" || x == "xliff" || x == "po")
        })
        .collect();
    files.sort();
    let mut out = Imported::default();
    for f in files {
        let text = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let text = String::from_utf8(text)
            .map_err(|_| format!("{}: not UTF-8 (catalogs must be UTF-8)", f.display()))?;
        let is_po = f.extension().is_some_and(|x| x == "po");
        let (cat, errs) = if is_po {
            po::read(&text)
        } else {
            xliff::read(&text)
        }
        .map_err(|e| format!("{}: {e}", f.display()))?;
        let name = f.display().to_string();
        out.rejected
            .extend(errs.into_iter().map(|e| format!("{name}: {e}")));
        let stem = f.file_stem().map(|s| s.to_string_lossy().to_string());
        let lang = cat.trg_lang.clone().or(stem).unwrap_or_default();
        let locale = resolve(&lang, locales).ok_or(format!(
            "{name}: language {lang:?} is none of the site's {locales:?}"
        ))?;
        add(&mut out, &locale, &cat, &name);
        out.files += 1;
    }
    Ok(out)
}

/// `de-DE` for `de-DE`, `de_DE` or (if the site has one German locale) `de`.
pub fn resolve(lang: &str, locales: &[String]) -> Option<String> {
    let lang = lang.replace('_', "-");
    if let Some(l) = locales.iter().find(|l| l.eq_ignore_ascii_case(&lang)) {
        return Some(l.clone());
    }
    let mut same = locales.iter().filter(|l| {
        l.split('-')
            .next()
            .is_some_and(|p| p.eq_ignore_ascii_case(&lang))
    });
    match (same.next(), same.next()) {
        (Some(l), None) => Some(l.clone()),
        _ => None,
    }
}

fn add(out: &mut Imported, locale: &str, cat: &Catalog, file: &str) {
    let mem = out.locales.entry(locale.to_string()).or_default();
    for u in cat.units.values() {
        let Some(target) = &u.target else { continue };
        let key = notation::key(&u.source);
        if !u.key.is_empty() && u.key != key {
            out.rejected
                .push(format!("{file}: unit u{}: its source was edited", u.key));
            continue;
        }
        match validate(&u.source, target) {
            Ok(toks) => {
                mem.entries
                    .insert(key, (notation::render(&toks), u.pages.clone()));
            }
            Err(e) => out.rejected.push(format!("{file}: {:?}: {e}", u.source)),
        }
    }
}

/// The bundle values of one locale's memory. Over `shard_bytes` in all,
/// segments of a single page go to `ceil(size / shard_bytes)` shards.
pub fn values(locale: &str, tm: &LocaleTm, shard_bytes: usize) -> Vec<TmValue> {
    let size = |k: &String, t: &String| k.len() + t.len() + 6;
    let total: usize = tm.entries.iter().map(|(k, (t, _))| size(k, t)).sum();
    let mut base = TmValue {
        locale: locale.to_string(),
        ..TmValue::default()
    };
    if total <= shard_bytes {
        base.entries = tm
            .entries
            .iter()
            .map(|(k, (t, _))| (k.clone(), t.clone()))
            .collect();
        return vec![base];
    }
    let single: usize = tm
        .entries
        .iter()
        .filter(|(_, (_, p))| p.len() == 1)
        .map(|(k, (t, _))| size(k, t))
        .sum();
    let n = u32::try_from(single.div_ceil(shard_bytes.max(1)))
        .unwrap_or(MAX_SHARDS)
        .clamp(1, MAX_SHARDS);
    base.shards = n;
    let mut shards: Vec<TmValue> = (0..n)
        .map(|k| TmValue {
            locale: locale.to_string(),
            shard: Some(k),
            ..TmValue::default()
        })
        .collect();
    for (k, (t, pages)) in &tm.entries {
        let one = (pages.len() == 1)
            .then(|| pages.first().and_then(|p| shard_of(p, n)))
            .flatten();
        match one.and_then(|s| shards.get_mut(s as usize)) {
            Some(s) => s.entries.insert(k.clone(), t.clone()),
            None => base.entries.insert(k.clone(), t.clone()),
        };
    }
    let mut v = vec![base];
    v.extend(shards.into_iter().filter(|s| !s.entries.is_empty()));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::tm::memory::Memory;

    #[test]
    fn locales_resolve() {
        let l = vec![
            "de-DE".to_string(),
            "fr-FR".to_string(),
            "fr-CA".to_string(),
        ];
        assert_eq!(resolve("de", &l).as_deref(), Some("de-DE"));
        assert_eq!(resolve("de_de", &l).as_deref(), Some("de-DE"));
        assert_eq!(resolve("fr", &l), None);
        assert_eq!(resolve("ja", &l), None);
    }

    #[test]
    fn shards_by_page() {
        let mut tm = LocaleTm::default();
        for i in 0..200 {
            let pages = BTreeSet::from([format!("/p/{i}")]);
            tm.entries
                .insert(format!("{i:016x}"), (format!("Text {i}"), pages));
        }
        let shared = BTreeSet::from(["/a".to_string(), "/b".to_string()]);
        tm.entries.insert("f".repeat(16), ("Kopf".into(), shared));
        assert_eq!(values("de-DE", &tm, 1 << 20).len(), 1);
        let v = values("de-DE", &tm, 1000);
        assert!(v.len() > 2);
        assert_eq!(v[0].shards as usize, v.len() - 1);
        assert_eq!(v[0].entries.len(), 1);
        // A page finds its own entries in base + its one shard.
        for i in [0, 7, 199] {
            let page = format!("/p/{i}");
            let k = shard_of(&page, v[0].shards).unwrap();
            let shard = v.iter().find(|s| s.shard == Some(k)).unwrap();
            let mut m = Memory::from_value(v[0].clone());
            m.add_shard(shard.clone());
            assert_eq!(
                m.get(&format!("{i:016x}")),
                Some(format!("Text {i}").as_str())
            );
            assert_eq!(m.get(&"f".repeat(16)), Some("Kopf"));
        }
    }
}
