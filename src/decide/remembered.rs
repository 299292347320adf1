//! [`Decisions::decide`] remembered per isolate: a visitor's next pages,
//! and visitors who send the same headers from the same country, get the
//! decisions already taken, without parsing `Accept-Language` and
//! negotiating again (a tenth of phase one's code).

use crate::base::recent::Recent;
use crate::config::SiteConfig;
use crate::decide::{Decisions, CURRENCY_COOKIE, LOCALE_COOKIE};
use crate::request::Context;
use std::cell::RefCell;

/// Everything [`Decisions::decide`] reads: the config (by its digest) and
/// these parts of the request.
#[derive(PartialEq)]
struct Inputs<'a> {
    config: &'a [u8; 16],
    crawler: bool,
    url_locale: Option<&'a str>,
    locale_cookie: Option<&'a str>,
    currency_cookie: Option<&'a str>,
    accept_language: &'a str,
    country: &'a str,
}

impl Inputs<'_> {
    fn bytes(&self) -> usize {
        [self.url_locale, self.locale_cookie, self.currency_cookie]
            .iter()
            .map(|s| s.map_or(0, str::len))
            .sum::<usize>()
            + self.accept_language.len()
            + self.country.len()
    }
}

struct Entry {
    config: [u8; 16],
    crawler: bool,
    url_locale: Option<String>,
    locale_cookie: Option<String>,
    currency_cookie: Option<String>,
    accept_language: String,
    country: String,
    decided: Decisions,
}

impl Entry {
    fn inputs(&self) -> Inputs<'_> {
        Inputs {
            config: &self.config,
            crawler: self.crawler,
            url_locale: self.url_locale.as_deref(),
            locale_cookie: self.locale_cookie.as_deref(),
            currency_cookie: self.currency_cookie.as_deref(),
            accept_language: &self.accept_language,
            country: &self.country,
        }
    }
}

/// Entries kept (the oldest goes first).
const MAX_ENTRIES: usize = 128;
/// Inputs longer than this are decided afresh, not kept: the entries stay
/// small (a browser's `Accept-Language` is a few dozen bytes).
const MAX_INPUT_BYTES: usize = 256;

thread_local! {
    static KEPT: RefCell<Recent<Entry>> = const { RefCell::new(Recent::new(MAX_ENTRIES)) };
}

/// [`Decisions::decide`] for `ctx`, taken once per isolate for its inputs.
pub fn decide(site: &SiteConfig, ctx: &Context, url_locale: Option<&str>) -> Decisions {
    let inputs = Inputs {
        config: &site.digest,
        crawler: ctx.crawler(),
        url_locale,
        locale_cookie: ctx.cookie(LOCALE_COOKIE),
        currency_cookie: ctx.cookie(CURRENCY_COOKIE),
        accept_language: &ctx.accept_language,
        country: &ctx.geo.country,
    };
    let kept = KEPT.with_borrow(|k| k.find(|e| e.inputs() == inputs).map(|e| e.decided.clone()));
    if let Some(d) = kept {
        return d;
    }
    let decided = Decisions::decide(site, ctx, url_locale);
    if inputs.bytes() <= MAX_INPUT_BYTES {
        let entry = Entry {
            config: site.digest,
            crawler: inputs.crawler,
            url_locale: url_locale.map(str::to_string),
            locale_cookie: inputs.locale_cookie.map(str::to_string),
            currency_cookie: inputs.currency_cookie.map(str::to_string),
            accept_language: inputs.accept_language.to_string(),
            country: inputs.country.to_string(),
            decided: decided.clone(),
        };
        KEPT.with_borrow_mut(|k| k.push(entry));
    }
    decided
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::decide::decisions::tests::{CHROME, SITE};
    use crate::request::Head;

    const BOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

    fn ctx(country: &str, ua: &str, al: Option<&str>, cookie: Option<&str>) -> Context {
        let head = Head {
            user_agent: Some(ua),
            accept_language: al,
            cookie,
            ..Head::default()
        };
        Context::of_test(
            &serde_json::json!({ "country": country }).to_string(),
            &head,
        )
    }

    /// Every input that changes a decision: remembered or not, the same
    /// decisions as deciding afresh, in any order of requests.
    #[test]
    fn the_same_as_deciding_afresh() {
        let site = config::parse(SITE).unwrap();
        let other = config::parse(&SITE.replace("\"AT\":\"de-DE\"", "\"AT\":\"fr-FR\"")).unwrap();
        let long = "de-DE,".repeat(60);
        let mut cases = Vec::new();
        for country in ["AT", "JP", "US", "CH"] {
            for ua in [CHROME, BOT] {
                for al in [
                    None,
                    Some("ja"),
                    Some("fr-FR,fr;q=0.9"),
                    Some(long.as_str()),
                ] {
                    for cookie in [
                        None,
                        Some("borderless_locale=fr-FR"),
                        Some("borderless_currency=CHF"),
                        Some("borderless_locale=ja-JP; borderless_currency=EUR"),
                    ] {
                        for prefix in [None, Some("de-DE")] {
                            cases.push((country, ua, al, cookie, prefix));
                        }
                    }
                }
            }
        }
        // Each twice (the second remembered), under two configs in turn.
        for &(country, ua, al, cookie, prefix) in &cases {
            let c = ctx(country, ua, al, cookie);
            for s in [&site, &other, &site, &other] {
                assert_eq!(
                    decide(s, &c, prefix),
                    Decisions::decide(s, &c, prefix),
                    "{country} {ua} {al:?} {cookie:?} {prefix:?}"
                );
            }
        }
        let kept = KEPT.with_borrow(Recent::len);
        assert!(kept <= MAX_ENTRIES, "{kept}");
    }
}
