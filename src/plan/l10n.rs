//! The localization part of the plan: `lang`/`dir`, the dictionary, the
//! price converter and formatter, hreflang/canonical links, the link prefix
//! and the switcher markup, all resolved before the page streams.

use crate::base::escape::escape;
use crate::base::money::Converter;
use crate::base::url::{percent_encode, same_site_path};
use crate::config::SiteConfig;
use crate::decide::{locale, Decisions};
use crate::plan::priced::{priced, Priced};
use crate::schema::{Dictionary, FxRates};
use std::cell::OnceCell;
use std::rc::Rc;

/// Path of the worker's own switch endpoint (the switcher links to it).
pub const SWITCH_PATH: &str = "/__borderless/switch";

pub use crate::plan::format::FormatFn;

pub struct Prices {
    /// The origin's currency (prices without a currency are in it).
    pub site_currency: String,
    /// Converts origin-currency prices; `None` keeps every price's currency.
    pub converter: Option<Converter>,
    pub format: FormatFn,
}

/// Everything localization changes on one page, resolved before streaming.
pub struct L10n {
    pub locale: String,
    pub rtl: bool,
    pub dict: Option<Rc<Dictionary>>,
    pub prices: Option<Prices>,
    /// The `<head>` links of a shop with locale prefixes.
    pub head: Option<Later<HeadLinks>>,
    /// `/de-de`: prefixed onto root-relative navigation links.
    pub link_prefix: Option<String>,
    /// The markup for `[data-borderless-slot=switcher]`.
    pub switcher: Option<SwitcherHtml>,
    /// The currency prices are shown in: the negotiated one when a fresh
    /// rate converts to it, else the site's.
    pub currency: String,
    /// `converted`, or why prices keep the origin currency.
    pub prices_status: &'static str,
    /// Finding and converting the prices in the page's own text (`None`:
    /// switched off, or no money formats for the visitor's locale).
    pub detect: Option<Rc<crate::plan::prices::Setup>>,
    /// The locale's translation memory (also for texts the worker inserts).
    pub tm: Option<Rc<crate::rewrite::tm::memory::Memory>>,
}

/// Markup rendered the first time a page asks for it: a page without its
/// place, or a kept page (`page::variants`), never pays for it.
pub struct Later<T> {
    value: OnceCell<T>,
    render: Box<dyn Fn() -> T>,
}

impl<T> Later<T> {
    pub fn new(render: impl Fn() -> T + 'static) -> Self {
        Later {
            value: OnceCell::new(),
            render: Box::new(render),
        }
    }

    /// `render` of the page's `links`, when first asked for.
    fn of(links: &Rc<Links>, render: fn(&Links) -> T) -> Self
    where
        T: 'static,
    {
        let links = Rc::clone(links);
        Later::new(move || render(&links))
    }

    pub fn get(&self) -> &T {
        self.value.get_or_init(&self.render)
    }
}

/// The markup for `[data-borderless-slot=switcher]` (its links cost an
/// escape each).
pub type SwitcherHtml = Later<String>;

/// `<link>` markup (escaped) for `<head>`.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadLinks {
    /// `<link rel=alternate hreflang>` for every locale and `x-default`.
    pub alternates: String,
    /// The page's canonical link, added only if the page has none.
    pub canonical: String,
}

/// The page's own URL, split, with any locale prefix already removed.
#[derive(Debug, Clone, Copy)]
pub struct PageUrl<'a> {
    /// Scheme and host, e.g. `https://shop.example`.
    pub origin: &'a str,
    pub path: &'a str,
    /// Empty, or starting with `?`.
    pub query: &'a str,
}

/// Resolves localization for a request; `None` when the site has none.
/// `L10n::prices_status` says whether prices are converted and if not, why.
/// The request path makes it in two steps, remembered (`page::localized`);
/// this is their composition, the reference the tests compare against.
#[cfg(test)]
pub fn build(
    site: &Rc<SiteConfig>,
    d: &Decisions,
    dict: Option<Rc<Dictionary>>,
    fx: Option<&Rc<FxRates>>,
    url: &PageUrl,
    now_ms: i64,
) -> Option<L10n> {
    let p = price_work(site, d, dict.as_ref(), fx, now_ms)?;
    with_prices(site, d, dict, &p, url)
}

/// The price work `build` uses (once per isolate, `plan::priced`): the only
/// input of the localization that reads the time. `None` without
/// localization.
pub fn price_work(
    site: &Rc<SiteConfig>,
    d: &Decisions,
    dict: Option<&Rc<Dictionary>>,
    fx: Option<&Rc<FxRates>>,
    now_ms: i64,
) -> Option<Rc<Priced>> {
    let loc = site.doc.localization.as_ref()?;
    let reformat = d.locale != site.doc.site.default_locale;
    Some(priced(site, loc, dict, fx, &d.currency, reformat, now_ms))
}

/// `build` with its price work `p` made.
pub fn with_prices(
    site: &Rc<SiteConfig>,
    d: &Decisions,
    dict: Option<Rc<Dictionary>>,
    p: &Priced,
    url: &PageUrl,
) -> Option<L10n> {
    let loc = site.doc.localization.as_ref()?;
    let site_currency = &site.doc.site.currency;
    let (converter, prices_status) = match &p.main {
        Ok(c) => (Some(c.clone()), "converted"),
        Err(why) => (None, why.as_str()),
    };
    // Without a converter prices stay in the origin currency, whatever was negotiated.
    let currency = if converter.is_some() {
        d.currency.clone()
    } else {
        site_currency.clone()
    };
    let prices = p.format.clone().map(|format| Prices {
        site_currency: site_currency.clone(),
        converter,
        format,
    });
    let default = &site.doc.site.default_locale;
    // Every href written here is a path on this site, whatever the request
    // path was (`/de-de//evil.com/x` must not link to `//evil.com/x`).
    let path = same_site_path(url.path);
    // What the head links and the switcher render from, copied once for both.
    let links = (loc.url_prefixes || loc.switcher.is_some()).then(|| {
        Rc::new(Links {
            site: Rc::clone(site),
            origin: url.origin.to_string(),
            path: path.to_string(),
            query: url.query.to_string(),
            locale: d.locale.clone(),
            currency: d.currency.clone(),
        })
    });
    let head = links
        .as_ref()
        .filter(|_| loc.url_prefixes)
        .map(|l| Later::of(l, head_links));
    let link_prefix =
        (loc.url_prefixes && d.locale != *default).then(|| locale::prefix_of(&d.locale));
    let switcher = links
        .as_ref()
        .filter(|_| loc.switcher.is_some())
        .map(|l| Later::of(l, switcher));
    Some(L10n {
        tm: None,
        locale: d.locale.clone(),
        rtl: locale::is_rtl(&d.locale),
        dict,
        prices,
        head,
        link_prefix,
        switcher,
        currency,
        prices_status,
        detect: p.detect.clone(),
    })
}

/// The page and the visitor's choice, as the lazy link markup reads them.
struct Links {
    site: Rc<SiteConfig>,
    origin: String,
    path: String,
    query: String,
    locale: String,
    currency: String,
}

/// The hreflang links of every locale and the page's own canonical link.
fn head_links(links: &Links) -> HeadLinks {
    let Links {
        site,
        origin,
        path,
        query,
        locale,
        ..
    } = links;
    let default = &site.doc.site.default_locale;
    let href_of = |l: &str| href_of(l, default, path, query);
    let mut alternates = String::new();
    for l in site.doc.localization.iter().flat_map(|l| &l.locales) {
        alternates.push_str(&alternate(l, origin, &href_of(l)));
    }
    alternates.push_str(&alternate("x-default", origin, &href_of(default)));
    // The page's own localized URL, as its hreflang link names it.
    let canonical = format!(
        "<link rel=\"canonical\" href=\"{}{}\">",
        escape(origin),
        escape(&href_of(locale))
    );
    HeadLinks {
        alternates,
        canonical,
    }
}

/// `path` and `query` in locale `l`: with its prefix, unless it is the default.
fn href_of(l: &str, default: &str, path: &str, query: &str) -> String {
    if l == default {
        format!("{path}{query}")
    } else {
        format!("{}{path}{query}", locale::prefix_of(l))
    }
}

/// The switcher's markup: a link per locale and per currency, back to this
/// page as the visitor sees it.
fn switcher(links: &Links) -> String {
    let Links {
        site,
        path,
        query,
        locale,
        currency,
        ..
    } = links;
    let Some((loc, sw)) = site
        .doc
        .localization
        .as_ref()
        .and_then(|l| Some((l, l.switcher.as_ref()?)))
    else {
        return String::new();
    };
    let default = &site.doc.site.default_locale;
    let back = if loc.url_prefixes {
        href_of(locale, default, path, query)
    } else {
        format!("{path}{query}")
    };
    let mut html = String::from("<nav class=\"borderless-switcher\" aria-label=\"Language and currency\"><ul class=\"borderless-locales\">");
    for l in &loc.locales {
        let href = if loc.url_prefixes {
            href_of(l, default, path, query)
        } else {
            format!(
                "{SWITCH_PATH}?locale={}&return={}",
                percent_encode(l),
                percent_encode(&back)
            )
        };
        let label = sw.labels.get(l).map_or(l.as_str(), String::as_str);
        let current = if l == locale {
            " aria-current=\"true\""
        } else {
            ""
        };
        html.push_str(&format!(
            "<li><a href=\"{}\" hreflang=\"{l}\" lang=\"{l}\"{current}>{}</a></li>",
            escape(&href),
            escape(label)
        ));
    }
    html.push_str("</ul>");
    if !loc.currencies.is_empty() {
        html.push_str("<ul class=\"borderless-currencies\">");
        for c in &loc.currencies {
            let href = format!(
                "{SWITCH_PATH}?currency={c}&return={}",
                percent_encode(&back)
            );
            let current = if c == currency {
                " aria-current=\"true\""
            } else {
                ""
            };
            html.push_str(&format!(
                "<li><a href=\"{}\" rel=\"nofollow\"{current}>{c}</a></li>",
                escape(&href)
            ));
        }
        html.push_str("</ul>");
    }
    html.push_str("</nav>");
    html
}

fn alternate(hreflang: &str, origin: &str, href: &str) -> String {
    format!(
        "<link rel=\"alternate\" hreflang=\"{}\" href=\"{}{}\">",
        escape(hreflang),
        escape(origin),
        escape(href)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::time::parse_rfc3339;
    use crate::config;
    use std::collections::BTreeMap;

    use crate::config::tests::l10n_site as site;

    const PAGE: PageUrl = PageUrl {
        origin: "https://shop.test",
        path: "/p/1",
        query: "?a=1&b=<2>",
    };

    #[test]
    fn build_with_prefixes_and_switcher() {
        let s = Rc::new(site(
            r#","url_prefixes":true,"switcher":{"labels":{"de-DE":"Deutsch","ar-AE":"العربية <b>"}}"#,
        ));
        let d = Decisions::origin("de-DE", "EUR");
        let now = parse_rfc3339("2026-11-22T06:00:00Z").unwrap();
        let fx = Rc::new(FxRates {
            base: "GBP".into(),
            as_of: "2026-11-22T00:00:00Z".into(),
            rates: BTreeMap::from([("EUR".into(), 1.15)]),
        });
        let l = build(&s, &d, None, Some(&fx), &PAGE, now).unwrap();
        assert_eq!(l.prices_status, "converted");
        assert_eq!(l.link_prefix.as_deref(), Some("/de-de"));
        let h = l.head.as_ref().unwrap().get();
        assert!(h.alternates.contains(r#"<link rel="alternate" hreflang="en-GB" href="https://shop.test/p/1?a=1&amp;b=&lt;2&gt;">"#), "{}", h.alternates);
        assert!(h.alternates.contains(
            r#"hreflang="de-DE" href="https://shop.test/de-de/p/1?a=1&amp;b=&lt;2&gt;""#
        ));
        assert!(h
            .alternates
            .contains(r#"hreflang="ar-AE" href="https://shop.test/ar-ae/p/1"#));
        assert!(h
            .alternates
            .contains(r#"hreflang="x-default" href="https://shop.test/p/1?"#));
        assert_eq!(
            h.canonical,
            r#"<link rel="canonical" href="https://shop.test/de-de/p/1?a=1&amp;b=&lt;2&gt;">"#
        );
        let sw = l.switcher.unwrap();
        let sw = sw.get();
        assert!(sw.contains(r#"<a href="/de-de/p/1?a=1&amp;b=&lt;2&gt;" hreflang="de-DE" lang="de-DE" aria-current="true">Deutsch</a>"#), "{sw}");
        assert!(sw.contains("العربية &lt;b&gt;"), "{sw}");
        assert!(sw.contains(r#"href="/__borderless/switch?currency=EUR&amp;return=/de-de/p/1%3Fa%3D1%26b%3D%3C2%3E" rel="nofollow" aria-current="true">EUR</a>"#), "{sw}");
        // Stale rates: prices and the reported currency stay the origin's.
        let stale = Decisions::origin("ar-AE", "EUR");
        let later = parse_rfc3339("2026-11-24T00:00:00Z").unwrap();
        let l = build(&s, &stale, None, Some(&fx), &PAGE, later).unwrap();
        assert_eq!(
            (l.prices_status, l.currency.as_str()),
            ("stale_rates", "GBP")
        );
        assert!(l.rtl && l.prices.is_none());
    }

    #[test]
    fn build_without_prefixes() {
        let s = Rc::new(site(r#","switcher":{}"#));
        let d = Decisions::origin("en-GB", "GBP");
        let l = build(&s, &d, None, None, &PAGE, 0).unwrap();
        assert!(l.head.is_none() && l.link_prefix.is_none());
        assert_eq!(l.prices_status, "same_currency");
        assert!(l.switcher.unwrap().get().contains(r#"<a href="/__borderless/switch?locale=de-DE&amp;return=/p/1%3Fa%3D1%26b%3D%3C2%3E" hreflang="de-DE" lang="de-DE">de-DE</a>"#));
        assert!(build(
            &Rc::new(
                config::parse(
                    r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"}}"#
                )
                .unwrap()
            ),
            &d,
            None,
            None,
            &PAGE,
            0
        )
        .is_none());
    }
}
