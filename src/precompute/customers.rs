//! A known customer's lists. "Buy again": their own products scored by how
//! often they ordered them, how recently (a half-life) and whether the
//! product's usual re-order cycle has come round; products out of the
//! catalog, inactive, net-cancelled or fully returned are dropped. "For
//! you": the also-bought lists of their products (weighted by that score)
//! minus everything they have bought, topped up from their country's list.

use super::catalog::Catalog;
use super::history::{Cell, Collector, Customer};
use super::intern::Interner;
use super::rank::Ranking;
use crate::schema::{segment_key, CustomerValue, ANY, GLOBAL_COUNTRY};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;

const DAY_MS: f64 = 86_400_000.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Recency half-life of a product's last order, days (∞: none).
    pub half_life_days: f64,
    /// Orders count as `orders^freq_exp`.
    pub freq_exp: f64,
    /// Weight (0–1) of "its re-order cycle has come round".
    pub cycle_weight: f64,
    /// Exponent of the product's repeat rate (share of its buyers who
    /// ordered it again): staples over one-offs.
    pub repeat_exp: f64,
    /// Ids per list.
    pub top: usize,
    /// Best-scored own products whose also-bought lists feed "for you".
    pub sources: usize,
}

impl Default for Params {
    /// Chosen on the validation split (train ≤ 2011-08-31, test Sep–Oct
    /// 2011) by `borderless eval --tune-customers`.
    fn default() -> Self {
        Params {
            half_life_days: f64::INFINITY,
            freq_exp: 1.5,
            cycle_weight: 0.25,
            repeat_exp: 0.5,
            top: 10,
            sources: 20,
        }
    }
}

/// Typical days between two orders of a product by the same customer: the
/// geometric mean over customers who re-ordered it (at least 3), else over
/// all products; and the share of its buyers who re-ordered it.
#[derive(Debug, Clone, Default)]
pub struct Cycles {
    days: FxHashMap<u32, f64>,
    global: f64,
    /// Product → (buyers, buyers with 2+ orders).
    buyers: FxHashMap<u32, (u32, u32)>,
}

impl Cycles {
    pub fn of(history: &mut Collector) -> Result<Cycles, String> {
        let mut acc: FxHashMap<u32, (f64, u32)> = FxHashMap::default();
        let mut buyers: FxHashMap<u32, (u32, u32)> = FxHashMap::default();
        history.for_each(|cu| {
            for (p, c) in &cu.cells {
                let b = buyers.entry(*p).or_default();
                b.0 += 1;
                b.1 += u32::from(c.orders >= 2);
                if c.orders >= 2 && c.last_ms > c.first_ms {
                    let days = (c.last_ms - c.first_ms) as f64 / DAY_MS / f64::from(c.orders - 1);
                    let a = acc.entry(*p).or_default();
                    a.0 += days.max(1.0).ln();
                    a.1 += 1;
                }
            }
        })?;
        // Summed in name order: the same float result whatever the ids.
        let mut by_name: Vec<(&str, (f64, u32))> = acc
            .iter()
            .map(|(p, a)| (history.products.name(*p), *a))
            .collect();
        by_name.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let (sum, n) = by_name
            .iter()
            .fold((0.0, 0u32), |(s, n), (_, a)| (s + a.0, n + a.1));
        let global = if n > 0 {
            (sum / f64::from(n)).exp()
        } else {
            30.0
        };
        let days = acc
            .into_iter()
            .filter(|(_, a)| a.1 >= 3)
            .map(|(p, a)| (p, (a.0 / f64::from(a.1)).exp()))
            .collect();
        Ok(Cycles {
            days,
            global,
            buyers,
        })
    }

    /// Share of buyers who re-ordered `p` (smoothed: (r + 1) / (n + 2)).
    pub fn repeat_rate(&self, p: u32) -> f64 {
        let (n, r) = self.buyers.get(&p).copied().unwrap_or((0, 0));
        (f64::from(r) + 1.0) / (f64::from(n) + 2.0)
    }

    pub fn days(&self, p: u32) -> f64 {
        self.days.get(&p).copied().unwrap_or(self.global)
    }
}

/// What scoring needs besides the customer: the ranking (eligibility, the
/// country lists), also-bought lists and names of the aggregation, the
/// catalog, and the history's own product names.
pub struct Inputs<'a> {
    pub ranking: &'a Ranking,
    pub also: &'a FxHashMap<u32, Vec<(u32, f64)>>,
    pub names: &'a Interner,
    pub catalog: &'a Catalog,
    pub products: &'a Interner,
    pub cycles: &'a Cycles,
    pub as_of_ms: i64,
}

/// [`Inputs`] with what every customer looks up precomputed: the history's
/// product ids in the aggregation, eligibility per country, name order.
pub struct Model<'a> {
    i: Inputs<'a>,
    to_agg: Vec<Option<u32>>,
    /// Country (or `*`) → eligible, by aggregation id.
    ok: FxHashMap<String, Vec<bool>>,
    name_rank: Vec<u32>,
}

/// Score of one own product (see the module doc).
pub fn score(c: &Cell, cycle_days: f64, repeat: f64, as_of_ms: i64, p: &Params) -> f64 {
    let d = (as_of_ms - c.last_ms).max(0) as f64 / DAY_MS;
    let decay = if p.half_life_days.is_finite() && p.half_life_days > 0.0 {
        0.5f64.powf(d / p.half_life_days)
    } else {
        1.0
    };
    let x = ((d + 1.0) / (cycle_days + 1.0)).ln();
    let due = (-x * x / 2.0).exp();
    f64::from(c.orders).powf(p.freq_exp)
        * repeat.powf(p.repeat_exp)
        * decay
        * ((1.0 - p.cycle_weight) + p.cycle_weight * due)
}

/// The baseline: own products by orders, then units, no decay, no filter.
pub fn most_bought(cu: &Customer, products: &Interner) -> Vec<String> {
    let mut v: Vec<&(u32, Cell)> = cu.cells.iter().collect();
    v.sort_by(|a, b| {
        (b.1.orders, b.1.quantity)
            .cmp(&(a.1.orders, a.1.quantity))
            .then_with(|| products.name(a.0).cmp(products.name(b.0)))
    });
    v.iter().map(|x| products.name(x.0).to_string()).collect()
}

/// A customer's two lists, as ids of the aggregation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lists {
    pub buy_again: Vec<u32>,
    pub for_you: Vec<u32>,
}

impl<'a> Model<'a> {
    pub fn new(i: Inputs<'a>) -> Model<'a> {
        let to_agg = (0..i.products.names.len() as u32)
            .map(|p| i.names.get(i.products.name(p)))
            .collect();
        let n = i.names.names.len() as u32;
        let mut countries = i.ranking.countries();
        countries.push(ANY.to_string());
        let ok = countries
            .into_iter()
            .map(|c| {
                let v = (0..n).map(|p| i.ranking.eligible(&c, p)).collect();
                (c, v)
            })
            .collect();
        Model {
            name_rank: i.names.name_ranks(),
            to_agg,
            ok,
            i,
        }
    }

    /// The customer's country, as far as the ranking knows it (else `*`).
    fn country<'c>(&self, cu: &'c Customer) -> &'c str {
        cu.country
            .as_deref()
            .filter(|c| self.ok.contains_key(*c))
            .unwrap_or(ANY)
    }

    fn eligible(&self, country: &str, p: u32) -> bool {
        self.ok
            .get(country)
            .and_then(|v| v.get(p as usize))
            .copied()
            .unwrap_or(false)
    }

    /// The country's ranked list (the global one for unknown countries).
    fn country_list(&self, country: &str) -> &[(u32, f64)] {
        let own = segment_key(country, ANY, ANY, ANY, ANY);
        let global = segment_key(ANY, ANY, ANY, ANY, ANY);
        self.i
            .ranking
            .lists
            .get(&own)
            .or_else(|| self.i.ranking.lists.get(&global))
            .map_or(&[], Vec::as_slice)
    }

    pub fn lists(&self, cu: &Customer, p: &Params) -> Lists {
        let country = self.country(cu);
        let rank = |a: &(u32, f64, &Cell), b: &(u32, f64, &Cell)| {
            b.1.total_cmp(&a.1)
                .then_with(|| b.2.quantity.cmp(&a.2.quantity))
                .then_with(|| self.name_rank[a.0 as usize].cmp(&self.name_rank[b.0 as usize]))
        };
        // Own products known to the aggregation, scored.
        let mut own: Vec<(u32, f64, &Cell)> = cu
            .cells
            .iter()
            .filter_map(|(pid, c)| {
                let id = self.to_agg.get(*pid as usize).copied().flatten()?;
                let (cycle, rr) = (self.i.cycles.days(*pid), self.i.cycles.repeat_rate(*pid));
                Some((id, score(c, cycle, rr, self.i.as_of_ms, p), c))
            })
            .collect();
        own.sort_by(rank);
        let bought: FxHashSet<u32> = own.iter().map(|x| x.0).collect();
        let buy_again: Vec<u32> = own
            .iter()
            .filter(|(id, _, c)| c.returned < c.quantity && self.eligible(country, *id))
            .take(p.top)
            .map(|x| x.0)
            .collect();
        let top_score = own.first().map_or(1.0, |x| x.1).max(f64::MIN_POSITIVE);
        let mut acc: FxHashMap<u32, f64> = FxHashMap::default();
        for (src, s, _) in own.iter().take(p.sources) {
            for &(q, sim) in self.i.also.get(src).into_iter().flatten() {
                if !bought.contains(&q) {
                    *acc.entry(q).or_default() += s / top_score * sim;
                }
            }
        }
        let mut fy: Vec<(u32, f64)> = acc
            .into_iter()
            .filter(|(q, _)| self.eligible(country, *q))
            .collect();
        fy.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| self.name_rank[a.0 as usize].cmp(&self.name_rank[b.0 as usize]))
        });
        let mut for_you: Vec<u32> = fy.into_iter().take(p.top).map(|x| x.0).collect();
        for &(q, _) in self.country_list(country) {
            if for_you.len() >= p.top {
                break;
            }
            if !bought.contains(&q) && !for_you.contains(&q) && self.eligible(country, q) {
                for_you.push(q);
            }
        }
        Lists { buy_again, for_you }
    }

    /// The KV value; `None` when both lists are empty.
    pub fn value(&self, cu: &Customer, p: &Params) -> Option<CustomerValue> {
        let l = self.lists(cu, p);
        let mut cards = BTreeMap::new();
        let mut ids = |list: &[u32]| -> Vec<String> {
            list.iter()
                .filter_map(|&i| {
                    let prod = self.i.catalog.active(self.i.names.name(i))?;
                    cards.insert(prod.card.id.clone(), prod.card.clone());
                    Some(prod.card.id.clone())
                })
                .collect()
        };
        let (buy_again, for_you) = (ids(&l.buy_again), ids(&l.for_you));
        if buy_again.is_empty() && for_you.is_empty() {
            return None;
        }
        Some(CustomerValue {
            country: cu.country.clone().unwrap_or(GLOBAL_COUNTRY.into()),
            buy_again,
            for_you,
            cards,
        })
    }
}
