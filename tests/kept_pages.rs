//! Kept pages (`page::variants`) on the 95 real storefront pages, with the
//! real-storefront workload (price detection and conversion, the
//! translation memory, a config rule): for each page and visitor, the page
//! sent whole and rewritten, then the same answered from the kept page, are
//! byte for byte the page streamed in chunks, with the same headers and log
//! lines.

use borderless::page::sim::{OriginResponse, Served, Shop, Visit};
use borderless::page::values::Kind;
use borderless::page::variants;

#[path = "support/storefront.rs"]
mod storefront;
use storefront::{fx, money_formats};
#[path = "support/memory.rs"]
mod memory;
use memory::{pages, pseudo_memory, with_memory};

/// Visitor country, language, currency.
const VISITORS: [(&str, &str, &str); 2] = [("DE", "de-DE", "EUR"), ("JP", "ja-JP", "JPY")];

/// A GBP shop in en-GB with a de-DE memory (pseudo-translated from every
/// page), FX, the visitors' money formats and one rule.
fn shop(pages: &[(String, Vec<u8>)]) -> Shop {
    let (values, _) = pseudo_memory(pages, "de-DE");
    let config = serde_json::json!({
        "version": 1, "bundle": "v1",
        "site": {"default_locale": "en-GB", "currency": "GBP"},
        "rules": [{"select": "html", "set_attr": {"data-country": "{country}"}}],
        "localization": {
            "locales": ["en-GB", "de-DE", "ja-JP"],
            "currencies": ["GBP", "EUR", "JPY"],
            "fx_max_age_hours": 48,
            "translation": {"shards": {"de-DE": values[0].shards}, "log_missing_one_in": 1},
        },
    });
    let mut shop = Shop::new(&config.to_string());
    shop.preview = None;
    shop = with_memory(shop, "v1", &values).value(
        "b/v1/fx/rates",
        Kind::Fx,
        &serde_json::to_string(&fx()).unwrap(),
    );
    let formats = money_formats();
    for (_, l, _) in VISITORS {
        let money = formats.get(l).or_else(|| formats.get("en-US"));
        let dict = serde_json::json!({"locale": l, "entries": {}, "money": money});
        shop = shop.value(&format!("b/v1/dict/{l}"), Kind::Dict, &dict.to_string());
    }
    shop
}

fn lines(s: &Served) -> Vec<String> {
    s.logs.iter().map(|l| l.line.clone()).collect()
}

/// A day after the table's rates were observed: fresh.
fn now() -> i64 {
    borderless::base::time::parse_rfc3339(&fx().as_of).unwrap() + 86_400_000
}

/// A visit of `path` by `visitor`, the body in `chunk`-byte reads (0: whole),
/// each a first view in the isolate (the same log lines).
fn visit(path: &str, (country, lang, currency): (&str, &str, &str), chunk: usize) -> Visit {
    borderless::page::seen::clear();
    let mut v = Visit::get(path, country)
        .header("accept-language", &format!("{lang},en;q=0.5"))
        .header("cookie", &format!("borderless_currency={currency}"));
    v.now_ms = now();
    v.chunk = chunk;
    v.fresh_id = Some("0123456789abcdef0123456789abcdef".into());
    v
}

#[test]
fn kept_pages_are_the_pages_rewritten() {
    let pages = pages();
    let shop = shop(&pages);
    variants::clear();
    let (mut kept, mut changed) = (0, 0);
    for (path, html) in &pages {
        for visitor in VISITORS {
            let country = visitor.0;
            let visit = |chunk: usize| visit(path, visitor, chunk);
            let origin = OriginResponse::html(html, "text/html");
            let streamed = shop.serve(&visit(4093), &origin).unwrap();
            let (_, hits) = variants::count();
            let first = shop.serve(&visit(0), &origin).unwrap();
            let again = shop.serve(&visit(0), &origin).unwrap();
            let hit = variants::count().1 > hits;
            kept += usize::from(hit);
            changed += usize::from(streamed.body != *html);
            // The kept page is the page rewritten whole, byte for byte.
            assert!(
                again.body == first.body,
                "{path} {country}: kept page differs"
            );
            assert_eq!(again.headers, first.headers, "{path} {country}");
            assert_eq!(lines(&again), lines(&first), "{path} {country}");
            // Whole or in chunks, the same page.
            assert!(
                first.body == streamed.body,
                "{path} {country}: whole and in chunks differ"
            );
            assert_eq!(first.headers, streamed.headers, "{path} {country}");
            assert_eq!(lines(&first), lines(&streamed), "{path} {country}");
            // Only a page too large to keep or a bail-out is rewritten again.
            let small = html.len() + streamed.body.len() < 600 << 10;
            if small && streamed.bail_out().is_none() {
                assert!(hit, "{path} {country}: not answered from the kept page");
            }
        }
    }
    eprintln!(
        "{kept} of {} answers from kept pages; {changed} pages rewritten",
        pages.len() * VISITORS.len(),
    );
    assert!(kept > 0);
    assert!(changed > pages.len(), "the workload changes the pages");
}

/// A text node whose first input chunk is blank: the price stage carries
/// that chunk's bytes into the node's last chunk, and the segment must
/// still start before them. (Six of the real pages had a segment left
/// untranslated so when the body came in chunks.)
#[test]
fn a_node_split_after_its_blank_start_is_translated() {
    // The first KiB is held whole (the charset prescan): a comment pads
    // the page past it, so the chunks reach the rewriter as they are.
    let html = format!(
        "<html><body><!--{}--><div>\n      Questions et r\u{e9}ponses\n   </div>\
        <p>Price: \u{a3}12.50</p><div>\n      \n   </div><b>x</b>\
        <div>\n    $800\n    <span>from</span>\n  </div></body></html>",
        " ".repeat(1100)
    );
    let pages = vec![("/qa".to_string(), html.as_bytes().to_vec())];
    let shop = shop(&pages);
    let origin = OriginResponse::html(html.as_bytes(), "text/html");
    let whole = shop.serve(&visit("/qa", VISITORS[0], 0), &origin).unwrap();
    let text = whole.text();
    assert!(text.contains("[Q"), "{text}");
    assert!(text.contains("[$800"), "{text}");
    for chunk in 1..html.len() {
        let streamed = shop
            .serve(&visit("/qa", VISITORS[0], chunk), &origin)
            .unwrap();
        assert_eq!(streamed.text(), text, "chunks of {chunk} bytes");
        assert_eq!(lines(&streamed), lines(&whole), "chunks of {chunk} bytes");
    }
}
