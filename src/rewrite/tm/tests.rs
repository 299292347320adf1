use super::memory::{Memory, TmValue};
use super::notation::key;
use super::*;
use encoding_rs::{Encoding, SHIFT_JIS, UTF_8, WINDOWS_1252};

fn mem(pairs: &[(&str, &str)]) -> Rc<Memory> {
    Rc::new(Memory::from_value(TmValue {
        locale: "de-DE".into(),
        entries: pairs.iter().map(|(s, t)| (key(s), t.to_string())).collect(),
        ..TmValue::default()
    }))
}

fn run_enc(html: &[u8], enc: &'static Encoding, m: &Rc<Memory>, chunk: usize) -> (Vec<u8>, Report) {
    let (out, tm) = translate_page(
        html,
        enc,
        Rc::new(Options::default()),
        Some(Rc::clone(m)),
        false,
        chunk,
    )
    .expect("translator");
    let r = tm.borrow().report.clone();
    (out, r)
}

fn run(html: &str, m: &Rc<Memory>, chunk: usize) -> (String, Report) {
    let (out, r) = run_enc(html.as_bytes(), UTF_8, m, chunk);
    (String::from_utf8(out).expect("utf-8"), r)
}

fn found(html: &str) -> Vec<(String, String)> {
    let (_, tm) = translate_page(
        html.as_bytes(),
        UTF_8,
        Rc::new(Options::default()),
        None,
        true,
        64,
    )
    .expect("translator");
    let t = tm.borrow();
    t.found
        .as_ref()
        .expect("extracting")
        .iter()
        .map(|f| (f.source.notation.clone(), f.path.clone()))
        .collect()
}

#[test]
fn inline_markup_nested_br_and_order() {
    let m = mem(&[
        (
            "Buy <g1>now</g1> and <g2>save <g3>big</g3></g2>",
            "<g2>Spare <g3>viel</g3></g2>, kaufe <g1>jetzt</g1>",
        ),
        ("Line one<x1/>line two", "Zeile eins<x1/>Zeile zwei"),
    ]);
    let page = "<div>\n  <p class=x>Buy <a href=\"/go?a=1&amp;b=2\" title='t>'>now</a> and <em>save <b>big</b></em>\n</p><p>Line one<br>line two</p></div>";
    let want = "<div>\n  <p class=x><em>Spare <b>viel</b></em>, kaufe <a href=\"/go?a=1&amp;b=2\" title='t>'>jetzt</a>\n</p><p>Zeile eins<br>Zeile zwei</p></div>";
    for chunk in [1, 2, 3, 5, 7, 64, 4096] {
        let (out, r) = run(page, &m, chunk);
        assert_eq!(out, want, "chunk {chunk}");
        // The link's title is a segment too (not in the memory).
        assert_eq!((r.segments, r.translated, r.missing), (3, 2, 1));
    }
}

#[test]
fn every_split_gives_the_same_bytes() {
    let m = mem(&[
        (
            "Caf\u{e9} &amp; <g1>Bar</g1>",
            "Kaffee &amp; <g1>Bar</g1> &lt;3",
        ),
        ("Only <n1/> left at <n2/>", "Nur noch <n1/> zu <n2/>"),
        ("Search", "Suche"),
    ]);
    let page = "<!doctype html><html><head><title>x</title></head><body><!-- c --><h1>Caf&eacute; &amp; <i>Bar</i></h1>\n<p>Only 3 left at &pound;12.50</p><input type=submit value=\"Search\"><script>var s='<p>Search</p>';</script></body></html>";
    let want = "<!doctype html><html><head><title>x</title></head><body><!-- c --><h1>Kaffee &amp; <i>Bar</i> &lt;3</h1>\n<p>Nur noch 3 zu £12.50</p><input type=submit value=\"Suche\"><script>var s='<p>Search</p>';</script></body></html>";
    for split in 0..page.len() {
        let mut tm_out = Vec::new();
        let tm = Tm::new(Rc::new(Options::default()), Some(Rc::clone(&m)), false).unwrap();
        let mut t = Translator::new(tm, UTF_8, 1 << 20).unwrap();
        tm_out.extend(t.write(&page.as_bytes()[..split]));
        tm_out.extend(t.write(&page.as_bytes()[split..]));
        tm_out.extend(t.end());
        assert_eq!(
            String::from_utf8(tm_out).unwrap(),
            want,
            "split at {split}: {:?}",
            t.tm.borrow().report
        );
    }
}

#[test]
fn no_memory_hit_means_identical_bytes() {
    let m = mem(&[]);
    let page = "<html><body><p>Hello <b>world</b> &copy; 2026&nbsp;Shop</p><ul><li>One<li>Two</ul>\
        <p title=\"Hi\">x<!-- c -->y</p><a href=/><img alt=\"Logo\" src=l.png><span>Home</span></a></body></html>";
    for chunk in [1, 3, 4096] {
        let (out, r) = run(page, &m, chunk);
        assert_eq!(out, page);
        assert!(r.missing >= 5, "{r:?}");
        assert_eq!(r.left.get(&Left::Markup), Some(&1), "{r:?}");
    }
}

#[test]
fn segments_found() {
    let f = found(
        "<html><head><title>My Shop</title><meta name=description content=\"Great mugs\"></head><body>\
         <ul><li>One<li>Two\n</ul><div class=card><a href=/p/1><img alt=\"Red mug\"><span>Red mug</span></a></div>\
         <p>35,374 sold so far</p><p>12 sold so far</p><p>\u{a0}</p><p>Keep&nbsp;together</p>\
         <div>Before <div>inside</div> after</div></body></html>",
    );
    let want: Vec<(String, String)> = [
        ("My Shop", "title"),
        ("Great mugs", "meta@content"),
        ("One", "li"),
        ("Two", "li"),
        ("Red mug", "img@alt"),
        ("<g1>Red mug</g1>", "img"),
        ("<n1/> sold so far", "p"),
        ("<n1/> sold so far", "p"),
        ("Keep\u{a0}together", "p"),
        ("Before", "div"),
        ("inside", "div"),
        ("after", "div"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(f, want);
}

#[test]
fn exclusions() {
    let m = mem(&[("Hello", "Hallo"), ("Logo", "Bild")]);
    let page = "<p>Hello</p><p translate=no>Hello</p><p class=\"a notranslate\">Hello <b>x</b></p>\
        <p data-borderless-ignore>Hello</p><pre>Hello</pre><code>Hello</code><textarea>Hello</textarea>\
        <template><p>Hello</p></template><style>p{}</style><p data-i18n=k>Hello</p>\
        <div translate=no><img alt=Logo><p>Hello</p></div><div class=skip>Hello</div><p>Hello</p>";
    let opts = Rc::new(Options {
        exclude: vec![".skip".into()],
        ..Options::default()
    });
    let (out, tm) = translate_page(page.as_bytes(), UTF_8, opts, Some(m), false, 3).unwrap();
    let want = page.replacen("<p>Hello</p>", "<p>Hallo</p>", 1);
    let want = format!("{}<p>Hallo</p>", want.strip_suffix("<p>Hello</p>").unwrap());
    assert_eq!(String::from_utf8(out).unwrap(), want);
    assert_eq!(tm.borrow().report.translated, 2);
}

#[test]
fn bounds_and_broken_markup() {
    let m = mem(&[("a <g1>b</g1>", "A <g1>B</g1>"), ("b", "B")]);
    let long = format!("<p>{}</p>", "word ".repeat(2000));
    let (out, r) = run(&long, &m, 100);
    assert_eq!(out, long);
    assert_eq!(r.left.get(&Left::OverBound), Some(&1));
    // Unclosed inline, misnested inline, block inside inline: left alone.
    for page in [
        "<p>a <b>b</p>",
        "<p>a <b>b<i>c</b></i></p>",
        "<p>a <b>b<div>x</div></b></p>",
    ] {
        let (out, _) = run(page, &m, 2);
        assert_eq!(out, page);
    }
}

#[test]
fn invalid_entries_are_ignored() {
    for bad in [
        "<g1>A</g1> <g1>B</g1>",
        "A B",
        "<g2>A</g2>",
        "<x1/>A",
        "A <b>B</b>",
    ] {
        let m = mem(&[("a <g1>b</g1>", bad)]);
        let (out, r) = run("<p>a <b>b</b></p>", &m, 4096);
        assert_eq!(out, "<p>a <b>b</b></p>", "{bad}");
        assert_eq!(r.left.get(&Left::InvalidEntry), Some(&1), "{bad}");
    }
}

#[test]
fn forged_markers_pass_through() {
    let m = mem(&[("Hi", "Hallo")]);
    let page = "<p>Hi</p><!--tm0000000000000000s1--><p>x<!--tm";
    let (out, _) = run(page, &m, 5);
    assert_eq!(out, page.replace("Hi", "Hallo"));
}

#[test]
fn legacy_encodings() {
    let m = mem(&[
        ("Größe <g1>wählen</g1>", "Taille <g1>choisir</g1> ☃"),
        ("価格", "Preis"),
    ]);
    let latin = b"<p>Gr\xF6\xDFe <b>w\xE4hlen</b></p>";
    let (out, _) = run_enc(latin, WINDOWS_1252, &m, 3);
    assert_eq!(out, b"<p>Taille <b>choisir</b> &#9731;</p>");
    let (sjis, _, _) = SHIFT_JIS.encode("<p>価格</p><p>在庫</p>");
    let (out, r) = run_enc(&sjis, SHIFT_JIS, &m, 1);
    assert_eq!(
        out,
        b"<p>Preis</p>"
            .iter()
            .chain(&sjis[11..])
            .copied()
            .collect::<Vec<u8>>()
    );
    assert_eq!((r.translated, r.missing), (1, 1));
}

#[test]
fn config_validates_translation() {
    let doc = |t: &str| {
        format!(
            r#"{{"version":1,"bundle":"b","site":{{"default_locale":"en-GB","currency":"GBP"}},
            "localization":{{"locales":["en-GB","de-DE"],"translation":{t}}}}}"#
        )
    };
    let ok = crate::config::parse(&doc(
        r#"{"exclude":[".skip","[itemprop=sku]"],"shards":{"de-DE":3}}"#,
    ))
    .expect("valid");
    let t = ok.doc.localization.unwrap().translation.unwrap();
    assert_eq!((t.max_segment_bytes, t.log_missing_one_in), (4096, 16));
    for bad in [
        r#"{"exclude":["a:has(b)"]}"#,
        r#"{"max_segment_bytes":1}"#,
        r#"{"shards":{"fr-FR":1}}"#,
        r#"{"shards":{"de-DE":99999}}"#,
        r#"{"unknown":1}"#,
    ] {
        assert!(crate::config::parse(&doc(bad)).is_err(), "{bad}");
    }
}
