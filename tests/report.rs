//! `borderless report` on simulated logs with a known effect (the Online
//! Retail customers replayed, fixed seeds): the lift is recovered within its
//! interval, a planted sample-ratio mismatch is flagged, an A/A run finds
//! nothing. And the readers: log lines with prefixes, CSV exports, dedup.

use borderless::base::conversion::EventLine;
use borderless::precompute::report::{Options, Report, Tally, HOLDOUT};
use borderless::precompute::report_md::markdown;
use borderless::precompute::simulate::{self, Customer, EXPERIMENT};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const RETAIL: &str = "../shared/data/online-retail/online_retail.csv.gz";

fn customers() -> &'static [Customer] {
    static C: OnceLock<Vec<Customer>> = OnceLock::new();
    C.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(RETAIL);
        simulate::customers(&path).expect("the Online Retail log beside the repo")
    })
}

fn run(opts: &simulate::Options) -> Report {
    let mut tally = Tally::default();
    simulate::simulate(customers(), opts, |e| tally.add(e));
    tally.report(&Options::from_config(&simulate::personalization(opts)))
}

#[test]
fn customers_are_the_logs() {
    let c = customers();
    // 4,372 customer ids in the log; those with a paid order.
    assert!((4300..=4372).contains(&c.len()), "{}", c.len());
    assert!(c.iter().filter(|c| c.country == "GB").count() > 3900);
    assert!(c
        .iter()
        .all(|c| !c.orders.is_empty() && c.orders.iter().all(|v| *v > 0.0)));
}

#[test]
fn five_percent_lift_is_recovered() {
    let opts = simulate::Options {
        seed: 1,
        ..simulate::Options::default()
    };
    let r = run(&opts);
    assert_eq!(r.visitors, 200_000);
    let e = r.experiment(EXPERIMENT).unwrap();
    assert_eq!(e.control.as_deref(), Some("control"));
    let srm = e.srm.as_ref().unwrap();
    assert!(!srm.mismatch, "{srm:?}");
    let hold = e.row(HOLDOUT).unwrap();
    assert!((hold.visitors as f64 / 200_000.0 - 0.1).abs() < 0.005);
    let t = e.row("treatment").unwrap();
    for lift in [&t.vs_control, &t.vs_holdout] {
        let c = lift.as_ref().unwrap().conversion.unwrap();
        assert!(c.low < 0.05 && 0.05 < c.high, "{c:?}");
        assert!(c.lift > 0.0, "{c:?}");
    }
    // Order values are the customers' own, alike in both arms: no revenue
    // effect beyond the conversion one is needed to contain it.
    let rpv = t.vs_control.as_ref().unwrap().revenue_per_visitor.unwrap();
    assert!(rpv.low < 0.05 && 0.05 < rpv.high, "{rpv:?}");
    assert!(!e.countries.is_empty() && e.countries[0].country == "GB");
    let md = markdown(&r, "GBP");
    assert!(
        md.contains("| treatment | ") && md.contains("### Per country"),
        "{md}"
    );
}

#[test]
fn planted_sample_ratio_mismatch_is_flagged() {
    let opts = simulate::Options {
        visitors: 100_000,
        seed: 2,
        lose_treatment: 0.03,
        ..simulate::Options::default()
    };
    let r = run(&opts);
    let srm = r.experiment(EXPERIMENT).unwrap().srm.clone().unwrap();
    assert!(srm.mismatch && srm.p_value < 1e-6, "{srm:?}");
    assert!(markdown(&r, "GBP").contains("MISMATCH"));
}

#[test]
fn a_a_run_finds_no_effect() {
    let opts = simulate::Options {
        visitors: 100_000,
        seed: 3,
        lift: 0.0,
        ..simulate::Options::default()
    };
    let r = run(&opts);
    let e = r.experiment(EXPERIMENT).unwrap();
    assert!(!e.srm.as_ref().unwrap().mismatch);
    for group in ["treatment", "control"] {
        let row = e.row(group).unwrap();
        for lift in row.vs_control.iter().chain(&row.vs_holdout) {
            for eff in [lift.conversion, lift.revenue_per_visitor]
                .into_iter()
                .flatten()
            {
                assert!(
                    !eff.significant && eff.low < 0.0 && 0.0 < eff.high,
                    "{group}: {eff:?}"
                );
            }
        }
    }
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("borderless-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

const A: &str = "0123456789abcdef0123456789abcdef";
const B: &str = "fedcba9876543210fedcba9876543210";

#[test]
fn reads_tail_lines_and_csv_exports() {
    // `wrangler tail` prefixes, an older exposure line (country from the
    // segment), a duplicate order, noise.
    let jsonl = tmp("tail.log");
    std::fs::write(
        &jsonl,
        format!(
            r#"(log) {{"event":"exposure","visitor":"{A}","arm":"exp:b","segment":"DE:mobile:evening:weekday:winter","path":"/","blocks":[]}}
GET https://shop.example/ - Ok @ 11/29/2026, 12:00:00 PM
  (log) {{"event":"conversion","visitor":"{A}","arm":"exp:b","country":"DE","order":"o-1","value":12,"currency":"EUR","value_site":10.0}}
{{"event":"conversion","visitor":"{A}","arm":"exp:b","country":"DE","order":"o-1","value":12,"currency":"EUR","value_site":10.0}}
{{"event":"exposure","visitor":"{B}","arm":"holdout","holdout":true,"segment":"FR:*:*:*:*"}}
{{"event":"exposure","visitor":"not-an-id","arm":"exp:a"}}
"#
        ),
    )
    .unwrap();
    let mut t = Tally::default();
    t.read(&jsonl).unwrap();
    let r = t.report(&Options::default());
    assert_eq!((r.visitors, r.duplicate_orders, r.skipped_lines), (2, 1, 2));
    let e = r.experiment("exp").unwrap();
    let b = e.row("b").unwrap();
    assert_eq!((b.visitors, b.converters, b.revenue), (1, 1, 10.0));
    assert_eq!(e.countries[0].country, "DE");
    assert_eq!(e.row(HOLDOUT).unwrap().visitors, 1);

    // The Analytics Engine export (columns as README's SQL names them).
    let csv = tmp("export.csv");
    std::fs::write(
        &csv,
        format!(
            "event,visitor,arm,holdout,segment,country,order,value_site,weight,ts\n\
             exposure,{A},exp:a,0,US:*:*:*:*,US,,-1,1,2026-11-29 12:00:00\n\
             conversion,{A},exp:a,0,US:*:*:*:*,US,o-9,25.5,1,2026-11-29 12:05:00\n\
             exposure,{B},exp:b,0,US:*:*:*:*,US,,-1,1,2026-11-29 12:00:00\n"
        ),
    )
    .unwrap();
    let mut t = Tally::default();
    t.read(&csv).unwrap();
    let r = t.report(&Options::default());
    let e = r.experiment("exp").unwrap();
    assert_eq!(e.row("a").unwrap().revenue_per_visitor, 25.5);
    assert_eq!(e.row("b").unwrap().converters, 0);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["experiments"][0]["rows"][0]["group"], "a");
    // The same export as JSONEachRow (README's SQL): the comparison is 1/0.
    let each = tmp("export.jsonl");
    std::fs::write(
        &each,
        format!(
            "{{\"event\":\"assignment\",\"visitor\":\"{B}\",\"arm\":\"holdout\",\"holdout\":1,\"segment\":\"US:*:*:*:*\",\"country\":\"US\",\"order\":\"\",\"value_site\":-1,\"weight\":1,\"ts\":\"2026-11-29 12:00:00\"}}\n\
             {{\"event\":\"conversion\",\"visitor\":\"{B}\",\"arm\":\"holdout\",\"holdout\":1,\"segment\":\"US:*:*:*:*\",\"country\":\"US\",\"order\":\"o-3\",\"value_site\":7.5,\"weight\":1,\"ts\":\"2026-11-29 12:01:00\"}}\n"
        ),
    )
    .unwrap();
    let mut t = Tally::default();
    t.read(&each).unwrap();
    let r = t.report(&Options::default());
    let hold = r.experiments[0].row(HOLDOUT).unwrap();
    assert_eq!((hold.visitors, hold.converters, hold.revenue), (1, 1, 7.5));
    let bad = tmp("bad.csv");
    std::fs::write(&bad, "a,b\n1,2\n").unwrap();
    assert!(Tally::default().read(&bad).is_err());
}

#[test]
fn conversions_alone_are_not_visitors() {
    let mut t = Tally::default();
    t.add(&EventLine {
        event: "conversion".into(),
        visitor: A.into(),
        arm: "exp:a".into(),
        order: Some("x".into()),
        value_site: Some(3.0),
        ..EventLine::default()
    });
    let r = t.report(&Options::default());
    assert_eq!((r.visitors, r.converters_without_exposure), (0, 1));
}
