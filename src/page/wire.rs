//! The pipeline's inputs and outputs as plain data: the request, the vars,
//! what the runtime lends, header edits, the origin request, own answers.

use crate::base::request_url::RequestUrl;
use crate::config::{ConfigError, SiteConfig};
use crate::page::proxy;
use crate::request::{preview, TzOffset};
use std::borrow::Cow;
use std::rc::Rc;

/// The request as plain data.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    /// Those of [`REQUEST_HEADERS`] the visitor sent (lower-case names):
    /// the pipeline reads no other (the simulator passes only these too).
    pub headers: &'a [(String, String)],
    /// `request.cf` as the entry sends it (`Geo::from_cf`).
    pub cf: Option<&'a str>,
    pub now_ms: i64,
}

impl Request<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(self.headers, name)
    }
}

// Out of line: inlined at each of its ~15 sites it was a fifth of the
// request's code run (a request pays per code line it runs, not per
// instruction: bench/fixed-cost.md).
#[inline(never)]
pub(crate) fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The worker's vars and secrets.
#[derive(Debug, Clone, Copy, Default)]
pub struct Vars<'a> {
    pub preview: Option<&'a str>,
    pub preview_token: Option<&'a str>,
    /// Scheme, host and port of the origin; empty or `None`: the request's own.
    pub origin: Option<&'a str>,
    /// The secret the shop signs the customer cookie with.
    pub cookie_secret: Option<&'a str>,
    /// The secret the CLI keys customer values with.
    pub customer_key: Option<&'a str>,
    /// `KEPT_PAGES`: `off` rewrites every page, none kept (`page::variants`).
    pub kept_pages: Option<&'a str>,
}

/// What the runtime lends the pure code.
#[derive(Clone, Copy)]
pub struct Runtime<'a> {
    /// UTC offset of a zone at an instant (the runtime's Intl).
    pub tz: TzOffset<'a>,
    /// A fresh visitor id (the runtime's randomness).
    pub fresh_id: &'a dyn Fn() -> Option<String>,
}

/// The site config as loaded (or why not), and how it was read.
pub type Loaded = Result<Rc<SiteConfig>, Rc<ConfigError>>;

/// One change to a header list, applied in order. Names are nearly all
/// the pipeline's own constants: borrowed, not copied per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderEdit {
    Set(Cow<'static, str>, String),
    Append(Cow<'static, str>, String),
    Delete(Cow<'static, str>),
}

/// Applies edits to a header list (names compared case-insensitively).
pub fn apply(headers: &mut Vec<(String, String)>, edits: &[HeaderEdit]) {
    for e in edits {
        match e {
            HeaderEdit::Set(n, v) => {
                headers.retain(|(k, _)| !k.eq_ignore_ascii_case(n));
                headers.push((n.to_string(), v.clone()));
            }
            HeaderEdit::Append(n, v) => headers.push((n.to_string(), v.clone())),
            HeaderEdit::Delete(n) => headers.retain(|(k, _)| !k.eq_ignore_ascii_case(n)),
        }
    }
}

pub(crate) fn set(name: &'static str, value: impl Into<String>) -> HeaderEdit {
    HeaderEdit::Set(Cow::Borrowed(name), value.into())
}

pub(crate) fn delete(name: &'static str) -> HeaderEdit {
    HeaderEdit::Delete(Cow::Borrowed(name))
}

/// The request to send to the origin: the visitor's, with these changes.
#[derive(Debug, Clone, PartialEq)]
pub struct OriginRequest {
    pub url: String,
    pub edits: Vec<HeaderEdit>,
    /// Only methods other than GET/HEAD carry a body.
    pub with_body: bool,
}

/// A response the worker makes itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

pub(crate) fn json_answer(status: u16, v: &serde_json::Value) -> Answer {
    Answer {
        status,
        headers: vec![
            (
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            ),
            ("cache-control".into(), "no-store".into()),
        ],
        body: v.to_string(),
    }
}

/// The request headers the pipeline reads (lower-case). The entry asks for
/// these by name rather than listing all the visitor sent.
pub const REQUEST_HEADERS: [&str; 15] = [
    "user-agent",
    "sec-ch-ua-mobile",
    "accept-language",
    "cookie",
    "sec-gpc",
    "if-none-match",
    "origin",
    "sec-fetch-site",
    preview::TOKEN_HEADER,
    preview::OVERRIDE_HEADERS[0],
    preview::OVERRIDE_HEADERS[1],
    preview::OVERRIDE_HEADERS[2],
    preview::OVERRIDE_HEADERS[3],
    preview::OVERRIDE_HEADERS[4],
    preview::OVERRIDE_HEADERS[5],
];

/// The origin's response head.
#[derive(Debug, Clone, Copy)]
pub struct OriginHead<'a> {
    pub status: u16,
    /// Those of [`ORIGIN_HEADERS`] the origin sent: the pipeline reads no
    /// other (the simulator passes only these too, so the tests hold it to that).
    pub headers: &'a [(String, String)],
}

/// The origin's response headers phase two reads (lower-case). The glue
/// asks for these by name rather than listing all the origin sent.
pub const ORIGIN_HEADERS: [&str; 7] = [
    "content-type",
    "content-encoding",
    "content-range",
    "cache-control",
    "etag",
    "vary",
    "location",
];

/// The request to the origin: `path` replaces the URL's path (a locale
/// prefix removed), `ORIGIN` its scheme and host; preview headers never
/// leave; `If-None-Match` is translated from our variant tags.
pub fn origin_request(
    req: &Request,
    vars: &Vars,
    path: Option<&str>,
    variant: Option<&str>,
) -> Result<OriginRequest, String> {
    let url = RequestUrl::parse(req.url).map_err(|e| format!("request URL: {e}"))?;
    origin_request_from(&url, req, vars, path, variant)
}

/// [`origin_request`] from the request's URL already parsed.
pub(crate) fn origin_request_from(
    url: &RequestUrl,
    req: &Request,
    vars: &Vars,
    path: Option<&str>,
    variant: Option<&str>,
) -> Result<OriginRequest, String> {
    let origin = match vars.origin.filter(|o| !o.is_empty()) {
        Some(o) => Some(parsed_origin(o)?),
        None => None,
    };
    let plain = match origin.as_deref() {
        Some((_, prefix)) => prefix.as_deref().and_then(|p| url.rebased(path, Some(p))),
        None => url.rebased(path, None),
    };
    let target = match plain {
        Some(t) => t,
        None => {
            let mut url = url.to_url().map_err(|e| format!("request URL: {e}"))?;
            if let Some(p) = path {
                url.set_path(p);
            }
            if let Some((o, _)) = origin.as_deref() {
                url.set_scheme(o.scheme())
                    .map_err(|()| "ORIGIN: scheme".to_string())?;
                url.set_host(o.host_str())
                    .map_err(|e| format!("ORIGIN: {e}"))?;
                url.set_port(o.port())
                    .map_err(|()| "ORIGIN: port".to_string())?;
            }
            url.into()
        }
    };
    let mut edits: Vec<HeaderEdit> = req
        .headers
        .iter()
        .filter(|(n, _)| {
            let p = "x-borderless-";
            n.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p))
        })
        .map(|(n, _)| HeaderEdit::Delete(Cow::Owned(n.clone())))
        .collect();
    if let (Some(v), Some(inm)) = (variant, req.header("if-none-match")) {
        let (forward, stale) = proxy::forward_if_none_match(inm, v);
        edits.push(match forward {
            Some(f) => set("if-none-match", f),
            None => delete("if-none-match"),
        });
        if stale {
            edits.push(delete("if-modified-since"));
        }
    }
    Ok(OriginRequest {
        url: target,
        edits,
        with_body: !matches!(req.method, "GET" | "HEAD"),
    })
}

/// `ORIGIN` parsed, with its `scheme://host[:port]` where a request URL
/// takes it by hand (http or https with a host: what the setters then
/// give); the last one is kept (it is the same on every request).
fn parsed_origin(origin: &str) -> Result<Rc<(url::Url, Option<String>)>, String> {
    type Last = Option<(String, Rc<(url::Url, Option<String>)>)>;
    thread_local! {
        static LAST: std::cell::RefCell<Last> = const { std::cell::RefCell::new(None) };
    }
    if let Some(u) = LAST.with_borrow(|l| {
        l.as_ref()
            .filter(|(s, _)| s == origin)
            .map(|(_, u)| Rc::clone(u))
    }) {
        return Ok(u);
    }
    let u = url::Url::parse(origin).map_err(|e| format!("ORIGIN: {e}"))?;
    let prefix = (matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .then(|| u.origin().ascii_serialization());
    let parsed = Rc::new((u, prefix));
    LAST.with_borrow_mut(|l| *l = Some((origin.to_string(), Rc::clone(&parsed))));
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(url: &str) -> Request<'_> {
        Request {
            method: "GET",
            url,
            headers: &[],
            cf: None,
            now_ms: 0,
        }
    }

    /// IDNA has no Unicode tables (`idna_adapter` 1.0, for bundle size):
    /// Punycode hosts, as the runtime hands them over, pass through as they
    /// are; a Unicode host in `ORIGIN` is an error, not a guess.
    #[test]
    fn hosts_are_ascii() {
        let req = get("https://xn--bcher-kva.example/de/p?q=1");
        let vars = Vars::default();
        let sent = origin_request(&req, &vars, Some("/p"), None).unwrap();
        assert_eq!(sent.url, "https://xn--bcher-kva.example/p?q=1");
        let vars = Vars {
            origin: Some("http://XN--BCHER-KVA.example:8080"),
            ..Vars::default()
        };
        let sent = origin_request(&req, &vars, None, None).unwrap();
        assert_eq!(sent.url, "http://xn--bcher-kva.example:8080/de/p?q=1");
        let vars = Vars {
            origin: Some("https://bücher.example"),
            ..Vars::default()
        };
        assert!(origin_request(&req, &vars, None, None).is_err());
    }
}
