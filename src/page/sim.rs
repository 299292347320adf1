//! A native driver of the pipeline: the glue's I/O done in memory (KV as a
//! lookup, the origin as a function), for tests and benchmarks. It runs
//! [`prepare`] and [`Prepared::finish`] exactly as the worker does.

use crate::page::log::Log;
use crate::page::values::{KvRead, Source, Value, Values};
use crate::page::{
    apply, prepare, Finish, HeaderEdit, Loaded, OriginHead, OriginRequest, Request, Runtime, Start,
    Vars, ORIGIN_HEADERS, REQUEST_HEADERS,
};

/// The origin's response.
#[derive(Debug, Clone, Default)]
pub struct OriginResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The headers of `names`, as the entry and the glue read them: by name.
fn only(headers: &[(String, String)], names: &[&str]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
        .cloned()
        .collect()
}

/// What the visitor got.
#[derive(Debug, Clone, Default)]
pub struct Served {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub logs: Vec<Log>,
    /// The request sent to the origin, if any.
    pub origin_request: Option<OriginRequest>,
    /// Whether the body went through the rewriter.
    pub rewritten: bool,
}

impl Served {
    pub fn header(&self, name: &str) -> Option<&str> {
        super::header(&self.headers, name)
    }

    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Serves one request. `kv` returns a parsed value by key (as the isolate
/// cache of a warm worker would; every read is reported as from the
/// isolate); `origin` is the origin's answer to any request; the body is
/// fed to the rewriter in `chunk`-byte pieces (0: whole, in one call).
pub fn serve(
    req: &Request,
    vars: &Vars,
    rt: &Runtime,
    site: Loaded,
    kv: &dyn Fn(&str) -> Option<Value>,
    origin: &OriginResponse,
    chunk: usize,
) -> Result<Served, String> {
    let config_read = Some(KvRead {
        key: crate::schema::CONFIG_KEY.into(),
        source: Source::Isolate,
        found: site.is_ok(),
    });
    // As the entry reads them: only the names the pipeline uses.
    let heard: Vec<(String, String)> = only(req.headers, &REQUEST_HEADERS);
    let req = &Request {
        headers: &heard,
        ..*req
    };
    let prepared = match prepare(req, vars, rt, site, config_read)? {
        Start::Answer(a) => {
            return Ok(Served {
                status: a.status,
                headers: a.headers,
                body: a.body.into_bytes(),
                ..Served::default()
            })
        }
        Start::Proxy {
            origin: o,
            edits,
            logs,
        } => {
            return Ok(passthrough(origin, &edits, logs, Some(o)));
        }
        Start::Page(p) => p,
        Start::Beacon(_) => return Err("the simulator serves pages, not the beacon".into()),
    };
    let mut values = Values::default();
    for read in prepared.reads() {
        for key in &read.keys {
            let v = kv(key);
            values.reads.push(KvRead {
                key: key.clone(),
                source: Source::Isolate,
                found: v.is_some(),
            });
            if let Some(v) = v {
                values.put(v);
                break;
            }
        }
    }
    let sent = prepared.origin().cloned();
    // As the glue reads them: only the names phase two uses.
    let read = only(&origin.headers, &ORIGIN_HEADERS);
    let head = sent.as_ref().map(|_| OriginHead {
        status: origin.status,
        headers: &read,
    });
    // As the entry reads a small page before phase two.
    let read_first = (chunk == 0).then_some(origin.body.as_slice());
    match prepared.finish(values, head, read_first) {
        Finish::Answer(a) => Ok(Served {
            status: a.status,
            headers: a.headers,
            body: a.body.into_bytes(),
            ..Served::default()
        }),
        Finish::Passthrough { edits } => Ok(passthrough(origin, &edits, Vec::new(), sent)),
        Finish::Rewrite { edits, mut body } => {
            let mut headers = origin.headers.clone();
            apply(&mut headers, &edits);
            let (out, logs) = match chunk {
                // As the entry sends a page it read at once.
                0 => body.whole(&origin.body),
                _ => {
                    let mut out = Vec::with_capacity(origin.body.len() + 1024);
                    for c in origin.body.chunks(chunk) {
                        out.extend(body.write(c));
                    }
                    let (tail, logs) = body.end();
                    out.extend(tail);
                    (out, logs)
                }
            };
            Ok(Served {
                status: origin.status,
                headers,
                body: out,
                logs,
                origin_request: sent,
                rewritten: true,
            })
        }
    }
}

fn passthrough(
    resp: &OriginResponse,
    edits: &[HeaderEdit],
    logs: Vec<Log>,
    sent: Option<OriginRequest>,
) -> Served {
    let mut headers = resp.headers.clone();
    apply(&mut headers, edits);
    Served {
        status: resp.status,
        headers,
        body: resp.body.clone(),
        logs,
        origin_request: sent,
        rewritten: false,
    }
}

/// A shop for tests and benchmarks: its config, its KV values (parsed) and
/// one HTML page as the origin's answer to every request.
pub struct Shop {
    pub site: Loaded,
    pub values: std::collections::HashMap<String, Value>,
    /// `PREVIEW` var: `on` makes every response carry the report.
    pub preview: Option<String>,
    /// `BORDERLESS_COOKIE_SECRET` and `BORDERLESS_CUSTOMER_KEY`.
    pub cookie_secret: Option<String>,
    pub customer_key: Option<String>,
    /// Pages read whole may be kept (`KEPT_PAGES` not `off`).
    pub keep: bool,
}

/// One visit: the request's parts.
#[derive(Debug, Clone)]
pub struct Visit {
    pub method: String,
    pub url: String,
    /// `request.cf` as the entry sends it (`Geo::cf_line`).
    pub cf: String,
    pub headers: Vec<(String, String)>,
    pub now_ms: i64,
    /// Origin body chunk size; 0: the body in one call, as the entry sends
    /// a page it read at once (a kept page may answer it).
    pub chunk: usize,
    /// The UTC offset every zone gets (the glue asks the runtime's Intl).
    pub tz_offset: Option<i32>,
    pub fresh_id: Option<String>,
}

impl Visit {
    /// A GET of `path` on `https://shop.test` from `country`, by a desktop browser.
    pub fn get(path: &str, country: &str) -> Visit {
        Visit {
            method: "GET".into(),
            url: format!("https://shop.test{path}"),
            cf: format!("country:{country}"),
            headers: vec![(
                "user-agent".into(),
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36".into(),
            )],
            now_ms: 0,
            chunk: 4096,
            tz_offset: None,
            fresh_id: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Visit {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }
}

impl Shop {
    pub fn new(config_json: &str) -> Shop {
        Shop {
            site: crate::config::parse(config_json)
                .map(std::rc::Rc::new)
                .map_err(std::rc::Rc::new),
            values: std::collections::HashMap::new(),
            preview: Some("on".into()),
            cookie_secret: None,
            customer_key: None,
            keep: true,
        }
    }

    /// Adds a KV value (parsed as the glue would parse it).
    pub fn value(mut self, key: &str, kind: crate::page::values::Kind, json: &str) -> Shop {
        if let Ok(v) = crate::page::values::parse(kind, json) {
            self.values.insert(key.to_string(), v);
        }
        self
    }

    /// Serves `v`; the origin answers `status` with `headers` and `body`.
    pub fn serve(&self, v: &Visit, origin: &OriginResponse) -> Result<Served, String> {
        let req = Request {
            method: &v.method,
            url: &v.url,
            headers: &v.headers,
            cf: Some(&v.cf),
            now_ms: v.now_ms,
        };
        let vars = Vars {
            preview: self.preview.as_deref(),
            cookie_secret: self.cookie_secret.as_deref(),
            customer_key: self.customer_key.as_deref(),
            kept_pages: (!self.keep).then_some("off"),
            ..Vars::default()
        };
        let offset = v.tz_offset;
        let tz = move |_: &str, _: i64| offset;
        let id = v.fresh_id.clone();
        let fresh = move || id.clone();
        let rt = Runtime {
            tz: &tz,
            fresh_id: &fresh,
        };
        serve(
            &req,
            &vars,
            &rt,
            self.site.clone(),
            &|k| self.values.get(k).cloned(),
            origin,
            v.chunk,
        )
    }

    /// Serves `v` with `html` as a 200 `text/html; charset=utf-8` page.
    pub fn page(&self, v: &Visit, html: &str) -> Served {
        self.serve(
            v,
            &OriginResponse::html(html.as_bytes(), "text/html; charset=utf-8"),
        )
        .unwrap_or_default()
    }
}

impl OriginResponse {
    pub fn html(body: &[u8], content_type: &str) -> OriginResponse {
        OriginResponse {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.to_vec(),
        }
    }
}

impl Served {
    /// The preview report, parsed (`Null` without one).
    pub fn report(&self) -> serde_json::Value {
        self.header(crate::page::report::REPORT_HEADER)
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default()
    }

    /// Why the rewriter bailed out, if it did.
    pub fn bail_out(&self) -> Option<String> {
        self.logs
            .iter()
            .find(|l| l.line.contains("rewriter_bail_out"))
            .map(|l| l.line.clone())
    }
}
