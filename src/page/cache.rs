//! The isolate's cache of KV reads: bounded in entries, each entry valid
//! for a time (the config) or for the isolate's life (immutable bundle keys).

use std::collections::HashMap;

pub struct Cache<V> {
    entries: HashMap<String, (f64, V)>,
    max_entries: usize,
    /// Milliseconds an entry stays valid; `None`: until evicted.
    ttl_ms: Option<f64>,
}

impl<V: Clone> Cache<V> {
    pub fn new(max_entries: usize, ttl_ms: Option<f64>) -> Cache<V> {
        Cache {
            entries: HashMap::new(),
            max_entries: max_entries.max(1),
            ttl_ms,
        }
    }

    pub fn get(&self, key: &str, now_ms: f64) -> Option<V> {
        let (at, v) = self.entries.get(key)?;
        let fresh = self.ttl_ms.is_none_or(|ttl| now_ms - at < ttl);
        fresh.then(|| v.clone())
    }

    /// Past the bound the whole cache is dropped: cheaper than tracking
    /// use, and a warm isolate refills the few keys a page needs at once.
    pub fn put(&mut self, key: &str, v: V, now_ms: f64) {
        if self.entries.len() >= self.max_entries && !self.entries.contains_key(key) {
            self.entries.clear();
        }
        self.entries.insert(key.to_string(), (now_ms, v));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_expiring() {
        let mut c = Cache::new(3, Some(30_000.0));
        for i in 0..10 {
            c.put(&format!("k{i}"), i, 0.0);
            assert!(c.len() <= 3);
        }
        assert_eq!(c.get("k9", 29_999.0), Some(9));
        assert_eq!(c.get("k9", 30_000.0), None);
        let mut forever = Cache::new(2, None);
        forever.put("a", 1, 0.0);
        forever.put("a", 2, 0.0);
        assert_eq!((forever.len(), forever.get("a", 1e15)), (1, Some(2)));
    }
}
