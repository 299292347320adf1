//! Rewritten pages kept per isolate (issue 14, item 4). A page read whole
//! whose origin bytes and variant key both equal a kept page's gets the kept
//! output, without the rewrite: the rewrite is a function of those two (the
//! key names every input of it that is not the origin's bytes), so these are
//! the bytes it would write again. The origin confirmed them on this very
//! request: no validator or age is trusted, the bytes are compared whole.
//!
//! Never kept: a page a slot's selector matched (it holds this visitor's
//! blocks), the order confirmation, previews, a rewrite that bailed out.

use crate::decide::Decisions;
use crate::plan::l10n::{L10n, PageUrl};
use crate::plan::Plan;
use crate::rewrite::prices::Counts;
use crate::rewrite::tm::memory::Memory;
use crate::rewrite::tm::Report;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Origin and output bytes kept in all; the oldest go first.
const MAX_BYTES: usize = 8 << 20;
/// Pages kept, at most: a lookup compares each one's lengths (then, on a
/// match, its key and bytes), so many small ones must not make it slow.
const MAX_ENTRIES: usize = 256;
/// A page's origin and output bytes, at most (the entry reads a body whole
/// up to 256 KiB).
const MAX_PAGE: usize = 640 << 10;
/// Kept pages older than this are dropped (bundle values are immutable per
/// version; this bounds what a republished one could leave behind).
const MAX_AGE_MS: i64 = 10 * 60_000;

/// Everything besides the origin's bytes that shapes a rewritten page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key(Vec<u8>);

impl Key {
    /// The key of `plan`'s page, or `None` if it is never kept (the order
    /// confirmation). `content_type` is the origin's header (its charset);
    /// `tail` is [`Key::tail`] of the plan's localization and memory.
    pub fn of(
        plan: &Plan,
        d: &Decisions,
        page: &PageUrl,
        content_type: Option<&str>,
        tail: &[u8],
    ) -> Option<Key> {
        if plan.conversion.is_some() {
            return None;
        }
        let mut k = Key(Vec::with_capacity(256));
        k.part(&plan.site.digest);
        k.part(d.locale.as_bytes());
        k.part(d.currency.as_bytes());
        k.part(if d.crawler { b"bot" } else { b"" });
        k.text(page.origin);
        k.text(page.path);
        k.text(page.query);
        k.text(content_type.unwrap_or(""));
        for e in &plan.edits {
            k.part(&(e.rule as u64).to_le_bytes());
            for (name, value) in &e.attrs {
                k.text(name);
                k.text(value);
            }
            k.text(e.text.as_deref().unwrap_or("\u{0}"));
        }
        // Made once with the localization it names (`page::localized`).
        k.0.extend_from_slice(tail);
        // Not the visitor's blocks: a page is kept only if no slot of the
        // config matched (`Plan::watch_slots`), so none would show.
        Some(k)
    }

    /// The parts of the key that the page's localization and memory give
    /// (`Key::of` appends them): the same for every request that shares them.
    pub fn tail(l10n: Option<&L10n>, tm: Option<&Memory>) -> Vec<u8> {
        let mut k = Key(Vec::with_capacity(128));
        match l10n {
            // Its locale is the decisions' (a part `of` writes).
            Some(l) => {
                k.text(&l.currency);
                k.text(l.prices_status);
                k.text(if l.dict.is_some() { "dict" } else { "" });
                match l.prices.as_ref().and_then(|p| p.converter.as_ref()) {
                    Some(c) => k.converter(c),
                    None => k.text(""),
                }
                k.text(if l.prices.is_some() { "format" } else { "" });
                for (c, r) in l.detect.iter().flat_map(|s| &s.converters) {
                    k.text(c);
                    match r {
                        Ok(c) => k.converter(c),
                        Err(why) => k.text(why.as_str()),
                    }
                }
            }
            None => k.text("no-l10n"),
        }
        k.text(&tm.map(|m| m.id()).unwrap_or_default());
        k.0
    }

    /// One part of `pieces` joined, prefixed by its length, so no two lists
    /// of parts give one key. Bytes, not text: the digest and numbers go in
    /// raw (no hex or decimal made per request). Out of line: one copy of
    /// its code, not one per part.
    #[inline(never)]
    fn joined(&mut self, pieces: &[&[u8]]) {
        let len: usize = pieces.iter().map(|p| p.len()).sum();
        self.0.extend_from_slice(&(len as u64).to_le_bytes());
        for p in pieces {
            self.0.extend_from_slice(p);
        }
    }

    fn part(&mut self, p: &[u8]) {
        self.joined(&[p]);
    }

    fn text(&mut self, p: &str) {
        self.part(p.as_bytes());
    }

    /// What a converter does, exactly, as one part: its currencies (each
    /// after its length) and factor (the rounding rule comes from the
    /// config, whose digest is a part).
    fn converter(&mut self, c: &crate::base::money::Converter) {
        let (from, to) = (c.from.as_bytes(), c.to.as_bytes());
        let bits = c.factor_bits().to_le_bytes();
        let (lf, lt) = (
            (from.len() as u64).to_le_bytes(),
            (to.len() as u64).to_le_bytes(),
        );
        self.joined(&[&lf, from, &lt, to, &bits]);
    }
}

/// What a kept page's rewrite found, for its log lines.
#[derive(Debug, Clone, Default)]
pub struct Kept {
    pub out: Vec<u8>,
    pub prices: Option<Counts>,
    pub tm: Option<Report>,
}

struct Entry {
    key: Key,
    origin: Vec<u8>,
    at_ms: i64,
    kept: Rc<Kept>,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.origin.len() + self.kept.out.len() + self.key.0.len()
    }
}

thread_local! {
    /// The kept pages and their bytes in all.
    static KEPT: RefCell<(usize, VecDeque<Entry>)> = const { RefCell::new((0, VecDeque::new())) };
    /// Pages answered from a kept one (tests, the bench).
    static HITS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The page kept for `key` and exactly these origin bytes.
pub fn get(key: &Key, origin: &[u8], now_ms: i64) -> Option<Rc<Kept>> {
    let kept = find(key, origin, now_ms, |e| Rc::clone(&e.kept));
    if kept.is_some() {
        HITS.set(HITS.get() + 1);
    }
    kept
}

/// Whether a page is kept for `key` and these bytes (phase two asks, before
/// the body does: such a page needs no blocks chosen).
pub fn has(key: &Key, origin: &[u8], now_ms: i64) -> bool {
    find(key, origin, now_ms, |_| ()).is_some()
}

fn find<T>(key: &Key, origin: &[u8], now_ms: i64, then: impl FnOnce(&Entry) -> T) -> Option<T> {
    KEPT.with_borrow(|(_, kept)| {
        kept.iter()
            .find(|e| {
                e.origin.len() == origin.len()
                    && e.key.0.len() == key.0.len()
                    && now_ms.saturating_sub(e.at_ms) < MAX_AGE_MS
                    && e.at_ms <= now_ms
                    && e.key == *key
                    && e.origin == origin
            })
            .map(then)
    })
}

/// Keeps a page rewritten from `origin` under `key`, the oldest pages
/// dropped to make room.
pub fn put(key: Key, origin: &[u8], kept: Kept, now_ms: i64) {
    let entry = Entry {
        key,
        origin: origin.to_vec(),
        at_ms: now_ms,
        kept: Rc::new(kept),
    };
    let size = entry.bytes();
    if size > MAX_PAGE {
        return;
    }
    KEPT.with_borrow_mut(|(bytes, kept)| {
        // One entry per key and origin: a page kept again replaces its own.
        if let Some(i) = kept
            .iter()
            .position(|e| e.key == entry.key && e.origin == entry.origin)
        {
            if let Some(old) = kept.remove(i) {
                *bytes -= old.bytes();
            }
        }
        while *bytes + size > MAX_BYTES || kept.len() >= MAX_ENTRIES {
            match kept.pop_front() {
                Some(old) => *bytes -= old.bytes(),
                None => break,
            }
        }
        *bytes += size;
        kept.push_back(entry);
    });
}

/// Pages kept in this isolate, and answers given from them.
pub fn count() -> (usize, u64) {
    (KEPT.with_borrow(|(_, kept)| kept.len()), HITS.get())
}

/// Forgets every kept page (tests: a cold isolate).
pub fn clear() {
    KEPT.with_borrow_mut(|(bytes, kept)| {
        kept.clear();
        *bytes = 0;
    });
    HITS.set(0);
}

#[cfg(test)]
mod tests {
    use super::{clear, count};
    use crate::page::sim::{Served, Shop, Visit};
    use crate::page::values::Kind;
    use crate::schema::{Card, CountryPack};
    use std::collections::BTreeMap;

    const NOW_MS: i64 = 1_764_000_000_000;
    const PLAIN: &str = "<html><head><title>About</title></head><body><h1>About us</h1><p>Tea, cakes &amp; gifts.</p></body></html>";
    const SLOT: &str =
        r#"<html><body><p>Hello</p><div data-borderless-slot="recs"></div></body></html>"#;

    fn shop() -> Shop {
        let site = r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"},
            "rules":[{"select":"html","set_attr":{"data-country":"{country}"}},{"select":"h1","set_text":"Hi {country}"}],
            "personalization":{"slots":{"recs":{"block":"segment"}},"cards":3,"holdout":0}}"#;
        let card = Card {
            id: "p1".into(),
            title: BTreeMap::from([("en-GB".into(), "Popular".into())]),
            category: "Gifts".into(),
            price: "2.55".into(),
            currency: "GBP".into(),
            image: "/img/p1.svg".into(),
            url: "/p/p1".into(),
        };
        let pack = CountryPack {
            country: "ZZ".into(),
            segments: BTreeMap::from([("*:*:*:*:*".into(), vec!["p1".into()])]),
            trending: vec![],
            also_bought: BTreeMap::new(),
            cards: BTreeMap::from([("p1".into(), card)]),
        };
        let mut s = Shop::new(site);
        for c in ["JP", "DE"] {
            let pack = serde_json::to_string(&pack).unwrap();
            s = s.value(&format!("b/t/country/{c}"), Kind::Pack, &pack);
        }
        s.preview = None;
        s
    }

    fn visit(country: &str, chunk: usize) -> Visit {
        let mut v = Visit::get("/about", country);
        v.now_ms = NOW_MS;
        v.chunk = chunk;
        v.fresh_id = Some("0123456789abcdef0123456789abcdef".into());
        v
    }

    fn same(a: &Served, b: &Served) {
        assert_eq!(a.text(), b.text());
        assert_eq!(a.headers, b.headers);
        let lines = |s: &Served| s.logs.iter().map(|l| l.line.clone()).collect::<Vec<_>>();
        assert_eq!(lines(a), lines(b));
    }

    #[test]
    fn key_parts_never_run_together() {
        let key = |parts: &[&str]| {
            let mut k = super::Key(Vec::new());
            for p in parts {
                k.text(p);
            }
            k
        };
        assert_ne!(key(&["ab", "c"]), key(&["a", "bc"]));
        assert_ne!(key(&["", "x"]), key(&["x", ""]));
        assert_eq!(key(&["a", "b"]), key(&["a", "b"]));
    }

    #[test]
    fn a_kept_page_is_the_page_rewritten_again() {
        clear();
        let shop = shop();
        let streamed = shop.page(&visit("JP", 7), PLAIN);
        assert!(
            streamed.text().contains("<h1>Hi JP</h1>"),
            "{}",
            streamed.text()
        );
        assert_eq!(count(), (0, 0), "a streamed page is not kept");
        // Each a first view in the isolate: the same assignment line.
        crate::page::seen::clear();
        let first = shop.page(&visit("JP", 0), PLAIN);
        assert_eq!(count(), (1, 0));
        crate::page::seen::clear();
        let again = shop.page(&visit("JP", 0), PLAIN);
        assert_eq!(count(), (1, 1), "answered from the kept page");
        same(&streamed, &first);
        same(&streamed, &again);
        let assigned = |s: &Served| s.logs.iter().any(|l| l.line.contains("\"assignment\""));
        assert!(assigned(&again), "{:?}", again.logs);
        // A repeat view of the same visitor logs it no more.
        let repeat = shop.page(&visit("JP", 0), PLAIN);
        assert_eq!(count(), (1, 2));
        assert!(!assigned(&repeat), "{:?}", repeat.logs);
        assert_eq!(repeat.text(), again.text());
    }

    #[test]
    fn other_bytes_or_another_variant_are_rewritten() {
        clear();
        let shop = shop();
        shop.page(&visit("JP", 0), PLAIN);
        let other = PLAIN.replace("gifts", "gift");
        let out = shop.page(&visit("JP", 0), &other);
        assert!(out.text().contains("gift."));
        let de = shop.page(&visit("DE", 0), PLAIN);
        assert!(de.text().contains("data-country=\"DE\""), "{}", de.text());
        assert!(de.text().contains("<h1>Hi DE</h1>"));
        let mut later = visit("JP", 0);
        later.url = "https://shop.test/about?x=1".into();
        shop.page(&later, PLAIN);
        assert_eq!(count(), (4, 0));
    }

    #[test]
    fn a_page_with_a_slot_is_never_kept() {
        // JP: its block fills the slot. US (no pack): no block to choose,
        // but the slot is watched all the same; kept, the page would be
        // the JP visitor's too, were the key to match.
        for (country, slot) in [
            ("JP", "Popular"),
            ("US", r#"data-borderless-slot="recs"></div>"#),
        ] {
            clear();
            let shop = shop();
            for _ in 0..2 {
                let out = shop.page(&visit(country, 0), SLOT);
                assert!(out.text().contains(slot), "{}", out.text());
            }
            assert_eq!(count(), (0, 0), "{country}");
        }
    }

    #[test]
    fn a_kept_answer_has_the_headers_of_a_rewritten_one() {
        // The kept answer skips the choice of blocks: the cookies and the
        // validator must not depend on it.
        let tagged = super::super::sim::OriginResponse {
            status: 200,
            headers: vec![
                ("content-type".into(), "text/html; charset=utf-8".into()),
                ("etag".into(), "\"v1\"".into()),
            ],
            body: PLAIN.as_bytes().to_vec(),
        };
        // A personal page (a cookie set, or blocks chosen: JP has a pack)
        // has no validator; another has its variant's.
        for (country, known, personal) in
            [("US", false, true), ("US", true, false), ("JP", true, true)]
        {
            clear();
            let shop = shop();
            let mut v = visit(country, 0);
            if known {
                v.fresh_id = None;
                v = v.header("cookie", "borderless_vid=0123456789abcdef0123456789abcdef");
            }
            crate::page::seen::clear();
            let first = shop.serve(&v, &tagged).unwrap();
            crate::page::seen::clear();
            let again = shop.serve(&v, &tagged).unwrap();
            assert_eq!(count(), (1, 1), "{country}");
            same(&first, &again);
            assert_eq!(
                first.header("set-cookie").is_none(),
                known,
                "{:?}",
                first.headers
            );
            assert_eq!(
                first.header("etag").is_none(),
                personal,
                "{:?}",
                first.headers
            );
        }
    }

    #[test]
    fn previews_and_kept_pages_off_are_never_kept() {
        clear();
        let mut shop = shop();
        shop.preview = Some("on".into());
        shop.page(&visit("JP", 0), PLAIN);
        shop.page(&visit("JP", 0), PLAIN);
        shop.preview = None;
        shop.keep = false;
        shop.page(&visit("JP", 0), PLAIN);
        shop.page(&visit("JP", 0), PLAIN);
        assert_eq!(count(), (0, 0));
    }

    #[test]
    fn a_new_config_misses() {
        clear();
        let shop = shop();
        shop.page(&visit("JP", 0), PLAIN);
        let mut changed = Shop::new(
            r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"},
            "rules":[{"select":"html","set_attr":{"data-country":"x{country}"}}]}"#,
        );
        changed.preview = None;
        let out = changed.page(&visit("JP", 0), PLAIN);
        assert!(
            out.text().contains("data-country=\"xJP\""),
            "{}",
            out.text()
        );
        assert_eq!(count(), (2, 0));
    }

    #[test]
    fn kept_pages_expire_and_stay_bounded() {
        clear();
        let shop = shop();
        shop.page(&visit("JP", 0), PLAIN);
        let mut later = visit("JP", 0);
        later.now_ms = NOW_MS + super::MAX_AGE_MS;
        shop.page(&later, PLAIN);
        assert_eq!(count(), (1, 0), "an old page is rewritten and kept anew");
        let big = format!("<html><body>{}</body></html>", "<p>x</p>".repeat(30_000));
        for i in 0..40 {
            let page = big.replace("<body>", &format!("<body data-i={i}>"));
            shop.page(&visit("JP", 0), &page);
        }
        let bytes = super::KEPT.with_borrow(|(b, _)| *b);
        assert!(bytes <= super::MAX_BYTES, "{bytes}");
        assert!((10..40).contains(&count().0), "{:?}", count());
        clear();
        for i in 0..super::MAX_ENTRIES + 10 {
            shop.page(
                &visit("JP", 0),
                &PLAIN.replace("About", &format!("About {i}")),
            );
        }
        assert_eq!(count().0, super::MAX_ENTRIES);
    }
}
