//! Assignment lines this isolate logged lately. A visitor browsing page
//! after page is counted by their first line (`borderless report` reads no
//! other), and a `console.log` is the largest single cost of a page
//! answered from its kept copy, so the line comes once per visitor, arm and
//! segment in a window (`personalization.assignment_log`, default `once`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// A line is logged again after this long.
const WINDOW_MS: i64 = 30 * 60 * 1000;
/// Bounded: past this many, lines out of the window go, then all of them
/// (a line logged twice costs a line; one never logged would lose a visitor).
const MAX_ENTRIES: usize = 4096;

thread_local! {
    /// A hash of the line's parts → when it was logged.
    static SEEN: RefCell<HashMap<u64, i64>> = RefCell::new(HashMap::new());
}

fn key_of(parts: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

fn fresh(at: i64, now_ms: i64) -> bool {
    at <= now_ms && now_ms.saturating_sub(at) < WINDOW_MS
}

/// Whether the line of `parts` was logged within the window: phase two
/// asks, so that it makes no line the page would not log.
pub fn logged(parts: &[&str], now_ms: i64) -> bool {
    let key = key_of(parts);
    SEEN.with_borrow(|seen| seen.get(&key).is_some_and(|at| fresh(*at, now_ms)))
}

/// Whether the line of `parts` is due (not logged within the window, or
/// never); a due line counts as logged at `now_ms`.
pub fn due(parts: &[&str], now_ms: i64) -> bool {
    let key = key_of(parts);
    SEEN.with_borrow_mut(|seen| {
        if seen.get(&key).is_some_and(|at| fresh(*at, now_ms)) {
            return false;
        }
        if seen.len() >= MAX_ENTRIES {
            seen.retain(|_, at| fresh(*at, now_ms));
            if seen.len() >= MAX_ENTRIES {
                seen.clear();
            }
        }
        seen.insert(key, now_ms);
        true
    })
}

/// Forgets every line (tests: a cold isolate).
pub fn clear() {
    SEEN.with_borrow_mut(HashMap::clear);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_window_and_parts() {
        clear();
        let t = 1_000_000;
        assert!(!logged(&["v1", "holdout", "FR:desktop"], t));
        assert!(due(&["v1", "holdout", "FR:desktop"], t));
        assert!(logged(&["v1", "holdout", "FR:desktop"], t + 1));
        assert!(!due(&["v1", "holdout", "FR:desktop"], t + 1));
        assert!(!logged(&["v1", "holdout", "FR:desktop"], t + WINDOW_MS));
        // Another segment or arm is another line.
        assert!(due(&["v1", "holdout", "FR:mobile"], t + 2));
        assert!(due(&["v1", "default", "FR:desktop"], t + 3));
        // Parts do not run into each other.
        assert!(due(&["v1h", "oldout", "FR:desktop"], t + 4));
        // Again after the window, and after a clock that went back.
        assert!(due(&["v1", "holdout", "FR:desktop"], t + WINDOW_MS));
        assert!(due(&["v1", "holdout", "FR:desktop"], t));
    }

    #[test]
    fn bounded() {
        clear();
        for i in 0..(3 * MAX_ENTRIES) {
            assert!(due(&[&i.to_string()], 5));
        }
        assert!(SEEN.with_borrow(HashMap::len) <= MAX_ENTRIES);
        clear();
    }
}
