//! The post-processor: strips the segmenter's markers from lol_html's
//! output and replaces each clean segment by its translation. It buffers
//! only between a segment's markers, and never more than a bound.

use super::notation::{self, Piece, Tok};
use super::segment::{Rec, Verdict, VOID_INLINE};
use super::{Left, Shared};
use encoding_rs::Encoding;

thread_local! {
    /// The markers' common start, its searcher built once per isolate
    /// (`memmem::find` builds one per call).
    static MARKER: memchr::memmem::Finder<'static> = memchr::memmem::Finder::new(b"<!--tm");
}

pub struct Post {
    tm: Shared,
    enc: &'static Encoding,
    /// `<!--tm<nonce>`.
    prefix: Vec<u8>,
    /// Input held back: it may be the start of a marker.
    carry: Vec<u8>,
    /// The segment being buffered: its id and bytes.
    seg: Option<(u32, Vec<u8>)>,
    cap: usize,
}

enum Marker {
    Start(u32),
    End(u32),
}

impl Post {
    pub fn new(tm: Shared, enc: &'static Encoding) -> Post {
        let (prefix, cap) = {
            let t = tm.borrow();
            (
                format!("<!--tm{}", t.nonce()).into_bytes(),
                t.opts.max_segment_bytes.saturating_mul(4) + 4096,
            )
        };
        Post {
            tm,
            enc,
            prefix,
            carry: Vec::new(),
            seg: None,
            cap,
        }
    }

    /// Processes output bytes of the rewriter; appends what is ready to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let data: Vec<u8>;
        let mut buf: &[u8] = if self.carry.is_empty() {
            input
        } else {
            let mut d = std::mem::take(&mut self.carry);
            d.extend_from_slice(input);
            data = d;
            &data
        };
        loop {
            let Some(i) = MARKER.with(|f| f.find(buf)) else {
                // Hold back a tail that may begin a marker.
                let keep = partial_tail(buf, &self.prefix);
                let (ready, tail) = buf
                    .split_at_checked(buf.len().saturating_sub(keep))
                    .unwrap_or((buf, &[]));
                self.emit(ready, out);
                self.carry = tail.to_vec();
                break;
            };
            let (before, rest) = buf.split_at_checked(i).unwrap_or((buf, &[]));
            self.emit(before, out);
            match self.parse_marker(rest) {
                Parsed::Incomplete => {
                    self.carry = rest.to_vec();
                    break;
                }
                Parsed::NotOurs => {
                    let (one, more) = rest.split_at_checked(1).unwrap_or((rest, &[]));
                    self.emit(one, out);
                    buf = more;
                }
                Parsed::Marker(m, len) => {
                    self.marker(m, out);
                    buf = rest.get(len..).unwrap_or_default();
                }
            }
        }
        self.check_abandoned(out);
    }

    /// Ends the stream: whatever is held goes out as it came.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let carry = std::mem::take(&mut self.carry);
        self.emit(&carry, out);
        if let Some((_, bytes)) = self.seg.take() {
            out.extend_from_slice(&bytes);
        }
    }

    fn emit(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        match self.seg.as_mut() {
            Some((_, b)) => {
                b.extend_from_slice(bytes);
                if b.len() > self.cap {
                    out.append(b);
                    self.seg = None;
                }
            }
            None => out.extend_from_slice(bytes),
        }
    }

    /// Flushes the buffered segment once the handlers abandoned it.
    fn check_abandoned(&mut self, out: &mut Vec<u8>) {
        let Some((id, _)) = self.seg else { return };
        let aborted = matches!(
            self.tm.borrow().seg.verdicts.get(&id),
            Some(Verdict::Aborted)
        );
        if aborted {
            if let Some((_, b)) = self.seg.take() {
                out.extend_from_slice(&b);
            }
        }
    }

    fn parse_marker(&self, rest: &[u8]) -> Parsed {
        let p = &self.prefix;
        let n = rest.len().min(p.len());
        if rest.get(..n) != p.get(..n) {
            return Parsed::NotOurs;
        }
        let Some(tail) = rest.get(p.len()..) else {
            return Parsed::Incomplete;
        };
        let Some((&kind, num)) = tail.split_first() else {
            return Parsed::Incomplete;
        };
        let digits = num.iter().take_while(|b| b.is_ascii_digit()).count();
        let (num, after) = num.split_at_checked(digits).unwrap_or((num, &[]));
        if after.len() < 3 && b"-->".starts_with(after) && digits <= 10 {
            return Parsed::Incomplete;
        }
        let id = std::str::from_utf8(num)
            .ok()
            .and_then(|d| d.parse::<u32>().ok());
        match (kind, id, after.starts_with(b"-->")) {
            (b's', Some(id), true) => Parsed::Marker(Marker::Start(id), p.len() + 4 + digits),
            (b'e', Some(id), true) => Parsed::Marker(Marker::End(id), p.len() + 4 + digits),
            _ => Parsed::NotOurs,
        }
    }

    fn marker(&mut self, m: Marker, out: &mut Vec<u8>) {
        match m {
            Marker::Start(id) => {
                if let Some((_, b)) = self.seg.take() {
                    out.extend_from_slice(&b);
                }
                let mut t = self.tm.borrow_mut();
                // Verdicts of segments before this one are no longer needed.
                t.seg.verdicts = t.seg.verdicts.split_off(&id);
                if !matches!(t.seg.verdicts.get(&id), Some(Verdict::Aborted)) {
                    self.seg = Some((id, Vec::new()));
                }
            }
            Marker::End(id) => {
                let Some((sid, bytes)) = self.seg.take() else {
                    return;
                };
                if sid != id {
                    out.extend_from_slice(&bytes);
                    return;
                }
                let verdict = self.tm.borrow_mut().seg.verdicts.remove(&id);
                match verdict {
                    Some(Verdict::Clean { recs, path }) => {
                        match self.render(&bytes, &recs, &path) {
                            Some(t) => out.extend_from_slice(&t),
                            None => out.extend_from_slice(&bytes),
                        }
                    }
                    _ => out.extend_from_slice(&bytes),
                }
            }
        }
    }

    /// The translation of a clean segment, or `None` to keep its bytes.
    fn render(&mut self, raw: &[u8], recs: &[Rec], path: &str) -> Option<Vec<u8>> {
        let toks = scan(raw)?;
        let mut texts = Vec::with_capacity(toks.len());
        for t in &toks {
            if let Scanned::Text(r) = t {
                let s = self
                    .enc
                    .decode_without_bom_handling_and_without_replacement(raw.get(r.clone())?)?;
                texts.push(s.into_owned());
            }
        }
        // What the bytes say must be what the handlers saw.
        let mut seen = Vec::with_capacity(toks.len());
        let mut ti = texts.iter();
        for t in &toks {
            seen.push(match t {
                Scanned::Text(_) => Rec::Text(ti.next()?.clone()),
                Scanned::Start(n, _) => Rec::Start(n.clone()),
                Scanned::End(n, _) => Rec::End(n.clone()),
            });
        }
        let mut tm = self.tm.borrow_mut();
        if seen != recs {
            tm.report.leave(Left::Mismatch);
            return None;
        }
        let mut decoded = Vec::with_capacity(texts.len());
        for s in &texts {
            match notation::decode_entities(s) {
                Some(d) => decoded.push(d),
                None => {
                    tm.report.leave(Left::Entity);
                    return None;
                }
            }
        }
        let mut di = decoded.iter();
        let mut pieces = Vec::with_capacity(toks.len());
        for t in &toks {
            pieces.push(match t {
                Scanned::Text(_) => Piece::Text(di.next()?),
                Scanned::Start(n, r) if VOID_INLINE.contains(&n.as_str()) => {
                    Piece::Single(raw.get(r.clone())?)
                }
                Scanned::Start(_, r) => Piece::Open(raw.get(r.clone())?),
                Scanned::End(_, r) => Piece::Close(raw.get(r.clone())?),
            });
        }
        let Some(src) = notation::build(&pieces) else {
            tm.report.leave(Left::Markup);
            return None;
        };
        if !src.has_letters {
            return None;
        }
        let target = tm.lookup(&src, path)?;
        drop(tm);
        let lead = raw.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let trail = raw
            .get(lead..)
            .unwrap_or_default()
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        let mut out = Vec::with_capacity(raw.len() + 64);
        out.extend_from_slice(raw.get(..lead).unwrap_or_default());
        for t in &target {
            match t {
                Tok::Text(s) => {
                    let esc = escape_text(s);
                    let (bytes, _, _) = self.enc.encode(&esc);
                    out.extend_from_slice(&bytes);
                }
                Tok::Open(n) | Tok::Single(n) => {
                    out.extend_from_slice(&src.parts.get(usize::from(*n) - 1)?.open)
                }
                Tok::Close(n) => out.extend_from_slice(&src.parts.get(usize::from(*n) - 1)?.close),
                Tok::Number(n) => {
                    let part = &src.parts.get(usize::from(*n) - 1)?.open;
                    let esc = escape_text(std::str::from_utf8(part).ok()?);
                    let (bytes, _, _) = self.enc.encode(&esc);
                    out.extend_from_slice(&bytes);
                }
            }
        }
        out.extend_from_slice(
            raw.get(raw.len().saturating_sub(trail)..)
                .unwrap_or_default(),
        );
        Some(out)
    }
}

enum Parsed {
    Incomplete,
    NotOurs,
    Marker(Marker, usize),
}

/// How many bytes at the end of `buf` could begin `<!--tm<nonce>…`.
fn partial_tail(buf: &[u8], prefix: &[u8]) -> usize {
    let start = buf.len().saturating_sub(prefix.len());
    (start..buf.len())
        .find(|&i| {
            buf.get(i..)
                .is_some_and(|t| t.first() == Some(&b'<') && prefix.starts_with(t))
        })
        .map_or(0, |i| buf.len() - i)
}

fn escape_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            c => o.push(c),
        }
    }
    o
}

/// A segment's bytes, split the way the HTML tokenizer splits text and tags
/// (in ASCII-compatible encodings `<`, `>` and quotes are never part of a
/// multibyte character).
#[derive(Debug)]
enum Scanned {
    Text(std::ops::Range<usize>),
    Start(String, std::ops::Range<usize>),
    End(String, std::ops::Range<usize>),
}

fn scan(b: &[u8]) -> Option<Vec<Scanned>> {
    let mut out = Vec::new();
    let (mut i, mut text) = (0, 0);
    while let Some(&c) = b.get(i) {
        let end_tag = c == b'<' && b.get(i + 1) == Some(&b'/');
        let name_at = if end_tag { i + 2 } else { i + 1 };
        if c != b'<' || !b.get(name_at).is_some_and(u8::is_ascii_alphabetic) {
            i += 1;
            continue;
        }
        if text < i {
            out.push(Scanned::Text(text..i));
        }
        let name_len = b
            .get(name_at..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| !(c.is_ascii_whitespace() || **c == b'/' || **c == b'>'))
            .count();
        let name = String::from_utf8_lossy(b.get(name_at..name_at + name_len).unwrap_or_default())
            .to_ascii_lowercase();
        let mut j = name_at + name_len;
        let close = loop {
            match *b.get(j)? {
                b'>' => break j,
                b'=' => {
                    j += 1;
                    while b.get(j).is_some_and(u8::is_ascii_whitespace) {
                        j += 1;
                    }
                    if let Some(&q @ (b'"' | b'\'')) = b.get(j) {
                        j += 1 + b.get(j + 1..)?.iter().position(|c| *c == q)? + 1;
                        continue;
                    }
                }
                _ => j += 1,
            }
        };
        let range = i..close + 1;
        out.push(if end_tag {
            Scanned::End(name, range)
        } else {
            Scanned::Start(name, range)
        });
        i = close + 1;
        text = i;
    }
    if text < b.len() {
        out.push(Scanned::Text(text..b.len()));
    }
    Some(out)
}
