//! Ranking: recency-decayed popularity per segment, net of cancellations,
//! restricted to the active catalog, shrunk toward the parent segment
//! (`(own score + k · parent share) / (own total + k)`), so a small segment
//! is mostly its parent and a large one mostly itself; trending products
//! from growth over the last window.

use super::agg::{week_of, Aggregates};
use super::catalog::Catalog;
use super::events::Kind;
use super::intern::Interner;
use super::segment::{self, rollup};
use crate::schema::ANY;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Clone)]
pub struct Params {
    /// "Now": events are decayed relative to it; later events are ignored.
    pub as_of_ms: i64,
    pub half_life_days: f64,
    /// Pseudo-count k of the shrinkage, in decayed events.
    pub shrink: f64,
    /// Purchases (undecayed) a segment below the country needs to be published.
    pub min_support: u64,
    /// Ids per published list.
    pub top: usize,
    /// Event weights: view, cart, purchase, cancel.
    pub weights: [f64; 4],
    pub trend_weeks: i64,
    /// Purchases in the last window a trending product needs.
    pub trend_min: f64,
    /// Products kept per segment while ranking (≥ `top`).
    pub candidates: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            as_of_ms: 0,
            half_life_days: 90.0,
            shrink: 200.0,
            min_support: 200,
            top: 20,
            weights: [0.05, 0.25, 1.0, -1.0],
            trend_weeks: 4,
            trend_min: 5.0,
            candidates: 400,
        }
    }
}

/// Scores of every segment, the segments worth publishing, trending.
#[derive(Debug, Default)]
pub struct Ranking {
    /// Segment key → products with blended scores, best first (`candidates` long).
    pub lists: HashMap<String, Vec<(u32, f64)>>,
    /// Segment key → purchases counted (undecayed).
    pub support: HashMap<String, u64>,
    /// Keys to publish: the global key, every country, and the finer
    /// segments with enough support whose top list differs from what the
    /// worker would fall back to.
    pub emitted: Vec<String>,
    /// Country (or `*`) → trending products, best first.
    pub trending: HashMap<String, Vec<u32>>,
    /// Net quantity per product, overall and per (country, product).
    net: FxHashMap<u32, i64>,
    net_country: FxHashMap<(u32, u32), i64>,
    /// Countries of `net_country` (and `*`).
    country_ids: Interner,
    active: FxHashSet<u32>,
}

impl Ranking {
    /// Whether `p` may be recommended in `country` (`*` = anywhere): active in
    /// the catalog and not net-cancelled overall or in that country.
    pub fn eligible(&self, country: &str, p: u32) -> bool {
        self.active.contains(&p)
            && self.net.get(&p).is_some_and(|n| *n > 0)
            && (country == ANY
                || self
                    .country_ids
                    .get(country)
                    .and_then(|c| self.net_country.get(&(c, p)))
                    .is_none_or(|n| *n > 0))
    }

    /// The published top list of a key.
    pub fn top(&self, key: &str, n: usize) -> Vec<u32> {
        self.lists
            .get(key)
            .map(|l| l.iter().take(n).map(|x| x.0).collect())
            .unwrap_or_default()
    }

    /// Countries with data (not `*`), sorted.
    pub fn countries(&self) -> Vec<String> {
        let mut c: Vec<String> = self
            .emitted
            .iter()
            .map(|k| segment::country(k).to_string())
            .filter(|c| c != ANY)
            .collect();
        c.sort();
        c.dedup();
        c
    }
}

pub fn rank(agg: &Aggregates, catalog: &Catalog, p: &Params) -> Ranking {
    let names = &agg.products;
    let name_rank = names.name_ranks();
    let as_of_week = week_of(p.as_of_ms);
    let decay = |week: i32| {
        let days = f64::from(as_of_week - week) * 7.0;
        0.5f64.powf(days / p.half_life_days)
    };
    let mut r = Ranking {
        active: (0..names.names.len() as u32)
            .filter(|&i| catalog.active(names.name(i)).is_some())
            .collect(),
        ..Ranking::default()
    };
    let weight = |k: Kind| p.weights[k as usize];
    // Trend windows: the last `trend_weeks` weeks up to now (the current week
    // only partly elapsed) against the same number of weeks before.
    let elapsed_days = ((p.as_of_ms.div_euclid(86_400_000) + 3).rem_euclid(7) + 1) as f64;
    let recent_days = (p.trend_weeks - 1) as f64 * 7.0 + elapsed_days;
    let prev_scale = recent_days / (p.trend_weeks as f64 * 7.0);
    // (country id, product) → net purchases.
    let mut recent: FxHashMap<(u32, u32), f64> = FxHashMap::default();
    let mut prev: FxHashMap<(u32, u32), f64> = FxHashMap::default();
    let any = r.country_ids.id(ANY);

    // Segment id → (its country id, the ids of the keys it rolls up to).
    let mut keys = Interner::default();
    let levels: Vec<(u32, Vec<u32>)> = agg
        .segments
        .names
        .iter()
        .map(|seg| {
            let country = r.country_ids.id(segment::country(seg));
            (country, rollup(seg).iter().map(|k| keys.id(k)).collect())
        })
        .collect();
    // Key id → product → score; `None` for keys no cell reached.
    let mut scores: Vec<Option<FxHashMap<u32, f64>>> = Vec::new();
    let mut support: Vec<Option<u64>> = Vec::new();
    // A fixed order (segment name, product name, week, kind), so float sums
    // (and so ties) are the same on every run.
    let seg_rank = agg.segments.name_ranks();
    let mut cells: Vec<_> = agg.cells.iter().collect();
    cells
        .sort_unstable_by_key(|(k, _)| (seg_rank[k.0 as usize], name_rank[k.1 as usize], k.2, k.3));
    for (&(seg, prod, week, kind), cell) in cells {
        if week > as_of_week {
            continue;
        }
        let (country, seg_keys) = &levels[seg as usize];
        let country = *country;
        let signed_qty = match kind {
            Kind::Purchase => cell.quantity as i64,
            Kind::Cancel => -(cell.quantity as i64),
            _ => 0,
        };
        if signed_qty != 0 {
            *r.net.entry(prod).or_default() += signed_qty;
            if country != any {
                *r.net_country.entry((country, prod)).or_default() += signed_qty;
            }
        }
        let net_count = match kind {
            Kind::Purchase => cell.count as f64,
            Kind::Cancel => -(cell.count as f64),
            _ => 0.0,
        };
        let age = as_of_week - week;
        if net_count != 0.0 && age < 2 * p.trend_weeks as i32 {
            let bucket = if age < p.trend_weeks as i32 {
                &mut recent
            } else {
                &mut prev
            };
            *bucket.entry((any, prod)).or_default() += net_count;
            if country != any {
                *bucket.entry((country, prod)).or_default() += net_count;
            }
        }
        let w = weight(kind) * cell.count as f64 * decay(week);
        for &k in seg_keys {
            let k = k as usize;
            if scores.len() <= k {
                scores.resize(k + 1, None);
                support.resize(k + 1, None);
            }
            *scores[k]
                .get_or_insert_with(FxHashMap::default)
                .entry(prod)
                .or_default() += w;
            if kind == Kind::Purchase {
                *support[k].get_or_insert(0) += cell.count;
            }
        }
    }
    for (k, n) in support.iter().enumerate() {
        if let Some(n) = n {
            r.support.insert(keys.name(k as u32).to_string(), *n);
        }
    }
    let scores: HashMap<&str, &FxHashMap<u32, f64>> = scores
        .iter()
        .enumerate()
        .filter_map(|(k, m)| Some((keys.name(k as u32), m.as_ref()?)))
        .collect();

    // Parents before children.
    let mut keys: Vec<&str> = scores.keys().copied().collect();
    keys.sort_by_key(|k| (segment::depth(k), *k));
    let by_score_then_name = |a: &(u32, f64), b: &(u32, f64)| {
        b.1.total_cmp(&a.1)
            .then_with(|| name_rank[a.0 as usize].cmp(&name_rank[b.0 as usize]))
    };
    for key in keys {
        let country = segment::country(key);
        let own: Vec<(u32, f64)> = scores[key]
            .iter()
            .filter(|(&pr, &s)| s > 0.0 && r.eligible(country, pr))
            .map(|(&pr, &s)| (pr, s))
            .collect();
        let mut own = own;
        own.sort_unstable_by_key(|x| name_rank[x.0 as usize]);
        let n: f64 = own.iter().map(|x| x.1).sum();
        let parent = segment::parent(key).and_then(|pk| r.lists.get(&pk));
        let mut blended: FxHashMap<u32, f64> = FxHashMap::default();
        match parent {
            Some(plist) => {
                for &(pr, share) in plist {
                    if r.eligible(country, pr) {
                        blended.insert(pr, p.shrink * share / (n + p.shrink));
                    }
                }
                for &(pr, s) in &own {
                    *blended.entry(pr).or_default() += s / (n + p.shrink);
                }
            }
            None => {
                for &(pr, s) in &own {
                    blended.insert(pr, s / n.max(f64::MIN_POSITIVE));
                }
            }
        }
        let mut list: Vec<(u32, f64)> = blended.into_iter().filter(|x| x.1 > 0.0).collect();
        list.sort_by(by_score_then_name);
        list.truncate(p.candidates.max(p.top));
        r.lists.insert(key.to_string(), list);
    }

    // Publish: global and countries always; finer segments when supported
    // and different from what the worker would otherwise fall back to.
    let mut order: Vec<&String> = r.lists.keys().collect();
    order.sort_by_key(|k| (segment::depth(k), k.as_str()));
    let mut emitted: HashSet<String> = HashSet::new();
    for key in order {
        let always =
            segment::depth(key) == 0 || (segment::depth(key) == 1 && segment::country(key) != ANY);
        let keep = always || {
            let supported = r.support.get(key).copied().unwrap_or(0) >= p.min_support;
            let mut anc = segment::parent(key);
            while let Some(a) = anc.as_ref().filter(|a| !emitted.contains(*a)) {
                anc = segment::parent(a);
            }
            supported && anc.is_some_and(|a| r.top(&a, p.top) != r.top(key, p.top))
        };
        if keep {
            emitted.insert(key.clone());
        }
    }
    r.emitted = emitted.into_iter().collect();
    r.emitted.sort();

    // Trending: growth of the last window over the previous one, as a
    // Poisson z-score; a country's list is topped up with the global one.
    let mut trend: BTreeMap<String, Vec<(u32, f64)>> = BTreeMap::new();
    for (&(country_id, prod), &rc) in &recent {
        let country = r.country_ids.name(country_id);
        if rc < p.trend_min || !r.eligible(country, prod) {
            continue;
        }
        let q = prev.get(&(country_id, prod)).copied().unwrap_or(0.0) * prev_scale;
        if rc > q {
            let z = (rc - q) / (rc + q).sqrt();
            trend
                .entry(country.to_string())
                .or_default()
                .push((prod, z));
        }
    }
    for v in trend.values_mut() {
        v.sort_by(by_score_then_name);
    }
    let global: Vec<u32> = trend
        .get(ANY)
        .map(|v| v.iter().map(|x| x.0).collect())
        .unwrap_or_default();
    let mut countries = r.countries();
    countries.push(ANY.to_string());
    for c in countries {
        let mut list: Vec<u32> = trend
            .get(&c)
            .map(|v| v.iter().map(|x| x.0).collect())
            .unwrap_or_default();
        list.truncate(p.top);
        for &g in &global {
            if list.len() >= p.top {
                break;
            }
            if !list.contains(&g) && r.eligible(&c, g) {
                list.push(g);
            }
        }
        r.trending.insert(c, list);
    }
    r
}
