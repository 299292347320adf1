//! The native floor: the worker's per-request pipeline (context → decisions
//! → plan → streaming rewrite) built natively, on the pages and visitors that
//! `bench/run.mjs` sends through workerd. Bundle values come from memory, as
//! they do from the isolate cache in a warm worker.
//!
//! `bench/run.mjs` writes the pages and `BENCH_PAGES` points at its manifest;
//! each iteration serves every visitor once, so time per request is the
//! reported time divided by the number of visitors.

use borderless::page::sim::{OriginResponse, Shop, Visit};
use borderless::page::values::Kind;
use borderless::request::Geo;
use borderless::schema;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Origin chunks arrive at about this size through workerd.
const CHUNK: usize = 16 << 10;
/// A body the origin declares at most this long the entry reads whole, in
/// one call (`SMALL_BYTES` in worker/entry.mjs): a kept page may answer it.
const SMALL: usize = 16 << 10;

#[derive(Deserialize)]
struct Manifest {
    pages: Vec<PageEntry>,
}

#[derive(Deserialize)]
struct PageEntry {
    name: String,
    file: String,
    path: String,
    content_type: String,
    /// The page's KV bundle (the demo's, or its shop group's).
    bundle: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Visitors {
    visitors: Vec<VisitorEntry>,
}

#[derive(Deserialize)]
struct VisitorEntry {
    cf: serde_json::Value,
    headers: HashMap<String, String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A bundle as a shop: every value parsed once (the isolate cache of a warm
/// worker), translation memories and their shards included.
fn load_bundle(file: &Path) -> Shop {
    #[derive(Deserialize)]
    struct Entry {
        key: String,
        value: String,
    }
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{}: {e} (run `make demo-bundle`)", file.display()));
    let entries: Vec<Entry> = serde_json::from_str(&text).expect("bulk file");
    let config = entries.iter().find(|e| e.key == schema::CONFIG_KEY);
    let mut shop = Shop::new(&config.expect("config key").value);
    shop.preview = None;
    let bundle = match &shop.site {
        Ok(s) => s.doc.bundle.clone(),
        Err(e) => panic!("config: {e}"),
    };
    for e in &entries {
        let kind = |k: &str| e.key.starts_with(&schema::bundle_key(&bundle, k, ""));
        let kind = if kind(schema::KIND_DICT) {
            Kind::Dict
        } else if kind(schema::KIND_FX) {
            Kind::Fx
        } else if kind(schema::KIND_COUNTRY) {
            Kind::Pack
        } else if kind(borderless::rewrite::tm::memory::KIND_TM) {
            // `tm/<locale>` is the base, `tm/<locale>.<k>` a shard.
            if e.key.rsplit('/').next().is_some_and(|id| id.contains('.')) {
                Kind::TmShard
            } else {
                Kind::Tm
            }
        } else {
            continue;
        };
        shop = shop.value(&e.key, kind, &e.value);
    }
    shop
}

/// One request through the page pipeline, as the glue runs it; returns the
/// bytes out.
fn serve(
    shop: &Shop,
    v: &VisitorEntry,
    cf: &str,
    page: &PageEntry,
    html: &OriginResponse,
) -> usize {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut visit = Visit::get(&page.path, "XX");
    visit.url = format!("http://127.0.0.1{}", page.path);
    visit.cf = cf.to_string();
    visit.headers = v
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    visit.now_ms = now;
    visit.chunk = if html.body.len() <= SMALL { 0 } else { CHUNK };
    // The glue asks the runtime's Intl (cached per zone); a fixed offset here.
    visit.tz_offset = Some(60);
    visit.fresh_id = Some("00112233445566778899aabbccddeeff".into());
    let out = shop.serve(&visit, html).expect("served");
    out.body.len() + out.logs.len() + out.headers.len()
}

fn pipeline(c: &mut Criterion) {
    let Ok(manifest) = std::env::var("BENCH_PAGES") else {
        eprintln!("BENCH_PAGES is not set: run `make bench` (bench/run.mjs writes the pages)");
        return;
    };
    let manifest = PathBuf::from(manifest);
    let dir = manifest.parent().unwrap().to_path_buf();
    let m: Manifest = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let demo = root().join("target/kv/bundle.json");
    let mut shops: HashMap<PathBuf, Shop> = HashMap::new();
    let vs: Visitors =
        serde_json::from_str(&std::fs::read_to_string(root().join("bench/visitors.json")).unwrap())
            .unwrap();
    let cfs: Vec<String> = vs.visitors.iter().map(|v| Geo::cf_line(&v.cf)).collect();
    let mut g = c.benchmark_group("pipeline");
    // 10 samples of equal size (criterion's least): the median is what
    // `bench/run.mjs` reads, and the largest pages (~50 ms an iteration)
    // stay within a few seconds.
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    for page in &m.pages {
        let body = std::fs::read(dir.join(&page.file)).unwrap();
        let html = OriginResponse::html(&body, &page.content_type);
        let file = page.bundle.clone().unwrap_or_else(|| demo.clone());
        // Every page rewritten, as the worker `bench/run.mjs` measures
        // (`KEPT_PAGES=off`); the 1 KB page also answered from its kept
        // copy, as the shipped worker answers a repeat request.
        let mut runs = vec![(page.name.clone(), false)];
        if page.name == "tiny" {
            runs.push(("tiny-kept".to_string(), true));
        }
        for (name, keep) in runs {
            let bundle = shops
                .entry(file.clone())
                .or_insert_with(|| load_bundle(&file));
            bundle.keep = keep;
            let bundle = &*bundle;
            g.throughput(Throughput::Bytes((body.len() * vs.visitors.len()) as u64));
            g.bench_function(&name, |bch| {
                bch.iter(|| {
                    let mut n = 0;
                    for (v, cf) in vs.visitors.iter().zip(&cfs) {
                        n += serve(bundle, v, cf, page, &html);
                    }
                    std::hint::black_box(n)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
