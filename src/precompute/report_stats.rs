//! The report's statistics (statrs for the distributions).

use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// Per-visitor sums of one group.
#[derive(Debug, Clone, Default)]
pub struct Acc {
    pub n: u64,
    pub converters: u64,
    pub orders: u64,
    /// Revenue as recorded.
    pub rev_sum: f64,
    /// Revenue capped per visitor (the statistics use these).
    cap_sum: f64,
    cap_sq: f64,
}

impl Acc {
    pub fn add(&mut self, orders: u64, revenue: f64, cap: f64) {
        let capped = revenue.min(cap);
        self.n += 1;
        self.converters += u64::from(orders > 0);
        self.orders += orders;
        self.rev_sum += revenue;
        self.cap_sum += capped;
        self.cap_sq += capped * capped;
    }
    pub fn rate(&self) -> f64 {
        self.converters as f64 / (self.n.max(1)) as f64
    }
    /// Variance of the per-visitor conversion indicator.
    pub fn rate_var(&self) -> f64 {
        let p = self.rate();
        p * (1.0 - p)
    }
    /// Revenue per visitor, capped.
    pub fn rpv(&self) -> f64 {
        self.cap_sum / (self.n.max(1)) as f64
    }
    /// Sample variance of the per-visitor revenue.
    pub fn rpv_var(&self) -> f64 {
        if self.n < 2 {
            return 0.0;
        }
        let n = self.n as f64;
        ((self.cap_sq - n * self.rpv() * self.rpv()) / (n - 1.0)).max(0.0)
    }
}

/// A relative lift (`t / c - 1`) with its interval and two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Effect {
    pub lift: f64,
    pub low: f64,
    pub high: f64,
    pub p_value: f64,
    pub significant: bool,
}

/// The lift of mean `mt` (per-visitor variance `vt`, `nt` visitors) over
/// `mc`: delta method on the log of the ratio; `None` when a mean is 0.
pub fn effect(
    mt: f64,
    vt: f64,
    nt: u64,
    mc: f64,
    vc: f64,
    nc: u64,
    confidence: f64,
) -> Option<Effect> {
    if !(mt > 0.0 && mc > 0.0 && nt > 1 && nc > 1) {
        return None;
    }
    let se = (vt / (nt as f64 * mt * mt) + vc / (nc as f64 * mc * mc)).sqrt();
    let log_ratio = (mt / mc).ln();
    let normal = Normal::standard();
    let z = normal.inverse_cdf(0.5 + confidence / 2.0);
    let p_value = if se > 0.0 {
        2.0 * (1.0 - normal.cdf((log_ratio / se).abs()))
    } else {
        f64::from(u8::from(log_ratio == 0.0))
    };
    Some(Effect {
        lift: mt / mc - 1.0,
        low: (log_ratio - z * se).exp() - 1.0,
        high: (log_ratio + z * se).exp() - 1.0,
        p_value,
        significant: p_value < 1.0 - confidence,
    })
}

/// The `q` quantile of the converters' revenue: one wholesale order must not
/// decide a revenue lift (its variance swamps the normal approximation).
pub fn revenue_cap(mut revenues: Vec<f64>, q: f64) -> f64 {
    if revenues.is_empty() || q >= 1.0 {
        return f64::INFINITY;
    }
    revenues.sort_by(f64::total_cmp);
    let i = ((q * revenues.len() as f64).ceil() as usize).clamp(1, revenues.len()) - 1;
    revenues[i]
}

/// Sample-ratio mismatch: observed visitors per group against the
/// configured shares, Pearson's chi-square.
#[derive(Debug, Clone, Serialize)]
pub struct Srm {
    pub chi2: f64,
    pub df: u32,
    pub p_value: f64,
    pub mismatch: bool,
    /// (group, observed, expected).
    pub groups: Vec<(String, u64, f64)>,
}

/// `cells`: (group, observed, expected share); `None` with fewer than two
/// groups or no visitors.
pub fn srm(cells: &[(String, u64, f64)], alpha: f64) -> Option<Srm> {
    let total: u64 = cells.iter().map(|c| c.1).sum();
    if cells.len() < 2 || total == 0 {
        return None;
    }
    let share_sum: f64 = cells.iter().map(|c| c.2).sum();
    let mut chi2 = 0.0;
    let mut groups = Vec::new();
    for (g, obs, share) in cells {
        let exp = total as f64 * share / share_sum;
        chi2 += if exp > 0.0 {
            (*obs as f64 - exp).powi(2) / exp
        } else if *obs > 0 {
            f64::INFINITY
        } else {
            0.0
        };
        groups.push((g.clone(), *obs, exp));
    }
    let df = (cells.len() - 1) as u32;
    let p_value = ChiSquared::new(f64::from(df)).map_or(f64::NAN, |d| 1.0 - d.cdf(chi2));
    Some(Srm {
        chi2,
        df,
        p_value,
        // A NaN p-value (infinite chi-square) is a mismatch too.
        mismatch: p_value.is_nan() || p_value < alpha,
        groups,
    })
}
