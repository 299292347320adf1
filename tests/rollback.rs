//! `publish` keeps the config it replaces; `rollback` flips the pointer back
//! through it, one version per call; `fx` writes the live FX key. Against a
//! stand-in wrangler that keeps KV in a directory.

use borderless::base::fxfeed::FX_LIVE_KEY;
use borderless::precompute::kv::{self, history_key};
use borderless::precompute::publish::{self, Target};
use borderless::schema::{BulkEntry, CountryPack, FxRates, CONFIG_KEY};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// A wrangler for `kv bulk put`, `kv key get` and `kv key put`, on files.
fn fake_kv(name: &str) -> (Target, PathBuf) {
    let dir = std::env::temp_dir().join(format!("borderless-kv-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("kv")).unwrap();
    let script = dir.join("wrangler");
    let body = format!(
        r#"#!/usr/bin/env python3
import json, os, sys, urllib.parse
store = {store:?}
path = lambda k: os.path.join(store, urllib.parse.quote(k, safe=""))
a = sys.argv[1:]
if a[:3] == ["kv", "bulk", "put"]:
    for e in json.load(open(a[3])):
        open(path(e["key"]), "w").write(e["value"])
elif a[:3] == ["kv", "key", "get"]:
    p = path(a[3])
    sys.stdout.write(open(p).read() if os.path.exists(p) else "Value not found\n")
elif a[:3] == ["kv", "key", "put"]:
    open(path(a[3]), "w").write(open(a[a.index("--path") + 1]).read())
else:
    sys.exit(2)
"#,
        store = dir.join("kv").display().to_string()
    );
    std::fs::write(&script, body).unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    let target = Target {
        local: true,
        env: Some("dev".into()),
        binding: "BORDERLESS".into(),
        wrangler: Some(script),
    };
    (target, dir)
}

fn config(bundle: &str) -> String {
    format!(
        r#"{{"version":1,"bundle":"{bundle}","site":{{"default_locale":"en-GB","currency":"GBP"}},
        "localization":{{"locales":["en-GB"],"currencies":["GBP","EUR","USD"]}}}}"#
    )
}

fn bundle(name: &str) -> Vec<BulkEntry> {
    let pack = CountryPack {
        country: "ZZ".into(),
        segments: BTreeMap::from([("*:*:*:*:*".to_string(), vec![])]),
        trending: vec![],
        also_bought: BTreeMap::new(),
        cards: BTreeMap::new(),
    };
    vec![
        BulkEntry {
            key: format!("b/{name}/country/ZZ"),
            value: serde_json::to_string(&pack).unwrap(),
            expiration_ttl: None,
        },
        BulkEntry {
            key: CONFIG_KEY.into(),
            value: config(name),
            expiration_ttl: None,
        },
    ]
}

fn live_bundle(t: &Target) -> String {
    let c = kv::get(CONFIG_KEY, t).unwrap().unwrap();
    serde_json::from_str::<serde_json::Value>(&c).unwrap()["bundle"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn publish_keeps_history_and_rollback_walks_it_back() {
    let (t, _dir) = fake_kv("rollback");
    assert!(kv::rollback(&t, false).unwrap_err().contains("no config"));
    publish::publish(&bundle("v1"), &t).unwrap();
    assert_eq!(
        kv::get(&history_key("v1"), &t).unwrap(),
        None,
        "nothing before v1"
    );
    publish::publish(&bundle("v2"), &t).unwrap();
    publish::publish(&bundle("v3"), &t).unwrap();
    // Publishing the live bundle again keeps its history as it was.
    publish::publish(&bundle("v3"), &t).unwrap();
    assert_eq!(kv::get(&history_key("v3"), &t).unwrap(), Some(config("v2")));
    assert_eq!(live_bundle(&t), "v3");

    let dry = kv::rollback(&t, true).unwrap();
    assert_eq!((dry.from.as_str(), dry.to.as_str()), ("v3", "v2"));
    assert_eq!(live_bundle(&t), "v3", "a dry run writes nothing");
    kv::rollback(&t, false).unwrap();
    assert_eq!(live_bundle(&t), "v2");
    kv::rollback(&t, false).unwrap();
    assert_eq!(live_bundle(&t), "v1");
    let err = kv::rollback(&t, false).unwrap_err();
    assert!(err.contains("no history for bundle v1"), "{err}");
    assert_eq!(live_bundle(&t), "v1");
}

#[test]
fn rollback_refuses_a_bundle_whose_values_are_gone() {
    let (t, dir) = fake_kv("gone");
    publish::publish(&bundle("g1"), &t).unwrap();
    publish::publish(&bundle("g2"), &t).unwrap();
    std::fs::remove_file(dir.join("kv").join("b%2Fg1%2Fcountry%2FZZ")).unwrap();
    let err = kv::rollback(&t, false).unwrap_err();
    assert!(err.contains("no longer in KV"), "{err}");
    assert_eq!(live_bundle(&t), "g2");
}

#[test]
fn fx_command_writes_the_live_key() {
    let (t, dir) = fake_kv("fx");
    publish::publish(&bundle("f1"), &t).unwrap();
    let feed = dir.join("feed.json");
    let wrangler = t.wrangler.clone().unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_borderless"))
            .args(["fx", "--source"])
            .arg(&feed)
            .args([
                "--local",
                "--env",
                "dev",
                "--now",
                "2026-11-27T15:00:00Z",
                "--wrangler",
            ])
            .arg(&wrangler)
            .args(extra)
            .output()
            .unwrap()
    };
    std::fs::write(
        &feed,
        r#"{"base":"EUR","date":"2026-11-27","rates":{"GBP":0.8321,"USD":1.0523,"JPY":163.9}}"#,
    )
    .unwrap();
    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let live: FxRates = serde_json::from_str(&kv::get(FX_LIVE_KEY, &t).unwrap().unwrap()).unwrap();
    assert_eq!(live.as_of, "2026-11-27T15:00:00Z");
    assert_eq!(live.rates.keys().collect::<Vec<_>>(), ["GBP", "USD"]);

    // A 30 % jump is refused against the live rates and leaves them; --force takes it.
    std::fs::write(
        &feed,
        r#"{"base":"EUR","date":"2026-11-27","rates":{"GBP":0.8321,"USD":1.368}}"#,
    )
    .unwrap();
    let out = run(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("fx_feed_jump"),
        "{err}"
    );
    let again: FxRates = serde_json::from_str(&kv::get(FX_LIVE_KEY, &t).unwrap().unwrap()).unwrap();
    assert_eq!(again, live);
    assert!(run(&["--force"]).status.success());
    let forced: FxRates =
        serde_json::from_str(&kv::get(FX_LIVE_KEY, &t).unwrap().unwrap()).unwrap();
    assert_eq!(forced.rates["USD"], 1.368);

    // A partial feed (no USD) is refused.
    std::fs::write(
        &feed,
        r#"{"base":"EUR","date":"2026-11-27","rates":{"GBP":0.8321}}"#,
    )
    .unwrap();
    let out = run(&[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("fx_feed_partial"));
}
