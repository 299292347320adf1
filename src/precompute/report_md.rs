//! The report as Markdown.

use super::report::{Lift, Report, Row};
use super::report_stats::Effect;
use std::fmt::Write;

fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

fn lift(e: Option<&Effect>) -> String {
    match e {
        None => "–".into(),
        Some(e) => format!(
            "{:+.1} % [{:+.1}, {:+.1}]{}",
            e.lift * 100.0,
            e.low * 100.0,
            e.high * 100.0,
            if e.significant { " *" } else { "" }
        ),
    }
}

fn rows_md(out: &mut String, rows: &[Row], first: Option<&str>) {
    let side = |l: &Option<Lift>| {
        let l = l.as_ref();
        (
            lift(l.and_then(|l| l.conversion.as_ref())),
            lift(l.and_then(|l| l.revenue_per_visitor.as_ref())),
        )
    };
    for r in rows {
        let (cc, rc) = side(&r.vs_control);
        let (ch, rh) = side(&r.vs_holdout);
        let lead = first.map(|f| format!("| {f} ")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{lead}| {} | {} | {} | {} | {:.2} | {cc} | {rc} | {ch} | {rh} |",
            r.group,
            r.visitors,
            r.converters,
            pct(r.conversion_rate),
            r.revenue_per_visitor
        );
    }
}

const HEAD: &str = "| group | visitors | converters | conversion | revenue/visitor | conversion vs control | revenue/visitor vs control | conversion vs holdout | revenue/visitor vs holdout |";
const RULE: &str = "|---|--:|--:|--:|--:|--:|--:|--:|--:|";

/// The report as Markdown; `currency` labels revenue.
pub fn markdown(r: &Report, currency: &str) -> String {
    let mut out = String::new();
    let conf = r.confidence * 100.0;
    let _ = writeln!(
        out,
        "# Experiment report\n\n{} visitors exposed, {} lines read ({} skipped), {} duplicate orders dropped, {} orders without a value, {} converters never exposed.\n\nLifts are relative, with {conf:.0} % intervals; `*` marks p < {:.2}. Revenue in {currency}; per visitor it is capped at {:.2} (the {} quantile of converters' revenue) for revenue/visitor and its lifts.",
        r.visitors, r.lines, r.skipped_lines, r.duplicate_orders, r.orders_without_value,
        r.converters_without_exposure, 1.0 - r.confidence, r.revenue_cap, r.revenue_cap_quantile
    );
    for e in &r.experiments {
        let control = e
            .control
            .as_deref()
            .map_or("none".into(), |c| format!("`{c}`"));
        let _ = writeln!(out, "\n## `{}` (control: {control})\n", e.name);
        match &e.srm {
            Some(s) => {
                let groups: Vec<String> = s
                    .groups
                    .iter()
                    .map(|(g, o, x)| format!("{g} {o} (expected {x:.0})"))
                    .collect();
                let _ = writeln!(
                    out,
                    "Sample ratio: χ² = {:.2}, df {}, p = {:.4}: {}. {}.\n",
                    s.chi2,
                    s.df,
                    s.p_value,
                    if s.mismatch {
                        "**MISMATCH: the split is broken, do not trust the lifts**"
                    } else {
                        "ok"
                    },
                    groups.join(", ")
                );
            }
            None => out.push_str("Sample ratio: not checked (one group).\n\n"),
        }
        let _ = writeln!(out, "{HEAD}\n{RULE}");
        rows_md(&mut out, &e.rows, None);
        if !e.countries.is_empty() {
            let _ = writeln!(
                out,
                "\n### Per country\n\n| country |{}\n|---{RULE}",
                &HEAD[1..]
            );
            for c in &e.countries {
                rows_md(&mut out, &c.rows, Some(&c.country));
            }
        }
    }
    out
}
