//! Decisions taken for a request, before any rewriting: what the preview
//! report shows and what the rewrite plan is built from.

use crate::config::SiteConfig;
use crate::consent::Cookies;
use crate::context::Context;
use crate::device::Device;
use crate::locale::{self, Ask};
use crate::money;
use crate::schema::BlockKind;
use serde::Serialize;

/// Cookie set by the switcher: the visitor's chosen locale.
pub const LOCALE_COOKIE: &str = "borderless_locale";
/// Cookie set by the switcher: the visitor's chosen currency.
pub const CURRENCY_COOKIE: &str = "borderless_currency";

/// How a KV value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// From this isolate's memory, no KV call.
    Isolate,
    /// From a KV read (which may hit Cloudflare's edge cache).
    Kv,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KvRead {
    pub key: String,
    pub source: Source,
    pub found: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decisions {
    pub locale: String,
    pub locale_source: Option<locale::Source>,
    pub currency: String,
    /// `converted`, or why prices keep the origin currency.
    pub prices: Option<String>,
    pub crawler: bool,
    pub segment: Option<String>,
    pub experiment_arm: Option<String>,
    /// Whether the worker may write its cookies, and if not why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookies: Option<Cookies>,
    /// The profile cookie: `none`, `read`, `ignored` (malformed),
    /// `not_allowed`, `disabled`; `+updated` when a new one is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The pack's segment the picks came from (after falling back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_used: Option<String>,
    /// The blocks for this page's slots.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<BlockReport>,
    /// Why: `country DE, …`, fallbacks, promos.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    pub kv: Vec<KvRead>,
    /// `rewrite`, or `passthrough: <reason>`.
    pub body: String,
}

/// One personalized block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockReport {
    pub slot: String,
    pub block: BlockKind,
    pub products: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promo: Option<String>,
}

impl Decisions {
    /// Decisions that keep the page as the origin made it.
    pub fn origin(locale: &str, currency: &str) -> Decisions {
        Decisions {
            locale: locale.to_string(),
            locale_source: None,
            currency: currency.to_string(),
            prices: None,
            crawler: false,
            segment: None,
            experiment_arm: None,
            cookies: None,
            profile: None,
            segment_used: None,
            blocks: Vec::new(),
            reasons: Vec::new(),
            kv: Vec::new(),
            body: "rewrite".to_string(),
        }
    }

    /// Locale and currency for a visitor. `url_locale` is the locale named
    /// by the URL prefix, when the shop uses prefixes.
    pub fn decide(site: &SiteConfig, ctx: &Context, url_locale: Option<&str>) -> Decisions {
        let s = &site.doc.site;
        let mut d = Decisions::origin(&s.default_locale, &s.currency);
        d.crawler = ctx.device == Device::Bot || ctx.geo.verified_bot;
        let Some(loc) = &site.doc.localization else {
            return d;
        };
        let ask = Ask {
            prefix: url_locale,
            cookie: ctx.cookie(LOCALE_COOKIE),
            accept_language: &ctx.accept_language,
            country: &ctx.geo.country,
            crawler: d.crawler,
        };
        let country_default = loc
            .country_locales
            .get(&ctx.geo.country)
            .map(String::as_str);
        let (locale, source) =
            locale::negotiate(&ask, &loc.locales, country_default, &s.default_locale);
        d.locale = locale.to_string();
        d.locale_source = Some(source);
        let cookie = if d.crawler {
            None
        } else {
            ctx.cookie(CURRENCY_COOKIE)
        };
        let country = if d.crawler {
            ""
        } else {
            ctx.geo.country.as_str()
        };
        d.currency = money::currency_for(country, cookie, loc, &s.currency).to_string();
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::context::{Geo, Head};
    use crate::preview::Overrides;

    const SITE: &str = r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"},
        "localization":{"locales":["en-GB","de-DE","fr-FR","ja-JP"],"currencies":["GBP","EUR","JPY","CHF"],
        "country_locales":{"AT":"de-DE","CH":"de-DE"}}}"#;

    fn decide(cf: &str, head: Head, prefix: Option<&str>) -> Decisions {
        let site = config::parse(SITE).unwrap();
        let ctx = Context::new(
            Geo::from_cf_json(Some(cf)),
            &head,
            0,
            &Overrides::default(),
            &|_, _| None,
        );
        Decisions::decide(&site, &ctx, prefix)
    }

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36";

    #[test]
    fn visitor_gets_country_locale_and_currency() {
        let d = decide(
            r#"{"country":"AT"}"#,
            Head {
                user_agent: Some(CHROME),
                ..Head::default()
            },
            None,
        );
        assert_eq!((d.locale.as_str(), d.currency.as_str()), ("de-DE", "EUR"));
        assert_eq!(d.locale_source, Some(locale::Source::Country));
        let jp = decide(
            r#"{"country":"JP"}"#,
            Head {
                user_agent: Some(CHROME),
                accept_language: Some("en"),
                ..Head::default()
            },
            None,
        );
        assert_eq!((jp.locale.as_str(), jp.currency.as_str()), ("en-GB", "JPY"));
        // Not an accepted currency: the origin's.
        let us = decide(
            r#"{"country":"US"}"#,
            Head {
                user_agent: Some(CHROME),
                ..Head::default()
            },
            None,
        );
        assert_eq!(us.currency, "GBP");
        let chosen = decide(
            r#"{"country":"DE"}"#,
            Head {
                user_agent: Some(CHROME),
                cookie: Some("borderless_locale=fr-FR; borderless_currency=CHF"),
                ..Head::default()
            },
            None,
        );
        assert_eq!(
            (chosen.locale.as_str(), chosen.currency.as_str()),
            ("fr-FR", "CHF")
        );
    }

    #[test]
    fn crawlers_get_the_url_locale_and_origin_currency() {
        let bot = Head {
            user_agent: Some(
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            ),
            accept_language: Some("de"),
            cookie: Some("borderless_locale=ja-JP; borderless_currency=JPY"),
            ..Head::default()
        };
        let d = decide(r#"{"country":"DE"}"#, bot, None);
        assert!(d.crawler);
        assert_eq!((d.locale.as_str(), d.currency.as_str()), ("en-GB", "GBP"));
        assert_eq!(
            decide(r#"{"country":"DE"}"#, bot, Some("fr-fr")).locale,
            "fr-FR"
        );
        let verified = decide(
            r#"{"country":"DE","botManagement":{"verifiedBot":true}}"#,
            Head {
                user_agent: Some(CHROME),
                ..Head::default()
            },
            None,
        );
        assert!(verified.crawler);
    }
}
