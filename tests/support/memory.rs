//! What the tests of the 95 real storefront pages with a translation memory
//! share: the pages as the CLI reads them, a memory pseudo-translated from
//! all of them, and a shop holding it as the KV values the worker reads.
//! Included with `#[path]`.

use borderless::page::sim::Shop;
use borderless::page::values::Kind;
use borderless::precompute::tm::extract::{self, Stats};
use borderless::precompute::tm::{import, pseudo, Catalog};
use borderless::rewrite::tm::memory::{value_id, TmValue};
use borderless::rewrite::tm::Options;
use std::path::PathBuf;
use std::rc::Rc;

/// The 95 pages, `(path, bytes)`, as `borderless tm extract` reads them.
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/storefront-pages");
    let mut out = Vec::new();
    for f in extract::pages_in(&dir).expect("storefront pages") {
        out.extend(extract::read_source(&f).expect("page"));
    }
    assert_eq!(out.len(), 95, "expected the 95 storefront pages");
    out
}

/// `locale`'s memory values (base and shards of 256 KiB): every segment of
/// `pages` pseudo-translated; with the extraction's totals.
pub fn pseudo_memory(pages: &[(String, Vec<u8>)], locale: &str) -> (Vec<TmValue>, Stats) {
    let opts = Rc::new(Options::default());
    let mut cat = Catalog::new("en");
    let mut stats = Stats::default();
    for (path, html) in pages {
        extract::page(&mut cat, path, html, &opts, &mut stats).unwrap();
    }
    let mut tm = import::LocaleTm::default();
    for u in cat.units.values() {
        tm.entries
            .insert(u.key.clone(), (pseudo(&u.source).unwrap(), u.pages.clone()));
    }
    (import::values(locale, &tm, 256 << 10), stats)
}

/// `shop` with `values` under bundle `bundle`'s memory keys.
pub fn with_memory(mut shop: Shop, bundle: &str, values: &[TmValue]) -> Shop {
    for v in values {
        let kind = if v.shard.is_some() {
            Kind::TmShard
        } else {
            Kind::Tm
        };
        shop = shop.value(
            &format!("b/{bundle}/tm/{}", value_id(&v.locale, v.shard)),
            kind,
            &serde_json::to_string(v).unwrap(),
        );
    }
    shop
}
