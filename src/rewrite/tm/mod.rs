//! Translation memory at the edge: a page's own text (not written for us)
//! translated segment by segment while it streams.
//!
//! lol_html handlers ([`segment`]) cut the page into segments — the text of a
//! block with its inline markup — and wrap each candidate in comment markers
//! carrying a per-rewriter random nonce. The post-processor ([`post`]) reads
//! lol_html's output bytes, buffers only from a segment's start marker to its
//! end marker (bounded), and emits either the translation (inline tags from
//! the origin's bytes, in the target's order) or the origin's bytes
//! unchanged. Markers never leave it, so every byte outside a translated
//! segment is the origin's.

mod entities;
pub mod memory;
pub mod notation;
pub mod post;
pub mod segment;

use memory::Memory;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// How a site's pages are segmented (config: `localization.translation`).
pub use crate::schema::Translation as Options;

/// Why a segment was left as the origin sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Left {
    /// Over `max_segment_bytes`.
    OverBound,
    /// A comment, an unclosed or misnested inline element, a block inside
    /// an inline one.
    Markup,
    /// A character reference the decoder does not know.
    Entity,
    /// The memory's entry does not have the source's placeholders.
    InvalidEntry,
    /// The page's bytes did not match what the handlers saw (never expected).
    Mismatch,
}

/// What happened to one page's segments (for the preview report and logs).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Candidate segments (text with letters), attributes included.
    pub segments: u32,
    pub translated: u32,
    /// Not in the memory.
    pub missing: u32,
    pub left: BTreeMap<Left, u32>,
    /// Keys of the first missing segments (for `translation_missing`).
    pub missing_keys: Vec<String>,
}

impl Report {
    fn leave(&mut self, why: Left) {
        self.segments += 1;
        *self.left.entry(why).or_default() += 1;
    }
    fn miss(&mut self, key: &str) {
        self.missing += 1;
        if self.missing_keys.len() < 32 {
            self.missing_keys.push(key.to_string());
        }
    }
}

/// A segment found on a page (extraction).
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub key: String,
    pub source: notation::Source,
    /// Where: the enclosing block (`p.intro`), `@alt` for an attribute.
    pub path: String,
}

/// State shared by the handlers and the post-processor of one page.
pub struct Tm {
    pub opts: Rc<Options>,
    pub memory: Option<Rc<Memory>>,
    pub report: Report,
    /// Every segment seen, when extracting.
    pub found: Option<Vec<Found>>,
    pub(crate) seg: segment::Segmenter,
}

pub type Shared = Rc<RefCell<Tm>>;

impl Tm {
    /// `None` when no nonce can be drawn (then nothing is translated).
    pub fn new(opts: Rc<Options>, memory: Option<Rc<Memory>>, extract: bool) -> Option<Shared> {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).ok()?;
        let nonce = crate::base::ids::hex(&b);
        Some(Rc::new(RefCell::new(Tm {
            opts,
            memory,
            report: Report::default(),
            found: extract.then(Vec::new),
            seg: segment::Segmenter::new(nonce),
        })))
    }

    pub fn nonce(&self) -> &str {
        &self.seg.nonce
    }

    /// A random byte of this page (from the nonce), for sampling log lines.
    pub fn sample(&self) -> u8 {
        self.seg
            .nonce
            .get(..2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0)
    }

    /// Looks a source up; counts a miss. `None`: leave the source.
    fn lookup(&mut self, src: &notation::Source, path: &str) -> Option<Vec<notation::Tok>> {
        let key = src.key();
        if let Some(f) = self.found.as_mut() {
            f.push(Found {
                key: key.clone(),
                source: src.clone(),
                path: path.to_string(),
            });
        }
        let Some(target) = self.memory.as_ref().and_then(|m| m.get(&key)) else {
            self.report.segments += 1;
            self.report.miss(&key);
            return None;
        };
        match notation::parse(target).filter(|t| notation::validate(t, &src.kinds).is_ok()) {
            Some(t) => {
                self.report.segments += 1;
                self.report.translated += 1;
                Some(t)
            }
            None => {
                self.report.leave(Left::InvalidEntry);
                None
            }
        }
    }
}

/// A validated target as plain text, numbers restored from the source.
pub(crate) fn render_plain(src: &notation::Source, target: &[notation::Tok]) -> Option<String> {
    let mut out = String::new();
    for tok in target {
        match tok {
            notation::Tok::Text(s) => out.push_str(s),
            notation::Tok::Number(n) => {
                let part = src.parts.get(usize::from(*n).checked_sub(1)?)?;
                out.push_str(std::str::from_utf8(&part.open).ok()?);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The memory's translation of a plain text (a promo line the worker
/// inserts), if it has a valid one.
pub fn translate_plain(m: &Memory, text: &str) -> Option<String> {
    let src = notation::build(&[notation::Piece::Text(text)])?;
    let toks = notation::parse(m.get(&src.key())?)?;
    notation::validate(&toks, &src.kinds).ok()?;
    render_plain(&src, &toks)
}

/// A standalone rewriter that only translates (tests, `borderless extract`):
/// bytes in, bytes out, in the page's (ASCII-compatible) encoding.
pub struct Translator {
    inner: Option<lol_html::HtmlRewriter<'static, SinkVec>>,
    out: Rc<RefCell<Vec<u8>>>,
    post: post::Post,
    pub tm: Shared,
}

pub struct SinkVec(Rc<RefCell<Vec<u8>>>);

impl lol_html::OutputSink for SinkVec {
    fn handle_chunk(&mut self, chunk: &[u8]) {
        self.0.borrow_mut().extend_from_slice(chunk);
    }
}

impl Translator {
    pub fn new(
        tm: Shared,
        encoding: &'static encoding_rs::Encoding,
        memory_cap: usize,
    ) -> Result<Translator, String> {
        let enc = lol_html::AsciiCompatibleEncoding::new(encoding)
            .ok_or("encoding is not ASCII compatible")?;
        let settings = lol_html::Settings::new()
            .with_encoding(enc)
            .with_strict(false)
            .with_memory_settings(
                lol_html::MemorySettings::new()
                    .with_max_allowed_memory_usage(memory_cap)
                    .with_graceful_bail_out_on_memory_limit_exceeded(true),
            )
            .with_graceful_bail_out_on_content_handler_error(true);
        let settings = segment::attach(&tm, settings);
        let out = Rc::new(RefCell::new(Vec::new()));
        let inner = lol_html::HtmlRewriter::new(settings, SinkVec(Rc::clone(&out)));
        Ok(Translator {
            inner: Some(inner),
            out,
            post: post::Post::new(Rc::clone(&tm), encoding),
            tm,
        })
    }

    pub fn write(&mut self, chunk: &[u8]) -> Vec<u8> {
        if let Some(r) = self.inner.as_mut() {
            if r.write(chunk).is_err() {
                self.inner = None;
            }
        } else {
            self.out.borrow_mut().extend_from_slice(chunk);
        }
        self.drain(false)
    }

    pub fn end(&mut self) -> Vec<u8> {
        if let Some(r) = self.inner.take() {
            let _ = r.end();
        }
        self.drain(true)
    }

    fn drain(&mut self, last: bool) -> Vec<u8> {
        let bytes = std::mem::take(&mut *self.out.borrow_mut());
        let mut out = Vec::with_capacity(bytes.len());
        self.post.feed(&bytes, &mut out);
        if last {
            self.post.finish(&mut out);
        }
        out
    }
}

/// Translates a whole page (tests and tools).
pub fn translate_page(
    html: &[u8],
    encoding: &'static encoding_rs::Encoding,
    opts: Rc<Options>,
    memory: Option<Rc<Memory>>,
    extract: bool,
    chunk: usize,
) -> Result<(Vec<u8>, Shared), String> {
    let tm = Tm::new(opts, memory, extract).ok_or("no random nonce")?;
    let mut t = Translator::new(Rc::clone(&tm), encoding, 4 << 20)?;
    let mut out = Vec::with_capacity(html.len() + 1024);
    for c in html.chunks(chunk.max(1)) {
        out.extend(t.write(c));
    }
    out.extend(t.end());
    Ok((out, tm))
}

#[cfg(test)]
mod tests;
