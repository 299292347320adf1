//! The request path end to end, natively: method routing, endpoints,
//! header rules and fail-open choices (the glue only carries these out).

use crate::page::sim::{OriginResponse, Shop, Visit};
use crate::page::values::Kind;
use crate::page::{prepare, HeaderEdit, Request, Runtime, Start, Vars};

const SITE: &str = r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"},
    "exclude_paths":["/cart"],
    "localization":{"locales":["en-GB","de-DE"],"url_prefixes":true,"currencies":["GBP","EUR"]},
    "rules":[{"select":"html","set_attr":{"data-c":"{country}"}}]}"#;

fn shop() -> Shop {
    Shop::new(SITE).value(
        "b/t/dict/de-DE",
        Kind::Dict,
        r#"{"locale":"de-DE","entries":{"hi":"Hallo"}}"#,
    )
}

fn html(extra: &[(&str, &str)]) -> OriginResponse {
    let mut o = OriginResponse::html(b"<html><p data-i18n=hi>Hi</p></html>", "text/html");
    o.headers
        .extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    o
}

#[test]
fn non_get_is_proxied_to_the_unprefixed_path() {
    let mut v = Visit::get("/de-de/cart/add", "DE").header("x-borderless-country", "JP");
    v.method = "POST".into();
    let out = shop().serve(&v, &html(&[])).unwrap();
    assert!(!out.rewritten);
    let sent = out.origin_request.unwrap();
    assert_eq!(sent.url, "https://shop.test/cart/add");
    assert!(sent.with_body);
    assert!(sent
        .edits
        .contains(&HeaderEdit::Delete("x-borderless-country".into())));
}

#[test]
fn rewritten_pages_get_private_variant_validators() {
    let o = html(&[
        ("cache-control", "public, s-maxage=600, max-age=60"),
        ("etag", "\"abc\""),
        ("last-modified", "Wed, 21 Oct 2026 07:28:00 GMT"),
        ("content-length", "38"),
        ("vary", "Accept-Encoding"),
    ]);
    let out = shop().serve(&Visit::get("/de-de/p/1", "DE"), &o).unwrap();
    assert!(out.rewritten);
    assert_eq!(
        out.text(),
        r#"<html data-c="DE" lang="de-DE"><p data-i18n=hi>Hallo</p></html>"#
    );
    assert_eq!(out.header("cache-control"), Some("private, max-age=60"));
    let etag = out.header("etag").unwrap();
    assert!(
        etag.starts_with("W/\"bl.") && etag.ends_with(".abc\""),
        "{etag}"
    );
    assert_eq!(out.header("last-modified"), None);
    assert_eq!(out.header("content-length"), None);
    assert_eq!(
        out.header("vary"),
        Some("Accept-Encoding, Cookie, Accept-Language")
    );
    // The origin request names the origin's own tag, not ours.
    let v = Visit::get("/de-de/p/1", "DE").header("if-none-match", etag);
    let out = shop().serve(&v, &html(&[])).unwrap();
    let sent = out.origin_request.unwrap();
    assert_eq!(sent.url, "https://shop.test/p/1");
    assert!(sent
        .edits
        .contains(&HeaderEdit::Set("if-none-match".into(), "\"abc\"".into())));
}

#[test]
fn passthrough_choices() {
    let s = shop();
    let v = Visit::get("/cart", "DE");
    let out = s.serve(&v, &html(&[])).unwrap();
    assert!(!out.rewritten);
    assert_eq!(
        out.report()["decisions"]["body"],
        "passthrough: excluded_path"
    );
    let mut img = OriginResponse::html(b"\x89PNG", "image/png");
    img.headers.push(("etag".into(), "\"x\"".into()));
    let out = s.serve(&Visit::get("/i.png", "DE"), &img).unwrap();
    assert_eq!(
        (out.rewritten, out.body.as_slice()),
        (false, &b"\x89PNG"[..])
    );
    assert_eq!(out.header("etag"), Some("\"x\""));
    // A redirect on a prefixed URL keeps the prefix, also for non-ASCII paths.
    let mut redirect = OriginResponse::html(b"", "text/html");
    redirect.status = 302;
    redirect.headers.push(("location".into(), "/日本".into()));
    let out = s
        .serve(&Visit::get("/de-de/redir", "DE"), &redirect)
        .unwrap();
    assert_eq!(out.header("location"), Some("/de-de/%E6%97%A5%E6%9C%AC"));
}

#[test]
fn missing_config_serves_the_origin_and_logs() {
    let s = Shop::new("{not json");
    let out = s.serve(&Visit::get("/", "DE"), &html(&[])).unwrap();
    assert!(!out.rewritten);
    assert_eq!(out.body, html(&[]).body);
    assert_eq!(out.report()["decisions"]["body"], "passthrough: config");
    assert!(out.logs[0].error && out.logs[0].line.contains("config_unparsable"));
}

#[test]
fn switch_endpoint_answers_itself() {
    let v = Visit::get("/__borderless/switch?locale=de-DE&return=/p/1", "GB");
    let out = shop().serve(&v, &html(&[])).unwrap();
    assert_eq!(out.status, 303);
    assert_eq!(out.header("location"), Some("/de-de/p/1"));
    assert!(out.header_all("set-cookie")[0].starts_with("borderless_locale=de-DE;"));
    assert!(out.origin_request.is_none());
}

#[test]
fn explain_endpoint_only_with_preview() {
    let s = shop();
    let v = Visit::get("/__borderless/explain?url=/de-de/p/1", "DE");
    let out = s.serve(&v, &html(&[])).unwrap();
    assert_eq!(out.status, 200);
    let j: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(j["decisions"]["locale"], "de-DE");
    assert_eq!(j["decisions"]["body"], "explain");
    assert!(out.origin_request.is_none());
    let bad = Visit::get("/__borderless/explain?url=//evil.test", "DE");
    assert_eq!(s.serve(&bad, &html(&[])).unwrap().status, 400);
    let mut off = shop();
    off.preview = None;
    let out = off.serve(&v, &html(&[])).unwrap();
    assert!(out.rewritten && out.origin_request.is_some());
    assert_eq!(out.header(crate::page::report::REPORT_HEADER), None);
}

#[test]
fn origin_var_replaces_scheme_host_and_port() {
    let req_headers = vec![("x-borderless-preview".to_string(), "t".to_string())];
    let req = Request {
        method: "GET",
        url: "https://shop.example/p/1?x=1",
        headers: &req_headers,
        cf: None,
        now_ms: 0,
    };
    let vars = Vars {
        origin: Some("http://127.0.0.1:8790"),
        ..Vars::default()
    };
    let rt = Runtime {
        tz: &|_, _| None,
        fresh_id: &|| None,
    };
    let site = Ok(std::rc::Rc::new(crate::config::parse(SITE).unwrap()));
    let Ok(Start::Page(p)) = prepare(&req, &vars, &rt, site, None) else {
        panic!("a page");
    };
    let o = p.origin().unwrap();
    assert_eq!(o.url, "http://127.0.0.1:8790/p/1?x=1");
    assert_eq!(o.edits, [HeaderEdit::Delete("x-borderless-preview".into())]);
    let bad = Vars {
        origin: Some("not a url"),
        ..Vars::default()
    };
    let site = Ok(std::rc::Rc::new(crate::config::parse(SITE).unwrap()));
    assert!(prepare(&req, &bad, &rt, site, None).is_err());
}
