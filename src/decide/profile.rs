//! The `borderless_profile` cookie: what a visitor looked at, kept in their
//! own browser and updated at the edge on product views.
//!
//! Format (cookie-safe, at most [`MAX_BYTES`]):
//! `v1~<hours>~<id>.<id>…~<category>:<score>.<category>:<score>…`
//! - `hours`: hours since the Unix epoch when the scores were last decayed;
//! - ids: recently viewed products, newest first, at most [`MAX_RECENT`],
//!   each `[A-Za-z0-9_-]{1,32}`, no repeats;
//! - categories: category slugs (`[a-z0-9-]{1,32}`) with an affinity in
//!   hundredths of a view (decayed by a half-life), at most [`MAX_CATEGORIES`].
//!
//! Anything else — another version, a bad id, a repeat, a score out of
//! range, a time in the future, too long — and the whole value is ignored.

pub const COOKIE: &str = "borderless_profile";
pub const MAX_BYTES: usize = 1024;
pub const MAX_RECENT: usize = 8;
pub const MAX_CATEGORIES: usize = 8;
/// Largest stored score (hundredths): 10,000 views.
const MAX_SCORE: u32 = 1_000_000;
const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// Hours since the epoch of the scores.
    pub hours: i64,
    /// Recently viewed product ids, newest first.
    pub recent: Vec<String>,
    /// Category slug → affinity in hundredths, highest first.
    pub categories: Vec<(String, u32)>,
}

/// A product id as the worker accepts it anywhere.
use crate::base::ids::valid_id;
use crate::base::text::push_decimal;

fn valid_slug(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A catalog category as a slug: `Candles & Lights` → `candles-lights`.
pub fn slug(category: &str) -> Option<String> {
    let mut out = String::with_capacity(category.len());
    for c in category.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out.truncate(32);
    while out.ends_with('-') {
        out.pop();
    }
    valid_slug(&out).then_some(out)
}

fn digits(s: &str, max_len: usize) -> Option<u64> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Profile {
    /// Parses a cookie value; `None` for anything not exactly well formed.
    pub fn parse(v: &str, now_ms: i64) -> Option<Profile> {
        if v.len() > MAX_BYTES {
            return None;
        }
        let mut parts = v.split('~');
        let (ver, hours, recent, cats) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if ver != "v1" || parts.next().is_some() {
            return None;
        }
        let hours = i64::try_from(digits(hours, 10)?).ok()?;
        if hours > now_ms.div_euclid(HOUR_MS) + 24 {
            return None;
        }
        let mut p = Profile {
            hours,
            ..Profile::default()
        };
        if !recent.is_empty() {
            for id in recent.split('.') {
                if !valid_id(id) || p.recent.iter().any(|r| r == id) || p.recent.len() == MAX_RECENT
                {
                    return None;
                }
                p.recent.push(id.to_string());
            }
        }
        if !cats.is_empty() {
            for pair in cats.split('.') {
                let (c, score) = pair.split_once(':')?;
                let score = u32::try_from(digits(score, 7)?).ok()?;
                if !valid_slug(c)
                    || score > MAX_SCORE
                    || p.categories.iter().any(|(x, _)| x == c)
                    || p.categories.len() == MAX_CATEGORIES
                {
                    return None;
                }
                p.categories.push((c.to_string(), score));
            }
        }
        p.sort();
        Some(p)
    }

    /// The cookie value: `v1~hours~recent~categories`. By hand, not
    /// `format!`: it is made on a product page view, where `core::fmt`
    /// would be cold code.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(64);
        out.push_str("v1~");
        if self.hours < 0 {
            out.push('-');
        }
        push_decimal(&mut out, self.hours.unsigned_abs());
        out.push('~');
        for (i, id) in self.recent.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push_str(id);
        }
        out.push('~');
        for (i, (c, score)) in self.categories.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push_str(c);
            out.push(':');
            push_decimal(&mut out, u64::from(*score));
        }
        out
    }

    /// Scores decayed to `now_ms` with a half-life; negligible ones dropped.
    pub fn decay(&mut self, now_ms: i64, half_life_days: f64) {
        let now = now_ms.div_euclid(HOUR_MS);
        let dt = (now - self.hours).max(0) as f64;
        if dt > 0.0 && half_life_days > 0.0 {
            let f = 0.5f64.powf(dt / (half_life_days * 24.0));
            for (_, s) in &mut self.categories {
                *s = (f64::from(*s) * f).floor() as u32;
            }
            self.categories.retain(|(_, s)| *s > 0);
        }
        self.hours = self.hours.max(now);
    }

    /// Records a product view (after [`Profile::decay`] to now).
    pub fn viewed(&mut self, id: &str, category: Option<&str>) {
        if !valid_id(id) {
            return;
        }
        self.recent.retain(|r| r != id);
        self.recent.insert(0, id.to_string());
        self.recent.truncate(MAX_RECENT);
        if let Some(c) = category.filter(|c| valid_slug(c)) {
            match self.categories.iter_mut().find(|(x, _)| x == c) {
                Some((_, s)) => *s = (*s + 100).min(MAX_SCORE),
                None => self.categories.push((c.to_string(), 100)),
            }
            self.sort();
            self.categories.truncate(MAX_CATEGORIES);
        }
    }

    /// The category the visitor looked at most (recently).
    pub fn top_category(&self) -> Option<&str> {
        self.categories.first().map(|(c, _)| c.as_str())
    }

    fn sort(&mut self) {
        // Highest first; ties by name, so the encoding is canonical.
        self.categories
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000 * HOUR_MS;

    #[test]
    fn round_trip_and_updates() {
        let mut p = Profile::parse("v1~1000~85123A.22423~kitchen:250.decor:100", NOW).unwrap();
        assert_eq!(p.recent, ["85123A", "22423"]);
        assert_eq!(p.top_category(), Some("kitchen"));
        p.viewed("22423", Some("decor"));
        p.viewed("47566", Some("decor"));
        p.viewed("47566", Some("decor"));
        assert_eq!(p.recent, ["47566", "22423", "85123A"]);
        assert_eq!(p.top_category(), Some("decor"));
        let s = p.encode();
        assert_eq!(s, "v1~1000~47566.22423.85123A~decor:400.kitchen:250");
        assert_eq!(Profile::parse(&s, NOW), Some(p));
        assert_eq!(Profile::default().encode(), "v1~0~~");
        assert_eq!(
            Profile::parse("v1~5~~", NOW).unwrap(),
            Profile {
                hours: 5,
                ..Profile::default()
            }
        );
    }

    #[test]
    fn bounded() {
        let mut p = Profile::default();
        for i in 0..20 {
            p.viewed(&format!("p{i}"), Some(&format!("c{i}")));
        }
        assert_eq!(p.recent.len(), MAX_RECENT);
        assert_eq!(p.recent[0], "p19");
        assert_eq!(p.categories.len(), MAX_CATEGORIES);
        assert!(p.encode().len() < 300);
        p.viewed("<script>", Some("x y"));
        assert_eq!(p.recent[0], "p19");
    }

    #[test]
    fn decays_by_half_life() {
        let mut p = Profile::parse("v1~1000~~kitchen:400.decor:1", NOW).unwrap();
        p.decay(NOW + 14 * 24 * HOUR_MS, 14.0);
        assert_eq!(p.categories, [("kitchen".to_string(), 200)]);
        assert_eq!(p.hours, 1000 + 14 * 24);
        // A time in the past never raises scores.
        let mut q = Profile::parse("v1~1000~~kitchen:400", NOW).unwrap();
        q.decay(NOW - 50 * HOUR_MS, 14.0);
        assert_eq!(q.categories[0].1, 400);
    }

    #[test]
    fn malformed_is_ignored_entirely() {
        let long_ids: Vec<String> = (0..9).map(|i| format!("p{i}")).collect();
        for bad in [
            "",
            "v2~1000~~",
            "v1~1000~~~",
            "v1~1000~",
            "v1~x~~",
            "v1~-5~~",
            "v1~99999999999~~",
            "v1~1100~~",
            "v1~1000~a..b~",
            "v1~1000~a.a~",
            "v1~1000~<script>~",
            "v1~1000~\"x\"~",
            "v1~1000~~kitchen",
            "v1~1000~~kitchen:1.kitchen:2",
            "v1~1000~~Kitchen:1",
            "v1~1000~~kitchen:99999999",
            "v1~1000~~kitchen:-1",
            "v1~1000~~kitchen:1e3",
            "v1~1000~aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa~",
            "v1~1000~a b~",
            "v1 ~1000~~",
        ] {
            assert_eq!(Profile::parse(bad, NOW), None, "{bad}");
        }
        assert_eq!(
            Profile::parse(&format!("v1~1000~{}~", long_ids.join(".")), NOW),
            None
        );
        let huge = format!("v1~1000~{}~", "a".repeat(MAX_BYTES));
        assert_eq!(Profile::parse(&huge, NOW), None);
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Candles & Lights").as_deref(), Some("candles-lights"));
        assert_eq!(slug("Home Decor").as_deref(), Some("home-decor"));
        assert_eq!(slug("  <b>  ").as_deref(), Some("b"));
        assert_eq!(slug("&&&"), None);
        assert_eq!(slug("日本"), None);
        assert_eq!(slug(&"x".repeat(40)).unwrap().len(), 32);
    }
}
