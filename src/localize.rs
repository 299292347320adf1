//! The localization part of a rewrite plan and its lol_html handlers:
//! `lang`/`dir`, translated strings and attributes, converted and formatted
//! prices, hreflang/canonical links, locale-prefixed links, the switcher.

use crate::config::SiteConfig;
use crate::decision::Decisions;
use crate::locale;
use crate::money::{self, Converter};
use crate::schema::{Dictionary, FxRates};
use lol_html::html_content::{ContentType, Element};
use lol_html::{ElementContentHandlers, HandlerResult, Selector, Settings};
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

/// Formats an amount in a currency for the page's locale.
pub type FormatFn = Box<dyn Fn(f64, &str) -> Option<String>>;

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
    /// Ready-made (escaped) `<link rel=alternate hreflang>` markup for `<head>`.
    pub alternates: String,
    /// Ready-made canonical link, added only if the page has none.
    pub canonical: Option<String>,
    /// `/de-de`: prefixed onto root-relative navigation links.
    pub link_prefix: Option<String>,
    /// Ready-made switcher markup for `[data-borderless-slot=switcher]`.
    pub switcher: Option<String>,
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

/// Path of the worker's own switch endpoint.
pub const SWITCH_PATH: &str = "/__borderless/switch";

/// Resolves localization for a request; `None` when the site has none.
/// Records in `d.prices` whether prices are converted and if not, why.
pub fn build(
    site: &SiteConfig,
    d: &mut Decisions,
    dict: Option<Rc<Dictionary>>,
    fx: Option<&FxRates>,
    url: &PageUrl,
    now_ms: i64,
    format: Option<FormatFn>,
) -> Option<L10n> {
    let loc = site.doc.localization.as_ref()?;
    let site_currency = &site.doc.site.currency;
    let converter = match Converter::new(site_currency, &d.currency, fx, now_ms, loc) {
        Ok(c) => {
            d.prices = Some("converted".into());
            Some(c)
        }
        Err(why) => {
            d.prices = Some(
                serde_json::to_value(why)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            );
            None
        }
    };
    if converter.is_none() {
        // Prices stay in the origin currency, whatever was negotiated.
        d.currency.clone_from(site_currency);
    }
    let prices = format.map(|format| Prices {
        site_currency: site_currency.clone(),
        converter,
        format,
    });
    let default = &site.doc.site.default_locale;
    let href_of = |l: &str| -> String {
        if l == default {
            format!("{}{}", url.path, url.query)
        } else {
            format!("{}{}{}", locale::prefix_of(l), url.path, url.query)
        }
    };
    let (mut alternates, mut canonical, mut link_prefix) = (String::new(), None, None);
    if loc.url_prefixes {
        for l in &loc.locales {
            alternates.push_str(&alternate(l, url.origin, &href_of(l)));
        }
        alternates.push_str(&alternate("x-default", url.origin, &href_of(default)));
        // The page's own localized URL, as its hreflang link names it.
        canonical = Some(format!(
            "<link rel=\"canonical\" href=\"{}{}\">",
            escape(url.origin),
            escape(&href_of(&d.locale))
        ));
        link_prefix = (d.locale != *default).then(|| locale::prefix_of(&d.locale));
    }
    let switcher = loc.switcher.as_ref().map(|sw| {
        // Back to this page as the visitor sees it (with its locale prefix).
        let back = if loc.url_prefixes { href_of(&d.locale) } else { format!("{}{}", url.path, url.query) };
        let mut html = String::from("<nav class=\"borderless-switcher\" aria-label=\"Language and currency\"><ul class=\"borderless-locales\">");
        for l in &loc.locales {
            let href = if loc.url_prefixes {
                href_of(l)
            } else {
                format!("{SWITCH_PATH}?locale={}&return={}", percent_encode(l), percent_encode(&back))
            };
            let label = sw.labels.get(l).map_or(l.as_str(), String::as_str);
            let current = if *l == d.locale { " aria-current=\"true\"" } else { "" };
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
                let href = format!("{SWITCH_PATH}?currency={c}&return={}", percent_encode(&back));
                let current = if *c == d.currency { " aria-current=\"true\"" } else { "" };
                html.push_str(&format!("<li><a href=\"{}\" rel=\"nofollow\"{current}>{c}</a></li>", escape(&href)));
            }
            html.push_str("</ul>");
        }
        html.push_str("</nav>");
        html
    });
    Some(L10n {
        locale: d.locale.clone(),
        rtl: locale::is_rtl(&d.locale),
        dict,
        prices,
        alternates,
        canonical,
        link_prefix,
        switcher,
    })
}

/// The switcher endpoint: validates `locale`, `currency` and `return` from
/// the query; returns where to send the visitor and the cookies to set.
pub fn switch(query: &str, site: &SiteConfig, secure: bool) -> (String, Vec<String>) {
    let mut back = "/".to_string();
    let (mut locale, mut currency) = (None, None);
    let Some(loc) = &site.doc.localization else {
        return (back, Vec::new());
    };
    for pair in query.trim_start_matches('?').split('&').take(8) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(v) = percent_decode(v) else { continue };
        match k {
            "locale" => locale = loc.locales.iter().find(|l| l.eq_ignore_ascii_case(&v)),
            "currency" => {
                let known = money::territory_currency_known(&v) || v == site.doc.site.currency;
                currency = (if loc.currencies.is_empty() {
                    known
                } else {
                    loc.currencies.contains(&v)
                })
                .then_some(v)
            }
            "return" if is_local_path(&v) => back = v,
            _ => {}
        }
    }
    let attrs = format!(
        "; Path=/; Max-Age=31536000; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    );
    let mut cookies = Vec::new();
    if let Some(l) = locale {
        cookies.push(format!("{}={l}{attrs}", crate::decision::LOCALE_COOKIE));
        if loc.url_prefixes {
            let path =
                locale::split_prefix(&back, &loc.locales).map_or(back.as_str(), |(_, rest)| rest);
            back = if *l == site.doc.site.default_locale {
                path.to_string()
            } else {
                format!("{}{path}", locale::prefix_of(l))
            };
        }
    }
    if let Some(c) = currency {
        cookies.push(format!("{}={c}{attrs}", crate::decision::CURRENCY_COOKIE));
    }
    (encode_location(&back), cookies)
}

/// A path safe for a `Location` header: non-ASCII, spaces and characters
/// that are not allowed in URLs percent-encoded (existing escapes kept).
fn encode_location(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        if b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A path on this site (no scheme, no `//host`, no control characters).
pub fn is_local_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.starts_with("/\\")
        && p.len() <= 2048
        && !p.chars().any(|c| c.is_control() || c == '\\')
}

/// Decodes `%XX` and `+`; `None` for malformed or non-UTF-8 input.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn alternate(hreflang: &str, origin: &str, href: &str) -> String {
    format!(
        "<link rel=\"alternate\" hreflang=\"{}\" href=\"{}{}\">",
        escape(hreflang),
        escape(origin),
        escape(href)
    )
}

/// Percent-encodes a query value (unreserved characters and `/` stay).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Attributes `data-i18n-attr` may set (inert ones; `content` only on meta
/// with a `name`/`property`, never on http-equiv).
const I18N_ATTRS: [&str; 8] = [
    "placeholder",
    "title",
    "alt",
    "aria-label",
    "aria-description",
    "label",
    "value",
    "content",
];

struct Scope {
    /// `priceCurrency` per open `itemscope`, innermost last; [0] is the document.
    currencies: Vec<Option<String>>,
    canonical_seen: bool,
}

/// Deeper `itemscope` nesting than this is not tracked (the outer scope's
/// currency applies).
const MAX_SCOPES: usize = 32;

fn selectors() -> &'static [Selector; 11] {
    thread_local! {
        static SELECTORS: &'static [Selector; 11] = Box::leak(Box::new(
            [
                "html",
                "[data-i18n]",
                "[data-i18n-attr]",
                "[itemscope]",
                "[itemprop~=priceCurrency]",
                "[data-price]",
                "[itemprop~=price]:not([data-price])",
                "head",
                "link[rel~=canonical]",
                "a[href], form[action]",
                "[data-borderless-slot=switcher]",
            ]
            .map(|s| s.parse().expect("static selector")),
        ));
    }
    SELECTORS.with(|s| *s)
}

/// Adds the localization handlers to `settings`.
pub fn attach<'h, 's>(l: &Rc<L10n>, mut settings: Settings<'h, 's>) -> Settings<'h, 's> {
    let scope = Rc::new(RefCell::new(Scope {
        currencies: vec![None],
        canonical_seen: false,
    }));
    let mut handlers: Vec<(usize, Handler<'h>)> = Vec::with_capacity(12);
    let mut add = |i: usize, h: Handler<'h>| handlers.push((i, h));
    {
        let l = Rc::clone(l);
        add(
            0,
            Box::new(move |el| {
                el.set_attribute("lang", &l.locale)?;
                if l.rtl {
                    el.set_attribute("dir", "rtl")?;
                } else if el
                    .get_attribute("dir")
                    .is_some_and(|d| d.eq_ignore_ascii_case("rtl"))
                {
                    el.set_attribute("dir", "ltr")?;
                }
                Ok(())
            }),
        );
    }
    if l.dict.is_some() {
        let l1 = Rc::clone(l);
        add(
            1,
            Box::new(move |el| {
                if let Some(text) = el.get_attribute("data-i18n").and_then(|k| lookup(&l1, &k)) {
                    el.set_inner_content(text, ContentType::Text);
                }
                Ok(())
            }),
        );
        let l2 = Rc::clone(l);
        add(2, Box::new(move |el| translate_attrs(&l2, el)));
    }
    if l.prices.is_some() {
        let s = Rc::clone(&scope);
        add(
            3,
            Box::new(move |el| {
                if s.borrow().currencies.len() >= MAX_SCOPES {
                    return Ok(());
                }
                let Some(end) = el.end_tag_handlers() else {
                    return Ok(());
                };
                s.borrow_mut().currencies.push(None);
                let s = Rc::clone(&s);
                end.push(Box::new(move |_| {
                    let mut s = s.borrow_mut();
                    if s.currencies.len() > 1 {
                        s.currencies.pop();
                    }
                    Ok(())
                }));
                Ok(())
            }),
        );
        let s = Rc::clone(&scope);
        add(
            4,
            Box::new(move |el| {
                let c = el
                    .get_attribute("content")
                    .filter(|c| crate::config::is_currency(c));
                if let Some(top) = s.borrow_mut().currencies.last_mut() {
                    *top = c;
                }
                Ok(())
            }),
        );
        for i in [5, 6] {
            let (l, s) = (Rc::clone(l), Rc::clone(&scope));
            add(i, Box::new(move |el| price(&l, &s, el)));
        }
    }
    if !l.alternates.is_empty() || l.canonical.is_some() {
        let s = Rc::clone(&scope);
        add(
            8,
            Box::new(move |_| {
                s.borrow_mut().canonical_seen = true;
                Ok(())
            }),
        );
        let (l, s) = (Rc::clone(l), Rc::clone(&scope));
        add(
            7,
            Box::new(move |el| {
                let (l, s) = (Rc::clone(&l), Rc::clone(&s));
                if let Some(handlers) = el.end_tag_handlers() {
                    handlers.push(Box::new(move |end| {
                        let mut html = l.alternates.clone();
                        if !s.borrow().canonical_seen {
                            html.push_str(l.canonical.as_deref().unwrap_or(""));
                        }
                        end.before(&html, ContentType::Html);
                        Ok(())
                    }));
                }
                Ok(())
            }),
        );
    }
    if l.link_prefix.is_some() {
        let l = Rc::clone(l);
        add(
            9,
            Box::new(move |el| {
                let attr = if el.tag_name() == "form" {
                    "action"
                } else {
                    "href"
                };
                if let (Some(prefix), Some(v)) = (&l.link_prefix, el.get_attribute(attr)) {
                    if let Some(p) = prefixed(&v, prefix) {
                        el.set_attribute(attr, &p)?;
                    }
                }
                Ok(())
            }),
        );
    }
    if l.switcher.is_some() {
        let l = Rc::clone(l);
        add(
            10,
            Box::new(move |el| {
                el.set_inner_content(l.switcher.as_deref().unwrap_or(""), ContentType::Html);
                Ok(())
            }),
        );
    }
    let sel = selectors();
    for (i, h) in handlers {
        settings = settings.append_element_content_handler((
            Cow::Borrowed(&sel[i]),
            ElementContentHandlers::default().element(h),
        ));
    }
    settings
}

type Handler<'h> = Box<dyn FnMut(&mut Element) -> HandlerResult + 'h>;

fn lookup<'a>(l: &'a L10n, key: &str) -> Option<&'a str> {
    l.dict.as_ref()?.entries.get(key).map(String::as_str)
}

/// `data-i18n-attr="placeholder:search.hint, title:search.title"`.
fn translate_attrs(l: &L10n, el: &mut Element) -> HandlerResult {
    let Some(spec) = el.get_attribute("data-i18n-attr") else {
        return Ok(());
    };
    for pair in spec.split(',').take(8) {
        let Some((attr, key)) = pair.split_once(':') else {
            continue;
        };
        let attr = attr.trim().to_ascii_lowercase();
        if !I18N_ATTRS.contains(&attr.as_str()) {
            continue;
        }
        if attr == "content"
            && (el.tag_name() != "meta"
                || el.has_attribute("http-equiv")
                || !(el.has_attribute("name") || el.has_attribute("property")))
        {
            continue;
        }
        if let Some(text) = lookup(l, key.trim()) {
            el.set_attribute(&attr, &crate::rewrite::escape_attr(text))?;
        }
    }
    Ok(())
}

fn price(l: &L10n, scope: &RefCell<Scope>, el: &mut Element) -> HandlerResult {
    let Some(p) = &l.prices else { return Ok(()) };
    if matches!(
        el.tag_name().as_str(),
        "meta" | "link" | "input" | "data" | "img"
    ) || el.is_self_closing()
    {
        return Ok(());
    }
    let amount = el
        .get_attribute("data-price")
        .or_else(|| el.get_attribute("content"))
        .and_then(|a| money::parse_amount(&a));
    let Some(amount) = amount else { return Ok(()) };
    let currency = el
        .get_attribute("data-currency")
        .filter(|c| crate::config::is_currency(c))
        .or_else(|| {
            scope
                .borrow()
                .currencies
                .iter()
                .rev()
                .find_map(Clone::clone)
        })
        .unwrap_or_else(|| p.site_currency.clone());
    let (value, cur) = match p
        .converter
        .as_ref()
        .and_then(|c| c.convert(amount, &currency).map(|v| (v, c.to.as_str())))
    {
        Some((v, to)) => (v, to),
        None => (amount, currency.as_str()),
    };
    if let Some(text) = (p.format)(value, cur) {
        el.set_inner_content(&text, ContentType::Text);
    }
    Ok(())
}

/// A root-relative link with the locale prefix, unless it has one already
/// or is not a page of the shop.
pub fn prefixed(href: &str, prefix: &str) -> Option<String> {
    let h = href.trim();
    if !h.starts_with('/')
        || h.starts_with("//")
        || h.starts_with("/\\")
        || h.starts_with("/__borderless/")
    {
        return None;
    }
    let already = h.len() >= prefix.len()
        && h[..prefix.len()].eq_ignore_ascii_case(prefix)
        && matches!(
            h.as_bytes().get(prefix.len()),
            None | Some(b'/' | b'?' | b'#')
        );
    (!already).then(|| format!("{prefix}{h}"))
}

/// Escapes text for an HTML attribute value or element content.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_rfc3339;
    use crate::config;
    use crate::context::{Context, Geo, Head};
    use crate::decision::Decisions;
    use crate::plan::Plan;
    use crate::preview::Overrides;
    use crate::rewrite::Rewriter;
    use crate::schema::{FxRates, Localization};
    use std::collections::BTreeMap;

    fn l10n(converter: Option<Converter>) -> L10n {
        L10n {
            locale: "de-DE".into(),
            rtl: false,
            dict: Some(Rc::new(Dictionary {
                locale: "de-DE".into(),
                entries: BTreeMap::from([
                    ("nav.basket".into(), "Warenkorb".into()),
                    ("search.hint".into(), "Suche…".into()),
                    ("xss".into(), "<img src=x onerror=alert(1)>\"'&".into()),
                ]),
                money: None,
            })),
            prices: Some(Prices {
                site_currency: "GBP".into(),
                converter,
                format: Box::new(|v, c| Some(format!("{v:.2} {c}"))),
            }),
            alternates:
                "<link rel=\"alternate\" hreflang=\"de-DE\" href=\"https://shop.test/de-de/p/1\">"
                    .into(),
            canonical: Some("<link rel=\"canonical\" href=\"https://shop.test/de-de/p/1\">".into()),
            link_prefix: Some("/de-de".into()),
            switcher: Some("<a href=\"/en-gb/\">English</a>".into()),
        }
    }

    fn run(l: L10n, input: &str, chunk: usize) -> String {
        let site = Rc::new(
            config::parse(
                r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"}}"#,
            )
            .unwrap(),
        );
        let ctx = Context::new(
            Geo::default(),
            &Head::default(),
            0,
            &Overrides::default(),
            &|_, _| None,
        );
        let plan = Rc::new(Plan::new(site, &ctx, &Decisions::origin("de-DE", "EUR")).with_l10n(l));
        let mut rw = Rewriter::new(plan, encoding_rs::UTF_8, 1 << 20, true);
        let mut out = Vec::new();
        for c in input.as_bytes().chunks(chunk) {
            out.extend(rw.write(c));
        }
        out.extend(rw.end());
        assert_eq!(rw.bail_out(), None);
        String::from_utf8(out).unwrap()
    }

    fn eur() -> Converter {
        let fx = FxRates {
            base: "GBP".into(),
            as_of: "2026-11-22T00:00:00Z".into(),
            rates: BTreeMap::from([("EUR".into(), 1.15)]),
        };
        let loc: Localization = serde_json::from_str(r#"{"locales":["en-GB"]}"#).unwrap();
        Converter::new(
            "GBP",
            "EUR",
            Some(&fx),
            parse_rfc3339("2026-11-22T06:00:00Z").unwrap(),
            &loc,
        )
        .unwrap()
    }

    #[test]
    fn translates_text_and_attributes() {
        let page = r#"<html lang="en-GB"><body><a data-i18n="nav.basket" href="/cart">Bas<b>ket</b></a><span data-i18n="missing">Keep</span><input data-i18n-attr="placeholder:search.hint, onclick:xss, title:missing" placeholder="Search"><p data-i18n="xss">x</p></body></html>"#;
        for chunk in [1, 3, 16, 4096] {
            let out = run(l10n(None), page, chunk);
            assert_eq!(
                out,
                "<html lang=\"de-DE\"><body><a data-i18n=\"nav.basket\" href=\"/de-de/cart\">Warenkorb</a><span data-i18n=\"missing\">Keep</span><input data-i18n-attr=\"placeholder:search.hint, onclick:xss, title:missing\" placeholder=\"Suche…\"><p data-i18n=\"xss\">&lt;img src=x onerror=alert(1)&gt;\"'&amp;</p></body></html>",
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn meta_content_only_on_named_meta() {
        let mut l = l10n(None);
        Rc::get_mut(l.dict.as_mut().unwrap())
            .unwrap()
            .entries
            .insert("d".into(), "Beschreibung".into());
        let out = run(
            l,
            r#"<meta name="description" content="x" data-i18n-attr="content:d"><meta http-equiv="refresh" content="5" data-i18n-attr="content:d"><div content="y" data-i18n-attr="content:d"></div>"#,
            7,
        );
        assert!(
            out.contains(r#"<meta name="description" content="Beschreibung""#),
            "{out}"
        );
        assert!(
            out.contains(r#"<meta http-equiv="refresh" content="5""#),
            "{out}"
        );
        assert!(out.contains(r#"<div content="y""#), "{out}");
    }

    #[test]
    fn converts_prices_by_microdata_and_data_attributes() {
        let page = concat!(
            r#"<div itemscope itemtype="https://schema.org/Product"><div itemprop="offers" itemscope><meta itemprop="priceCurrency" content="GBP">"#,
            r#"<span itemprop="price" content="2.55">£2.55</span></div></div>"#,
            r#"<span data-price="10" data-currency="GBP">£10.00</span>"#,
            r#"<div itemscope><meta itemprop="priceCurrency" content="USD"><span itemprop="price" content="3.00">$3</span></div>"#,
            r#"<meta itemprop="price" content="9.99"><span itemprop="price" content="abc">?</span>"#,
            r#"<script type="application/ld+json">{"price":"2.55","priceCurrency":"GBP"}</script>"#,
        );
        let out = run(l10n(Some(eur())), page, 5);
        assert!(
            out.contains(r#"<span itemprop="price" content="2.55">2.94 EUR</span>"#),
            "{out}"
        );
        assert!(
            out.contains(r#"<span data-price="10" data-currency="GBP">11.50 EUR</span>"#),
            "{out}"
        );
        // Another currency than the origin's is formatted, not converted.
        assert!(
            out.contains(r#"<span itemprop="price" content="3.00">3.00 USD</span>"#),
            "{out}"
        );
        // Machine-readable values stay as they are.
        assert!(
            out.contains(r#"<meta itemprop="price" content="9.99">"#),
            "{out}"
        );
        assert!(
            out.contains(r#"<span itemprop="price" content="abc">?</span>"#),
            "{out}"
        );
        assert!(
            out.contains(r#"{"price":"2.55","priceCurrency":"GBP"}"#),
            "{out}"
        );
        // A priceCurrency ends with its itemscope.
        let after = run(
            l10n(Some(eur())),
            r#"<div itemscope><meta itemprop="priceCurrency" content="USD"><b>x</b></div><span data-price="0.42">£0.42</span>"#,
            3,
        );
        assert!(
            after.ends_with(r#"<span data-price="0.42">0.49 EUR</span>"#),
            "{after}"
        );
        // Without a converter (stale rates) prices keep the origin currency.
        let kept = run(l10n(None), page, 64);
        assert!(kept.contains(r#"content="2.55">2.55 GBP</span>"#), "{kept}");
    }

    #[test]
    fn head_links_prefixes_and_switcher() {
        let page = r#"<html><head><title>t</title></head><body><a href="/p/1">1</a><a href="/de-de/p/2">2</a><a href="//cdn.test/x">3</a><a href="https://other.test/">4</a><form action="/search"></form><div data-borderless-slot="switcher">old</div></body></html>"#;
        let out = run(l10n(None), page, 4);
        assert!(out.contains(r#"<title>t</title><link rel="alternate" hreflang="de-DE" href="https://shop.test/de-de/p/1"><link rel="canonical" href="https://shop.test/de-de/p/1"></head>"#), "{out}");
        assert!(
            out.contains(r#"<a href="/de-de/p/1">"#) && out.contains(r#"<a href="/de-de/p/2">"#),
            "{out}"
        );
        assert!(
            out.contains(r#"<a href="//cdn.test/x">"#)
                && out.contains(r#"<a href="https://other.test/">"#)
        );
        assert!(out.contains(r#"<form action="/de-de/search">"#), "{out}");
        assert!(
            out.contains(
                r#"<div data-borderless-slot="switcher"><a href="/en-gb/">English</a></div>"#
            ),
            "{out}"
        );
        // An existing canonical link is kept and none is added.
        let own = run(
            l10n(None),
            r#"<head><link rel="canonical" href="/x"></head>"#,
            3,
        );
        assert_eq!(own.matches("canonical").count(), 1, "{own}");
    }

    #[test]
    fn direction() {
        let mut l = l10n(None);
        l.locale = "ar-AE".into();
        l.rtl = true;
        assert!(run(l, "<html lang=en><body></body></html>", 2)
            .starts_with(r#"<html lang="ar-AE" dir="rtl">"#));
        let out = run(l10n(None), r#"<html dir="rtl">"#, 2);
        assert_eq!(out, r#"<html dir="ltr" lang="de-DE">"#);
    }

    fn site(extra: &str) -> SiteConfig {
        config::parse(&format!(
            r#"{{"version":1,"bundle":"t","site":{{"default_locale":"en-GB","currency":"GBP"}},
            "localization":{{"locales":["en-GB","de-DE","ar-AE"],"currencies":["GBP","EUR"],"fx_max_age_hours":24{extra}}}}}"#
        ))
        .unwrap()
    }

    const PAGE: PageUrl = PageUrl {
        origin: "https://shop.test",
        path: "/p/1",
        query: "?a=1&b=<2>",
    };

    #[test]
    fn build_with_prefixes_and_switcher() {
        let s = site(
            r#","url_prefixes":true,"switcher":{"labels":{"de-DE":"Deutsch","ar-AE":"العربية <b>"}}"#,
        );
        let mut d = Decisions::origin("de-DE", "EUR");
        let now = parse_rfc3339("2026-11-22T06:00:00Z").unwrap();
        let fx = FxRates {
            base: "GBP".into(),
            as_of: "2026-11-22T00:00:00Z".into(),
            rates: BTreeMap::from([("EUR".into(), 1.15)]),
        };
        let l = build(
            &s,
            &mut d,
            None,
            Some(&fx),
            &PAGE,
            now,
            Some(Box::new(|_, _| None)),
        )
        .unwrap();
        assert_eq!(d.prices.as_deref(), Some("converted"));
        assert_eq!(l.link_prefix.as_deref(), Some("/de-de"));
        assert!(l.alternates.contains(r#"<link rel="alternate" hreflang="en-GB" href="https://shop.test/p/1?a=1&amp;b=&lt;2&gt;">"#), "{}", l.alternates);
        assert!(l.alternates.contains(
            r#"hreflang="de-DE" href="https://shop.test/de-de/p/1?a=1&amp;b=&lt;2&gt;""#
        ));
        assert!(l
            .alternates
            .contains(r#"hreflang="ar-AE" href="https://shop.test/ar-ae/p/1"#));
        assert!(l
            .alternates
            .contains(r#"hreflang="x-default" href="https://shop.test/p/1?"#));
        assert_eq!(
            l.canonical.as_deref(),
            Some(
                r#"<link rel="canonical" href="https://shop.test/de-de/p/1?a=1&amp;b=&lt;2&gt;">"#
            )
        );
        let sw = l.switcher.unwrap();
        assert!(sw.contains(r#"<a href="/de-de/p/1?a=1&amp;b=&lt;2&gt;" hreflang="de-DE" lang="de-DE" aria-current="true">Deutsch</a>"#), "{sw}");
        assert!(sw.contains("العربية &lt;b&gt;"), "{sw}");
        assert!(sw.contains(r#"href="/__borderless/switch?currency=EUR&amp;return=/de-de/p/1%3Fa%3D1%26b%3D%3C2%3E" rel="nofollow" aria-current="true">EUR</a>"#), "{sw}");
        // Stale rates: prices and the reported currency stay the origin's.
        let mut stale = Decisions::origin("ar-AE", "EUR");
        let later = parse_rfc3339("2026-11-24T00:00:00Z").unwrap();
        let l = build(&s, &mut stale, None, Some(&fx), &PAGE, later, None).unwrap();
        assert_eq!(
            (stale.prices.as_deref(), stale.currency.as_str()),
            (Some("stale_rates"), "GBP")
        );
        assert!(l.rtl && l.prices.is_none());
    }

    #[test]
    fn build_without_prefixes() {
        let s = site(r#","switcher":{}"#);
        let mut d = Decisions::origin("en-GB", "GBP");
        let l = build(&s, &mut d, None, None, &PAGE, 0, None).unwrap();
        assert!(l.alternates.is_empty() && l.canonical.is_none() && l.link_prefix.is_none());
        assert_eq!(d.prices.as_deref(), Some("same_currency"));
        assert!(l.switcher.unwrap().contains(r#"<a href="/__borderless/switch?locale=de-DE&amp;return=/p/1%3Fa%3D1%26b%3D%3C2%3E" hreflang="de-DE" lang="de-DE">de-DE</a>"#));
        assert!(build(
            &config::parse(
                r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"}}"#
            )
            .unwrap(),
            &mut d,
            None,
            None,
            &PAGE,
            0,
            None
        )
        .is_none());
    }

    #[test]
    fn switch_endpoint_validates_everything() {
        let s = site(r#","url_prefixes":true"#);
        let (to, cookies) = switch(
            "locale=de-DE&currency=EUR&return=%2Fp%2F1%3Fx%3D1",
            &s,
            true,
        );
        assert_eq!(to, "/de-de/p/1?x=1");
        assert_eq!(
            cookies,
            [
                "borderless_locale=de-DE; Path=/; Max-Age=31536000; SameSite=Lax; Secure",
                "borderless_currency=EUR; Path=/; Max-Age=31536000; SameSite=Lax; Secure",
            ]
        );
        let (to, _) = switch("locale=en-GB&return=/de-de/p/1", &s, false);
        assert_eq!(to, "/p/1");
        for evil in [
            "return=//evil.test/",
            "return=https://evil.test",
            "return=/%5Cevil.test",
            "return=/a%0d%0aSet-Cookie:x=1",
            "return=%ZZ",
        ] {
            assert_eq!(switch(evil, &s, false).0, "/", "{evil}");
        }
        let (_, cookies) = switch(
            "locale=xx-YY&currency=JPY&currency=EUR%3B%20Domain%3Devil",
            &s,
            false,
        );
        assert!(cookies.is_empty(), "{cookies:?}");
    }

    #[test]
    fn prefixing_rules() {
        assert_eq!(prefixed("/p/1", "/de-de").as_deref(), Some("/de-de/p/1"));
        assert_eq!(prefixed("/de-de", "/de-de"), None);
        assert_eq!(prefixed("/de-de?x=1", "/de-de"), None);
        assert_eq!(
            prefixed("/de-dex", "/de-de").as_deref(),
            Some("/de-de/de-dex")
        );
        assert_eq!(prefixed("/__borderless/switch", "/de-de"), None);
        assert_eq!(prefixed("/\\evil.test", "/de-de"), None);
        assert_eq!(prefixed("p/1", "/de-de"), None);
        assert_eq!(
            escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }
}
