//! Regression tests for the outside attack's findings (issue 15), through
//! the whole pipeline (`page::sim`). Each failed before its fix.

use crate::page::sim::{OriginResponse, Shop, Visit};
use crate::page::values::Kind;

/// URL prefixes, a switcher, personalization with a segment slot.
fn site(card_template: Option<&str>) -> String {
    let tpl = card_template.map_or("null".to_string(), |t| {
        serde_json::Value::String(t.into()).to_string()
    });
    format!(
        r#"{{"version":1,"bundle":"t","site":{{"default_locale":"en-GB","currency":"GBP"}},
        "localization":{{"locales":["en-GB","de-DE"],"url_prefixes":true,"currencies":["GBP","EUR"],
            "switcher":{{"labels":{{"en-GB":"English","de-DE":"Deutsch"}}}}}},
        "personalization":{{"slots":{{"recs":{{"block":"segment"}}}},"cards":4,"holdout":0,
            "card_template":{tpl}}}}}"#
    )
}

const PACK: &str = r#"{"country":"DE","segments":{"DE:*:*:*:*":["k1"]},
    "cards":{"k1":{"id":"k1","title":{"en-GB":"Mug"},"category":"c","price":"2.55",
    "currency":"GBP","image":"/img/k1.svg","url":"/каталог/1"}}}"#;

fn shop(card_template: Option<&str>) -> Shop {
    Shop::new(&site(card_template))
        .value("b/t/country/DE", Kind::Pack, PACK)
        .value(
            "b/t/dict/de-DE",
            Kind::Dict,
            r#"{"locale":"de-DE","entries":{}}"#,
        )
}

fn visitor(path: &str) -> Visit {
    let mut v = Visit::get(path, "DE").header("cookie", "borderless_consent=yes");
    v.fresh_id = Some("0123456789abcdef0123456789abcdef".into());
    v
}

const PAGE: &str = r#"<html><head></head><body><div data-borderless-slot="switcher"></div><a href="/日本">x</a><div data-borderless-slot="recs"></div><p>end</p></body></html>"#;

fn page(extra: &[(&str, &str)]) -> OriginResponse {
    let mut o = OriginResponse::html(PAGE.as_bytes(), "text/html; charset=utf-8");
    o.headers
        .extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    o
}

/// Finding 1: non-ASCII links and card URLs with a locale prefix.
#[test]
fn non_ascii_paths_with_a_prefix_make_a_whole_page() {
    let out = shop(None).serve(&visitor("/de-de/"), &page(&[])).unwrap();
    assert!(out.rewritten);
    let text = out.text();
    assert!(text.ends_with("<p>end</p></body></html>"), "{text}");
    assert!(text.contains(r#"href="/de-de/日本""#), "{text}");
    assert!(text.contains(r#"href="/de-de/каталог/1""#), "{text}");
}

/// Finding 4: every href the worker writes is a same-site path.
#[test]
fn switcher_links_never_leave_the_site() {
    for path in [
        "/de-de//evil.com/x",
        "/de-de/\\evil.com/x",
        "//evil.com/x",
        "/de-de///evil.com",
    ] {
        let out = shop(None).serve(&visitor(path), &page(&[])).unwrap();
        assert!(out.rewritten, "{path}");
        let text = out.text();
        assert!(text.contains("borderless-switcher"), "{text}");
        for href in text.split("href=\"").skip(1) {
            let href = href.split('"').next().unwrap_or("");
            let local = href.starts_with('/') && !href.starts_with("//") && !href.contains('\\');
            assert!(
                local || href.starts_with("https://shop.test/"),
                "{path}: {href}"
            );
        }
    }
}

/// Finding 5: CDN cache headers, HEAD and GET agreeing, long Cache-Control.
#[test]
fn personalized_pages_are_never_cached_by_a_cdn() {
    let origin = page(&[
        ("cache-control", "public, s-maxage=600, max-age=60"),
        ("cdn-cache-control", "max-age=600"),
        ("cloudflare-cdn-cache-control", "max-age=600"),
        ("surrogate-control", "max-age=600"),
        ("etag", "\"strong\""),
    ]);
    let get = shop(None).serve(&visitor("/de-de/p/1"), &origin).unwrap();
    assert!(!get.header_all("set-cookie").is_empty(), "a visitor cookie");
    for h in [
        "cdn-cache-control",
        "cloudflare-cdn-cache-control",
        "surrogate-control",
    ] {
        assert_eq!(get.header(h), None, "{h}");
    }
    assert_eq!(get.header("cache-control"), Some("private, max-age=60"));
    let mut head = visitor("/de-de/p/1");
    head.method = "HEAD".into();
    let head = shop(None).serve(&head, &origin).unwrap();
    assert!(
        head.body.len() == PAGE.len() && !head.rewritten,
        "no body rewrite"
    );
    for h in [
        "cache-control",
        "etag",
        "cdn-cache-control",
        "surrogate-control",
        "vary",
    ] {
        assert_eq!(head.header(h), get.header(h), "{h}");
    }
    let long = format!("{}no-store", "x-y=1, ".repeat(40));
    let out = shop(None)
        .serve(&visitor("/de-de/p/1"), &page(&[("cache-control", &long)]))
        .unwrap();
    let cc = out.header("cache-control").unwrap_or("");
    assert!(
        cc.starts_with("private") && cc.ends_with("no-store"),
        "{cc}"
    );
}

/// Finding 6: the card template is parsed as HTML against an allow-list.
#[test]
fn card_templates_cannot_carry_script() {
    for bad in [
        "<scr{image}ipt>alert(1)</script>",
        "<img src=x on{image}error=alert(1)>",
        "<a href=\"java{image}script:alert(1)\">{title}</a>",
        "<a href=\"jav&#x61;script:alert(1)\">{title}</a>",
        "<a href=\"javascript&colon;alert(1)\">{title}</a>",
        "<a href=\"java\tscript:alert(1)\">{title}</a>",
        "<iframe srcdoc=\"&lt;script&gt;alert(1)&lt;/script&gt;\"></iframe>",
        "<base href=\"https://evil.test/\">{title}",
        "<meta http-equiv=refresh content=\"0;url=https://evil.test\">",
        "<object data=\"data:text/html,x\"></object>",
        "<li title={title}>{title}</li>",
        "<li style=\"background:url(x)\">{title}</li>",
        "<a href=\"{title}\">x</a>",
        "<svg><script>alert(1)</script></svg>",
        "<li>{title}<!-- {url} --></li>",
    ] {
        let s = Shop::new(&site(Some(bad)));
        assert!(s.site.is_err(), "accepted: {bad}");
    }
    let tpl = r#"<li class="card" data-id="{id}"><a href="{url}" title="{title}"><img src="{image}" alt=""> {title}</a> <b>{price}</b></li>"#;
    let s = shop(Some(tpl));
    assert!(s.site.is_ok(), "{:?}", s.site.as_ref().err());
    // A title that tries to break out of its attribute stays inside it.
    let evil = PACK.replace(r#""Mug""#, r#""x\" onmouseover=\"alert(1)""#);
    let out = s
        .value("b/t/country/DE", Kind::Pack, &evil)
        .serve(&visitor("/de-de/p/1"), &page(&[]))
        .unwrap();
    let text = out.text();
    assert!(
        text.contains(r#"title="x&quot; onmouseover=&quot;alert(1)""#),
        "{text}"
    );
    assert!(!text.contains("onmouseover=\"alert"), "{text}");
}

/// Finding 7: KV values are bounded and validated, by the worker and by
/// `borderless check` alike.
#[test]
fn kv_values_are_bounded_and_validated() {
    use crate::page::values::parse;
    let dict = |zero: &str, digits: u32| {
        format!(
            r#"{{"locale":"de-DE","money":{{"formats":[{{"pos_prefix":"","pos_suffix":" ¤","neg_prefix":"-","neg_suffix":" ¤","decimal":",","group":".","primary":3,"secondary":3,"min_grouping":1,"zero":"{zero}","digits":{digits}}}],"currencies":{{"EUR":{{"format":0,"symbol":"€"}}}}}}}}"#
        )
    };
    let fx = |rate: &str| {
        format!(r#"{{"base":"GBP","as_of":"2026-11-20T16:00:00Z","rates":{{"EUR":{rate}}}}}"#)
    };
    assert!(parse(Kind::Dict, &dict("0", 2)).is_ok());
    assert!(parse(Kind::Fx, &fx("1.17")).is_ok());
    for (kind, bad) in [
        (Kind::Dict, dict("0", 255)),
        (Kind::Dict, dict("\\uD7FF", 2)),
        (Kind::Dict, dict("x", 2)),
        (Kind::Fx, fx("1e-300")),
        (Kind::Fx, fx("1e300")),
    ] {
        assert!(parse(kind, &bad).is_err(), "accepted {bad}");
    }
    // A corrupt 5 MB value: refused before parsing, with a short reason.
    let big = format!("{{\"locale\":\"{}", "x".repeat(5 << 20));
    let t = std::time::Instant::now();
    let e = parse(Kind::Dict, &big).unwrap_err();
    assert!(e.len() < 100 && t.elapsed().as_millis() < 100, "{e}");
    // 8,000 rules (under the 1 MiB config limit) are refused.
    let rules = vec![r#"{"select":"p","set_text":"x"}"#; 8000].join(",");
    let cfg = format!(
        r#"{{"version":1,"bundle":"t","site":{{"default_locale":"en-GB","currency":"GBP"}},"rules":[{rules}]}}"#
    );
    assert!(cfg.len() < 1 << 20);
    let e = crate::config::parse(&cfg).err().map(|e| e.to_string());
    assert!(e.as_deref().is_some_and(|e| e.contains("rules")), "{e:?}");
    // The CLI's check refuses what the worker refuses.
    let entries = [
        ("b/t/dict/de-DE", dict("0", 255)),
        ("b/t/fx/rates", fx("1e-300")),
        (
            "config",
            r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"}}"#
                .to_string(),
        ),
    ]
    .map(|(k, v)| crate::schema::BulkEntry {
        key: k.into(),
        value: v,
        expiration_ttl: None,
    });
    let errs = crate::precompute::bundle::check(&entries).unwrap_err();
    assert!(
        errs.iter()
            .any(|e| e.contains("dict/de-DE") && e.contains("digits")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("fx/rates") && e.contains("1e-300")),
        "{errs:?}"
    );
}
