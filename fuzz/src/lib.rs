//! Shared pieces of the fuzz targets: shops (the demo's config, and one with
//! URL prefixes, a card template, rules and a small rewriter memory), their
//! KV values, and the invariants every response must keep.

use borderless::base::url::is_local_path;
use borderless::page::sim::{OriginResponse, Served, Shop, Visit};
use borderless::page::values::Kind;
use std::cell::OnceCell;

pub const DEMO_CONFIG: &str = include_str!("../../demo/config.json");

/// Locales with dictionaries (the demo's strings, plus money formats).
const DICTS: [(&str, &str); 3] = [
    ("de-DE", include_str!("../../demo/i18n/de-DE.json")),
    ("ja-JP", include_str!("../../demo/i18n/ja-JP.json")),
    ("ar-AE", include_str!("../../demo/i18n/ar-AE.json")),
];
const FX: &str = include_str!("../../demo/fx.json");

/// Money formats as ICU writes them (de-DE, ja-JP, ar-AE with Arabic digits).
fn money(locale: &str) -> serde_json::Value {
    let (pre, suf, dec, grp, zero, sym_eur) = match locale {
        "de-DE" => ("", "\u{a0}¤", ",", ".", "0", "€"),
        "ja-JP" => ("¤", "", ".", ",", "0", "€"),
        _ => ("\u{200f}", "\u{a0}¤", "٫", "٬", "٠", "€"),
    };
    let pat = |digits: u8| {
        serde_json::json!({"pos_prefix": pre, "pos_suffix": suf, "neg_prefix": format!("{pre}-"),
            "neg_suffix": suf, "decimal": dec, "group": grp, "primary": 3, "secondary": 3,
            "min_grouping": 1, "zero": zero, "digits": digits})
    };
    serde_json::json!({
        "formats": [pat(2), pat(0), pat(3)],
        "currencies": {
            "GBP": {"format": 0, "symbol": "£"}, "EUR": {"format": 0, "symbol": sym_eur},
            "USD": {"format": 0, "symbol": "$"}, "JPY": {"format": 1, "symbol": "￥"},
            "BHD": {"format": 2, "symbol": "BHD"}, "CHF": {"format": 0, "symbol": "CHF"}
        }
    })
}

/// A pack with cards whose values try to break out of the markup.
pub const PACK: &str = r#"{"country":"DE",
 "segments":{"DE:*:*:*:*":["k1","k2","k3"],"DE:mobile:*:*:*":["k2"]},
 "trending":["k3","k1"],
 "also_bought":{"k1":["k2","k3"]},
 "cards":{
  "k1":{"id":"k1","title":{"en-GB":"Mug","de":"Becher"},"category":"kitchen","price":"2.55","currency":"GBP","image":"/img/k1.svg","url":"/каталог/1"},
  "k2":{"id":"k2","title":{"en-GB":"\"><script>alert(1)</script>","ja":"日本"},"category":"<b>","price":"1e3","currency":"GBP","image":"javascript:alert(1)","url":"//evil.test/x"},
  "k3":{"id":"k3","title":{"en-GB":"x' onmouseover='alert(1)"},"category":"c","price":"0.005","currency":"EUR","image":"https://cdn.test/i.png","url":"/p/k3?a=1&b=<2>"}
 }}"#;

/// The second shop: URL prefixes, a card template, rules, a small memory cap.
pub fn prefixed_config(memory: usize) -> String {
    let mut c: serde_json::Value = serde_json::from_str(DEMO_CONFIG).unwrap_or_default();
    c["localization"]["url_prefixes"] = true.into();
    c["personalization"]["card_template"] = r#"<li class="c" data-id="{id}"><a href="{url}" title="{title}"><img src="{image}" alt=""> {title}</a> <b>{price}</b> <span>{category}</span></li>"#.into();
    c["personalization"]["holdout"] = 0.into();
    c["rules"] = serde_json::json!([
        {"select": "html", "set_attr": {"data-country": "{country}"}},
        {"select": "[data-fuzz]", "set_text": "{locale} {currency}"}
    ]);
    c["limits"] = serde_json::json!({"rewriter_memory": memory});
    c.to_string()
}

/// A shop with every KV value the demo reads.
pub fn shop(config: &str) -> Shop {
    let bundle = serde_json::from_str::<serde_json::Value>(config)
        .ok()
        .and_then(|c| c["bundle"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut s = Shop::new(config);
    for (l, json) in DICTS {
        let mut d: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
        d["money"] = money(l);
        s = s.value(&format!("b/{bundle}/dict/{l}"), Kind::Dict, &d.to_string());
    }
    s = s.value(&format!("b/{bundle}/fx/rates"), Kind::Fx, FX);
    s = s.value(&format!("b/{bundle}/country/DE"), Kind::Pack, PACK);
    let zz = PACK.replace("\"country\":\"DE\"", "\"country\":\"ZZ\"").replace("DE:", "*:");
    s.value(&format!("b/{bundle}/country/ZZ"), Kind::Pack, &zz)
}

thread_local! {
    static SHOPS: [OnceCell<Shop>; 4] = Default::default();
}

/// Shop `i` of four: the demo's, and the prefixed one with 16 KiB, 64 KiB
/// and 1 MiB of rewriter memory. Built once per process.
pub fn with_shop<R>(i: usize, f: impl FnOnce(&Shop) -> R) -> R {
    SHOPS.with(|shops| {
        let i = i % shops.len();
        let s = shops[i].get_or_init(|| match i {
            0 => shop(DEMO_CONFIG),
            1 => shop(&prefixed_config(16 << 10)),
            2 => shop(&prefixed_config(64 << 10)),
            _ => shop(&prefixed_config(1 << 20)),
        });
        f(s)
    })
}

/// A byte reader for the targets' parameters.
pub struct Bytes<'a>(pub &'a [u8]);

impl<'a> Bytes<'a> {
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    pub fn pick<'t, T>(&mut self, from: &'t [T]) -> &'t T {
        &from[usize::from(self.byte()) % from.len()]
    }

    /// Up to `max` bytes as a (lossy) string.
    pub fn string(&mut self, max: usize) -> String {
        let n = usize::from(self.byte()).min(max).min(self.0.len());
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8_lossy(s).into_owned()
    }

    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

pub const COUNTRIES: [&str; 10] = ["DE", "GB", "JP", "AE", "CH", "US", "XX", "T1", "BH", "AU"];
pub const PATHS: [&str; 12] = [
    "/",
    "/de-de/",
    "/p/85123A",
    "/ja-jp/p/22423",
    "/ar-ae//evil.test/x",
    "/de-de/%2F/evil.test",
    "/каталог",
    "/cart",
    "/c/kitchen?x=1&y=<2>",
    "/__borderless/switch?locale=de-DE&return=/p/1",
    "/__borderless/explain?url=/de-de/p/1",
    "/fr-fr/日本",
];
pub const CONTENT_TYPES: [&str; 9] = [
    "text/html; charset=utf-8",
    "text/html",
    "text/html; charset=shift_jis",
    "text/html; charset=windows-1252",
    "text/html; charset=utf-16le",
    "text/html; charset=iso-2022-jp",
    "text/html; charset=x-unknown",
    "application/xhtml+xml",
    "TEXT/HTML;CHARSET=\"UTF-8\"",
];

/// What every answer must satisfy, whatever the input.
pub fn check(out: &Served, origin: &OriginResponse) {
    if let Some(l) = out.header("location") {
        if out.status == 303 {
            assert!(is_local_path(l), "switch Location off-site: {l:?}");
        }
    }
    if !out.rewritten && out.status == origin.status && !out.headers.is_empty() {
        if out.origin_request.is_some() {
            assert_eq!(out.body, origin.body, "a passthrough changed the body");
        }
    }
    for (k, v) in &out.headers {
        assert!(
            !v.contains(['\r', '\n', '\0']),
            "header {k} carries a line break: {v:?}"
        );
    }
    if out.rewritten {
        for h in ["cdn-cache-control", "cloudflare-cdn-cache-control", "surrogate-control"] {
            assert!(out.header(h).is_none(), "{h} kept on a rewritten page");
        }
        let cc = out.header("cache-control").unwrap_or("");
        assert!(cc.starts_with("private"), "rewritten page cacheable: {cc}");
    }
}

/// A visit from the fuzzer's bytes: path, country, headers.
pub fn visit(b: &mut Bytes) -> Visit {
    let path = b.pick(&PATHS).to_string();
    let suffix = b.string(24);
    let country = b.pick(&COUNTRIES);
    let mut v = Visit::get(&format!("{path}{suffix}"), country);
    v.now_ms = i64::from(b.byte()) * 86_400_000 * 3 + i64::from(b.byte()) * 3_600_000;
    // One in eight: the body whole, as the entry sends a small page (the
    // kept pages' path).
    v.chunk = match b.byte() {
        0..=31 => 0,
        n => 1 + usize::from(n) * 37,
    };
    v.tz_offset = Some(i32::from(b.byte() as i8) * 15);
    v.fresh_id = (b.byte() % 4 != 0).then(|| "0123456789abcdef0123456789abcdef".to_string());
    v
}

/// Renders a card with `t`: whatever the template, no script comes out.
pub fn render_card(t: &borderless::config::card::CardTemplate) {
    use borderless::plan::blocks::{cards, Render};
    use borderless::schema::{BlockKind, Card};
    let card = Card {
        id: "k1".into(),
        title: [("en-GB".to_string(), "\"'><script>alert(1)</script>".to_string())].into(),
        category: "<iframe srcdoc=x>".into(),
        price: "2.55".into(),
        currency: "GBP".into(),
        image: "/img/x.svg".into(),
        url: "/p/k1".into(),
    };
    let r = Render {
        locale: "en-GB",
        default_locale: "en-GB",
        prices: None,
        link_prefix: Some("/de-de"),
        template: Some(t),
        arm: "a",
    };
    if let Some(b) = cards(BlockKind::Segment, "h", &[&card], &r) {
        let lower = b.html.to_ascii_lowercase();
        for bad in ["<script", "javascript:", "<iframe", "<base", "<meta", "<object", "<style", "<svg", "<!--"] {
            assert!(!lower.contains(bad), "{bad} in {}", b.html);
        }
    }
}
