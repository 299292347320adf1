//! The whole pipeline (`page::sim`) on arbitrary HTML: random visitor,
//! chunking, declared encoding and rewriter memory cap.
#![no_main]
use borderless::page::sim::OriginResponse;
use borderless_fuzz::{check, visit, with_shop, Bytes, CONTENT_TYPES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let shop = usize::from(b.byte());
    let mut v = visit(&mut b).header("cookie", "borderless_consent=yes");
    if b.byte() % 3 == 0 {
        v = v.header("accept-language", "ja-JP,ja;q=0.9,en;q=0.5");
    }
    let ct = b.pick(&CONTENT_TYPES).to_string();
    let mut origin = OriginResponse::html(b.rest(), &ct);
    origin.headers.push(("cache-control".into(), "public, s-maxage=60".into()));
    origin.headers.push(("cdn-cache-control".into(), "max-age=60".into()));
    with_shop(shop, |s| {
        if let Ok(out) = s.serve(&v, &origin) {
            check(&out, &origin);
        }
    });
});
