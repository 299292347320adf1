//! The site config (and its card template): any text; a config that loads
//! serves a page, a template that parses never renders script.
#![no_main]
use borderless::config::card::CardTemplate;
use borderless::page::sim::{OriginResponse, Shop, Visit};
use libfuzzer_sys::fuzz_target;

const PAGE: &[u8] = br#"<html><head></head><body><div data-borderless-slot="switcher"></div><div data-borderless-slot="recommendations"></div><p data-i18n="x">x</p></body></html>"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(t) = CardTemplate::parse(text) {
        borderless_fuzz::render_card(&t);
    }
    let shop = Shop::new(text);
    if shop.site.is_err() {
        return;
    }
    let origin = OriginResponse::html(PAGE, "text/html");
    for path in ["/", "/de-de/p/1", "/__borderless/switch?locale=de-DE&return=/x"] {
        let v = Visit::get(path, "DE").header("cookie", "borderless_consent=yes");
        if let Ok(out) = shop.serve(&v, &origin) {
            borderless_fuzz::check(&out, &origin);
        }
    }
});
