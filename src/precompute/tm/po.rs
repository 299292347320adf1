//! gettext PO: `msgid` is the source notation (placeholders `<g1>…</g1>`,
//! `<x2/>`, `<n3/>`), `#:` the pages, `#.` the elements and what each
//! placeholder stands for. No plural forms: a segment is one string.

use super::{Catalog, Unit};
use polib::catalog::Catalog as PoCatalog;
use polib::message::Message;
use polib::metadata::CatalogMetadata;
use std::collections::BTreeSet;
use std::io::BufWriter;

/// Writes a catalog as PO (a template, `.pot`, when it has no target language).
pub fn write(cat: &Catalog, created: &str) -> Result<String, String> {
    let mut meta = CatalogMetadata::new();
    meta.project_id_version = "borderless pages".into();
    meta.pot_creation_date = created.into();
    meta.po_revision_date = created.into();
    meta.last_translator = "borderless <noreply@example.invalid>".into();
    meta.language_team = "none".into();
    meta.mime_version = "1.0".into();
    meta.content_type = "text/plain; charset=UTF-8".into();
    meta.content_transfer_encoding = "8bit".into();
    meta.language = cat.trg_lang.clone().unwrap_or_default();
    let mut po = PoCatalog::new(meta);
    for u in cat.units.values() {
        let mut comments = u.elements.iter().cloned().collect::<Vec<_>>().join(" ");
        if !u.disp.is_empty() {
            let list: Vec<String> = u
                .disp
                .iter()
                .enumerate()
                .map(|(i, d)| format!("{}={d}", i + 1))
                .collect();
            comments.push_str(&format!("\nplaceholders: {}", list.join(" ")));
        }
        let refs: Vec<&str> = u.pages.iter().map(String::as_str).collect();
        po.append_or_update(
            Message::build_singular()
                .with_extracted_comments(comments)
                .with_source(refs.join(" "))
                .with_msgid(u.source.clone())
                .with_msgstr(u.target.clone().unwrap_or_default())
                .done(),
        );
    }
    let mut out = BufWriter::new(Vec::new());
    polib::po_file::write(&po, &mut out).map_err(|e| e.to_string())?;
    let bytes = out.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// Reads a PO file: every singular message with its translation. Plural
/// messages and fuzzy ones are listed as errors.
pub fn read(text: &str) -> Result<(Catalog, Vec<String>), String> {
    let po = polib::po_file::parse_from_reader(text.as_bytes()).map_err(|e| e.to_string())?;
    let mut cat = Catalog {
        src_lang: String::new(),
        trg_lang: Some(po.metadata.language.clone()).filter(|l| !l.is_empty()),
        ..Catalog::default()
    };
    let mut errs = Vec::new();
    for m in po.messages() {
        if m.is_plural() {
            errs.push(format!("{:?}: plural forms are not segments", m.msgid()));
            continue;
        }
        if m.is_fuzzy() {
            errs.push(format!("{:?}: fuzzy, not imported", m.msgid()));
            continue;
        }
        let target = m
            .msgstr()
            .ok()
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let pages: BTreeSet<String> = m.source().split_whitespace().map(str::to_string).collect();
        let elements: BTreeSet<String> = m
            .extracted_comments()
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        cat.add(Unit {
            key: crate::rewrite::tm::notation::key(m.msgid()),
            source: m.msgid().to_string(),
            disp: Vec::new(),
            pages,
            elements,
            target,
        });
    }
    Ok((cat, errs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut cat = Catalog::new("en");
        cat.trg_lang = Some("fr-FR".into());
        let src = "Say \"hi\" <g1>now</g1>\\<x2/>";
        cat.add(Unit {
            key: crate::rewrite::tm::notation::key(src),
            source: src.into(),
            disp: vec!["<a>".into(), "<br>".into()],
            pages: BTreeSet::from(["/a".to_string(), "/b".to_string()]),
            elements: BTreeSet::from(["p".to_string()]),
            target: Some("Dis « salut » <g1>maintenant</g1><x2/>".into()),
        });
        let text = write(&cat, "2026-11-29 12:00+0000").unwrap();
        assert!(text.contains("#: /a /b"), "{text}");
        let (back, errs) = read(&text).unwrap();
        assert!(errs.is_empty());
        assert_eq!(back.trg_lang.as_deref(), Some("fr-FR"));
        let (u, want) = (
            back.units.values().next().unwrap(),
            cat.units.values().next().unwrap(),
        );
        assert_eq!(
            (&u.key, &u.source, &u.target, &u.pages),
            (&want.key, &want.source, &want.target, &want.pages)
        );
    }
}
