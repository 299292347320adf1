//! A page's localization, its translation memory and the variant key's
//! part they give, made once per isolate for the requests that share their
//! inputs (a fifth of a kept page's phase two made them afresh each time).

use super::variants::Key;
use crate::base::recent::{same, Recent};
use crate::config::SiteConfig;
use crate::decide::Decisions;
use crate::plan::l10n::{self, L10n, PageUrl};
use crate::plan::priced::Priced;
use crate::rewrite::tm::memory::{Memory, TmValue};
use crate::schema::{Dictionary, FxRates};
use std::cell::RefCell;
use std::rc::Rc;

/// What [`localized`] gives.
pub struct Localized {
    pub l10n: Option<Rc<L10n>>,
    pub tm: Option<Rc<Memory>>,
    /// The variant key's part for these two (`variants::Key::tail`).
    pub tail: Vec<u8>,
}

/// Every input of a [`Localized`]. The values are compared by identity
/// (one immutable value per KV read, held here so no other can take its
/// address); the price work stands for the rates and the time, which it
/// alone reads (`plan::priced` checks the rates' freshness per request).
struct Entry {
    site: Rc<SiteConfig>,
    locale: String,
    currency: String,
    dict: Option<Rc<Dictionary>>,
    priced: Option<Rc<Priced>>,
    tm: Option<Rc<TmValue>>,
    shard: Option<Rc<TmValue>>,
    origin: String,
    path: String,
    query: String,
    made: Rc<Localized>,
}

/// Entries kept: pages times locales and currencies seen lately. An entry
/// holds its values, so a republished bundle's old ones live on until
/// newer entries push theirs out.
const MAX_ENTRIES: usize = 128;
/// A page URL longer than this is localized afresh and not kept.
const MAX_URL_BYTES: usize = 512;

thread_local! {
    static MEMO: RefCell<Recent<Entry>> = const { RefCell::new(Recent::new(MAX_ENTRIES)) };
}

/// The localization of `page` for the decisions `d` with these KV values
/// (`tm`, `shard`: the locale's memory and the page's shard, if read), as
/// `l10n::build` and `Memory::new` make them, at `now_ms`.
#[allow(clippy::too_many_arguments)]
pub fn localized(
    site: &Rc<SiteConfig>,
    d: &Decisions,
    dict: Option<Rc<Dictionary>>,
    fx: Option<&Rc<FxRates>>,
    page: &PageUrl,
    now_ms: i64,
    tm: Option<Rc<TmValue>>,
    shard: Option<Rc<TmValue>>,
) -> Rc<Localized> {
    let priced = l10n::price_work(site, d, dict.as_ref(), fx, now_ms);
    let found = MEMO.with_borrow(|memo| {
        memo.find(|e| {
            Rc::ptr_eq(&e.site, site)
                && same(e.priced.as_ref(), priced.as_ref())
                && same(e.dict.as_ref(), dict.as_ref())
                && same(e.tm.as_ref(), tm.as_ref())
                && same(e.shard.as_ref(), shard.as_ref())
                && e.locale == d.locale
                && e.currency == d.currency
                && e.path == page.path
                && e.query == page.query
                && e.origin == page.origin
        })
        .map(|e| Rc::clone(&e.made))
    });
    if let Some(made) = found {
        return made;
    }
    let memory = tm
        .clone()
        .map(|base| Rc::new(Memory::new(base, shard.clone())));
    let l10n = priced.as_ref().and_then(|p| {
        let mut l = l10n::with_prices(site, d, dict.clone(), p, page)?;
        l.tm.clone_from(&memory);
        Some(Rc::new(l))
    });
    let tail = Key::tail(l10n.as_deref(), memory.as_deref());
    let made = Rc::new(Localized {
        l10n,
        tm: memory,
        tail,
    });
    if page.origin.len() + page.path.len() + page.query.len() <= MAX_URL_BYTES {
        MEMO.with_borrow_mut(|memo| {
            memo.push(Entry {
                site: Rc::clone(site),
                locale: d.locale.clone(),
                currency: d.currency.clone(),
                dict,
                priced,
                tm,
                shard,
                origin: page.origin.to_string(),
                path: page.path.to_string(),
                query: page.query.to_string(),
                made: Rc::clone(&made),
            });
        });
    }
    made
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::time::parse_rfc3339;
    use crate::config::tests::l10n_site;
    use std::collections::BTreeMap;

    /// What a request reads of a localization, rendered.
    fn seen(m: &Localized) -> String {
        let l = m.l10n.as_deref().map(|l| {
            (
                &l.locale,
                &l.currency,
                l.prices_status,
                l.rtl,
                &l.link_prefix,
                l.head.as_ref().map(|h| h.get().clone()),
                l.switcher.as_ref().map(|s| s.get().clone()),
                l.prices.as_ref().map(|p| {
                    (
                        p.converter.as_ref().map(|c| c.factor_bits()),
                        (p.format)(1234.5, "EUR"),
                    )
                }),
                l.tm.as_ref().map(|t| t.id()),
            )
        });
        format!("{l:?} {:?} {:?}", m.tm.as_ref().map(|t| t.id()), m.tail)
    }

    /// As `Prepared::finish` made it before the memo.
    fn afresh(
        site: &Rc<SiteConfig>,
        d: &Decisions,
        fx: Option<&Rc<FxRates>>,
        page: &PageUrl,
        now: i64,
        tm: Option<Rc<TmValue>>,
    ) -> Localized {
        let memory = tm.map(|b| Rc::new(Memory::new(b, None)));
        let l10n = l10n::build(site, d, None, fx, page, now).map(|mut l| {
            l.tm.clone_from(&memory);
            Rc::new(l)
        });
        let tail = Key::tail(l10n.as_deref(), memory.as_deref());
        Localized {
            l10n,
            tm: memory,
            tail,
        }
    }

    #[test]
    fn the_same_as_made_afresh_and_made_once() {
        let sites = [
            Rc::new(l10n_site(r#","url_prefixes":true,"switcher":{}"#)),
            Rc::new(l10n_site(r#","switcher":{}"#)),
        ];
        let fx = Rc::new(FxRates {
            base: "GBP".into(),
            as_of: "2026-11-22T00:00:00Z".into(),
            rates: BTreeMap::from([("EUR".into(), 1.15)]),
        });
        let tm = Rc::new(TmValue {
            locale: "de-DE".into(),
            ..TmValue::default()
        });
        let ms = |t: &str| parse_rfc3339(t).unwrap();
        let pages = [("/p/1", ""), ("/p/1", "?a=<1>"), ("/p/2", "")];
        for site in &sites {
            for (locale, currency) in [("de-DE", "EUR"), ("de-DE", "GBP"), ("ar-AE", "EUR")] {
                let d = Decisions::origin(locale, currency);
                for (path, query) in pages {
                    let page = PageUrl {
                        origin: "https://shop.test",
                        path,
                        query,
                    };
                    // Fresh, then stale: the memo sees the rates go stale at once.
                    for now in [ms("2026-11-22T06:00:00Z"), ms("2026-11-23T00:00:01Z")] {
                        for with_tm in [false, true] {
                            let t = with_tm.then(|| Rc::clone(&tm));
                            let want = seen(&afresh(site, &d, Some(&fx), &page, now, t.clone()));
                            let a =
                                localized(site, &d, None, Some(&fx), &page, now, t.clone(), None);
                            let b = localized(site, &d, None, Some(&fx), &page, now, t, None);
                            assert_eq!(seen(&a), want, "{locale} {currency} {path}{query} {now}");
                            assert!(Rc::ptr_eq(&a, &b));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_long_url_is_made_afresh() {
        let site = Rc::new(l10n_site(""));
        let d = Decisions::origin("de-DE", "GBP");
        let long = "x".repeat(MAX_URL_BYTES);
        let page = PageUrl {
            origin: "https://shop.test",
            path: "/",
            query: &long,
        };
        let a = localized(&site, &d, None, None, &page, 0, None, None);
        let b = localized(&site, &d, None, None, &page, 0, None, None);
        assert!(!Rc::ptr_eq(&a, &b));
        assert_eq!(seen(&a), seen(&b));
    }
}
