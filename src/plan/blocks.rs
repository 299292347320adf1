//! Block markup: product cards and promo banners, rendered to HTML strings
//! (cards when the page's slot is found: `plan::personal`). Every value is
//! escaped; links and images must be paths on the shop or http(s) URLs.

use crate::base::escape::escape;
use crate::base::ids::{is_currency, valid_id};
use crate::base::money;
use crate::base::url::{prefixed, safe_url};
use crate::config::card::{CardTemplate, Field, Part};
use crate::plan::l10n::Prices;
use crate::schema::{BlockKind, Card};
use std::fmt::Write;

/// What rendering needs from the request.
pub struct Render<'a> {
    pub locale: &'a str,
    pub default_locale: &'a str,
    /// The page's converter and formatter (localization), if any.
    pub prices: Option<&'a Prices>,
    /// `/de-de`: put on the shop's own links.
    pub link_prefix: Option<&'a str>,
    pub template: Option<&'a CardTemplate>,
    /// `data-borderless-arm`.
    pub arm: &'a str,
}

/// A rendered block.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub html: String,
    pub products: Vec<String>,
}

/// The title in the visitor's locale, else its language, else the shop's.
fn title<'c>(c: &'c Card, r: &Render) -> Option<&'c str> {
    crate::decide::locale::fallbacks(r.locale)
        .chain(crate::decide::locale::fallbacks(r.default_locale))
        .find_map(|l| c.title.get(l))
        .or_else(|| c.title.values().next())
        .map(String::as_str)
}

/// The card's price converted and formatted like the page's prices.
pub fn price(c: &Card, prices: Option<&Prices>) -> Option<String> {
    let amount = money::parse_amount(&c.price)?;
    if !is_currency(&c.currency) {
        return None;
    }
    let Some(p) = prices else {
        let d = usize::from(money::digits(&c.currency));
        return Some(format!("{} {amount:.d$}", c.currency));
    };
    let (value, cur) = match p
        .converter
        .as_ref()
        .and_then(|k| k.convert(amount, &c.currency))
    {
        Some(v) => (
            v,
            p.converter
                .as_ref()
                .map_or(c.currency.as_str(), |k| k.to.as_str()),
        ),
        None => (amount, c.currency.as_str()),
    };
    (p.format)(value, cur)
}

fn link(url: &str, r: &Render) -> String {
    match r.link_prefix.and_then(|p| prefixed(url, p)) {
        Some(p) => p,
        None => url.to_string(),
    }
}

/// Whether `c` renders as a card: a title for the visitor, a valid id and
/// a safe link (what [`cards`] keeps, decided before any markup is made).
pub fn renders(c: &Card, r: &Render) -> bool {
    title(c, r).is_some() && valid_id(&c.id) && safe_url(&c.url)
}

fn card(out: &mut String, c: &Card, r: &Render) -> bool {
    let Some(t) = title(c, r) else { return false };
    if !valid_id(&c.id) || !safe_url(&c.url) {
        return false;
    }
    let href = link(&c.url, r);
    let price = price(c, r.prices).unwrap_or_default();
    let image = if safe_url(&c.image) {
        c.image.as_str()
    } else {
        ""
    };
    if let Some(tpl) = r.template {
        for part in &tpl.0 {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Field(f) => out.push_str(&escape(match f {
                    Field::Id => &c.id,
                    Field::Title => t,
                    Field::Url => &href,
                    Field::Image => image,
                    Field::Price => &price,
                    Field::Category => &c.category,
                })),
            }
        }
        return true;
    }
    let _ = write!(
        out,
        "<li class=\"borderless-card\" data-borderless-product=\"{}\"><a href=\"{}\">",
        escape(&c.id),
        escape(&href)
    );
    if !image.is_empty() {
        let _ = write!(
            out,
            "<img src=\"{}\" alt=\"\" width=\"240\" height=\"240\" loading=\"lazy\">",
            escape(image)
        );
    }
    let _ = write!(
        out,
        "<span class=\"borderless-title\">{}</span></a>",
        escape(t)
    );
    if !price.is_empty() {
        let _ = write!(
            out,
            " <span class=\"borderless-price\">{}</span>",
            escape(&price)
        );
    }
    out.push_str("</li>");
    true
}

/// A block of product cards, `None` when no card could be rendered.
pub fn cards(kind: BlockKind, heading: &str, list: &[&Card], r: &Render) -> Option<Block> {
    let mut items = String::with_capacity(256 * list.len());
    let mut products = Vec::with_capacity(list.len());
    for c in list {
        if card(&mut items, c, r) {
            products.push(c.id.clone());
        }
    }
    if products.is_empty() {
        return None;
    }
    let kind = kind.as_str();
    let mut html = String::with_capacity(items.len() + 512);
    let _ = write!(
        html,
        "<div class=\"borderless-block borderless-{kind}\" role=\"region\" aria-label=\"{h}\" data-borderless-block=\"{kind}\" data-borderless-arm=\"{arm}\" data-borderless-products=\"{ids}\"><h2 class=\"borderless-heading\">{h}</h2>",
        h = escape(heading),
        arm = escape(r.arm),
        ids = escape(&products.join(" ")),
    );
    if r.template.is_some() {
        html.push_str(&items);
    } else {
        let _ = write!(html, "<ul class=\"borderless-cards\">{items}</ul>");
    }
    html.push_str("</div>");
    Some(Block { html, products })
}

/// A promo banner.
pub fn promo(id: &str, text: &str, href: Option<&str>, r: &Render) -> Block {
    let mut html = String::with_capacity(256);
    let _ = write!(
        html,
        "<div class=\"borderless-block borderless-promo\" data-borderless-block=\"promo\" data-borderless-promo=\"{}\" data-borderless-arm=\"{}\"><p class=\"borderless-promo-text\">",
        escape(id),
        escape(r.arm)
    );
    match href.filter(|h| safe_url(h)) {
        Some(h) => {
            let _ = write!(
                html,
                "<a href=\"{}\">{}</a>",
                escape(&link(h, r)),
                escape(text)
            );
        }
        None => html.push_str(&escape(text)),
    }
    html.push_str("</p></div>");
    Block {
        html,
        products: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn card(id: &str) -> Card {
        Card {
            id: id.into(),
            title: BTreeMap::from([
                ("en-GB".into(), format!("Mug {id}")),
                ("de".into(), format!("Becher {id}")),
            ]),
            category: "Kitchen".into(),
            price: "2.55".into(),
            currency: "GBP".into(),
            image: format!("/img/{id}.svg"),
            url: format!("/p/{id}"),
        }
    }

    fn render<'a>(prices: Option<&'a Prices>, tpl: Option<&'a CardTemplate>) -> Render<'a> {
        Render {
            locale: "de-AT",
            default_locale: "en-GB",
            prices,
            link_prefix: Some("/de-at"),
            template: tpl,
            arm: "default",
        }
    }

    #[test]
    fn default_markup_with_localized_title_and_price() {
        let prices = Prices {
            site_currency: "GBP".into(),
            converter: None,
            format: std::rc::Rc::new(|v, c| Some(format!("{v:.2} {c}"))),
        };
        let (a, b) = (card("1"), card("2"));
        let blk = cards(
            BlockKind::Segment,
            "Beliebt",
            &[&a, &b],
            &render(Some(&prices), None),
        )
        .unwrap();
        assert_eq!(blk.products, ["1", "2"]);
        assert_eq!(
            blk.html,
            "<div class=\"borderless-block borderless-segment\" role=\"region\" aria-label=\"Beliebt\" data-borderless-block=\"segment\" data-borderless-arm=\"default\" data-borderless-products=\"1 2\"><h2 class=\"borderless-heading\">Beliebt</h2><ul class=\"borderless-cards\"><li class=\"borderless-card\" data-borderless-product=\"1\"><a href=\"/de-at/p/1\"><img src=\"/img/1.svg\" alt=\"\" width=\"240\" height=\"240\" loading=\"lazy\"><span class=\"borderless-title\">Becher 1</span></a> <span class=\"borderless-price\">2.55 GBP</span></li><li class=\"borderless-card\" data-borderless-product=\"2\"><a href=\"/de-at/p/2\"><img src=\"/img/2.svg\" alt=\"\" width=\"240\" height=\"240\" loading=\"lazy\"><span class=\"borderless-title\">Becher 2</span></a> <span class=\"borderless-price\">2.55 GBP</span></li></ul></div>"
        );
        // Without localization: the origin currency, plainly.
        let mut r = render(None, None);
        r.locale = "fr-FR";
        let blk = cards(BlockKind::AlsoBought, "x", &[&a], &r).unwrap();
        assert!(
            blk.html.contains(">Mug 1<") && blk.html.contains(">GBP 2.55<"),
            "{}",
            blk.html
        );
    }

    #[test]
    fn template_and_unsafe_values() {
        let tpl = CardTemplate::parse(
            "<p class=\"c\"><a href=\"{url}\">{title}</a> {price} [{category}]</p>",
        )
        .unwrap();
        let mut evil = card("e");
        evil.title
            .insert("de".into(), "<img src=x onerror=alert(1)>\"'".into());
        evil.category = "</p><script>x</script>".into();
        let blk = cards(
            BlockKind::Trending,
            "<b>h</b>",
            &[&evil],
            &render(None, Some(&tpl)),
        )
        .unwrap();
        assert_eq!(
            blk.html,
            "<div class=\"borderless-block borderless-trending\" role=\"region\" aria-label=\"&lt;b&gt;h&lt;/b&gt;\" data-borderless-block=\"trending\" data-borderless-arm=\"default\" data-borderless-products=\"e\"><h2 class=\"borderless-heading\">&lt;b&gt;h&lt;/b&gt;</h2><p class=\"c\"><a href=\"/de-at/p/e\">&lt;img src=x onerror=alert(1)&gt;&quot;&#39;</a> GBP 2.55 [&lt;/p&gt;&lt;script&gt;x&lt;/script&gt;]</p></div>"
        );
        let mut js = card("j");
        js.url = "javascript:alert(1)".into();
        let mut img = card("i");
        img.image = "javascript:alert(1)".into();
        let mut bad_id = card("b");
        bad_id.id = "\"><script>".into();
        let blk = cards(
            BlockKind::Segment,
            "h",
            &[&js, &img, &bad_id],
            &render(None, None),
        )
        .unwrap();
        assert_eq!(blk.products, ["i"]);
        let r = render(None, None);
        let kept: Vec<&str> = [&js, &img, &bad_id]
            .into_iter()
            .filter(|c| renders(c, &r))
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(
            kept, blk.products,
            "decided before the markup, the same cards"
        );
        assert!(!blk.html.contains("<img"), "{}", blk.html);
        assert_eq!(
            cards(BlockKind::Segment, "h", &[&js], &render(None, None)),
            None
        );
        for bad in [
            "{nope}",
            "{title",
            "a}",
            "<script>{title}",
            "<a onclick=x>{title}</a>",
        ] {
            assert!(CardTemplate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_and_promos() {
        for ok in ["/p/1", "https://cdn.test/x.png", "HTTP://x.test/"] {
            assert!(safe_url(ok), "{ok}");
        }
        for bad in [
            "//evil.test",
            "javascript:alert(1)",
            " /p",
            "/a b",
            "data:text/html,x",
            "/\\x",
            "p/1",
            "",
        ] {
            assert!(!safe_url(bad), "{bad}");
        }
        let p = promo(
            "xmas",
            "Frohe <Weihnachten>",
            Some("/c/christmas"),
            &render(None, None),
        );
        assert_eq!(
            p.html,
            "<div class=\"borderless-block borderless-promo\" data-borderless-block=\"promo\" data-borderless-promo=\"xmas\" data-borderless-arm=\"default\"><p class=\"borderless-promo-text\"><a href=\"/de-at/c/christmas\">Frohe &lt;Weihnachten&gt;</a></p></div>"
        );
        let p = promo("x", "t", Some("javascript:x"), &render(None, None));
        assert!(!p.html.contains("href"));
    }
}
