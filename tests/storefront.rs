//! Every real storefront page of ../shared/data goes through the native
//! rewriter: byte-identical when the config targets nothing on it, and
//! correctly edited when it does, whatever the chunking.

use borderless::page::sim::{OriginResponse, Shop, Visit};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::PathBuf;

fn pages() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/storefront-pages");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".html.gz") {
            let mut html = Vec::new();
            GzDecoder::new(std::fs::File::open(&path).unwrap())
                .read_to_end(&mut html)
                .unwrap();
            out.push((stem.to_string(), html));
        }
    }
    out.sort();
    out
}

/// A shop with `rules`, a desktop visitor from Germany.
fn plan(rules: &str) -> Shop {
    Shop::new(&format!(
        r#"{{"version":1,"bundle":"t","site":{{"default_locale":"en-GB","currency":"GBP"}},"rules":{rules}}}"#
    ))
}

/// The page through the whole pipeline, the origin sending no charset.
fn rewrite(shop: &Shop, html: &[u8], chunk: usize) -> (Vec<u8>, Option<String>) {
    let mut v = Visit::get("/", "DE");
    v.chunk = chunk;
    let out = shop
        .serve(&v, &OriginResponse::html(html, "text/html"))
        .unwrap();
    assert!(out.rewritten);
    (out.body.clone(), out.bail_out())
}

#[test]
fn untargeted_pages_are_byte_identical() {
    let pages = pages();
    assert_eq!(pages.len(), 95, "expected the 95 storefront pages");
    let p = plan(
        r#"[{"select":"[data-borderless-greeting]","set_text":"x"},
            {"select":"[data-bl-nothing] > p","set_attr":{"data-x":"{country}"}}]"#,
    );
    for (name, html) in &pages {
        for chunk in [1 << 16, 4093, 97] {
            let (out, bail) = rewrite(&p, html, chunk);
            assert_eq!(bail, None, "{name}: bailed out at chunk {chunk}");
            assert!(out == *html, "{name}: changed with chunk size {chunk}");
        }
    }
}

#[test]
fn targeted_pages_change_only_where_targeted() {
    let p = plan(
        r#"[{"select":"html","set_attr":{"data-bl-country":"{country}"}},{"select":"title","set_text":"T <&>"}]"#,
    );
    let mut titled = 0;
    for (name, html) in pages() {
        let (out, bail) = rewrite(&p, &html, 1500);
        assert_eq!(bail, None, "{name}");
        let s = String::from_utf8_lossy(&out);
        assert!(
            s.contains("data-bl-country=\"DE\""),
            "{name}: html attribute missing"
        );
        if s.contains("<title>T &lt;&amp;&gt;</title>") {
            titled += 1;
        }
        // Only the additions differ in length (the title text is replaced).
        assert!(out.len() + 20_000 > html.len(), "{name}: page lost content");
    }
    assert!(
        titled >= 90,
        "only {titled} pages had their <title> rewritten"
    );
}
