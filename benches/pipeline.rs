//! The native floor: the worker's per-request pipeline (context → decisions
//! → plan → streaming rewrite) built natively, on the pages and visitors that
//! `bench/run.mjs` sends through workerd. Bundle values come from memory, as
//! they do from the isolate cache in a warm worker.
//!
//! `bench/run.mjs` writes the pages and `BENCH_PAGES` points at its manifest;
//! each iteration serves every visitor once, so time per request is the
//! reported time divided by the number of visitors.

use borderless::charset::{self, Charset};
use borderless::config::{self, SiteConfig};
use borderless::context::{Context, Geo, Head};
use borderless::decision::Decisions;
use borderless::format;
use borderless::locale;
use borderless::localize::{self, PageUrl};
use borderless::personalize::{self, Visitor};
use borderless::plan::Plan;
use borderless::preview::Overrides;
use borderless::rewrite::Rewriter;
use borderless::schema::{self, CountryPack, Dictionary, FxRates};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Origin chunks arrive at about this size through workerd.
const CHUNK: usize = 16 << 10;

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

/// Bundle values by key, parsed once (the isolate cache of a warm worker).
struct Bundle {
    site: Rc<SiteConfig>,
    dicts: HashMap<String, Rc<Dictionary>>,
    fx: Option<Rc<FxRates>>,
    packs: HashMap<String, Rc<CountryPack>>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load_bundle(file: &Path) -> Bundle {
    #[derive(Deserialize)]
    struct Entry {
        key: String,
        value: String,
    }
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{}: {e} (run `make demo-bundle`)", file.display()));
    let entries: Vec<Entry> = serde_json::from_str(&text).expect("bulk file");
    let config = entries.iter().find(|e| e.key == schema::CONFIG_KEY);
    let site = Rc::new(config::parse(&config.expect("config key").value).expect("config"));
    let prefix = |kind: &str| schema::bundle_key(&site.doc.bundle, kind, "");
    let (dict_p, fx_p, pack_p) = (
        prefix(schema::KIND_DICT),
        prefix(schema::KIND_FX),
        prefix(schema::KIND_COUNTRY),
    );
    let (mut dicts, mut fx, mut packs) = (HashMap::new(), None, HashMap::new());
    for e in &entries {
        if let Some(l) = e.key.strip_prefix(&dict_p) {
            dicts.insert(
                l.to_string(),
                Rc::new(serde_json::from_str(&e.value).unwrap()),
            );
        } else if e.key.starts_with(&fx_p) {
            fx = Some(Rc::new(serde_json::from_str(&e.value).unwrap()));
        } else if let Some(c) = e.key.strip_prefix(&pack_p) {
            packs.insert(
                c.to_string(),
                Rc::new(serde_json::from_str(&e.value).unwrap()),
            );
        }
    }
    Bundle {
        site,
        dicts,
        fx,
        packs,
    }
}

/// One request through the pipeline, as the glue runs it; returns the bytes out.
fn serve(b: &Bundle, v: &VisitorEntry, cf: &str, page: &PageEntry, html: &[u8]) -> usize {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let h = |n: &str| v.headers.get(n).map(String::as_str);
    let head = Head {
        user_agent: h("user-agent"),
        ch_ua_mobile: h("sec-ch-ua-mobile"),
        accept_language: h("accept-language"),
        cookie: h("cookie"),
        path: &page.path,
    };
    // The glue asks the runtime's Intl (cached per zone); a fixed offset here.
    let ctx = Context::new(
        Geo::from_cf_json(Some(cf)),
        &head,
        now,
        &Overrides::default(),
        &|_, _| Some(60),
    );
    let site = &b.site;
    let mut d = Decisions::decide(site, &ctx, None);
    let visitor = match (&site.doc.personalization, &site.personal) {
        (Some(p), Some(c)) if !d.crawler => {
            Some(Visitor::read(p, c, &ctx, &page.path, None, now, || {
                Some("00112233445566778899aabbccddeeff".into())
            }))
        }
        _ => None,
    };
    let mut plan = Plan::new(Rc::clone(site), &ctx, &d);
    let _variant = plan.variant(&d);
    let dict = locale::fallbacks(&d.locale).find_map(|l| b.dicts.get(l).cloned());
    let fx = (d.currency != site.doc.site.currency)
        .then(|| b.fx.clone())
        .flatten();
    let pack = b
        .packs
        .get(&ctx.geo.country)
        .or_else(|| b.packs.get(schema::GLOBAL_COUNTRY))
        .cloned();
    let url = PageUrl {
        origin: "http://127.0.0.1",
        path: &page.path,
        query: "",
    };
    let fmt = format::formatter(dict.as_ref());
    let l10n = localize::build(site, &mut d, dict, fx.as_deref(), &url, now, fmt);
    let personal = visitor.and_then(|v| {
        personalize::build(
            site,
            &ctx,
            &mut d,
            v,
            pack.as_deref(),
            l10n.as_ref(),
            now,
            false,
        )
    });
    if let Some(l) = l10n {
        plan = plan.with_l10n(l);
    }
    let mut cookies = Vec::new();
    if let Some(mut p) = personal {
        cookies = std::mem::take(&mut p.cookies);
        plan = plan.with_personal(Rc::new(p));
    }
    let plan = Rc::new(plan);
    let declared = charset::from_content_type(&page.content_type);
    let head = &html[..html.len().min(charset::PRESCAN_BYTES)];
    let cs = charset::from_bom(head)
        .or(declared)
        .unwrap_or_else(|| charset::sniff(head));
    let mut rw = match cs {
        Charset::Stream(enc) => Rewriter::new(
            Rc::clone(&plan),
            enc,
            site.doc.limits.rewriter_memory,
            declared.is_none(),
        ),
        Charset::Unsupported => Rewriter::passthrough(),
    };
    let mut n = 0;
    for c in html.chunks(CHUNK) {
        n += rw.write(c).len();
    }
    n += rw.end().len();
    if let (Some(p), Some(c)) = (&plan.personal, &site.personal) {
        n += p.exposure(&c.slots).map_or(0, |l| l.len());
    }
    n + cookies.len()
}

fn pipeline(c: &mut Criterion) {
    let Ok(manifest) = std::env::var("BENCH_PAGES") else {
        eprintln!("BENCH_PAGES is not set: run `make bench` (bench/run.mjs writes the pages)");
        return;
    };
    let manifest = PathBuf::from(manifest);
    let dir = manifest.parent().unwrap().to_path_buf();
    let m: Manifest = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let bundle = load_bundle(&root().join("target/kv/bundle.json"));
    let vs: Visitors =
        serde_json::from_str(&std::fs::read_to_string(root().join("bench/visitors.json")).unwrap())
            .unwrap();
    let cfs: Vec<String> = vs.visitors.iter().map(|v| v.cf.to_string()).collect();
    let mut g = c.benchmark_group("pipeline");
    for page in &m.pages {
        let html = std::fs::read(dir.join(&page.file)).unwrap();
        g.throughput(Throughput::Bytes((html.len() * vs.visitors.len()) as u64));
        g.bench_function(&page.name, |bch| {
            bch.iter(|| {
                let mut n = 0;
                for (v, cf) in vs.visitors.iter().zip(&cfs) {
                    n += serve(&bundle, v, cf, page, &html);
                }
                std::hint::black_box(n)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
