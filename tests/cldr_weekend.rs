//! The weekend table in `clock` agrees with CLDR week data as Node's Intl
//! (full ICU) reports it, for every region Intl knows.

use borderless::base::time::parse_rfc3339;
use borderless::request::clock::{DayKind, LocalTime};
use std::process::Command;

const SCRIPT: &str = r#"
const dn = new Intl.DisplayNames("en", { type: "region", fallback: "none" });
const out = {};
for (let a = 65; a < 91; a++) for (let b = 65; b < 91; b++) {
  const c = String.fromCharCode(a, b);
  if (!dn.of(c)) continue;
  const l = new Intl.Locale("und-" + c);
  const w = l.getWeekInfo ? l.getWeekInfo() : l.weekInfo;
  out[c] = w.weekend;
}
console.log(JSON.stringify(out));
"#;

#[test]
fn weekend_matches_node_intl() {
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    let out = Command::new(&node)
        .args(["-e", SCRIPT])
        .output()
        .expect("node is required for the CLDR oracle");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        table.len() > 200,
        "Intl listed only {} regions",
        table.len()
    );
    // 2026-11-16 is a Monday; walk the week at local noon.
    let monday = parse_rfc3339("2026-11-16T12:00:00Z").unwrap();
    for (country, weekend) in &table {
        let want: Vec<u64> = weekend
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .collect();
        for day in 1..=7u64 {
            let t = LocalTime::at(monday + (day as i64 - 1) * 86_400_000, 0, country, false);
            let is_weekend = t.day_kind == DayKind::Weekend;
            assert_eq!(is_weekend, want.contains(&day), "{country} day {day}");
        }
    }
}
