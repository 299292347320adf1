//! The precompute tool: adapter and bad rows, ranking (shrinkage, fallback,
//! cancellations, catalog), the bundle and its validation, publishing order,
//! counts round trip, time zones against CLDR, and a small eval on a slice
//! of the real log.
#![cfg(not(target_arch = "wasm32"))]

use borderless::base::time::parse_rfc3339;
use borderless::precompute::agg::{Aggregates, Pipeline};
use borderless::precompute::bundle::{self, Extras, PackParams};
use borderless::precompute::catalog::{Catalog, Product};
use borderless::precompute::cooc::Cooc;
use borderless::precompute::events::{self, Event, Kind};
use borderless::precompute::publish::{self, Target};
use borderless::precompute::rank::{self, Params, Ranking};
use borderless::precompute::{eval, retail, zones};
use borderless::schema::{
    segment_chain, BulkEntry, Card, Config, CountryPack, Dictionary, FxRates, CONFIG_KEY,
};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

const RETAIL_LOG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/online-retail/online_retail.csv.gz"
);
const DEMO_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/config.json");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("borderless-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn template() -> Config {
    borderless::config::parse(&std::fs::read_to_string(DEMO_CONFIG).unwrap())
        .unwrap()
        .doc
}

fn ev(ts: &str, country: &str, product: &str, kind: Kind, qty: u64, order: &str) -> Event {
    Event {
        ts_ms: parse_rfc3339(ts).unwrap(),
        visitor: format!("v-{order}"),
        product: product.into(),
        kind,
        quantity: qty,
        country: (!country.is_empty()).then(|| country.to_string()),
        device: None,
        order: Some(order.into()),
        zone: None,
    }
}

fn product(id: &str, active: bool) -> Product {
    Product {
        card: Card {
            id: id.into(),
            title: BTreeMap::from([("en-GB".to_string(), format!("Product {id}"))]),
            category: "Gifts".into(),
            price: "1.00".into(),
            currency: "GBP".into(),
            image: format!("/product-images/{id}.svg"),
            url: format!("/p/{id}"),
        },
        active,
    }
}

fn catalog(ids: &[&str]) -> Catalog {
    let mut c = Catalog::default();
    for id in ids {
        c.insert(product(id, true));
    }
    c
}

fn names(r: &Ranking, agg: &Aggregates, key: &str, n: usize) -> Vec<String> {
    r.top(key, n)
        .into_iter()
        .map(|i| agg.products.name(i).to_string())
        .collect()
}

// ---------- adapter and bad rows ----------

const RETAIL_HEADER: &str =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";

#[test]
fn retail_adapter_counts_bad_rows_with_line_numbers() {
    let csv = format!(
        "{RETAIL_HEADER}\
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01T08:26:00Z,2.55,17850,United Kingdom
536365,POST,POSTAGE,1,2010-12-01T08:26:00Z,18.00,17850,United Kingdom
536366,22633,\"HAND WARMER, UNION JACK\",six,2010-12-01T08:28:00Z,1.85,17850,United Kingdom
536367,22633,HAND WARMER UNION JACK,6,yesterday,1.85,17850,United Kingdom
536368,22633,HAND WARMER UNION JACK,6,2010-12-01T08:28:00Z,1.85,12583,Atlantis
536369,22633,HAND WARMER UNION JACK,6,2010-12-01T08:28:00Z,1.85
C536370,22633,HAND WARMER UNION JACK,-2,2010-12-01T09:00:00Z,1.85,12583,EIRE
536371,22633,HAND WARMER UNION JACK,0,2010-12-01T09:00:00Z,0,,United Kingdom
536372,22633,HAND WARMER UNION JACK,3,2010-12-01T09:00:00Z,1.85,12583,RSA
C536373,22633,HAND WARMER UNION JACK,4,2010-12-01T09:00:00Z,1.85,12583,EIRE
"
    );
    let path = tmp("retail-bad.csv");
    std::fs::write(&path, csv).unwrap();
    let mut got = Vec::new();
    let opts = retail::Options {
        locale: "en-GB".into(),
        ..Default::default()
    };
    let (report, cat) = retail::read(&path, &opts, |e| got.push(e.clone())).unwrap();
    assert_eq!(report.rows, 10);
    assert_eq!(report.used, 3);
    assert_eq!(report.bad, 5);
    let lines: Vec<u64> = report.bad_samples.iter().map(|b| b.0).collect();
    assert_eq!(lines, [4, 5, 6, 7, 11], "{:?}", report.bad_samples);
    assert!(report.bad_samples[2].1.contains("Atlantis"));
    assert_eq!(report.skipped[retail::SKIP_NON_PRODUCT], 1);
    assert_eq!(report.skipped[retail::SKIP_ADJUSTMENT], 1);
    assert_eq!(
        got.iter()
            .map(|e| (e.kind, e.country.as_deref(), e.quantity))
            .collect::<Vec<_>>(),
        [
            (Kind::Purchase, Some("GB"), 6),
            (Kind::Cancel, Some("IE"), 2),
            (Kind::Purchase, Some("ZA"), 3)
        ]
    );
    let card = cat.active("85123A").unwrap().card.clone();
    assert_eq!(card.title["en-GB"], "White Hanging Heart T-Light Holder");
    assert_eq!(
        (
            card.price.as_str(),
            card.url.as_str(),
            card.category.as_str()
        ),
        ("2.55", "/p/85123A", "Candles & Lights")
    );
    // A shop showing only its best seller: the others are inactive.
    let top1 = retail::Options {
        active_top: Some(1),
        ..opts.clone()
    };
    let (_, cat1) = retail::read(&path, &top1, |_| {}).unwrap();
    assert!(cat1.active("85123A").is_some() && cat1.active("22633").is_none());
    assert!(cat.active("22633").is_some());
    assert!(report.check("log", 0.6).is_ok());
    let err = report.check("log", 0.1).unwrap_err();
    assert!(
        err.contains("5 of 10 rows") && err.contains("line 4"),
        "{err}"
    );
    // The CLI aborts past the threshold and says where.
    let out = Command::new(env!("CARGO_BIN_EXE_borderless"))
        .args([
            "build",
            "--config",
            DEMO_CONFIG,
            "--quiet",
            "--max-bad",
            "0.2",
            "--retail",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad line 4") && stderr.contains("over --max-bad"),
        "{stderr}"
    );
}

#[test]
fn generic_events_csv_and_jsonl() {
    let csv = tmp("events.csv");
    std::fs::write(
        &csv,
        "timestamp,visitor,product,event,quantity,country,device\n\
2026-01-05T10:00:00Z,v1,A,purchase,2,DE,mobile\n\
2026-01-05T10:00:00Z,v1,B,purchase,,DE,\n\
not-a-time,v1,B,purchase,1,DE,\n\
2026-01-05T10:00:00Z,v1,B,wishlist,1,DE,\n\
2026-01-05T10:00:00Z,v1,B,view,1,Germany,\n\
2026-01-05T10:00:00Z,v1,B,view,1,DE,phone\n\
2026-01-05T10:00:00Z,v1,B,cancel,-1,,\n",
    )
    .unwrap();
    let mut got = Vec::new();
    let r = events::read(&csv, false, |e| got.push(e)).unwrap();
    assert_eq!((r.rows, r.used, r.bad), (7, 3, 4));
    assert_eq!(
        r.bad_samples.iter().map(|b| b.0).collect::<Vec<_>>(),
        [4, 5, 6, 7]
    );
    assert_eq!(got[0].device, Some(borderless::request::Device::Mobile));
    assert_eq!(got[1].quantity, 1);
    assert_eq!(
        (got[2].kind, got[2].quantity, got[2].country.clone()),
        (Kind::Cancel, 1, None)
    );

    let jsonl = tmp("events.jsonl");
    std::fs::write(
        &jsonl,
        r#"{"timestamp":"2026-01-05T10:00:00+01:00","customer_id":"c1","product_id":"A","type":"cart","country":"fr"}

{"timestamp":"2026-01-05T10:00:00Z","visitor":"c1","product":"A"}
not json
{"timestamp":"2026-01-05T10:00:00Z","visitor":"c1","product":"A","event":"purchase","quantity":1.5}
{"timestamp":"2026-01-05T10:00:00Z","visitor":"c1","product":"A","event":"purchase","order":"o1","timezone":"Europe/Paris"}
"#,
    )
    .unwrap();
    let mut got = Vec::new();
    let r = events::read(&jsonl, false, |e| got.push(e)).unwrap();
    assert_eq!((r.rows, r.used, r.bad), (5, 2, 3));
    assert_eq!(
        r.bad_samples.iter().map(|b| b.0).collect::<Vec<_>>(),
        [3, 4, 5]
    );
    assert_eq!(got[0].country.as_deref(), Some("FR"));
    assert_eq!(got[0].ts_ms, parse_rfc3339("2026-01-05T09:00:00Z").unwrap());
    assert_eq!(got[1].zone.as_deref(), Some("Europe/Paris"));
}

#[test]
fn catalog_csv_and_jsonl() {
    let csv = tmp("catalog.csv");
    std::fs::write(
        &csv,
        "id,title,title:de,category,price,currency,image,url,active\n\
A,Mug,Becher,Kitchen,2.5,gbp,/a.svg,/p/A,true\n\
B,Bag,,Bags,abc,GBP,,,\n\
C,Old,,Bags,1,GBP,,,no\n",
    )
    .unwrap();
    let (cat, r) = Catalog::load(&csv, "en-GB").unwrap();
    assert_eq!((r.rows, r.used, r.bad), (3, 2, 1));
    assert_eq!(r.bad_samples[0].0, 3);
    let a = &cat.active("A").unwrap().card;
    assert_eq!(a.title["de"], "Becher");
    assert_eq!((a.price.as_str(), a.currency.as_str()), ("2.50", "GBP"));
    assert!(cat.active("C").is_none() && cat.products.contains_key("C"));

    let jsonl = tmp("catalog.jsonl");
    std::fs::write(
        &jsonl,
        r#"{"id":"A","title":{"en-GB":"Mug","ja":"マグ"},"price":3,"currency":"GBP"}
{"id":"B","title":{"de":"Tasche"},"price":3,"currency":"GBP"}
"#,
    )
    .unwrap();
    let (cat, r) = Catalog::load(&jsonl, "en-GB").unwrap();
    assert_eq!((r.used, r.bad), (1, 1));
    assert_eq!(cat.active("A").unwrap().card.title["ja"], "マグ");
}

// ---------- ranking ----------

/// GB: big and evening-heavy for E; DE: A everywhere but X cancelled;
/// FR: two small orders of F.
fn fixture() -> (Aggregates, Cooc, Catalog) {
    let mut p = Pipeline::default();
    let mut n = 0;
    let mut order = || {
        n += 1;
        format!("o{n}")
    };
    // Wednesday 2011-11-16; London is UTC in November.
    for i in 0..300 {
        let o = order();
        let t = format!("2011-11-16T10:{:02}:00Z", i % 60);
        p.feed(&ev(&t, "GB", "G", Kind::Purchase, 1, &o));
        if i % 2 == 0 {
            p.feed(&ev(&t, "GB", "H", Kind::Purchase, 1, &o));
        }
    }
    for i in 0..250 {
        let o = order();
        let t = format!("2011-11-16T19:{:02}:00Z", i % 60);
        p.feed(&ev(&t, "GB", "E", Kind::Purchase, 1, &o));
        if i % 2 == 0 {
            p.feed(&ev(&t, "GB", "G", Kind::Purchase, 1, &o));
        }
    }
    for i in 0..150 {
        let o = order();
        let t = format!("2011-11-16T09:{:02}:00Z", i % 60);
        p.feed(&ev(&t, "DE", "A", Kind::Purchase, 1, &o));
        p.feed(&ev(&t, "DE", "X", Kind::Purchase, 2, &o));
        p.feed(&ev(&t, "DE", "Z", Kind::Purchase, 5, &o)); // not in the catalog
        p.feed(&ev(&t, "DE", "W", Kind::Purchase, 5, &o)); // inactive
    }
    for i in 0..150 {
        let o = order();
        let t = format!("2011-11-17T09:{:02}:00Z", i % 60);
        p.feed(&ev(&t, "DE", "X", Kind::Cancel, 2, &format!("C{o}")));
    }
    for _ in 0..2 {
        let o = order();
        p.feed(&ev(
            "2011-11-16T08:00:00Z",
            "FR",
            "F",
            Kind::Purchase,
            1,
            &o,
        ));
    }
    // Y is bought and wholly cancelled everywhere.
    p.feed(&ev(
        "2011-11-16T08:00:00Z",
        "GB",
        "Y",
        Kind::Purchase,
        500,
        "big",
    ));
    p.feed(&ev(
        "2011-11-16T09:00:00Z",
        "GB",
        "Y",
        Kind::Cancel,
        500,
        "Cbig",
    ));
    p.feed(&ev(
        "2011-11-16T09:00:00Z",
        "GB",
        "X",
        Kind::Purchase,
        1,
        "x1",
    ));
    let (agg, cooc) = p.finish();
    let mut cat = catalog(&["A", "E", "F", "G", "H", "X", "Y"]);
    cat.insert(product("W", false));
    (agg, cooc, cat)
}

fn params() -> Params {
    Params {
        as_of_ms: parse_rfc3339("2011-11-20T00:00:00Z").unwrap(),
        shrink: 50.0,
        min_support: 100,
        top: 5,
        ..Params::default()
    }
}

#[test]
fn ranking_drops_cancelled_and_out_of_catalog_products() {
    let (agg, _, cat) = fixture();
    let r = rank::rank(&agg, &cat, &params());
    let de = names(&r, &agg, "DE:*:*:*:*", 10);
    assert_eq!(de[0], "A");
    for gone in ["X", "Z", "W", "Y"] {
        assert!(!de.contains(&gone.to_string()), "{gone} in DE {de:?}");
    }
    // X is net-cancelled in Germany only; GB still buys it.
    assert!(names(&r, &agg, "GB:*:*:*:*", 10).contains(&"X".to_string()));
    let global = names(&r, &agg, "*:*:*:*:*", 10);
    assert!(!global.contains(&"Y".to_string()) && !global.contains(&"Z".to_string()));
}

#[test]
fn small_segments_shrink_to_their_parent_and_large_ones_keep_their_own() {
    let (agg, _, cat) = fixture();
    let r = rank::rank(&agg, &cat, &params());
    let global = names(&r, &agg, "*:*:*:*:*", 5);
    assert_eq!(global[0], "G");
    // FR: two orders of F are not enough to beat the global favourites.
    let fr = names(&r, &agg, "FR:*:*:*:*", 5);
    assert_eq!(fr[..2], global[..2], "{fr:?} vs {global:?}");
    assert!(fr.contains(&"F".to_string()));
    // Without shrinkage FR would be F alone: noise.
    let raw = rank::rank(
        &agg,
        &cat,
        &Params {
            shrink: 0.0,
            ..params()
        },
    );
    assert_eq!(names(&raw, &agg, "FR:*:*:*:*", 5), ["F"]);
    // GB evenings (250 orders) keep their own order: E first.
    let eve = names(&r, &agg, "GB:*:evening:weekday:autumn", 5);
    assert_eq!(eve[..2], ["E", "G"]);
    // Published once, at the least specific key that differs from its parent.
    assert!(r.emitted.contains(&"GB:*:evening:*:autumn".to_string()));
    assert!(!r
        .emitted
        .contains(&"GB:*:evening:weekday:autumn".to_string()));
}

#[test]
fn fallback_publishes_only_supported_segments_that_differ() {
    let (agg, cooc, cat) = fixture();
    let r = rank::rank(&agg, &cat, &params());
    // FR morning has 2 purchases (< min_support): not published.
    assert!(!r.emitted.iter().any(|k| k.starts_with("FR:*:morning")));
    assert!(r.emitted.contains(&"FR:*:*:*:*".to_string()));
    // DE is one segment: finer keys equal to the country's are not repeated.
    assert!(
        r.emitted.iter().filter(|k| k.starts_with("DE:")).count() == 1,
        "{:?}",
        r.emitted
    );
    let also = cooc.lists(&agg.products, 1, 10);
    let packs = bundle::packs(
        &r,
        &also,
        &agg.products,
        &cat,
        &PackParams {
            top: 5,
            ..Default::default()
        },
    );
    // The worker's lookup: the first key of the chain present in the pack.
    let lookup = |pack: &CountryPack, key: [&str; 5]| -> Vec<String> {
        let chain = segment_chain(key[0], key[1], key[2], key[3], key[4]);
        chain
            .iter()
            .find_map(|k| pack.segments.get(k))
            .cloned()
            .unwrap()
    };
    let fr = &packs["FR"];
    assert_eq!(
        lookup(fr, ["FR", "mobile", "morning", "weekday", "autumn"]),
        fr.segments["FR:*:*:*:*"]
    );
    let gb = &packs["GB"];
    assert_eq!(
        lookup(gb, ["GB", "desktop", "evening", "weekday", "autumn"])[0],
        "E"
    );
    assert_eq!(
        lookup(gb, ["GB", "desktop", "morning", "weekday", "autumn"])[0],
        "G"
    );
    // The global pack serves countries without one.
    assert_eq!(packs["ZZ"].segments["*:*:*:*:*"][0], "G");
    // Also bought: G and H go together in GB mornings.
    assert!(gb.also_bought["H"].contains(&"G".to_string()));
    assert!(!gb
        .also_bought
        .values()
        .flatten()
        .any(|p| p == "Y" || p == "Z" || p == "W"));
    // Every referenced id has a card.
    for p in packs.values() {
        for id in p
            .segments
            .values()
            .flatten()
            .chain(p.also_bought.values().flatten())
        {
            assert!(p.cards.contains_key(id), "{id} in {}", p.country);
        }
    }
}

#[test]
fn trending_prefers_growth_over_volume() {
    let mut p = Pipeline::default();
    // S sells steadily for 8 weeks; T only recently.
    for week in 0..8 {
        for i in 0..10 {
            let t = format!("2011-10-{:02}T10:00:00Z", 3 + week * 3 + i % 3);
            let t = if week >= 4 {
                t.replace("-10-", "-11-")
            } else {
                t
            };
            p.feed(&ev(
                &t,
                "GB",
                "S",
                Kind::Purchase,
                1,
                &format!("s{week}{i}"),
            ));
        }
    }
    for i in 0..12 {
        p.feed(&ev(
            "2011-11-25T10:00:00Z",
            "GB",
            "T",
            Kind::Purchase,
            1,
            &format!("t{i}"),
        ));
    }
    let (agg, _) = p.finish();
    let cat = catalog(&["S", "T"]);
    let r = rank::rank(
        &agg,
        &cat,
        &Params {
            as_of_ms: parse_rfc3339("2011-11-27T00:00:00Z").unwrap(),
            ..params()
        },
    );
    let gb: Vec<&str> = r.trending["GB"]
        .iter()
        .map(|&i| agg.products.name(i))
        .collect();
    assert_eq!(gb[0], "T");
}

// ---------- bundle ----------

fn built() -> (Vec<BulkEntry>, String) {
    let (agg, cooc, cat) = fixture();
    let r = rank::rank(&agg, &cat, &params());
    let also = cooc.lists(&agg.products, 1, 10);
    let packs = bundle::packs(&r, &also, &agg.products, &cat, &PackParams::default());
    let extras = Extras {
        fx: Some(FxRates {
            base: "GBP".into(),
            as_of: "2026-11-22T00:00:00Z".into(),
            rates: BTreeMap::from([("EUR".to_string(), 1.17)]),
        }),
        dicts: vec![Dictionary {
            locale: "de".into(),
            entries: BTreeMap::from([("nav.home".to_string(), "Startseite".to_string())]),
            ..Dictionary::default()
        }],
        tm: Vec::new(),
    };
    let now = parse_rfc3339("2026-11-22T03:04:05Z").unwrap();
    let entries = bundle::assemble(&template(), &packs, &extras, now, None).unwrap();
    let name = bundle::check(&entries).unwrap().bundle;
    (entries, name)
}

#[test]
fn bundle_layout_pointer_last_and_valid() {
    let (entries, name) = built();
    assert!(
        name.starts_with("20261122T030405Z-") && name.len() == 25,
        "{name}"
    );
    let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(*keys.last().unwrap(), CONFIG_KEY);
    assert_eq!(keys[0], format!("b/{name}/fx/rates"));
    assert_eq!(keys[1], format!("b/{name}/dict/de"));
    for cc in ["DE", "FR", "GB", "ZZ"] {
        assert!(
            keys.contains(&format!("b/{name}/country/{cc}").as_str()),
            "{cc}"
        );
    }
    let cfg: Config = serde_json::from_str(&entries.last().unwrap().value).unwrap();
    assert_eq!(cfg.bundle, name);
    assert_eq!(cfg.rules, template().rules);
    // Same content, same name; the worker's types read every value.
    assert_eq!(built().1, name);
    for e in &entries[2..entries.len() - 1] {
        let pack: CountryPack = serde_json::from_str(&e.value).unwrap();
        assert!(e.key.ends_with(&pack.country));
    }
}

#[test]
fn check_rejects_what_the_worker_could_not_use() {
    let (good, name) = built();
    let pack_key = format!("b/{name}/country/GB");
    let with = |f: &dyn Fn(&mut Vec<BulkEntry>)| {
        let mut e = good.clone();
        f(&mut e);
        bundle::check(&e).unwrap_err().join("\n")
    };
    let edit_pack = |e: &mut Vec<BulkEntry>, f: &dyn Fn(&mut CountryPack)| {
        let i = e.iter().position(|x| x.key == pack_key).unwrap();
        let mut p: CountryPack = serde_json::from_str(&e[i].value).unwrap();
        f(&mut p);
        e[i].value = serde_json::to_string(&p).unwrap();
    };
    assert!(with(&|e| e.rotate_right(1)).contains("must be the last entry"));
    assert!(with(&|e| {
        e.pop();
    })
    .contains("no \"config\" key"));
    assert!(with(&|e| e.insert(0, e[0].clone())).contains("duplicate key"));
    assert!(with(&|e| e[0].key = "b/other/fx/rates".into()).contains("not under the live bundle"));
    assert!(with(&|e| e[0].key = format!("b/{name}/fx/{}", "x".repeat(600))).contains("key is"));
    assert!(with(&|e| e[0].value = "x".repeat((25 << 20) + 1)).contains("over 26214400"));
    assert!(with(&|e| e[1].key = format!("b/{name}/dict/fr")).contains("locale"));
    assert!(with(&|e| e[1].key = format!("b/{name}/menu/fr")).contains("unknown kind"));
    assert!(with(&|e| e.retain(|x| !x.key.ends_with("/ZZ"))).contains("no global pack"));
    assert!(with(&|e| edit_pack(e, &|p| {
        p.cards.remove("G");
    }))
    .contains("has no card"));
    assert!(with(&|e| edit_pack(e, &|p| {
        p.segments.insert("DE:*:*:*:*".into(), vec![]);
    }))
    .contains("is not of GB"));
    assert!(with(&|e| edit_pack(e, &|p| {
        p.segments.insert("GB:*:brunch:*:*".into(), vec![]);
    }))
    .contains("malformed"));
    assert!(with(&|e| edit_pack(e, &|p| p.country = "FR".into())).contains("!= key id"));
    assert!(with(&|e| {
        let n = e.len();
        e[n - 1].value = e[n - 1].value.replace("\"version\":1", "\"version\":2");
    })
    .contains("version"));
    // And the CLI says so.
    let bad = tmp("bad-bundle.json");
    let mut e = good.clone();
    e.rotate_right(1);
    std::fs::write(&bad, serde_json::to_string(&e).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_borderless"))
        .arg("check")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("last entry"));
}

// ---------- publish order ----------

/// A wrangler that records each call's arguments and keys.
fn fake_wrangler(log: &Path, fail_on: Option<usize>) -> PathBuf {
    let script = log.with_extension("sh");
    let fail = fail_on.map_or(String::new(), |n| {
        format!("[ \"$(wc -l < '{}')\" -ge {n} ] && exit 3\n", log.display())
    });
    let body = format!(
        "#!/bin/sh\n{fail}file=$4\nkeys=$(grep -o '\"key\":\"[^\"]*\"' \"$file\" | sed 's/\"key\":\"//;s/\"$//' | tr '\\n' ' ')\necho \"$* | $keys\" >> '{}'\n",
        log.display()
    );
    std::fs::write(&script, body).unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    script
}

#[test]
fn publish_writes_values_then_the_pointer() {
    let (mut entries, name) = built();
    // Over 10,000 pairs: the values need two files.
    let pointer = entries.pop().unwrap();
    for i in 0..10_050 {
        let d = Dictionary {
            locale: format!("x{i}"),
            ..Dictionary::default()
        };
        entries.push(BulkEntry {
            key: format!("b/{name}/dict/x{i}"),
            value: serde_json::to_string(&d).unwrap(),
            expiration_ttl: None,
        });
    }
    entries.push(pointer);
    let n_values = entries.len() - 1;
    let log = tmp("wrangler-ok.log");
    let _ = std::fs::remove_file(&log);
    let target = Target {
        local: true,
        env: Some("dev".into()),
        binding: "BORDERLESS".into(),
        wrangler: Some(fake_wrangler(&log, None)),
    };
    publish::publish(&entries, &target).unwrap();
    let all = std::fs::read_to_string(&log).unwrap();
    // First the live config is read (for `rollback`'s history).
    assert!(
        all.starts_with("kv key get config --binding BORDERLESS"),
        "{all:.80}"
    );
    let calls: Vec<String> = all.lines().skip(1).map(str::to_string).collect();
    assert_eq!(
        calls.len(),
        3,
        "{:?}",
        calls.iter().map(|c| &c[..80]).collect::<Vec<_>>()
    );
    for c in &calls {
        assert!(c.starts_with("kv bulk put "), "{c}");
        assert!(
            c.contains("--binding BORDERLESS --env dev --local |"),
            "{c}"
        );
    }
    let keys = |c: &str| c.split(" | ").nth(1).unwrap().split_whitespace().count();
    assert_eq!(keys(&calls[0]), 10_000);
    assert_eq!(keys(&calls[0]) + keys(&calls[1]), n_values);
    assert!(!calls[0].contains(" config ") && !calls[1].contains(" config "));
    assert_eq!(calls[2].split(" | ").nth(1).unwrap().trim(), "config");

    // A failed value upload never moves the pointer.
    let log = tmp("wrangler-fail.log");
    let _ = std::fs::remove_file(&log);
    std::fs::write(&log, "").unwrap();
    let target = Target {
        local: false,
        env: None,
        binding: "BORDERLESS".into(),
        wrangler: Some(fake_wrangler(&log, Some(1))),
    };
    let err = publish::publish(&entries, &target).unwrap_err();
    assert!(err.contains("previous bundle"), "{err}");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls.lines().count(),
        1,
        "the get (the failing put exits first)"
    );
    assert!(calls.contains("--remote") && !calls.contains("| config"));

    // An invalid bundle is refused before any call.
    let mut bad = entries.clone();
    bad.rotate_right(1);
    assert!(publish::publish(&bad, &target)
        .unwrap_err()
        .contains("refusing"));
}

// ---------- counts round trip ----------

#[test]
fn build_from_counts_equals_build_from_events() {
    let (agg, cooc, cat) = fixture();
    let counts = tmp("counts.csv");
    let pairs = tmp("pairs.csv");
    agg.write_csv(std::fs::File::create(&counts).unwrap())
        .unwrap();
    cooc.write_csv(&agg.products, std::fs::File::create(&pairs).unwrap())
        .unwrap();
    let (mut agg2, report) = Aggregates::read_csv(&counts, false).unwrap();
    assert_eq!(report.bad, 0);
    let (cooc2, report) = Cooc::read_csv(&pairs, &mut agg2.products).unwrap();
    assert_eq!(report.bad, 0);
    let run = |agg: &Aggregates, cooc: &Cooc| {
        let r = rank::rank(agg, &cat, &params());
        let also = cooc.lists(&agg.products, 1, 10);
        bundle::packs(&r, &also, &agg.products, &cat, &PackParams::default())
    };
    assert_eq!(run(&agg, &cooc), run(&agg2, &cooc2));
    // A bad counts row is reported with its line.
    let mut text = std::fs::read_to_string(&counts).unwrap();
    text.push_str("GB:*:teatime:*:*,G,2011-11-14,purchase,1,1,2011-11-16T10:00:00Z\n");
    std::fs::write(&counts, &text).unwrap();
    let (_, report) = Aggregates::read_csv(&counts, false).unwrap();
    assert_eq!(report.bad, 1);
    assert_eq!(report.bad_samples[0].0 as usize, text.lines().count());
}

// ---------- time zones against CLDR ----------

#[test]
fn zones_match_cldr() {
    let countries: Vec<&str> = zones::ZONES.iter().map(|z| z.0).collect();
    let script = format!(
        "const out={{}};for(const c of {}){{const l=new Intl.Locale('und-'+c);out[c]=l.getTimeZones?l.getTimeZones():l.timeZones}}console.log(JSON.stringify(out))",
        serde_json::to_string(&countries).unwrap()
    );
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    let out = Command::new(node)
        .args(["-e", &script])
        .output()
        .expect("node is required for the CLDR oracle");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cldr: HashMap<String, Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    let mut zc = zones::ZoneCache::default();
    // Two names for one zone (CLDR keeps old ids: Asia/Calcutta) agree on every offset.
    let mut same = |a: &str, b: &str| {
        a == b
            || (0..30 * 24).all(|m| {
                let t = parse_rfc3339("2000-01-15T12:00:00Z").unwrap() + m * 15 * 86_400_000 / 12;
                zc.offset_minutes(a, t) == zc.offset_minutes(b, t)
            })
    };
    for (c, zone) in zones::ZONES {
        let listed = &cldr[*c];
        if zones::MULTI_ZONE.contains(c) {
            assert!(
                listed.len() > 1,
                "{c} has one zone in CLDR: drop it from MULTI_ZONE"
            );
            assert!(
                listed.iter().any(|z| same(zone, z)),
                "{c}: {zone} not in {listed:?}"
            );
        } else {
            assert_eq!(
                listed.len(),
                1,
                "{c} has several zones {listed:?}: say which and why"
            );
            assert!(same(zone, &listed[0]), "{c}: {zone} vs CLDR {}", listed[0]);
        }
    }
    // Every country of the Online Retail log has a zone.
    for (name, iso) in retail::COUNTRIES {
        if let Some(iso) = iso {
            assert!(zones::zone_of(iso).is_some(), "{name}");
        }
    }
}

// ---------- a small eval and build on a slice of the real log ----------

/// Every 8th invoice of the real log (all of its lines), as plain CSV.
fn real_slice() -> PathBuf {
    static SLICE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    SLICE.get_or_init(write_slice).clone()
}

fn write_slice() -> PathBuf {
    let path = tmp("retail-slice.csv");
    let gz = std::fs::File::open(RETAIL_LOG).expect("the Online Retail log in ../shared/data");
    let rd = BufReader::new(flate2::read::MultiGzDecoder::new(gz));
    let part = path.with_extension("part");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&part).unwrap());
    for (i, line) in rd.lines().enumerate() {
        let line = line.unwrap();
        let inv: u64 = line
            .split(',')
            .next()
            .unwrap()
            .trim_start_matches(['C', 'A'])
            .parse()
            .unwrap_or(0);
        if i == 0 || inv.is_multiple_of(8) {
            writeln!(out, "{line}").unwrap();
        }
    }
    out.flush().unwrap();
    drop(out);
    std::fs::rename(&part, &path).unwrap();
    path
}

#[test]
fn small_eval_on_a_slice_of_the_real_log() {
    let opts = eval::Options {
        log: real_slice(),
        cutoff_ms: parse_rfc3339("2011-11-01T00:00:00Z").unwrap(),
        end_ms: parse_rfc3339("2012-01-01T00:00:00Z").unwrap(),
        rank: Params::default(),
        pack: PackParams::default(),
        cooc_min_support: 2,
        customers: Default::default(),
        progress: false,
    };
    let r = eval::run(&opts).unwrap();
    assert_eq!(r.rows.bad, 0);
    assert!(
        r.test_baskets > 300 && r.all.n == r.test_baskets,
        "{}",
        r.test_baskets
    );
    assert!(r.non_uk.n > 20 && r.countries[0].0 == "GB");
    for m in 0..eval::METHODS.len() {
        for g in [&r.all, &r.non_uk] {
            assert!((0.0..=1.0).contains(&g.hr(m)) && g.ndcg(m) <= g.hr(m));
        }
        assert!(r.all.hr(m) > 0.1, "{} {}", eval::METHODS[m], r.all.hr(m));
    }
    // Country-aware lists beat one global list for customers abroad.
    assert!(r.non_uk.hr(2) > r.non_uk.hr(0), "{}", eval::markdown(&r));
    let table = eval::markdown(&r);
    assert!(table.contains("| segment + fallback |") && table.contains("| GB |"));
    // Deterministic.
    assert_eq!(eval::run(&opts).unwrap().all, r.all);
}

#[test]
fn cli_builds_and_checks_a_bundle_from_the_real_log() {
    let out = tmp("slice-bundle.json");
    let bin = env!("CARGO_BIN_EXE_borderless");
    let st = Command::new(bin)
        .args([
            "build",
            "--quiet",
            "--config",
            DEMO_CONFIG,
            "--bundle",
            "test-1",
            "--retail",
        ])
        .arg(real_slice())
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(
        err.contains("rows/s") && err.contains("bundle test-1"),
        "{err}"
    );
    let chk = Command::new(bin).arg("check").arg(&out).output().unwrap();
    assert!(
        chk.status.success(),
        "{}",
        String::from_utf8_lossy(&chk.stderr)
    );
    assert!(String::from_utf8_lossy(&chk.stdout).contains("valid bundle test-1"));
    let entries: Vec<BulkEntry> =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let de: CountryPack = serde_json::from_str(
        &entries
            .iter()
            .find(|e| e.key == "b/test-1/country/DE")
            .unwrap()
            .value,
    )
    .unwrap();
    assert!(de.segments["DE:*:*:*:*"].len() == 20);
    assert!(!de.segments.values().flatten().any(|p| p == "POST"));
    let card = &de.cards[&de.segments["DE:*:*:*:*"][0]];
    assert_eq!(card.currency, "GBP");
    assert!(card.url.starts_with("/p/") && card.image.starts_with("/product-images/"));
}
