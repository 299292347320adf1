//! The store of the per-isolate memos (a pure function's results by its
//! inputs): the most recent entries, at most `max`, the oldest dropped
//! first. Found by a scan: a memo compares its inputs, not a hash of them.

use std::collections::VecDeque;
use std::rc::Rc;

/// Whether two optional shared values are the same value (or both none):
/// how memos compare the KV values they were made from.
pub fn same<T>(a: Option<&Rc<T>>, b: Option<&Rc<T>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Rc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

pub struct Recent<T> {
    max: usize,
    items: VecDeque<T>,
}

impl<T> Recent<T> {
    pub const fn new(max: usize) -> Recent<T> {
        Recent {
            max,
            items: VecDeque::new(),
        }
    }

    /// The first entry that `is` accepts.
    pub fn find(&self, is: impl FnMut(&&T) -> bool) -> Option<&T> {
        self.items.iter().find(is)
    }

    /// Keeps `item`, dropping the oldest entry when full.
    pub fn push(&mut self, item: T) {
        if self.items.len() >= self.max {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_oldest_first_out() {
        let mut r = Recent::new(3);
        assert!(r.is_empty());
        for i in 0..5 {
            r.push(i);
        }
        assert_eq!(r.len(), 3);
        assert_eq!(r.find(|x| **x < 2), None);
        assert_eq!(r.find(|x| **x >= 2), Some(&2));
    }
}
