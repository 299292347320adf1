//! `borderless simulate`: an exposure and conversion log with a known effect,
//! for checking `borderless report`. Visitors are the Online Retail log's
//! customers replayed (their country, how often they buy, what their orders
//! are worth), split by the worker's own assignment (holdout, then arms),
//! and the treatment arm converts `lift` more.

use super::replay::Rng;
use super::retail;
use crate::base::conversion::EventLine;
use crate::decide::experiment;
use crate::schema::Personalization;
use std::collections::HashMap;
use std::path::Path;

/// Experiment name of the simulated log.
pub const EXPERIMENT: &str = "recs";

#[derive(Debug, Clone)]
pub struct Options {
    pub visitors: u64,
    pub seed: u64,
    /// Conversion probability of an average customer without treatment.
    pub base_rate: f64,
    /// Relative conversion lift of the treatment arm (0.05 = 5 % more).
    pub lift: f64,
    pub holdout: f64,
    /// Share of the treatment arm's visitors whose lines are lost (a planted
    /// sample-ratio mismatch).
    pub lose_treatment: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            visitors: 200_000,
            seed: 1,
            base_rate: 0.08,
            lift: 0.05,
            holdout: 0.1,
            lose_treatment: 0.0,
        }
    }
}

/// A customer of the log: where they are, how often they bought, what
/// their orders were worth (in the log's currency).
#[derive(Debug, Clone)]
pub struct Customer {
    pub country: String,
    pub orders: Vec<f64>,
}

/// The customers of the Online Retail log with at least one order of
/// positive value (cancellations and guests left out).
pub fn customers(path: &Path) -> Result<Vec<Customer>, String> {
    let (mut rdr, _) = retail::open_log(path, "customers", false)?;
    // customer → (country, invoice → total)
    let mut by: HashMap<String, (String, HashMap<String, f64>)> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while rdr
        .read_record(&mut rec)
        .map_err(|e| format!("{}: {e}", path.display()))?
    {
        let f = |i: usize| rec.get(i).unwrap_or("").trim();
        let (invoice, customer) = (f(0), f(6));
        if customer.is_empty() || invoice.starts_with('C') {
            continue;
        }
        let (Ok(qty), Ok(price)) = (f(3).parse::<f64>(), f(5).parse::<f64>()) else {
            continue;
        };
        let Some(Some(country)) = retail::iso_country(f(7)) else {
            continue;
        };
        let entry = by
            .entry(customer.to_string())
            .or_insert_with(|| (country.to_string(), HashMap::new()));
        *entry.1.entry(invoice.to_string()).or_default() += qty * price;
    }
    let mut out: Vec<(String, Customer)> = by
        .into_iter()
        .filter_map(|(id, (country, invoices))| {
            let mut orders: Vec<f64> = invoices.into_values().filter(|v| *v > 0.0).collect();
            orders.sort_by(f64::total_cmp);
            let orders: Vec<f64> = orders.iter().map(|v| (v * 100.0).round() / 100.0).collect();
            (!orders.is_empty()).then_some((id, Customer { country, orders }))
        })
        .collect();
    // Hash map order is random: sort for reproducible draws.
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out.into_iter().map(|(_, c)| c).collect())
}

/// The personalization config the simulated worker ran with.
pub fn personalization(opts: &Options) -> Personalization {
    let json = serde_json::json!({
        "slots": {"recommendations": {"block": "segment"}},
        "holdout": opts.holdout,
        "experiments": [{"name": EXPERIMENT, "arms": [
            {"name": "control", "weight": 1, "control": true},
            {"name": "treatment", "weight": 1}
        ]}]
    });
    serde_json::from_value(json).unwrap_or_else(|_| unreachable!("a fixed, valid config"))
}

/// Simulates `opts.visitors` visitors; `emit` gets every line in order.
pub fn simulate(customers: &[Customer], opts: &Options, mut emit: impl FnMut(&EventLine)) {
    if customers.is_empty() {
        return;
    }
    let p = personalization(opts);
    let mut rng = Rng(opts.seed);
    // Propensity: √(orders / mean orders), capped so that the treatment's
    // probability stays a probability; normalised to mean 1.
    let mean =
        customers.iter().map(|c| c.orders.len() as f64).sum::<f64>() / customers.len() as f64;
    let raw: Vec<f64> = customers
        .iter()
        .map(|c| (c.orders.len() as f64 / mean).sqrt().min(4.0))
        .collect();
    let norm = raw.iter().sum::<f64>() / raw.len() as f64;
    for _ in 0..opts.visitors {
        let i = rng.below(customers.len() as u64) as usize;
        let (c, propensity) = (&customers[i], raw[i] / norm);
        let id = format!("{:016x}{:016x}", rng.next(), rng.next());
        let a = experiment::assign(&p, Some(&id));
        let treated = a.label.ends_with(":treatment");
        if treated && rng.unit() <= opts.lose_treatment {
            continue;
        }
        // As the worker logs them: blocks shown, else the assignment.
        let event = if a.personalized {
            "exposure"
        } else {
            "assignment"
        };
        let mut line = EventLine {
            event: event.into(),
            visitor: id,
            holdout: a.label == "holdout",
            arm: a.label,
            segment: format!("{}:*:*:*:*", c.country),
            country: c.country.clone(),
            path: "/".into(),
            ..EventLine::default()
        };
        emit(&line);
        let rate = opts.base_rate * propensity * if treated { 1.0 + opts.lift } else { 1.0 };
        if rng.unit() <= rate.min(1.0) {
            let value = c.orders[rng.below(c.orders.len() as u64) as usize];
            line.event = "conversion".into();
            line.order = Some(format!("S{}", &line.visitor[..12]));
            line.value = Some(value);
            line.currency = Some("GBP".into());
            line.value_site = Some(value);
            line.source = Some("beacon".into());
            emit(&line);
        }
    }
}
