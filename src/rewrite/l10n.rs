//! Localization handlers: `lang`/`dir`, `data-i18n` text and attributes,
//! hreflang/canonical links in `<head>`, prefixed links, the switcher.

use crate::base::escape::escape_attr;
use crate::base::url::prefixed;
use crate::plan::l10n::{L10n, Later};
use lol_html::html_content::{ContentType, Element};
use lol_html::{ElementContentHandlers, HandlerResult, Selector, Settings};
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

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
    canonical_seen: bool,
}

fn selectors() -> &'static [Selector; 7] {
    thread_local! {
        static SELECTORS: &'static [Selector; 7] = Box::leak(Box::new(
            [
                "html",
                "[data-i18n]",
                "[data-i18n-attr]",
                "head",
                "link[rel~=canonical]",
                "a[href], form[action]",
                "[data-borderless-slot=switcher]",
            ]
            // Constant selectors, each exercised by the tests: parsing
            // cannot fail at run time.
            .map(|s| {
                #[allow(clippy::expect_used)]
                s.parse().expect("static selector")
            }),
        ));
    }
    SELECTORS.with(|s| *s)
}

/// Adds the localization handlers to `settings`. Prices are not among
/// them: the price stage (`super::prices`) finds and converts them in the
/// text, never replacing an element's content.
pub fn attach<'h, 's>(l: &Rc<L10n>, mut settings: Settings<'h, 's>) -> Settings<'h, 's> {
    let scope = Rc::new(RefCell::new(Scope {
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
    if l.head.is_some() {
        let s = Rc::clone(&scope);
        add(
            4,
            Box::new(move |_| {
                s.borrow_mut().canonical_seen = true;
                Ok(())
            }),
        );
        let (l, s) = (Rc::clone(l), Rc::clone(&scope));
        add(
            3,
            Box::new(move |el| {
                let (l, s) = (Rc::clone(&l), Rc::clone(&s));
                if let Some(handlers) = el.end_tag_handlers() {
                    handlers.push(Box::new(move |end| {
                        if let Some(links) = l.head.as_ref().map(Later::get) {
                            end.before(&links.alternates, ContentType::Html);
                            if !s.borrow().canonical_seen {
                                end.before(&links.canonical, ContentType::Html);
                            }
                        }
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
            5,
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
            6,
            Box::new(move |el| {
                let html = l.switcher.as_ref().map_or("", |s| s.get());
                el.set_inner_content(html, ContentType::Html);
                Ok(())
            }),
        );
    }
    let sel = selectors();
    for (i, h) in handlers {
        let Some(sel) = sel.get(i) else { continue };
        settings = settings.append_element_content_handler((
            Cow::Borrowed(sel),
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
            el.set_attribute(&attr, &escape_attr(text))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::money::Converter;
    use crate::base::time::parse_rfc3339;
    use crate::config;
    use crate::plan::l10n::{HeadLinks, Prices};
    use crate::plan::Plan;
    use crate::rewrite::Rewriter;
    use crate::schema::{Dictionary, FxRates, Localization};
    use std::collections::BTreeMap;

    fn l10n(converter: Option<Converter>) -> L10n {
        let detect = crate::plan::prices::Setup {
            declared: vec!["GBP".into()],
            converters: vec![(
                "GBP".into(),
                converter
                    .clone()
                    .ok_or(crate::base::money::NoConversion::StaleRates),
            )],
            visitor: "EUR".into(),
            format: std::rc::Rc::new(|v, c| Some(format!("{v:.2} {c}"))),
            options: Rc::new(
                crate::config::prices::Options::compile(&Default::default(), "en-GB").unwrap(),
            ),
            reformat: true,
        };
        L10n {
            tm: None,
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
                format: std::rc::Rc::new(|v, c| Some(format!("{v:.2} {c}"))),
            }),
            head: Some(Later::new(|| {
                HeadLinks {
                alternates:
                    "<link rel=\"alternate\" hreflang=\"de-DE\" href=\"https://shop.test/de-de/p/1\">"
                        .into(),
                canonical: "<link rel=\"canonical\" href=\"https://shop.test/de-de/p/1\">".into(),
            }
            })),
            link_prefix: Some("/de-de".into()),
            switcher: Some(crate::plan::l10n::SwitcherHtml::new(|| {
                "<a href=\"/en-gb/\">English</a>".into()
            })),
            currency: "EUR".into(),
            prices_status: "converted",
            detect: Some(Rc::new(detect)),
        }
    }

    fn run(l: L10n, input: &str, chunk: usize) -> String {
        let site = Rc::new(
            config::parse(
                r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"}}"#,
            )
            .unwrap(),
        );
        let plan = Rc::new(Plan {
            site,
            edits: Vec::new(),
            l10n: Some(Rc::new(l)),
            personal: None,
            conversion: None,
            assignment: None,
            tm: None,
            watch_slots: Default::default(),
            slot_seen: Default::default(),
        });
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

    /// Issue 11: prices are converted inside their text, never by replacing
    /// an element's content (the old handler emptied `[data-price]` and
    /// `[itemprop=price]` containers and formatted other currencies).
    #[test]
    fn prices_convert_in_place_never_replacing_content() {
        let page = concat!(
            r#"<div itemscope itemtype="https://schema.org/Product"><div itemprop="offers" itemscope><meta itemprop="priceCurrency" content="GBP">"#,
            r#"<span itemprop="price" content="2.55">£2.55</span></div></div>"#,
            r#"<span data-price="10" data-currency="GBP">£10.00</span>"#,
            r#"<div itemscope><meta itemprop="priceCurrency" content="USD"><span itemprop="price" content="3.00">$3</span></div>"#,
            r#"<meta itemprop="price" content="9.99"><span itemprop="price" content="abc">?</span>"#,
            r#"<script type="application/ld+json">{"price":"2.55","priceCurrency":"GBP"}</script>"#,
            r#"<div data-price="7299"><a href="/p"><img src="x.jpg">Mug £72.99</a><button>Add</button></div>"#,
        );
        for chunk in [1, 5, 64] {
            let out = run(l10n(Some(eur())), page, chunk);
            let want = page
                .replace(">£2.55<", ">2.94 EUR<")
                .replace(">£10.00<", ">11.50 EUR<")
                .replace("Mug £72.99", "Mug 83.94 EUR")
                .replace(r#"href="/p""#, r#"href="/de-de/p""#);
            // A dollar price on a GBP-only shop, machine-readable values,
            // scripts and the container's children all stay as they were.
            assert_eq!(out, want, "chunk {chunk}");
        }
        // Text replaced by a translation is not looked at again.
        for chunk in [1, 4, 64] {
            let t = run(
                l10n(Some(eur())),
                r#"<p data-i18n="nav.basket">Free over <b>£</b>30</p><p>£1</p><b>£</b><i>2</i>"#,
                chunk,
            );
            assert_eq!(
                t,
                r#"<p data-i18n="nav.basket">Warenkorb</p><p>1.15 EUR</p><b></b><i>2.30 EUR</i>"#,
                "chunk {chunk}"
            );
        }
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
}
