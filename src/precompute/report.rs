//! `borderless report`: exposure and conversion lines (the worker's JSON log
//! lines, Logpush or `wrangler tail` files, or an Analytics Engine export as
//! JSON lines or CSV) → per experiment and arm: visitors, conversion rate,
//! revenue per visitor, relative lift against the control arm and the
//! holdout with confidence intervals, a sample-ratio mismatch check, and the
//! same per country.
//!
//! A visitor counts once, in the group of their first exposure (or
//! assignment line: the worker logs one where no block showed); orders are
//! deduplicated by order id within the visitor. Lifts are ratios of means
//! with delta-method intervals on the log scale (normal approximation: the
//! groups are large).

use super::report_stats::{effect, revenue_cap, srm, Acc, Effect, Srm};
use crate::base::conversion::EventLine;
use crate::schema::Personalization;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::path::Path;

/// Group name of the holdout in every experiment's table.
pub const HOLDOUT: &str = "holdout";
/// Experiment name when the shop runs none: personalization vs holdout.
pub const NO_EXPERIMENT: &str = "personalization";

#[derive(Debug, Clone)]
pub struct Options {
    /// Experiment → (arm, weight, is control), as configured.
    pub arms: BTreeMap<String, Vec<(String, f64, bool)>>,
    /// Configured holdout share.
    pub holdout: Option<f64>,
    pub confidence: f64,
    /// p-value under which the split is reported as a mismatch.
    pub srm_alpha: f64,
    /// Countries listed per experiment (by visitors).
    pub top_countries: usize,
    /// Per-visitor revenue is capped at this quantile of converters' revenue.
    pub revenue_cap_quantile: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            arms: BTreeMap::new(),
            holdout: None,
            confidence: 0.95,
            srm_alpha: 0.001,
            top_countries: 10,
            revenue_cap_quantile: 0.999,
        }
    }
}

impl Options {
    /// Arms, weights, controls and holdout from the site config.
    pub fn from_config(p: &Personalization) -> Options {
        let arms = p
            .experiments
            .iter()
            .map(|e| {
                let arms = e.arms.iter();
                let arms = arms.map(|a| (a.name.clone(), f64::from(a.weight), a.control));
                (e.name.clone(), arms.collect())
            })
            .collect();
        Options {
            arms,
            holdout: Some(p.holdout),
            ..Options::default()
        }
    }
}

#[derive(Debug, Default)]
struct Visitor {
    /// Index into `Tally::labels` of the first exposure; `None` = not exposed.
    label: Option<u32>,
    country: String,
    orders: HashSet<String>,
    revenue: f64,
}

/// Every visitor seen, with their group and orders.
#[derive(Debug, Default)]
pub struct Tally {
    visitors: HashMap<String, Visitor>,
    labels: Vec<(String, bool)>,
    label_ids: HashMap<(String, bool), u32>,
    pub lines: u64,
    pub skipped_lines: u64,
    pub duplicate_orders: u64,
    /// Orders without a value in the shop's currency (counted, no revenue).
    pub orders_without_value: u64,
}

impl Tally {
    pub fn add(&mut self, e: &EventLine) {
        self.lines += 1;
        if !crate::decide::experiment::valid_visitor_id(&e.visitor) {
            self.skipped_lines += 1;
            return;
        }
        let v = self.visitors.entry(e.visitor.clone()).or_default();
        match e.event.as_str() {
            "exposure" | "assignment" if v.label.is_none() => {
                let key = (e.arm.clone(), e.is_holdout());
                let next = self.labels.len() as u32;
                let id = *self.label_ids.entry(key.clone()).or_insert(next);
                if id == next {
                    self.labels.push(key);
                }
                v.label = Some(id);
                v.country = e.country().to_string();
            }
            "exposure" | "assignment" => {}
            "conversion" => {
                let order = e.order.clone().unwrap_or_default();
                if !v.orders.insert(order) {
                    self.duplicate_orders += 1;
                    return;
                }
                match e.value_site.filter(|x| x.is_finite() && *x >= 0.0) {
                    Some(x) => v.revenue += x,
                    None => self.orders_without_value += 1,
                }
            }
            _ => self.skipped_lines += 1,
        }
    }

    /// Reads a file of JSON lines (log lines may carry a prefix before the
    /// JSON, as `wrangler tail` prints them) or a CSV/TSV with a header row.
    pub fn read(&mut self, path: &Path) -> Result<(), String> {
        let input = super::input::open(path, "events", false).map_err(|e| e.to_string())?;
        let mut reader = input.reader;
        let name = path.to_string_lossy().to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".csv") || name.ends_with(".tsv") {
            let delim = if name.ends_with(".tsv") { b'\t' } else { b',' };
            return self.read_csv(reader, delim, path);
        }
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if n == 0 {
                return Ok(());
            }
            // A log line: the JSON object starts at the first `{`.
            let json = line.find('{').map(|i| &line[i..]);
            match json.and_then(|j| serde_json::from_str::<EventLine>(j.trim_end()).ok()) {
                Some(e) => self.add(&e),
                None if line.trim().is_empty() => {}
                None => {
                    self.lines += 1;
                    self.skipped_lines += 1;
                }
            }
        }
    }

    fn read_csv(&mut self, r: Box<dyn BufRead>, delim: u8, path: &Path) -> Result<(), String> {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delim)
            .flexible(true)
            .from_reader(r);
        let head = rdr
            .headers()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let col = |n: &str| head.iter().position(|h| h.trim() == n);
        let (event, visitor, arm) = match (col("event"), col("visitor"), col("arm")) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => {
                return Err(format!(
                    "{}: needs columns event, visitor, arm",
                    path.display()
                ))
            }
        };
        let (holdout, country, segment) = (col("holdout"), col("country"), col("segment"));
        let (order, value) = (col("order"), col("value_site"));
        for rec in rdr.records() {
            let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
            let s = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").trim();
            let e = EventLine {
                event: s(Some(event)).to_string(),
                visitor: s(Some(visitor)).to_string(),
                arm: s(Some(arm)).to_string(),
                holdout: matches!(s(holdout), "1" | "true"),
                country: s(country).to_string(),
                segment: s(segment).to_string(),
                order: Some(s(order).to_string()).filter(|o| !o.is_empty()),
                value_site: s(value).parse().ok(),
                ..EventLine::default()
            };
            self.add(&e);
        }
        Ok(())
    }

    /// The report over everything added.
    pub fn report(&self, opts: &Options) -> Report {
        // (experiment, group) → totals, overall and per country.
        let mut groups: BTreeMap<String, BTreeMap<String, Acc>> = BTreeMap::new();
        let mut by_country: BTreeMap<(String, String), BTreeMap<String, Acc>> = BTreeMap::new();
        let mut holdout = Acc::default();
        let mut holdout_country: BTreeMap<String, Acc> = BTreeMap::new();
        let mut unexposed = 0u64;
        let mut exposed = 0u64;
        let revenues = self
            .visitors
            .values()
            .filter(|v| v.label.is_some() && !v.orders.is_empty());
        let cap = revenue_cap(
            revenues.map(|v| v.revenue).collect(),
            opts.revenue_cap_quantile,
        );
        for v in self.visitors.values() {
            let Some(id) = v.label else {
                unexposed += u64::from(!v.orders.is_empty());
                continue;
            };
            exposed += 1;
            let (label, is_holdout) = &self.labels[id as usize];
            let (orders, rev) = (v.orders.len() as u64, v.revenue);
            if *is_holdout {
                holdout.add(orders, rev, cap);
                holdout_country
                    .entry(v.country.clone())
                    .or_default()
                    .add(orders, rev, cap);
                continue;
            }
            for (exp, arm) in memberships(label) {
                let g = groups.entry(exp.to_string()).or_default();
                g.entry(arm.to_string()).or_default().add(orders, rev, cap);
                let c = by_country
                    .entry((exp.to_string(), v.country.clone()))
                    .or_default();
                c.entry(arm.to_string()).or_default().add(orders, rev, cap);
            }
        }
        for exp in opts.arms.keys() {
            groups.entry(exp.clone()).or_default();
        }
        if groups.is_empty() && holdout.n > 0 {
            groups.insert(NO_EXPERIMENT.into(), BTreeMap::new());
        }
        let experiments = groups
            .into_iter()
            .map(|(name, arms)| {
                let configured = opts.arms.get(&name);
                let control = control_arm(configured, &arms);
                let rows = table(&arms, control.as_deref(), &holdout, opts.confidence);
                let srm = srm_check(&arms, &holdout, configured, opts);
                let mut countries: Vec<(String, u64)> = by_country
                    .iter()
                    .filter(|((e, _), _)| *e == name)
                    .map(|((_, c), arms)| (c.clone(), arms.values().map(|a| a.n).sum()))
                    .collect();
                countries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                let countries = countries
                    .into_iter()
                    .take(opts.top_countries)
                    .map(|(c, _)| {
                        let arms = &by_country[&(name.clone(), c.clone())];
                        let hold = holdout_country.get(&c).cloned().unwrap_or_default();
                        let rows = table(arms, control.as_deref(), &hold, opts.confidence);
                        CountryReport { country: c, rows }
                    })
                    .collect();
                ExperimentReport {
                    name,
                    control,
                    rows,
                    srm,
                    countries,
                }
            })
            .collect();
        Report {
            visitors: exposed,
            lines: self.lines,
            skipped_lines: self.skipped_lines,
            duplicate_orders: self.duplicate_orders,
            orders_without_value: self.orders_without_value,
            converters_without_exposure: unexposed,
            confidence: opts.confidence,
            revenue_cap: cap,
            revenue_cap_quantile: opts.revenue_cap_quantile,
            experiments,
        }
    }
}

/// `exp:arm,exp:arm` → (exp, arm) pairs; `default` → personalization.
fn memberships(label: &str) -> Vec<(&str, &str)> {
    if !label.contains(':') {
        return vec![(NO_EXPERIMENT, label)];
    }
    label.split(',').filter_map(|p| p.split_once(':')).collect()
}

/// The configured control arm, else one named `control`, else none.
fn control_arm(
    configured: Option<&Vec<(String, f64, bool)>>,
    arms: &BTreeMap<String, Acc>,
) -> Option<String> {
    let flagged = configured
        .and_then(|c| c.iter().find(|a| a.2))
        .map(|a| a.0.clone());
    flagged.or_else(|| arms.contains_key("control").then(|| "control".to_string()))
}

fn table(
    arms: &BTreeMap<String, Acc>,
    control: Option<&str>,
    holdout: &Acc,
    confidence: f64,
) -> Vec<Row> {
    let ctl = control.and_then(|c| arms.get(c));
    let mut rows: Vec<Row> = arms
        .iter()
        .map(|(name, a)| Row {
            vs_control: ctl
                .filter(|_| Some(name.as_str()) != control)
                .map(|c| Lift::of(a, c, confidence)),
            vs_holdout: (holdout.n > 0).then(|| Lift::of(a, holdout, confidence)),
            ..Row::of(name, a)
        })
        .collect();
    if holdout.n > 0 {
        rows.push(Row::of(HOLDOUT, holdout));
    }
    rows
}

fn srm_check(
    arms: &BTreeMap<String, Acc>,
    holdout: &Acc,
    configured: Option<&Vec<(String, f64, bool)>>,
    opts: &Options,
) -> Option<Srm> {
    // Expected shares: configured weights (equal without a config), the
    // holdout's configured share in front when it is known.
    let names: Vec<(String, f64)> = match configured {
        Some(c) => c.iter().map(|a| (a.0.clone(), a.1)).collect(),
        None => arms.keys().map(|k| (k.clone(), 1.0)).collect(),
    };
    let total: f64 = names.iter().map(|a| a.1).sum();
    let h = opts
        .holdout
        .filter(|h| *h > 0.0 && *h < 1.0 && holdout.n > 0);
    let mut cells: Vec<(String, u64, f64)> = names
        .iter()
        .map(|(n, w)| {
            let share = w / total * (1.0 - h.unwrap_or(0.0));
            (n.clone(), arms.get(n).map_or(0, |a| a.n), share)
        })
        .collect();
    if let Some(h) = h {
        cells.push((HOLDOUT.into(), holdout.n, h));
    }
    srm(&cells, opts.srm_alpha)
}

/// One group's figures and its lifts.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub group: String,
    pub visitors: u64,
    pub converters: u64,
    pub orders: u64,
    pub revenue: f64,
    pub conversion_rate: f64,
    pub revenue_per_visitor: f64,
    pub vs_control: Option<Lift>,
    pub vs_holdout: Option<Lift>,
}

impl Row {
    fn of(name: &str, a: &Acc) -> Row {
        Row {
            group: name.to_string(),
            visitors: a.n,
            converters: a.converters,
            orders: a.orders,
            revenue: a.rev_sum,
            conversion_rate: a.rate(),
            revenue_per_visitor: a.rpv(),
            vs_control: None,
            vs_holdout: None,
        }
    }
}

/// Relative lifts of a group against a reference group.
#[derive(Debug, Clone, Serialize)]
pub struct Lift {
    pub conversion: Option<Effect>,
    pub revenue_per_visitor: Option<Effect>,
}

impl Lift {
    fn of(t: &Acc, c: &Acc, confidence: f64) -> Lift {
        Lift {
            conversion: effect(
                t.rate(),
                t.rate_var(),
                t.n,
                c.rate(),
                c.rate_var(),
                c.n,
                confidence,
            ),
            revenue_per_visitor: effect(
                t.rpv(),
                t.rpv_var(),
                t.n,
                c.rpv(),
                c.rpv_var(),
                c.n,
                confidence,
            ),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CountryReport {
    pub country: String,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExperimentReport {
    pub name: String,
    pub control: Option<String>,
    pub rows: Vec<Row>,
    pub srm: Option<Srm>,
    pub countries: Vec<CountryReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub visitors: u64,
    pub lines: u64,
    pub skipped_lines: u64,
    pub duplicate_orders: u64,
    pub orders_without_value: u64,
    pub converters_without_exposure: u64,
    pub confidence: f64,
    /// Per-visitor revenue cap used for revenue/visitor (infinite: none).
    pub revenue_cap: f64,
    pub revenue_cap_quantile: f64,
    pub experiments: Vec<ExperimentReport>,
}

impl Report {
    pub fn experiment(&self, name: &str) -> Option<&ExperimentReport> {
        self.experiments.iter().find(|e| e.name == name)
    }
}

impl ExperimentReport {
    pub fn row(&self, group: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.group == group)
    }
}
