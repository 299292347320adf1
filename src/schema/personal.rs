//! The `personalization` section of the site config (validated in
//! `config::personal`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What personalization puts into the shop's pages, and for whom.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Personalization {
    /// Slot name (`data-borderless-slot="<name>"`) → the block that fills it.
    pub slots: BTreeMap<String, Slot>,
    /// Cards per block.
    #[serde(default = "Personalization::default_cards")]
    pub cards: usize,
    /// Markup of one card with `{id} {title} {url} {image} {price}
    /// {category}` (values escaped); default: a fixed accessible `<li>`.
    #[serde(default)]
    pub card_template: Option<String>,
    /// Where product pages live, e.g. `/p/{id}`: the viewed product (also
    /// bought, profile updates) comes from the path.
    #[serde(default)]
    pub product_path: Option<String>,
    /// Share of visitors (0–1) kept out of personalization to measure it.
    #[serde(default)]
    pub holdout: f64,
    #[serde(default)]
    pub experiments: Vec<Experiment>,
    #[serde(default)]
    pub consent: Consent,
    #[serde(default)]
    pub profile: ProfileConfig,
    /// Banners for `promo` slots; the first that matches the moment wins.
    #[serde(default)]
    pub promos: Vec<Promo>,
    /// Country → `MM-DD` → holiday name (for promos with `when.holiday`).
    #[serde(default)]
    pub holidays: BTreeMap<String, BTreeMap<String, String>>,
    /// The order confirmation page, for conversions measured from the page.
    #[serde(default)]
    pub conversion: Option<ConversionPage>,
    /// Where visitors see and clear what Borderless holds about them.
    #[serde(default = "Personalization::default_privacy_path")]
    pub privacy_path: String,
    /// How often a page without blocks logs the visitor's `assignment` line.
    #[serde(default)]
    pub assignment_log: AssignmentLog,
}

/// How often a visitor's `assignment` line is logged (exposure and
/// conversion lines are logged every time).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AssignmentLog {
    /// Once per visitor, arm and segment in an isolate within 30 minutes:
    /// all `borderless report` reads (a visitor's first line), at a log
    /// line per visit rather than per page view.
    #[default]
    Once,
    /// On every page view without blocks (page views per arm).
    Every,
}

/// How the worker recognises a purchase on the shop's own pages: the order
/// confirmation page's path, and where its order id and value are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConversionPage {
    /// Path of the page; an `{order}` segment is the order id
    /// (`/checkout/thank-you`, `/orders/{order}/confirmation`).
    pub path: String,
    /// Query parameters with the order id and the value (`?order=A-1&total=23.50`).
    #[serde(default)]
    pub order_param: Option<String>,
    #[serde(default)]
    pub value_param: Option<String>,
    /// Element carrying the order in attributes, e.g. `[data-order-total]`.
    #[serde(default)]
    pub select: Option<String>,
    /// Its attributes with the value (a decimal) and the order id.
    #[serde(default)]
    pub value_attr: Option<String>,
    #[serde(default)]
    pub order_attr: Option<String>,
    /// Its attribute with the value's currency; default: the shop's.
    #[serde(default)]
    pub currency_attr: Option<String>,
}

impl Personalization {
    fn default_cards() -> usize {
        4
    }
    fn default_privacy_path() -> String {
        "/__borderless/privacy".into()
    }
}

/// One slot: its block and, optionally, a CSS selector for more elements.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    pub block: BlockKind,
    #[serde(default)]
    pub select: Option<String>,
    /// Heading: a dictionary key, else literal text; default `blocks.<kind>`.
    #[serde(default)]
    pub heading: Option<String>,
}

/// What a slot shows.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BlockKind {
    /// The visitor's segment picks ("popular in your country this evening").
    Segment,
    /// The country's fastest-growing products.
    Trending,
    /// Continue shopping: the profile's recently viewed products, newest first.
    RecentlyViewed,
    /// Item-to-item list of the product on a product page.
    AlsoBought,
    /// A banner chosen by daypart, weekday, season, country and holidays.
    Promo,
    /// A known customer's own products, most likely re-ordered now first.
    BuyAgain,
    /// A known customer's picks from what goes with their history.
    ForYou,
}

impl BlockKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockKind::Segment => "segment",
            BlockKind::Trending => "trending",
            BlockKind::RecentlyViewed => "recently-viewed",
            BlockKind::AlsoBought => "also-bought",
            BlockKind::Promo => "promo",
            BlockKind::BuyAgain => "buy-again",
            BlockKind::ForYou => "for-you",
        }
    }
}

/// An experiment: visitors are split over its arms by weight.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    pub name: String,
    pub arms: Vec<Arm>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Arm {
    pub name: String,
    pub weight: u32,
    /// This arm sees the origin's unpersonalized page.
    #[serde(default)]
    pub control: bool,
    /// Slot name → another block for this arm.
    #[serde(default)]
    pub slots: BTreeMap<String, BlockKind>,
}

/// When the worker may write its cookies.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// The shop's consent cookie and the value that means yes.
    #[serde(default = "Consent::default_cookie")]
    pub cookie: String,
    #[serde(default = "Consent::default_accept")]
    pub accept: String,
    /// Countries whose visitors must have said yes (EU/EEA, UK, CH by default).
    #[serde(default = "Consent::default_countries")]
    pub countries: Vec<String>,
}

impl Consent {
    fn default_cookie() -> String {
        "borderless_consent".into()
    }
    fn default_accept() -> String {
        "yes".into()
    }
    fn default_countries() -> Vec<String> {
        [
            "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
            "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS",
            "LI", "NO", "GB", "CH",
        ]
        .map(String::from)
        .to_vec()
    }
}

impl Default for Consent {
    fn default() -> Self {
        Consent {
            cookie: Self::default_cookie(),
            accept: Self::default_accept(),
            countries: Self::default_countries(),
        }
    }
}

/// The `borderless_profile` cookie.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    #[serde(default = "ProfileConfig::default_enabled")]
    pub enabled: bool,
    /// Category affinity halves in this many days.
    #[serde(default = "ProfileConfig::default_half_life_days")]
    pub half_life_days: f64,
}

impl ProfileConfig {
    fn default_enabled() -> bool {
        true
    }
    fn default_half_life_days() -> f64 {
        14.0
    }
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig {
            enabled: true,
            half_life_days: Self::default_half_life_days(),
        }
    }
}

/// A promo banner and when it shows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Promo {
    pub id: String,
    /// A dictionary key, else literal text; `{holiday}` is the holiday's name.
    pub text: String,
    /// A path on the shop (`/c/candles`).
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub when: When,
}

/// Conditions of a promo; each list, when not empty, must contain the
/// visitor's value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct When {
    #[serde(default)]
    pub dayparts: Vec<String>,
    #[serde(default)]
    pub day_kinds: Vec<String>,
    /// `mon` … `sun`.
    #[serde(default)]
    pub weekdays: Vec<String>,
    #[serde(default)]
    pub seasons: Vec<String>,
    #[serde(default)]
    pub countries: Vec<String>,
    /// `north`, `south`.
    #[serde(default)]
    pub hemispheres: Vec<String>,
    /// Local dates, `MM-DD` or `MM-DD..MM-DD` (may wrap the year end).
    #[serde(default)]
    pub dates: Vec<String>,
    /// Only on a holiday of the visitor's country (`holidays`).
    #[serde(default)]
    pub holiday: bool,
}
