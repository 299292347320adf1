//! The CLDR currency formatter: any pattern that passes the bundle bounds,
//! any amount.
#![no_main]
use borderless::config::bounds;
use borderless::plan::format::format;
use borderless::schema::CurrencyPattern;
use borderless_fuzz::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let mut amount = [0u8; 8];
    amount.iter_mut().for_each(|x| *x = b.byte());
    let amount = f64::from_le_bytes(amount);
    let p = CurrencyPattern {
        pos_prefix: b.string(40),
        pos_suffix: b.string(40),
        neg_prefix: b.string(40),
        neg_suffix: b.string(40),
        decimal: b.string(10),
        group: b.string(10),
        primary: b.byte(),
        secondary: b.byte(),
        min_grouping: b.byte(),
        zero: b.string(5),
        digits: b.byte(),
    };
    let symbol = b.string(20);
    if bounds::pattern(&p).is_ok() {
        if let Some(s) = format(&p, &symbol, amount) {
            assert!(s.len() < 4096);
        }
    }
});
