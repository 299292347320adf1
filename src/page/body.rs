//! The page body: picks the encoding from the first bytes, then streams the
//! origin's chunks through the rewriter; at the end, the log lines.

use crate::page::log::{self, Log};
use crate::page::seen;
use crate::page::variants::{self, Kept, Key};
use crate::plan::Plan;
use crate::rewrite::charset::{self, Charset};
use crate::rewrite::prices::Counts;
use crate::rewrite::tm::Report;
use crate::rewrite::Rewriter;
use std::borrow::Cow;
use std::rc::Rc;

pub struct PageBody {
    plan: Rc<Plan>,
    declared: Option<Charset>,
    sniff: Vec<u8>,
    rw: Option<Rewriter>,
    path: String,
    /// The page's variant key, if it may be kept (see [`variants`]).
    key: Option<Key>,
    now_ms: i64,
}

/// What the rewrite found that the log lines report.
struct Found<'a> {
    /// The memory's report and the page's random byte (for sampling).
    tm: Option<(Cow<'a, Report>, u8)>,
    prices: Option<Counts>,
    bail_out: Option<String>,
}

impl PageBody {
    pub(crate) fn new(
        plan: Rc<Plan>,
        declared: Option<Charset>,
        path: String,
        key: Option<Key>,
        now_ms: i64,
    ) -> PageBody {
        PageBody {
            plan,
            declared,
            sniff: Vec::new(),
            rw: None,
            path,
            key,
            now_ms,
        }
    }

    /// The whole origin body at once (the entry read it in one piece): the
    /// page and its log lines, as [`Self::write`] then [`Self::end`] give
    /// them. A page kept from an earlier request with the same key and the
    /// same origin bytes is not rewritten again.
    pub fn whole(&mut self, body: &[u8]) -> (Vec<u8>, Vec<Log>) {
        let key = if self.rw.is_none() && self.sniff.is_empty() {
            self.key.take()
        } else {
            None
        };
        if let Some(kept) = key
            .as_ref()
            .and_then(|k| variants::get(k, body, self.now_ms))
        {
            let found = Found {
                // A random byte only where a line may be sampled.
                tm: kept.tm.as_ref().map(|r| {
                    let sample = if r.missing > 0 { fresh_sample() } else { 0 };
                    (Cow::Borrowed(r), sample)
                }),
                prices: kept.prices,
                bail_out: None,
            };
            return (kept.out.clone(), self.lines(&found));
        }
        // A page that may be kept watches every slot (`Plan::watch_slots`).
        self.plan.watch_slots.set(key.is_some());
        let mut out = self.write(body);
        let (tail, logs) = self.end();
        out.extend(tail);
        if let (Some(key), Some(rw)) = (key, self.rw.as_ref()) {
            // No slot of the config matched (all were watched), so no block.
            if rw.complete() && !self.plan.slot_seen.get() {
                let kept = Kept {
                    out: out.clone(),
                    prices: rw.price_counts(),
                    tm: rw.tm_report().map(|(r, _)| r),
                };
                variants::put(key, body, kept, self.now_ms);
            }
        }
        (out, logs)
    }

    /// Feeds one origin chunk; returns the bytes ready to send. Until the
    /// encoding is known (at most [`charset::PRESCAN_BYTES`]) nothing is sent.
    pub fn write(&mut self, chunk: &[u8]) -> Vec<u8> {
        match self.rw.as_mut() {
            Some(rw) => rw.write(chunk),
            None => {
                self.sniff.extend_from_slice(chunk);
                if self.sniff.len() < charset::PRESCAN_BYTES {
                    return Vec::new();
                }
                self.start()
            }
        }
    }

    /// Ends the page: the last bytes, and the log lines (a bail-out, the
    /// exposure of the blocks shown or else the visitor's assignment, a
    /// conversion).
    pub fn end(&mut self) -> (Vec<u8>, Vec<Log>) {
        let mut out = if self.rw.is_none() {
            self.start()
        } else {
            Vec::new()
        };
        let Some(rw) = self.rw.as_mut() else {
            return (out, Vec::new());
        };
        out.extend(rw.end());
        let found = Found {
            tm: rw.tm_report().map(|(r, s)| (Cow::Owned(r), s)),
            prices: rw.price_counts(),
            bail_out: rw.bail_out().map(str::to_owned),
        };
        let logs = self.lines(&found);
        (out, logs)
    }

    /// The page's log lines, from what its rewrite found.
    fn lines(&self, found: &Found) -> Vec<Log> {
        let mut logs = Vec::new();
        if let Some(line) = found.tm.as_ref().and_then(|t| self.missing_line(t)) {
            logs.push(log::info(line));
        }
        if let Some(why) = &found.bail_out {
            logs.push(log::error("rewriter_bail_out", why, &self.path));
        }
        // What the price stage found on the page and why any stayed.
        if let Some(c) = found.prices.filter(|c| c.found > 0) {
            logs.push(log::prices(&c, &self.path));
        }
        let exposure = match (&self.plan.personal, &self.plan.site.personal) {
            (Some(p), Some(c)) => p.exposure(&c.slots),
            _ => None,
        };
        if let Some(line) = exposure.or_else(|| self.assignment_line()) {
            logs.push(log::info(line));
        }
        if let Some(line) = self.plan.conversion.as_ref().and_then(|c| c.line()) {
            logs.push(log::info(line));
        }
        logs
    }

    /// The visitor's assignment line, if it is due (see [`seen`]).
    fn assignment_line(&self) -> Option<String> {
        let a = self.plan.assignment.as_ref()?;
        let l = &a.line;
        if !a.every && !seen::due(&[&l.visitor, &l.arm, &l.segment], self.now_ms) {
            return None;
        }
        serde_json::to_string(l).ok()
    }

    /// One page in `log_missing_one_in` with segments missing from the
    /// memory logs them, so the shop can find what to translate.
    fn missing_line(&self, (r, sample): &(Cow<Report>, u8)) -> Option<String> {
        let one_in = self
            .plan
            .site
            .doc
            .localization
            .as_ref()?
            .translation
            .as_ref()?
            .log_missing_one_in;
        if r.missing == 0 || one_in == 0 || u32::from(*sample) % one_in != 0 {
            return None;
        }
        let locale = self.plan.tm.as_ref().map_or("", |m| m.locale());
        let line = serde_json::json!({
            "event": "translation_missing",
            "locale": locale,
            "path": log::excerpt(&self.path, 240),
            "segments": r.segments,
            "translated": r.translated,
            "missing": r.missing,
            "left": r.left,
            "keys": r.missing_keys.iter().take(16).collect::<Vec<_>>(),
        });
        Some(line.to_string())
    }

    /// Picks the encoding from the first bytes and starts the rewriter on them.
    fn start(&mut self) -> Vec<u8> {
        let head = std::mem::take(&mut self.sniff);
        let charset = charset::from_bom(&head)
            .or(self.declared)
            .unwrap_or_else(|| charset::sniff(&head));
        let memory = self.plan.site.doc.limits.rewriter_memory;
        let mut rw = match charset {
            // Only when the header named no charset may a <meta> change it.
            Charset::Stream(enc) => {
                Rewriter::new(Rc::clone(&self.plan), enc, memory, self.declared.is_none())
            }
            Charset::Unsupported => Rewriter::passthrough(),
        };
        let out = rw.write(&head);
        self.rw = Some(rw);
        out
    }
}

/// A random byte for a kept page's log sampling (a rewrite draws it from
/// its memory's nonce).
fn fresh_sample() -> u8 {
    let mut b = [0u8; 1];
    let _ = getrandom::fill(&mut b);
    u8::from_ne_bytes(b)
}
