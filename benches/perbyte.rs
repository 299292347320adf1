//! The per-byte cost on the 95 real storefront pages with the real-storefront
//! workload (issue 14): each page behind its own shop (currency and decimal
//! separator from `tests/e2e/storefront-shops.json`), prices detected in the
//! text, and a pseudo-translated memory (extracted from the 95 pages, as in
//! `tests/tm_roundtrip.rs`) for the JPY and EUR visitors' locales; the USD
//! visitor (en-US) has no memory.
//!
//! `cargo bench --profile native-bench --bench perbyte`: times one pass (95
//! pages x 3 visitors) per workload (`full`, `prices`, `tm`, `off`, and
//! `lolhtml`: lol_html alone with empty handlers on the same selectors).
//! `PERBYTE=hash` prints a hash of every output (two chunk sizes), to check
//! that a change keeps pages byte-identical; `PERBYTE=<workload>` runs one
//! pass of that workload and exits (for callgrind:
//! `--collect-atstart=no --toggle-collect='*perbyte*pass*'`).

use borderless::page::sim::{OriginResponse, Shop, Visit};
use borderless::page::values::{Kind, Value};
use borderless::precompute::tm::extract::{self, Stats};
use borderless::precompute::tm::{import, pseudo, Catalog};
use borderless::rewrite::tm::memory::{value_id, TmValue};
use borderless::rewrite::tm::Options;
use borderless::schema::MoneyFormats;
use criterion::{Criterion, Throughput};
use std::collections::{BTreeMap, HashMap};
use std::hash::Hasher;
use std::path::PathBuf;
use std::rc::Rc;

#[path = "../tests/support/storefront.rs"]
mod storefront;
use storefront::{fx, money_formats};

/// Origin chunks arrive at about this size through workerd.
const CHUNK: usize = 16 << 10;
/// Visitors: country, locale (Accept-Language), currency; a memory or not.
const VISITORS: [(&str, &str, bool); 3] = [
    ("JP", "ja-JP", true),
    ("DE", "de-DE", true),
    ("US", "en-US", false),
];
const WORKLOADS: [&str; 5] = ["full", "prices", "tm", "off", "lolhtml"];
/// 2026-11-22T06:00:00Z: the rates are fresh.
const NOW_MS: i64 = 1_795_327_200_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Page {
    name: String,
    path: String,
    html: OriginResponse,
    /// Index into the shops (by currency and decimal separator).
    shop: usize,
}

struct Bench {
    pages: Vec<Page>,
    /// Per workload name, one shop per (currency, decimal).
    shops: HashMap<&'static str, Vec<Shop>>,
    visits: Vec<Visit>,
}

fn load(workloads: &[&'static str]) -> Bench {
    let dir = root().join("../shared/data/storefront-pages");
    let shops_json: BTreeMap<String, serde_json::Value> = serde_json::from_slice(
        &std::fs::read(root().join("tests/e2e/storefront-shops.json")).unwrap(),
    )
    .unwrap();
    let mut raw = Vec::new();
    for f in extract::pages_in(&dir).unwrap() {
        raw.extend(extract::read_source(&f).unwrap());
    }
    assert_eq!(raw.len(), 95);
    // The pseudo-translated memory of every segment of the 95 pages.
    let opts = Rc::new(Options::default());
    let mut cat = Catalog::new("en");
    let mut stats = Stats::default();
    for (path, html) in &raw {
        extract::page(&mut cat, path, html, &opts, &mut stats).unwrap();
    }
    let mut tm = import::LocaleTm::default();
    for u in cat.units.values() {
        if let Some(t) = pseudo(&u.source) {
            tm.entries.insert(u.key.clone(), (t, u.pages.clone()));
        }
    }
    let formats = money_formats();
    let mut groups: Vec<(String, String)> = Vec::new();
    let mut pages = Vec::new();
    for (path, html) in raw {
        let name = path.trim_start_matches('/').to_string();
        let s = &shops_json[&name];
        let key = (
            s["currency"].as_str().unwrap().to_string(),
            s["decimal"].as_str().unwrap().to_string(),
        );
        let shop = match groups.iter().position(|g| *g == key) {
            Some(i) => i,
            None => {
                groups.push(key);
                groups.len() - 1
            }
        };
        pages.push(Page {
            name,
            path,
            html: OriginResponse::html(&html, "text/html"),
            shop,
        });
    }
    // The memory's values, parsed once per locale and shared by every shop.
    let tm_values: Vec<(String, Vec<Rc<TmValue>>)> = VISITORS
        .iter()
        .filter(|v| v.2)
        .map(|(_, l, _)| {
            (
                l.to_string(),
                import::values(l, &tm, 256 << 10)
                    .into_iter()
                    .map(Rc::new)
                    .collect(),
            )
        })
        .collect();
    let mut shops = HashMap::new();
    for &w in workloads {
        let (prices, translate) = match w {
            "full" | "lolhtml" => (true, true),
            "prices" => (true, false),
            "tm" => (false, true),
            _ => (false, false),
        };
        let list = groups
            .iter()
            .map(|(cur, dec)| shop(cur, dec, prices, translate, &tm_values, &formats))
            .collect();
        shops.insert(w, list);
    }
    let visits = VISITORS
        .iter()
        .map(|(country, locale, _)| {
            let mut v =
                Visit::get("/", country).header("accept-language", &format!("{locale},en;q=0.5"));
            v.now_ms = NOW_MS;
            v.chunk = CHUNK;
            v.tz_offset = Some(60);
            v.fresh_id = Some("00112233445566778899aabbccddeeff".into());
            v
        })
        .collect();
    Bench {
        pages,
        shops,
        visits,
    }
}

fn shop(
    cur: &str,
    decimal: &str,
    prices: bool,
    translate: bool,
    tm: &[(String, Vec<Rc<TmValue>>)],
    formats: &BTreeMap<String, MoneyFormats>,
) -> Shop {
    let mut currencies = vec![cur.to_string()];
    for c in ["JPY", "EUR", "USD"] {
        if c != cur {
            currencies.push(c.into());
        }
    }
    let mut values = Vec::new();
    let mut shards = serde_json::Map::new();
    for (locale, vs) in tm.iter().filter(|_| translate) {
        shards.insert(locale.clone(), vs[0].shards.into());
        values.extend(vs);
    }
    let mut l10n = serde_json::json!({
        "locales": ["en-GB", "ja-JP", "de-DE", "en-US"],
        "currencies": currencies,
        "fx_max_age_hours": 48,
        "prices": {"decimal": decimal, "detect": prices},
    });
    if translate {
        l10n["translation"] = serde_json::json!({ "shards": shards });
    }
    let config = serde_json::json!({
        "version": 1, "bundle": "pb",
        "site": {"default_locale": "en-GB", "currency": cur},
        "localization": l10n,
    });
    let mut shop = Shop::new(&config.to_string()).value(
        "b/pb/fx/rates",
        Kind::Fx,
        &serde_json::to_string(&fx()).unwrap(),
    );
    shop.preview = None;
    for (_, l, _) in VISITORS {
        let dict = serde_json::json!({"locale": l, "entries": {}, "money": formats[l]});
        shop = shop.value(&format!("b/pb/dict/{l}"), Kind::Dict, &dict.to_string());
    }
    for v in values {
        let id = value_id(&v.locale, v.shard);
        let value = if v.shard.is_some() {
            Value::TmShard(Rc::clone(v))
        } else {
            Value::Tm(Rc::clone(v))
        };
        shop.values.insert(format!("b/pb/tm/{id}"), value);
    }
    shop
}

fn visit(v: &Visit, page: &Page, chunk: usize) -> Visit {
    let mut v = v.clone();
    v.url = format!("https://shop.test{}", page.path);
    v.chunk = chunk;
    v
}

/// One pass: every page for every visitor; returns the bytes out.
#[inline(never)]
fn pass(b: &Bench, workload: &str) -> usize {
    if workload == "lolhtml" {
        return lolhtml::pass(b);
    }
    let shops = &b.shops[workload];
    let mut n = 0;
    for page in &b.pages {
        for v in &b.visits {
            let out = shops[page.shop]
                .serve(&visit(v, page, CHUNK), &page.html)
                .unwrap();
            n += out.body.len();
        }
    }
    n
}

fn hashes(b: &Bench) {
    let shops = &b.shops["full"];
    let mut all = std::hash::DefaultHasher::new();
    let (mut converted, mut missing, mut translated) = (0u64, 0, 0);
    for chunk in [CHUNK, 1021] {
        for page in &b.pages {
            for (v, (country, _, _)) in b.visits.iter().zip(VISITORS) {
                let out = shops[page.shop]
                    .serve(&visit(v, page, chunk), &page.html)
                    .unwrap();
                assert!(out.rewritten && out.bail_out().is_none(), "{}", page.name);
                let mut h = std::hash::DefaultHasher::new();
                h.write(&out.body);
                for l in &out.logs {
                    h.write(l.line.as_bytes());
                }
                let h = h.finish();
                all.write_u64(h);
                for l in &out.logs {
                    if let Some(v) = l
                        .line
                        .contains("\"event\":\"prices\"")
                        .then(|| serde_json::from_str::<serde_json::Value>(&l.line).ok())
                        .flatten()
                    {
                        converted += v["converted"].as_u64().unwrap_or(0);
                    }
                    missing += usize::from(l.line.contains("translation_missing"));
                }
                let brackets = |b: &[u8]| b.iter().filter(|c| **c == b']').count();
                translated += usize::from(brackets(&out.body) > brackets(&page.html.body));
                println!(
                    "{} {country} {chunk} {} {h:016x}",
                    &page.name[..16],
                    out.body.len()
                );
            }
        }
    }
    println!("all {:016x}", all.finish());
    eprintln!("prices converted {converted}, pages translated {translated}, translation_missing lines {missing}");
}

fn main() {
    if let Ok(mode) = std::env::var("PERBYTE") {
        let w = WORKLOADS
            .iter()
            .find(|w| **w == mode)
            .copied()
            .unwrap_or("full");
        let b = load(&[w]);
        if mode == "hash" {
            hashes(&b);
        } else {
            // `PERBYTE_ROUNDS=n`: the fastest of n passes, in ms.
            let rounds: usize = std::env::var("PERBYTE_ROUNDS")
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(1);
            let mut best = f64::MAX;
            let mut n = 0;
            for _ in 0..rounds {
                let t = std::time::Instant::now();
                n = pass(&b, &mode);
                best = best.min(t.elapsed().as_secs_f64() * 1e3);
            }
            eprintln!("{mode}: {n} bytes out; best of {rounds}: {best:.1} ms per pass");
        }
        return;
    }
    let b = load(&WORKLOADS);
    let bytes: usize = b.pages.iter().map(|p| p.html.body.len()).sum::<usize>() * VISITORS.len();
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .without_plots();
    let mut g = c.benchmark_group("perbyte");
    g.throughput(Throughput::Bytes(bytes as u64));
    for w in WORKLOADS {
        g.bench_function(w, |bch| bch.iter(|| std::hint::black_box(pass(&b, w))));
    }
    g.finish();
    c.final_summary();
}

/// lol_html alone: the selectors the `full` workload registers (a copy of
/// those in `src/rewrite`), each with an empty handler, and the same
/// document handlers (empty), fed in the same chunks.
mod lolhtml {
    use super::{Bench, CHUNK, VISITORS};
    use lol_html::html_content::{Element, TextChunk};
    use lol_html::{
        DocumentContentHandlers, ElementContentHandlers, HtmlRewriter, Selector, Settings,
    };
    use std::borrow::Cow;

    pub const SELECTORS: &[(&str, bool, bool)] = &[
        // (selector, element handler, text handler)
        // l10n
        ("html", true, false),
        ("head", true, false),
        // prices
        ("template, textarea, option, select, [data-borderless-ignore], [translate=no], [translate=\"no\"], .notranslate", false, true),
        ("button", false, true),
        ("sup", false, true),
        ("[class*=price], [class*=Price], [id*=price], [id*=Price]", false, true),
        ("[itemprop~=price][content]", true, true),
        ("[data-price]", true, true),
        ("[itemprop~=price]", false, true),
        ("meta[property=\"og:price:currency\"], meta[property=\"product:price:currency\"], [itemprop~=priceCurrency]", true, false),
        ("script[type=\"application/ld+json\"]", false, true),
        // block boundaries (a 37-name list before this branch)
        ("*", true, false),
        // tm
        ("*", true, false),
    ];

    #[inline(never)]
    pub fn pass(b: &Bench) -> usize {
        // `PERBYTE_SKIP=0,3`: leave these selectors out (what each costs).
        let skip: Vec<usize> = std::env::var("PERBYTE_SKIP")
            .unwrap_or_default()
            .split(',')
            .filter_map(|s| s.parse().ok())
            .collect();
        let no_doc = std::env::var("PERBYTE_NODOC").is_ok();
        let sels: Vec<(Selector, bool, bool)> = SELECTORS
            .iter()
            .enumerate()
            .filter(|(i, _)| !skip.contains(i))
            .map(|(_, s)| s)
            .map(|(s, e, t)| (s.parse().unwrap(), *e, *t))
            .collect();
        let mut n = 0;
        for page in &b.pages {
            for _ in VISITORS {
                let mut settings = Settings::new().with_strict(false);
                for (sel, e, t) in &sels {
                    let mut h = ElementContentHandlers::default();
                    if *e {
                        h = h.element(|_: &mut Element| Ok(()));
                    }
                    if *t {
                        h = h.text(|_: &mut TextChunk| Ok(()));
                    }
                    settings = settings.append_element_content_handler((Cow::Borrowed(sel), h));
                }
                if !no_doc {
                    settings = settings.append_document_content_handler(
                        DocumentContentHandlers::default()
                            .text(|_: &mut TextChunk| Ok(()))
                            .comments(|_: &mut lol_html::html_content::Comment| Ok(())),
                    );
                }
                let mut out = Vec::with_capacity(page.html.body.len() + 1024);
                let mut r = HtmlRewriter::new(settings, |c: &[u8]| out.extend_from_slice(c));
                for c in page.html.body.chunks(CHUNK) {
                    r.write(c).unwrap();
                }
                r.end().unwrap();
                n += out.len();
            }
        }
        n
    }
}
