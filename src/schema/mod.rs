//! The KV data schema shared by the worker and the precompute CLI.
//!
//! The site config lives under [`CONFIG_KEY`]. It is also the pointer to the
//! live bundle: every other key is versioned by [`Config::bundle`], and a
//! publisher writes the versioned keys first and the config last, so a reader
//! never mixes two bundles.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod personal;
pub use personal::*;

/// KV key of the site config (and bundle pointer).
pub const CONFIG_KEY: &str = "config";
/// The config schema version this build understands.
pub const SCHEMA_VERSION: u32 = 1;
/// Largest config document accepted, in bytes.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// Key of a versioned value in the bundle, e.g. `b/2026-11-22/dict/de`.
#[inline(never)]
pub fn bundle_key(bundle: &str, kind: &str, id: &str) -> String {
    crate::base::text::concat(&["b/", bundle, "/", kind, "/", id])
}

/// The site config, version 1.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Schema version; must equal [`SCHEMA_VERSION`].
    pub version: u32,
    /// Name of the live data bundle (prefix of versioned keys).
    pub bundle: String,
    pub site: Site,
    /// Path prefixes never rewritten (APIs, checkout ...).
    #[serde(default)]
    pub exclude_paths: Vec<String>,
    /// Declarative edits applied to matching elements.
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub limits: Limits,
    /// Languages and currencies; absent = the origin's only.
    #[serde(default)]
    pub localization: Option<Localization>,
    /// Recommendation blocks, profile cookie, experiments; absent = none.
    #[serde(default)]
    pub personalization: Option<Personalization>,
}

/// How pages are localized.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Localization {
    /// Locales the shop offers (BCP 47); must include `site.default_locale`.
    pub locales: Vec<String>,
    /// URLs carry the locale as first path segment (`/de-de/...`); the worker
    /// strips it towards the origin and keeps it on the page's links.
    #[serde(default)]
    pub url_prefixes: bool,
    /// Country → locale, where the first listed locale of the country's region
    /// is not the right default.
    #[serde(default)]
    pub country_locales: BTreeMap<String, String>,
    /// Currencies the shop accepts; empty = any with an FX rate.
    #[serde(default)]
    pub currencies: Vec<String>,
    /// Country → currency, overriding CLDR's territory currency.
    #[serde(default)]
    pub country_currencies: BTreeMap<String, String>,
    /// FX rates older than this leave prices in the origin currency.
    #[serde(default = "Localization::default_fx_max_age_hours")]
    pub fx_max_age_hours: u32,
    /// Per-currency price rounding; default: up to the currency's minor unit.
    #[serde(default)]
    pub rounding: BTreeMap<String, Rounding>,
    /// Inject a language/currency switcher into `[data-borderless-slot=switcher]`.
    #[serde(default)]
    pub switcher: Option<Switcher>,
    /// Finding and converting prices in the shop's own markup.
    #[serde(default)]
    pub prices: PriceDetection,
    /// Translate the pages' own text from the bundle's translation memory.
    #[serde(default)]
    pub translation: Option<Translation>,
}

/// Price detection on the origin's pages (on by default for the shop's
/// declared currencies: `site.currency` plus `currencies`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriceDetection {
    #[serde(default = "PriceDetection::yes")]
    pub detect: bool,
    /// Other currencies the shop's pages show prices in.
    #[serde(default)]
    pub currencies: Vec<String>,
    /// Only look for prices inside these CSS selectors (empty: everywhere).
    #[serde(default)]
    pub only: Vec<String>,
    /// Extra selectors whose bare amounts (no currency sign) are prices.
    #[serde(default)]
    pub selectors: Vec<String>,
    /// Never touch prices inside these.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Leave `[translate=no]` and `.notranslate` alone.
    #[serde(default = "PriceDetection::yes")]
    pub honor_notranslate: bool,
    /// Shop attributes holding an element's amount (a hint and a check).
    #[serde(default)]
    pub attributes: Vec<PriceAttribute>,
    /// The origin's decimal separator, `.` or `,`; default from its locale.
    #[serde(default)]
    pub decimal: Option<String>,
}

impl PriceDetection {
    fn yes() -> bool {
        true
    }
}

impl Default for PriceDetection {
    fn default() -> Self {
        PriceDetection {
            detect: true,
            currencies: Vec::new(),
            only: Vec::new(),
            selectors: Vec::new(),
            exclude: Vec::new(),
            honor_notranslate: true,
            attributes: Vec::new(),
            decimal: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriceAttribute {
    pub name: String,
    #[serde(default)]
    pub unit: PriceUnit,
}

/// Unit of an amount in a shop attribute.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PriceUnit {
    #[default]
    Major,
    /// Cents, pence: divided by 10^digits of the currency.
    Minor,
}

/// How a page's own text is segmented and translated from the memory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Translation {
    /// Largest segment, in bytes of text and tags; a longer one is left alone.
    #[serde(default = "Translation::default_max")]
    pub max_segment_bytes: usize,
    /// CSS selectors of elements never translated (with their content).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Locale → shard count of its memory (0: one value), written by
    /// `borderless build`; a locale not listed has no memory (no KV read).
    #[serde(default)]
    pub shards: BTreeMap<String, u32>,
    /// One page in this many logs its missing segments (0 = never).
    #[serde(default = "Translation::default_sample")]
    pub log_missing_one_in: u32,
}

impl Translation {
    pub const MAX_SEGMENT_BYTES: usize = 64 << 10;
    fn default_max() -> usize {
        4096
    }
    fn default_sample() -> u32 {
        16
    }
}

impl Default for Translation {
    fn default() -> Self {
        Translation {
            max_segment_bytes: Self::default_max(),
            exclude: Vec::new(),
            shards: BTreeMap::new(),
            log_missing_one_in: Self::default_sample(),
        }
    }
}

impl Localization {
    fn default_fx_max_age_hours() -> u32 {
        48
    }
}

/// Rounding of converted prices: to a `step` (e.g. `"0.05"`, `"1"`), then
/// up to a `charm` ending (e.g. `"0.99"`, `"99"`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rounding {
    #[serde(default)]
    pub step: Option<String>,
    #[serde(default)]
    pub charm: Option<String>,
    /// `up` (never below the converted price; default) or `nearest`.
    #[serde(default)]
    pub mode: RoundingMode,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RoundingMode {
    #[default]
    Up,
    Nearest,
}

/// The switcher's labels: locale → its name in itself (`"de-DE": "Deutsch"`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Switcher {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Facts about the origin shop.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// BCP 47 locale of the origin pages, e.g. `en-GB`.
    pub default_locale: String,
    /// ISO 4217 currency of the origin prices, e.g. `GBP`.
    pub currency: String,
}

/// One edit: on every element matching `select`, set attributes and/or text.
/// Values are templates; `{country}`, `{device}` ... expand from the request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub select: String,
    #[serde(default)]
    pub set_attr: BTreeMap<String, String>,
    #[serde(default)]
    pub set_text: Option<String>,
}

/// Resource limits of the rewriter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// lol_html memory cap in bytes; past it the page continues untouched.
    #[serde(default = "Limits::default_rewriter_memory")]
    pub rewriter_memory: usize,
}

impl Limits {
    pub const MIN_REWRITER_MEMORY: usize = 16 << 10;
    pub const MAX_REWRITER_MEMORY: usize = 32 << 20;

    fn default_rewriter_memory() -> usize {
        1 << 20
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            rewriter_memory: Self::default_rewriter_memory(),
        }
    }
}

// ---- Versioned bundle values (`b/<bundle>/<kind>/<id>`) ----

/// Kind of the per-locale dictionary value; id = locale (`de`, `de-AT`).
pub const KIND_DICT: &str = "dict";
/// Kind of the FX rates value; id = `rates`.
pub const KIND_FX: &str = "fx";
/// Kind of the per-country personalization pack; id = ISO country or `ZZ` (global).
pub const KIND_COUNTRY: &str = "country";
/// Country id of the global pack (visitors from countries without their own).
pub const GLOBAL_COUNTRY: &str = "ZZ";
/// Cloudflare KV limits.
pub const MAX_KV_KEY_BYTES: usize = 512;
pub const MAX_KV_VALUE_BYTES: usize = 25 << 20;

/// What the worker needs per locale: UI strings, keyed like the page's
/// `data-i18n` keys, and how prices are written in it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Dictionary {
    pub locale: String,
    #[serde(default)]
    pub entries: BTreeMap<String, String>,
    #[serde(default)]
    pub money: Option<MoneyFormats>,
}

/// Currency formats of one locale, sampled from ICU (scripts/money-formats.mjs).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MoneyFormats {
    pub formats: Vec<CurrencyPattern>,
    pub currencies: BTreeMap<String, CurrencyRef>,
}

/// A currency's pattern and symbol in a locale.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CurrencyRef {
    /// Index into [`MoneyFormats::formats`].
    pub format: usize,
    pub symbol: String,
}

/// One number pattern; affixes hold `¤` where the currency symbol goes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CurrencyPattern {
    pub pos_prefix: String,
    pub pos_suffix: String,
    pub neg_prefix: String,
    pub neg_suffix: String,
    pub decimal: String,
    pub group: String,
    /// Size of the last integer group (0 = no grouping) and of the others.
    pub primary: u8,
    pub secondary: u8,
    /// Group only numbers with at least `primary + min_grouping` digits.
    pub min_grouping: u8,
    /// The numbering system's zero (`0`, `٠`, `۰` ...).
    pub zero: String,
    /// Fraction digits.
    pub digits: u8,
}

/// Exchange rates: 1 unit of `base` = `rates[c]` units of currency `c`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FxRates {
    pub base: String,
    /// RFC 3339 time the rates were observed.
    pub as_of: String,
    pub rates: BTreeMap<String, f64>,
}

/// A product as a recommendation block renders it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Card {
    pub id: String,
    /// Title per locale; the catalog's default locale is always present.
    pub title: BTreeMap<String, String>,
    pub category: String,
    /// Price in the origin currency, as a decimal string (`"2.55"`).
    pub price: String,
    pub currency: String,
    pub image: String,
    pub url: String,
}

/// Everything personalization needs for visitors of one country, in one
/// value, so a request costs at most one KV read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CountryPack {
    pub country: String,
    /// Segment key (see [`segment_key`]) → ranked product ids, best first.
    pub segments: BTreeMap<String, Vec<String>>,
    /// Products growing fastest over the last window, best first.
    #[serde(default)]
    pub trending: Vec<String>,
    /// Product id → "also bought" product ids, best first.
    #[serde(default)]
    pub also_bought: BTreeMap<String, Vec<String>>,
    /// Cards of every product id referenced above.
    pub cards: BTreeMap<String, Card>,
}

/// Wildcard in a segment key.
pub const ANY: &str = "*";

/// Canonical segment key: `country:device:daypart:day_kind:season`, with
/// `*` for a dimension that does not matter.
pub fn segment_key(
    country: &str,
    device: &str,
    daypart: &str,
    day_kind: &str,
    season: &str,
) -> String {
    crate::base::text::concat(&[
        country, ":", device, ":", daypart, ":", day_kind, ":", season,
    ])
}

/// The keys to try for a visitor, most specific first, ending with the
/// country as a whole and then the global segment.
pub fn segment_chain(
    country: &str,
    device: &str,
    daypart: &str,
    day_kind: &str,
    season: &str,
) -> [String; 6] {
    [
        segment_key(country, device, daypart, day_kind, season),
        segment_key(country, ANY, daypart, day_kind, season),
        segment_key(country, ANY, daypart, ANY, season),
        segment_key(country, ANY, ANY, ANY, season),
        segment_key(country, ANY, ANY, ANY, ANY),
        segment_key(ANY, ANY, ANY, ANY, ANY),
    ]
}

/// One entry of a `wrangler kv bulk put` file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BulkEntry {
    pub key: String,
    pub value: String,
    /// Seconds until KV drops the value (customer values expire unless rebuilt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_ttl: Option<u64>,
}

/// Largest customer value written or read (bytes).
pub const MAX_CUSTOMER_VALUE_BYTES: usize = 64 << 10;

/// A known customer's lists, under `cust/<HMAC of the id>` (see
/// `identity::kv_key`), not versioned: one key per customer, so erasure is
/// one delete. Self-contained (its own cards): one KV read renders both blocks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomerValue {
    /// The customer's country (ISO), or `ZZ` when unknown.
    pub country: String,
    /// Their own products, most likely to be re-ordered now first.
    pub buy_again: Vec<String>,
    /// Products they have not bought, from what goes with their history,
    /// topped up from their country's list.
    pub for_you: Vec<String>,
    /// Cards of every id above.
    pub cards: BTreeMap<String, Card>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(bundle_key("v7", KIND_DICT, "de"), "b/v7/dict/de");
        let chain = segment_chain("DE", "mobile", "evening", "weekday", "winter");
        assert_eq!(chain[0], "DE:mobile:evening:weekday:winter");
        assert_eq!(chain[4], "DE:*:*:*:*");
        assert_eq!(chain[5], "*:*:*:*:*");
    }
}
