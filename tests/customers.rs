//! Per-customer lists: how "buy again" and "for you" rank and filter, the
//! customer file (keys, check, publish, forget), the warehouse form of the
//! history, and the CLI on a slice of the real log.
#![cfg(not(target_arch = "wasm32"))]

use borderless::base::time::parse_rfc3339;
use borderless::precompute::agg::Pipeline;
use borderless::precompute::catalog::{Catalog, Product};
use borderless::precompute::customer_kv;
use borderless::precompute::customers::{Cycles, Inputs, Model, Params};
use borderless::precompute::events::{Event, Kind};
use borderless::precompute::history::Collector;
use borderless::precompute::publish::Target;
use borderless::precompute::rank::{self, Params as RankParams};
use borderless::request::identity;
use borderless::schema::{BulkEntry, Card, CustomerValue};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

const RETAIL_LOG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/online-retail/online_retail.csv.gz"
);
const DEMO_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/config.json");
const KEY: &[u8] = b"test customer key, 32 bytes long";

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("borderless-cust-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn ev(day: u32, who: &str, product: &str, kind: Kind, order: &str) -> Event {
    Event {
        ts_ms: parse_rfc3339(&format!("2011-11-{day:02}T10:00:00Z")).unwrap(),
        visitor: who.into(),
        product: product.into(),
        kind,
        quantity: 1,
        country: Some("DE".into()),
        device: None,
        order: Some(order.into()),
        zone: None,
    }
}

fn catalog(ids: &[&str], inactive: &[&str]) -> Catalog {
    let mut c = Catalog::default();
    for id in ids.iter().chain(inactive) {
        c.insert(Product {
            card: Card {
                id: id.to_string(),
                title: BTreeMap::from([("en-GB".to_string(), format!("Product {id}"))]),
                category: "Gifts".into(),
                price: "1.00".into(),
                currency: "GBP".into(),
                image: format!("/product-images/{id}.svg"),
                url: format!("/p/{id}"),
            },
            active: !inactive.contains(id),
        });
    }
    c
}

/// `me` orders A in three orders, B once (long ago), C once then returns
/// it, I (inactive) twice; others buy A with P, and Q a lot.
fn fixture() -> (Pipeline, Collector) {
    let mut pipe = Pipeline::default();
    let mut hist = Collector::new(usize::MAX);
    let mut feed = |e: Event| {
        pipe.feed(&e);
        hist.add(&e).unwrap();
    };
    feed(ev(1, "me", "B", Kind::Purchase, "m1"));
    for (d, o) in [(2, "m2"), (9, "m3"), (16, "m4")] {
        feed(ev(d, "me", "A", Kind::Purchase, o));
        feed(ev(d, "me", "I", Kind::Purchase, o));
    }
    feed(ev(16, "me", "C", Kind::Purchase, "m4"));
    feed(ev(17, "me", "C", Kind::Cancel, "Cm4"));
    for i in 0..30 {
        let o = format!("o{i}");
        let who = format!("c{i}");
        feed(ev(3 + i % 10, &who, "A", Kind::Purchase, &o));
        feed(ev(3 + i % 10, &who, "P", Kind::Purchase, &o));
        feed(ev(3 + i % 10, &who, "Q", Kind::Purchase, &format!("q{i}")));
        feed(ev(3 + i % 10, &who, "R", Kind::Purchase, &format!("r{i}")));
    }
    (pipe, hist)
}

fn lists_of(hist: &mut Collector, model: &Model, who: &str, p: &Params) -> Option<CustomerValue> {
    let mut out = None;
    hist.for_each(|cu| {
        if cu.id == who {
            out = model.value(cu, p);
        }
    })
    .unwrap();
    out
}

#[test]
fn buy_again_and_for_you() {
    let (pipe, mut hist) = fixture();
    let (agg, cooc) = pipe.finish();
    let cat = catalog(&["A", "B", "C", "P", "Q", "R"], &["I"]);
    let as_of = parse_rfc3339("2011-11-20T00:00:00Z").unwrap();
    let ranking = rank::rank(
        &agg,
        &cat,
        &RankParams {
            as_of_ms: as_of,
            ..RankParams::default()
        },
    );
    let also = cooc.lists(&agg.products, 1, 50);
    let cycles = Cycles::of(&mut hist).unwrap();
    let products = hist.products.clone();
    let model = Model::new(Inputs {
        ranking: &ranking,
        also: &also,
        names: &agg.products,
        catalog: &cat,
        products: &products,
        cycles: &cycles,
        as_of_ms: as_of,
    });
    let p = Params {
        top: 3,
        ..Params::default()
    };
    let v = lists_of(&mut hist, &model, "me", &p).unwrap();
    // A (3 orders) before B; I is inactive, C was returned.
    assert_eq!(v.buy_again, ["A", "B"]);
    // P goes with A; then the country's list, minus what `me` bought.
    assert_eq!(v.for_you[0], "P");
    assert_eq!(v.for_you.len(), 3);
    assert!(v
        .for_you
        .iter()
        .all(|x| !["A", "B", "C", "I"].contains(&x.as_str())));
    let ids: HashSet<&String> = v.buy_again.iter().chain(&v.for_you).collect();
    assert_eq!(ids.len(), v.cards.len());
    assert_eq!(v.country, "DE");
    // A short half-life favours the recent over the frequent.
    let recent = Params {
        half_life_days: 0.5,
        freq_exp: 0.5,
        cycle_weight: 0.0,
        ..p.clone()
    };
    hist.for_each(|cu| {
        if cu.id == "me" {
            let l = model.lists(cu, &recent);
            assert_eq!(agg.products.name(l.buy_again[0]), "A");
        }
    })
    .unwrap();
    // The customer file: keys are HMACs of the ids, every value checks.
    let file = tmp("fixture-customers.json");
    let mut out = std::fs::File::create(&file).unwrap();
    let exclude = HashSet::from(["c0".to_string()]);
    let st = customer_kv::write(&mut hist, &model, &p, KEY, 86_400, &exclude, &mut out).unwrap();
    drop(out);
    assert_eq!((st.customers, st.values, st.excluded), (31, 30, 1));
    let checked = customer_kv::check(&file).unwrap();
    assert_eq!(checked.values, 30);
    let entries: Vec<BulkEntry> =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let me = identity::kv_key("me", KEY).unwrap();
    let e = entries.iter().find(|e| e.key == me).unwrap();
    assert_eq!(e.expiration_ttl, Some(86_400));
    assert_eq!(
        serde_json::from_str::<CustomerValue>(&e.value).unwrap(),
        v_with(&model, &mut hist, &p)
    );
    assert!(!entries
        .iter()
        .any(|e| e.key == identity::kv_key("c0", KEY).unwrap()));
    assert!(customer_kv::write(
        &mut hist,
        &model,
        &p,
        b"short",
        60,
        &exclude,
        &mut Vec::new()
    )
    .is_err());
}

fn v_with(model: &Model, hist: &mut Collector, p: &Params) -> CustomerValue {
    lists_of(hist, model, "me", p).unwrap()
}

#[test]
fn check_rejects_what_the_worker_would_not_use() {
    let card = |id: &str| Card {
        id: id.into(),
        title: BTreeMap::from([("en-GB".into(), "T".into())]),
        category: String::new(),
        price: "1.00".into(),
        currency: "GBP".into(),
        image: String::new(),
        url: format!("/p/{id}"),
    };
    let good = CustomerValue {
        country: "DE".into(),
        buy_again: vec!["A".into()],
        for_you: vec!["B".into()],
        cards: BTreeMap::from([("A".into(), card("A")), ("B".into(), card("B"))]),
    };
    let key = identity::kv_key("x", KEY).unwrap();
    let entry = |key: &str, v: &CustomerValue, ttl: Option<u64>| BulkEntry {
        key: key.into(),
        value: serde_json::to_string(v).unwrap(),
        expiration_ttl: ttl,
    };
    assert!(customer_kv::check_entry(&entry(&key, &good, Some(60))).is_ok());
    let mut twice = good.clone();
    twice.for_you = vec!["A".into()];
    let mut no_card = good.clone();
    no_card.cards.remove("B");
    let mut extra_card = good.clone();
    extra_card.cards.insert("C".into(), card("C"));
    let mut bad_id = good.clone();
    bad_id.buy_again = vec!["<b>".into()];
    bad_id.cards.insert("<b>".into(), card("<b>"));
    let mut country = good.clone();
    country.country = "Deutschland".into();
    let mut empty = good.clone();
    (empty.buy_again, empty.for_you, empty.cards) = (vec![], vec![], BTreeMap::new());
    for (v, why) in [
        (&twice, "twice"),
        (&no_card, "no card"),
        (&extra_card, "not listed"),
        (&bad_id, "not one the worker"),
        (&country, "country"),
        (&empty, "no list"),
    ] {
        let err = customer_kv::check_entry(&entry(&key, v, None)).unwrap_err();
        assert!(err.contains(why), "{why}: {err}");
    }
    assert!(customer_kv::check_entry(&entry("cust/x", &good, None)).is_err());
    assert!(customer_kv::check_entry(&entry(&key, &good, Some(59))).is_err());
    // A file with a duplicate key or trailing garbage is refused as a whole.
    let file = tmp("dup.json");
    let e = entry(&key, &good, None);
    std::fs::write(&file, serde_json::to_string(&[&e, &e]).unwrap()).unwrap();
    assert!(customer_kv::check(&file).unwrap_err()[0].contains("duplicate"));
    std::fs::write(&file, format!("{}x", serde_json::to_string(&[&e]).unwrap())).unwrap();
    assert!(customer_kv::check(&file).is_err());
}

/// A wrangler that records its arguments and, for a bulk put, the keys.
fn fake_wrangler(log: &Path) -> PathBuf {
    let script = log.with_extension("sh");
    let body = format!(
        "#!/bin/sh\nkeys=\"\"\n[ \"$2\" = bulk ] && keys=$(grep -o '\"key\":\"[^\"]*\"' \"$4\" | wc -l)\necho \"$* | $keys\" >> '{}'\n",
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

/// Every 32nd invoice of the real log (about 17,000 rows).
fn slice() -> PathBuf {
    static SLICE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    SLICE
        .get_or_init(|| {
            let path = tmp("retail-slice.csv");
            let gz = std::fs::File::open(RETAIL_LOG).expect("the Online Retail log");
            let rd = BufReader::new(flate2::read::MultiGzDecoder::new(gz));
            let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
            for (i, line) in rd.lines().enumerate() {
                let line = line.unwrap();
                let inv: u64 = line
                    .split(',')
                    .next()
                    .unwrap()
                    .trim_start_matches(['C', 'A'])
                    .parse()
                    .unwrap_or(0);
                if i == 0 || inv.is_multiple_of(32) {
                    writeln!(out, "{line}").unwrap();
                }
            }
            out.flush().unwrap();
            path
        })
        .clone()
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_borderless"))
        .args(args)
        .env("BORDERLESS_CUSTOMER_KEY", std::str::from_utf8(KEY).unwrap())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_builds_checks_publishes_and_forgets_customers() {
    let log = slice();
    let log = log.to_str().unwrap();
    let (cust, spilled) = (tmp("c.json"), tmp("c-spilled.json"));
    let build = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "build",
            "--quiet",
            "--config",
            DEMO_CONFIG,
            "--bundle",
            "t",
            "--retail",
            log,
            "-o",
        ];
        let bundle = tmp("b.json");
        args.push(bundle.to_str().unwrap());
        args.extend(["--customers-out", out.to_str().unwrap()]);
        args.extend(extra);
        let (ok, _, err) = run(&args);
        assert!(ok, "{err}");
        err
    };
    let err = build(&cust, &[]);
    assert!(
        err.contains("customers: ") && err.contains(" values ("),
        "{err}"
    );
    // Spilling to shards gives the same file.
    let err = build(&spilled, &["--customer-budget", "2000"]);
    assert!(!err.contains("; 0 spills"), "{err}");
    assert_eq!(
        std::fs::read(&cust).unwrap(),
        std::fs::read(&spilled).unwrap()
    );
    let (ok, out, err) = run(&["check", "--customers", cust.to_str().unwrap()]);
    assert!(ok && out.contains("valid customer file"), "{out}{err}");
    let entries: Vec<BulkEntry> =
        serde_json::from_str(&std::fs::read_to_string(&cust).unwrap()).unwrap();
    assert!(entries.len() > 300, "{}", entries.len());
    // A customer of the slice outside the UK: their key is the HMAC of the id.
    let text = std::fs::read_to_string(slice()).unwrap();
    let row: Vec<&str> = text
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f.len() == 8 && !f[6].is_empty() && f[7] == "France" && !f[0].starts_with('C'))
        .unwrap();
    let who = row[6];
    let k = identity::kv_key(who, KEY).unwrap();
    let v: CustomerValue =
        serde_json::from_str(&entries.iter().find(|e| e.key == k).unwrap().value).unwrap();
    assert_eq!(v.country, "FR");
    assert!(!v.buy_again.is_empty() && !v.for_you.is_empty());
    // Without a key nothing is built.
    let out = Command::new(env!("CARGO_BIN_EXE_borderless"))
        .args(["build", "--quiet", "--config", DEMO_CONFIG, "--retail", log])
        .args(["-o", "/dev/null", "--customers-out", "/dev/null"])
        .env_remove("BORDERLESS_CUSTOMER_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("BORDERLESS_CUSTOMER_KEY"));

    // The warehouse form: aggregate --customers-out, then build --counts.
    let (counts, pairs, ccounts, catalog) =
        (tmp("k.csv"), tmp("p.csv"), tmp("cc.csv"), tmp("cat.jsonl"));
    let p = |x: &PathBuf| x.to_str().unwrap().to_string();
    let (ok, _, err) = run(&[
        "aggregate",
        "--quiet",
        "--retail",
        log,
        "-o",
        &p(&counts),
        "--pairs-out",
        &p(&pairs),
        "--customers-out",
        &p(&ccounts),
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["catalog", "--retail", log, "-o", &p(&catalog)]);
    assert!(ok, "{err}");
    let from_counts = tmp("c-counts.json");
    let (ok, _, err) = run(&[
        "build",
        "--quiet",
        "--config",
        DEMO_CONFIG,
        "--bundle",
        "t",
        "-o",
        "/dev/null",
        "--counts",
        &p(&counts),
        "--pairs",
        &p(&pairs),
        "--catalog",
        &p(&catalog),
        "--customer-counts",
        &p(&ccounts),
        "--customers-out",
        &p(&from_counts),
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read(&cust).unwrap(),
        std::fs::read(&from_counts).unwrap()
    );

    // Publish streams 10,000 per put; forget deletes exactly one key.
    let wlog = tmp("wrangler.log");
    let w = fake_wrangler(&wlog);
    let (ok, _, err) = run(&[
        "publish",
        "--customers",
        &p(&cust),
        "--local",
        "--wrangler",
        &p(&w),
    ]);
    assert!(ok, "{err}");
    let calls = std::fs::read_to_string(&wlog).unwrap();
    assert!(calls.starts_with("kv bulk put "), "{calls}");
    assert!(calls.contains(&format!("--binding BORDERLESS --local | {}", entries.len())));
    let (ok, _, err) = run(&[
        "forget",
        "--customer",
        who,
        "--env",
        "dev",
        "--wrangler",
        &p(&w),
    ]);
    assert!(ok, "{err}");
    let calls = std::fs::read_to_string(&wlog).unwrap();
    let last = calls.lines().last().unwrap();
    assert_eq!(
        last,
        format!("kv key delete {k} --binding BORDERLESS --env dev --remote | ")
    );
    // Published files are checked first.
    let bad = tmp("bad.json");
    std::fs::write(&bad, "[{\"key\":\"cust/12347\",\"value\":\"{}\"}]").unwrap();
    let (ok, _, err) = run(&["publish", "--customers", &p(&bad), "--wrangler", &p(&w)]);
    assert!(!ok && err.contains("refusing"), "{err}");
    assert_eq!(std::fs::read_to_string(&wlog).unwrap(), calls);
}

#[test]
fn publish_splits_large_customer_files() {
    let key = |i: usize| identity::kv_key(&format!("c{i}"), KEY).unwrap();
    let v = r#"{"country":"ZZ","buy_again":["A"],"for_you":[],"cards":{"A":{"id":"A","title":{"en-GB":"A"},"category":"","price":"1.00","currency":"GBP","image":"","url":"/p/A"}}}"#;
    let file = tmp("big.json");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    write!(out, "[").unwrap();
    for i in 0..10_050 {
        let e = BulkEntry {
            key: key(i),
            value: v.into(),
            expiration_ttl: Some(3600),
        };
        let sep = if i == 0 { "" } else { "," };
        write!(out, "{sep}{}", serde_json::to_string(&e).unwrap()).unwrap();
    }
    write!(out, "]").unwrap();
    drop(out);
    let wlog = tmp("wrangler-big.log");
    let target = Target {
        local: true,
        binding: "BORDERLESS".into(),
        wrangler: Some(fake_wrangler(&wlog)),
        ..Target::default()
    };
    assert_eq!(customer_kv::publish(&file, &target).unwrap(), 10_050);
    let calls = std::fs::read_to_string(&wlog).unwrap();
    let counts: Vec<&str> = calls
        .lines()
        .map(|l| l.rsplit("| ").next().unwrap())
        .collect();
    assert_eq!(counts, ["10000", "50"]);
}
