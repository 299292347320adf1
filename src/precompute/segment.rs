//! The segment of an event, derived exactly as the worker derives a live
//! visitor's (`clock::LocalTime` in the country's zone), and the roll-up
//! along the worker's fallback chain.

use super::events::Event;
use super::intern::Interner;
use super::zones::{self, ZoneCache};
use crate::request::clock::LocalTime;
use crate::request::Device;
use crate::schema::{segment_chain, segment_key, ANY};
use rustc_hash::FxHashMap;

const DAYPARTS: [&str; 4] = ["night", "morning", "afternoon", "evening"];
const DAY_KINDS: [&str; 2] = ["weekday", "weekend"];
const SEASONS: [&str; 4] = ["winter", "spring", "summer", "autumn"];
const DEVICES: [&str; 4] = ["mobile", "tablet", "desktop", "bot"];

/// The most specific segment of an event: `country:device:daypart:day_kind:season`
/// in the visitor's local time; country `*` when unknown (then UTC).
pub fn full_key(ev: &Event, zones: &mut ZoneCache) -> String {
    let country = ev.country.as_deref().unwrap_or(ANY);
    let zone = ev.zone.as_deref().or_else(|| zones::zone_of(country));
    let offset = zone
        .and_then(|z| zones.offset_minutes(z, ev.ts_ms))
        .unwrap_or(0);
    key_at(country, ev.device, ev.ts_ms, offset)
}

fn key_at(country: &str, device: Option<Device>, ts_ms: i64, offset: i32) -> String {
    let t = LocalTime::at(ts_ms, offset, country, zones::southern(country));
    segment_key(
        country,
        device.map_or(ANY, |d| d.as_str()),
        t.daypart.as_str(),
        t.day_kind.as_str(),
        t.season.as_str(),
    )
}

/// A segment holds for a whole quarter hour of UTC when the zone's offset
/// is a multiple of 15 minutes and the same at both ends (every local hour,
/// day and month boundary then falls on a quarter hour).
const SLOT_MS: i64 = 15 * 60 * 1000;

/// [`full_key`], interned, remembered per (country, zone, device) for the
/// current quarter hour: a time-ordered log computes a local time a few
/// times per hour instead of once per event.
#[derive(Default)]
pub struct SegmentCache {
    /// `country\0zone\0device` → index in `slots`.
    index: FxHashMap<String, usize>,
    /// (quarter hour, segment id) last computed per context.
    slots: Vec<(i64, u32)>,
    last: Option<(String, usize)>,
    scratch: String,
}

impl SegmentCache {
    /// The interned id of the event's [`full_key`].
    pub fn id(&mut self, ev: &Event, zones: &mut ZoneCache, segments: &mut Interner) -> u32 {
        let country = ev.country.as_deref().unwrap_or(ANY);
        let device = ev.device.map_or("", |d| d.as_str());
        let zone = ev.zone.as_deref().unwrap_or("");
        self.scratch.clear();
        for part in [country, "\0", zone, "\0", device] {
            self.scratch.push_str(part);
        }
        let ctx = match &self.last {
            Some((k, i)) if *k == self.scratch => *i,
            _ => {
                let n = self.slots.len();
                let i = *self.index.entry(self.scratch.clone()).or_insert(n);
                if i == n {
                    self.slots.push((i64::MIN, 0));
                }
                match &mut self.last {
                    Some((k, j)) => {
                        k.clone_from(&self.scratch);
                        *j = i;
                    }
                    None => self.last = Some((self.scratch.clone(), i)),
                }
                i
            }
        };
        let slot = ev.ts_ms.div_euclid(SLOT_MS);
        if self.slots[ctx].0 == slot {
            return self.slots[ctx].1;
        }
        let zone = ev.zone.as_deref().or_else(|| zones::zone_of(country));
        let mut offset = |t: i64| zone.and_then(|z| zones.offset_minutes(z, t)).unwrap_or(0);
        let at = offset(ev.ts_ms);
        let start = slot * SLOT_MS;
        let steady = at % 15 == 0 && offset(start) == at && offset(start + SLOT_MS - 1) == at;
        let id = segments.id(&key_at(country, ev.device, ev.ts_ms, at));
        self.slots[ctx] = (if steady { slot } else { i64::MIN }, id);
        id
    }
}

/// The five parts of a well-formed segment key.
pub fn parts(key: &str) -> Option<[&str; 5]> {
    let v: Vec<&str> = key.split(':').collect();
    let p: [&str; 5] = v.try_into().ok()?;
    let ok = |x: &str, set: &[&str]| x == ANY || set.contains(&x);
    let country_ok = p[0] == ANY || crate::base::ids::valid_country(p[0]);
    (country_ok
        && ok(p[1], &DEVICES)
        && ok(p[2], &DAYPARTS)
        && ok(p[3], &DAY_KINDS)
        && ok(p[4], &SEASONS))
    .then_some(p)
}

/// Every key an event of segment `full` counts towards: its country's
/// fallback chain, then the same chain for all countries (`*`), deduplicated.
pub fn rollup(full: &str) -> Vec<String> {
    let Some(p) = parts(full) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::with_capacity(10);
    let mut push = |chain: [String; 6]| {
        for k in chain {
            if !out.contains(&k) {
                out.push(k);
            }
        }
    };
    push(segment_chain(p[0], p[1], p[2], p[3], p[4]));
    if p[0] != ANY {
        push(segment_chain(ANY, p[1], p[2], p[3], p[4]));
    }
    out
}

/// The key the worker tries after `key` (its parent); `None` for the global key.
pub fn parent(key: &str) -> Option<String> {
    let p = parts(key)?;
    segment_chain(p[0], p[1], p[2], p[3], p[4])
        .into_iter()
        .skip_while(|k| k != key)
        .find(|k| k != key)
}

/// Number of dimensions fixed (0 for the global key).
pub fn depth(key: &str) -> usize {
    key.split(':').filter(|p| *p != ANY).count()
}

/// The country of a key (`*` for all).
pub fn country(key: &str) -> &str {
    key.split(':').next().unwrap_or(ANY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::time::parse_rfc3339;
    use crate::request::Device;

    fn ev(ts: &str, country: Option<&str>) -> Event {
        Event {
            ts_ms: parse_rfc3339(ts).unwrap(),
            visitor: String::new(),
            product: "1".into(),
            kind: super::super::events::Kind::Purchase,
            quantity: 1,
            country: country.map(str::to_string),
            device: None,
            order: None,
            zone: None,
        }
    }

    #[test]
    fn local_time_of_the_country() {
        let mut z = ZoneCache::default();
        // 2011-12-09 (Friday) 22:30 UTC: Saturday morning in Sydney, summer.
        let e = ev("2011-12-09T22:30:00Z", Some("AU"));
        assert_eq!(full_key(&e, &mut z), "AU:*:morning:weekend:summer");
        // Same instant: Friday 23:30 in Berlin (night, weekday, winter).
        assert_eq!(
            full_key(&ev("2011-12-09T22:30:00Z", Some("DE")), &mut z),
            "DE:*:night:weekday:winter"
        );
        // Friday is weekend in Saudi Arabia; unknown country uses UTC.
        assert_eq!(
            full_key(&ev("2011-12-09T09:00:00Z", Some("SA")), &mut z),
            "SA:*:afternoon:weekend:winter"
        );
        assert_eq!(
            full_key(&ev("2011-06-01T09:00:00Z", None), &mut z),
            "*:*:morning:weekday:summer"
        );
        let mut m = ev("2011-06-01T09:00:00Z", Some("GB"));
        m.device = Some(Device::Mobile);
        assert_eq!(full_key(&m, &mut z), "GB:mobile:morning:weekday:summer");
    }

    #[test]
    fn rollup_and_parents() {
        let r = rollup("GB:mobile:morning:weekday:summer");
        assert_eq!(
            r,
            [
                "GB:mobile:morning:weekday:summer",
                "GB:*:morning:weekday:summer",
                "GB:*:morning:*:summer",
                "GB:*:*:*:summer",
                "GB:*:*:*:*",
                "*:*:*:*:*",
                "*:mobile:morning:weekday:summer",
                "*:*:morning:weekday:summer",
                "*:*:morning:*:summer",
                "*:*:*:*:summer",
            ]
        );
        assert_eq!(rollup("DE:*:night:weekday:winter").len(), 8);
        for k in &r {
            assert!(parts(k).is_some(), "{k}");
        }
        assert_eq!(
            parent("GB:mobile:morning:weekday:summer").as_deref(),
            Some("GB:*:morning:weekday:summer")
        );
        assert_eq!(
            parent("GB:*:morning:weekday:summer").as_deref(),
            Some("GB:*:morning:*:summer")
        );
        assert_eq!(parent("GB:*:*:*:*").as_deref(), Some("*:*:*:*:*"));
        assert_eq!(parent("*:*:*:*:summer").as_deref(), Some("*:*:*:*:*"));
        assert_eq!(parent("*:*:*:*:*"), None);
        assert_eq!(depth("GB:*:morning:*:summer"), 3);
        assert!(parts("GB:*:brunch:*:*").is_none() && parts("a:b").is_none());
    }
}
