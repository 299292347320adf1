//! The page body: picks the encoding from the first bytes, then streams the
//! origin's chunks through the rewriter; at the end, the log lines.

use crate::page::log::{self, Log};
use crate::plan::Plan;
use crate::rewrite::charset::{self, Charset};
use crate::rewrite::Rewriter;
use std::rc::Rc;

pub struct PageBody {
    plan: Rc<Plan>,
    declared: Option<Charset>,
    sniff: Vec<u8>,
    rw: Option<Rewriter>,
    path: String,
}

impl PageBody {
    pub(crate) fn new(plan: Rc<Plan>, declared: Option<Charset>, path: String) -> PageBody {
        PageBody {
            plan,
            declared,
            sniff: Vec::new(),
            rw: None,
            path,
        }
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
        let mut logs = Vec::new();
        if let Some(rw) = self.rw.as_mut() {
            out.extend(rw.end());
        }
        if let Some(line) = self.rw.as_ref().and_then(|rw| self.missing_line(rw)) {
            logs.push(log::info(line));
        }
        if let Some(rw) = self.rw.as_mut() {
            if let Some(why) = rw.bail_out() {
                logs.push(log::error("rewriter_bail_out", why, &self.path));
            }
            // What the price stage found on the page and why any stayed.
            if let Some(c) = rw.price_counts().filter(|c| c.found > 0) {
                logs.push(log::prices(&c, &self.path));
            }
            let exposure = match (&self.plan.personal, &self.plan.site.personal) {
                (Some(p), Some(c)) => p.exposure(&c.slots),
                _ => None,
            };
            if let Some(line) = exposure.or_else(|| self.plan.assignment.clone()) {
                logs.push(log::info(line));
            }
            if let Some(line) = self.plan.conversion.as_ref().and_then(|c| c.line()) {
                logs.push(log::info(line));
            }
        }
        (out, logs)
    }

    /// One page in `log_missing_one_in` with segments missing from the
    /// memory logs them, so the shop can find what to translate.
    fn missing_line(&self, rw: &Rewriter) -> Option<String> {
        let (r, sample) = rw.tm_report()?;
        let one_in = self
            .plan
            .site
            .doc
            .localization
            .as_ref()?
            .translation
            .as_ref()?
            .log_missing_one_in;
        if r.missing == 0 || one_in == 0 || u32::from(sample) % one_in != 0 {
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
