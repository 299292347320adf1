//! Every real storefront page of ../shared/data goes through the native
//! rewriter: byte-identical when the config targets nothing on it, and
//! correctly edited when it does, whatever the chunking.

use borderless::charset::{self, Charset};
use borderless::config;
use borderless::context::{Context, Geo, Head};
use borderless::decision::Decisions;
use borderless::plan::Plan;
use borderless::preview::Overrides;
use borderless::rewrite::Rewriter;
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::PathBuf;
use std::rc::Rc;

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

fn plan(rules: &str) -> Rc<Plan> {
    let doc = format!(
        r#"{{"version":1,"bundle":"t","site":{{"default_locale":"en-GB","currency":"GBP"}},"rules":{rules}}}"#
    );
    let site = Rc::new(config::parse(&doc).unwrap());
    let geo = Geo::from_cf_json(Some(r#"{"country":"DE"}"#));
    let ctx = Context::new(geo, &Head::default(), 0, &Overrides::default(), &|_, _| {
        None
    });
    Rc::new(Plan::new(site, &ctx, &Decisions::origin("en-GB", "GBP")))
}

fn rewrite(plan: &Rc<Plan>, html: &[u8], chunk: usize) -> (Vec<u8>, Option<String>) {
    let enc = match charset::sniff(html) {
        Charset::Stream(e) => e,
        Charset::Unsupported => return (html.to_vec(), None),
    };
    let mut rw = Rewriter::new(Rc::clone(plan), enc, 1 << 20, true);
    let mut out = Vec::with_capacity(html.len() + 1024);
    for c in html.chunks(chunk) {
        out.extend(rw.write(c));
    }
    out.extend(rw.end());
    (out, rw.bail_out().map(str::to_string))
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
