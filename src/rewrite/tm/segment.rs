//! The segmenter: lol_html handlers that cut a page into segments (runs of
//! text and allowed inline elements between block boundaries), mark each
//! with comment markers, translate attributes, and tell the post-processor
//! which segments are clean.

use super::notation::{self, Piece};
use super::{Left, Shared, Tm};
use lol_html::html_content::{ContentType, Element, EndTag, TextChunk};
use lol_html::{
    DocumentContentHandlers, ElementContentHandlers, HandlerResult, Selector, Settings,
};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Inline elements a segment may contain (placeholders in the notation).
const INLINE: &[&str] = &[
    "a", "abbr", "b", "bdi", "bdo", "big", "br", "cite", "data", "del", "dfn", "em", "font", "i",
    "ins", "mark", "q", "s", "small", "span", "strong", "sub", "sup", "time", "u", "wbr",
];
/// Inline elements without content.
pub(crate) const VOID_INLINE: &[&str] = &["br", "wbr"];
/// Elements whose content is never translated.
const EXCLUDED: &[&str] = &[
    "script", "style", "template", "code", "pre", "textarea", "kbd", "samp", "noscript", "svg",
    "math", "iframe", "object", "canvas", "video", "audio",
];

/// What the handlers saw of a segment, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rec {
    /// Text as lol_html decoded it (character references not resolved).
    Text(String),
    Start(String),
    End(String),
}

pub(crate) enum Verdict {
    Clean { recs: Vec<Rec>, path: String },
    Aborted,
}

struct Open {
    id: u32,
    recs: Vec<Rec>,
    /// Open inline elements: their tokens.
    stack: Vec<u64>,
    bytes: usize,
    letters: bool,
    path: String,
}

pub(crate) struct Segmenter {
    pub(crate) nonce: String,
    next_id: u32,
    next_token: u64,
    cur: Option<Open>,
    /// A segment was abandoned: open none until the next boundary.
    blocked: bool,
    /// Depth of excluded elements.
    excluded: u32,
    /// A config selector matched the element being handled.
    pending_exclude: bool,
    /// The last block element started (context for translators).
    context: String,
    /// Blank chunks that began the current text node outside any segment,
    /// carried on by an earlier handler (see [`add_text`]).
    lead: String,
    pub(crate) verdicts: BTreeMap<u32, Verdict>,
}

impl Segmenter {
    pub(crate) fn new(nonce: String) -> Segmenter {
        Segmenter {
            nonce,
            next_id: 0,
            next_token: 0,
            cur: None,
            blocked: false,
            excluded: 0,
            pending_exclude: false,
            context: String::new(),
            lead: String::new(),
            verdicts: BTreeMap::new(),
        }
    }

    pub(crate) fn marker(&self, kind: char, id: u32) -> String {
        format!("<!--tm{}{kind}{id}-->", self.nonce)
    }

    /// Opens a segment; returns its start marker.
    fn open(&mut self) -> String {
        self.next_id += 1;
        self.cur = Some(Open {
            id: self.next_id,
            recs: Vec::new(),
            stack: Vec::new(),
            bytes: 0,
            letters: false,
            path: self.context.clone(),
        });
        self.marker('s', self.next_id)
    }
}

impl Tm {
    /// A block boundary: closes the current segment (its end marker to
    /// insert here) or abandons it.
    fn boundary(&mut self) -> Option<String> {
        self.seg.blocked = false;
        let cur = self.seg.cur.take()?;
        if !cur.letters {
            // Nothing to translate (a price, a number): the origin's bytes.
            self.seg.verdicts.insert(cur.id, Verdict::Aborted);
            return None;
        }
        if !cur.stack.is_empty() {
            self.abort_open(cur, Left::Markup);
            return None;
        }
        let id = cur.id;
        self.seg.verdicts.insert(
            id,
            Verdict::Clean {
                recs: cur.recs,
                path: cur.path,
            },
        );
        Some(self.seg.marker('e', id))
    }

    fn abort(&mut self, why: Left) {
        if let Some(cur) = self.seg.cur.take() {
            self.abort_open(cur, why);
        }
        self.seg.blocked = true;
    }

    fn abort_open(&mut self, cur: Open, why: Left) {
        if cur.letters {
            self.report.leave(why);
        }
        self.seg.verdicts.insert(cur.id, Verdict::Aborted);
    }

    /// Text of the current segment: recorded (one run with the text before
    /// it) and counted against the bound.
    fn record_text(&mut self, s: &str) {
        if let Some(cur) = self.seg.cur.as_mut() {
            cur.letters = cur.letters || s.chars().any(char::is_alphabetic);
            match cur.recs.last_mut() {
                Some(Rec::Text(prev)) => prev.push_str(s),
                _ => cur.recs.push(Rec::Text(s.to_string())),
            }
        }
        self.grow(s.len());
    }

    /// Adds bytes to the current segment; abandons it over the bound.
    fn grow(&mut self, n: usize) {
        let max = self.opts.max_segment_bytes;
        if let Some(cur) = self.seg.cur.as_mut() {
            cur.bytes += n;
            if cur.bytes > max {
                self.abort(Left::OverBound);
            }
        }
    }
}

/// Adds the segmenter's handlers to `settings`.
pub fn attach<'h, 's>(tm: &Shared, mut settings: Settings<'h, 's>) -> Settings<'h, 's> {
    let excludes: Vec<Selector> = tm
        .borrow()
        .opts
        .exclude
        .iter()
        .filter_map(|s| crate::rewrite::selector(s))
        .collect();
    for sel in excludes {
        let tm = Rc::clone(tm);
        settings = settings.append_element_content_handler((
            Cow::Owned(sel),
            ElementContentHandlers::default().element(move |_: &mut Element| {
                tm.borrow_mut().seg.pending_exclude = true;
                Ok(())
            }),
        ));
    }
    let Some(all) = crate::rewrite::selector("*") else {
        return settings;
    };
    let (t1, t2, t3, t4) = (Rc::clone(tm), Rc::clone(tm), Rc::clone(tm), Rc::clone(tm));
    settings
        .append_element_content_handler((
            Cow::Owned(all),
            ElementContentHandlers::default().element(move |el: &mut Element| element(&t1, el)),
        ))
        .append_document_content_handler(
            DocumentContentHandlers::default()
                .text(move |t: &mut TextChunk| {
                    text(&t2, t);
                    Ok(())
                })
                .comments(move |_: &mut lol_html::html_content::Comment| {
                    let mut tm = t3.borrow_mut();
                    if tm.seg.excluded == 0 && tm.seg.cur.is_some() {
                        tm.abort(Left::Markup);
                    }
                    Ok(())
                })
                .end(move |end: &mut lol_html::html_content::DocumentEnd| {
                    if let Some(m) = t4.borrow_mut().boundary() {
                        end.append(&m, ContentType::Html);
                    }
                    Ok(())
                }),
        )
}

/// The attributes the segmenter reads, found in one pass (each
/// `get_attribute` would scan the list and allocate the name it looks for).
/// Each holds the first occurrence, as `get_attribute` returns.
#[derive(Default)]
struct Attrs {
    translate: Option<String>,
    class: Option<String>,
    id: Option<String>,
    ignore: bool,
    i18n: bool,
    i18n_attr: bool,
    /// `title`, `alt`, `placeholder`, `aria-label`, in that order.
    visible: [Option<String>; 4],
    value: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    property: Option<String>,
    content: Option<String>,
    /// Bytes of the start tag's attributes (inline elements only).
    size: usize,
}

impl Attrs {
    fn of(el: &Element, sized: bool) -> Attrs {
        let mut a = Attrs::default();
        for attr in el.attributes() {
            let n = attr.name();
            let slot = match n.as_str() {
                "translate" => &mut a.translate,
                "class" => &mut a.class,
                "id" => &mut a.id,
                "title" => &mut a.visible[0],
                "alt" => &mut a.visible[1],
                "placeholder" => &mut a.visible[2],
                "aria-label" => &mut a.visible[3],
                "value" => &mut a.value,
                "type" => &mut a.kind,
                "name" => &mut a.name,
                "property" => &mut a.property,
                "content" => &mut a.content,
                other => {
                    a.ignore |= other == "data-borderless-ignore";
                    a.i18n |= other == "data-i18n";
                    a.i18n_attr |= other == "data-i18n-attr";
                    if sized {
                        a.size += n.len() + attr.value().len() + 4;
                    }
                    continue;
                }
            };
            let value = slot.is_none().then(|| attr.value());
            if sized {
                a.size += n.len()
                    + value
                        .as_ref()
                        .map_or_else(|| attr.value().len(), String::len)
                    + 4;
            }
            if value.is_some() {
                *slot = value;
            }
        }
        a
    }
}

fn excluded(a: &Attrs, name: &str) -> bool {
    EXCLUDED.contains(&name)
        || a
            .translate
            .as_ref()
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("no"))
        || a
            .class
            .as_ref()
            .is_some_and(|c| c.split_ascii_whitespace().any(|c| c == "notranslate"))
        || a.ignore
        // The shop's own dictionary keys win.
        || a.i18n
}

fn element(tm: &Shared, el: &mut Element) -> HandlerResult {
    let name = el.tag_name();
    let mut t = tm.borrow_mut();
    let pending = std::mem::take(&mut t.seg.pending_exclude);
    if t.seg.excluded > 0 {
        return Ok(());
    }
    let is_inline = INLINE.contains(&name.as_str());
    let attrs = Attrs::of(el, is_inline);
    let excl = pending || excluded(&attrs, &name);
    if !excl && is_inline {
        return inline(tm, t, el, name, &attrs);
    }
    if let Some(m) = t.boundary() {
        el.before(&m, ContentType::Html);
    }
    if excl {
        if el.can_have_content() {
            t.seg.excluded += 1;
            let tm = Rc::clone(tm);
            drop(t);
            el.on_end_tag(Box::new(move |_: &mut EndTag| {
                let mut t = tm.borrow_mut();
                t.seg.excluded = t.seg.excluded.saturating_sub(1);
                t.seg.blocked = false;
                Ok(())
            }))?;
        }
        return Ok(());
    }
    t.seg.context = describe(&attrs, &name);
    translate_attrs(&mut t, el, &name, &attrs);
    drop(t);
    if el.can_have_content() {
        let tm = Rc::clone(tm);
        el.on_end_tag(Box::new(move |end: &mut EndTag| {
            if let Some(m) = tm.borrow_mut().boundary() {
                end.before(&m, ContentType::Html);
            }
            Ok(())
        }))?;
    }
    Ok(())
}

fn inline(
    tm: &Shared,
    mut t: std::cell::RefMut<'_, Tm>,
    el: &mut Element,
    name: String,
    attrs: &Attrs,
) -> HandlerResult {
    // Sized before attributes are translated: segmentation must not depend
    // on the memory (the keys extracted are the keys looked up).
    let size = name.len() + attrs.size + 2;
    translate_attrs(&mut t, el, &name, attrs);
    if t.seg.blocked {
        return Ok(());
    }
    if t.seg.cur.is_none() {
        let m = t.seg.open();
        el.before(&m, ContentType::Html);
    }
    t.seg.next_token += 1;
    let token = t.seg.next_token;
    let void = VOID_INLINE.contains(&name.as_str()) || !el.can_have_content();
    let Some(cur) = t.seg.cur.as_mut() else {
        return Ok(());
    };
    let id = cur.id;
    cur.recs.push(Rec::Start(name.clone()));
    if !void {
        cur.stack.push(token);
    }
    t.grow(size);
    drop(t);
    if void {
        return Ok(());
    }
    let tm = Rc::clone(tm);
    el.on_end_tag(Box::new(move |end: &mut EndTag| {
        let mut t = tm.borrow_mut();
        let ours = t
            .seg
            .cur
            .as_ref()
            .is_some_and(|c| c.id == id && c.stack.last() == Some(&token));
        if ours {
            if let Some(cur) = t.seg.cur.as_mut() {
                cur.stack.pop();
                cur.recs.push(Rec::End(name.clone()));
            }
            t.grow(name.len() + 3);
        } else if t.seg.cur.as_ref().is_some_and(|c| c.id == id) {
            // Closes out of order.
            t.abort(Left::Markup);
        } else if t.seg.cur.is_some() {
            // Belongs to an abandoned segment: the current one ends here.
            if let Some(m) = t.boundary() {
                end.before(&m, ContentType::Html);
            }
        }
        Ok(())
    }))
}

fn text(tm: &Shared, chunk: &mut TextChunk) {
    let mut t = tm.borrow_mut();
    // Checked before the text is read: most text is outside any segment.
    if !chunk.as_str().is_empty() && t.seg.excluded == 0 && !t.seg.blocked {
        add_text(&mut t, chunk);
    }
    if chunk.last_in_text_node() && !t.seg.lead.is_empty() {
        t.seg.lead.clear();
    }
}

fn add_text(t: &mut Tm, chunk: &mut TextChunk) {
    if t.seg.cur.is_none() {
        if chunk.as_str().bytes().all(|b| b.is_ascii_whitespace()) {
            // A node split by the input's chunks, blank so far. An earlier
            // handler that removed this chunk (the price stage carries a
            // node's chunks to its end) sends its bytes out after the
            // marker a later chunk may get: they belong to that segment.
            if chunk.removed() && !chunk.last_in_text_node() {
                t.seg.lead.push_str(chunk.as_str());
            }
            return;
        }
        let m = t.seg.open();
        chunk.before(&m, ContentType::Html);
        let lead = std::mem::take(&mut t.seg.lead);
        if !lead.is_empty() {
            t.record_text(&lead);
        }
    }
    t.record_text(chunk.as_str());
}

/// `p.intro`, `h1#title`: where a segment sits, for translators.
fn describe(a: &Attrs, name: &str) -> String {
    let mut d = name.to_string();
    if let Some(id) = a.id.as_deref().filter(|v| valid_ident(v)) {
        d.push('#');
        d.push_str(id);
    } else if let Some(c) = a
        .class
        .as_deref()
        .and_then(|c| c.split_ascii_whitespace().next())
        .filter(|v| valid_ident(v))
    {
        d.push('.');
        d.push_str(c);
    }
    d
}

fn valid_ident(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 40
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Attributes a visitor reads, with their values.
fn visible<'a>(a: &'a Attrs, name: &str) -> impl Iterator<Item = (&'static str, &'a str)> {
    let button = name == "input"
        && a.kind.as_ref().is_some_and(|t| {
            ["submit", "button", "reset"]
                .iter()
                .any(|x| t.eq_ignore_ascii_case(x))
        });
    let text_meta = name == "meta" && {
        let key = a
            .name
            .as_ref()
            .or(a.property.as_ref())
            .map(|k| k.to_ascii_lowercase())
            .unwrap_or_default();
        [
            "description",
            "og:title",
            "og:description",
            "twitter:title",
            "twitter:description",
        ]
        .contains(&key.as_str())
    };
    let [title, alt, placeholder, aria] = &a.visible;
    [
        ("title", title.as_deref()),
        ("alt", alt.as_deref()),
        ("placeholder", placeholder.as_deref()),
        ("aria-label", aria.as_deref()),
        ("value", a.value.as_deref().filter(|_| button)),
        ("content", a.content.as_deref().filter(|_| text_meta)),
    ]
    .into_iter()
    .filter_map(|(n, v)| Some((n, v?)))
}

fn translate_attrs(t: &mut Tm, el: &mut Element, name: &str, a: &Attrs) {
    if a.i18n_attr {
        return;
    }
    for (attr, raw) in visible(a, name) {
        let Some(value) = translate_attr(t, raw, &format!("{name}@{attr}")) else {
            continue;
        };
        let _ = el.set_attribute(attr, &crate::rewrite::escape_attr(&value));
    }
}

/// The translation of one attribute value, if the memory has it.
fn translate_attr(t: &mut Tm, raw: &str, path: &str) -> Option<String> {
    if raw.len() > t.opts.max_segment_bytes {
        return None;
    }
    let Some(decoded) = notation::decode_entities(raw) else {
        t.report.leave(Left::Entity);
        return None;
    };
    let src = notation::build(&[Piece::Text(&decoded)])?;
    if !src.has_letters {
        return None;
    }
    let target = t.lookup(&src, path)?;
    super::render_plain(&src, &target)
}
