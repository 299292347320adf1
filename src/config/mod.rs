//! The site config (stage zero, read before the request is looked at): size bound, version check, validation, and
//! compilation of rules into selectors and templates.

pub mod bounds;
pub mod card;
pub mod conversion_page;
pub mod personal;
pub mod prices;
pub mod template;

use crate::base::ids::{is_currency, is_locale, is_token, valid_country};
use crate::base::money::{self, Rule};
use crate::schema::{Config, Limits, Localization, CONFIG_KEY, MAX_CONFIG_BYTES, SCHEMA_VERSION};
use lol_html::Selector;
use serde::Deserialize;
use std::fmt;
use template::Template;

/// A config that passed validation, with its rules compiled.
#[derive(Debug)]
pub struct SiteConfig {
    pub doc: Config,
    pub rules: Vec<CompiledRule>,
    /// `doc.personalization`, validated and compiled.
    pub personal: Option<personal::Compiled>,
    /// `doc.localization.prices`, selectors parsed (`None` without localization).
    pub prices: Option<std::rc::Rc<prices::Options>>,
    /// SHA-256 of the config's text, cut to 128 bits: names this config in
    /// the keys of kept page variants (`page::variants`).
    pub digest: [u8; 16],
}

#[derive(Debug)]
pub struct CompiledRule {
    pub selector: Selector,
    pub attrs: Vec<(String, Template)>,
    pub text: Option<Template>,
}

/// Why a config was refused; the worker then serves the origin untouched.
#[derive(Debug, PartialEq)]
pub enum ConfigError {
    Missing,
    TooLarge(usize),
    Unparsable(String),
    UnknownVersion(u32),
    Invalid(String),
}

impl ConfigError {
    /// Short machine-readable kind for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ConfigError::Missing => "config_missing",
            ConfigError::TooLarge(_) => "config_too_large",
            ConfigError::Unparsable(_) => "config_unparsable",
            ConfigError::UnknownVersion(_) => "config_unknown_version",
            ConfigError::Invalid(_) => "config_invalid",
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Missing => write!(f, "KV key {CONFIG_KEY:?} is missing"),
            ConfigError::TooLarge(n) => write!(f, "config is {n} bytes, limit {MAX_CONFIG_BYTES}"),
            ConfigError::Unparsable(e) => write!(f, "config is not valid JSON for schema: {e}"),
            ConfigError::UnknownVersion(v) => {
                write!(f, "config version {v} is not {SCHEMA_VERSION}")
            }
            ConfigError::Invalid(e) => write!(f, "config is invalid: {e}"),
        }
    }
}

#[derive(Deserialize)]
struct VersionProbe {
    version: u32,
}

/// Parses and validates a config document.
pub fn parse(text: &str) -> Result<SiteConfig, ConfigError> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge(text.len()));
    }
    let probe: VersionProbe =
        serde_json::from_str(text).map_err(|e| ConfigError::Unparsable(e.to_string()))?;
    if probe.version != SCHEMA_VERSION {
        return Err(ConfigError::UnknownVersion(probe.version));
    }
    let doc: Config =
        serde_json::from_str(text).map_err(|e| ConfigError::Unparsable(e.to_string()))?;
    let mut site = compile(doc).map_err(ConfigError::Invalid)?;
    use sha2::Digest;
    let full = sha2::Sha256::digest(text.as_bytes());
    for (d, b) in site.digest.iter_mut().zip(full.iter()) {
        *d = *b;
    }
    Ok(site)
}

fn compile(doc: Config) -> Result<SiteConfig, String> {
    bounds::config(&doc)?;
    if !is_token(&doc.bundle, 64) {
        return Err(format!(
            "bundle {:?} must be 1-64 of [A-Za-z0-9._-]",
            doc.bundle
        ));
    }
    if !is_locale(&doc.site.default_locale) {
        return Err(format!(
            "site.default_locale {:?} is not a BCP 47 tag",
            doc.site.default_locale
        ));
    }
    if !is_currency(&doc.site.currency) {
        return Err(format!(
            "site.currency {:?} is not an ISO 4217 code",
            doc.site.currency
        ));
    }
    if let Some(p) = doc.exclude_paths.iter().find(|p| !p.starts_with('/')) {
        return Err(format!("exclude_paths entry {p:?} must start with '/'"));
    }
    let mem = doc.limits.rewriter_memory;
    if !(Limits::MIN_REWRITER_MEMORY..=Limits::MAX_REWRITER_MEMORY).contains(&mem) {
        return Err(format!(
            "limits.rewriter_memory {mem} is outside {}..={}",
            Limits::MIN_REWRITER_MEMORY,
            Limits::MAX_REWRITER_MEMORY
        ));
    }
    if let Some(loc) = &doc.localization {
        validate_localization(loc, &doc.site.default_locale)?;
    }
    let personal = match &doc.personalization {
        Some(p) => Some(personal::compile(p)?),
        None => None,
    };
    let mut rules = Vec::with_capacity(doc.rules.len());
    for (i, rule) in doc.rules.iter().enumerate() {
        let selector: Selector = rule
            .select
            .parse()
            .map_err(|e| format!("rules[{i}].select {:?}: {e}", rule.select))?;
        let mut attrs = Vec::with_capacity(rule.set_attr.len());
        for (name, value) in &rule.set_attr {
            if !is_settable_attr(name) {
                return Err(format!(
                    "rules[{i}].set_attr: attribute {name:?} is not allowed"
                ));
            }
            let t =
                Template::parse(value).map_err(|e| format!("rules[{i}].set_attr.{name}: {e}"))?;
            attrs.push((name.clone(), t));
        }
        let text = match &rule.set_text {
            Some(s) => Some(Template::parse(s).map_err(|e| format!("rules[{i}].set_text: {e}"))?),
            None => None,
        };
        if attrs.is_empty() && text.is_none() {
            return Err(format!("rules[{i}] changes nothing"));
        }
        rules.push(CompiledRule {
            selector,
            attrs,
            text,
        });
    }
    let prices = match &doc.localization {
        Some(loc) => Some(std::rc::Rc::new(prices::Options::compile(
            &loc.prices,
            &doc.site.default_locale,
        )?)),
        None => None,
    };
    Ok(SiteConfig {
        doc,
        rules,
        personal,
        prices,
        digest: [0; 16],
    })
}

fn validate_localization(loc: &Localization, default_locale: &str) -> Result<(), String> {
    if let Some(t) = &loc.translation {
        validate_translation(t, &loc.locales)?;
    }
    if let Some(l) = loc.locales.iter().find(|l| !is_locale(l)) {
        return Err(format!("localization.locales: {l:?} is not a BCP 47 tag"));
    }
    if !loc.locales.iter().any(|l| l == default_locale) {
        return Err(format!(
            "localization.locales must include site.default_locale {default_locale:?}"
        ));
    }
    if loc.locales.len() > 64 {
        return Err("localization.locales: at most 64".into());
    }
    for (country, locale) in &loc.country_locales {
        if !valid_country(country) || !loc.locales.contains(locale) {
            return Err(format!("localization.country_locales: {country:?} → {locale:?} must map a country to a listed locale"));
        }
    }
    if let Some(c) = loc.currencies.iter().find(|c| !is_currency(c)) {
        return Err(format!(
            "localization.currencies: {c:?} is not an ISO 4217 code"
        ));
    }
    for (country, currency) in &loc.country_currencies {
        if !valid_country(country) || !is_currency(currency) {
            return Err(format!(
                "localization.country_currencies: {country:?} → {currency:?}"
            ));
        }
    }
    for (currency, rule) in &loc.rounding {
        if !is_currency(currency) {
            return Err(format!(
                "localization.rounding: {currency:?} is not an ISO 4217 code"
            ));
        }
        Rule::new(Some(rule), money::digits(currency)).map_err(|e| {
            format!(
                "localization.rounding.{currency}: bad {e} for {} decimals",
                money::digits(currency)
            )
        })?;
    }
    Ok(())
}

/// Attributes a config may set: inert ones only (no `on*`, `href`, `src`,
/// `style`), so a config can never turn markup into script.
fn is_settable_attr(name: &str) -> bool {
    const PLAIN: [&str; 8] = [
        "lang",
        "dir",
        "class",
        "title",
        "alt",
        "placeholder",
        "hreflang",
        "translate",
    ];
    let custom = |prefix: &str| {
        name.strip_prefix(prefix).is_some_and(|rest| {
            !rest.is_empty()
                && rest.len() <= 64
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        })
    };
    PLAIN.contains(&name) || custom("data-") || custom("aria-")
}

fn validate_translation(t: &crate::schema::Translation, locales: &[String]) -> Result<(), String> {
    let max = crate::schema::Translation::MAX_SEGMENT_BYTES;
    if !(16..=max).contains(&t.max_segment_bytes) {
        return Err(format!(
            "localization.translation.max_segment_bytes: 16..={max}"
        ));
    }
    if t.exclude.len() > 64 {
        return Err("localization.translation.exclude: at most 64".into());
    }
    if let Some(bad) = t
        .exclude
        .iter()
        .find(|s| s.parse::<lol_html::Selector>().is_err())
    {
        return Err(format!(
            "localization.translation.exclude: {bad:?} is not a supported selector"
        ));
    }
    let max_shards = crate::rewrite::tm::memory::MAX_SHARDS;
    if let Some((l, n)) = t
        .shards
        .iter()
        .find(|(l, n)| !locales.contains(l) || **n > max_shards)
    {
        return Err(format!(
            "localization.translation.shards: {l:?} → {n} (a listed locale, at most {max_shards})"
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A site in en-GB/GBP localized to de-DE and ar-AE; `extra` goes into
    /// `localization`.
    pub(crate) fn l10n_site(extra: &str) -> SiteConfig {
        parse(&format!(
            r#"{{"version":1,"bundle":"t","site":{{"default_locale":"en-GB","currency":"GBP"}},
            "localization":{{"locales":["en-GB","de-DE","ar-AE"],"currencies":["GBP","EUR"],"fx_max_age_hours":24{extra}}}}}"#
        ))
        .unwrap()
    }

    const MINIMAL: &str =
        r#"{"version":1,"bundle":"b1","site":{"default_locale":"en-GB","currency":"GBP"}}"#;

    #[test]
    fn minimal_config_has_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.doc.site.currency, "GBP");
        assert!(c.rules.is_empty());
        assert_eq!(c.doc.limits.rewriter_memory, 1 << 20);
    }

    #[test]
    fn compiles_rules() {
        let c = parse(
            r#"{"version":1,"bundle":"b1","site":{"default_locale":"en-GB","currency":"GBP"},
            "rules":[{"select":"html","set_attr":{"data-country":"{country}"}},
                     {"select":"[data-borderless-greeting]","set_text":"Good {daypart}"}]}"#,
        )
        .unwrap();
        assert_eq!(c.rules.len(), 2);
        assert_eq!(c.rules[0].attrs[0].0, "data-country");
        assert!(c.rules[1].text.is_some());
    }

    #[test]
    fn unknown_version_and_garbage() {
        assert_eq!(
            parse(r#"{"version":2,"anything":true}"#).unwrap_err(),
            ConfigError::UnknownVersion(2)
        );
        assert!(matches!(
            parse("not json").unwrap_err(),
            ConfigError::Unparsable(_)
        ));
        assert!(matches!(
            parse("{}").unwrap_err(),
            ConfigError::Unparsable(_)
        ));
        assert!(matches!(
            parse(&MINIMAL.replace("}}", "},\"surprise\":1}")).unwrap_err(),
            ConfigError::Unparsable(_)
        ));
        let big = MINIMAL.to_string() + &" ".repeat(MAX_CONFIG_BYTES);
        assert!(matches!(parse(&big).unwrap_err(), ConfigError::TooLarge(_)));
    }

    #[test]
    fn rejects_dangerous_or_broken_rules() {
        let with_rule = |rule: &str| {
            parse(&MINIMAL.replace("}}", &format!("}},\"rules\":[{rule}]}}"))).unwrap_err()
        };
        for bad in [
            r#"{"select":"a","set_attr":{"onclick":"x"}}"#,
            r#"{"select":"a","set_attr":{"href":"javascript:x"}}"#,
            r#"{"select":"a","set_attr":{"style":"x"}}"#,
            r#"{"select":"a[","set_text":"x"}"#,
            r#"{"select":"a","set_text":"{nope}"}"#,
            r#"{"select":"a"}"#,
        ] {
            assert!(matches!(with_rule(bad), ConfigError::Invalid(_)), "{bad}");
        }
    }

    #[test]
    fn validates_site_fields() {
        for (from, to) in [("en-GB", "english"), ("GBP", "gbp"), ("\"b1\"", "\"../x\"")] {
            let doc = MINIMAL.replace(from, to);
            assert!(
                matches!(parse(&doc).unwrap_err(), ConfigError::Invalid(_)),
                "{doc}"
            );
        }
    }

    #[test]
    fn validates_localization() {
        let with =
            |loc: &str| parse(&MINIMAL.replace("}}", &format!("}},\"localization\":{loc}}}")));
        let ok = with(
            r#"{"locales":["en-GB","de-DE","ja-JP"],"url_prefixes":true,"country_locales":{"AT":"de-DE"},
            "currencies":["GBP","EUR","JPY"],"country_currencies":{"CH":"EUR"},"fx_max_age_hours":24,
            "rounding":{"EUR":{"charm":"0.99"},"JPY":{"step":"10"},"CHF":{"step":"0.05"}},
            "switcher":{"labels":{"de-DE":"Deutsch"}}}"#,
        )
        .unwrap();
        assert!(ok.doc.localization.unwrap().url_prefixes);
        for bad in [
            r#"{"locales":["de-DE"]}"#,
            r#"{"locales":["en-GB","de_DE"]}"#,
            r#"{"locales":["en-GB"],"country_locales":{"AT":"de-AT"}}"#,
            r#"{"locales":["en-GB"],"currencies":["eur"]}"#,
            r#"{"locales":["en-GB"],"rounding":{"JPY":{"step":"0.5"}}}"#,
            r#"{"locales":["en-GB"],"rounding":{"EUR":{"charm":"x"}}}"#,
        ] {
            assert!(
                matches!(with(bad).unwrap_err(), ConfigError::Invalid(_)),
                "{bad}"
            );
        }
    }

    #[test]
    fn locale_syntax() {
        for ok in ["en", "en-GB", "zh-Hant-TW", "es-419", "fil"] {
            assert!(is_locale(ok), "{ok}");
        }
        for bad in ["", "e", "english", "en_GB", "en-", "en--GB", "<script>"] {
            assert!(!is_locale(bad), "{bad}");
        }
    }
}
