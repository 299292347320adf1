//! Stage four: the streaming rewriter. Bytes in, bytes out, chunk by chunk,
//! applying a [`Plan`] with lol_html; every lol_html handler lives here.
//! It never fails: past its memory cap or on any rewriter error the rest of
//! the page passes through untouched.

pub mod charset;
pub mod l10n;
pub mod personal;
pub mod prices;
pub mod tm;

use crate::base::escape::escape_attr;
use crate::plan::Plan;
use encoding_rs::Encoding;
use lol_html::html_content::{ContentType, Element};
use lol_html::{
    AsciiCompatibleEncoding, ElementContentHandlers, HtmlRewriter, MemorySettings, OutputSink,
    Selector, Settings,
};
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

struct Sink(Rc<RefCell<Vec<u8>>>);

impl OutputSink for Sink {
    fn handle_chunk(&mut self, chunk: &[u8]) {
        self.0.borrow_mut().extend_from_slice(chunk);
    }
}

pub struct Rewriter {
    inner: Option<HtmlRewriter<'static, Sink>>,
    out: Rc<RefCell<Vec<u8>>>,
    bail_out: Option<String>,
    /// The price stage's state (its counts) and its held-back output.
    prices: Option<(Rc<RefCell<prices::State>>, prices::Release)>,
    /// Translation memory: its state and the post-processor every output
    /// byte goes through after the price stage (it strips the segment
    /// markers and swaps in translations; prices inside a segment are
    /// already settled when it reads them).
    tm: Option<(tm::Shared, tm::post::Post)>,
    /// The memory was left out for want of a nonce: this page is not the
    /// one its plan names.
    degraded: bool,
}

impl Rewriter {
    /// `encoding` must be ASCII compatible (see [`crate::charset`]); otherwise
    /// the rewriter passes everything through.
    pub fn new(
        plan: Rc<Plan>,
        encoding: &'static Encoding,
        memory_cap: usize,
        adjust_charset: bool,
    ) -> Rewriter {
        let out = Rc::new(RefCell::new(Vec::with_capacity(16 << 10)));
        let page_encoding = encoding;
        let Some(encoding) = AsciiCompatibleEncoding::new(encoding) else {
            return Rewriter {
                inner: None,
                out,
                bail_out: Some("encoding".into()),
                prices: None,
                tm: None,
                degraded: false,
            };
        };
        let mut settings = Settings::new()
            .with_encoding(encoding)
            .with_strict(false)
            .with_adjust_charset_on_meta_tag(adjust_charset)
            .with_memory_settings(
                MemorySettings::new()
                    .with_max_allowed_memory_usage(memory_cap)
                    .with_preallocated_parsing_buffer_size(memory_cap.min(4096))
                    .with_graceful_bail_out_on_memory_limit_exceeded(true),
            )
            .with_graceful_bail_out_on_content_handler_error(true);
        for (i, edit) in plan.edits.iter().enumerate() {
            let Some(rule) = plan.site.rules.get(edit.rule) else {
                continue;
            };
            let selector = &rule.selector;
            let plan = Rc::clone(&plan);
            let handler = move |el: &mut Element| {
                let Some(edit) = plan.edits.get(i) else {
                    return Ok(());
                };
                for (name, value) in &edit.attrs {
                    el.set_attribute(name, &escape_attr(value))?;
                }
                if let Some(text) = &edit.text {
                    el.set_inner_content(text, ContentType::Text);
                }
                Ok(())
            };
            settings = settings.append_element_content_handler((
                Cow::Borrowed(selector),
                ElementContentHandlers::default().element(handler),
            ));
        }
        let opts = plan
            .site
            .doc
            .localization
            .as_ref()
            .and_then(|l| l.translation.clone());
        let (tm, degraded) = match (&plan.tm, opts) {
            (Some(m), Some(o)) => {
                let tm = tm::Tm::new(Rc::new(o), Some(Rc::clone(m)), false);
                let degraded = tm.is_none();
                (tm, degraded)
            }
            _ => (None, false),
        };
        let mut price_stage = None;
        if let Some(l) = &plan.l10n {
            settings = l10n::attach(l, settings);
            if let Some(setup) = &l.detect {
                let holds = Rc::new(RefCell::new(prices::Holds::new(encoding.into())));
                let mut state = prices::State::new(Rc::clone(setup), Rc::clone(&holds));
                // The memory's text handler comes after this stage's.
                state.last = tm.is_none();
                let state = Rc::new(RefCell::new(state));
                settings = prices::attach(&state, settings);
                price_stage = Some((state, prices::Release::new(holds)));
            }
        }
        if let Some(c) = &plan.site.personal {
            settings = personal::attach(&plan, &c.slots, settings);
        }
        if let Some(conv) = &plan.conversion {
            if let Some(sel) = &conv.page.selector {
                let conv = Rc::clone(conv);
                settings = settings.append_element_content_handler((
                    Cow::Borrowed(sel),
                    ElementContentHandlers::default().element(move |el: &mut Element| {
                        let mut order = conv.order.borrow_mut();
                        conv.page
                            .page
                            .element(&mut order, |name| el.get_attribute(name));
                        Ok(())
                    }),
                ));
            }
        }
        let tm = tm.map(|t| {
            settings = tm::segment::attach(&t, std::mem::take(&mut settings));
            let post = tm::post::Post::new(Rc::clone(&t), page_encoding);
            (t, post)
        });
        let inner = HtmlRewriter::new(settings, Sink(Rc::clone(&out)));
        Rewriter {
            inner: Some(inner),
            out,
            bail_out: None,
            prices: price_stage,
            tm,
            degraded,
        }
    }

    /// A rewriter that passes every byte through (unsupported encodings).
    pub fn passthrough() -> Rewriter {
        Rewriter {
            inner: None,
            out: Rc::new(RefCell::new(Vec::new())),
            bail_out: None,
            prices: None,
            tm: None,
            degraded: false,
        }
    }

    /// Feeds one chunk; returns the bytes ready to send (possibly empty).
    pub fn write(&mut self, chunk: &[u8]) -> Vec<u8> {
        match self.inner.as_mut() {
            Some(r) => {
                let failed = r.write(chunk).err();
                if let Some(e) = &failed {
                    // Graceful bail-out: the sink already holds every input byte.
                    self.inner = None;
                    self.bail_out = Some(e.to_string());
                }
                self.take(failed.is_some())
            }
            None => {
                // After a bail-out: still through the later stages, which
                // may hold a split price's or a segment's bytes.
                self.out.borrow_mut().extend_from_slice(chunk);
                self.take(true)
            }
        }
    }

    /// Ends the input; returns the last bytes.
    pub fn end(&mut self) -> Vec<u8> {
        if let Some(r) = self.inner.take() {
            if let Err(e) = r.end() {
                self.bail_out = Some(e.to_string());
            }
        }
        let mut out = self.take(true);
        if let Some((_, post)) = self.tm.as_mut() {
            post.finish(&mut out);
        }
        out
    }

    /// What the translation memory did on this page, if it ran.
    pub fn tm_report(&self) -> Option<(tm::Report, u8)> {
        self.tm
            .as_ref()
            .map(|(t, _)| (t.borrow().report.clone(), t.borrow().sample()))
    }

    /// What the price stage found and did on this page so far.
    pub fn price_counts(&self) -> Option<prices::Counts> {
        self.prices.as_ref().map(|(s, _)| s.borrow().counts)
    }

    /// The page came out as its plan names it: no bail-out, no stage left
    /// out. Only such a page may be kept for the next request.
    pub fn complete(&self) -> bool {
        self.bail_out.is_none() && !self.degraded
    }

    /// Why the rewriter stopped rewriting, if it did.
    pub fn bail_out(&self) -> Option<&str> {
        self.bail_out.as_deref()
    }

    /// The output so far, less what a split price holds back (at the end,
    /// or after a bail-out, every held piece goes out as it was), through
    /// the translation memory's post-processor.
    fn take(&mut self, last: bool) -> Vec<u8> {
        // The sink's next buffer is sized like this chunk's output, so
        // lol_html's writes into it do not regrow it from empty.
        let out = {
            let mut sink = self.out.borrow_mut();
            let size = sink.len();
            std::mem::replace(&mut *sink, Vec::with_capacity(size))
        };
        let out = match self.prices.as_mut() {
            Some((_, release)) => release.pass(out, last),
            None => out,
        };
        match self.tm.as_mut() {
            Some((_, post)) => {
                let mut done = Vec::with_capacity(out.len());
                post.feed(&out, &mut done);
                done
            }
            None => out,
        }
    }
}

/// `text` parsed as a selector, once per isolate rather than for every
/// page: the texts come from the code and the config, so they are few (the
/// cache starts over past `MAX`, should configs churn). `None` if it does
/// not parse: it would never match.
pub(crate) fn selector(text: &str) -> Option<Selector> {
    const MAX: usize = 256;
    thread_local! {
        static PARSED: RefCell<std::collections::HashMap<String, Option<Selector>>> =
            RefCell::new(std::collections::HashMap::new());
    }
    PARSED.with_borrow_mut(|parsed| {
        if let Some(s) = parsed.get(text) {
            return s.clone();
        }
        if parsed.len() >= MAX {
            parsed.clear();
        }
        let s = text.parse::<Selector>().ok();
        parsed.insert(text.to_string(), s.clone());
        s
    })
}

#[cfg(test)]
mod tests {
    use crate::page::sim::{OriginResponse, Shop, Visit};
    use encoding_rs::{Encoding, SHIFT_JIS, UTF_8, WINDOWS_1252};

    /// A shop with these rules and a visitor from `country`, through the pipeline.
    fn plan_for(rules: &str, country: &str) -> (Shop, Visit) {
        let doc = format!(
            r#"{{"version":1,"bundle":"t","site":{{"default_locale":"en-GB","currency":"GBP"}},"rules":{rules},
            "limits":{{"rewriter_memory":65536}}}}"#
        );
        (Shop::new(&doc), Visit::get("/", country))
    }

    /// Past the first KiB (held for the charset prescan) every chunk size
    /// reaches the rewriter as it is; a comment pads the page to get there.
    const PAD: usize = 1100;

    fn run(
        (shop, mut v): (Shop, Visit),
        enc: &'static Encoding,
        input: &[u8],
        chunk: usize,
    ) -> (Vec<u8>, Option<String>) {
        let mut page = b"<!--".to_vec();
        page.extend(std::iter::repeat_n(b' ', PAD - 7));
        page.extend_from_slice(b"-->");
        page.extend_from_slice(input);
        v.chunk = chunk;
        let ct = format!("text/html; charset={}", enc.name());
        let out = shop.serve(&v, &OriginResponse::html(&page, &ct)).unwrap();
        assert!(out.rewritten);
        let body = out.body.get(PAD..).unwrap_or_default().to_vec();
        (body, out.bail_out())
    }

    const GREET: &str = r#"[{"select":"[data-greet]","set_text":"Hello {country} <b>&"},
        {"select":"html","set_attr":{"data-country":"{country}\"><script>x</script>"}}]"#;

    #[test]
    fn applies_rules_across_any_chunking() {
        let input =
            b"<!doctype html><html lang=en><body><p data-greet>Hi</p><p>keep</p></body></html>";
        let want = "<!doctype html><html lang=en data-country=\"FR&quot;&gt;&lt;script&gt;x&lt;/script&gt;\"><body><p data-greet>Hello FR &lt;b&gt;&amp;</p><p>keep</p></body></html>";
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let (out, bail) = run(plan_for(GREET, "FR"), UTF_8, input, chunk);
            assert_eq!(String::from_utf8(out).unwrap(), want, "chunk {chunk}");
            assert_eq!(bail, None);
        }
    }

    #[test]
    fn untargeted_page_is_byte_identical() {
        let input = "<html><body>\u{0}<p>caf\u{e9} \u{1F600}</p><img src=x onerror=alert(1)><!-- c --></body>".as_bytes();
        let (out, _) = run(
            plan_for(GREET.replace("html", "nav").as_str(), "DE"),
            UTF_8,
            input,
            5,
        );
        assert_eq!(out, input);
    }

    #[test]
    fn legacy_encodings_stream() {
        let (page, _, _) = SHIFT_JIS.encode("<html><p data-greet>こんにちは</p><p>価格</p></html>");
        let (out, _) = run(
            plan_for(GREET.replace("html", "nav").as_str(), "JP"),
            SHIFT_JIS,
            &page,
            3,
        );
        let (text, _, bad) = SHIFT_JIS.decode(&out);
        assert!(!bad);
        assert_eq!(
            text,
            "<html><p data-greet>Hello JP &lt;b&gt;&amp;</p><p>価格</p></html>"
        );
        let latin = b"<p>Gr\xFC\xDFe</p><p data-greet>x</p>";
        let (out, _) = run(plan_for(GREET, "AT"), WINDOWS_1252, latin, 4);
        assert_eq!(
            out,
            b"<p>Gr\xFC\xDFe</p><p data-greet>Hello AT &lt;b&gt;&amp;</p>"
        );
    }

    #[test]
    fn over_the_memory_cap_continues_untouched() {
        // A start tag bigger than the cap must be buffered whole, so it trips the cap.
        let mut input = b"<html><p data-greet>a</p><div title=\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', 200_000));
        input.extend_from_slice(b"\">tail</div><p data-greet>b</p></html>");
        let (out, bail) = run(
            plan_for(GREET.replace("\"html\"", "\"nav\"").as_str(), "DE"),
            UTF_8,
            &input,
            1000,
        );
        assert!(bail.is_some(), "expected a bail-out");
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.starts_with("<html><p data-greet>Hello DE"),
            "rewritten before the cap"
        );
        let rest = &input[input.len() - 200_040..];
        assert!(
            s.as_bytes().ends_with(rest),
            "untouched after the cap, nothing lost"
        );
        assert_eq!(s.len(), input.len() + "Hello DE &lt;b&gt;&amp;".len() - 1);
    }
}
