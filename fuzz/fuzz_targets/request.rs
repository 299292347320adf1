//! Request headers: cookies (profile, consent, locale, currency, visitor
//! id), Accept-Language, User-Agent, the preview override headers and
//! `request.cf`, through the whole pipeline; and a request URL split by
//! hand must be the `url` crate's (`base::request_url`).
#![no_main]
use borderless::page::sim::OriginResponse;
use borderless::request::CF_KEYS;
use borderless_fuzz::{check, visit, with_shop, Bytes};
use libfuzzer_sys::fuzz_target;

const PAGE: &[u8] = br#"<html><head><title>t</title></head><body><div data-borderless-slot="switcher"></div><p data-i18n="nav.home">Home</p><span data-borderless-price="GBP">12.50</span><div data-borderless-slot="recommendations"></div><a href="/p/1">p</a><p data-fuzz>x</p></body></html>"#;

const HEADERS: [&str; 12] = [
    "cookie",
    "accept-language",
    "user-agent",
    "sec-ch-ua-mobile",
    "sec-gpc",
    "if-none-match",
    "x-borderless-country",
    "x-borderless-locale",
    "x-borderless-currency",
    "x-borderless-time",
    "x-borderless-profile",
    "x-borderless-device",
];

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let shop = usize::from(b.byte());
    let mut v = visit(&mut b);
    for _ in 0..(b.byte() % 6) {
        let name = b.pick(&HEADERS).to_string();
        let value = b.string(200);
        v = v.header(&name, &value);
    }
    // `request.cf` as the entry sends it: fields the pipeline reads with
    // any value, or any text at all.
    match b.byte() % 3 {
        0 => v.cf = b.string(200),
        1 => {
            let n = b.byte() % 8;
            let fields: Vec<String> = (0..n)
                .map(|_| format!("{}:{}", b.pick(&CF_KEYS), b.string(40)))
                .collect();
            v.cf = fields.join("\t");
        }
        _ => {}
    }
    // What is left: a URL, split by hand where the crate agrees.
    let url = String::from_utf8_lossy(b.rest()).into_owned();
    for s in [url.clone(), format!("https://shop.test/{url}")] {
        if let Err(e) = borderless::base::request_url::same_as_crate(&s) {
            panic!("{e}");
        }
    }
    let origin = OriginResponse::html(PAGE, "text/html; charset=utf-8");
    with_shop(shop, |s| {
        if let Ok(out) = s.serve(&v, &origin) {
            check(&out, &origin);
        }
    });
});
