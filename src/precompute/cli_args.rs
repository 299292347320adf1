//! The `borderless` CLI's `build`, `aggregate` and `eval` options and its
//! phase timer (kept here so the binary stays small).

use super::bundle::PackParams;
use super::customer_args::{CustomerOut, CustomerTuning};
use super::rank::Params;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

/// The UCI Online Retail log, where the repository's tools expect it.
pub const RETAIL_LOG: &str = "../shared/data/online-retail/online_retail.csv.gz";

/// Where the events come from (`-`: standard input, plain or gzip).
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct Source {
    /// The UCI Online Retail log (its product list is the catalog).
    #[arg(long)]
    pub retail: Option<PathBuf>,
    /// A generic event log (CSV or JSON Lines; needs --catalog).
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Pre-aggregated counts as `borderless aggregate` writes them (needs --catalog).
    #[arg(long)]
    pub counts: Option<PathBuf>,
}

#[derive(Args, Clone)]
pub struct Tuning {
    /// Half-life of the recency decay, days.
    #[arg(long, default_value_t = 90.0)]
    pub half_life_days: f64,
    /// Shrinkage pseudo-count k (decayed purchases).
    #[arg(long, default_value_t = 200.0)]
    pub shrink: f64,
    /// Purchases a segment finer than its country needs to be published.
    #[arg(long, default_value_t = 200)]
    pub min_support: u64,
    /// Products per segment list.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Products per country with an "also bought" list.
    #[arg(long, default_value_t = 200)]
    pub also_for: usize,
    /// Products of the global pack with an "also bought" list.
    #[arg(long, default_value_t = 500)]
    pub also_for_global: usize,
    /// Length of an "also bought" list.
    #[arg(long, default_value_t = 10)]
    pub also_len: usize,
    /// Baskets a pair needs to count as "also bought".
    #[arg(long, default_value_t = 3)]
    pub cooc_min: u32,
    /// Weeks of the trending window (compared with as many before).
    #[arg(long, default_value_t = 4)]
    pub trend_weeks: i64,
}

impl Tuning {
    pub fn params(&self, as_of_ms: i64) -> Params {
        Params {
            as_of_ms,
            half_life_days: self.half_life_days,
            shrink: self.shrink,
            min_support: self.min_support,
            top: self.top,
            trend_weeks: self.trend_weeks,
            ..Params::default()
        }
    }
    pub fn pack(&self) -> PackParams {
        PackParams {
            top: self.top,
            also_for: self.also_for,
            also_for_global: self.also_for_global,
            also_len: self.also_len,
        }
    }
}

#[derive(Args)]
pub struct Build {
    #[command(flatten)]
    pub source: Source,
    /// Catalog (CSV or JSON Lines) for --events / --counts.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// With --retail: only the N best sellers are active (the demo store shows 48).
    #[arg(long)]
    pub active_top: Option<usize>,
    /// Pair counts (`borderless aggregate --pairs-out`) for --counts.
    #[arg(long)]
    pub pairs: Option<PathBuf>,
    /// The site config template (its `bundle` is replaced).
    #[arg(long)]
    pub config: PathBuf,
    /// FX rates (FxRates JSON).
    #[arg(long)]
    pub fx: Option<PathBuf>,
    /// A dictionary (Dictionary JSON); repeatable.
    #[arg(long)]
    pub dict: Vec<PathBuf>,
    /// A directory of `<locale>.json` dictionaries.
    #[arg(long)]
    pub dicts: Option<PathBuf>,
    /// A directory of translated catalogs (XLIFF `.xlf`, PO `.po`): the translation memories.
    #[arg(long)]
    pub translations: Option<PathBuf>,
    /// A locale's memory over this size is sharded by page.
    #[arg(long, default_value_t = 512 << 10)]
    pub tm_shard_bytes: usize,
    /// Output file (default: stdout).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Version name (default: build time + content hash).
    #[arg(long)]
    pub bundle: Option<String>,
    /// "Now" for the recency decay (default: the last event).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Abort when more than this share of rows is bad.
    #[arg(long, default_value_t = 0.01)]
    pub max_bad: f64,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub tuning: Tuning,
    #[command(flatten)]
    pub customers: CustomerOut,
}

#[derive(Args)]
pub struct Aggregate {
    #[arg(long, conflicts_with = "events", required_unless_present = "events")]
    pub retail: Option<PathBuf>,
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Output CSV (default: stdout).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Also count co-purchase pairs and write them here.
    #[arg(long)]
    pub pairs_out: Option<PathBuf>,
    /// Also write the per-customer counts here (what `build --customer-counts` reads).
    #[arg(long)]
    pub customers_out: Option<PathBuf>,
    #[arg(long, default_value_t = 0.01)]
    pub max_bad: f64,
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct Eval {
    #[arg(long, default_value = RETAIL_LOG)]
    pub retail: PathBuf,
    /// Last day of training (inclusive, UTC).
    #[arg(long, default_value = "2011-10-31")]
    pub train_until: String,
    /// Last day of the test (inclusive, UTC).
    #[arg(long, default_value = "2011-12-31")]
    pub test_until: String,
    #[arg(long, short)]
    pub quiet: bool,
    /// Search the per-customer parameters on this split (use the
    /// validation split: --train-until 2011-08-31 --test-until 2011-10-31).
    #[arg(long)]
    pub tune_customers: bool,
    #[command(flatten)]
    pub tuning: Tuning,
    #[command(flatten)]
    pub customer: CustomerTuning,
}

/// Time spent per phase, for the summary line.
pub struct Laps {
    pub started: Instant,
    pub last: Instant,
    pub laps: Vec<(&'static str, f64)>,
}

impl Default for Laps {
    fn default() -> Laps {
        Laps::new()
    }
}

impl Laps {
    pub fn new() -> Laps {
        let now = Instant::now();
        Laps {
            started: now,
            last: now,
            laps: Vec::new(),
        }
    }
    pub fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.laps.push((name, (now - self.last).as_secs_f64()));
        self.last = now;
    }
    pub fn summary(&self) -> String {
        let laps: Vec<String> = self
            .laps
            .iter()
            .map(|(n, s)| format!("{n} {s:.2}"))
            .collect();
        format!(
            "{:.2} s ({})",
            self.started.elapsed().as_secs_f64(),
            laps.join(", ")
        )
    }
}
