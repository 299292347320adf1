//! The visitor's segment (country × device × daypart × day kind × season,
//! plus the profile's top category) and the choice of a precomputed list
//! from the country's pack, with the reasons for the preview.

use crate::decide::profile;
use crate::request::Context;
use crate::schema::{segment_chain, segment_key, CountryPack, ANY, GLOBAL_COUNTRY};

#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// `DE:mobile:evening:weekday:winter`, plus `+kitchen` with a top category.
    pub key: String,
    /// Keys to try, most specific first, down to the global segment.
    pub chain: Vec<String>,
    pub category: Option<String>,
}

impl Segment {
    /// The visitor's segment key alone (the event lines'), without the
    /// fallback chain that [`Segment::of`] builds.
    pub fn key_of(ctx: &Context) -> String {
        let [country, device, daypart, day_kind, season] = dims(ctx);
        segment_key(country, device, daypart, day_kind, season)
    }

    /// `pack_country` is the pack at hand: the visitor's country, or `ZZ`
    /// (then the chain runs over all countries, `*`).
    pub fn of(ctx: &Context, pack_country: &str, category: Option<&str>) -> Segment {
        let [country, device, daypart, day_kind, season] = dims(ctx);
        let chain_country = if pack_country == GLOBAL_COUNTRY {
            ANY
        } else {
            country
        };
        let mut chain: Vec<String> = Vec::with_capacity(6);
        for k in segment_chain(chain_country, device, daypart, day_kind, season) {
            if !chain.contains(&k) {
                chain.push(k);
            }
        }
        let mut key = segment_key(country, device, daypart, day_kind, season);
        if let Some(c) = category {
            key.push('+');
            key.push_str(c);
        }
        Segment {
            key,
            chain,
            category: category.map(str::to_string),
        }
    }

    /// `country DE, mobile, evening, weekday, winter`, for the preview.
    pub fn summary(ctx: &Context) -> String {
        let [country, device, daypart, day_kind, season] = dims(ctx);
        format!("country {country}, {device}, {daypart}, {day_kind}, {season}")
    }
}

/// Country, device, daypart, day kind and season: a segment's dimensions.
fn dims(ctx: &Context) -> [&str; 5] {
    let t = &ctx.time;
    [
        &ctx.geo.country,
        ctx.device.as_str(),
        t.daypart.as_str(),
        t.day_kind.as_str(),
        t.season.as_str(),
    ]
}

/// A list chosen for a block.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick<'p> {
    /// The pack key the list came from.
    pub key: &'p str,
    pub ids: Vec<&'p str>,
    pub reasons: Vec<String>,
}

/// The first segment of the chain the pack has a list for, with the
/// visitor's top category first; at most `n` ids with a card, none of
/// `exclude`.
pub fn pick<'p>(
    pack: &'p CountryPack,
    seg: &Segment,
    n: usize,
    exclude: &[&str],
) -> Option<Pick<'p>> {
    let (key, list) = seg
        .chain
        .iter()
        .find_map(|k| pack.segments.get_key_value(k.as_str()))?;
    let mut reasons = Vec::with_capacity(2);
    let first = seg.chain.first().map_or("", |f| f.as_str());
    if key.as_str() == first {
        reasons.push(format!("segment {key}"));
    } else {
        reasons.push(format!("fell back from {first} to {key}"));
    }
    let usable =
        |id: &&String| pack.cards.contains_key(id.as_str()) && !exclude.contains(&id.as_str());
    let mut ids: Vec<&str> = Vec::with_capacity(n);
    if let Some(cat) = &seg.category {
        let in_cat = |id: &&String| {
            pack.cards
                .get(id.as_str())
                .and_then(|c| profile::slug(&c.category))
                .as_deref()
                == Some(cat.as_str())
        };
        ids.extend(
            list.iter()
                .filter(usable)
                .filter(in_cat)
                .take(n)
                .map(String::as_str),
        );
        if !ids.is_empty() {
            reasons.push(format!("top category {cat} first"));
        }
    }
    for id in list.iter().filter(usable) {
        if ids.len() >= n {
            break;
        }
        if !ids.contains(&id.as_str()) {
            ids.push(id);
        }
    }
    Some(Pick { key, ids, reasons })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::time::parse_rfc3339;
    use crate::request::Overrides;
    use crate::request::{Geo, Head};
    use crate::schema::Card;
    use std::collections::BTreeMap;

    fn ctx(country: &str, tz_offset: i32, now: &str, device: &str) -> Context {
        let ov = Overrides {
            country: Some(country.into()),
            device: crate::request::Device::parse(device),
            ..Overrides::default()
        };
        let geo = Geo {
            timezone: Some("Z/Z".into()),
            ..Geo::default()
        };
        Context::new(
            geo,
            &Head::default(),
            parse_rfc3339(now).unwrap(),
            &ov,
            &|_, _| Some(tz_offset),
        )
    }

    fn card(id: &str, category: &str) -> Card {
        Card {
            id: id.into(),
            title: BTreeMap::from([("en-GB".into(), id.into())]),
            category: category.into(),
            price: "1.00".into(),
            currency: "GBP".into(),
            image: format!("/i/{id}.svg"),
            url: format!("/p/{id}"),
        }
    }

    fn pack() -> CountryPack {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        CountryPack {
            country: "DE".into(),
            segments: BTreeMap::from([
                (
                    "DE:*:evening:*:winter".into(),
                    ids(&["a", "b", "c", "d", "x"]),
                ),
                ("DE:*:*:*:*".into(), ids(&["d", "c"])),
                ("*:*:*:*:*".into(), ids(&["e"])),
            ]),
            trending: vec![],
            also_bought: BTreeMap::new(),
            cards: ["a", "b", "c", "d", "e"]
                .iter()
                .map(|id| {
                    let cat = if *id == "c" {
                        "Candles & Lights"
                    } else {
                        "Kitchen"
                    };
                    (id.to_string(), card(id, cat))
                })
                .collect(),
        }
    }

    #[test]
    fn key_chain_and_fallback() {
        // 18:30 UTC + 60 min: Thursday evening in December.
        let c = ctx("DE", 60, "2026-12-24T18:30:00Z", "mobile");
        let s = Segment::of(&c, "DE", None);
        assert_eq!(s.key, "DE:mobile:evening:weekday:winter");
        assert_eq!(s.chain.len(), 6);
        assert_eq!(
            Segment::summary(&c),
            "country DE, mobile, evening, weekday, winter"
        );
        let p = pack();
        let got = pick(&p, &s, 3, &["b"]).unwrap();
        assert_eq!(got.key, "DE:*:evening:*:winter");
        assert_eq!(got.ids, ["a", "c", "d"]);
        assert_eq!(
            got.reasons,
            ["fell back from DE:mobile:evening:weekday:winter to DE:*:evening:*:winter"]
        );
        // The top category goes first; ids without a card are skipped.
        let s = Segment::of(&c, "DE", Some("candles-lights"));
        assert_eq!(s.key, "DE:mobile:evening:weekday:winter+candles-lights");
        let got = pick(&p, &s, 10, &[]).unwrap();
        assert_eq!(got.ids, ["c", "a", "b", "d"]);
        assert_eq!(got.reasons[1], "top category candles-lights first");
        // Morning: the country as a whole.
        let m = ctx("DE", 60, "2026-12-24T08:30:00Z", "desktop");
        assert_eq!(
            pick(&p, &Segment::of(&m, "DE", None), 5, &[]).unwrap().ids,
            ["d", "c"]
        );
    }

    #[test]
    fn global_pack_uses_the_all_countries_chain() {
        let c = ctx("NZ", 780, "2026-12-24T08:30:00Z", "desktop");
        let s = Segment::of(&c, "ZZ", None);
        assert!(s.chain.iter().all(|k| k.starts_with("*:")), "{:?}", s.chain);
        assert_eq!(s.key, "NZ:desktop:morning:weekday:summer");
        let p = pack();
        let got = pick(&p, &s, 5, &[]).unwrap();
        assert_eq!(
            (got.key, got.ids.as_slice()),
            ("*:*:*:*:*", ["e"].as_slice())
        );
        let empty = CountryPack {
            segments: BTreeMap::new(),
            ..pack()
        };
        assert_eq!(pick(&empty, &s, 5, &[]), None);
    }
}
