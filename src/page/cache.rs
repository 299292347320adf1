//! The isolate's cache of KV reads: bounded in entries and in bytes (the
//! size of the values' KV text, a proxy for their parsed size), each entry
//! valid for a time (the config) or for the isolate's life (immutable
//! bundle keys).

use std::collections::HashMap;

pub struct Cache<V> {
    entries: HashMap<String, (f64, usize, V)>,
    max_entries: usize,
    max_bytes: usize,
    bytes: usize,
    /// Milliseconds an entry stays valid; `None`: until evicted.
    ttl_ms: Option<f64>,
}

impl<V: Clone> Cache<V> {
    pub fn new(max_entries: usize, max_bytes: usize, ttl_ms: Option<f64>) -> Cache<V> {
        Cache {
            entries: HashMap::new(),
            max_entries: max_entries.max(1),
            max_bytes,
            bytes: 0,
            ttl_ms,
        }
    }

    pub fn get(&self, key: &str, now_ms: f64) -> Option<V> {
        let (at, _, v) = self.entries.get(key)?;
        let fresh = self.ttl_ms.is_none_or(|ttl| now_ms - at < ttl);
        fresh.then(|| v.clone())
    }

    /// `bytes`: the value's size. Past either bound the whole cache is
    /// dropped: cheaper than tracking use, and a warm isolate refills the
    /// few keys a page needs at once. A value larger than the byte bound
    /// is not kept.
    pub fn put(&mut self, key: &str, v: V, bytes: usize, now_ms: f64) {
        if let Some((_, old, _)) = self.entries.remove(key) {
            self.bytes -= old;
        }
        if bytes > self.max_bytes {
            return;
        }
        if self.entries.len() >= self.max_entries || self.bytes + bytes > self.max_bytes {
            self.entries.clear();
            self.bytes = 0;
        }
        self.bytes += bytes;
        self.entries.insert(key.to_string(), (now_ms, bytes, v));
    }

    /// The bytes held, as given to `put`.
    pub fn bytes(&self) -> usize {
        self.bytes
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
        let mut c = Cache::new(3, 1 << 20, Some(30_000.0));
        for i in 0..10 {
            c.put(&format!("k{i}"), i, 10, 0.0);
            assert!(c.len() <= 3);
        }
        assert_eq!(c.get("k9", 29_999.0), Some(9));
        assert_eq!(c.get("k9", 30_000.0), None);
        let mut forever = Cache::new(2, 100, None);
        forever.put("a", 1, 10, 0.0);
        forever.put("a", 2, 10, 0.0);
        assert_eq!((forever.len(), forever.get("a", 1e15)), (1, Some(2)));
        assert_eq!(forever.bytes(), 10);
    }

    /// Finding 8: bounded in bytes, not only in entries.
    #[test]
    fn bounded_in_bytes() {
        let mut c = Cache::new(256, 1000, None);
        for i in 0..100 {
            c.put(&format!("k{i}"), i, 300, 0.0);
            assert!(c.bytes() <= 1000, "{}", c.bytes());
        }
        assert_eq!(c.get("k99", 0.0), Some(99));
        c.put("huge", 1, 5000, 0.0);
        assert_eq!(c.get("huge", 0.0), None);
        assert!(c.bytes() <= 1000);
    }
}
