//! Holding back output while a price split over several elements is read.
//! `£</span><span>279` can only be converted once `279` is seen, but `£` has
//! already gone out by then: its text is replaced by a tag (ASCII, with a
//! per-page random nonce) and the rewriter's output is held from the first
//! unsettled tag until the run is settled (converted, or the original text
//! put back). Bounded: past [`MAX_HELD`] bytes every open tag settles to its
//! original text.

use encoding_rs::Encoding;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Held output beyond this settles every open tag as it was.
pub const MAX_HELD: usize = 64 << 10;

/// `\x01bl`, 16 hex digits of nonce, 8 of id, `\x01`.
const TAG_LEN: usize = 28;

struct Held {
    id: u32,
    original: Vec<u8>,
    settled: Option<Vec<u8>>,
}

pub struct Holds {
    nonce: u64,
    next: u32,
    open: VecDeque<Held>,
    encoding: &'static Encoding,
    /// Tags settled as original because the run grew too big.
    pub forced: u32,
}

impl Holds {
    pub fn new(encoding: &'static Encoding) -> Holds {
        let mut b = [0u8; 8];
        // A fixed nonce still works; it only makes a collision with page
        // bytes (which would need U+0001 in the text) conceivable.
        let _ = getrandom::fill(&mut b);
        Holds {
            nonce: u64::from_le_bytes(b),
            next: 0,
            open: VecDeque::new(),
            encoding,
            forced: 0,
        }
    }

    fn prefix(&self) -> Vec<u8> {
        format!("\u{1}bl{:016x}", self.nonce).into_bytes()
    }

    fn encode(&self, html: &str) -> Vec<u8> {
        self.encoding.encode(html).0.into_owned()
    }

    /// A tag to put in place of `original` (raw HTML text); returns (id, tag).
    pub fn open(&mut self, original: &str) -> (u32, String) {
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        let tag = format!("\u{1}bl{:016x}{id:08x}\u{1}", self.nonce);
        let original = self.encode(original);
        self.open.push_back(Held {
            id,
            original,
            settled: None,
        });
        (id, tag)
    }

    /// The final HTML for tag `id`; false if it was already forced out.
    pub fn settle(&mut self, id: u32, html: &str) -> bool {
        let bytes = self.encode(html);
        match self
            .open
            .iter_mut()
            .find(|h| h.id == id && h.settled.is_none())
        {
            Some(h) => {
                h.settled = Some(bytes);
                true
            }
            None => false,
        }
    }

    pub fn is_open(&self, id: u32) -> bool {
        self.open.iter().any(|h| h.id == id && h.settled.is_none())
    }

    fn force_all(&mut self) {
        for h in self.open.iter_mut().filter(|h| h.settled.is_none()) {
            h.settled = Some(h.original.clone());
            self.forced += 1;
        }
    }
}

/// Sits between lol_html's output and the response: releases bytes up to
/// the first unsettled tag.
pub struct Release {
    holds: Rc<RefCell<Holds>>,
    buf: Vec<u8>,
}

impl Release {
    pub fn new(holds: Rc<RefCell<Holds>>) -> Release {
        Release {
            holds,
            buf: Vec::new(),
        }
    }

    /// Takes newly produced output; returns what may be sent. At `end`
    /// everything still open settles to its original text. Tags are found
    /// by scanning (a piece inside content that another handler replaced is
    /// never written, so the order of the open list is not the output's).
    pub fn pass(&mut self, out: Vec<u8>, end: bool) -> Vec<u8> {
        let mut h = self.holds.borrow_mut();
        if h.open.is_empty() && self.buf.is_empty() {
            return out;
        }
        self.buf.extend_from_slice(&out);
        if end {
            h.force_all();
        }
        let prefix = h.prefix();
        let mut ready = Vec::with_capacity(self.buf.len());
        let mut from = 0;
        let held = loop {
            let (next, held) = scan(&self.buf, from, &prefix, &mut h, &mut ready);
            from = next;
            // Only what waits behind an unsettled tag counts, so the result
            // does not depend on how the origin's bytes were cut.
            if held && self.buf.len().saturating_sub(from) > MAX_HELD {
                h.force_all();
                continue;
            }
            break held;
        };
        if !held {
            // Keep back what could be the start of a tag.
            let keep = if end || h.open.is_empty() {
                0
            } else {
                TAG_LEN - 1
            };
            let upto = self.buf.len().saturating_sub(keep).max(from);
            ready.extend_from_slice(self.buf.get(from..upto).unwrap_or_default());
            from = upto;
        }
        if end {
            h.open.clear();
        }
        self.buf.drain(..from);
        ready
    }
}

/// Moves `buf[from..]` into `ready` up to the first unsettled tag, putting
/// settled tags' HTML in their place; returns where it stopped and whether
/// a tag holds the rest.
fn scan(
    buf: &[u8],
    mut from: usize,
    prefix: &[u8],
    h: &mut Holds,
    ready: &mut Vec<u8>,
) -> (usize, bool) {
    while let Some(at) = find(buf.get(from..).unwrap_or_default(), prefix) {
        let at = from + at;
        let tag_end = at + TAG_LEN;
        let Some(tag) = buf.get(at..tag_end) else {
            break; // a partial tag: wait for the rest
        };
        let id = std::str::from_utf8(tag.get(prefix.len()..TAG_LEN - 1).unwrap_or_default())
            .ok()
            .and_then(|x| u32::from_str_radix(x, 16).ok());
        let pos = id.and_then(|id| h.open.iter().position(|x| x.id == id));
        ready.extend_from_slice(buf.get(from..at).unwrap_or_default());
        from = at;
        match pos.and_then(|p| h.open.get(p).map(|x| (p, x.settled.is_some()))) {
            Some((p, true)) => {
                if let Some(x) = h.open.remove(p) {
                    ready.extend_from_slice(x.settled.as_deref().unwrap_or(&x.original));
                }
                from = tag_end;
            }
            Some((_, false)) => return (from, true),
            // Not ours (cannot happen short of a nonce collision): as is.
            None => {
                ready.extend_from_slice(tag);
                from = tag_end;
            }
        }
    }
    (from, false)
}

/// The first occurrence of `needle` (never an empty one).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_until_settled() {
        let holds = Rc::new(RefCell::new(Holds::new(encoding_rs::UTF_8)));
        let mut r = Release::new(Rc::clone(&holds));
        assert_eq!(r.pass(b"plain".to_vec(), false), b"plain");
        let (a, ta) = holds.borrow_mut().open("£");
        let (b, tb) = holds.borrow_mut().open("279");
        let out = r.pass(format!("<b>{ta}</b><i>{}", &tb[..5]).into_bytes(), false);
        assert_eq!(out, b"<b>");
        let out = r.pass(format!("{}</i>x", &tb[5..]).into_bytes(), false);
        assert!(out.is_empty());
        holds.borrow_mut().settle(a, "");
        holds.borrow_mut().settle(b, "￥53,120");
        let out = r.pass(b"y".to_vec(), false);
        assert_eq!(String::from_utf8(out).unwrap(), "</b><i>￥53,120</i>xy");
        // Unsettled at the end: the original comes back.
        let (_, tc) = holds.borrow_mut().open("€");
        let mut out = r.pass(format!("<s>{tc}</s>").into_bytes(), false);
        out.extend(r.pass(Vec::new(), true));
        assert_eq!(String::from_utf8(out).unwrap(), "<s>€</s>");
        assert!(!holds.borrow_mut().settle(a, "again"));
        // A piece never written (its element's content was replaced) does
        // not stop a later one.
        let (d, _) = holds.borrow_mut().open("£");
        let (e, te) = holds.borrow_mut().open("5");
        holds.borrow_mut().settle(d, "");
        holds.borrow_mut().settle(e, "X");
        let mut out = r.pass(format!("<i>{te}</i>").into_bytes(), false);
        out.extend(r.pass(Vec::new(), true));
        assert_eq!(String::from_utf8(out).unwrap(), "<i>X</i>");
    }

    #[test]
    fn a_big_read_before_the_tag_does_not_force_it() {
        // Regression: the bound counted the whole batch, so a price split
        // late in a 256 KB read went out unconverted (timing-dependent).
        let holds = Rc::new(RefCell::new(Holds::new(encoding_rs::UTF_8)));
        let mut r = Release::new(Rc::clone(&holds));
        let (a, ta) = holds.borrow_mut().open("£");
        let big = "x".repeat(200 << 10);
        let out = r.pass(format!("{big}<b>{ta}</b>").into_bytes(), false);
        assert_eq!(out.len(), big.len() + 3);
        holds.borrow_mut().settle(a, "€9");
        let out = r.pass(Vec::new(), true);
        assert_eq!(String::from_utf8(out).unwrap(), "€9</b>");
        assert_eq!(holds.borrow().forced, 0);
        // More than the bound behind an unsettled tag is forced out as is.
        let (_, tb) = holds.borrow_mut().open("£");
        let mut out = r.pass(format!("{tb}{big}").into_bytes(), false);
        out.extend(r.pass(Vec::new(), true));
        assert!(out.starts_with("£x".as_bytes()));
        assert_eq!(holds.borrow().forced, 1);
    }
}
