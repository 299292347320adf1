//! The KV data schema shared by the worker and the precompute CLI.
//!
//! The site config lives under [`CONFIG_KEY`]. It is also the pointer to the
//! live bundle: every other key is versioned by [`Config::bundle`], and a
//! publisher writes the versioned keys first and the config last, so a reader
//! never mixes two bundles.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// KV key of the site config (and bundle pointer).
pub const CONFIG_KEY: &str = "config";
/// The config schema version this build understands.
pub const SCHEMA_VERSION: u32 = 1;
/// Largest config document accepted, in bytes.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// Key of a versioned value in the bundle, e.g. `b/2026-11-22/dict/de`.
pub fn bundle_key(bundle: &str, kind: &str, id: &str) -> String {
    format!("b/{bundle}/{kind}/{id}")
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
