//! The price stage on its own over a whole page (the page tests and the
//! corpus use it; the worker runs it inside [`crate::rewrite::Rewriter`]).

use super::handler::attach;
use super::hold::{Holds, Release};
use super::state::{Counts, Setup, State};
use encoding_rs::Encoding;
use lol_html::{AsciiCompatibleEncoding, HtmlRewriter, Settings};
use std::cell::RefCell;
use std::rc::Rc;

/// The price stage alone over a whole page, fed in `chunk`-byte pieces:
/// the rewritten bytes and the counts. `None` for encodings lol_html cannot
/// stream (the page would pass through untouched).
pub fn rewrite_page(
    html: &[u8],
    encoding: &'static Encoding,
    setup: Setup,
    chunk: usize,
) -> Option<(Vec<u8>, Counts)> {
    let enc = AsciiCompatibleEncoding::new(encoding)?;
    let holds = Rc::new(RefCell::new(Holds::new(encoding)));
    let state = Rc::new(RefCell::new(State::new(Rc::new(setup), Rc::clone(&holds))));
    let settings = attach(
        &state,
        Settings::new().with_encoding(enc).with_strict(false),
    );
    let out = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&out);
    let mut rw = HtmlRewriter::new(settings, move |c: &[u8]| {
        sink.borrow_mut().extend_from_slice(c)
    });
    let mut release = Release::new(holds);
    let mut result = Vec::with_capacity(html.len() + 1024);
    for c in html.chunks(chunk.max(1)) {
        rw.write(c).ok()?;
        let produced = std::mem::take(&mut *out.borrow_mut());
        result.extend(release.pass(produced, false));
    }
    rw.end().ok()?;
    let produced = std::mem::take(&mut *out.borrow_mut());
    result.extend(release.pass(produced, true));
    let counts = state.borrow().counts;
    Some((result, counts))
}
