//! Holdout and experiments: deterministic buckets from the sticky visitor id.

use crate::schema::{BlockKind, Personalization};
use std::collections::BTreeMap;

/// Cookie holding the visitor id (16 random bytes, hex).
pub const VISITOR_COOKIE: &str = "borderless_vid";

/// 32 lower-case hex digits.
pub fn valid_visitor_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A stable point in [0, 1) for a visitor and a salt (experiment name):
/// FNV-1a 64 over `id \0 salt`, then a 64-bit finalizer so that every bit
/// of the input moves the top bits.
pub fn bucket(id: &str, salt: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes().chain([0]).chain(salt.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Salt of the holdout bucket.
const HOLDOUT: &str = "\u{0}holdout";

/// A visitor's place in the experiments.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// `holdout`, `control`, `default` (no experiments) or `exp:arm,exp:arm`.
    pub label: String,
    /// False for holdout and control: the origin's page, localized.
    pub personalized: bool,
    /// Slot → block, from the arms.
    pub slots: BTreeMap<String, BlockKind>,
}

/// Holdout first, then each experiment by its own bucket. Without an id
/// (no consent to keep one) the visitor is control.
pub fn assign(p: &Personalization, id: Option<&str>) -> Assignment {
    let control = |label: &str| Assignment {
        label: label.to_string(),
        personalized: false,
        slots: BTreeMap::new(),
    };
    let Some(id) = id else {
        return control("control");
    };
    if bucket(id, HOLDOUT) < p.holdout {
        return control("holdout");
    }
    let mut a = Assignment {
        label: String::new(),
        personalized: true,
        slots: BTreeMap::new(),
    };
    for e in &p.experiments {
        let total: u64 = e.arms.iter().map(|a| u64::from(a.weight)).sum();
        if total == 0 {
            continue;
        }
        let mut point = bucket(id, &e.name) * total as f64;
        let Some(arm) = e
            .arms
            .iter()
            .find(|a| {
                point -= f64::from(a.weight);
                point < 0.0
            })
            .or_else(|| e.arms.last())
        else {
            continue;
        };
        if !a.label.is_empty() {
            a.label.push(',');
        }
        a.label.push_str(&e.name);
        a.label.push(':');
        a.label.push_str(&arm.name);
        a.personalized &= !arm.control;
        for (slot, kind) in &arm.slots {
            a.slots.entry(slot.clone()).or_insert(*kind);
        }
    }
    if a.label.is_empty() {
        a.label.push_str("default");
    }
    if !a.personalized {
        a.slots.clear();
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pz(json: &str) -> Personalization {
        serde_json::from_str(json).unwrap()
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n as u64)
            .map(|i| format!("{:016x}{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15), i))
            .collect()
    }

    #[test]
    fn deterministic_and_uniform() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(bucket(id, "x"), bucket(id, "x"));
        assert_ne!(bucket(id, "x"), bucket(id, "y"));
        let all = ids(20_000);
        let mut deciles = [0usize; 10];
        for i in &all {
            let b = bucket(i, "exp");
            assert!((0.0..1.0).contains(&b));
            deciles[(b * 10.0) as usize] += 1;
        }
        for d in deciles {
            assert!((1800..2200).contains(&d), "{deciles:?}");
        }
    }

    #[test]
    fn holdout_and_arms_by_weight() {
        let p = pz(r#"{"slots":{"recs":{"block":"segment"}},"holdout":0.1,
            "experiments":[{"name":"recs-v2","arms":[
                {"name":"a","weight":1},
                {"name":"b","weight":3,"slots":{"recs":"trending"}},
                {"name":"off","weight":1,"control":true}]}]}"#);
        let all = ids(20_000);
        let mut n = BTreeMap::<String, usize>::new();
        for i in &all {
            let a = assign(&p, Some(i));
            assert_eq!(a, assign(&p, Some(i)), "sticky");
            match a.label.as_str() {
                "holdout" | "recs-v2:off" => assert!(!a.personalized && a.slots.is_empty()),
                "recs-v2:b" => assert_eq!(a.slots["recs"], BlockKind::Trending),
                _ => assert!(a.personalized && a.slots.is_empty()),
            }
            *n.entry(a.label).or_default() += 1;
        }
        let share = |k: &str| n[k] as f64 / all.len() as f64;
        assert!((share("holdout") - 0.1).abs() < 0.01, "{n:?}");
        assert!((share("recs-v2:a") - 0.18).abs() < 0.01, "{n:?}");
        assert!((share("recs-v2:b") - 0.54).abs() < 0.015, "{n:?}");
        assert!((share("recs-v2:off") - 0.18).abs() < 0.01, "{n:?}");
        let none = assign(&p, None);
        assert_eq!((none.label.as_str(), none.personalized), ("control", false));
        let plain = pz(r#"{"slots":{}}"#);
        assert_eq!(assign(&plain, Some(&all[0])).label, "default");
    }

    #[test]
    fn visitor_ids() {
        assert!(valid_visitor_id("0123456789abcdef0123456789abcdef"));
        for bad in [
            "",
            "0123456789ABCDEF0123456789abcdef",
            "x",
            "0123456789abcdef0123456789abcdeg",
        ] {
            assert!(!valid_visitor_id(bad), "{bad}");
        }
    }
}
