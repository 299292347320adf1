//! Every bundle value type (dictionary, FX rates, country pack): any text;
//! a value that parses is used by a page without a panic.
#![no_main]
use borderless::page::sim::OriginResponse;
use borderless::page::values::{parse, Kind};
use borderless::page::sim::Shop;
use borderless_fuzz::{check, visit, with_shop, Bytes};
use libfuzzer_sys::fuzz_target;

const PAGE: &[u8] = br#"<html><head></head><body><div data-borderless-slot="switcher"></div><p data-i18n="nav.home">Home</p><span data-borderless-price="GBP">1234.565</span><div data-borderless-slot="recommendations"></div><div data-borderless-slot="also-bought"></div></body></html>"#;

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let (kind, key) = match b.byte() % 3 {
        0 => (Kind::Dict, "b/demo/dict/de-DE"),
        1 => (Kind::Fx, "b/demo/fx/rates"),
        _ => (Kind::Pack, "b/demo/country/DE"),
    };
    let mut v = visit(&mut b).header("cookie", "borderless_consent=yes");
    v.url = "https://shop.test/p/k1".into();
    let Ok(text) = std::str::from_utf8(b.rest()) else { return };
    let Ok(value) = parse(kind, text) else { return };
    // The demo shop (built once) with this value in place of its own.
    let mut s = with_shop(0, |d| Shop {
        site: d.site.clone(),
        values: d.values.clone(),
        preview: d.preview.clone(),
        cookie_secret: d.cookie_secret.clone(),
        customer_key: d.customer_key.clone(),
        // Each run puts another value under the same bundle's key, which a
        // real bundle never does: no page is kept across runs.
        keep: false,
    });
    s.values.insert(key.to_string(), value);
    let origin = OriginResponse::html(PAGE, "text/html");
    if let Ok(out) = s.serve(&v, &origin) {
        check(&out, &origin);
    }
});
