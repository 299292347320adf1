//! XLIFF 2.1 (core): one `<unit>` per segment, id `u<key>`; paired inline
//! elements as `<pc id="gN">`, `<br>` and numbers as `<ph id="xN"/>` /
//! `<ph id="nN"/>` with how they look in `disp`; pages and elements as notes.

use super::{Catalog, Unit};
use crate::rewrite::tm::notation::{self, Tok};
use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};
use std::fmt::Write as _;

pub const NS: &str = "urn:oasis:names:tc:xliff:document:2.0";

/// Writes a catalog (with `<target>`s where it has them).
pub fn write(cat: &Catalog) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = write!(
        s,
        "<xliff xmlns=\"{NS}\" version=\"2.1\" srcLang=\"{}\"",
        escape(&cat.src_lang)
    );
    if let Some(t) = &cat.trg_lang {
        let _ = write!(s, " trgLang=\"{}\"", escape(t));
    }
    s.push_str(">\n <file id=\"pages\">\n");
    for u in cat.units.values() {
        let _ = writeln!(s, "  <unit id=\"u{}\">", escape(&u.key));
        if !(u.pages.is_empty() && u.elements.is_empty()) {
            s.push_str("   <notes>");
            for p in &u.pages {
                let _ = write!(s, "<note category=\"location\">{}</note>", escape(p));
            }
            for e in &u.elements {
                let _ = write!(s, "<note category=\"element\">{}</note>", escape(e));
            }
            s.push_str("</notes>\n");
        }
        let state = if u.target.is_some() {
            " state=\"translated\""
        } else {
            ""
        };
        let _ = write!(s, "   <segment{state}><source>");
        inline(&mut s, &u.source, &u.disp);
        s.push_str("</source>");
        if let Some(t) = &u.target {
            s.push_str("<target>");
            inline(&mut s, t, &u.disp);
            s.push_str("</target>");
        }
        s.push_str("</segment>\n  </unit>\n");
    }
    s.push_str(" </file>\n</xliff>\n");
    s
}

fn inline(s: &mut String, notation: &str, disp: &[String]) {
    let d = |n: &u16| {
        disp.get(usize::from(*n).wrapping_sub(1))
            .map(|x| escape(x).into_owned())
            .unwrap_or_default()
    };
    for t in notation::parse(notation).unwrap_or_default() {
        match &t {
            Tok::Text(x) => s.push_str(&escape(x)),
            Tok::Open(n) => {
                let name = d(n);
                if name.is_empty() {
                    let _ = write!(s, "<pc id=\"g{n}\">");
                } else {
                    let end = name.replacen("&lt;", "&lt;/", 1);
                    let _ = write!(s, "<pc id=\"g{n}\" dispStart=\"{name}\" dispEnd=\"{end}\">");
                }
            }
            Tok::Close(_) => s.push_str("</pc>"),
            Tok::Single(n) | Tok::Number(n) => {
                let k = if matches!(t, Tok::Single(_)) {
                    'x'
                } else {
                    'n'
                };
                match d(n) {
                    x if x.is_empty() => {
                        let _ = write!(s, "<ph id=\"{k}{n}\"/>");
                    }
                    x => {
                        let _ = write!(s, "<ph id=\"{k}{n}\" disp=\"{x}\"/>");
                    }
                }
            }
        }
    }
}

/// Reads an XLIFF 2.x document: its units' sources and targets back into
/// notation. Inline markup other than `pc`/`ph` (and `mrk`, unwrapped) is an
/// error for that unit, reported in the second value.
pub fn read(xml: &str) -> Result<(Catalog, Vec<String>), String> {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut cat = Catalog::default();
    let mut errs = Vec::new();
    let mut unit: Option<Unit> = None;
    let mut unit_err: Option<String> = None;
    // Inside <source> or <target>: the notation so far and open pc ids.
    let mut cur: Option<(bool, String, Vec<u16>)> = None;
    let mut note: Option<(String, String)> = None;
    let mut seen_xliff = false;
    loop {
        let ev = r
            .read_event()
            .map_err(|e| format!("XML at {}: {e}", r.buffer_position()))?;
        match ev {
            Event::Start(e) | Event::Empty(e) if !seen_xliff => {
                if e.local_name().as_ref() != "xliff" {
                    return Err("not an XLIFF document".into());
                }
                let v = attr(&e, "version").unwrap_or_default();
                if !v.starts_with("2.") {
                    return Err(format!("XLIFF version {v:?}: 2.x expected"));
                }
                cat.src_lang = attr(&e, "srcLang").unwrap_or_default();
                cat.trg_lang = attr(&e, "trgLang");
                seen_xliff = true;
            }
            Event::Start(e) => match (e.local_name().as_ref(), cur.as_mut()) {
                ("unit", None) => {
                    let id = attr(&e, "id").unwrap_or_default();
                    unit = Some(Unit {
                        key: id.strip_prefix('u').unwrap_or(&id).to_string(),
                        ..Unit::default()
                    });
                    unit_err = None;
                }
                ("note", None) => {
                    note = Some((attr(&e, "category").unwrap_or_default(), String::new()))
                }
                ("source", None) => cur = Some((false, String::new(), Vec::new())),
                ("target", None) => cur = Some((true, String::new(), Vec::new())),
                ("pc", Some((is_target, s, open))) => match placeholder(&e, 'g') {
                    Some(n) => {
                        let _ = write!(s, "<g{n}>");
                        open.push(n);
                        if !*is_target {
                            set_disp(unit.as_mut(), n, attr(&e, "dispStart"));
                        }
                    }
                    None => unit_err = Some("a <pc> with an id not from the source".into()),
                },
                ("mrk", Some((_, _, open))) => open.push(0),
                (other, Some(_)) => unit_err = Some(format!("inline <{}> is not supported", other)),
                _ => {}
            },
            Event::Empty(e) => match (e.local_name().as_ref(), cur.as_mut()) {
                ("ph", Some((is_target, s, _))) => {
                    match (placeholder(&e, 'x'), placeholder(&e, 'n')) {
                        (Some(n), _) | (_, Some(n)) => {
                            let k = if placeholder(&e, 'x').is_some() {
                                'x'
                            } else {
                                'n'
                            };
                            let _ = write!(s, "<{k}{n}/>");
                            if !*is_target {
                                set_disp(unit.as_mut(), n, attr(&e, "disp"));
                            }
                        }
                        _ => unit_err = Some("a <ph> with an id not from the source".into()),
                    }
                }
                ("pc", Some((_, s, _))) => match placeholder(&e, 'g') {
                    Some(n) => {
                        let _ = write!(s, "<g{n}></g{n}>");
                    }
                    None => unit_err = Some("a <pc> with an id not from the source".into()),
                },
                (other, Some(_)) => unit_err = Some(format!("inline <{}> is not supported", other)),
                _ => {}
            },
            Event::Text(t) => {
                let text = t.xml10_content();
                if let Some((_, s, _)) = cur.as_mut() {
                    s.push_str(&notation::render(&[Tok::Text(text.into_owned())]));
                } else if let Some((_, n)) = note.as_mut() {
                    n.push_str(&text);
                }
            }
            Event::GeneralRef(g) => {
                let name = AsRef::<str>::as_ref(&*g).to_string();
                let ch = match name.as_str() {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    _ => g.resolve_char_ref().ok().flatten(),
                };
                let Some(ch) = ch else {
                    return Err(format!("unknown entity &{name};"));
                };
                if let Some((_, s, _)) = cur.as_mut() {
                    s.push_str(&notation::render(&[Tok::Text(ch.to_string())]));
                } else if let Some((_, n)) = note.as_mut() {
                    n.push(ch);
                }
            }
            Event::CData(c) => {
                if let Some((_, s, _)) = cur.as_mut() {
                    let text = AsRef::<str>::as_ref(&*c).to_string();
                    s.push_str(&notation::render(&[Tok::Text(text)]));
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                "pc" | "mrk" => {
                    if let Some((_, s, open)) = cur.as_mut() {
                        match open.pop() {
                            Some(0) | None => {}
                            Some(n) => {
                                let _ = write!(s, "</g{n}>");
                            }
                        }
                    }
                }
                "source" | "target" => {
                    if let (Some((is_target, s, _)), Some(u)) = (cur.take(), unit.as_mut()) {
                        if is_target {
                            u.target = Some(s);
                        } else {
                            u.source = s;
                        }
                    }
                }
                "note" => {
                    if let (Some((cat_, text)), Some(u)) = (note.take(), unit.as_mut()) {
                        match cat_.as_str() {
                            "location" => u.pages.insert(text),
                            "element" => u.elements.insert(text),
                            _ => false,
                        };
                    }
                }
                "unit" => {
                    if let Some(u) = unit.take() {
                        match unit_err.take() {
                            Some(e) => errs.push(format!("unit u{}: {e}", u.key)),
                            None => cat.add(u),
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_xliff {
        return Err("not an XLIFF document".into());
    }
    Ok((cat, errs))
}

fn attr(e: &BytesStart, name: &str) -> Option<String> {
    e.try_get_attribute(name).ok().flatten().and_then(|a| {
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .ok()
            .map(|v| v.into_owned())
    })
}

fn set_disp(unit: Option<&mut Unit>, n: u16, disp: Option<String>) {
    if let (Some(u), Some(d)) = (unit, disp) {
        let i = usize::from(n) - 1;
        if u.disp.len() <= i && i < 1000 {
            u.disp.resize(i + 1, String::new());
        }
        if let Some(slot) = u.disp.get_mut(i) {
            *slot = d;
        }
    }
}

fn placeholder(e: &BytesStart, kind: char) -> Option<u16> {
    let id = attr(e, "id")?;
    id.strip_prefix(kind)?.parse().ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn round_trip() {
        let mut cat = Catalog::new("en");
        cat.trg_lang = Some("de-DE".into());
        let src = "Only <n1/> &amp; <g2>more &lt;3</g2><x3/>";
        cat.add(Unit {
            key: notation::key(src),
            source: src.into(),
            disp: vec!["35,374".into(), "<a>".into(), "<br>".into()],
            pages: BTreeSet::from(["/p/1?x=\"y\"".to_string()]),
            elements: BTreeSet::from(["p.intro".to_string()]),
            target: Some("Nur <n1/> &amp; <g2>mehr</g2><x3/>".into()),
        });
        let xml = write(&cat);
        assert!(
            xml.contains(
                "<pc id=\"g2\" dispStart=\"&lt;a&gt;\" dispEnd=\"&lt;/a&gt;\">more &lt;3</pc>"
            ),
            "{xml}"
        );
        let (back, errs) = read(&xml).unwrap();
        assert!(errs.is_empty());
        assert_eq!(back.trg_lang.as_deref(), Some("de-DE"));
        let u = back.units.values().next().unwrap();
        let want = cat.units.values().next().unwrap();
        assert_eq!(
            (&u.source, &u.target, &u.pages, &u.elements),
            (&want.source, &want.target, &want.pages, &want.elements)
        );
        let bad = xml.replace(
            "<ph id=\"x3\" disp=\"&lt;br&gt;\"/></target>",
            "<sc id=\"s1\"/></target>",
        );
        let (back, errs) = read(&bad).unwrap();
        assert_eq!((back.units.len(), errs.len()), (0, 1));
        assert!(read("<html/>").is_err());
    }
}
