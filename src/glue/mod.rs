//! The Workers glue, I/O only: reads the request and env, calls the page
//! pipeline (`crate::page`), does the KV reads and fetches it asks for and
//! parks the page body for `worker/entry.mjs` to pump.

mod body;
mod cron;
mod events;
mod intl;
mod kv;
mod panic;
mod sync;

use crate::page::{
    self, Answer, Finish, HeaderEdit, OriginHead, OriginRequest, Runtime, Start, Vars,
};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::{
    Headers, Request, RequestInit, RequestRedirect, Response, ResponseInit, WorkerGlobalScope,
};
use worker::{console_error, Env};

type Result<T> = std::result::Result<T, worker::Error>;

/// Marks a body to pump through a parked page (`body.rs`), for
/// `worker/entry.mjs`; its value is the id.
const STREAM_MARK: &str = "x-borderless-stream";

/// The fetch handler, exported as `#[event(fetch)]` exports it (an error
/// is logged and answers 500, as there), but on the runtime's own
/// `Request` and `Response`: the macro's `worker::Request` and
/// `Fetch::send`'s `worker::Response` read `cf` (built anew on every read),
/// the URL and `webSocket` again on every request.
#[wasm_bindgen(wasm_bindgen_futures = ::worker::wasm_bindgen_futures)]
pub async fn fetch(req: Request, env: Env, _ctx: JsValue) -> std::result::Result<JsValue, JsValue> {
    // `request.cf` as the entry sends it (`Geo::from_cf`), read by key:
    // `worker::Cf`'s getters panic on missing fields.
    let cf = Reflect::get(&req, &"cf".into())
        .ok()
        .filter(JsValue::is_object)
        .map(|cf| cf_line(&cf));
    let h = req.headers();
    let mut headers = by_name(&h, &page::REQUEST_HEADERS);
    headers.extend(by_name(&h, panic::HEADERS));
    respond(handle(req, &env, headers, cf).await)
}

/// `request.cf` as `cfLine` in `worker/entry.mjs` makes it
/// (`Geo::cf_line_from`), each field read by its path.
fn cf_line(cf: &JsValue) -> String {
    crate::request::Geo::cf_line_from(|path| {
        let mut v = cf.clone();
        for k in path.split('.') {
            v = if v.is_object() {
                Reflect::get(&v, &k.into()).ok()?
            } else {
                return None;
            };
        }
        // A number in Rust's text, not JS's: both read back as the same f64.
        match (v.as_string(), v.as_bool(), v.as_f64()) {
            (Some(s), _, _) => Some(s),
            (_, Some(b), _) => Some(b.to_string()),
            (_, _, Some(f)) => Some(f.to_string()),
            _ => None,
        }
    })
}

/// The handler as `worker/entry.mjs` calls it: with the request's headers
/// (`name:value` lines, as the runtime lists them) and `cf` (a line) read in
/// JS, one string each, rather than through a crossing per value. An error
/// (the origin unreachable, say) is thrown: the entry serves the origin's
/// page, or a 502, as it does for the synchronous handler (`sync.rs`).
#[wasm_bindgen(wasm_bindgen_futures = ::worker::wasm_bindgen_futures)]
pub async fn borderless_fetch(
    req: Request,
    env: Env,
    headers: String,
    cf: Option<String>,
) -> std::result::Result<JsValue, JsValue> {
    let resp = handle(req, &env, header_lines(&headers), cf).await;
    resp.map(Into::into)
        .map_err(|e| JsValue::from_str(&e.to_string()))
}

fn respond(r: Result<Response>) -> std::result::Result<JsValue, JsValue> {
    match r {
        Ok(r) => Ok(r.into()),
        Err(e) => {
            console_error!("{}", e);
            Ok(fixed(500, "INTERNAL SERVER ERROR", &Headers::new()?)?.into())
        }
    }
}

/// `name:value` lines: header values hold no line breaks (the runtime
/// refuses them) and names no colon.
pub(super) fn header_lines(s: &str) -> Vec<(String, String)> {
    s.split('\n')
        .filter_map(|l| {
            // By byte: a char pattern searches in several times the
            // instructions, and this runs on every request line.
            let colon = l.bytes().position(|b| b == b':')?;
            let (k, v) = l.split_at_checked(colon)?;
            let v = v.get(1..)?;
            Some((k.to_string(), v.strip_suffix('\r').unwrap_or(v).to_string()))
        })
        .collect()
}

/// Phase one for the request as read (now), with the site config as loaded.
fn prepare(
    env: &Env,
    (method, url): (&str, &str),
    headers: &[(String, String)],
    cf: Option<&str>,
    site: page::Loaded,
    config_read: Option<page::values::KvRead>,
) -> Result<Start> {
    panic::install();
    if panic::wanted(headers, "head") {
        panic::trip("head");
    }
    let req = page::Request {
        method,
        url,
        headers,
        cf,
        now_ms: js_sys::Date::now() as i64,
    };
    let [preview, token, origin, cookie_secret, customer_key, kept_pages] = vars(env);
    let vars = Vars {
        preview: preview.as_deref(),
        preview_token: token.as_deref(),
        origin: origin.as_deref(),
        cookie_secret: cookie_secret.as_deref(),
        customer_key: customer_key.as_deref(),
        kept_pages: kept_pages.as_deref(),
    };
    let rt = Runtime {
        tz: &intl::tz_offset,
        fresh_id: &new_visitor_id,
    };
    page::prepare(&req, &vars, &rt, site, config_read).map_err(worker::Error::RustError)
}

async fn handle(
    req: Request,
    env: &Env,
    headers: Vec<(String, String)>,
    cf: Option<String>,
) -> Result<Response> {
    let (method, url) = (req.method(), req.url());
    let (site, config_read) = kv::site_config(env).await;
    let start = prepare(
        env,
        (&method, &url),
        &headers,
        cf.as_deref(),
        site,
        config_read,
    )?;
    let prepared = match start {
        Start::Answer(a) => return answer(a),
        Start::Proxy {
            origin,
            edits,
            logs,
        } => {
            events::emit(env, &logs);
            return with_edits(send(&req, &origin).await?, &edits);
        }
        Start::Page(p) => p,
        Start::Beacon(b) => {
            let (body, values) =
                futures_util::join!(beacon_body(req), kv::read_all(env, b.reads()));
            let (a, logs) = b.finish(body.as_deref(), values);
            events::emit(env, &logs);
            return answer(a);
        }
    };
    let fetch = prepared.origin().map(|o| send(&req, o));
    let (resp, values) = futures_util::join!(
        futures_util::future::OptionFuture::from(fetch),
        kv::read_all(env, prepared.reads()),
    );
    let Some(resp) = resp.transpose()? else {
        return match prepared.finish(values, None, None) {
            Finish::Answer(a) => answer(a),
            _ => fixed(502, "Bad Gateway", &Headers::new()?),
        };
    };
    let resp_headers = resp.headers();
    let origin_headers = by_name(&resp_headers, &page::ORIGIN_HEADERS);
    let head = OriginHead {
        status: resp.status(),
        headers: &origin_headers,
    };
    match prepared.finish(values, Some(head), None) {
        Finish::Answer(a) => answer(a),
        Finish::Passthrough { edits } => with_edits(resp, &edits),
        Finish::Rewrite { mut edits, body } => {
            let trip = panic::wanted(&headers, "body");
            let id = body::park(body, events::dataset(env), trip);
            // worker/entry.mjs pumps the body through the parked page (and
            // removes the header); the length, when the bytes the entry reads
            // are the ones the origin counted, lets it tell that one read
            // holds the whole body.
            let length = resp_headers.get("content-length").ok().flatten();
            let mark = match whole_length(&origin_headers, length.as_deref()) {
                Some(n) => format!("{id} {n}"),
                None => id.to_string(),
            };
            edits.push(HeaderEdit::Set(STREAM_MARK.into(), mark));
            let resp = with_edits(resp, &edits);
            if resp.is_err() {
                body::borderless_body_drop(id);
            }
            resp
        }
    }
}

/// The headers of `names` (those the pipeline reads), by name: a call
/// each, however many were sent.
fn by_name(h: &Headers, names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .filter_map(|n| Some((n.to_string(), h.get(n).ok()??)))
        .collect()
}

/// The body's length in bytes as the entry will read them: the origin's
/// `Content-Length`, unless a content coding (which the runtime decodes)
/// makes it count other bytes.
fn whole_length(read: &[(String, String)], length: Option<&str>) -> Option<u64> {
    let coding = read.iter().find(|(k, _)| k == "content-encoding");
    let coded = coding.is_some_and(|(_, e)| {
        e.split(',')
            .map(str::trim)
            .any(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
    });
    if coded {
        return None;
    }
    length?.trim().parse().ok()
}

/// The vars and secrets the pipeline reads. A deployment's bindings are
/// fixed for the isolate's life: read once.
fn vars(env: &Env) -> [Option<std::rc::Rc<str>>; 6] {
    thread_local! {
        static VARS: std::cell::OnceCell<[Option<std::rc::Rc<str>>; 6]> =
            const { std::cell::OnceCell::new() };
    }
    VARS.with(|v| {
        v.get_or_init(|| {
            [
                "PREVIEW",
                "PREVIEW_TOKEN",
                "ORIGIN",
                "BORDERLESS_COOKIE_SECRET",
                "BORDERLESS_CUSTOMER_KEY",
                "KEPT_PAGES",
            ]
            .map(|n| env.secret(n).ok().map(|v| v.to_string().into()))
        })
        .clone()
    })
}

/// The beacon's body, at most `MAX_BEACON_BYTES` (`None` past it).
async fn beacon_body(req: Request) -> Option<Vec<u8>> {
    let max = crate::base::conversion::MAX_BEACON_BYTES;
    let declared = req.headers().get("content-length").ok().flatten();
    if declared
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > max)
    {
        return None;
    }
    let buf = JsFuture::from(req.array_buffer().ok()?).await.ok()?;
    let bytes = Uint8Array::new(&buf).to_vec();
    (bytes.len() <= max).then_some(bytes)
}

fn apply(h: &Headers, edits: &[HeaderEdit]) -> Result<()> {
    for e in edits {
        match e {
            HeaderEdit::Set(n, v) => h.set(n, v)?,
            HeaderEdit::Append(n, v) => h.append(n, v)?,
            HeaderEdit::Delete(n) => h.delete(n)?,
        }
    }
    Ok(())
}

/// A response with `body` as bytes (no content type of its own).
fn fixed(status: u16, body: &str, headers: &Headers) -> Result<Response> {
    let init = ResponseInit::new();
    init.set_status(status);
    init.set_headers(headers);
    let bytes = Uint8Array::from(body.as_bytes());
    Ok(Response::new_with_opt_buffer_source_and_init(
        Some(&bytes),
        &init,
    )?)
}

/// The origin's response as it came, with `edits` to its headers.
fn with_edits(origin: Response, edits: &[HeaderEdit]) -> Result<Response> {
    if edits.is_empty() {
        return Ok(origin);
    }
    let headers = Headers::new_with_headers(&origin.headers())?;
    apply(&headers, edits)?;
    let init = ResponseInit::new();
    let status = origin.status();
    init.set_status(status);
    init.set_headers(&headers);
    if status == 101 {
        // A WebSocket the origin accepted goes on to the visitor.
        let ws = Reflect::get(&origin, &"webSocket".into())?;
        if !ws.is_null() && !ws.is_undefined() {
            Reflect::set(&init, &"webSocket".into(), &ws)?;
        }
    }
    Ok(Response::new_with_opt_readable_stream_and_init(
        origin.body().as_ref(),
        &init,
    )?)
}

fn answer(a: Answer) -> Result<Response> {
    let headers = Headers::new()?;
    for (n, v) in &a.headers {
        headers.append(n, v)?;
    }
    fixed(a.status, &a.body, &headers)
}

/// The visitor's request, changed as the pipeline says; redirects are
/// returned to the visitor, not followed.
fn origin_request(req: &Request, o: &OriginRequest) -> Result<Request> {
    let headers = Headers::new_with_headers(&req.headers())?;
    apply(&headers, &o.edits)?;
    let init = RequestInit::new();
    init.set_method(&req.method());
    init.set_headers(&headers);
    init.set_redirect(RequestRedirect::Manual);
    // A body on GET/HEAD is meaningless and makes the runtime refuse the request.
    if o.with_body {
        if let Some(body) = req.body() {
            init.set_body(&body);
        }
    }
    Ok(Request::new_with_str_and_init(&o.url, &init)?)
}

async fn send(req: &Request, o: &OriginRequest) -> Result<Response> {
    let global: WorkerGlobalScope = js_sys::global().unchecked_into();
    let promise = global.fetch_with_request(&origin_request(req, o)?);
    Ok(JsFuture::from(promise).await?.dyn_into::<Response>()?)
}

/// A visitor id from 16 random bytes; `None` if the runtime has no randomness.
fn new_visitor_id() -> Option<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .ok()
        .map(|()| crate::base::ids::hex(&b))
}
