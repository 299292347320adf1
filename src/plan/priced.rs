//! The price work of a locale and currency: the site currency's converter,
//! the price stage's converters and the formatter. The same for every page
//! and visitor that share its inputs, so an isolate makes it once for them,
//! not on every request (it was a fifth of a kept page's phase two).

use crate::base::money::{as_of_ms, fresh_at, Converter, NoConversion};
use crate::base::recent::{same, Recent};
use crate::config::SiteConfig;
use crate::plan::format::{self, FormatFn};
use crate::plan::prices::Setup;
use crate::schema::{Dictionary, FxRates, Localization};
use std::cell::RefCell;
use std::rc::Rc;

/// What [`priced`] resolves.
pub struct Priced {
    /// The price stage's setup (`None`: switched off, or no money formats).
    pub detect: Option<Rc<Setup>>,
    /// The site currency into the visitor's, or why prices stay.
    pub main: Result<Converter, NoConversion>,
    /// The locale's money formats (`None`: its dictionary has none).
    pub format: Option<FormatFn>,
}

/// The inputs of a [`Priced`], compared by identity: the config, the
/// dictionary and the rates are each one immutable value per KV read, held
/// here so that no other value can take their address while the entry lives.
struct Entry {
    site: Rc<SiteConfig>,
    dict: Option<Rc<Dictionary>>,
    fx: Option<Rc<FxRates>>,
    currency: String,
    reformat: bool,
    /// When the rates were published, and whether they were fresh then: the
    /// only way time enters (`money::fresh_at`).
    as_of: Option<i64>,
    fresh: bool,
    priced: Rc<Priced>,
}

/// Entries kept: a shop's locales times its currencies, with room for a
/// config or rates published while old pages are in flight. Each holds its
/// dictionary, so this bounds how many old ones an isolate keeps.
const MAX_ENTRIES: usize = 64;

thread_local! {
    static MEMO: RefCell<Recent<Entry>> = const { RefCell::new(Recent::new(MAX_ENTRIES)) };
}

/// The price work for `currency` (the visitor's) in the locale whose
/// dictionary is `dict`, at `now_ms`; `reformat` when the visitor's locale
/// is not the site's (prices that keep their currency are reformatted).
pub fn priced(
    site: &Rc<SiteConfig>,
    loc: &Localization,
    dict: Option<&Rc<Dictionary>>,
    fx: Option<&Rc<FxRates>>,
    currency: &str,
    reformat: bool,
    now_ms: i64,
) -> Rc<Priced> {
    let found = MEMO.with_borrow(|memo| {
        memo.find(|e| {
            Rc::ptr_eq(&e.site, site)
                && same(e.dict.as_ref(), dict)
                && same(e.fx.as_ref(), fx)
                && e.currency == currency
                && e.reformat == reformat
                && e.as_of.is_none_or(|a| fresh_at(a, now_ms, loc) == e.fresh)
        })
        .map(|e| Rc::clone(&e.priced))
    });
    if let Some(p) = found {
        return p;
    }
    let priced = Rc::new(build(
        site,
        loc,
        dict,
        fx.map(Rc::as_ref),
        currency,
        reformat,
        now_ms,
    ));
    let as_of = fx.and_then(|f| as_of_ms(f));
    let entry = Entry {
        site: Rc::clone(site),
        dict: dict.cloned(),
        fx: fx.cloned(),
        currency: currency.to_string(),
        reformat,
        as_of,
        fresh: as_of.is_some_and(|a| fresh_at(a, now_ms, loc)),
        priced: Rc::clone(&priced),
    };
    MEMO.with_borrow_mut(|memo| memo.push(entry));
    priced
}

fn build(
    site: &Rc<SiteConfig>,
    loc: &Localization,
    dict: Option<&Rc<Dictionary>>,
    fx: Option<&FxRates>,
    currency: &str,
    reformat: bool,
    now_ms: i64,
) -> Priced {
    let site_currency = &site.doc.site.currency;
    let format = format::formatter(dict);
    let detect = match (&site.prices, &format) {
        (Some(opts), Some(f)) if opts.enabled => {
            let mut setup = Setup::new(
                site_currency,
                loc,
                Rc::clone(opts),
                currency,
                fx,
                now_ms,
                Rc::clone(f),
            );
            setup.reformat = reformat;
            Some(Rc::new(setup))
        }
        _ => None,
    };
    // The price stage's first converter is the site currency's (the same
    // inputs) when there is one.
    let main = match detect.as_ref().and_then(|s| s.converters.first()) {
        Some((c, r)) if c == site_currency => r.clone(),
        _ => Converter::new(site_currency, currency, fx, now_ms, loc),
    };
    Priced {
        detect,
        main,
        format,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::time::parse_rfc3339;

    fn site() -> Rc<SiteConfig> {
        Rc::new(
            crate::config::parse(
                r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"},
                "localization":{"locales":["en-GB","de-DE"],"currencies":["GBP","EUR"],"fx_max_age_hours":24}}"#,
            )
            .unwrap(),
        )
    }

    fn rates(as_of: &str, eur: f64) -> Rc<FxRates> {
        Rc::new(FxRates {
            base: "GBP".into(),
            as_of: as_of.into(),
            rates: [("EUR".to_string(), eur)].into(),
        })
    }

    #[test]
    fn made_once_for_the_same_inputs_and_again_for_others() {
        let s = site();
        let loc = s.doc.localization.clone().unwrap();
        let fx = rates("2026-11-22T00:00:00Z", 1.15);
        let now = parse_rfc3339("2026-11-22T06:00:00Z").unwrap();
        let a = priced(&s, &loc, None, Some(&fx), "EUR", true, now);
        let b = priced(&s, &loc, None, Some(&fx), "EUR", true, now + 1000);
        assert!(Rc::ptr_eq(&a, &b));
        assert_eq!(
            a.main.as_ref().map(Converter::factor_bits),
            Ok(1.15f64.to_bits())
        );
        // Other rates with the same content are another value: made again.
        let fx2 = rates("2026-11-22T00:00:00Z", 1.2);
        let c = priced(&s, &loc, None, Some(&fx2), "EUR", true, now);
        assert!(!Rc::ptr_eq(&a, &c));
        assert_eq!(
            c.main.as_ref().map(Converter::factor_bits),
            Ok(1.2f64.to_bits())
        );
        for (cur, reformat) in [("GBP", true), ("EUR", false)] {
            let d = priced(&s, &loc, None, Some(&fx), cur, reformat, now);
            assert!(!Rc::ptr_eq(&a, &d), "{cur} {reformat}");
        }
        assert_eq!(
            priced(&s, &loc, None, Some(&fx), "GBP", true, now).main,
            Err(NoConversion::SameCurrency)
        );
        assert_eq!(
            priced(&s, &loc, None, None, "EUR", true, now).main,
            Err(NoConversion::NoRates)
        );
    }

    #[test]
    fn rates_going_stale_are_seen_at_once() {
        let s = site();
        let loc = s.doc.localization.clone().unwrap();
        let fx = rates("2026-11-22T00:00:00Z", 1.15);
        let ms = |t: &str| parse_rfc3339(t).unwrap();
        let at = |t: &str| {
            priced(&s, &loc, None, Some(&fx), "EUR", true, ms(t))
                .main
                .clone()
        };
        // Fresh up to 24 h after `as_of` and from an hour before it, as
        // `Converter::new` decides at each of these instants.
        for (t, fresh) in [
            ("2026-11-21T22:59:59Z", false),
            ("2026-11-21T23:00:00Z", true),
            ("2026-11-23T00:00:00Z", true),
            ("2026-11-22T12:00:00Z", true),
            ("2026-11-24T00:00:00Z", false),
        ] {
            let direct = Converter::new("GBP", "EUR", Some(&fx), ms(t), &loc);
            assert_eq!(at(t), direct, "{t}");
            assert_eq!(direct.is_ok(), fresh, "{t}");
        }
        let just_after = ms("2026-11-23T00:00:00Z") + 1;
        let memo = priced(&s, &loc, None, Some(&fx), "EUR", true, just_after)
            .main
            .clone();
        assert_eq!(memo, Err(NoConversion::StaleRates));
    }

    #[test]
    fn bounded() {
        let s = site();
        let loc = s.doc.localization.clone().unwrap();
        for i in 0..(MAX_ENTRIES + 10) {
            let fx = rates("2026-11-22T00:00:00Z", 1.0 + i as f64);
            priced(&s, &loc, None, Some(&fx), "EUR", true, 0);
        }
        assert_eq!(MEMO.with_borrow(Recent::len), MAX_ENTRIES);
    }
}
