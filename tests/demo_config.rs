//! The demo's site config and FX snapshot are valid for the worker's schema.

use borderless::config;
use borderless::schema::FxRates;

#[test]
fn demo_config_and_fx_parse() {
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{root}/demo/config.json")).unwrap();
    let site = config::parse(&text).unwrap_or_else(|e| panic!("demo/config.json: {e}"));
    let loc = site
        .doc
        .localization
        .as_ref()
        .expect("the demo is localized");
    assert!(
        loc.locales
            .iter()
            .any(|l| borderless::decide::locale::is_rtl(l)),
        "the demo needs an RTL locale"
    );
    let fx: FxRates =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}/demo/fx.json")).unwrap())
            .unwrap();
    for c in loc.currencies.iter().filter(|c| **c != fx.base) {
        assert!(fx.rates.contains_key(c), "demo/fx.json lacks {c}");
    }
}
