//! Locale and currency for a request, decided once before the origin fetch.

use crate::config::SiteConfig;
use crate::decide::currency::currency_for;
use crate::decide::locale::{self, Ask};
use crate::request::Context;

/// Cookie set by the switcher: the visitor's chosen locale.
pub const LOCALE_COOKIE: &str = "borderless_locale";
/// Cookie set by the switcher: the visitor's chosen currency.
pub const CURRENCY_COOKIE: &str = "borderless_currency";

/// The decisions of phase one, taken once from the config and the context
/// and only read afterwards; later stages report what they learn on their own.
#[derive(Debug, Clone, PartialEq)]
pub struct Decisions {
    pub locale: String,
    pub locale_source: Option<locale::Source>,
    /// The negotiated currency (prices fall back to the site's when no fresh
    /// rate exists; the l10n plan says which applies).
    pub currency: String,
    pub crawler: bool,
}

impl Decisions {
    /// Decisions that keep the page as the origin made it.
    pub fn origin(locale: &str, currency: &str) -> Decisions {
        Decisions {
            locale: locale.to_string(),
            locale_source: None,
            currency: currency.to_string(),
            crawler: false,
        }
    }

    /// Locale and currency for a visitor. `url_locale` is the locale named
    /// by the URL prefix, when the shop uses prefixes.
    pub fn decide(site: &SiteConfig, ctx: &Context, url_locale: Option<&str>) -> Decisions {
        let s = &site.doc.site;
        let mut d = Decisions::origin(&s.default_locale, &s.currency);
        d.crawler = ctx.crawler();
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
        d.currency = currency_for(country, cookie, loc, &s.currency).to_string();
        d
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config;
    use crate::request::Head;

    pub(in crate::decide) const SITE: &str = r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"},
        "localization":{"locales":["en-GB","de-DE","fr-FR","ja-JP"],"currencies":["GBP","EUR","JPY","CHF"],
        "country_locales":{"AT":"de-DE","CH":"de-DE"}}}"#;

    fn decide(cf: &str, head: Head, prefix: Option<&str>) -> Decisions {
        let site = config::parse(SITE).unwrap();
        Decisions::decide(&site, &Context::of_test(cf, &head), prefix)
    }

    pub(in crate::decide) const CHROME: &str =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36";

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
