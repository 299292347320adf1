//! The personalization part of the plan: which blocks fill which slots
//! (decided before the page streams; product cards rendered when the page's
//! slot is found, so a page without the slot pays nothing for them), the
//! cookies to set and the exposure log line.

use crate::config::personal::CompiledSlot;
use crate::config::SiteConfig;
use crate::decide::consent::Cookies;
use crate::decide::experiment::VISITOR_COOKIE;
use crate::decide::profile::{self, Profile};
use crate::decide::promo::promo_for;
use crate::decide::segment::{self, Segment};
use crate::decide::visitor::Visitor;
use crate::plan::blocks::{self, Render};
use crate::plan::l10n::L10n;
use crate::request::Context;
use crate::schema::{BlockKind, Card, CountryPack, CustomerValue, Promo};
use serde::Serialize;
use std::cell::{Cell, OnceCell};
use std::rc::Rc;

/// A year, in seconds, as the cookie attribute writes it.
const COOKIE_MAX_AGE: &str = "31536000";

/// What personalization decided for one request (the preview report's part).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonalReport {
    pub cookies: Option<Cookies>,
    pub experiment_arm: Option<String>,
    /// `none`, `read`, `ignored`, `not_allowed`, `disabled`; `+updated`.
    pub profile: Option<String>,
    pub segment: Option<String>,
    pub segment_used: Option<String>,
    pub blocks: Vec<BlockReport>,
    pub reasons: Vec<String>,
}

/// One personalized block.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(serde::Deserialize))]
pub struct BlockReport {
    pub slot: String,
    pub block: BlockKind,
    pub products: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promo: Option<String>,
}

/// One filled slot.
#[derive(Debug)]
pub struct Fill {
    /// Index into [`Compiled::slots`].
    pub slot: usize,
    pub kind: BlockKind,
    pub promo: Option<String>,
    /// The products it shows (the cards that render), in order.
    pub products: Vec<String>,
    content: Content,
}

/// A block's markup, or what makes it.
#[derive(Debug)]
enum Content {
    /// Product cards by id from `from`, under `heading`.
    Cards { heading: String, from: CardSet },
    /// The promo banner `promo` of the config, on `holiday` if any.
    Promo {
        promo: usize,
        holiday: Option<String>,
    },
}

/// Where a block's cards are.
#[derive(Debug)]
enum CardSet {
    Pack(Rc<CountryPack>),
    Customer(Rc<CustomerValue>),
}

impl CardSet {
    fn card(&self, id: &str) -> Option<&Card> {
        match self {
            CardSet::Pack(p) => p.cards.get(id),
            CardSet::Customer(c) => c.cards.get(id),
        }
    }
}

/// The personalization of one response.
pub struct Personal {
    pub fills: Vec<Fill>,
    pub(crate) shown: Vec<Cell<bool>>,
    rendered: Vec<OnceCell<Option<String>>>,
    visitor: Option<String>,
    arm: String,
    segment: Option<String>,
    path: String,
    // What rendering reads: the card template, prices, link prefix, titles.
    site: Rc<SiteConfig>,
    l10n: Option<Rc<L10n>>,
    locale: String,
}

fn cookie(name: &str, value: &str, secure: bool) -> String {
    // By hand, not `format!`: `core::fmt` is cold code on a request.
    crate::base::text::concat(&[
        name,
        "=",
        value,
        "; Path=/; Max-Age=",
        COOKIE_MAX_AGE,
        "; SameSite=Lax; HttpOnly",
        if secure { "; Secure" } else { "" },
    ])
}

/// Text of a dictionary key, else the text itself.
fn text<'a>(l10n: Option<&'a L10n>, key_or_text: &'a str) -> &'a str {
    l10n.and_then(|l| l.dict.as_ref())
        .and_then(|d| d.entries.get(key_or_text))
        .map_or(key_or_text, String::as_str)
}

fn heading<'a>(kind: BlockKind, own: Option<&'a str>, l10n: Option<&'a L10n>) -> &'a str {
    let (key, english) = match kind {
        BlockKind::Segment => ("blocks.popular_here", "Popular in your country"),
        BlockKind::Trending => ("blocks.trending", "Trending now"),
        BlockKind::RecentlyViewed => ("blocks.recently_viewed", "Continue shopping"),
        BlockKind::AlsoBought => ("blocks.also_bought", "Customers also bought"),
        BlockKind::Promo => ("", ""),
        BlockKind::BuyAgain => ("blocks.buy_again", "Buy again"),
        BlockKind::ForYou => ("blocks.for_you", "Picked for you"),
    };
    match own {
        Some(h) => text(l10n, h),
        None => {
            let t = text(l10n, key);
            if t == key {
                english
            } else {
                t
            }
        }
    }
}

/// A promo banner: its text from the dictionary, else the memory, with
/// the holiday's name put in.
fn promo_html(pr: &Promo, holiday: Option<&str>, l10n: Option<&L10n>, r: &Render) -> blocks::Block {
    let t = text(l10n, &pr.text);
    // Not in the dictionary: the translation memory may have it.
    let t = l10n
        .and_then(|l| l.tm.as_deref())
        .filter(|_| t == pr.text)
        .and_then(|m| crate::rewrite::tm::translate_plain(m, t))
        .unwrap_or_else(|| t.to_string())
        .replace("{holiday}", holiday.unwrap_or(""));
    blocks::promo(&pr.id, &t, pr.link.as_deref(), r)
}

/// What card markup reads, the same when the cards are chosen and when
/// their slot renders them.
fn render_with<'a>(
    site: &'a SiteConfig,
    l10n: Option<&'a L10n>,
    locale: &'a str,
    arm: &'a str,
) -> Render<'a> {
    Render {
        locale,
        default_locale: &site.doc.site.default_locale,
        prices: l10n.and_then(|l| l.prices.as_ref()),
        link_prefix: l10n.and_then(|l| l.link_prefix.as_deref()),
        template: site.personal.as_ref().and_then(|c| c.template.as_ref()),
        arm,
    }
}

/// What personalization puts in the response head, known before any block
/// is chosen (a page answered from its kept copy chooses none).
#[derive(Debug, Default)]
pub struct Head {
    /// `Set-Cookie` values: a new id; the profile a product view updated
    /// (newest first, category affinity).
    pub cookies: Vec<String>,
    /// The profile changed (for the report).
    pub profile_updated: bool,
    /// The page is personal, so it gets no validator: it sets a cookie, or
    /// blocks are chosen for it (a personalized arm with a pack).
    pub personal: bool,
}

/// The visitor's [`Head`]; empty without a personalization config.
pub fn head(
    site: &SiteConfig,
    v: &Visitor,
    pack: Option<&Rc<CountryPack>>,
    now_ms: i64,
    secure: bool,
) -> Head {
    let mut h = Head::default();
    let Some(p) = site
        .doc
        .personalization
        .as_ref()
        .filter(|_| site.personal.is_some())
    else {
        return h;
    };
    if v.new_id {
        if let Some(id) = &v.id {
            h.cookies.push(cookie(VISITOR_COOKIE, id, secure));
        }
    }
    if let (Some(id), true) = (&v.product, v.cookies.allowed() && p.profile.enabled) {
        let mut updated = v.profile.clone().unwrap_or_else(|| Profile {
            hours: now_ms.div_euclid(3_600_000),
            ..Profile::default()
        });
        let category = pack
            .and_then(|pk| pk.cards.get(id))
            .and_then(|card| profile::slug(&card.category));
        updated.viewed(id, category.as_deref());
        if v.profile.as_ref() != Some(&updated) {
            h.cookies
                .push(cookie(profile::COOKIE, &updated.encode(), secure));
            h.profile_updated = true;
        }
    }
    h.personal = !h.cookies.is_empty() || (v.assignment.personalized && pack.is_some());
    h
}

/// Everything personalization does to this response; `None` when nothing.
/// What it decided goes into its own report, for the preview header; its
/// reasons (text, formatted) only when `explain` (a preview, the explain
/// endpoint): nothing else reads them.
#[allow(clippy::too_many_arguments)]
pub fn build(
    site: &Rc<SiteConfig>,
    ctx: &Context,
    locale: &str,
    v: Visitor,
    pack: Option<&Rc<CountryPack>>,
    customer: Option<&Rc<CustomerValue>>,
    l10n_rc: Option<&Rc<L10n>>,
    profile_updated: bool,
    explain: bool,
) -> (Option<Personal>, PersonalReport) {
    let l10n = l10n_rc.map(|l| &**l);
    let mut d = PersonalReport::default();
    let (Some(p), Some(c)) = (&site.doc.personalization, &site.personal) else {
        return (None, d);
    };
    d.cookies = Some(v.cookies);
    d.experiment_arm = Some(v.assignment.label.clone());
    let mut status = v.profile_status.to_string();
    if profile_updated {
        status.push_str("+updated");
    }
    d.profile = Some(status);
    let mut fills = Vec::new();
    let mut segment_key = None;
    if let (true, Some(pack)) = (v.assignment.personalized, pack) {
        let category = v.profile.as_ref().and_then(Profile::top_category);
        let seg = Segment::of(ctx, &pack.country, category);
        if explain {
            d.reasons.push(Segment::summary(ctx));
            if pack.country == crate::schema::GLOBAL_COUNTRY && ctx.geo.country != pack.country {
                d.reasons
                    .push(format!("no pack for {}: the global pack", ctx.geo.country));
            }
        }
        d.segment = Some(seg.key.clone());
        segment_key = Some(seg.key.clone());
        let r = render_with(site, l10n, locale, &v.assignment.label);
        let product = v.product.as_deref();
        let exclude: Vec<&str> = product.into_iter().collect();
        let cards_of = |ids: &mut dyn Iterator<Item = &str>| -> Vec<&Card> {
            ids.filter(|id| !exclude.contains(id))
                .filter_map(|id| pack.cards.get(id))
                .take(p.cards)
                .collect()
        };
        // The cards that render, decided now; their markup waits for the slot.
        let lazy = |list: Vec<&Card>, head: &str, from: CardSet| {
            let products: Vec<String> = list
                .into_iter()
                .filter(|c| blocks::renders(c, &r))
                .map(|c| c.id.clone())
                .collect();
            let heading = head.to_string();
            (!products.is_empty()).then_some((products, Content::Cards { heading, from }))
        };
        let in_pack = || CardSet::Pack(Rc::clone(pack));
        for (i, slot) in c.slots.iter().enumerate() {
            let Some(conf) = p.slots.get(&slot.name) else {
                continue;
            };
            let kind = v
                .assignment
                .slots
                .get(&slot.name)
                .copied()
                .unwrap_or(conf.block);
            let head = heading(kind, conf.heading.as_deref(), l10n);
            let (block, promo) = match kind {
                BlockKind::Segment => {
                    let Some(pick) = segment::pick(pack, &seg, p.cards, &exclude) else {
                        if explain {
                            d.reasons.push(format!("{}: no segment list", slot.name));
                        }
                        continue;
                    };
                    d.segment_used = Some(pick.key.to_string());
                    if explain {
                        d.reasons.extend(pick.reasons);
                    }
                    let list = cards_of(&mut pick.ids.into_iter());
                    (lazy(list, head, in_pack()), None)
                }
                BlockKind::Trending => {
                    let list = cards_of(&mut pack.trending.iter().map(String::as_str));
                    (lazy(list, head, in_pack()), None)
                }
                BlockKind::RecentlyViewed => {
                    let recent = v
                        .profile
                        .as_ref()
                        .map(|pr| pr.recent.as_slice())
                        .unwrap_or(&[]);
                    let list = cards_of(&mut recent.iter().map(String::as_str));
                    (lazy(list, head, in_pack()), None)
                }
                BlockKind::AlsoBought => {
                    let Some(list) = product.and_then(|id| pack.also_bought.get(id)) else {
                        continue;
                    };
                    if explain {
                        d.reasons
                            .push(format!("also bought with {}", product.unwrap_or_default()));
                    }
                    let list = cards_of(&mut list.iter().map(String::as_str));
                    (lazy(list, head, in_pack()), None)
                }
                BlockKind::BuyAgain | BlockKind::ForYou => {
                    // Only ever read for a verified customer with consent.
                    let Some(cu) = customer else {
                        continue;
                    };
                    let ids = if kind == BlockKind::BuyAgain {
                        &cu.buy_again
                    } else {
                        &cu.for_you
                    };
                    let list: Vec<&Card> = ids
                        .iter()
                        .filter(|id| !exclude.contains(&id.as_str()))
                        .filter_map(|id| cu.cards.get(id))
                        .take(p.cards)
                        .collect();
                    if explain {
                        d.reasons
                            .push(format!("{}: purchase history", kind.as_str()));
                    }
                    (lazy(list, head, CardSet::Customer(Rc::clone(cu))), None)
                }
                BlockKind::Promo => {
                    let Some((i, pr, holiday)) = promo_for(p, ctx) else {
                        continue;
                    };
                    if explain {
                        d.reasons.push(match holiday {
                            Some(h) => format!("promo {} (holiday {h})", pr.id),
                            None => format!("promo {}", pr.id),
                        });
                    }
                    // Its text and markup wait for the slot, like cards.
                    let holiday = holiday.map(str::to_string);
                    let content = Content::Promo { promo: i, holiday };
                    (Some((Vec::new(), content)), Some(pr.id.clone()))
                }
            };
            if let Some((products, content)) = block {
                d.blocks.push(BlockReport {
                    slot: slot.name.clone(),
                    block: kind,
                    products: products.clone(),
                    promo: promo.clone(),
                });
                fills.push(Fill {
                    slot: i,
                    kind,
                    promo,
                    products,
                    content,
                });
            }
        }
    } else if explain {
        d.reasons.push(if v.assignment.personalized {
            "no country pack".into()
        } else {
            format!(
                "{}: the origin's page",
                v.assignment.label.split(',').next().unwrap_or("control")
            )
        });
    }
    if fills.is_empty() {
        return (None, d);
    }
    let personal = Personal {
        shown: fills.iter().map(|_| Cell::new(false)).collect(),
        rendered: fills.iter().map(|_| OnceCell::new()).collect(),
        fills,
        visitor: v.id,
        arm: v.assignment.label.clone(),
        segment: segment_key,
        path: ctx.path.clone(),
        site: Rc::clone(site),
        l10n: l10n_rc.cloned(),
        locale: locale.to_string(),
    };
    (Some(personal), d)
}

impl Personal {
    /// The exposure log line for the blocks the page actually showed.
    pub fn exposure(&self, slots: &[CompiledSlot]) -> Option<String> {
        let blocks: Vec<serde_json::Value> = self
            .fills
            .iter()
            .zip(&self.shown)
            .filter(|(_, s)| s.get())
            .map(|(f, _)| {
                serde_json::json!({
                    "slot": slots.get(f.slot).map_or("", |s| s.name.as_str()),
                    "block": f.kind,
                    "promo": f.promo,
                    "products": f.products,
                })
            })
            .collect();
        if blocks.is_empty() {
            return None;
        }
        Some(
            serde_json::json!({
                "event": "exposure",
                "visitor": self.visitor,
                "arm": self.arm,
                "segment": self.segment,
                "path": self.path,
                "blocks": blocks,
            })
            .to_string(),
        )
    }

    /// The blocks as the explain endpoint shows them.
    pub fn explain_blocks(&self, slots: &[CompiledSlot]) -> serde_json::Value {
        self.fills
            .iter()
            .enumerate()
            .map(|(i, f)| {
                serde_json::json!({
                    "slot": slots.get(f.slot).map_or("", |s| s.name.as_str()),
                    "block": f.kind,
                    "promo": f.promo,
                    "products": f.products,
                    "html": self.html(i).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Fill `i`'s markup, rendered the first time its slot is found.
    pub fn html(&self, i: usize) -> Option<&str> {
        self.rendered
            .get(i)?
            .get_or_init(|| self.render(i))
            .as_deref()
    }

    fn render(&self, i: usize) -> Option<String> {
        let f = self.fills.get(i)?;
        let r = render_with(&self.site, self.l10n.as_deref(), &self.locale, &self.arm);
        let (heading, from) = match &f.content {
            Content::Promo { promo, holiday } => {
                let p = self.site.doc.personalization.as_ref()?;
                let pr = p.promos.get(*promo)?;
                return Some(promo_html(pr, holiday.as_deref(), self.l10n.as_deref(), &r).html);
            }
            Content::Cards { heading, from } => (heading, from),
        };
        let list: Vec<&Card> = f.products.iter().filter_map(|id| from.card(id)).collect();
        blocks::cards(f.kind, heading, &list, &r).map(|b| b.html)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::time::parse_rfc3339;
    use crate::config;
    use crate::page::report::Decided;
    use crate::page::sim::{Shop, Visit};
    use crate::page::values::Kind;
    use crate::schema::{CurrencyPattern, CurrencyRef, Dictionary, FxRates, MoneyFormats};
    use std::collections::BTreeMap;

    const PZ: &str = r#"{
        "slots": {
            "recommendations": {"block": "segment"},
            "recently-viewed": {"block": "recently-viewed"},
            "also-bought": {"block": "also-bought"},
            "promo": {"block": "promo", "select": ".hero-promo"}
        },
        "cards": 3,
        "product_path": "/p/{id}",
        "promos": [
            {"id": "holiday", "text": "promo.holiday", "link": "/c/gifts", "when": {"holiday": true}},
            {"id": "winter-coats", "text": "Warm coats for cold evenings", "link": "/c/coats",
             "when": {"seasons": ["winter"], "dayparts": ["evening", "night"]}},
            {"id": "beach", "text": "Summer picnic sets", "when": {"seasons": ["summer"], "hemispheres": ["south"], "dates": ["12-01..02-28"]}},
            {"id": "morning", "text": "Fresh mornings", "when": {"dayparts": ["morning"]}}
        ],
        "holidays": {"DE": {"12-24": "Heiligabend"}}
    }"#;

    fn site_with(pz: &str) -> String {
        format!(
            r#"{{"version":1,"bundle":"t","site":{{"default_locale":"en-GB","currency":"GBP"}},
                "localization":{{"locales":["en-GB","de-DE","ja-JP"],"currencies":["GBP","EUR","JPY"]}},
                "personalization":{pz}}}"#
        )
    }

    fn card(id: &str, title: &str, category: &str) -> Card {
        Card {
            id: id.into(),
            title: BTreeMap::from([
                ("en-GB".into(), title.into()),
                ("de".into(), format!("DE {title}")),
            ]),
            category: category.into(),
            price: "2.55".into(),
            currency: "GBP".into(),
            image: format!("/img/{id}.svg"),
            url: format!("/p/{id}"),
        }
    }

    fn pack(country: &str) -> CountryPack {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        CountryPack {
            country: country.into(),
            segments: BTreeMap::from([
                (
                    format!("{country}:*:evening:*:winter"),
                    ids(&["m1", "m2", "c1", "m3"]),
                ),
                (format!("{country}:*:*:*:*"), ids(&["c1", "c2", "m1"])),
                ("*:*:*:*:*".into(), ids(&["m3"])),
            ]),
            trending: ids(&["c2"]),
            also_bought: BTreeMap::from([("m1".into(), ids(&["c2", "m1", "m3"]))]),
            cards: [
                card("m1", "Mug", "Kitchen"),
                card("m2", "Jar", "Kitchen"),
                card("m3", "Bowl", "Kitchen"),
                card("c1", "Candle", "Candles & Lights"),
                card("c2", "Lantern", "Candles & Lights"),
            ]
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect(),
        }
    }

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn ctx(country: &str, offset: i32, now: &str, cookie: &str, path: &str) -> Visit {
        let mut v = Visit::get(path, country)
            .header(
                "user-agent",
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148",
            )
            .header("cookie", cookie);
        v.cf = format!("country:{country}\ttimezone:Z/Z");
        v.now_ms = parse_rfc3339(now).unwrap();
        v.tz_offset = Some(offset);
        v.fresh_id = Some(ID.to_string());
        v.chunk = 7;
        v
    }

    struct Out {
        d: Decided,
        cookies: Vec<String>,
        html: String,
        exposure: Option<String>,
    }

    fn dict() -> Dictionary {
        // Prices print as `2.94 EUR`: one pattern, the code as symbol.
        let pattern = CurrencyPattern {
            pos_prefix: String::new(),
            pos_suffix: " ¤".into(),
            neg_prefix: "-".into(),
            neg_suffix: " ¤".into(),
            decimal: ".".into(),
            group: ",".into(),
            primary: 0,
            secondary: 0,
            min_grouping: 1,
            zero: "0".into(),
            digits: 2,
        };
        let currencies = ["GBP", "EUR", "JPY"].map(|c| {
            (
                c.to_string(),
                CurrencyRef {
                    format: 0,
                    symbol: c.into(),
                },
            )
        });
        Dictionary {
            locale: "de-DE".into(),
            entries: BTreeMap::from([
                ("blocks.popular_here".into(), "Beliebt in Ihrem Land".into()),
                ("promo.holiday".into(), "Frohe {holiday}!".into()),
            ]),
            money: Some(MoneyFormats {
                formats: vec![pattern],
                currencies: BTreeMap::from(currencies),
            }),
        }
    }

    /// One request through the page pipeline; the same dictionary serves
    /// every locale.
    fn run(
        site: &str,
        v: &Visit,
        pk: Option<&CountryPack>,
        gpc: Option<&str>,
        dict: Dictionary,
        page: &str,
    ) -> Out {
        let fx = FxRates {
            base: "GBP".into(),
            as_of: "2026-12-24T00:00:00Z".into(),
            rates: BTreeMap::from([("EUR".into(), 1.15), ("JPY".into(), 190.0)]),
        };
        let mut shop = Shop::new(site);
        for l in ["en-GB", "de-DE", "ja-JP"] {
            shop = shop.value(
                &format!("b/t/dict/{l}"),
                Kind::Dict,
                &serde_json::to_string(&dict).unwrap(),
            );
        }
        shop = shop.value(
            "b/t/fx/rates",
            Kind::Fx,
            &serde_json::to_string(&fx).unwrap(),
        );
        // The pack serves every visitor: its own country's key and the global one.
        if let Some(pk) = pk {
            for c in [pk.country.as_str(), "ZZ"] {
                let key = format!("b/t/country/{c}");
                shop = shop.value(&key, Kind::Pack, &serde_json::to_string(pk).unwrap());
            }
        }
        let mut v = v.clone();
        if let Some(g) = gpc {
            v = v.header("sec-gpc", g);
        }
        let out = shop.page(&v, page);
        let d = serde_json::from_value(out.report()["decisions"].clone()).unwrap();
        let exposure = out
            .logs
            .iter()
            .find(|l| !l.error && l.line.contains("\"exposure\""))
            .map(|l| l.line.clone());
        Out {
            d,
            cookies: out
                .header_all("set-cookie")
                .iter()
                .map(|c| c.to_string())
                .collect(),
            html: out.text(),
            exposure,
        }
    }

    const PAGE: &str = r#"<html><body><div data-borderless-slot="promo"></div><aside class="hero-promo">x</aside><section data-borderless-slot="recommendations">fallback</section><section data-borderless-slot="also-bought"></section><section data-borderless-slot="recently-viewed"></section></body></html>"#;

    const CONSENT: &str = "borderless_consent=yes";

    #[test]
    fn de_evening_blocks_cookies_and_exposure() {
        let site = site_with(PZ);
        // 19:30 in Berlin on 24 December: evening, winter, a holiday.
        let c = ctx("DE", 60, "2026-12-24T18:30:00Z", CONSENT, "/");
        let o = run(&site, &c, Some(&pack("DE")), None, dict(), PAGE);
        assert_eq!(o.d.experiment_arm.as_deref(), Some("default"));
        assert_eq!(
            o.d.segment.as_deref(),
            Some("DE:mobile:evening:weekday:winter")
        );
        assert_eq!(o.d.segment_used.as_deref(), Some("DE:*:evening:*:winter"));
        assert_eq!(
            o.d.reasons[0],
            "country DE, mobile, evening, weekday, winter"
        );
        assert!(o.d.reasons.contains(
            &"fell back from DE:mobile:evening:weekday:winter to DE:*:evening:*:winter".to_string()
        ));
        assert!(
            o.d.reasons
                .contains(&"promo holiday (holiday Heiligabend)".to_string()),
            "{:?}",
            o.d.reasons
        );
        assert_eq!(
            o.cookies,
            [format!(
                "borderless_vid={ID}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly; Secure"
            )]
        );
        assert!(o.html.contains(r#"<section data-borderless-slot="recommendations"><div class="borderless-block borderless-segment" role="region" aria-label="Beliebt in Ihrem Land" data-borderless-block="segment" data-borderless-arm="default" data-borderless-products="m1 m2 c1"><h2 class="borderless-heading">Beliebt in Ihrem Land</h2>"#), "{}", o.html);
        // Localized title and converted price.
        assert!(o.html.contains(r#"<span class="borderless-title">DE Mug</span></a> <span class="borderless-price">2.94 EUR</span>"#), "{}", o.html);
        // The promo fills both its slot and the configured selector.
        assert_eq!(
            o.html.matches("data-borderless-promo=\"holiday\"").count(),
            2
        );
        assert!(o
            .html
            .contains(r#"<a href="/c/gifts">Frohe Heiligabend!</a>"#));
        // No product page, no profile: those slots stay as they were.
        assert!(o.html.contains(r#"<section data-borderless-slot="also-bought"></section><section data-borderless-slot="recently-viewed"></section>"#));
        let ex: serde_json::Value = serde_json::from_str(&o.exposure.unwrap()).unwrap();
        assert_eq!(ex["event"], "exposure");
        assert_eq!(ex["visitor"], ID);
        assert_eq!(ex["arm"], "default");
        assert_eq!(ex["blocks"].as_array().unwrap().len(), 2);
        assert_eq!(
            ex["blocks"][1]["products"],
            serde_json::json!(["m1", "m2", "c1"])
        );
    }

    #[test]
    fn other_places_and_times_get_other_blocks() {
        let site = site_with(PZ);
        // 09:00 in Tokyo: morning; the country's list.
        let jp = run(
            &site,
            &ctx("JP", 540, "2026-12-24T00:00:00Z", "", "/"),
            Some(&pack("JP")),
            None,
            Dictionary::default(),
            PAGE,
        );
        assert_eq!(jp.d.segment_used.as_deref(), Some("JP:*:*:*:*"));
        assert!(
            jp.html.contains(r#"data-borderless-products="c1 c2 m1""#),
            "{}",
            jp.html
        );
        assert!(jp.html.contains("Fresh mornings") && !jp.html.contains("coats"));
        assert!(
            jp.html.contains(">Popular in your country<"),
            "English fallback heading"
        );
        // Sydney, December evening: summer, no winter coats; global pack.
        let au = run(
            &site,
            &ctx("AU", 660, "2026-12-24T08:00:00Z", "", "/"),
            Some(&pack("ZZ")),
            None,
            Dictionary::default(),
            PAGE,
        );
        assert_eq!(
            au.d.segment.as_deref(),
            Some("AU:mobile:evening:weekday:summer")
        );
        assert!(au
            .d
            .reasons
            .contains(&"no pack for AU: the global pack".to_string()));
        assert!(
            au.html.contains("Summer picnic sets") && !au.html.contains("coats"),
            "{}",
            au.html
        );
        assert!(au.html.contains(r#"data-borderless-products="m3""#));
    }

    #[test]
    fn product_views_build_the_profile() {
        let site = site_with(PZ);
        let pk = pack("DE");
        let mut jar = format!("{CONSENT}; borderless_vid={ID}");
        for id in ["m1", "c1", "c2"] {
            let o = run(
                &site,
                &ctx("DE", 60, "2026-12-24T18:30:00Z", &jar, &format!("/p/{id}")),
                Some(&pk),
                None,
                dict(),
                PAGE,
            );
            assert_eq!(o.cookies.len(), 1, "{:?}", o.cookies);
            let v = o.cookies[0].split(';').next().unwrap();
            assert!(v.starts_with("borderless_profile="));
            jar = format!("{CONSENT}; borderless_vid={ID}; {v}");
            if id == "m1" {
                // Also bought with m1, without m1 itself.
                assert!(o.html.contains(r#"data-borderless-block="also-bought" data-borderless-arm="default" data-borderless-products="c2 m3""#), "{}", o.html);
                assert_eq!(o.d.segment_used.as_deref(), Some("DE:*:evening:*:winter"));
                assert!(!o.html.contains(r#"data-borderless-products="m1 "#));
            }
        }
        assert!(
            jar.ends_with("borderless_profile=v1~499482~c2.c1.m1~candles-lights:200.kitchen:100"),
            "{jar}"
        );
        let o = run(
            &site,
            &ctx("DE", 60, "2026-12-24T18:30:00Z", &jar, "/"),
            Some(&pk),
            None,
            dict(),
            PAGE,
        );
        assert!(o.cookies.is_empty());
        assert_eq!(o.d.profile.as_deref(), Some("read"));
        assert!(o.html.contains(r#"data-borderless-block="recently-viewed" data-borderless-arm="default" data-borderless-products="c2 c1 m1""#), "{}", o.html);
        // The top category leads the segment picks.
        assert_eq!(
            o.d.segment.as_deref(),
            Some("DE:mobile:evening:weekday:winter+candles-lights")
        );
        assert!(
            o.html.contains(r#"data-borderless-products="c1 m1 m2""#),
            "{}",
            o.html
        );
    }

    #[test]
    fn consent_gpc_and_holdout() {
        let site = site_with(PZ);
        let pk = pack("DE");
        // EU without consent: control, no cookies, the page as it came (localized).
        let o = run(
            &site,
            &ctx("DE", 60, "2026-12-24T18:30:00Z", "", "/p/m1"),
            Some(&pk),
            None,
            dict(),
            PAGE,
        );
        assert_eq!(o.d.cookies, Some(Cookies::NoConsent));
        assert_eq!(o.d.experiment_arm.as_deref(), Some("control"));
        assert!(o.cookies.is_empty() && o.d.blocks.is_empty() && o.exposure.is_none());
        assert!(o
            .html
            .contains(r#"<section data-borderless-slot="recommendations">fallback</section>"#));
        // GPC: the same, even with consent and old cookies.
        let jar = format!("{CONSENT}; borderless_vid={ID}; borderless_profile=v1~494418~m1~");
        let o = run(
            &site,
            &ctx("JP", 540, "2026-12-24T00:00:00Z", &jar, "/p/m2"),
            Some(&pk),
            Some("1"),
            dict(),
            PAGE,
        );
        assert_eq!(o.d.cookies, Some(Cookies::Gpc));
        assert_eq!(o.d.profile.as_deref(), Some("not_allowed"));
        assert!(o.cookies.is_empty() && o.d.blocks.is_empty());
        // Holdout: everyone, here.
        let held = site_with(&PZ.replacen("\"cards\": 3,", "\"cards\": 3, \"holdout\": 1,", 1));
        let o = run(
            &held,
            &ctx("JP", 540, "2026-12-24T00:00:00Z", &jar, "/"),
            Some(&pk),
            None,
            dict(),
            PAGE,
        );
        assert_eq!(o.d.experiment_arm.as_deref(), Some("holdout"));
        assert!(o.d.blocks.is_empty() && o.exposure.is_none());
        assert!(!o.html.contains("borderless-block"));
        // An experiment arm swaps a slot's block.
        let exp = site_with(&PZ.replacen(
            "\"cards\": 3,",
            r#""cards": 3, "experiments": [{"name": "recs", "arms": [{"name": "trending", "weight": 1, "slots": {"recommendations": "trending"}}]}],"#,
            1,
        ));
        let o = run(
            &exp,
            &ctx("JP", 540, "2026-12-24T00:00:00Z", &jar, "/"),
            Some(&pk),
            None,
            dict(),
            PAGE,
        );
        assert_eq!(o.d.experiment_arm.as_deref(), Some("recs:trending"));
        assert!(o.html.contains(r#"data-borderless-block="trending" data-borderless-arm="recs:trending" data-borderless-products="c2""#), "{}", o.html);
    }

    #[test]
    fn config_validation() {
        for bad in [
            r#"{"slots":{"switcher":{"block":"segment"}}}"#,
            r#"{"slots":{"Bad Name":{"block":"segment"}}}"#,
            r#"{"slots":{"a":{"block":"segment","select":"div["}}}"#,
            r#"{"slots":{"a":{"block":"nope"}}}"#,
            r#"{"slots":{},"cards":0}"#,
            r#"{"slots":{},"holdout":1.5}"#,
            r#"{"slots":{},"product_path":"p/{id}"}"#,
            r#"{"slots":{},"product_path":"/p/"}"#,
            r#"{"slots":{},"card_template":"<li onclick=x>{title}</li>"}"#,
            r#"{"slots":{},"experiments":[{"name":"x","arms":[]}]}"#,
            r#"{"slots":{},"experiments":[{"name":"x","arms":[{"name":"a","weight":0}]}]}"#,
            r#"{"slots":{},"experiments":[{"name":"x","arms":[{"name":"a","weight":1,"slots":{"zz":"segment"}}]}]}"#,
            r#"{"slots":{},"consent":{"cookie":"a;b"}}"#,
            r#"{"slots":{},"promos":[{"id":"p","text":"t","link":"javascript:alert(1)"}]}"#,
            r#"{"slots":{},"promos":[{"id":"p","text":"t","link":"//evil.test/"}]}"#,
            r#"{"slots":{},"promos":[{"id":"p","text":"t","when":{"seasons":["monsoon"]}}]}"#,
            r#"{"slots":{},"promos":[{"id":"p","text":"t","when":{"dates":["13-01"]}}]}"#,
            r#"{"slots":{},"holidays":{"DE":{"2026-12-24":"x"}}}"#,
            r#"{"slots":{},"surprise":1}"#,
        ] {
            let doc = format!(
                r#"{{"version":1,"bundle":"t","site":{{"default_locale":"en-GB","currency":"GBP"}},"personalization":{bad}}}"#
            );
            assert!(config::parse(&doc).is_err(), "{bad}");
        }
        let s = config::parse(&site_with(PZ)).unwrap();
        let c = s.personal.as_ref().unwrap();
        use crate::config::personal::product_of;
        assert_eq!(product_of(c, "/p/85123A"), Some("85123A"));
        assert_eq!(product_of(c, "/p/<x>"), None);
        assert_eq!(product_of(c, "/c/x"), None);
    }

    /// Every element and attribute of `html`, checked for anything a
    /// browser would run: script elements, event handler attributes,
    /// `javascript:`/`data:` URLs, inline styles or frames.
    fn executable(html: &str) -> Vec<String> {
        use lol_html::{element, HtmlRewriter, Settings};
        let found = std::cell::RefCell::new(Vec::new());
        let mut rw = HtmlRewriter::new(
            Settings::new().append_element_content_handler(element!("*", |el| {
                let tag = el.tag_name();
                if [
                    "script", "iframe", "object", "embed", "style", "svg", "math", "base", "meta",
                    "link", "form",
                ]
                .contains(&tag.as_str())
                {
                    found.borrow_mut().push(format!("<{tag}>"));
                }
                for a in el.attributes() {
                    let (n, v) = (a.name(), a.value().trim().to_ascii_lowercase());
                    let url_attr = [
                        "href",
                        "src",
                        "action",
                        "formaction",
                        "srcset",
                        "xlink:href",
                    ]
                    .contains(&n.as_str());
                    if n.starts_with("on")
                        || n == "style"
                        || (url_attr && !(v.starts_with('/') || v.starts_with("http")))
                    {
                        found.borrow_mut().push(format!("<{tag} {n}={v:?}>"));
                    }
                }
                Ok(())
            })),
            |_: &[u8]| {},
        );
        rw.write(html.as_bytes()).unwrap();
        rw.end().unwrap();
        found.into_inner()
    }

    /// OWASP XSS filter evasion cheat sheet style payloads.
    pub(crate) const XSS: &[&str] = &[
        "<script>alert(1)</script>",
        "<SCRIPT SRC=https://xss.test/xss.js></SCRIPT>",
        "<IMG SRC=\"javascript:alert('XSS');\">",
        "<IMG SRC=javascript:alert('XSS')>",
        "<IMG SRC=JaVaScRiPt:alert('XSS')>",
        "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
        "<a onmouseover=\"alert(document.cookie)\">xxs link</a>",
        "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\"\\>",
        "<IMG SRC=# onmouseover=\"alert('xxs')\">",
        "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
        "<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041\">",
        "<IMG SRC=\"jav\tascript:alert('XSS');\">",
        "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
        "<SCRIPT/XSS SRC=\"http://xss.rocks/xss.js\"></SCRIPT>",
        "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>",
        "<<SCRIPT>alert(\"XSS\");//\\<</SCRIPT>",
        "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
        "<svg/onload=alert('XSS')>",
        "\"><script>alert(1)</script>",
        "'><img src=x onerror=alert(1)>",
        "</title><script>alert(1)</script>",
        "</textarea><script>alert(1)</script>",
        "--><script>alert(1)</script><!--",
        "<![CDATA[<script>alert(1)</script>]]>",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "<div style=\"background:url(javascript:alert(1))\">",
        "<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
        "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
        "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
        "%3Cscript%3Ealert(1)%3C/script%3E",
        "\u{FF1C}script\u{FF1E}alert(1)\u{FF1C}/script\u{FF1E}",
        "{title}{price}{{id}}",
        "\u{0}<script>alert(1)</script>",
    ];

    #[test]
    fn xss_corpus_never_executes() {
        let base = site_with(PZ);
        assert!(executable(PAGE).is_empty());
        for (i, x) in XSS.iter().enumerate() {
            // In the catalog: titles, categories, URLs, images, ids, prices.
            let mut pk = pack("DE");
            for c in pk.cards.values_mut() {
                c.title.insert("de".into(), x.to_string());
                c.title.insert("en-GB".into(), x.to_string());
                c.category = x.to_string();
            }
            let m1 = pk.cards.get_mut("m1").unwrap();
            m1.url = x.to_string();
            m1.image = x.to_string();
            let m2 = pk.cards.get_mut("m2").unwrap();
            m2.price = x.to_string();
            m2.currency = x.to_string();
            m2.image = format!("/img/{x}");
            pk.cards.insert(x.to_string(), card(x, x, x));
            pk.segments
                .values_mut()
                .for_each(|v| v.insert(0, x.to_string()));
            // In the dictionary: headings and promo texts.
            let mut dict = dict();
            for v in dict.entries.values_mut() {
                *v = format!("{x}{{holiday}}");
            }
            // In the config: headings and holiday names (literal text).
            let site = site_with(
                &PZ.replace(r#""Heiligabend""#, &serde_json::to_string(x).unwrap())
                    .replace(
                        r#""recently-viewed": {"block": "recently-viewed"}"#,
                        &format!(
                            r#""recently-viewed": {{"block": "recently-viewed", "heading": {}}}"#,
                            serde_json::to_string(x).unwrap()
                        ),
                    ),
            );
            // In cookies and the URL.
            let jar = format!(
                "{CONSENT}; borderless_vid={x}; borderless_profile=v1~494418~m1.{x}~; borderless_locale={x}"
            );
            for (s, path) in [
                (&site, "/".to_string()),
                (&base, format!("/p/{x}")),
                (&site, "/p/m1".to_string()),
            ] {
                let o = run(
                    s,
                    &ctx("DE", 60, "2026-12-24T18:30:00Z", &jar, &path),
                    Some(&pk),
                    None,
                    dict.clone(),
                    PAGE,
                );
                assert!(
                    o.html.contains("borderless-block"),
                    "payload {i}: nothing rendered"
                );
                let bad = executable(&o.html);
                assert!(bad.is_empty(), "payload {i} {x:?}: {bad:?}\n{}", o.html);
                for c in &o.cookies {
                    assert!(!c.contains(x), "payload {i} in cookie {c}");
                }
            }
        }
    }
}
