//! Offline evaluation on the Online Retail log: train on everything before
//! a cut-off, then for every later basket of a known customer ask each
//! method for 10 products and score HR@10 and NDCG@10 against what the
//! basket contained.

use super::agg::{Aggregates, Pipeline};
use super::bundle::{self, PackParams};
use super::catalog::Catalog;
use super::customers::{self, Cycles, Inputs, Model};
use super::events::{Kind, RowReport};
use super::history::{Collector, Customer};
use super::rank::{self, Params, Ranking};
use super::retail;
use super::segment;
use super::zones::ZoneCache;
use crate::schema::{segment_chain, CountryPack, GLOBAL_COUNTRY};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::path::PathBuf;

pub const K: usize = 10;

#[derive(Debug, Clone)]
pub struct Options {
    pub log: PathBuf,
    /// Train on events before this instant.
    pub cutoff_ms: i64,
    /// Test on purchases from the cut-off up to this instant.
    pub end_ms: i64,
    pub rank: Params,
    pub pack: PackParams,
    pub cooc_min_support: u32,
    pub customers: customers::Params,
    pub progress: bool,
}

pub const METHODS: [&str; N] = [
    "global popularity",
    "country popularity",
    "segment + fallback",
    "segment, no shrinkage",
    "item-to-item (prev. basket)",
    "repeat purchase (baseline)",
    "buy again",
    "for you",
    "buy again + for you",
];
const N: usize = 9;
/// Index of the repeat-purchase baseline and the first per-customer method.
pub const BASELINE: usize = 5;

/// Sums of HR and NDCG per method over `n` baskets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    pub n: usize,
    pub hr: [f64; N],
    pub ndcg: [f64; N],
}

impl Group {
    fn add(&mut self, scores: &[(f64, f64); N]) {
        self.n += 1;
        for (m, (h, g)) in scores.iter().enumerate() {
            self.hr[m] += h;
            self.ndcg[m] += g;
        }
    }
    pub fn hr(&self, m: usize) -> f64 {
        self.hr[m] / self.n.max(1) as f64
    }
    pub fn ndcg(&self, m: usize) -> f64 {
        self.ndcg[m] / self.n.max(1) as f64
    }
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub rows: RowReport,
    pub train_events: u64,
    pub test_baskets: usize,
    /// Test baskets whose customer had an earlier basket.
    pub with_prev: usize,
    pub all: Group,
    pub non_uk: Group,
    /// Top countries by test baskets.
    pub countries: Vec<(String, Group)>,
}

struct Basket {
    visitor: String,
    country: Option<String>,
    key: String,
    items: Vec<String>,
    prev: Vec<String>,
}

/// HR and NDCG of one ranked list against a set of relevant ids.
pub fn score(recs: &[String], relevant: &HashSet<&str>) -> (f64, f64) {
    let dcg: f64 = recs
        .iter()
        .take(K)
        .enumerate()
        .filter(|(_, r)| relevant.contains(r.as_str()))
        .map(|(i, _)| 1.0 / (i as f64 + 2.0).log2())
        .sum();
    let idcg: f64 = (0..relevant.len().min(K))
        .map(|i| 1.0 / (i as f64 + 2.0).log2())
        .sum();
    let hit = if dcg > 0.0 { 1.0 } else { 0.0 };
    (hit, if idcg > 0.0 { dcg / idcg } else { 0.0 })
}

/// Everything trained, and the test baskets.
pub struct Prepared {
    rows: RowReport,
    train_events: u64,
    test: BTreeMap<String, Basket>,
    agg: Aggregates,
    catalog: Catalog,
    ranking: Ranking,
    also: rustc_hash::FxHashMap<u32, Vec<(u32, f64)>>,
    packs: BTreeMap<String, CountryPack>,
    raw_packs: BTreeMap<String, CountryPack>,
    history: Collector,
    customers: HashMap<String, Customer>,
    cycles: Cycles,
    cutoff_ms: i64,
}

pub fn run(opts: &Options) -> Result<Report, String> {
    Ok(prepare(opts)?.report(&opts.customers))
}

/// Reads the log once and trains every method.
pub fn prepare(opts: &Options) -> Result<Prepared, String> {
    let mut pipe = Pipeline::default();
    let mut history = Collector::new(usize::MAX);
    let mut hist_err: Option<String> = None;
    let mut zones = ZoneCache::default();
    // Per customer: the current order and the items of the one before.
    let mut cur: HashMap<String, (String, Vec<String>)> = HashMap::new();
    let mut prev: HashMap<String, Vec<String>> = HashMap::new();
    let mut test: BTreeMap<String, Basket> = BTreeMap::new();
    let mut train_events = 0u64;
    let ropts = retail::Options {
        locale: "en-GB".into(),
        catalog_until_ms: Some(opts.cutoff_ms - 1),
        progress: opts.progress,
        active_top: None,
    };
    let (rows, catalog) = retail::read(&opts.log, &ropts, |ev| {
        if ev.ts_ms < opts.cutoff_ms {
            train_events += 1;
            pipe.feed(ev);
            if let Err(e) = history.add(ev) {
                hist_err.get_or_insert(e);
            }
        }
        if ev.kind != Kind::Purchase || ev.visitor.is_empty() || ev.ts_ms >= opts.end_ms {
            return;
        }
        let order = ev.order.clone().unwrap_or_default();
        let c = cur
            .entry(ev.visitor.clone())
            .or_insert_with(|| (order.clone(), Vec::new()));
        if c.0 != order {
            let done = std::mem::take(&mut c.1);
            prev.insert(ev.visitor.clone(), done);
            c.0 = order.clone();
        }
        if !c.1.contains(&ev.product) {
            c.1.push(ev.product.clone());
        }
        if ev.ts_ms >= opts.cutoff_ms {
            let b = test.entry(order).or_insert_with(|| Basket {
                visitor: ev.visitor.clone(),
                country: ev.country.clone(),
                key: segment::full_key(ev, &mut zones),
                items: Vec::new(),
                prev: prev.get(&ev.visitor).cloned().unwrap_or_default(),
            });
            if !b.items.contains(&ev.product) {
                b.items.push(ev.product.clone());
            }
        }
    })?;
    if let Some(e) = hist_err {
        return Err(e);
    }
    let (agg, cooc) = pipe.finish();
    let mut params = opts.rank.clone();
    params.as_of_ms = opts.cutoff_ms;
    let ranking = rank::rank(&agg, &catalog, &params);
    let also = cooc.lists(&agg.products, opts.cooc_min_support, 50);
    let packs = bundle::packs(&ranking, &also, &agg.products, &catalog, &opts.pack);
    let raw_ranking = rank::rank(
        &agg,
        &catalog,
        &Params {
            shrink: 0.0,
            ..params.clone()
        },
    );
    let raw_packs = bundle::packs(
        &raw_ranking,
        &Default::default(),
        &agg.products,
        &catalog,
        &opts.pack,
    );

    let cycles = Cycles::of(&mut history)?;
    let mut customers = HashMap::new();
    history.for_each(|cu| {
        customers.insert(cu.id.clone(), cu.clone());
    })?;
    Ok(Prepared {
        rows,
        train_events,
        test,
        agg,
        catalog,
        ranking,
        also,
        packs,
        raw_packs,
        history,
        customers,
        cycles,
        cutoff_ms: opts.cutoff_ms,
    })
}

impl Prepared {
    /// Scores every method on the test baskets.
    pub fn report(&self, cparams: &customers::Params) -> Report {
        let (agg, ranking, also, packs, raw_packs) = (
            &self.agg,
            &self.ranking,
            &self.also,
            &self.packs,
            &self.raw_packs,
        );
        let test = &self.test;
        let model = Model::new(Inputs {
            ranking,
            also,
            names: &agg.products,
            catalog: &self.catalog,
            products: &self.history.products,
            cycles: &self.cycles,
            as_of_ms: self.cutoff_ms,
        });
        let pick = |packs: &BTreeMap<String, CountryPack>, b: &Basket, full: bool| -> Vec<String> {
            let cc = b.country.as_deref().unwrap_or(GLOBAL_COUNTRY);
            let pack = packs.get(cc).or_else(|| packs.get(GLOBAL_COUNTRY));
            let Some(pack) = pack else { return Vec::new() };
            let p: Vec<&str> = b.key.split(':').collect();
            let chain = segment_chain(p[0], p[1], p[2], p[3], p[4]);
            let keys: Vec<&String> = if full {
                chain.iter().collect()
            } else {
                chain[4..].iter().collect()
            };
            keys.iter()
                .find_map(|k| pack.segments.get(k.as_str()))
                .map(|l| l.iter().take(K).cloned().collect())
                .unwrap_or_default()
        };
        let global: Vec<String> = ranking
            .top("*:*:*:*:*", K)
            .into_iter()
            .map(|i| agg.products.name(i).to_string())
            .collect();

        let mut report = Report {
            rows: self.rows.clone(),
            train_events: self.train_events,
            test_baskets: test.len(),
            ..Report::default()
        };
        let mut by_country: HashMap<String, Group> = HashMap::new();
        for b in test.values() {
            let relevant: HashSet<&str> = b.items.iter().map(String::as_str).collect();
            let seg = pick(packs, b, true);
            let country_pop = pick(packs, b, false);
            let raw = pick(raw_packs, b, true);
            // Item-to-item: sum of the previous basket's "also bought" scores,
            // topped up with the segment list.
            let cc = b.country.as_deref().unwrap_or("*");
            let mut acc: HashMap<u32, f64> = HashMap::new();
            for item in &b.prev {
                let Some(id) = agg.products.get(item) else {
                    continue;
                };
                for &(o, s) in also.get(&id).into_iter().flatten() {
                    if ranking.eligible(cc, o) {
                        *acc.entry(o).or_default() += s;
                    }
                }
            }
            let mut i2i: Vec<(u32, f64)> = acc.into_iter().collect();
            i2i.sort_by(|x, y| {
                y.1.total_cmp(&x.1)
                    .then_with(|| agg.products.name(x.0).cmp(agg.products.name(y.0)))
            });
            let mut i2i: Vec<String> = i2i
                .into_iter()
                .take(K)
                .map(|(i, _)| agg.products.name(i).to_string())
                .collect();
            for s in &seg {
                if i2i.len() >= K {
                    break;
                }
                if !i2i.contains(s) {
                    i2i.push(s.clone());
                }
            }
            if !b.prev.is_empty() {
                report.with_prev += 1;
            }
            let (repeat, again, for_you, both) = self.customer_lists(&model, cparams, b, &global);
            let scores = [
                &global,
                &country_pop,
                &seg,
                &raw,
                &i2i,
                &repeat,
                &again,
                &for_you,
                &both,
            ]
            .map(|r| score(r, &relevant));
            report.all.add(&scores);
            if let Some(c) = &b.country {
                if c != "GB" {
                    report.non_uk.add(&scores);
                }
                by_country.entry(c.clone()).or_default().add(&scores);
            }
        }
        let mut countries: Vec<(String, Group)> = by_country.into_iter().collect();
        countries.sort_by(|a, b| b.1.n.cmp(&a.1.n).then_with(|| a.0.cmp(&b.0)));
        countries.truncate(10);
        report.countries = countries;
        report
    }

    /// Baseline, buy again, for you, both — each topped up to [`K`]
    /// (the first two with global popularity, as the baseline is defined).
    fn customer_lists(
        &self,
        model: &Model,
        p: &customers::Params,
        b: &Basket,
        global: &[String],
    ) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
        let name = |i: &u32| self.agg.products.name(*i).to_string();
        let empty = Customer {
            id: b.visitor.clone(),
            country: b.country.clone(),
            cells: Vec::new(),
        };
        let cu = self.customers.get(&b.visitor).unwrap_or(&empty);
        let repeat = customers::most_bought(cu, &self.history.products);
        let l = model.lists(cu, p);
        let again: Vec<String> = l.buy_again.iter().map(name).collect();
        let for_you: Vec<String> = l.for_you.iter().map(name).collect();
        let fill = |mut v: Vec<String>, more: &[String]| {
            v.truncate(K);
            for m in more {
                if v.len() >= K {
                    break;
                }
                if !v.contains(m) {
                    v.push(m.clone());
                }
            }
            v
        };
        let both = fill(again.clone(), &for_you);
        (
            fill(repeat, global),
            fill(again, global),
            fill(for_you, &[]),
            both,
        )
    }
}

/// The grid `eval --tune-customers` searches (run it on the validation split).
pub fn tune(prep: &Prepared, base: &customers::Params) -> Vec<(customers::Params, Group)> {
    let mut out = Vec::new();
    for half_life_days in [60.0, 240.0, f64::INFINITY] {
        for freq_exp in [1.0, 1.5] {
            for cycle_weight in [0.0, 0.25, 0.5] {
                for repeat_exp in [0.0, 0.5, 1.0] {
                    let p = customers::Params {
                        half_life_days,
                        freq_exp,
                        cycle_weight,
                        repeat_exp,
                        ..base.clone()
                    };
                    let r = prep.report(&p);
                    out.push((p, r.all));
                }
            }
        }
    }
    let m = BASELINE + 1;
    out.sort_by(|a, b| (b.1.ndcg(m) + b.1.hr(m)).total_cmp(&(a.1.ndcg(m) + a.1.hr(m))));
    out
}

/// The report as Markdown tables.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} train events, {} test baskets of known customers ({} with a previous basket)\n",
        r.train_events, r.test_baskets, r.with_prev
    );
    let _ = writeln!(
        s,
        "| method | HR@10 all ({}) | NDCG@10 all | HR@10 non-UK ({}) | NDCG@10 non-UK |",
        r.all.n, r.non_uk.n
    );
    let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: |");
    for (m, name) in METHODS.iter().enumerate() {
        let _ = writeln!(
            s,
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} |",
            r.all.hr(m),
            r.all.ndcg(m),
            r.non_uk.hr(m),
            r.non_uk.ndcg(m)
        );
    }
    let _ = writeln!(
        s,
        "\nHR@10 / NDCG@10 per country (top 10 by test baskets):\n"
    );
    let _ = write!(s, "| country | baskets |");
    for name in METHODS {
        let _ = write!(s, " {name} |");
    }
    let _ = writeln!(s, "\n| --- | ---: |{}", " ---: |".repeat(METHODS.len()));
    for (c, g) in &r.countries {
        let _ = write!(s, "| {c} | {} |", g.n);
        for m in 0..METHODS.len() {
            let _ = write!(s, " {:.3} / {:.3} |", g.hr(m), g.ndcg(m));
        }
        let _ = writeln!(s);
    }
    s
}
