//! Building a page's [`Setup`] from the site config, and running the price
//! stage on its own (the preview's explain and the page tests use it).

use super::handler::{attach, Counts, Setup, State};
use super::hold::{Holds, Release};
use super::options::Options;
use crate::plan::l10n::FormatFn;
use crate::base::money::Converter;
use crate::schema::{FxRates, Localization};
use encoding_rs::Encoding;
use lol_html::{AsciiCompatibleEncoding, HtmlRewriter, Settings};
use std::cell::RefCell;
use std::rc::Rc;

impl Setup {
    /// Converters for every declared currency (`site_currency` first, then
    /// `options.currencies`) into the visitor's currency.
    pub fn new(
        site_currency: &str,
        loc: &Localization,
        options: Options,
        visitor: &str,
        fx: Option<&FxRates>,
        now_ms: i64,
        format: FormatFn,
    ) -> Setup {
        let mut declared = vec![site_currency.to_string()];
        for c in &options.currencies {
            if !declared.contains(c) {
                declared.push(c.clone());
            }
        }
        let converters = declared
            .iter()
            .map(|c| (c.clone(), Converter::new(c, visitor, fx, now_ms, loc)))
            .collect();
        Setup {
            declared,
            converters,
            visitor: visitor.to_string(),
            format,
            options,
        }
    }
}

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
