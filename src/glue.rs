//! The thin Workers glue: reads the request and env, calls the pure modules,
//! and wires the origin body through the rewriter as a stream. Any fault
//! before the body starts means the origin response is returned as it came.

use crate::charset::{self, Charset};
use crate::config::{self, ConfigError, SiteConfig};
use crate::context::{Context, Geo, Head, UNKNOWN_COUNTRY};
use crate::decision::{Decisions, KvRead, Source};
use crate::format;
use crate::locale;
use crate::localize::{self, PageUrl};
use crate::personalize;
use crate::plan::Plan;
use crate::preview::{self, Overrides};
use crate::proxy::{self, Exchange, Skip};
use crate::rewrite::Rewriter;
use crate::schema::{self, CountryPack, Dictionary, FxRates, CONFIG_KEY};
use futures_util::future::poll_fn;
use futures_util::io::AsyncRead;
use futures_util::StreamExt;
use js_sys::{Array, Function, Object, Reflect};
use serde::de::DeserializeOwned;
use std::any::Any;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::pin::Pin;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_streams::readable::IntoAsyncRead;
use worker::{
    console_error, console_log, event, ByteStream, Env, Fetch, Headers, Method, Request,
    RequestInit, RequestRedirect, Response, ResponseBody, Result,
};

const KV_BINDING: &str = "BORDERLESS";
/// In-isolate config lifetime, ms. KV's own edge cache (`cacheTtl`) sits behind it.
const CONFIG_TTL_MS: f64 = 30_000.0;
const KV_CACHE_TTL_S: u64 = 60;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: worker::Context) -> Result<Response> {
    // A spare handle on the request, so that any error below still serves
    // the origin's page. GET and HEAD have no body to consume: the same
    // request object serves again, without the cost of `Request.clone()`.
    let spare = matches!(req.method(), Method::Get | Method::Head)
        .then(|| Request::from(Clone::clone(req.inner())));
    match handle(req, &env).await {
        Ok(resp) => Ok(resp),
        Err(e) => {
            log_error("worker_error", &e.to_string(), "");
            let Some(spare) = spare else { return Err(e) };
            match Fetch::Request(origin_request(&spare, &env, None, None)?)
                .send()
                .await
            {
                Ok(resp) => Ok(resp),
                Err(e) => {
                    // The origin itself is unreachable: say so, briefly.
                    log_error("origin_unreachable", &e.to_string(), &spare.path());
                    Ok(Response::error("Bad Gateway", 502)?)
                }
            }
        }
    }
}

async fn handle(req: Request, env: &Env) -> Result<Response> {
    let preview_on = preview::enabled(
        var(env, "PREVIEW").as_deref(),
        env.secret("PREVIEW_TOKEN")
            .ok()
            .map(|s| s.to_string())
            .as_deref(),
        header(req.headers(), preview::TOKEN_HEADER).as_deref(),
    );
    let (site, config_read) = site_config(env).await;
    if !matches!(req.method(), Method::Get) {
        // Only GET bodies are rewritten; everything else is a plain proxy
        // (to the unprefixed path when the shop uses locale prefixes).
        let url = req.url()?;
        let path = site.as_ref().ok().and_then(|s| {
            let l = s.doc.localization.as_ref().filter(|l| l.url_prefixes)?;
            locale::split_prefix(url.path(), &l.locales).map(|(_, rest)| rest.to_string())
        });
        return Fetch::Request(origin_request(&req, env, path.as_deref(), None)?)
            .send()
            .await;
    }
    let ov = if preview_on {
        Overrides::from_headers(|n| header(req.headers(), n))
    } else {
        Overrides::default()
    };
    let url = req.url()?;
    // Preview's explain endpoint describes another page of the shop.
    let explain = preview_on && url.path() == personalize::EXPLAIN_PATH;
    let target = if explain {
        match explain_target(url.query().unwrap_or("")) {
            Some(t) => t,
            None => {
                return json_response(
                    400,
                    &serde_json::json!({"error": "url must be a path on this site, e.g. ?url=/p/85123A"}),
                )
            }
        }
    } else {
        (
            url.path().to_string(),
            url.query().map(|q| format!("?{q}")).unwrap_or_default(),
        )
    };
    let ctx = build_context(&req, &ov, &target.0);

    let site = match site {
        Ok(s) => s,
        Err(e) => {
            log_error(e.kind(), &e.to_string(), &ctx.path);
            let mut d = Decisions::origin("und", "XXX");
            d.kv.extend(config_read);
            d.body = format!("passthrough: {}", Skip::Config.as_str());
            if explain {
                return json_response(
                    503,
                    &serde_json::json!({"error": e.to_string(), "context": ctx, "decisions": d}),
                );
            }
            let origin = Fetch::Request(origin_request(&req, env, None, None)?)
                .send()
                .await?;
            return with_report(origin, preview_on.then(|| preview::report(&ctx, &d, &ov)));
        }
    };
    let loc = site.doc.localization.as_ref();
    if url.path() == localize::SWITCH_PATH && loc.is_some() {
        return switch(&url, &site);
    }
    let prefixed = loc
        .filter(|l| l.url_prefixes)
        .and_then(|l| locale::split_prefix(&target.0, &l.locales));
    let origin_path = prefixed.map(|(_, rest)| rest.to_string());
    let page_path = origin_path.clone().unwrap_or_else(|| target.0.clone());
    let mut d = Decisions::decide(&site, &ctx, prefixed.map(|(l, _)| l));
    d.kv.extend(config_read);
    let now = ov.now_ms.unwrap_or(js_sys::Date::now() as i64);

    // Personalization: consent, visitor id, profile and arm come from the
    // request; blocks need the country's pack (one KV value, read below).
    let visitor = match (&site.doc.personalization, &site.personal) {
        (Some(p), Some(c)) if !d.crawler => {
            let gpc = header(req.headers(), "sec-gpc");
            Some(personalize::Visitor::read(
                p,
                c,
                &ctx,
                &page_path,
                gpc.as_deref(),
                now,
                new_visitor_id,
            ))
        }
        _ => None,
    };
    let want_pack = match (&visitor, &site.doc.personalization) {
        (Some(v), Some(p)) => v.wants_pack(p),
        _ => false,
    };

    // Bundle values come from the live bundle, read while the origin answers.
    let bundle = site.doc.bundle.as_str();
    // The locale's dictionary also carries its money formats: read it even
    // for the default locale (it is cached in the isolate after the first read).
    let want_dict = loc.is_some();
    let want_fx = loc.is_some() && d.currency != site.doc.site.currency;
    // The variant of the page this visitor gets, for validators (ETag).
    let mut plan = Plan::new(Rc::clone(&site), &ctx, &d);
    let variant = plan.variant(&d);
    let fetch = Fetch::Request(origin_request(
        &req,
        env,
        origin_path.as_deref(),
        Some(&variant),
    )?);
    let (origin, dict, fx, pack) = futures_util::join!(
        async {
            if explain {
                None
            } else {
                Some(fetch.send().await)
            }
        },
        async {
            if want_dict {
                dictionary(env, bundle, &d.locale).await
            } else {
                (None, Vec::new())
            }
        },
        async {
            if want_fx {
                let (v, r) = bundle_value::<FxRates>(
                    env,
                    schema::bundle_key(bundle, schema::KIND_FX, "rates"),
                )
                .await;
                (v, vec![r])
            } else {
                (None, Vec::new())
            }
        },
        async {
            if want_pack {
                country_pack(env, bundle, &ctx.geo.country).await
            } else {
                (None, Vec::new())
            }
        },
    );
    d.kv.extend(dict.1.into_iter().chain(fx.1).chain(pack.1));

    let origin = match origin {
        Some(o) => {
            let o = o?;
            if let Err(skip) = exchange_check(&o, &page_path, &site) {
                d.body = format!("passthrough: {}", skip.as_str());
                let prefix = prefixed.map(|_| locale::prefix_of(&d.locale));
                // A 304 answers the visitor's own variant tag only if they sent one.
                let ours = header(req.headers(), "if-none-match")
                    .is_some_and(|v| v.contains(&format!("bl.{variant}.")));
                let o = fix_passthrough(o, ours.then_some(variant.as_str()), prefix.as_deref())?;
                return with_report(o, preview_on.then(|| preview::report(&ctx, &d, &ov)));
            }
            Some(o)
        }
        None => None,
    };
    let page = PageUrl {
        origin: &url.origin().ascii_serialization(),
        path: &page_path,
        query: &target.1,
    };
    let format = format::formatter(dict.0.as_ref());
    let l10n = localize::build(&site, &mut d, dict.0, fx.0.as_deref(), &page, now, format);
    let secure = url.scheme() == "https";
    let personal = visitor.and_then(|v| {
        personalize::build(
            &site,
            &ctx,
            &mut d,
            v,
            pack.0.as_deref(),
            l10n.as_ref(),
            now,
            secure,
        )
    });
    let Some(origin) = origin else {
        // Explain: what this page would get, without fetching it or setting cookies.
        d.body = "explain".into();
        let blocks = match (&personal, &site.personal) {
            (Some(p), Some(c)) => p.explain_blocks(&c.slots),
            _ => serde_json::json!([]),
        };
        let mut body = serde_json::json!({"context": ctx, "decisions": d, "blocks": blocks});
        if !ov.ignored.is_empty() {
            body["ignored_overrides"] = serde_json::json!(ov.ignored);
        }
        return json_response(200, &body);
    };
    if let Some(l) = l10n {
        plan = plan.with_l10n(l);
    }
    let mut cookies = Vec::new();
    // A personalized page is one of a kind: no validator at all.
    let mut variant = Some(variant);
    if let Some(mut p) = personal {
        cookies = std::mem::take(&mut p.cookies);
        plan = plan.with_personal(Rc::new(p));
        variant = None;
    }
    let report = preview_on.then(|| preview::report(&ctx, &d, &ov));
    rewrite(origin, Rc::new(plan), report, cookies, variant, ctx.path)
}

/// `url=/path?query` of the explain endpoint: a path on this site.
fn explain_target(query: &str) -> Option<(String, String)> {
    let raw = query.split('&').find_map(|kv| kv.strip_prefix("url="))?;
    let t = localize::percent_decode(raw)?;
    if !localize::is_local_path(&t) {
        return None;
    }
    Some(match t.split_once('?') {
        Some((p, q)) => (p.to_string(), format!("?{q}")),
        None => (t, String::new()),
    })
}

/// 16 random bytes as hex; `None` if the runtime has no randomness.
fn new_visitor_id() -> Option<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).ok()?;
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn json_response(status: u16, v: &serde_json::Value) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::ok(v.to_string())?
        .with_status(status)
        .with_headers(headers))
}

/// The country's personalization pack, else the global one (`ZZ`).
async fn country_pack(
    env: &Env,
    bundle: &str,
    country: &str,
) -> (Option<Rc<CountryPack>>, Vec<KvRead>) {
    let mut reads = Vec::with_capacity(2);
    if country != UNKNOWN_COUNTRY {
        let (v, r) = bundle_value::<CountryPack>(
            env,
            schema::bundle_key(bundle, schema::KIND_COUNTRY, country),
        )
        .await;
        reads.push(r);
        if v.is_some() {
            return (v, reads);
        }
    }
    let (v, r) = bundle_value::<CountryPack>(
        env,
        schema::bundle_key(bundle, schema::KIND_COUNTRY, schema::GLOBAL_COUNTRY),
    )
    .await;
    reads.push(r);
    (v, reads)
}

/// A passthrough answer to a rewritable request: a 304 for the visitor's
/// variant carries the variant's ETag; a redirect on a locale-prefixed URL
/// keeps the prefix.
fn fix_passthrough(
    origin: Response,
    variant: Option<&str>,
    prefix: Option<&str>,
) -> Result<Response> {
    let status = origin.status_code();
    let location = header(origin.headers(), "location");
    let relocated = match (prefix, location.as_deref()) {
        (Some(p), Some(l)) if (300..400).contains(&status) => localize::prefixed(l, p),
        _ => None,
    };
    let etag = match (variant, header(origin.headers(), "etag")) {
        (Some(v), Some(e)) if status == 304 => proxy::variant_etag(v, &e),
        _ => None,
    };
    if relocated.is_none() && etag.is_none() {
        return Ok(origin);
    }
    let headers = origin.headers().clone();
    if let Some(l) = relocated {
        headers.set("location", &l)?;
    }
    if let Some(e) = etag {
        headers.set("etag", &e)?;
    }
    let (builder, body) = origin.into_parts();
    Ok(builder.with_headers(headers).body(body))
}

/// The origin response as it came, plus the preview report if any.
fn with_report(origin: Response, report: Option<String>) -> Result<Response> {
    let Some(report) = report else {
        return Ok(origin);
    };
    let headers = origin.headers().clone();
    headers.set(preview::REPORT_HEADER, &report)?;
    let (builder, body) = origin.into_parts();
    Ok(builder.with_headers(headers).body(body))
}

/// `/__borderless/switch?locale=..&currency=..&return=..`: sets the
/// visitor's choice and sends them back (never used by geo, only by clicks).
fn switch(url: &worker::Url, site: &SiteConfig) -> Result<Response> {
    let (location, cookies) =
        localize::switch(url.query().unwrap_or(""), site, url.scheme() == "https");
    let headers = Headers::new();
    headers.set("location", &location)?;
    headers.set("cache-control", "no-store")?;
    for c in cookies {
        headers.append("set-cookie", &c)?;
    }
    Ok(Response::empty()?.with_status(303).with_headers(headers))
}

/// The dictionary for a locale, falling back along its chain (`de-AT` → `de`).
async fn dictionary(
    env: &Env,
    bundle: &str,
    locale: &str,
) -> (Option<Rc<Dictionary>>, Vec<KvRead>) {
    let mut reads = Vec::new();
    for l in locale::fallbacks(locale) {
        let (v, r) =
            bundle_value::<Dictionary>(env, schema::bundle_key(bundle, schema::KIND_DICT, l)).await;
        reads.push(r);
        if v.is_some() {
            return (v, reads);
        }
    }
    (None, reads)
}

/// A value of the live bundle. Bundle keys never change once written, so
/// values (and their absence) are kept for the isolate's lifetime.
async fn bundle_value<T: DeserializeOwned + 'static>(
    env: &Env,
    key: String,
) -> (Option<Rc<T>>, KvRead) {
    thread_local! {
        static VALUES: RefCell<HashMap<String, Option<Rc<dyn Any>>>> = RefCell::new(HashMap::new());
    }
    if let Some(hit) = VALUES.with_borrow(|m| m.get(&key).cloned()) {
        let v = hit.and_then(|a| a.downcast::<T>().ok());
        let found = v.is_some();
        return (
            v,
            KvRead {
                key,
                source: Source::Isolate,
                found,
            },
        );
    }
    let text = match env.kv(KV_BINDING) {
        Ok(kv) => kv
            .get(&key)
            .cache_ttl(KV_CACHE_TTL_S)
            .text()
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let value: Option<Rc<dyn Any>> = match text {
        Ok(Some(t)) if t.len() <= schema::MAX_KV_VALUE_BYTES => match serde_json::from_str::<T>(&t)
        {
            Ok(v) => Some(Rc::new(v)),
            Err(e) => {
                log_error("kv_value_unparsable", &e.to_string(), &key);
                None
            }
        },
        Ok(_) => None,
        Err(e) => {
            // Not cached: the next request tries again.
            log_error("kv_read_failed", &e, &key);
            return (
                None,
                KvRead {
                    key,
                    source: Source::Kv,
                    found: false,
                },
            );
        }
    };
    VALUES.with_borrow_mut(|m| {
        if m.len() >= 256 {
            m.clear();
        }
        m.insert(key.clone(), value.clone());
    });
    let v = value.and_then(|a| a.downcast::<T>().ok());
    let found = v.is_some();
    (
        v,
        KvRead {
            key,
            source: Source::Kv,
            found,
        },
    )
}

fn exchange_check(
    origin: &Response,
    path: &str,
    site: &SiteConfig,
) -> std::result::Result<(), Skip> {
    let h = origin.headers();
    let (ct, ce, cr, cc) = (
        header(h, "content-type"),
        header(h, "content-encoding"),
        header(h, "content-range"),
        header(h, "cache-control"),
    );
    proxy::check(&Exchange {
        method: "GET",
        status: origin.status_code(),
        content_type: ct.as_deref(),
        content_encoding: ce.as_deref(),
        content_range: cr.as_deref(),
        cache_control: cc.as_deref(),
    })?;
    if proxy::excluded(path, &site.doc.exclude_paths) {
        return Err(Skip::ExcludedPath);
    }
    if ct.as_deref().and_then(charset::from_content_type) == Some(Charset::Unsupported) {
        return Err(Skip::Charset);
    }
    Ok(())
}

/// Streams the origin body through the rewriter with the origin's status and headers.
fn rewrite(
    mut origin: Response,
    plan: Rc<Plan>,
    report: Option<String>,
    cookies: Vec<String>,
    variant: Option<String>,
    path: String,
) -> Result<Response> {
    let headers = origin.headers().clone();
    let declared = header(&headers, "content-type")
        .as_deref()
        .and_then(charset::from_content_type);
    headers.delete("content-length")?;
    // The body now depends on the visitor: shared caches must not keep it.
    let cc = proxy::privatize(header(&headers, "cache-control").as_deref());
    headers.set("cache-control", &cc)?;
    // Validators name the variant, so a revalidation never returns another
    // language's copy; Last-Modified cannot tell variants apart.
    match (variant, header(&headers, "etag")) {
        (Some(v), Some(etag)) => match proxy::variant_etag(&v, &etag) {
            Some(tag) => headers.set("etag", &tag)?,
            None => headers.delete("etag")?,
        },
        _ => headers.delete("etag")?,
    }
    headers.delete("last-modified")?;
    headers.set("vary", &proxy::vary(header(&headers, "vary").as_deref()))?;
    if let Some(r) = report {
        headers.set(preview::REPORT_HEADER, &r)?;
    }
    for c in cookies {
        headers.append("set-cookie", &c)?;
    }
    let status = origin.status_code();
    let body = Body::new(&mut origin)?;
    let pump = Pump {
        body,
        plan,
        declared,
        sniff: Vec::new(),
        rw: None,
        done: false,
        path,
    };
    let stream =
        futures_util::stream::unfold(pump, |mut p| async move { p.next().await.map(|r| (r, p)) });
    Ok(Response::from_stream(stream)?
        .with_status(status)
        .with_headers(headers))
}

/// Bytes per origin read. Each read costs a fixed round of promises and
/// microtasks between the runtime and Wasm, so one large read beats many of
/// the runtime's default 4 KB chunks (1.4 MB page: 67 → 5 ms of CPU); a read
/// still returns as soon as any bytes are there, so latency is unchanged.
const READ_BYTES: usize = 256 << 10;

/// The origin body: a byte stream read into our own buffer (BYOB), or any
/// other stream chunk by chunk.
enum Body {
    Byob(IntoAsyncRead<'static>, Vec<u8>),
    Chunks(ByteStream),
}

impl Body {
    fn new(origin: &mut Response) -> Result<Body> {
        let ResponseBody::Stream(raw) = origin.body() else {
            return origin.stream().map(Body::Chunks);
        };
        Ok(
            match wasm_streams::ReadableStream::from_raw(raw.clone()).try_into_async_read() {
                Ok(r) => Body::Byob(r, vec![0; READ_BYTES]),
                Err((_, s)) => Body::Chunks(ByteStream::from(s.into_raw())),
            },
        )
    }

    /// The next chunk; `None` at the end.
    async fn next(&mut self) -> Option<Result<Cow<'_, [u8]>>> {
        match self {
            Body::Byob(r, buf) => {
                let read = poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, buf)).await;
                match read {
                    Ok(0) => None,
                    Ok(n) => Some(Ok(Cow::Borrowed(&buf[..n]))),
                    Err(e) => Some(Err(worker::Error::RustError(e.to_string()))),
                }
            }
            Body::Chunks(s) => s.next().await.map(|r| r.map(Cow::Owned)),
        }
    }
}

/// Pulls origin chunks, rewrites them, and yields what is ready.
struct Pump {
    body: Body,
    plan: Rc<Plan>,
    declared: Option<Charset>,
    sniff: Vec<u8>,
    rw: Option<Rewriter>,
    done: bool,
    path: String,
}

impl Pump {
    async fn next(&mut self) -> Option<Result<Vec<u8>>> {
        while !self.done {
            let out = match self.body.next().await {
                Some(Ok(chunk)) => match self.rw.as_mut() {
                    Some(rw) => rw.write(&chunk),
                    None => {
                        self.sniff.extend_from_slice(&chunk);
                        drop(chunk);
                        if self.sniff.len() < charset::PRESCAN_BYTES {
                            continue;
                        }
                        self.start()
                    }
                },
                Some(Err(e)) => {
                    // The origin broke off: pass the error on, never fake an ending.
                    self.done = true;
                    return Some(Err(e));
                }
                None => {
                    self.done = true;
                    let mut out = if self.rw.is_none() {
                        self.start()
                    } else {
                        Vec::new()
                    };
                    if let Some(rw) = self.rw.as_mut() {
                        out.extend(rw.end());
                        if let Some(why) = rw.bail_out() {
                            log_error("rewriter_bail_out", why, &self.path);
                        }
                        // One exposure line for the blocks the page showed.
                        if let (Some(p), Some(c)) = (&self.plan.personal, &self.plan.site.personal)
                        {
                            if let Some(line) = p.exposure(&c.slots) {
                                console_log!("{}", line);
                            }
                        }
                    }
                    out
                }
            };
            if !out.is_empty() {
                return Some(Ok(out));
            }
        }
        None
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

type Loaded = std::result::Result<Rc<SiteConfig>, Rc<ConfigError>>;

/// The site config from the in-isolate cache, else KV (with `cacheTtl`).
async fn site_config(env: &Env) -> (Loaded, Option<KvRead>) {
    thread_local! {
        static CACHE: RefCell<Option<(f64, Loaded)>> = const { RefCell::new(None) };
    }
    let now = js_sys::Date::now();
    if let Some(hit) = CACHE.with_borrow(|c| {
        c.as_ref()
            .filter(|(at, _)| now - at < CONFIG_TTL_MS)
            .map(|(_, r)| r.clone())
    }) {
        let found = hit.is_ok();
        let read = KvRead {
            key: CONFIG_KEY.into(),
            source: Source::Isolate,
            found,
        };
        return (hit, Some(read));
    }
    let text = match env.kv(KV_BINDING) {
        Ok(kv) => kv
            .get(CONFIG_KEY)
            .cache_ttl(KV_CACHE_TTL_S)
            .text()
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let result = match text {
        Ok(Some(t)) => config::parse(&t).map(Rc::new).map_err(Rc::new),
        Ok(None) => Err(Rc::new(ConfigError::Missing)),
        // A KV outage is not cached: the next request tries again.
        Err(e) => {
            return (
                Err(Rc::new(ConfigError::Unparsable(format!(
                    "KV read failed: {e}"
                )))),
                None,
            )
        }
    };
    CACHE.with_borrow_mut(|c| *c = Some((now, result.clone())));
    let found = result.is_ok();
    (
        result,
        Some(KvRead {
            key: CONFIG_KEY.into(),
            source: Source::Kv,
            found,
        }),
    )
}

fn build_context(req: &Request, ov: &Overrides, path: &str) -> Context {
    let h = req.headers();
    let (ua, mobile, al, cookie) = (
        header(h, "user-agent"),
        header(h, "sec-ch-ua-mobile"),
        header(h, "accept-language"),
        header(h, "cookie"),
    );
    let head = Head {
        user_agent: ua.as_deref(),
        ch_ua_mobile: mobile.as_deref(),
        accept_language: al.as_deref(),
        cookie: cookie.as_deref(),
        path,
    };
    let cf = Reflect::get(req.inner(), &JsValue::from_str("cf"))
        .ok()
        .filter(|v| v.is_object())
        .and_then(|v| js_sys::JSON::stringify(&v).ok())
        .and_then(|s| s.as_string());
    let geo = Geo::from_cf_json(cf.as_deref());
    Context::new(geo, &head, js_sys::Date::now() as i64, ov, &tz_offset)
}

/// The request to send to the origin: same method, headers (minus preview
/// ones) and body; `ORIGIN` replaces scheme and host when set; redirects are
/// returned to the visitor, not followed.
fn origin_request(
    req: &Request,
    env: &Env,
    path: Option<&str>,
    variant: Option<&str>,
) -> Result<Request> {
    let mut url = req.url()?;
    if let Some(p) = path {
        url.set_path(p);
    }
    if let Some(origin) = var(env, "ORIGIN").filter(|o| !o.is_empty()) {
        let o = worker::Url::parse(&origin)
            .map_err(|e| worker::Error::RustError(format!("ORIGIN: {e}")))?;
        url.set_scheme(o.scheme()).ok();
        url.set_host(o.host_str())
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        url.set_port(o.port()).ok();
    }
    let headers = req.headers().clone();
    // Preview headers (and the token) never reach the origin.
    for name in req
        .headers()
        .keys()
        .filter(|n| n.starts_with("x-borderless-"))
    {
        headers.delete(&name)?;
    }
    if let (Some(v), Some(inm)) = (variant, header(&headers, "if-none-match")) {
        let (forward, stale) = proxy::forward_if_none_match(&inm, v);
        match forward {
            Some(f) => headers.set("if-none-match", &f)?,
            None => headers.delete("if-none-match")?,
        }
        if stale {
            headers.delete("if-modified-since")?;
        }
    }
    let mut init = RequestInit::new();
    init.with_method(req.method())
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual)
        .with_body(match req.method() {
            // A body on GET/HEAD is meaningless and makes the runtime refuse the request.
            Method::Get | Method::Head => None,
            _ => req.inner().body().map(JsValue::from),
        });
    Request::new_with_init(url.as_str(), &init)
}

/// UTC offset of `zone` at `at_ms`, from the runtime's own Intl time zone
/// data (no tz database in the bundle). Formatters are cached per zone.
fn tz_offset(zone: &str, at_ms: i64) -> Option<i32> {
    thread_local! {
        static FORMATTERS: RefCell<HashMap<String, Function>> = RefCell::new(HashMap::new());
    }
    let format = match FORMATTERS.with_borrow(|f| f.get(zone).cloned()) {
        Some(f) => f,
        None => {
            let intl = Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
            let ctor: Function = Reflect::get(&intl, &"DateTimeFormat".into())
                .ok()?
                .dyn_into()
                .ok()?;
            let opts = Object::new();
            for (k, v) in [
                ("timeZone", zone),
                ("hourCycle", "h23"),
                ("year", "numeric"),
                ("month", "numeric"),
                ("day", "numeric"),
                ("hour", "numeric"),
                ("minute", "numeric"),
                ("second", "numeric"),
            ] {
                Reflect::set(&opts, &k.into(), &v.into()).ok()?;
            }
            // An unknown zone throws RangeError, which `construct` turns into Err.
            let fmt = Reflect::construct(&ctor, &Array::of2(&"en-US".into(), &opts)).ok()?;
            let f: Function = Reflect::get(&fmt, &"formatToParts".into())
                .ok()?
                .dyn_into()
                .ok()?;
            let bound = f.bind0(&fmt);
            FORMATTERS.with_borrow_mut(|m| {
                if m.len() >= 256 {
                    m.clear();
                }
                m.insert(zone.to_string(), bound.clone());
            });
            bound
        }
    };
    let secs = at_ms.div_euclid(1000);
    let date = js_sys::Date::new(&JsValue::from_f64((secs * 1000) as f64));
    let parts: Array = format.call1(&JsValue::NULL, &date).ok()?.dyn_into().ok()?;
    let mut f = [0i64; 6];
    for p in parts.iter() {
        let ty = Reflect::get(&p, &"type".into()).ok()?.as_string()?;
        let idx = ["year", "month", "day", "hour", "minute", "second"]
            .iter()
            .position(|t| *t == ty);
        if let Some(i) = idx {
            f[i] = Reflect::get(&p, &"value".into())
                .ok()?
                .as_string()?
                .parse()
                .ok()?;
        }
    }
    let local = crate::clock::civil_to_ms(f[0], f[1], f[2], f[3], f[4], f[5]);
    i32::try_from((local - secs * 1000) / 60_000).ok()
}

fn header(h: &Headers, name: &str) -> Option<String> {
    h.get(name).ok().flatten()
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string())
}

/// One structured log line per fault.
fn log_error(kind: &str, detail: &str, path: &str) {
    let line = serde_json::json!({"level": "error", "event": kind, "detail": detail, "path": path});
    console_error!("{}", line);
}
