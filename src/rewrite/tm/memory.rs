//! The translation memory as the worker reads it: per locale one value
//! `b/<bundle>/tm/<locale>` (segments shared by pages, and the shard count),
//! plus, for large memories, shards `tm/<locale>.<k>` holding the segments
//! seen on one page only, the shard chosen by a hash of the page path. A
//! request thus reads the base value and at most one shard per locale.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Kind of the memory values in the bundle.
pub const KIND_TM: &str = "tm";
/// Most shards a locale may have.
pub const MAX_SHARDS: u32 = 4096;

/// One KV value of a memory: the base (`shard` absent) or one shard.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TmValue {
    pub locale: String,
    /// In the base value: how many shards there are (0 = none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shards: u32,
    /// In a shard: its number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<u32>,
    /// Source key ([`super::notation::key`]) → target notation.
    pub entries: BTreeMap<String, String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The id of a memory value: `de-DE` or `de-DE.3`.
pub fn value_id(locale: &str, shard: Option<u32>) -> String {
    with_shard(locale, '.', shard)
}

/// `locale`, then `sep` and the shard if there is one: by hand, as it is
/// made on every request (no `core::fmt`).
fn with_shard(locale: &str, sep: char, shard: Option<u32>) -> String {
    let mut id = String::with_capacity(locale.len() + 11);
    id.push_str(locale);
    if let Some(k) = shard {
        id.push(sep);
        crate::base::text::push_decimal(&mut id, u64::from(k));
    }
    id
}

/// The shard of a page path (no query, no locale prefix) among `shards`.
pub fn shard_of(path: &str, shards: u32) -> Option<u32> {
    if shards == 0 {
        return None;
    }
    let mut h = 0x811c_9dc5u32;
    for b in path.trim_end_matches('/').bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    Some(h % shards)
}

/// The memory of one page's locale: the base value and the page's shard,
/// shared with the isolate cache (nothing is copied per request).
#[derive(Debug, Clone, Default)]
pub struct Memory {
    base: Rc<TmValue>,
    shard: Option<Rc<TmValue>>,
}

impl Memory {
    /// A shard of another locale is ignored.
    pub fn new(base: Rc<TmValue>, shard: Option<Rc<TmValue>>) -> Memory {
        let shard = shard.filter(|s| s.locale == base.locale && s.shard.is_some());
        Memory { base, shard }
    }

    /// Parses the base value and, if the page has one, its shard.
    pub fn parse(base: &str, shard: Option<&str>) -> Result<Memory, String> {
        let b: TmValue = serde_json::from_str(base).map_err(|e| e.to_string())?;
        let s = match shard {
            Some(s) => Some(Rc::new(
                serde_json::from_str::<TmValue>(s).map_err(|e| e.to_string())?,
            )),
            None => None,
        };
        Ok(Memory::new(Rc::new(b), s))
    }

    pub fn from_value(v: TmValue) -> Memory {
        Memory::new(Rc::new(v), None)
    }

    /// Adds the page's shard.
    pub fn add_shard(&mut self, v: TmValue) {
        *self = Memory::new(Rc::clone(&self.base), Some(Rc::new(v)));
    }

    /// The values this memory is made of: `de-DE`, or `de-DE+3` with shard 3.
    pub fn id(&self) -> String {
        with_shard(
            &self.base.locale,
            '+',
            self.shard.as_ref().and_then(|s| s.shard),
        )
    }

    pub fn locale(&self) -> &str {
        &self.base.locale
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.base
            .entries
            .get(key)
            .or_else(|| self.shard.as_ref().and_then(|s| s.entries.get(key)))
            .map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.base.entries.len() + self.shard.as_ref().map_or(0, |s| s.entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_and_shard() {
        let base = r#"{"locale":"de-DE","shards":4,"entries":{"a":"A"}}"#;
        let shard = r#"{"locale":"de-DE","shard":1,"entries":{"b":"B"}}"#;
        let m = Memory::parse(base, Some(shard)).unwrap();
        assert_eq!(
            (m.get("a"), m.get("b"), m.get("c")),
            (Some("A"), Some("B"), None)
        );
        let other = r#"{"locale":"fr-FR","shard":1,"entries":{"b":"B"}}"#;
        assert_eq!(Memory::parse(base, Some(other)).unwrap().get("b"), None);
        assert!(Memory::parse("{}", None).is_err());
        assert_eq!(shard_of("/p/1", 0), None);
        assert_eq!(shard_of("/p/1/", 8), shard_of("/p/1", 8));
        assert_eq!(value_id("de-DE", Some(3)), "de-DE.3");
        assert_eq!(value_id("de-DE", Some(4_000_000_000)), "de-DE.4000000000");
        assert_eq!(value_id("de-DE", None), "de-DE");
        let m = Memory::parse(base, Some(r#"{"locale":"de-DE","shard":12,"entries":{}}"#));
        assert_eq!(m.unwrap().id(), "de-DE+12");
        assert_eq!(Memory::parse(base, None).unwrap().id(), "de-DE");
    }
}
