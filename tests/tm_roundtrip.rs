//! The translation round trip on the 95 real storefront pages: extract →
//! XLIFF/PO → pseudo-translate → import → translate every page. Every
//! extracted segment must come back translated and the page's tag sequence
//! must not change. The catalogs pass xmllint (XLIFF 2 core schema) and
//! `msgfmt --check`.

use borderless::precompute::tm::extract::{self, Stats};
use borderless::precompute::tm::{cli, import, pseudo, xliff, Catalog};
use borderless::rewrite::charset::{self, Charset};
use borderless::rewrite::tm::memory::{shard_of, Memory};
use borderless::rewrite::tm::{translate_page, Options};
use lol_html::html_content::Element;
use lol_html::{element, HtmlRewriter, Settings};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;

#[path = "support/memory.rs"]
mod memory;
use memory::{pages, pseudo_memory, with_memory};

/// Start tags with their attribute names, in order (end tags are implied
/// by lol_html's element stack and compared through the bytes around them).
fn tags(html: &[u8], enc: &'static encoding_rs::Encoding) -> Vec<String> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s2 = Rc::clone(&seen);
    let settings = Settings::new()
        .with_encoding(lol_html::AsciiCompatibleEncoding::new(enc).expect("ascii"))
        .append_element_content_handler(element!("*", move |el: &mut Element| {
            let names: Vec<String> = el.attributes().iter().map(|a| a.name()).collect();
            s2.borrow_mut().push(format!("{}{names:?}", el.tag_name()));
            Ok(())
        }));
    let mut r = HtmlRewriter::new(settings, |_: &[u8]| {});
    r.write(html).expect("parse");
    r.end().expect("parse");
    let v = seen.borrow().clone();
    v
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("borderless-tm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn pseudo_translation_covers_every_segment_of_the_95_pages() {
    let pages = pages();
    let opts = Rc::new(Options::default());
    let mut cat = Catalog::new("en");
    let mut stats = Stats::default();
    for (path, html) in &pages {
        extract::page(&mut cat, path, html, &opts, &mut stats).unwrap();
    }
    // Through the files a translator gets back: XLIFF for de, PO for fr.
    let dir = tmp("roundtrip");
    let src_xlf = dir.join("source.xlf");
    cli::write_catalog(&cat, &src_xlf).unwrap();
    let mut back = cli::read_catalog(&src_xlf).unwrap();
    assert_eq!(back.units.len(), cat.units.len());
    back.trg_lang = Some("de".into());
    for u in back.units.values_mut() {
        u.target = pseudo(&u.source);
    }
    let tr = dir.join("tr");
    std::fs::create_dir_all(&tr).unwrap();
    cli::write_catalog(&back, &tr.join("de.xlf")).unwrap();
    back.trg_lang = Some("fr-FR".into());
    cli::write_catalog(&back, &tr.join("fr.po")).unwrap();
    let locales = vec!["de-DE".to_string(), "fr-FR".to_string()];
    let imp = import::read_dir(&tr, &locales).unwrap();
    assert!(
        imp.rejected.is_empty(),
        "{:?}",
        &imp.rejected[..imp.rejected.len().min(5)]
    );
    for locale in &locales {
        let tm = &imp.locales[locale];
        assert_eq!(tm.entries.len(), cat.units.len(), "{locale}");
        // Sharded, as a large shop's memory would be.
        let values = import::values(locale, tm, 256 << 10);
        let shards = values[0].shards;
        assert!(shards > 1, "{locale}: expected shards");
        let (mut found, mut translated, mut changed) = (0u64, 0u64, 0);
        for (path, html) in &pages {
            let Charset::Stream(enc) = charset::sniff(html) else {
                continue;
            };
            let mut m = Memory::from_value(values[0].clone());
            let k = shard_of(path, shards);
            if let Some(s) = values.iter().find(|v| v.shard.is_some() && v.shard == k) {
                m.add_shard(s.clone());
            }
            let m = Rc::new(m);
            for chunk in [4093, 1 << 16] {
                let (out, t) = translate_page(
                    html,
                    enc,
                    Rc::clone(&opts),
                    Some(Rc::clone(&m)),
                    false,
                    chunk,
                )
                .unwrap();
                let r = t.borrow().report.clone();
                assert_eq!(r.missing, 0, "{path}: missing {:?}", r.missing_keys);
                assert!(
                    !r.left
                        .contains_key(&borderless::rewrite::tm::Left::InvalidEntry),
                    "{path}"
                );
                assert!(
                    !r.left
                        .contains_key(&borderless::rewrite::tm::Left::Mismatch),
                    "{path}"
                );
                assert_eq!(
                    tags(html, enc),
                    tags(&out, enc),
                    "{path}: tag sequence changed"
                );
                if chunk == 4093 {
                    found += u64::from(r.segments);
                    translated += u64::from(r.translated);
                    changed += usize::from(out != *html);
                }
            }
        }
        eprintln!(
            "{locale}: {} pages, {} segments ({} units): {translated} translated, {} left alone {:?}; {} shards",
            stats.pages, found, cat.units.len(), found - translated, stats.left, shards
        );
        assert_eq!(found, stats.segments);
        assert_eq!(changed, stats.pages);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn xsd() -> PathBuf {
    match std::env::var_os("BORDERLESS_XLIFF_XSD") {
        Some(p) => PathBuf::from(p),
        None => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/xliff-schema/xliff-core-2.0.xsd")
        }
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/setup.sh installs it)"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        &text[..text.len().min(3000)]
    );
    text
}

#[test]
fn catalogs_pass_xmllint_and_msgfmt() {
    let xsd = xsd();
    assert!(
        xsd.exists(),
        "{}: missing; scripts/setup.sh unpacks it",
        xsd.display()
    );
    let pages = pages();
    let opts = Rc::new(Options::default());
    let mut cat = Catalog::new("en");
    let mut stats = Stats::default();
    for (path, html) in pages.iter().take(30) {
        extract::page(&mut cat, path, html, &opts, &mut stats).unwrap();
    }
    let dir = tmp("validate");
    cli::write_catalog(&cat, &dir.join("source.xlf")).unwrap();
    cli::write_catalog(&cat, &dir.join("source.pot")).unwrap();
    let mut de = cat.clone();
    de.trg_lang = Some("de-DE".into());
    for u in de.units.values_mut() {
        u.target = pseudo(&u.source);
    }
    cli::write_catalog(&de, &dir.join("de.xlf")).unwrap();
    cli::write_catalog(&de, &dir.join("de.po")).unwrap();
    for f in ["source.xlf", "de.xlf"] {
        let out = run(Command::new("xmllint")
            .arg("--noout")
            .arg("--nonet")
            .arg("--schema")
            .arg(&xsd)
            .arg(dir.join(f)));
        assert!(out.contains("validates"), "{out}");
    }
    for f in ["source.pot", "de.po"] {
        run(Command::new("msgfmt")
            .arg("--check")
            .arg("-o")
            .arg("/dev/null")
            .arg(dir.join(f)));
    }
    // A broken catalog is caught by the validator (the test can fail).
    let bad = std::fs::read_to_string(dir.join("de.xlf"))
        .unwrap()
        .replacen("<segment", "<segmnt", 1);
    std::fs::write(dir.join("bad.xlf"), bad).unwrap();
    let st = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(&xsd)
        .arg(dir.join("bad.xlf"))
        .output()
        .unwrap();
    assert!(!st.status.success());
    // Merging a second extraction keeps ids and adds pages.
    let first: Vec<String> = xliff::read(&std::fs::read_to_string(dir.join("source.xlf")).unwrap())
        .unwrap()
        .0
        .units
        .into_keys()
        .collect();
    let mut again = cli::read_catalog(&dir.join("source.xlf")).unwrap();
    for (path, html) in pages.iter().skip(30).take(5) {
        extract::page(&mut again, path, html, &opts, &mut stats).unwrap();
    }
    assert!(first.iter().all(|k| again.units.contains_key(k)));
    assert!(again.units.len() > first.len());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Start tag names in order.
fn tag_names(html: &[u8], enc: &'static encoding_rs::Encoding) -> Vec<String> {
    tags(html, enc)
        .into_iter()
        .map(|t| t.split('[').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn the_worker_pipeline_translates_every_page_from_kv() {
    use borderless::page::sim::{OriginResponse, Shop, Visit};
    let pages = pages();
    let (values, stats) = pseudo_memory(&pages, "de-DE");
    let shards = values[0].shards;
    let config = format!(
        r#"{{"version":1,"bundle":"v1","site":{{"default_locale":"en-GB","currency":"GBP"}},
        "localization":{{"locales":["en-GB","de-DE"],"translation":{{"shards":{{"de-DE":{shards}}},"log_missing_one_in":1}}}}}}"#
    );
    let shop = with_memory(Shop::new(&config), "v1", &values);
    let mut changed = 0;
    for (path, html) in &pages {
        let Charset::Stream(enc) = charset::sniff(html) else {
            continue;
        };
        let mut visit = Visit::get(path, "DE").header("accept-language", "de-DE,de;q=0.9");
        visit.chunk = 4093;
        let served = shop
            .serve(&visit, &OriginResponse::html(html, "text/html"))
            .unwrap();
        assert!(served.rewritten, "{path}");
        assert_eq!(served.bail_out(), None, "{path}");
        let missing: Vec<_> = served
            .logs
            .iter()
            .filter(|l| l.line.contains("translation_missing"))
            .collect();
        assert!(missing.is_empty(), "{path}: {missing:?}");
        let reads = served.report()["decisions"]["kv"].to_string();
        assert!(reads.contains("/tm/de-DE"), "{path}: {reads}");
        assert_eq!(tag_names(html, enc), tag_names(&served.body, enc), "{path}");
        // Every pseudo-translation ends with `]`: the page's text was translated.
        let brackets = |b: &[u8]| b.iter().filter(|c| **c == b']').count();
        changed += usize::from(brackets(&served.body) > brackets(html));
    }
    assert_eq!(changed, stats.pages);
}
