//! The lol_html side: per-page state fed by a document text handler, with
//! element handlers that only mark the context of the next text chunk
//! (excluded, price hint, block boundary). lol_html hands a text node over
//! in pieces, so a node is carried (bounded) until its last piece; a price
//! split over inline elements is held (see `hold`) until it is complete.

use super::convert;
use super::detect::{self, View};
use super::hold::Holds;
use super::piece::{self, Hint, Piece};
use super::state::{Counts, Ctx, State};
use super::symbols::{self, is_space};
pub use crate::plan::prices::Setup;
use lol_html::html_content::{ContentType, Element, TextChunk, TextType};
use lol_html::{
    DocumentContentHandlers, ElementContentHandlers, HandlerResult, Selector, Settings,
};
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

/// A text node is carried whole up to this size, then in a bounded tail.
const CARRY_MAX: usize = 512;
/// Tail (chars) kept back from a long node until its next piece.
const TAIL: usize = 48;

impl State {
    pub fn new(setup: Rc<Setup>, holds: Rc<RefCell<Holds>>) -> State {
        State {
            setup,
            holds,
            counts: Counts::default(),
            ctx: Ctx::default(),
            carry: String::new(),
            run: Vec::new(),
            broken: false,
            signals: Vec::new(),
            expected: None,
            jsonld: String::new(),
            tainted: false,
            last: false,
        }
    }

    /// The page's own statement of its currency, when it makes exactly one.
    pub(super) fn signal(&self) -> Option<&str> {
        match self.signals.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    fn add_signal(&mut self, c: &str) {
        let c = c.trim();
        if symbols::is_code(c) && !self.signals.iter().any(|s| s == c) && self.signals.len() < 4 {
            self.signals.push(c.to_string());
        }
    }

    /// `"priceCurrency": "EUR"` in JSON-LD, across chunks.
    fn scan_jsonld(&mut self, s: &str) {
        self.jsonld.push_str(s);
        let mut rest = self.jsonld.as_str();
        let mut found = Vec::new();
        while let Some(i) = rest.find("\"priceCurrency\"") {
            rest = rest.get(i + 15..).unwrap_or_default();
            let v = rest.trim_start_matches([' ', '\n', '\t', '\r', ':']);
            if let Some(code) = v.strip_prefix('"').and_then(|v| v.get(..4)) {
                if let Some(c) = code.strip_suffix('"') {
                    found.push(c.to_string());
                }
            }
        }
        for c in found {
            self.add_signal(&c);
        }
        let keep = self.jsonld.len().saturating_sub(40);
        let cut = (keep..=self.jsonld.len())
            .find(|i| self.jsonld.is_char_boundary(*i))
            .unwrap_or(self.jsonld.len());
        self.jsonld.drain(..cut);
    }

    fn text(&mut self, chunk: &mut TextChunk) {
        let ctx = std::mem::take(&mut self.ctx);
        // Visible text: the body's and the title's (textarea is excluded);
        // not text another handler already replaced.
        if !matches!(chunk.text_type(), TextType::Data | TextType::RCData) || chunk.removed() {
            return;
        }
        if !chunk.last_in_text_node() {
            self.carry.push_str(chunk.as_str());
            if self.carry.len() <= CARRY_MAX {
                self.set(chunk, String::new());
                return;
            }
            // A long node: convert all but a bounded tail now.
            let text = std::mem::take(&mut self.carry);
            let view = View::new(&text);
            let found = detect::find(&view.chars);
            let mut cut = view.chars.len().saturating_sub(TAIL);
            while let Some(f) = found.iter().find(|f| f.start < cut && f.end + 8 > cut) {
                cut = f.start;
            }
            let raw_cut = view.bytes(0, cut).1;
            self.run_break();
            let head = self.mixed(&text, &view, &found, cut, &ctx);
            // The view's offsets are char boundaries (else: all of it now).
            let (raw_head, raw_tail) = text.split_at_checked(raw_cut).unwrap_or((&text, ""));
            chunk.replace(head.as_deref().unwrap_or(raw_head), ContentType::Html);
            self.carry = raw_tail.to_string();
            return;
        }
        if self.carry.is_empty() {
            // The whole node in one piece, no copy.
            if let Some(out) = self.node(chunk.as_str(), &ctx) {
                self.set(chunk, out);
            }
            return;
        }
        // The common case: the node's text came before its last, empty
        // chunk (lol_html ends each node so) and goes out here.
        let mut text = std::mem::take(&mut self.carry);
        text.push_str(chunk.as_str());
        let out = self.node(&text, &ctx);
        self.set(chunk, out.unwrap_or(text));
    }

    /// `html` in place of the chunk's text: set in place when no text
    /// handler follows (no mutation record, no copy), else replaced.
    fn set(&self, chunk: &mut TextChunk, html: String) {
        if self.last {
            chunk.set_str(html);
        } else if html.is_empty() {
            chunk.remove();
        } else {
            chunk.replace(&html, ContentType::Html);
        }
    }

    /// Whether a node can be skipped unread: no digit, no run to continue,
    /// and no currency sign at its end that could start one.
    fn skippable(&self, text: &str) -> bool {
        if !self.run.is_empty() || text.bytes().any(|b| b.is_ascii_digit()) {
            return false;
        }
        let trimmed = text.trim_matches(is_space);
        // Without digits, only a marker ending the node (a lone sign too)
        // could start a run. Read the tail only if its last char could end
        // one (`;`: a character reference, decoded by the view).
        if trimmed
            .chars()
            .next_back()
            .is_some_and(|c| c != ';' && !symbols::may_end_marker(c))
        {
            return true;
        }
        let mut cut = trimmed.len() - 16.min(trimmed.len());
        while !trimmed.is_char_boundary(cut) {
            cut += 1;
        }
        let tail = View::new(trimmed.get(cut..).unwrap_or_default());
        // Trimmed again once decoded: `£&nbsp;` ends with its sign.
        let end = tail
            .chars
            .iter()
            .rposition(|c| !is_space(*c))
            .map_or(0, |i| i + 1);
        symbols::before(&tail.chars, end).is_none()
    }

    /// A whole text node (raw); the new raw HTML if it changes.
    fn node(&mut self, text: &str, ctx: &Ctx) -> Option<String> {
        if self.skippable(text) {
            return None;
        }
        let view = View::new(text);
        let t = &view.chars;
        let ls = t.iter().position(|c| !is_space(*c))?;
        let le = t.iter().rposition(|c| !is_space(*c)).map_or(ls, |i| i + 1);
        let found = detect::find(t);
        let outside = !self.setup.options.only.is_empty() && !ctx.only;
        if ctx.excluded || outside {
            self.run_break();
            if ctx.excluded {
                let n = found.iter().filter(|f| f.marker.is_some()).count() as u32;
                self.counts.found += n;
                self.counts.excluded += n;
            }
            return None;
        }
        let core: String = t.get(ls..le).unwrap_or_default().iter().collect();
        let whole_price = matches!(found.as_slice(),
            [f] if f.marker.is_some() && f.start == ls && f.end == le);
        if ctx.button && !whole_price {
            self.run_break();
            let n = found.iter().filter(|f| f.marker.is_some()).count() as u32;
            self.counts.found += n;
            self.counts.excluded += n;
            return None;
        }
        if let Some(kind) = piece::piece_kind(&core) {
            if self.broken {
                self.settle_run();
            }
            match piece::fits(&self.run, &core, kind, ctx.sup) {
                piece::Fit::Extends => {}
                piece::Fit::Starts => self.settle_run(),
                piece::Fit::Clash => {
                    self.tainted = true;
                    self.settle_run();
                    self.tainted = true;
                }
            }
            let continues_only = matches!(kind, piece::Kind::Separator | piece::Kind::Fraction);
            if continues_only && self.run.is_empty() {
                return None;
            }
            self.broken = false;
            return Some(self.push_piece(text, &view, 0, t.len(), ctx));
        }
        let mut out = String::new();
        let mut from = 0; // chars of `t` already handled
                          // A marker heading the node completes a run of bare digits (`32` `zł/m²`).
        if !self.run.is_empty() && !self.broken && !piece::has_marker(&self.run) {
            if let Some((end, _)) = symbols::after(t, ls) {
                if !found.iter().any(|f| f.start <= ls && f.end > ls) {
                    out.push_str(&self.push_piece(text, &view, 0, end, ctx));
                    from = end;
                }
            }
        }
        self.settle_run();
        // A marker ending the node may start a run (`最低價$` `<span>99`).
        let mut tail_at = t.len();
        if let Some((ms, _)) = symbols::before(t, le) {
            let free = found.iter().all(|f| f.end <= ms);
            if free && ms > from {
                tail_at = ms;
            }
        }
        let (a, b) = (view.bytes(0, from).1, view.bytes(0, tail_at).1);
        // The view's offsets are char boundaries of the text.
        let body = text.get(a..b).unwrap_or_default();
        let converted = if a == 0 && b == text.len() {
            // The whole node (the common case): its view is already read.
            self.mixed(body, &view, &found, t.len(), ctx)
        } else {
            let sub = View::new(body);
            let sub_found = detect::find(&sub.chars);
            self.mixed(body, &sub, &sub_found, sub.chars.len(), ctx)
        };
        let changed = converted.is_some() || from > 0 || tail_at < t.len();
        out.push_str(converted.as_deref().unwrap_or(body));
        if tail_at < t.len() {
            out.push_str(&self.push_piece(text, &view, tail_at, t.len(), ctx));
            self.broken = false;
        }
        changed.then_some(out)
    }

    /// Holds chars `a..b` of a node as a run piece; returns its tag.
    fn push_piece(&mut self, text: &str, view: &View, a: usize, b: usize, ctx: &Ctx) -> String {
        let (ra, rb) = view.bytes(a, b);
        let raw = text.get(ra.min(rb)..rb).unwrap_or_default();
        let piece = Piece::new(raw, ctx.hint, ctx.expected, ctx.sup);
        let (id, tag) = self.holds.borrow_mut().open(raw);
        self.run.push(piece.with_id(id));
        tag
    }

    /// Converts the marked prices among `found` that end before `upto`.
    fn mixed(
        &mut self,
        raw: &str,
        view: &View,
        found: &[detect::Found],
        upto: usize,
        _ctx: &Ctx,
    ) -> Option<String> {
        let mut out = String::with_capacity(raw.len() + 16);
        let mut last = 0;
        let mut changed = false;
        for f in found.iter().filter(|f| f.marker.is_some() && f.end <= upto) {
            let Some(formatted) = convert::price(self, f, None) else {
                continue;
            };
            let (a, b) = view.bytes(f.start, f.end);
            out.push_str(raw.get(last..a).unwrap_or_default());
            out.push_str(&crate::base::escape::escape(&formatted));
            last = b;
            changed = true;
        }
        let end = view.bytes(0, upto).1;
        out.push_str(raw.get(last..end).unwrap_or_default());
        changed.then_some(out)
    }

    fn run_break(&mut self) {
        self.settle_run();
        self.broken = false;
    }

    /// Ends the current run: converted if it reads as one price.
    pub(super) fn settle_run(&mut self) {
        convert::settle(self);
    }
}

/// Never-closing depth bookkeeping is avoided: element text handlers mark
/// each chunk, so implicitly closed elements cannot leave a stale state.
fn mark(
    state: &Rc<RefCell<State>>,
    f: impl Fn(&mut Ctx) + 'static,
) -> impl FnMut(&mut TextChunk) -> HandlerResult + 'static {
    let s = Rc::clone(state);
    move |_| {
        f(&mut s.borrow_mut().ctx);
        Ok(())
    }
}

/// A constant selector list, parsed once per isolate (`rewrite::selector`)
/// rather than for every page. `None` if it does not parse: it would never
/// match.
fn parse(list: &[&str]) -> Option<Cow<'static, Selector>> {
    crate::rewrite::selector(&list.join(", ")).map(Cow::Owned)
}

/// Elements whose start and end tags end a run of pieces.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "div"
            | "p"
            | "li"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "td"
            | "th"
            | "tr"
            | "table"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "aside"
            | "nav"
            | "main"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "br"
            | "hr"
            | "img"
            | "input"
            | "form"
            | "label"
            | "body"
            | "head"
            | "svg"
            | "iframe"
            | "script"
            | "style"
    )
}

/// Adds price detection to `settings`; `state` collects the counts.
pub fn attach<'h, 's>(
    state: &Rc<RefCell<State>>,
    mut settings: Settings<'h, 's>,
) -> Settings<'h, 's> {
    let opts = &state.borrow().setup.options;
    if !opts.enabled {
        return settings;
    }
    let mut excluded = vec![
        "template",
        "textarea",
        "option",
        "select",
        "[data-borderless-ignore]",
    ];
    if opts.honor_notranslate {
        excluded.extend(["[translate=no]", "[translate=\"no\"]", ".notranslate"]);
    }
    let mut add = |sel: Option<Cow<'s, Selector>>, h: ElementContentHandlers<'h>| {
        if let Some(sel) = sel {
            settings = std::mem::take(&mut settings).append_element_content_handler((sel, h));
        }
    };
    let on = |f: fn(&mut Ctx)| ElementContentHandlers::default().text(mark(state, f));
    add(parse(&excluded), on(|c| c.excluded = true));
    for sel in &opts.exclude {
        add(Some(Cow::Owned(sel.clone())), on(|c| c.excluded = true));
    }
    add(parse(&["button"]), on(|c| c.button = true));
    add(parse(&["sup"]), on(|c| c.sup = true));
    for sel in &opts.only {
        add(Some(Cow::Owned(sel.clone())), on(|c| c.only = true));
    }
    add(
        parse(&[
            "[class*=price]",
            "[class*=Price]",
            "[id*=price]",
            "[id*=Price]",
        ]),
        on(|c| c.hint = c.hint.max(Hint::Weak)),
    );
    // `itemprop=price` and `data-price`: strong hints, and their value (when
    // it reads as an amount) must agree with a bare amount inside.
    for (sel, attr) in [
        ("[itemprop~=price][content]", "content"),
        ("[data-price]", "data-price"),
    ] {
        let (s1, s2) = (Rc::clone(state), Rc::clone(state));
        add(
            parse(&[sel]),
            ElementContentHandlers::default()
                .element(move |el: &mut Element| {
                    let v = el.get_attribute(attr);
                    s1.borrow_mut().expected =
                        v.as_deref().and_then(crate::base::money::parse_amount);
                    Ok(())
                })
                .text(move |_: &mut TextChunk| {
                    let mut st = s2.borrow_mut();
                    st.ctx.hint = Hint::Strong;
                    st.ctx.expected = st.ctx.expected.or(st.expected);
                    Ok(())
                }),
        );
    }
    add(parse(&["[itemprop~=price]"]), on(|c| c.hint = Hint::Strong));
    for sel in &opts.hints {
        add(Some(Cow::Owned(sel.clone())), on(|c| c.hint = Hint::Strong));
    }
    for (name, unit) in &opts.attributes {
        let Some(sel) = crate::rewrite::selector(&format!("[{name}]")) else {
            continue;
        };
        let (s1, s2, name, unit) = (Rc::clone(state), Rc::clone(state), name.clone(), *unit);
        add(
            Some(Cow::Owned(sel)),
            ElementContentHandlers::default()
                .element(move |el: &mut Element| {
                    let mut st = s1.borrow_mut();
                    st.expected =
                        convert::attribute_amount(&st, el.get_attribute(&name).as_deref(), unit);
                    Ok(())
                })
                .text(move |_: &mut TextChunk| {
                    let mut st = s2.borrow_mut();
                    st.ctx.hint = Hint::Strong;
                    st.ctx.expected = st.expected;
                    Ok(())
                }),
        );
    }
    // Page signals of the currency.
    let s = Rc::clone(state);
    add(
        parse(&[
            "meta[property=\"og:price:currency\"]",
            "meta[property=\"product:price:currency\"]",
            "[itemprop~=priceCurrency]",
        ]),
        ElementContentHandlers::default().element(move |el: &mut Element| {
            if let Some(c) = el.get_attribute("content") {
                s.borrow_mut().add_signal(&c);
            }
            Ok(())
        }),
    );
    let s = Rc::clone(state);
    add(
        parse(&["script[type=\"application/ld+json\"]"]),
        ElementContentHandlers::default().text(move |t: &mut TextChunk| {
            s.borrow_mut().scan_jsonld(t.as_str());
            Ok(())
        }),
    );
    // Block boundaries end a run of pieces. One `*` selector and a name
    // check here: lol_html tries each selector of a list on every element,
    // and 37 tag names cost more than the one handler call.
    let s = Rc::clone(state);
    add(
        parse(&["*"]),
        ElementContentHandlers::default().element(move |el: &mut Element| {
            if !is_block(&el.tag_name()) {
                return Ok(());
            }
            s.borrow_mut().broken = true;
            if let Some(end) = el.end_tag_handlers() {
                let s = Rc::clone(&s);
                end.push(Box::new(move |_| {
                    s.borrow_mut().broken = true;
                    Ok(())
                }));
            }
            Ok(())
        }),
    );
    let (t, e) = (Rc::clone(state), Rc::clone(state));
    settings.append_document_content_handler(
        DocumentContentHandlers::default()
            .text(move |c: &mut TextChunk| {
                t.borrow_mut().text(c);
                Ok(())
            })
            .end(move |_: &mut lol_html::html_content::DocumentEnd| {
                e.borrow_mut().settle_run();
                Ok(())
            }),
    )
}
