//! The switch endpoint: any query; the Location is always a path on this site.
#![no_main]
use borderless::base::url::is_local_path;
use borderless::page::sim::{OriginResponse, Visit};
use borderless_fuzz::{with_shop, Bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let shop = usize::from(b.byte());
    let query = String::from_utf8_lossy(b.rest()).into_owned();
    let v = Visit::get(&format!("/__borderless/switch?{query}"), "DE");
    let origin = OriginResponse::html(b"<p>x</p>", "text/html");
    with_shop(shop, |s| {
        let Ok(out) = s.serve(&v, &origin) else { return };
        if out.status == 303 {
            let l = out.header("location").unwrap_or("");
            assert!(is_local_path(l), "off-site Location {l:?} for {query:?}");
            assert!(!l.contains(['\r', '\n']));
        }
        for c in out.header_all("set-cookie") {
            assert!(!c.contains([';', '\r', '\n']) || c.contains("; Path=/"), "{c:?}");
        }
    });
});
