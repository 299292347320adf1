//! Stage five: the page pipeline, the one path every request takes. The
//! worker glue, the benchmarks and the tests all call it; the glue only does
//! the I/O it asks for.
//!
//! - Phase one, [`prepare`]: from the request (plain data) and the site
//!   config, decide everything that can be decided before the origin
//!   answers: answer at once (switch endpoint), plain proxy, or a page with
//!   the KV values to read and the origin request to send.
//! - Phase two, [`Prepared::finish`]: from those values and the origin's
//!   response head, the response head to send and the body rewriter.

#[cfg(test)]
mod attack_tests;
pub mod beacon;
pub mod body;
pub mod cache;
pub mod customer;
mod localized;
pub mod log;
pub mod privacy;
#[cfg(test)]
mod privacy_tests;
pub mod proxy;
pub mod report;
pub mod seen;
pub mod sim;
pub mod switch;
#[cfg(test)]
mod tests;
pub mod values;
pub mod variants;
mod wire;

use log::Log;
pub use wire::{
    apply, origin_request, Answer, HeaderEdit, Loaded, OriginHead, OriginRequest, Request, Runtime,
    Vars, ORIGIN_HEADERS, REQUEST_HEADERS,
};
use wire::{delete, header, json_answer, origin_request_from, set};

use crate::base::request_url::RequestUrl;
use crate::base::url::{is_local_path, percent_decode};
use crate::config::{ConfigError, SiteConfig};
use crate::decide::{locale, Decisions, Visitor};
use crate::plan::l10n::{PageUrl, SWITCH_PATH};
use crate::plan::personal::{self, PersonalReport};
use crate::plan::Plan;
use crate::request::preview::{self, Overrides};
use crate::request::{Context, Geo, Head};
use crate::rewrite::charset::{self, Charset};
use body::PageBody;
use proxy::{Exchange, Skip};
use report::{Decided, REPORT_HEADER};
use std::rc::Rc;
use values::{KvRead, Read, Values};

/// Path of the preview-only explain endpoint.
pub const EXPLAIN_PATH: &str = "/__borderless/explain";

/// What phase one decided.
pub enum Start {
    /// Answer without the origin.
    Answer(Answer),
    /// Send the origin request and pass its response through, with `edits`.
    Proxy {
        origin: OriginRequest,
        edits: Vec<HeaderEdit>,
        logs: Vec<Log>,
    },
    /// A page: read [`Prepared::reads`] while fetching [`Prepared::origin`].
    Page(Box<Prepared>),
    /// The conversion beacon: read its body (at most
    /// [`crate::base::conversion::MAX_BEACON_BYTES`]) and [`beacon::Pending::reads`].
    Beacon(Box<crate::page::beacon::Pending>),
}

/// What phase two decided.
pub enum Finish {
    Answer(Answer),
    /// The origin's response as it came, with `edits` to its headers.
    Passthrough {
        edits: Vec<HeaderEdit>,
    },
    /// The origin's status; its headers with `edits`; the body through `body`.
    Rewrite {
        edits: Vec<HeaderEdit>,
        body: Box<PageBody>,
    },
}

/// Everything phase one knows, for phase two.
pub struct Prepared {
    site: Rc<SiteConfig>,
    ctx: Context,
    d: Decisions,
    ov: Overrides,
    preview: bool,
    /// The page may be kept for the next request (`page::variants`).
    keep: bool,
    visitor: Option<Visitor>,
    plan: Plan,
    variant: String,
    /// The locale named by a URL prefix, if any.
    url_locale: bool,
    page_path: String,
    query: String,
    origin_name: String,
    secure: bool,
    now_ms: i64,
    if_none_match: Option<String>,
    reads: Vec<Read>,
    config_read: Option<KvRead>,
    origin: Option<OriginRequest>,
    /// Whether (and why not) a known customer's value was read.
    customer: Option<customer::Why>,
    /// The privacy page: answered in phase two, once its words are read.
    privacy: Option<privacy::Held>,
    /// A HEAD request: GET's headers, no body.
    head: bool,
}

/// Phase one. `site` is the config as loaded; `config_read` how it was read.
pub fn prepare(
    req: &Request,
    vars: &Vars,
    rt: &Runtime,
    site: Loaded,
    config_read: Option<KvRead>,
) -> Result<Start, String> {
    let preview_on = preview::enabled(
        vars.preview,
        vars.preview_token,
        req.header(preview::TOKEN_HEADER),
    );
    let url = RequestUrl::parse(req.url).map_err(|e| format!("request URL: {e}"))?;
    let privacy_path = match &site {
        Ok(s) => s
            .doc
            .personalization
            .as_ref()
            .map(|p| p.privacy_path.clone()),
        Err(_) => Some(privacy::DEFAULT_PATH.to_string()),
    };
    if req.method != "GET" && privacy_path.as_deref() == Some(url.path()) {
        // Clearing is the worker's own: the origin never sees the POST.
        return Ok(Start::Answer(privacy::post(req, &url, url.path())));
    }
    // HEAD takes the page path too, so its headers agree with GET's.
    if req.method != "GET"
        && req.method != "HEAD"
        && url.path() != crate::base::conversion::BEACON_PATH
    {
        // Only GET bodies are rewritten; everything else is a plain proxy
        // (to the unprefixed path when the shop uses locale prefixes).
        let path = site.as_ref().ok().and_then(|s| {
            let l = s.doc.localization.as_ref().filter(|l| l.url_prefixes)?;
            locale::split_prefix(url.path(), &l.locales).map(|(_, rest)| rest.to_string())
        });
        return Ok(Start::Proxy {
            origin: origin_request_from(&url, req, vars, path.as_deref(), None)?,
            edits: Vec::new(),
            logs: Vec::new(),
        });
    }
    let ov = if preview_on {
        Overrides::from_headers(|n| req.header(n).map(str::to_string))
    } else {
        Overrides::default()
    };
    // Preview's explain endpoint describes another page of the shop.
    let explain = preview_on && url.path() == EXPLAIN_PATH;
    let (path, query) = if explain {
        match explain_target(url.query().unwrap_or("")) {
            Some(t) => t,
            None => {
                return Ok(Start::Answer(json_answer(
                    400,
                    &serde_json::json!({"error": "url must be a path on this site, e.g. ?url=/p/85123A"}),
                )))
            }
        }
    } else {
        (
            url.path().to_string(),
            url.query().map(|q| format!("?{q}")).unwrap_or_default(),
        )
    };
    let head = Head {
        user_agent: req.header("user-agent"),
        ch_ua_mobile: req.header("sec-ch-ua-mobile"),
        accept_language: req.header("accept-language"),
        cookie: req.header("cookie"),
        path: &path,
    };
    let ctx = Context::new(Geo::remembered(req.cf), &head, req.now_ms, &ov, rt.tz);

    let site = match site {
        Ok(s) => s,
        Err(e) => {
            return Ok(config_failed(
                req,
                vars,
                &ctx,
                &ov,
                &e,
                config_read,
                explain,
            ))
        }
    };
    if url.path() == crate::base::conversion::BEACON_PATH {
        let now_ms = ov.now_ms.unwrap_or(req.now_ms);
        let secure = url.scheme() == "https";
        let gpc = req.header("sec-gpc");
        return Ok(beacon::start(&site, &ctx, req.method, gpc, now_ms, secure));
    }
    let loc = site.doc.localization.as_ref();
    if url.path() == SWITCH_PATH && loc.is_some() {
        let (location, cookies) =
            switch::switch(url.query().unwrap_or(""), &site, url.scheme() == "https");
        let mut headers = vec![
            ("location".to_string(), location),
            ("cache-control".to_string(), "no-store".to_string()),
        ];
        headers.extend(cookies.into_iter().map(|c| ("set-cookie".to_string(), c)));
        return Ok(Start::Answer(Answer {
            status: 303,
            headers,
            body: String::new(),
        }));
    }
    let prefixed = loc
        .filter(|l| l.url_prefixes)
        .and_then(|l| locale::split_prefix(&path, &l.locales));
    let origin_path = prefixed.map(|(_, rest)| rest.to_string());
    let page_path = origin_path.clone().unwrap_or_else(|| path.clone());
    let d = crate::decide::remembered::decide(&site, &ctx, prefixed.map(|(l, _)| l));
    let now_ms = ov.now_ms.unwrap_or(req.now_ms);
    // The privacy page describes the visitor; it never makes them an id.
    let privacy_page = !explain && privacy_path.as_deref() == Some(url.path());

    // Personalization: consent, visitor id, profile and arm come from the
    // request; blocks need the country's pack (one KV value).
    let visitor = match (&site.doc.personalization, &site.personal) {
        (Some(p), Some(c)) if !d.crawler => Some(Visitor::read(
            p,
            c,
            &site.digest,
            &ctx,
            &page_path,
            req.header("sec-gpc"),
            now_ms,
            || (!privacy_page).then(rt.fresh_id).flatten(),
        )),
        _ => None,
    };
    let privacy = match &site.doc.personalization {
        Some(p) if privacy_page => Some(privacy::Held::read(
            p,
            &ctx,
            visitor.as_ref(),
            &query,
            vars,
            now_ms,
        )),
        _ => None,
    };
    let bundle = site.doc.bundle.as_str();
    let mut reads = Vec::with_capacity(4);
    let mut customer_why = None;
    if loc.is_some() {
        // The locale's dictionary also carries its money formats: read it
        // even for the default locale (the isolate caches it).
        reads.push(values::dict_read(bundle, &d.locale));
        if d.currency != site.doc.site.currency {
            reads.push(values::fx_live_read());
            reads.push(values::fx_read(bundle));
        }
    }
    // The page's own text, from the locale's translation memory.
    if let Some(tr) = loc.and_then(|l| l.translation.as_ref()) {
        // Only locales that have a memory (`build` lists them).
        match tr.shards.get(&d.locale) {
            Some(&shards) if d.locale != site.doc.site.default_locale && !d.crawler => {
                reads.extend(values::tm_reads(bundle, &d.locale, shards, &page_path));
            }
            _ => {}
        }
    }
    let personal_reads = (&visitor, &site.doc.personalization, &site.personal);
    if let (Some(v), Some(p), Some(c), None) = (
        personal_reads.0,
        personal_reads.1,
        personal_reads.2,
        &privacy,
    ) {
        if v.wants_pack(p) {
            reads.push(values::pack_read(bundle, &ctx.geo.country));
        }
        // A verified customer with consent: one more read, concurrent with the rest.
        let (read, why) =
            customer::read(p, c, v, &ctx, vars.cookie_secret, vars.customer_key, now_ms);
        reads.extend(read);
        customer_why = Some(why);
    }
    // The variant of the page this visitor gets, for validators (ETag).
    let plan = Plan::new(Rc::clone(&site), &ctx, &d);
    let variant = plan.variant(&d);
    let origin = if explain || privacy.is_some() {
        None
    } else {
        Some(origin_request_from(
            &url,
            req,
            vars,
            origin_path.as_deref(),
            Some(&variant),
        )?)
    };
    Ok(Start::Page(Box::new(Prepared {
        site,
        ctx,
        d,
        ov,
        preview: preview_on,
        keep: !preview_on
            && !vars
                .kept_pages
                .is_some_and(|v| v.eq_ignore_ascii_case("off")),
        visitor,
        plan,
        variant,
        url_locale: prefixed.is_some(),
        page_path,
        query,
        origin_name: url.origin(),
        secure: url.scheme() == "https",
        now_ms,
        if_none_match: req.header("if-none-match").map(str::to_string),
        reads,
        config_read,
        origin,
        customer: customer_why,
        privacy,
        head: req.method == "HEAD",
    })))
}

/// No usable config: the origin's page untouched, one log line.
fn config_failed(
    req: &Request,
    vars: &Vars,
    ctx: &Context,
    ov: &Overrides,
    e: &ConfigError,
    config_read: Option<KvRead>,
    explain: bool,
) -> Start {
    let decided = Decided::new(
        &Decisions::origin("und", "XXX"),
        None,
        PersonalReport::default(),
        config_read.into_iter().collect(),
        format!("passthrough: {}", Skip::Config.as_str()),
    );
    if explain {
        return Start::Answer(json_answer(
            503,
            &serde_json::json!({"error": e.to_string(), "context": ctx, "decisions": decided}),
        ));
    }
    let preview = vars.preview.is_some_and(|v| v.eq_ignore_ascii_case("on"))
        || preview::enabled(
            vars.preview,
            vars.preview_token,
            req.header(preview::TOKEN_HEADER),
        );
    let edits = if preview {
        vec![set(REPORT_HEADER, report::report(ctx, &decided, ov))]
    } else {
        Vec::new()
    };
    match origin_request(req, vars, None, None) {
        Ok(origin) => Start::Proxy {
            origin,
            edits,
            logs: vec![log::error(e.kind(), &e.to_string(), &ctx.path)],
        },
        Err(why) => Start::Answer(Answer {
            status: 502,
            headers: Vec::new(),
            body: why,
        }),
    }
}

/// `url=/path?query` of the explain endpoint: a path on this site.
fn explain_target(query: &str) -> Option<(String, String)> {
    let raw = query.split('&').find_map(|kv| kv.strip_prefix("url="))?;
    let t = percent_decode(raw)?;
    if !is_local_path(&t) {
        return None;
    }
    Some(match t.split_once('?') {
        Some((p, q)) => (p.to_string(), format!("?{q}")),
        None => (t, String::new()),
    })
}

impl Prepared {
    /// The KV values to read, each a chain of keys in fallback order.
    pub fn reads(&self) -> &[Read] {
        &self.reads
    }

    /// Whether the answer reports the KV reads (preview): without it,
    /// [`Values::reads`] may be left empty.
    pub fn reports(&self) -> bool {
        self.preview
    }

    /// The origin request to send; `None` for the explain endpoint.
    pub fn origin(&self) -> Option<&OriginRequest> {
        self.origin.as_ref()
    }

    /// The page's path on the origin (for log lines).
    pub fn path(&self) -> &str {
        &self.ctx.path
    }

    /// Phase two: `values` as read, `origin` the origin's response head
    /// (`None` for the explain endpoint), `body` the origin's whole body if
    /// it was read before this call: a page kept for it then skips the
    /// choice of the visitor's blocks (a kept page has no slot).
    pub fn finish(
        self,
        mut values: Values,
        origin: Option<OriginHead>,
        body: Option<&[u8]>,
    ) -> Finish {
        if let Some(h) = &self.privacy {
            return Finish::Answer(privacy::page(h, &self.d.locale, values.dict.as_deref()));
        }
        // What the preview reports (explain is preview only too).
        let mut kv: Vec<KvRead> = Vec::new();
        if self.preview {
            kv.extend(self.config_read.clone());
            kv.append(&mut values.reads);
        }
        // The charset the origin's header names (checked once, used below).
        let mut declared = None;
        if let Some(o) = origin {
            match self.exchange_check(&o) {
                Ok(c) => declared = c,
                Err(skip) => return self.passthrough(o, skip, kv),
            }
        }
        let page = PageUrl {
            origin: &self.origin_name,
            path: &self.page_path,
            query: &self.query,
        };
        let fx = values.rates();
        let local = localized::localized(
            &self.site,
            &self.d,
            values.dict,
            fx.as_ref(),
            &page,
            self.now_ms,
            values.tm.filter(|t| t.locale == self.d.locale),
            values.tm_shard,
        );
        let l10n = local.l10n.clone();
        let conversion = self.page_conversion(fx).map(Rc::new);
        let assignment = self.assignment_line();
        let mut plan = self.plan;
        plan.l10n = l10n.clone();
        plan.conversion = conversion;
        plan.assignment = assignment;
        plan.tm = local.tm.clone();
        // The variant key, if the page may be kept: never for a preview.
        let key = origin.filter(|_| self.keep && !self.head).and_then(|o| {
            let ct = header(o.headers, "content-type");
            variants::Key::of(&plan, &self.d, &page, ct, &local.tail)
        });
        let kept = key
            .as_ref()
            .zip(body)
            .is_some_and(|(k, b)| variants::has(k, b, self.now_ms));
        let pack = values.pack.as_ref();
        let (personal, mut preport, cookies) = match self.visitor {
            Some(v) => {
                let head = personal::head(&self.site, &v, pack, self.now_ms, self.secure);
                // Kept: the page has no slot, so no block to choose.
                let (built, report) = if kept {
                    (None, PersonalReport::default())
                } else {
                    personal::build(
                        &self.site,
                        &self.ctx,
                        &self.d.locale,
                        v,
                        pack,
                        values.customer.as_ref(),
                        l10n.as_ref(),
                        head.profile_updated,
                        self.preview || origin.is_none(),
                    )
                };
                plan.personal = built.map(Rc::new);
                (head.personal, report, head.cookies)
            }
            None => (false, PersonalReport::default(), Vec::new()),
        };
        if let Some(why) = self
            .customer
            .filter(|w| *w != customer::Why::NoCustomerBlock)
        {
            preport
                .reasons
                .push(crate::base::text::concat(&["customer: ", why.as_str()]));
        }
        let Some(o) = origin else {
            // Explain: what this page would get, without fetching it or setting cookies.
            let blocks = match (&plan.personal, &self.site.personal) {
                (Some(p), Some(c)) => p.explain_blocks(&c.slots),
                _ => serde_json::json!([]),
            };
            let decided = Decided::new(&self.d, l10n.as_deref(), preport, kv, "explain".into());
            let mut body =
                serde_json::json!({"context": self.ctx, "decisions": decided, "blocks": blocks});
            if let Some(o) = body.as_object_mut().filter(|_| !self.ov.ignored.is_empty()) {
                o.insert(
                    "ignored_overrides".into(),
                    serde_json::json!(self.ov.ignored),
                );
            }
            return Finish::Answer(json_answer(200, &body));
        };
        let report = self.preview.then(|| {
            let decided = Decided::new(&self.d, l10n.as_deref(), preport, kv, "rewrite".into());
            report::report(&self.ctx, &decided, &self.ov)
        });
        let h = |n: &str| header(o.headers, n);
        let mut edits = vec![
            delete("content-length"),
            // The body now depends on the visitor: shared caches must not keep it.
            set("cache-control", proxy::privatize(h("cache-control"))),
        ];
        edits.extend(proxy::CDN_CACHE_HEADERS.iter().map(|n| delete(n)));
        // Validators name the variant, so a revalidation never returns another
        // language's copy; Last-Modified cannot tell variants apart. A
        // personal page is one of a kind: no validator at all.
        if let Some(e) = h("etag") {
            let tag = (!personal)
                .then_some(&self.variant)
                .and_then(|v| proxy::variant_etag(v, e));
            edits.push(match tag {
                Some(tag) => set("etag", tag),
                None => delete("etag"),
            });
        }
        edits.push(delete("last-modified"));
        edits.push(set("vary", proxy::vary(h("vary"))));
        if let Some(r) = report {
            edits.push(set(REPORT_HEADER, r));
        }
        edits.extend(
            cookies
                .into_iter()
                .map(|c| HeaderEdit::Append("set-cookie".into(), c)),
        );
        if self.head {
            return Finish::Passthrough { edits };
        }
        // A kept page is looked up again by the body (the same bytes).
        let body = PageBody::new(Rc::new(plan), declared, self.ctx.path, key, self.now_ms);
        Finish::Rewrite {
            edits,
            body: Box::new(body),
        }
    }

    /// The visitor's place in the experiments, for the line that counts them.
    fn attributed(&self, event: &str) -> Option<crate::base::conversion::EventLine> {
        self.attributed_in(event, crate::decide::segment::Segment::key_of(&self.ctx))
    }

    /// [`Prepared::attributed`] with the visitor's `segment` key made.
    fn attributed_in(
        &self,
        event: &str,
        segment: String,
    ) -> Option<crate::base::conversion::EventLine> {
        let v = self.visitor.as_ref()?;
        let country = self.ctx.geo.country.clone();
        Some(crate::base::conversion::EventLine {
            event: event.into(),
            visitor: v.id.clone()?,
            arm: v.assignment.label.clone(),
            holdout: v.assignment.label == "holdout",
            segment,
            country,
            path: self.page_path.clone(),
            ..Default::default()
        })
    }

    fn assignment_line(&self) -> Option<crate::plan::Assignment> {
        let every = self.site.doc.personalization.as_ref()?.assignment_log
            == crate::schema::AssignmentLog::Every;
        // A line logged lately is not due at the page's end either (`seen`):
        // not made for a visitor's next pages.
        let v = self.visitor.as_ref()?;
        let segment = crate::decide::segment::Segment::key_of(&self.ctx);
        if !every {
            let parts = [v.id.as_deref()?, &v.assignment.label, &segment];
            if seen::logged(&parts, self.now_ms) {
                return None;
            }
        }
        Some(crate::plan::Assignment {
            line: self.attributed_in("assignment", segment)?,
            every,
        })
    }

    /// On the order confirmation page, the conversion to read from it: for
    /// a visitor with an id (else it could not be attributed).
    fn page_conversion(
        &self,
        fx: Option<Rc<crate::schema::FxRates>>,
    ) -> Option<crate::plan::conversion::PageConversion> {
        let site_conv = self.site.personal.as_ref()?.conversion.as_ref()?;
        let order = site_conv.page.page(&self.page_path, &self.query)?;
        let line = crate::base::conversion::EventLine {
            source: Some("page".into()),
            ..self.attributed("conversion")?
        };
        Some(crate::plan::conversion::PageConversion {
            page: Rc::clone(site_conv),
            order: std::cell::RefCell::new(order),
            line,
            site_currency: self.site.doc.site.currency.clone(),
            fx,
        })
    }

    /// Whether the page is rewritten, and the charset its header names.
    fn exchange_check(&self, o: &OriginHead) -> Result<Option<Charset>, Skip> {
        let h = |n: &str| header(o.headers, n);
        proxy::check(&Exchange {
            method: "GET",
            status: o.status,
            content_type: h("content-type"),
            content_encoding: h("content-encoding"),
            content_range: h("content-range"),
            cache_control: h("cache-control"),
        })?;
        if proxy::excluded(&self.page_path, &self.site.doc.exclude_paths) {
            return Err(Skip::ExcludedPath);
        }
        let declared = h("content-type").and_then(charset::from_content_type);
        if declared == Some(Charset::Unsupported) {
            return Err(Skip::Charset);
        }
        Ok(declared)
    }

    /// The origin's answer passes through: a 304 for the visitor's variant
    /// carries the variant's ETag; a redirect on a locale-prefixed URL keeps
    /// the prefix.
    fn passthrough(self, o: OriginHead, skip: Skip, kv: Vec<KvRead>) -> Finish {
        let h = |n: &str| header(o.headers, n);
        let mut edits = Vec::new();
        if self.url_locale && (300..400).contains(&o.status) {
            let prefix = locale::prefix_of(&self.d.locale);
            if let Some(l) = h("location").and_then(|l| crate::base::url::prefixed(l, &prefix)) {
                edits.push(set("location", crate::base::url::encode_location(&l)));
            }
        }
        // A 304 answers the visitor's own variant tag only if they sent one.
        let ours = self
            .if_none_match
            .as_deref()
            .is_some_and(|v| v.contains(&format!("bl.{}.", self.variant)));
        if ours && o.status == 304 {
            if let Some(e) = h("etag").and_then(|e| proxy::variant_etag(&self.variant, e)) {
                edits.push(set("etag", e));
            }
        }
        if self.preview {
            let decided = Decided::new(
                &self.d,
                None,
                PersonalReport::default(),
                kv,
                format!("passthrough: {}", skip.as_str()),
            );
            edits.push(set(
                REPORT_HEADER,
                report::report(&self.ctx, &decided, &self.ov),
            ));
        }
        Finish::Passthrough { edits }
    }
}
