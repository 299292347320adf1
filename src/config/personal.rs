//! The `personalization` section of the site config: validated once, slot
//! selectors compiled, the card template parsed.

use crate::base::ids::{is_token, valid_country, valid_id};
use crate::base::url::safe_url;
use crate::config::card::CardTemplate;
use crate::schema::Personalization;
use lol_html::Selector;

/// The personalization config, validated, with selectors compiled.
#[derive(Debug)]
pub struct Compiled {
    pub slots: Vec<CompiledSlot>,
    pub template: Option<CardTemplate>,
    /// `product_path` split around `{id}`.
    pub product_path: Option<(String, String)>,
    /// The order confirmation page, when conversions are read from it.
    pub conversion: Option<std::rc::Rc<crate::plan::conversion::SiteConversion>>,
}

#[derive(Debug)]
pub struct CompiledSlot {
    pub name: String,
    pub selector: Selector,
}

const DAYPARTS: [&str; 4] = ["night", "morning", "afternoon", "evening"];
const DAY_KINDS: [&str; 2] = ["weekday", "weekend"];
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const SEASONS: [&str; 4] = ["winter", "spring", "summer", "autumn"];
const HEMISPHERES: [&str; 2] = ["north", "south"];

/// `MM-DD` as (month, day).
pub(crate) fn month_day(s: &str) -> Option<(u8, u8)> {
    let (m, d) = s.split_once('-')?;
    if m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (m, d): (u8, u8) = (m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((m, d))
}

/// `MM-DD` or `MM-DD..MM-DD`.
pub(crate) fn date_range(s: &str) -> Option<((u8, u8), (u8, u8))> {
    match s.split_once("..") {
        Some((a, b)) => Some((month_day(a)?, month_day(b)?)),
        None => month_day(s).map(|d| (d, d)),
    }
}

/// Validates `personalization` and compiles its slots.
pub fn compile(p: &Personalization) -> Result<Compiled, String> {
    let e = |m: String| format!("personalization.{m}");
    if p.slots.len() > 16 {
        return Err(e("slots: at most 16".into()));
    }
    let mut slots = Vec::with_capacity(p.slots.len());
    for (name, slot) in &p.slots {
        let ok = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && name != "switcher";
        if !ok {
            return Err(e(format!(
                "slots: name {name:?} must be 1-32 of [a-z0-9-] and not \"switcher\""
            )));
        }
        let mut sel = format!("[data-borderless-slot=\"{name}\"]");
        if let Some(extra) = &slot.select {
            sel.push_str(", ");
            sel.push_str(extra);
        }
        let selector = sel
            .parse()
            .map_err(|err| e(format!("slots.{name}.select {:?}: {err}", slot.select)))?;
        if slot.heading.as_ref().is_some_and(|h| h.len() > 256) {
            return Err(e(format!("slots.{name}.heading: at most 256 bytes")));
        }
        slots.push(CompiledSlot {
            name: name.clone(),
            selector,
        });
    }
    if !(1..=12).contains(&p.cards) {
        return Err(e("cards: 1..=12".into()));
    }
    let template = match &p.card_template {
        Some(t) => Some(CardTemplate::parse(t).map_err(|err| e(format!("card_template: {err}")))?),
        None => None,
    };
    let product_path = match &p.product_path {
        Some(pp) => {
            let (pre, post) = pp
                .split_once("{id}")
                .filter(|(pre, post)| pre.starts_with('/') && !post.contains("{id}"))
                .ok_or_else(|| {
                    e(format!(
                        "product_path {pp:?} must start with '/' and hold one {{id}}"
                    ))
                })?;
            Some((pre.to_string(), post.to_string()))
        }
        None => None,
    };
    if !(p.holdout.is_finite() && (0.0..=1.0).contains(&p.holdout)) {
        return Err(e("holdout: a share from 0 to 1".into()));
    }
    if p.experiments.len() > 8 {
        return Err(e("experiments: at most 8".into()));
    }
    for (i, x) in p.experiments.iter().enumerate() {
        let bad = !is_token(&x.name, 32)
            || p.experiments.iter().take(i).any(|y| y.name == x.name)
            || x.arms.is_empty()
            || x.arms.len() > 8
            || x.arms.iter().map(|a| u64::from(a.weight)).sum::<u64>() == 0;
        if bad {
            return Err(e(format!(
                "experiments[{i}]: a unique name of [A-Za-z0-9._-] and 1-8 arms with weights"
            )));
        }
        for (j, a) in x.arms.iter().enumerate() {
            if !is_token(&a.name, 32) || x.arms.iter().take(j).any(|b| b.name == a.name) {
                return Err(e(format!(
                    "experiments[{i}].arms[{j}]: bad or repeated name"
                )));
            }
            if let Some(s) = a.slots.keys().find(|s| !p.slots.contains_key(*s)) {
                return Err(e(format!("experiments[{i}].arms[{j}]: unknown slot {s:?}")));
            }
        }
    }
    let c = &p.consent;
    let cookie_safe = |v: &str| {
        !v.is_empty()
            && v.len() <= 64
            && v.bytes()
                .all(|b| b.is_ascii_graphic() && !b"\";,\\".contains(&b))
    };
    if !is_token(&c.cookie, 64) || !cookie_safe(&c.accept) {
        return Err(e(
            "consent: cookie name and accept value must be cookie tokens".into(),
        ));
    }
    if let Some(cc) = c.countries.iter().find(|cc| !valid_country(cc)) {
        return Err(e(format!("consent.countries: {cc:?}")));
    }
    let hl = p.profile.half_life_days;
    if !(hl.is_finite() && hl > 0.0 && hl <= 3650.0) {
        return Err(e("profile.half_life_days: above 0, at most 3650".into()));
    }
    if p.promos.len() > 64 {
        return Err(e("promos: at most 64".into()));
    }
    for (i, pr) in p.promos.iter().enumerate() {
        if !valid_id(&pr.id) || pr.text.is_empty() || pr.text.len() > 512 {
            return Err(e(format!(
                "promos[{i}]: id of [A-Za-z0-9_-] and 1-512 bytes of text"
            )));
        }
        if let Some(l) = &pr.link {
            if !(safe_url(l) && l.starts_with('/')) {
                return Err(e(format!(
                    "promos[{i}].link {l:?} must be a path on the shop"
                )));
            }
        }
        let w = &pr.when;
        let all_in = |v: &[String], set: &[&str]| v.iter().all(|x| set.contains(&x.as_str()));
        let ok = all_in(&w.dayparts, &DAYPARTS)
            && all_in(&w.day_kinds, &DAY_KINDS)
            && all_in(&w.weekdays, &WEEKDAYS)
            && all_in(&w.seasons, &SEASONS)
            && all_in(&w.hemispheres, &HEMISPHERES)
            && w.countries.iter().all(|c| valid_country(c))
            && w.dates.iter().all(|d| date_range(d).is_some());
        if !ok {
            return Err(e(format!("promos[{i}].when: unknown value")));
        }
    }
    for (cc, days) in &p.holidays {
        let ok = valid_country(cc)
            && days
                .iter()
                .all(|(d, name)| month_day(d).is_some() && !name.is_empty() && name.len() <= 256);
        if !ok {
            return Err(e(format!(
                "holidays.{cc}: a country of MM-DD → name (at most 256 bytes)"
            )));
        }
    }
    if !valid_privacy_path(&p.privacy_path) {
        return Err(e(format!(
            "privacy_path {:?}: a path of [A-Za-z0-9/._-] (2-128 bytes) that is not another Borderless endpoint",
            p.privacy_path
        )));
    }
    let conversion = match &p.conversion {
        Some(c) => {
            let page = crate::config::conversion_page::compile(c).map_err(e)?;
            let selector = match &c.select {
                Some(sel) => Some(
                    sel.parse()
                        .map_err(|err| e(format!("conversion.select: {err}")))?,
                ),
                None => None,
            };
            Some(std::rc::Rc::new(crate::plan::conversion::SiteConversion {
                page,
                selector,
            }))
        }
        None => None,
    };
    Ok(Compiled {
        slots,
        template,
        product_path,
        conversion,
    })
}

/// The privacy page's path: plain, so it compares byte for byte with the
/// request's path, and none of the worker's other endpoints.
fn valid_privacy_path(path: &str) -> bool {
    let taken = [
        crate::plan::l10n::SWITCH_PATH,
        crate::base::conversion::BEACON_PATH,
        crate::page::EXPLAIN_PATH,
    ];
    (2..=128).contains(&path.len())
        && path.starts_with('/')
        && !path.contains("//")
        && !path.contains("..")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
        && !taken.contains(&path)
}

/// The product id of a product page, from the configured path pattern.
pub fn product_of<'a>(c: &Compiled, path: &'a str) -> Option<&'a str> {
    let (pre, post) = c.product_path.as_ref()?;
    let id = path
        .strip_prefix(pre.as_str())?
        .strip_suffix(post.as_str())?;
    valid_id(id).then_some(id)
}
