//! Holdout and experiments: deterministic buckets from the sticky visitor id.

use crate::base::recent::Recent;
use crate::schema::{BlockKind, Personalization};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

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
    let mut h = fnv1a(id.bytes().chain([0]).chain(salt.bytes()));
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
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

/// Assignments made lately in this isolate: a visitor's next pages get
/// theirs again, shared, not made anew (its slots are a map to build).
struct Made {
    /// [`fnv1a`] of the id: a scan of the entries compares this first (a
    /// new visitor's id matches none, so every entry is looked at).
    tag: u64,
    config: [u8; 16],
    id: Option<String>,
    assignment: Rc<Assignment>,
}

/// Assignments kept (the oldest goes first); ids are 32 bytes.
const MAX_MADE: usize = 256;

thread_local! {
    static MADE: RefCell<Recent<Made>> = const { RefCell::new(Recent::new(MAX_MADE)) };
}

/// [`assign`] for the personalization of the config whose digest is
/// `config`, made once per isolate for an id.
pub fn assigned(p: &Personalization, config: &[u8; 16], id: Option<&str>) -> Rc<Assignment> {
    let tag = id.map_or(0, |i| fnv1a(i.bytes()));
    let found = MADE.with_borrow(|m| {
        m.find(|e| e.tag == tag && e.id.as_deref() == id && e.config == *config)
            .map(|e| Rc::clone(&e.assignment))
    });
    if let Some(a) = found {
        return a;
    }
    let assignment = Rc::new(assign(p, id));
    MADE.with_borrow_mut(|m| {
        m.push(Made {
            tag,
            config: *config,
            id: id.map(str::to_string),
            assignment: Rc::clone(&assignment),
        })
    });
    assignment
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
        let experiments = r#"{"slots":{"recs":{"block":"segment"}},"holdout":0.1,
            "experiments":[{"name":"recs-v2","arms":[
                {"name":"a","weight":1},
                {"name":"b","weight":3,"slots":{"recs":"trending"}},
                {"name":"off","weight":1,"control":true}]}]}"#;
        let p = pz(experiments);
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
        // Remembered: the same as made afresh, per config and id.
        let other = pz(&experiments.replace("\"holdout\":0.1", "\"holdout\":0.9"));
        for i in all.iter().take(50) {
            for (q, digest) in [(&p, [1u8; 16]), (&other, [2u8; 16])] {
                assert_eq!(*assigned(q, &digest, Some(i)), assign(q, Some(i)));
                assert_eq!(*assigned(q, &digest, Some(i)), assign(q, Some(i)));
            }
        }
        assert_eq!(*assigned(&p, &[1u8; 16], None), assign(&p, None));
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
