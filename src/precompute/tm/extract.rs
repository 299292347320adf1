//! Finds the segments of a shop's pages: saved files, URLs fetched from the
//! origin, or every page a `sitemap.xml` lists. The same segmenter as the
//! worker, so the keys are the ones the worker looks up.

use super::{Catalog, Unit};
use crate::rewrite::charset::{self, Charset};
use crate::rewrite::tm::notation::Kind;
use crate::rewrite::tm::{translate_page, Left, Options};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

/// Largest page read.
const MAX_PAGE_BYTES: u64 = 16 << 20;

/// Totals over the pages read.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub pages: usize,
    /// Pages in an encoding the worker does not rewrite.
    pub skipped: usize,
    pub segments: u64,
    pub left: BTreeMap<Left, u64>,
}

/// Adds one page's segments to `cat`.
pub fn page(
    cat: &mut Catalog,
    path: &str,
    html: &[u8],
    opts: &Rc<Options>,
    stats: &mut Stats,
) -> Result<(), String> {
    let Charset::Stream(enc) = charset::sniff(html) else {
        stats.skipped += 1;
        return Ok(());
    };
    let (_, tm) = translate_page(html, enc, Rc::clone(opts), None, true, 64 << 10)?;
    let tm = tm.borrow();
    stats.pages += 1;
    stats.segments += u64::from(tm.report.segments);
    for (k, v) in &tm.report.left {
        *stats.left.entry(*k).or_default() += u64::from(*v);
    }
    for f in tm.found.iter().flatten() {
        let disp = f
            .source
            .kinds
            .iter()
            .zip(&f.source.parts)
            .map(|(k, p)| match k {
                Kind::Number => String::from_utf8_lossy(&p.open).into_owned(),
                _ => format!("<{}>", tag_name(&p.open)),
            })
            .collect();
        cat.add(Unit {
            key: f.key.clone(),
            source: f.source.notation.clone(),
            disp,
            pages: BTreeSet::from([path.to_string()]),
            elements: BTreeSet::from([f.path.clone()]),
            target: None,
        });
    }
    Ok(())
}

fn tag_name(raw: &[u8]) -> String {
    raw.iter()
        .skip(1)
        .take_while(|b| b.is_ascii_alphanumeric())
        .map(|b| char::from(b.to_ascii_lowercase()))
        .collect()
}

/// A page to read: a file, a URL, or a sitemap (file or URL).
pub fn read_source(src: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let is_url = src.starts_with("http://") || src.starts_with("https://");
    let body = if is_url {
        fetch(src)?
    } else {
        read_file(Path::new(src))?
    };
    if src.ends_with(".xml") || src.ends_with(".xml.gz") {
        let mut pages = Vec::new();
        for loc in sitemap_locs(&body)? {
            pages.push((url_path(&loc), fetch(&loc)?));
        }
        return Ok(pages);
    }
    let path = if is_url {
        url_path(src)
    } else {
        let name = Path::new(src)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let stem = name
            .trim_end_matches(".gz")
            .trim_end_matches(".html")
            .trim_end_matches(".htm");
        format!("/{stem}")
    };
    Ok(vec![(path, body)])
}

/// Files of a directory that look like pages (`.html`, `.htm`, `.html.gz`), sorted.
pub fn pages_in(dir: &Path) -> Result<Vec<String>, String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with(".html") || n.ends_with(".htm") || n.ends_with(".html.gz")
        })
        .map(|p| p.to_string_lossy().to_string())
        .collect();
    v.sort();
    Ok(v)
}

fn read_file(p: &Path) -> Result<Vec<u8>, String> {
    let f = std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let mut out = Vec::new();
    let r: Box<dyn Read> = if p.to_string_lossy().ends_with(".gz") {
        Box::new(flate2::read::GzDecoder::new(f))
    } else {
        Box::new(f)
    };
    r.take(MAX_PAGE_BYTES)
        .read_to_end(&mut out)
        .map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(out)
}

fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let mut resp = ureq::get(url)
        .header("User-Agent", "borderless-extract/1 (+translation catalog)")
        .call()
        .map_err(|e| format!("{url}: {e}"))?;
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_PAGE_BYTES)
        .read_to_vec()
        .map_err(|e| format!("{url}: {e}"))?;
    if url.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .take(MAX_PAGE_BYTES)
            .read_to_end(&mut out)
            .map_err(|e| format!("{url}: {e}"))?;
        return Ok(out);
    }
    Ok(body)
}

/// The `<loc>` URLs of a sitemap.
pub fn sitemap_locs(xml: &[u8]) -> Result<Vec<String>, String> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_reader(xml);
    let (mut loc, mut out, mut buf) = (None::<String>, Vec::new(), Vec::new());
    loop {
        match r
            .read_event_into(&mut buf)
            .map_err(|e| format!("sitemap: {e}"))?
        {
            Event::Start(e) if e.local_name().as_ref() == "loc" => loc = Some(String::new()),
            Event::End(e) if e.local_name().as_ref() == "loc" => {
                if let Some(l) = loc.take() {
                    out.push(l.trim().to_string());
                }
            }
            Event::Text(t) => {
                if let Some(l) = loc.as_mut() {
                    l.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(g) => {
                let ch = match AsRef::<str>::as_ref(&*g) {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    _ => g.resolve_char_ref().ok().flatten(),
                };
                if let (Some(l), Some(c)) = (loc.as_mut(), ch) {
                    l.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// The path of a URL (no query or fragment), `/` if none.
pub fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("/");
    if path.is_empty() {
        "/".into()
    } else {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemap_and_paths() {
        let xml = br#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <url><loc> https://shop.example/p/1?x=1 </loc></url><url><loc>https://shop.example/a&amp;b</loc></url></urlset>"#;
        let locs = sitemap_locs(xml).unwrap();
        assert_eq!(
            locs,
            ["https://shop.example/p/1?x=1", "https://shop.example/a&b"]
        );
        assert_eq!(url_path(&locs[0]), "/p/1");
        assert_eq!(url_path("https://shop.example"), "/");
    }

    #[test]
    fn page_units_merge() {
        let mut cat = Catalog::new("en");
        let mut st = Stats::default();
        let opts = Rc::new(Options::default());
        page(
            &mut cat,
            "/a",
            b"<p>Hi <a href=/x>there</a></p><p>12 sold</p>",
            &opts,
            &mut st,
        )
        .unwrap();
        page(&mut cat, "/b", b"<p>3 sold</p>", &opts, &mut st).unwrap();
        assert_eq!(cat.units.len(), 2);
        let sold = cat
            .units
            .values()
            .find(|u| u.source == "<n1/> sold")
            .unwrap();
        assert_eq!(sold.pages.len(), 2);
        let hi = cat
            .units
            .values()
            .find(|u| u.source.starts_with("Hi"))
            .unwrap();
        assert_eq!(hi.disp, ["<a>"]);
        assert_eq!(st.segments, 3);
    }
}
