//! The privacy page through the whole pipeline (`page::sim`).

use crate::page::sim::{Served, Shop, Visit};
use crate::page::values::Kind;
use crate::request::identity;
use crate::schema::{self, CustomerValue};

const COOKIE_SECRET: &str = "the shop's cookie secret, 32 by";
const KV_KEY: &str = "the CLI's customer key, 32 bytes";
const NOW_MS: i64 = 1_764_000_000_000;
const PAGE: &str = r#"<html><body><div data-borderless-slot="again"></div></body></html>"#;
const PROFILE: &str = "borderless_profile=v1~490000~85123A.22423~gifts:900.kitchen:300";
const VID: &str = "borderless_vid=0123456789abcdef0123456789abcdef";

fn shop(privacy_path: &str) -> Shop {
    let cfg = format!(
        r#"{{"version":1,"bundle":"t","site":{{"default_locale":"en-GB","currency":"GBP"}},
        "localization":{{"locales":["en-GB","de-DE"],"currencies":["GBP","EUR"]}},
        "personalization":{{"slots":{{"again":{{"block":"buy-again"}}}},"product_path":"/p/{{id}}"{privacy_path}}}}}"#
    );
    let mut s = Shop::new(&cfg);
    assert!(s.site.is_ok(), "{:?}", s.site.as_ref().err());
    let dict = serde_json::json!({"locale": "de-DE", "entries": {
        "privacy.title": "Ihre Privatsphäre",
        "privacy.clear": "Löschen <script>alert(1)</script>",
    }});
    s = s.value(
        &schema::bundle_key("t", schema::KIND_DICT, "de-DE"),
        Kind::Dict,
        &dict.to_string(),
    );
    let value = CustomerValue {
        country: "JP".into(),
        buy_again: vec![],
        for_you: vec![],
        cards: Default::default(),
    };
    let key = identity::kv_key("c42", KV_KEY.as_bytes()).unwrap();
    s = s.value(
        &key,
        Kind::Customer,
        &serde_json::to_string(&value).unwrap(),
    );
    s.cookie_secret = Some(COOKIE_SECRET.into());
    s.customer_key = Some(KV_KEY.into());
    s
}

fn signed() -> String {
    let v = identity::sign("c42", NOW_MS / 1000 + 3600, COOKIE_SECRET.as_bytes()).unwrap();
    format!("{}={v}", identity::COOKIE)
}

fn visit(method: &str, path: &str, country: &str, cookie: &str) -> Visit {
    let mut v = Visit::get(path, country).header("cookie", cookie);
    v.method = method.into();
    v.now_ms = NOW_MS;
    v.fresh_id = Some("fedcba9876543210fedcba9876543210".into());
    v
}

fn get(shop: &Shop, v: &Visit) -> Served {
    shop.page(v, PAGE)
}

#[test]
fn shows_what_is_kept_without_the_origin_or_new_cookies() {
    let shop = shop("");
    let cookie = format!("{PROFILE}; {VID}; {}", signed());
    let out = get(&shop, &visit("GET", "/__borderless/privacy", "JP", &cookie));
    let html = out.text();
    assert_eq!(out.status, 200);
    assert!(out.origin_request.is_none(), "the origin is never asked");
    assert_eq!(out.header("cache-control"), Some("no-store"));
    assert!(
        out.header_all("set-cookie").is_empty(),
        "no id is made here"
    );
    for shown in [
        "Your privacy on this shop",
        "<li>85123A</li>",
        "<li>22423</li>",
        "<li>gifts</li>",
        "<li>kitchen</li>",
        "<code>0123456789abcdef0123456789abcdef</code>",
        "<dt>Experiment group</dt><dd>default</dd>",
        "<dt>Personalization</dt><dd>On</dd>",
        "<dt>Suggestions from your purchase history</dt><dd>On</dd>",
        r#"<form method="post" action="/__borderless/privacy?do=clear">"#,
        r#"action="/__borderless/privacy?do=optout""#,
    ] {
        assert!(html.contains(shown), "{shown} not in {html}");
    }
}

#[test]
fn says_why_purchase_history_is_off() {
    let shop = shop("");
    let cases = [
        ("JP", String::new(), None, "Off: you are not signed in"),
        (
            "JP",
            format!("{}x", signed()),
            None,
            "Off: your sign-in could not be verified",
        ),
        (
            "JP",
            signed(),
            Some("1"),
            "Off: your browser sends Global Privacy Control",
        ),
        ("DE", signed(), None, "Off: you have not accepted cookies"),
        (
            "JP",
            format!("{}; borderless_optout=1", signed()),
            None,
            "Off: you opted out",
        ),
    ];
    for (country, cookie, gpc, why) in cases {
        let mut v = visit("GET", "/__borderless/privacy", country, &cookie);
        if let Some(g) = gpc {
            v = v.header("sec-gpc", g);
        }
        let html = get(&shop, &v).text();
        assert!(
            !html.contains("<dt>Suggestions from your purchase history</dt><dd>On</dd>"),
            "{cookie}: {html}"
        );
        assert!(html.contains(why), "{why} not in {html}");
    }
    let out = get(
        &shop,
        &visit("GET", "/__borderless/privacy", "JP", "borderless_optout=1"),
    );
    assert!(
        out.text().contains("?do=optin"),
        "an opted-out visitor can opt back in"
    );
}

#[test]
fn words_come_from_the_dictionary_escaped_and_hostile_cookies_show_nothing() {
    let shop = shop("");
    let cookie = "borderless_locale=de-DE; borderless_profile=v1~1~<script>~x; borderless_vid=\"><img src=x onerror=alert(1)>";
    let html = get(&shop, &visit("GET", "/__borderless/privacy", "JP", cookie)).text();
    assert!(html.contains(r#"<html lang="de-DE">"#), "{html}");
    assert!(html.contains("<h1>Ihre Privatsphäre</h1>"), "{html}");
    assert!(html.contains("Löschen &lt;script&gt;"), "{html}");
    assert!(
        html.contains("Categories you seem interested in"),
        "English fallback"
    );
    for evil in ["<script", "<img", "onerror"] {
        assert!(!html.contains(evil), "{evil} in {html}");
    }
}

#[test]
fn a_same_site_post_clears_and_opts_out_and_never_reaches_the_origin() {
    let shop = shop("");
    let post = |query: &str, headers: &[(&str, &str)]| {
        let mut v = visit("POST", &format!("/__borderless/privacy{query}"), "JP", VID);
        for (k, val) in headers {
            v = v.header(k, val);
        }
        get(&shop, &v)
    };
    let same = [("origin", "https://shop.test")];
    let out = post("?do=optout", &same);
    assert_eq!(out.status, 303);
    assert!(out.origin_request.is_none());
    assert_eq!(
        out.header("location"),
        Some("/__borderless/privacy?done=optout")
    );
    assert_eq!(out.header("cache-control"), Some("no-store"));
    let cookies = out.header_all("set-cookie");
    for name in ["borderless_vid", "borderless_profile", "borderless_orders"] {
        assert!(
            cookies.contains(
                &format!("{name}=; Path=/; Max-Age=0; SameSite=Lax; HttpOnly; Secure").as_str()
            ),
            "{name}: {cookies:?}"
        );
    }
    assert!(cookies.contains(
        &"borderless_optout=1; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly; Secure"
    ));
    assert!(!cookies
        .iter()
        .any(|c| c.starts_with("borderless_locale") || c.starts_with("borderless_currency")));

    let out = post("?do=clear", &[("sec-fetch-site", "same-origin")]);
    assert_eq!(out.status, 303);
    assert_eq!(
        out.header_all("set-cookie").len(),
        3,
        "no opt-out on a plain clear"
    );
    let out = post("?do=optin", &same);
    assert_eq!(
        out.header_all("set-cookie"),
        ["borderless_optout=; Path=/; Max-Age=0; SameSite=Lax; HttpOnly; Secure"]
    );

    for (query, headers, status) in [
        ("?do=clear", &[("origin", "https://evil.test")][..], 403),
        ("?do=clear", &[("sec-fetch-site", "cross-site")][..], 403),
        ("?do=clear", &[][..], 403),
        ("?do=everything", &same[..], 400),
        ("", &same[..], 400),
    ] {
        let out = post(query, headers);
        assert_eq!(out.status, status, "{query} {headers:?}");
        assert!(out.header_all("set-cookie").is_empty());
        assert!(out.origin_request.is_none());
    }
    let mut put = visit("PUT", "/__borderless/privacy", "JP", "");
    put = put.header("origin", "https://shop.test");
    let out = get(&shop, &put);
    assert_eq!((out.status, out.origin_request.is_none()), (405, true));
}

#[test]
fn the_opt_out_cookie_stops_personalization_like_gpc() {
    let shop = shop("");
    let cookie = format!("{VID}; {}", signed());
    let on = get(&shop, &visit("GET", "/", "JP", &cookie));
    let reads = |s: &Served| s.report()["decisions"]["kv"].to_string();
    assert!(reads(&on).contains("cust/"), "{}", reads(&on));
    let off = get(
        &shop,
        &visit("GET", "/", "JP", &format!("{cookie}; borderless_optout=1")),
    );
    assert!(!reads(&off).contains("cust/"), "{}", reads(&off));
    assert!(off.header_all("set-cookie").is_empty());
    assert_eq!(
        off.report()["decisions"]["cookies"].as_str(),
        Some("opt_out"),
        "{}",
        off.report()
    );
}

#[test]
fn the_path_is_configurable_and_validated() {
    let shop = shop(r#","privacy_path":"/privacy-choices""#);
    let out = get(&shop, &visit("GET", "/privacy-choices", "JP", ""));
    assert!(out.origin_request.is_none());
    assert!(out.text().contains(r#"action="/privacy-choices?do=clear""#));
    let out = get(&shop, &visit("GET", "/__borderless/privacy", "JP", ""));
    assert!(
        out.origin_request.is_some(),
        "the default path is the shop's now"
    );
    for bad in [
        "privacy",
        "//evil.test",
        "/a b",
        "/a?x=1",
        "/../x",
        "/__borderless/switch",
        "/\"><script>",
    ] {
        let cfg = format!(
            r#"{{"version":1,"bundle":"t","site":{{"default_locale":"en-GB","currency":"GBP"}},
            "personalization":{{"slots":{{}},"privacy_path":{}}}}}"#,
            serde_json::to_string(bad).unwrap()
        );
        assert!(crate::config::parse(&cfg).is_err(), "{bad}");
    }
}
