//! The handler as two synchronous calls, for a page whose config and KV
//! values the isolate already holds (nearly every request): the entry
//! sends the origin request and builds the one response itself, so no
//! futures, promises or runtime objects cross into Wasm. Anything else (a
//! KV read to make, a proxy, the beacon, an error) returns `None`, and the
//! entry calls the async handler, which does it all again from the start.
//!
//! Both calls answer bytes, which `worker/entry.mjs` reads: the length of
//! a text (4 bytes, little-endian), the text, UTF-8 lines, then a body's
//! bytes (`A` and `W`; none for the others):
//! - `F <id>\n<url>\n<edits>`: fetch `url` with the request's headers and
//!   `edits`, then call [`borderless_origin`];
//! - `A <status>\n<edits>`: the worker's own answer, its headers as `a`
//!   edits to none;
//! - `P\n<edits>`: the origin's response with `edits` to its headers;
//! - `R <id> <length>\n<edits>`: the same, its body through the page
//!   parked as `id` (`body.rs`); `length` is the origin's byte count as the
//!   entry reads it, 0 if unknown;
//! - `W\n<edits>`: the same, its body the page rewritten from the origin's
//!   body the entry read whole first: no page parked, no second call, and
//!   the body's work follows phase two's on warm code.
//!
//! An edit line is `s`, `a` or `d` (set, append, delete), the name, `:` and
//! the value. A name or value that could break a line takes the async path.

use super::{body, events, header_lines, kv, panic, prepare, whole_length};
use crate::base::text::push_decimal;
use crate::page::values::Values;
use crate::page::{self, Answer, Finish, HeaderEdit, OriginHead, Prepared, Start};
use std::cell::RefCell;
use std::collections::VecDeque;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::{AnalyticsEngineDataset, Env};

/// A page waiting for its origin's response head.
struct Pending {
    prepared: Box<Prepared>,
    values: Values,
    events: Option<AnalyticsEngineDataset>,
    test_panic: bool,
}

thread_local! {
    /// Pages whose origin request is in flight, with their ids, in the order
    /// they were parked (a few at a time: a scan beats a hash); the entry
    /// finishes or drops its own.
    static PENDING: RefCell<(u32, VecDeque<(u32, Pending)>)> = const { RefCell::new((0, VecDeque::new())) };
}

/// A request the runtime drops while its origin request is out (the visitor
/// left) never comes back for its page: past this many, the oldest goes (a
/// page still wanted then throws, and the entry serves the origin's).
const MAX_PENDING: usize = 1024;

/// Phase one, if the isolate holds all it needs: `F` or `A`, else `None`.
/// `request`: the method, the URL and `cf` as a line (`Geo::from_cf`;
/// empty without one), a line each, then the headers of
/// [`borderless_reads`] as `name:value` lines; UTF-8 the entry encoded
/// (one copy into Wasm memory, where a string argument is copied a
/// character at a time in JS).
#[wasm_bindgen]
pub fn borderless_start(env: Env, request: &[u8]) -> Option<Vec<u8>> {
    let (site, config_read) = kv::cached_config()?;
    let request = std::str::from_utf8(request).ok()?;
    let (method, rest) = request.split_once('\n')?;
    let (url, rest) = rest.split_once('\n')?;
    let (cf, headers) = rest.split_once('\n')?;
    let headers = header_lines(headers);
    let start = prepare(
        &env,
        (method, url),
        &headers,
        Some(cf).filter(|c| !c.is_empty()),
        site,
        config_read,
    );
    let prepared = match start.ok()? {
        Start::Answer(a) => return answer(&a),
        Start::Page(p) => p,
        Start::Proxy { .. } | Start::Beacon(_) => return None,
    };
    let origin = prepared.origin().filter(|o| !o.with_body)?;
    let values = kv::cached_all(prepared.reads(), prepared.reports())?;
    let mut out = String::new();
    line(&mut out, &origin.url)?;
    edits(&mut out, &origin.edits)?;
    let pending = Pending {
        prepared,
        values,
        events: events::dataset(&env),
        test_panic: panic::wanted(&headers, "body"),
    };
    let id = PENDING.with_borrow_mut(|(next, parked)| {
        *next = next.wrapping_add(1);
        if parked.len() >= MAX_PENDING {
            parked.pop_front();
        }
        parked.push_back((*next, pending));
        *next
    });
    framed(&headed("F", &[u64::from(id)], &out), &[])
}

/// Phase two for page `id`, from the origin's status and the headers of
/// [`borderless_reads`] it sent (`name:value` lines, UTF-8), and its body
/// if the entry read it whole first: `A`, `P`, `R`, or with a body read
/// whole, `W`. An unknown id throws; a response it cannot write throws too
/// (the entry serves the origin's page).
#[wasm_bindgen]
pub fn borderless_origin(
    id: u32,
    status: u16,
    headers: &[u8],
    body: Option<Box<[u8]>>,
) -> Result<Vec<u8>, JsValue> {
    let p = take(id).ok_or_else(|| JsValue::from_str(&format!("page {id}: not pending")))?;
    let mut headers = header_lines(&String::from_utf8_lossy(headers));
    let length = headers
        .iter()
        .position(|(k, _)| k == "content-length")
        .map(|i| headers.swap_remove(i).1);
    let head = OriginHead {
        status,
        headers: &headers,
    };
    let unwritable = || JsValue::from_str("a header the entry cannot write");
    match p.prepared.finish(p.values, Some(head), body.as_deref()) {
        Finish::Answer(a) => answer(&a).ok_or_else(unwritable),
        Finish::Passthrough { edits: e } => {
            let mut out = String::from("P\n");
            edits(&mut out, &e).ok_or_else(unwritable)?;
            framed(&out, &[]).ok_or_else(unwritable)
        }
        Finish::Rewrite {
            edits: e,
            body: page,
        } => {
            let mut out = String::new();
            edits(&mut out, &e).ok_or_else(unwritable)?;
            let Some(origin_body) = body.as_deref() else {
                let whole = whole_length(&headers, length.as_deref()).unwrap_or(0);
                let id = body::park(page, p.events, p.test_panic);
                return framed(&headed("R", &[u64::from(id), whole], &out), &[])
                    .ok_or_else(unwritable);
            };
            let sent = body::whole(page, p.events.as_ref(), p.test_panic, origin_body);
            framed(&headed("W", &[], &out), &sent).ok_or_else(unwritable)
        }
    }
}

/// What the entry reads for the handlers, one comma-separated line each:
/// the request headers, the fields of `request.cf` (a nested one by its
/// path), and the origin's headers [`borderless_origin`] reads (the
/// pipeline's, and the length).
#[wasm_bindgen]
pub fn borderless_reads() -> String {
    [
        [&page::REQUEST_HEADERS[..], panic::HEADERS]
            .concat()
            .join(","),
        crate::request::CF_KEYS.join(","),
        page::ORIGIN_HEADERS.join(",") + ",content-length",
    ]
    .join("\n")
}

/// The origin request failed: forget page `id`.
#[wasm_bindgen]
pub fn borderless_pending_drop(id: u32) {
    take(id);
}

fn take(id: u32) -> Option<Pending> {
    PENDING.with_borrow_mut(|(_, parked)| {
        let i = parked.iter().position(|(k, _)| *k == id)?;
        parked.remove(i).map(|(_, p)| p)
    })
}

/// An answer: `kind` and `numbers` on its first line (by hand: `format!`
/// is `core::fmt`, cold code on every request), then `rest`.
fn headed(kind: &str, numbers: &[u64], rest: &str) -> String {
    let mut out = String::with_capacity(kind.len() + 21 * numbers.len() + 1 + rest.len());
    out.push_str(kind);
    for n in numbers {
        out.push(' ');
        push_decimal(&mut out, *n);
    }
    out.push('\n');
    out.push_str(rest);
    out
}

fn answer(a: &Answer) -> Option<Vec<u8>> {
    let mut out = headed("A", &[u64::from(a.status)], "");
    for (n, v) in &a.headers {
        field(&mut out, "a", n, v)?;
    }
    framed(&out, a.body.as_bytes())
}

/// `text`'s length (4 bytes, little-endian), `text`, then `body`: the
/// entry splits it at a known place, no scan for a separator.
fn framed(text: &str, body: &[u8]) -> Option<Vec<u8>> {
    let len = u32::try_from(text.len()).ok()?;
    let mut out = Vec::with_capacity(4 + text.len() + body.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(body);
    Some(out)
}

fn edits(out: &mut String, edits: &[HeaderEdit]) -> Option<()> {
    for e in edits {
        match e {
            HeaderEdit::Set(n, v) => field(out, "s", n, v)?,
            HeaderEdit::Append(n, v) => field(out, "a", n, v)?,
            HeaderEdit::Delete(n) => field(out, "d", n, "")?,
        }
    }
    Some(())
}

fn field(out: &mut String, op: &str, name: &str, value: &str) -> Option<()> {
    if name.bytes().any(|b| b == b':') || breaks(name) || breaks(value) {
        return None;
    }
    // By hand: `writeln!` is `core::fmt`, cold code on every request.
    for part in [op, name, ":", value, "\n"] {
        out.push_str(part);
    }
    Some(())
}

fn line(out: &mut String, s: &str) -> Option<()> {
    if breaks(s) {
        return None;
    }
    out.push_str(s);
    out.push('\n');
    Some(())
}

/// Whether `s` holds a line break. By byte: a pattern of chars searches
/// char by char, in many times the instructions (on every edit line).
fn breaks(s: &str) -> bool {
    s.bytes().any(|b| b == b'\n' || b == b'\r')
}
