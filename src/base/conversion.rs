//! Conversions: the body of the beacon `POST /__borderless/event`, validated;
//! the JSON log line of exposures and conversions that `borderless report`
//! reads; and the Workers Analytics Engine data point written beside it.
//!
//! Analytics Engine `writeDataPoint` schema (one dataset, both events):
//!
//! | column   | value                                              |
//! |----------|----------------------------------------------------|
//! | index1   | visitor id (32 hex; the sampling key)              |
//! | blob1    | event: `exposure`, `assignment` or `conversion`    |
//! | blob2    | arm label (`exp:arm,…`, `holdout`, `control`, `default`) |
//! | blob3    | holdout: `1` or `0`                                |
//! | blob4    | segment key (`DE:mobile:evening:weekday:winter`)   |
//! | blob5    | country (ISO 3166 alpha-2, `XX` unknown)           |
//! | blob6    | order id (conversions; empty for exposures)        |
//! | blob7    | currency of double1                                |
//! | blob8    | path                                               |
//! | blob9    | source: `page`, `beacon` (conversions), `worker`   |
//! | double1  | order value in blob7 (0 for exposures)             |
//! | double2  | order value in the shop's currency (-1 unknown)    |

use crate::schema::FxRates;
use serde::{Deserialize, Serialize};

/// Where shops whose checkout is elsewhere post conversions.
pub const BEACON_PATH: &str = "/__borderless/event";
/// Largest beacon body accepted.
pub const MAX_BEACON_BYTES: usize = 1024;
const MAX_ORDER_ID: usize = 64;
/// Largest order value accepted, in any currency (a bound, not a business rule).
const MAX_VALUE: f64 = 1e10;

/// A validated beacon: one order.
#[derive(Debug, Clone, PartialEq)]
pub struct Beacon {
    pub order: String,
    pub value: f64,
    pub currency: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBeacon {
    order: String,
    value: serde_json::Value,
    currency: String,
}

/// Order ids: 1–64 of `A-Z a-z 0-9 . _ : # / -`, at least one alphanumeric.
pub fn valid_order_id(s: &str) -> bool {
    (1..=MAX_ORDER_ID).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:_#/-".contains(&b))
        && s.bytes().any(|b| b.is_ascii_alphanumeric())
}

/// Parses and validates a beacon body. `known` says whether a currency code
/// is one the shop takes (its own, or one with a rate). The error is the
/// reason the response states (400).
pub fn parse_beacon(body: &[u8], known: impl Fn(&str) -> bool) -> Result<Beacon, String> {
    if body.len() > MAX_BEACON_BYTES {
        return Err(format!("body larger than {MAX_BEACON_BYTES} bytes"));
    }
    let raw: RawBeacon = serde_json::from_slice(body).map_err(|e| {
        // serde's message names the field and the type, never echoes the body.
        format!("expected {{\"order\": string, \"value\": number, \"currency\": string}}: {e}")
    })?;
    if !valid_order_id(&raw.order) {
        return Err("order: 1-64 characters of A-Z a-z 0-9 . _ : # / -".into());
    }
    let value = match &raw.value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => crate::base::money::parse_amount(s),
        _ => None,
    }
    .filter(|v| v.is_finite() && (0.0..=MAX_VALUE).contains(v))
    .ok_or("value: a non-negative amount")?;
    let code = raw.currency.len() == 3 && raw.currency.bytes().all(|b| b.is_ascii_uppercase());
    if !code || !known(&raw.currency) {
        return Err("currency: not one this shop takes".into());
    }
    Ok(Beacon {
        order: raw.order,
        value,
        currency: raw.currency,
    })
}

/// `value` in `currency` expressed in the shop's currency `site`, through
/// the rates' base, to the cent; `None` without a rate for either.
pub fn to_site_currency(
    value: f64,
    currency: &str,
    site: &str,
    fx: Option<&FxRates>,
) -> Option<f64> {
    if currency == site {
        return Some(value);
    }
    let fx = fx?;
    let rate = |c: &str| -> Option<f64> {
        let r = if c == fx.base { 1.0 } else { *fx.rates.get(c)? };
        (r.is_finite() && r > 0.0).then_some(r)
    };
    let v = value / rate(currency)? * rate(site)?;
    Some((v * 100.0).round() / 100.0)
}

/// One exposure or conversion, as logged (a JSON line) and as the report
/// reads it back. Exposure lines also carry `blocks` (ignored here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventLine {
    /// `exposure` (blocks shown), `assignment` (a page without) or `conversion`.
    pub event: String,
    pub visitor: String,
    /// The assignment label: `exp:arm,exp:arm`, `holdout`, `control`, `default`.
    pub arm: String,
    #[serde(default, deserialize_with = "flag")]
    pub holdout: bool,
    #[serde(default)]
    pub segment: String,
    /// Empty in older exposure lines: the segment key's first part then.
    #[serde(default)]
    pub country: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The order value in the shop's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_site: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// RFC 3339, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
}

/// `true`/`false`, or `1`/`0` as Analytics Engine's SQL returns a comparison.
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => Ok(b),
        serde_json::Value::Number(n) => Ok(n.as_f64() == Some(1.0)),
        serde_json::Value::String(s) => Ok(s == "1" || s == "true"),
        _ => Ok(false),
    }
}

impl EventLine {
    /// The country, from the field or the segment key.
    pub fn country(&self) -> &str {
        if !self.country.is_empty() {
            return &self.country;
        }
        match self.segment.split(':').next() {
            Some(c) if c.len() == 2 => c,
            _ => "XX",
        }
    }

    /// Holdout from the flag or the label.
    pub fn is_holdout(&self) -> bool {
        self.holdout || self.arm == "holdout"
    }

    /// The Analytics Engine data point (see the module's schema table).
    pub fn data_point(&self) -> DataPoint {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        DataPoint {
            indexes: [self.visitor.clone()],
            blobs: [
                self.event.clone(),
                self.arm.clone(),
                if self.is_holdout() { "1" } else { "0" }.into(),
                self.segment.clone(),
                self.country().to_string(),
                s(&self.order),
                s(&self.currency),
                self.path.clone(),
                self.source.clone().unwrap_or_else(|| "worker".into()),
            ],
            doubles: [self.value.unwrap_or(0.0), self.value_site.unwrap_or(-1.0)],
        }
    }
}

/// `writeDataPoint`'s argument; serializes as the runtime expects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataPoint {
    pub indexes: [String; 1],
    pub blobs: [String; 9],
    pub doubles: [f64; 2],
}

/// The data point of a log line that is an exposure or a conversion.
pub fn data_point_of_line(line: &str) -> Option<DataPoint> {
    // Each with its quotes as the line has them, written out: `format!` is
    // `core::fmt`, cold code on every request.
    const EVENTS: [(&str, &str); 3] = [
        ("exposure", "\"exposure\""),
        ("assignment", "\"assignment\""),
        ("conversion", "\"conversion\""),
    ];
    if !EVENTS.iter().any(|(_, quoted)| line.contains(quoted)) {
        return None;
    }
    let e: EventLine = serde_json::from_str(line).ok()?;
    EVENTS
        .iter()
        .any(|(name, _)| *name == e.event)
        .then(|| e.data_point())
}

/// The SQL that exports the dataset for `borderless report` (JSON lines).
pub fn export_sql(dataset: &str, days: u32) -> String {
    format!(
        "SELECT blob1 AS event, index1 AS visitor, blob2 AS arm, blob3 = '1' AS holdout, \
         blob4 AS segment, blob5 AS country, blob6 AS order, double2 AS value_site, \
         _sample_interval AS weight, timestamp AS ts FROM {dataset} \
         WHERE timestamp > NOW() - INTERVAL '{days}' DAY FORMAT JSONEachRow"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn known(c: &str) -> bool {
        ["GBP", "EUR", "USD"].contains(&c)
    }

    #[test]
    fn good_beacons() {
        let b = parse_beacon(
            br#"{"order":"A-1001","value":23.5,"currency":"EUR"}"#,
            known,
        )
        .unwrap();
        assert_eq!(
            (b.order.as_str(), b.value, b.currency.as_str()),
            ("A-1001", 23.5, "EUR")
        );
        let s = parse_beacon(
            br#"{"order":"x/9#2","value":"19.99","currency":"GBP"}"#,
            known,
        );
        assert_eq!(s.unwrap().value, 19.99);
        assert!(parse_beacon(br#"{"order":"free","value":0,"currency":"USD"}"#, known).is_ok());
    }

    #[test]
    fn bad_beacons_are_refused() {
        let long = format!(
            r#"{{"order":"{}","value":1,"currency":"EUR"}}"#,
            "a".repeat(65)
        );
        let huge = format!(
            r#"{{"order":"A","value":1,"currency":"EUR","pad":"{}"}}"#,
            "x".repeat(MAX_BEACON_BYTES)
        );
        for bad in [
            "",
            "null",
            "[]",
            "{}",
            "not json",
            r#"{"order":1001,"value":23.5,"currency":"EUR"}"#,
            r#"{"order":"A","value":true,"currency":"EUR"}"#,
            r#"{"order":"A","value":"23,50","currency":"EUR"}"#,
            r#"{"order":"A","value":-1,"currency":"EUR"}"#,
            r#"{"order":"A","value":1e300,"currency":"EUR"}"#,
            r#"{"order":"A","value":1,"currency":"XXX"}"#,
            r#"{"order":"A","value":1,"currency":"eur"}"#,
            r#"{"order":"A","value":1,"currency":["EUR"]}"#,
            r#"{"order":"A","value":1}"#,
            r#"{"order":"A","value":1,"currency":"EUR","visitor":"x"}"#,
            r#"{"order":"<script>","value":1,"currency":"EUR"}"#,
            r#"{"order":"","value":1,"currency":"EUR"}"#,
            r#"{"order":"Ä","value":1,"currency":"EUR"}"#,
            &long,
            &huge,
        ] {
            assert!(parse_beacon(bad.as_bytes(), known).is_err(), "{bad:.80}");
        }
        assert!(parse_beacon(&[0xff, 0xfe, b'{'], known).is_err());
    }

    #[test]
    fn site_currency_values() {
        let fx = FxRates {
            base: "EUR".into(),
            as_of: "2026-11-27T15:00:00Z".into(),
            rates: BTreeMap::from([("GBP".into(), 0.8), ("USD".into(), 1.05)]),
        };
        assert_eq!(to_site_currency(10.0, "EUR", "GBP", Some(&fx)), Some(8.0));
        assert_eq!(to_site_currency(10.5, "USD", "GBP", Some(&fx)), Some(8.0));
        assert_eq!(to_site_currency(10.0, "GBP", "GBP", None), Some(10.0));
        assert_eq!(to_site_currency(10.0, "CHF", "GBP", Some(&fx)), None);
        assert_eq!(to_site_currency(10.0, "EUR", "GBP", None), None);
    }

    #[test]
    fn lines_and_data_points() {
        let line = r#"{"event":"exposure","visitor":"0123456789abcdef0123456789abcdef","arm":"recs:b","segment":"DE:mobile:evening:weekday:winter","path":"/","blocks":[]}"#;
        let e: EventLine = serde_json::from_str(line).unwrap();
        assert_eq!((e.country(), e.is_holdout()), ("DE", false));
        let p = e.data_point();
        assert_eq!(p.blobs[0], "exposure");
        assert_eq!(p.blobs[4], "DE");
        assert_eq!(p.doubles, [0.0, -1.0]);
        let c = EventLine {
            event: "conversion".into(),
            visitor: e.visitor.clone(),
            arm: "holdout".into(),
            country: "FR".into(),
            order: Some("A-1".into()),
            value: Some(12.0),
            currency: Some("EUR".into()),
            value_site: Some(10.0),
            source: Some("beacon".into()),
            ..EventLine::default()
        };
        let back: EventLine = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let p = c.data_point();
        assert_eq!((p.blobs[2].as_str(), p.blobs[5].as_str()), ("1", "A-1"));
        assert_eq!(p.doubles, [12.0, 10.0]);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["indexes"][0], e.visitor.as_str());
        assert!(export_sql("borderless", 14).ends_with("FORMAT JSONEachRow"));
    }

    #[test]
    fn data_points_only_of_the_three_events() {
        let line = |event: &str| {
            format!(
                r#"{{"event":"{event}","visitor":"v1","arm":"exp:a","segment":"DE|desktop","country":"DE"}}"#
            )
        };
        for event in ["exposure", "assignment", "conversion"] {
            let p = data_point_of_line(&line(event)).expect(event);
            assert_eq!((p.blobs[0].as_str(), p.indexes[0].as_str()), (event, "v1"));
        }
        // The name elsewhere in the line, or the event unknown, gives none.
        let other = r#"{"event":"worker_panic","visitor":"v1","arm":"exposure"}"#;
        for no in [other, &line("exposures"), "exposure", r#""exposure""#, ""] {
            assert_eq!(data_point_of_line(no), None, "{no}");
        }
    }
}
