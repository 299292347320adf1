//! The `borderless` CLI's options for known customers, and the customer
//! part of `build` (kept here so the binary stays small).

use super::catalog::Catalog;
use super::customer_kv::{self, Stats};
use super::customers::{self, Cycles, Inputs, Model};
use super::history::Collector;
use super::intern::Interner;
use super::rank::Ranking;
use clap::Args;
use rustc_hash::FxHashMap;
use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Per-customer values ("buy again", "for you") beside the bundle.
#[derive(Args)]
pub struct CustomerOut {
    /// Write every known customer's value here (a bulk file of `cust/<HMAC>` keys).
    #[arg(long)]
    pub customers_out: Option<PathBuf>,
    /// File holding the KV key secret (default: $BORDERLESS_CUSTOMER_KEY).
    #[arg(long)]
    pub customer_key_file: Option<PathBuf>,
    /// With --counts: per-customer counts (`aggregate --customers-out`).
    #[arg(long)]
    pub customer_counts: Option<PathBuf>,
    /// Customer ids (one per line) to leave out: the erased ones.
    #[arg(long)]
    pub exclude_customers: Option<PathBuf>,
    /// KV drops a customer value this many days after the build.
    #[arg(long, default_value_t = 30)]
    pub customer_ttl_days: u64,
    /// (customer, product) cells kept in memory before spilling to disk.
    #[arg(long, default_value_t = 1_000_000)]
    pub customer_budget: usize,
    #[command(flatten)]
    pub tuning: CustomerTuning,
}

/// Per-customer lists ("buy again", "for you").
#[derive(Args, Clone)]
pub struct CustomerTuning {
    /// Half-life of a product's last order in "buy again", days (0: none;
    /// the defaults were chosen with --tune-customers on the validation split).
    #[arg(long, default_value_t = 0.0)]
    customer_half_life_days: f64,
    /// Orders count as orders^this.
    #[arg(long, default_value_t = 1.5)]
    customer_freq_exp: f64,
    /// Weight (0-1) of "the product's re-order cycle has come round".
    #[arg(long, default_value_t = 0.25)]
    customer_cycle_weight: f64,
    /// Exponent of the product's repeat rate (share of buyers who re-order it).
    #[arg(long, default_value_t = 0.5)]
    customer_repeat_exp: f64,
    /// Products per customer list.
    #[arg(long, default_value_t = 10)]
    customer_top: usize,
}

impl CustomerTuning {
    pub fn params(&self) -> customers::Params {
        let h = self.customer_half_life_days;
        customers::Params {
            half_life_days: if h > 0.0 { h } else { f64::INFINITY },
            freq_exp: self.customer_freq_exp,
            cycle_weight: self.customer_cycle_weight.clamp(0.0, 1.0),
            repeat_exp: self.customer_repeat_exp,
            top: self.customer_top.clamp(1, 50),
            ..customers::Params::default()
        }
    }
}

/// What the lists need from the rest of the build.
pub struct Base<'a> {
    pub ranking: &'a Ranking,
    pub also: &'a FxHashMap<u32, Vec<(u32, f64)>>,
    pub names: &'a Interner,
    pub catalog: &'a Catalog,
    pub as_of_ms: i64,
}

impl CustomerOut {
    /// Writes every customer's value to `--customers-out`; returns the
    /// summary line.
    pub fn write(
        &self,
        h: &mut Collector,
        key: &[u8],
        exclude: &HashSet<String>,
        base: Base,
    ) -> Result<String, String> {
        let Some(out) = &self.customers_out else {
            return Ok(String::new());
        };
        let cycles = Cycles::of(h)?;
        let products = h.products.clone();
        let model = Model::new(Inputs {
            ranking: base.ranking,
            also: base.also,
            names: base.names,
            catalog: base.catalog,
            products: &products,
            cycles: &cycles,
            as_of_ms: base.as_of_ms,
        });
        let ttl = self.customer_ttl_days.max(1) * 86_400;
        let p = self.tuning.params();
        let file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
        let mut w = BufWriter::new(file);
        let st: Stats = customer_kv::write(h, &model, &p, key, ttl, exclude, &mut w)?;
        w.flush().map_err(|e| format!("{}: {e}", out.display()))?;
        Ok(format!(
            "customers: {} with purchases, {} values ({} bytes, {:.0} per customer, largest {}), {} with nothing to show, {} ids no cookie can carry, {} excluded; {} spills",
            st.customers, st.values, st.bytes, st.bytes as f64 / st.values.max(1) as f64,
            st.largest, st.empty, st.bad_ids, st.excluded, h.spills
        ))
    }
}
