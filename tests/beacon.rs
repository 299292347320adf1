//! The conversion beacon through the page pipeline, natively: attribution
//! from the visitor's cookies, validation (400 and no line), the value in
//! the shop's currency from the live rates, per-visitor deduplication.

use borderless::base::conversion::{EventLine, BEACON_PATH};
use borderless::page::values::{Value, Values};
use borderless::page::{prepare, Answer, Request, Runtime, Start, Vars};
use borderless::parse_config;
use borderless::schema::FxRates;
use std::collections::BTreeMap;
use std::rc::Rc;

const SITE: &str = r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"},
    "localization":{"locales":["en-GB","de-DE"],"currencies":["GBP","EUR","USD"]},
    "personalization":{"slots":{},"holdout":0.1,
      "experiments":[{"name":"recs","arms":[{"name":"a","weight":1},{"name":"b","weight":1}]}]}}"#;
const VID: &str = "0123456789abcdef0123456789abcdef";

fn post(site: &str, method: &str, cookie: &str) -> Start {
    let headers = vec![("cookie".to_string(), cookie.to_string())];
    let req = Request {
        method,
        url: &format!("https://shop.test{BEACON_PATH}"),
        headers: &headers,
        cf: Some("country:DE\ttimezone:Europe/Berlin"),
        now_ms: 1_795_000_000_000,
    };
    let rt = Runtime {
        tz: &|_: &str, _: i64| Some(60),
        fresh_id: &|| Some("ffffffffffffffffffffffffffffffff".to_string()),
    };
    let site = parse_config(site).map(Rc::new).map_err(Rc::new);
    prepare(&req, &Vars::default(), &rt, site, None).unwrap()
}

fn live() -> Values {
    let mut v = Values::default();
    v.put(Value::FxLive(Rc::new(FxRates {
        base: "EUR".into(),
        as_of: "2026-11-18T08:00:00Z".into(),
        rates: BTreeMap::from([("GBP".into(), 0.8), ("USD".into(), 1.05)]),
    })));
    v
}

fn send(cookie: &str, body: &str) -> (Answer, Vec<String>) {
    let Start::Beacon(b) = post(SITE, "POST", cookie) else {
        panic!("not the beacon")
    };
    let keys: Vec<&str> = b
        .reads()
        .iter()
        .flat_map(|r| r.keys.iter().map(String::as_str))
        .collect();
    assert_eq!(keys, ["fx/live", "b/t/fx/rates"]);
    let (a, logs) = b.finish(Some(body.as_bytes()), live());
    (a, logs.into_iter().map(|l| l.line).collect())
}

const CONSENT: &str = "borderless_consent=yes; borderless_vid=0123456789abcdef0123456789abcdef";

#[test]
fn a_conversion_is_one_attributed_line() {
    let (a, lines) = send(
        CONSENT,
        r#"{"order":"A-1001","value":"23.50","currency":"EUR"}"#,
    );
    assert_eq!(a.status, 204);
    assert_eq!(lines.len(), 1);
    let e: EventLine = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(
        (e.event.as_str(), e.visitor.as_str(), e.country.as_str()),
        ("conversion", VID, "DE")
    );
    assert!(
        e.arm == "holdout" || e.arm.starts_with("recs:"),
        "{}",
        e.arm
    );
    assert_eq!(e.holdout, e.arm == "holdout");
    assert!(e.segment.starts_with("DE:"), "{}", e.segment);
    assert_eq!(
        (e.order.as_deref(), e.value, e.value_site),
        (Some("A-1001"), Some(23.5), Some(18.8))
    );
    // The order is remembered (a hash, not the id) so a repeat is not counted twice.
    let cookie = a
        .headers
        .iter()
        .find(|(n, _)| n == "set-cookie")
        .unwrap()
        .1
        .clone();
    assert!(
        cookie.starts_with("borderless_orders=") && !cookie.contains("A-1001"),
        "{cookie}"
    );
    let remembered = cookie.split(';').next().unwrap();
    let (again, lines) = send(
        &format!("{CONSENT}; {remembered}"),
        r#"{"order":"A-1001","value":23.5,"currency":"EUR"}"#,
    );
    assert_eq!((again.status, lines.len()), (204, 0));
    let (other, lines) = send(
        &format!("{CONSENT}; {remembered}"),
        r#"{"order":"A-1002","value":5,"currency":"GBP"}"#,
    );
    assert_eq!((other.status, lines.len()), (204, 1));
}

#[test]
fn bad_beacons_are_400_without_a_line() {
    for body in [
        "{}",
        "not json",
        r#"{"order":1001,"value":23.5,"currency":"EUR"}"#,
        r#"{"order":"A","value":"lots","currency":"EUR"}"#,
        r#"{"order":"A","value":1,"currency":"JPY"}"#,
        r#"{"order":"A","value":1,"currency":"EUR","extra":true}"#,
        &format!(
            r#"{{"order":"A","value":1,"currency":"EUR","x":"{}"}}"#,
            "x".repeat(2000)
        ),
    ] {
        let (a, lines) = send(CONSENT, body);
        assert_eq!(a.status, 400, "{body:.60}");
        assert!(a.body.contains("\"error\""), "{}", a.body);
        assert!(lines.is_empty());
    }
    let Start::Beacon(b) = post(SITE, "POST", CONSENT) else {
        panic!()
    };
    assert_eq!(b.finish(None, live()).0.status, 400, "over the limit");
}

#[test]
fn unattributable_and_misdirected_requests() {
    // No consent: no visitor id, a valid beacon is accepted but not logged.
    let (a, lines) = send("", r#"{"order":"A","value":1,"currency":"EUR"}"#);
    assert_eq!((a.status, lines.len()), (204, 0));
    let Start::Answer(a) = post(SITE, "GET", CONSENT) else {
        panic!()
    };
    assert_eq!(a.status, 405);
    let plain = r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"}}"#;
    let Start::Answer(a) = post(plain, "POST", CONSENT) else {
        panic!()
    };
    assert_eq!(a.status, 404);
}

// ---------- the order confirmation page ----------

use borderless::page::sim::{Shop, Visit};
use borderless::page::values::Kind;

const PAGE_SITE: &str = r##"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"},
    "localization":{"locales":["en-GB"],"currencies":["GBP","EUR"]},
    "personalization":{"slots":{},"experiments":[{"name":"recs","arms":[{"name":"a","weight":1}]}],
      "conversion":{"path":"/orders/{order}/thanks","select":"#order-total",
        "value_attr":"data-total","currency_attr":"data-currency"}}}"##;

fn confirmation(path: &str, cookie: &str, html: &str) -> Vec<EventLine> {
    let shop = Shop::new(PAGE_SITE).value(
        "fx/live",
        Kind::FxLive,
        r#"{"base":"EUR","as_of":"2026-11-18T08:00:00Z","rates":{"GBP":0.8}}"#,
    );
    let v = Visit::get(path, "FR").header("cookie", cookie);
    let out = shop.page(&v, html);
    // The element is only read: its markup passes unchanged (lang is localization's).
    assert_eq!(
        out.text(),
        html.replacen("<html>", "<html lang=\"en-GB\">", 1)
    );
    out.logs
        .iter()
        .filter_map(|l| serde_json::from_str::<EventLine>(&l.line).ok())
        .filter(|e| e.event == "conversion")
        .collect()
}

#[test]
fn the_confirmation_page_reports_its_order() {
    let html =
        r#"<html><p id="order-total" data-total="49.90" data-currency="EUR">€49.90</p></html>"#;
    let lines = confirmation("/orders/981/thanks", CONSENT, html);
    assert_eq!(lines.len(), 1);
    let e = &lines[0];
    assert_eq!(
        (e.visitor.as_str(), e.arm.as_str(), e.country.as_str()),
        (VID, "recs:a", "FR")
    );
    assert_eq!(
        (e.order.as_deref(), e.value, e.value_site),
        (Some("981"), Some(49.9), Some(39.92))
    );
    assert_eq!(e.source.as_deref(), Some("page"));
    // Another page, no visitor id, or no value on the page: no conversion.
    assert!(confirmation("/orders/981/other", CONSENT, html).is_empty());
    assert!(confirmation("/orders/981/thanks", "", html).is_empty());
    assert!(confirmation("/orders/981/thanks", CONSENT, "<html><p>Thanks!</p></html>").is_empty());
    let bad = html.replace("49.90", "49,90");
    assert!(confirmation("/orders/981/thanks", CONSENT, &bad).is_empty());
}

#[test]
fn pages_without_blocks_log_the_assignment() {
    let page_lines = |shop: &Shop, cookie: &str, path: &str| -> Vec<EventLine> {
        let v = Visit::get(path, "FR").header("cookie", cookie);
        let out = shop.page(&v, "<html><p>Kitchen</p></html>");
        out.logs
            .iter()
            .filter_map(|l| serde_json::from_str(&l.line).ok())
            .collect()
    };
    borderless::page::seen::clear();
    let shop = Shop::new(PAGE_SITE);
    let lines = |cookie: &str| page_lines(&shop, cookie, "/c/kitchen");
    let got = lines(CONSENT);
    assert_eq!(got.len(), 1, "the visitor's first page view logs the line");
    assert_eq!(
        (
            got[0].event.as_str(),
            got[0].visitor.as_str(),
            got[0].arm.as_str()
        ),
        ("assignment", VID, "recs:a")
    );
    assert_eq!((got[0].country.as_str(), got[0].holdout), ("FR", false));
    // Without consent there is no id, and nothing to count.
    assert!(lines("").is_empty());
    // By default once per visitor, arm and segment in the isolate: their
    // next page views log nothing more.
    assert!(page_lines(&shop, CONSENT, "/c/garden").is_empty());
    // `every`: a line on each page view.
    let every = PAGE_SITE.replace(r#""slots":{},"#, r#""slots":{},"assignment_log":"every","#);
    let shop = Shop::new(&every);
    for path in ["/c/kitchen", "/c/kitchen", "/c/garden"] {
        let got = page_lines(&shop, CONSENT, path);
        assert_eq!(got.len(), 1, "{path}: a line per page view");
        assert_eq!(got[0].path, path);
    }
}
