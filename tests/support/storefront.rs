//! What the real-storefront price tests and the per-byte benchmark share:
//! the FX table (tests/e2e/storefront-fx.json, as the e2e tests and
//! bench/workload.mjs read it) and Intl's money formats for the visitors'
//! locales. Included with `#[path]` from tests/ and benches/.

use borderless::schema::{FxRates, MoneyFormats};
use std::collections::BTreeMap;
use std::process::Command;

/// Every currency the 95 pages show, and the visitors'.
pub const CURRENCIES: &str =
    "EUR,USD,JPY,GBP,CAD,CLP,ARS,TWD,SAR,RUB,PLN,KZT,PKR,INR,RON,HRK,CHF,BRL,NZD,KRW,BYN,ILS";

/// The shared table, EUR being the base.
pub fn fx() -> FxRates {
    let doc: serde_json::Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/e2e/storefront-fx.json"
    )))
    .expect("storefront-fx.json");
    let per_eur: BTreeMap<String, f64> =
        serde_json::from_value(doc["per_eur"].clone()).expect("per_eur");
    FxRates {
        base: "EUR".into(),
        as_of: "2026-11-22T00:00:00Z".into(),
        rates: per_eur.into_iter().filter(|(c, _)| c != "EUR").collect(),
    }
}

/// Money formats of the visitors' locales (ja-JP, de-DE, en-US) for
/// `CURRENCIES`, from Node's Intl (scripts/money-formats.mjs).
pub fn money_formats() -> BTreeMap<String, MoneyFormats> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/money-formats.mjs");
    let out = Command::new("node")
        .args([script, "ja-JP,de-DE,en-US", CURRENCIES])
        .output()
        .expect("node is required for the money formats");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    serde_json::from_value(v["locales"].clone()).unwrap()
}
