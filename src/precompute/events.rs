//! The event log: one row per view, add-to-cart, purchase or cancellation,
//! read as a stream (CSV with a header, or JSON Lines). Bad rows are counted
//! with their line numbers, never silently dropped.

use super::input::{self, Format};
use crate::base::ids::valid_country;
use crate::base::time::parse_rfc3339;
use crate::request::Device;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    View,
    Cart,
    Purchase,
    Cancel,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::View, Kind::Cart, Kind::Purchase, Kind::Cancel];

    pub fn as_str(self) -> &'static str {
        ["view", "cart", "purchase", "cancel"][self as usize]
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// One event, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub ts_ms: i64,
    /// Visitor or customer id; empty for a guest.
    pub visitor: String,
    pub product: String,
    pub kind: Kind,
    /// Units, always positive (a cancellation's too).
    pub quantity: u64,
    /// ISO 3166-1 alpha-2; `None` when unknown.
    pub country: Option<String>,
    pub device: Option<Device>,
    /// Order id grouping a basket, when the log has one.
    pub order: Option<String>,
    /// IANA zone of the visitor, when the log has one.
    pub zone: Option<String>,
}

impl Default for Event {
    /// An empty purchase (a buffer for parsers to fill).
    fn default() -> Self {
        Event {
            ts_ms: 0,
            visitor: String::new(),
            product: String::new(),
            kind: Kind::Purchase,
            quantity: 0,
            country: None,
            device: None,
            order: None,
            zone: None,
        }
    }
}

/// What happened to the rows of one input.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RowReport {
    pub rows: u64,
    pub used: u64,
    pub bad: u64,
    /// The first bad rows: (line number, reason).
    pub bad_samples: Vec<(u64, String)>,
    /// Valid rows left out on purpose (fees, adjustments ...), by reason.
    pub skipped: BTreeMap<String, u64>,
}

/// Reads the next CSV record into `rec` and counts it in `report`; returns
/// its line number, or `None` at the end. An unreadable record is a bad row;
/// an I/O error (a read failure, a truncated gzip) ends the read with `Err`.
/// With `fields`, a record with another number of fields is a bad row too.
pub fn next_record<R: std::io::Read>(
    rdr: &mut csv::Reader<R>,
    rec: &mut csv::StringRecord,
    report: &mut RowReport,
    fields: Option<usize>,
) -> Result<Option<u64>, String> {
    loop {
        let line = rdr.position().line() + 1;
        match rdr.read_record(rec) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) => {
                report.rows += 1;
                report.bad(line, format!("unreadable CSV: {e}"));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(e.to_string());
                }
                continue;
            }
        }
        report.rows += 1;
        let line = rec.position().map_or(line, |p| p.line());
        match fields {
            Some(n) if rec.len() != n => {
                report.bad(line, format!("{} fields, header has {n}", rec.len()))
            }
            _ => return Ok(Some(line)),
        }
    }
}

const MAX_SAMPLES: usize = 20;

impl RowReport {
    pub fn bad(&mut self, line: u64, reason: impl Into<String>) {
        self.bad += 1;
        if self.bad_samples.len() < MAX_SAMPLES {
            self.bad_samples.push((line, reason.into()));
        }
    }

    pub fn skip(&mut self, reason: &str) {
        match self.skipped.get_mut(reason) {
            Some(n) => *n += 1,
            None => {
                self.skipped.insert(reason.to_string(), 1);
            }
        }
    }

    /// Share of rows that were bad.
    pub fn bad_share(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            self.bad as f64 / self.rows as f64
        }
    }

    /// Fails when the bad share passes `max_share`.
    pub fn check(&self, what: &str, max_share: f64) -> Result<(), String> {
        if self.bad_share() > max_share {
            return Err(format!(
                "{what}: {} of {} rows are bad ({:.2}%), over --max-bad {:.2}%; first: {}",
                self.bad,
                self.rows,
                100.0 * self.bad_share(),
                100.0 * max_share,
                self.samples_text()
            ));
        }
        Ok(())
    }

    fn samples_text(&self) -> String {
        self.bad_samples
            .iter()
            .map(|(l, r)| format!("line {l}: {r}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A human summary, several lines.
    pub fn summary(&self, what: &str) -> String {
        let mut s = format!(
            "{what}: {} rows, {} used, {} bad ({:.3}%)",
            self.rows,
            self.used,
            self.bad,
            100.0 * self.bad_share()
        );
        for (reason, n) in &self.skipped {
            s += &format!("\n  skipped {n}: {reason}");
        }
        for (line, reason) in &self.bad_samples {
            s += &format!("\n  bad line {line}: {reason}");
        }
        if self.bad as usize > self.bad_samples.len() {
            s += &format!(
                "\n  ... and {} more bad rows",
                self.bad as usize - self.bad_samples.len()
            );
        }
        s
    }
}

/// A row as found in the file, before validation.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawEvent {
    #[serde(alias = "time", alias = "ts")]
    timestamp: String,
    #[serde(alias = "visitor_id", alias = "customer", alias = "customer_id")]
    visitor: Option<String>,
    #[serde(alias = "product_id", alias = "item")]
    product: String,
    #[serde(alias = "type", alias = "event_type")]
    event: String,
    quantity: Option<serde_json::Value>,
    country: Option<String>,
    device: Option<String>,
    #[serde(alias = "order_id")]
    order: Option<String>,
    #[serde(alias = "tz", alias = "time_zone")]
    timezone: Option<String>,
}

fn validate(raw: RawEvent) -> Result<Event, String> {
    let ts_ms = parse_rfc3339(raw.timestamp.trim())
        .ok_or_else(|| format!("timestamp {:?} is not RFC 3339", raw.timestamp))?;
    let kind = Kind::parse(&raw.event).ok_or_else(|| {
        format!(
            "event {:?} is not view, cart, purchase or cancel",
            raw.event
        )
    })?;
    let product = raw.product.trim().to_string();
    if product.is_empty() || product.len() > 128 {
        return Err("product id is empty or over 128 bytes".into());
    }
    let quantity = match raw.quantity {
        None | Some(serde_json::Value::Null) => 1,
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .filter(|q| *q != 0)
            .ok_or_else(|| format!("quantity {n} is not a non-zero integer"))?
            .unsigned_abs(),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => 1,
        Some(serde_json::Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|q| *q != 0)
            .ok_or_else(|| format!("quantity {s:?} is not a non-zero integer"))?
            .unsigned_abs(),
        Some(v) => return Err(format!("quantity {v} is not a number")),
    };
    let country = match raw.country.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) if valid_country(&c.to_ascii_uppercase()) => Some(c.to_ascii_uppercase()),
        Some(c) => return Err(format!("country {c:?} is not ISO 3166-1 alpha-2")),
    };
    let device = match raw.device.as_deref().map(str::trim) {
        None | Some("") | Some("*") => None,
        Some(d) => {
            Some(Device::parse(d).ok_or_else(|| format!("device {d:?} is not a device class"))?)
        }
    };
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(Event {
        ts_ms,
        visitor: nonempty(raw.visitor).unwrap_or_default(),
        product,
        kind,
        quantity,
        country,
        device,
        order: nonempty(raw.order),
        zone: nonempty(raw.timezone),
    })
}

/// Streams the events of a generic log to `f`, row by row.
pub fn read(path: &Path, progress: bool, mut f: impl FnMut(Event)) -> Result<RowReport, String> {
    let input = input::open(path, "events", progress).map_err(|e| e.to_string())?;
    let report = match Format::of(path) {
        Format::JsonLines => read_jsonl(input.reader, &mut f),
        Format::Csv => read_csv(input.reader, &mut f),
    }?;
    input.progress.finish_and_clear();
    Ok(report)
}

/// Reads JSON Lines, calling `parse` on each non-blank line.
pub fn for_each_json_line<T: for<'de> Deserialize<'de>>(
    reader: impl BufRead,
    report: &mut RowReport,
    mut f: impl FnMut(u64, T, &mut RowReport),
) -> Result<(), String> {
    for (i, line) in reader.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|e| format!("line {line_no}: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        report.rows += 1;
        match serde_json::from_str::<T>(&line) {
            Ok(v) => f(line_no, v, report),
            Err(e) => report.bad(line_no, format!("not a JSON object of the schema: {e}")),
        }
    }
    Ok(())
}

fn read_jsonl(reader: Box<dyn BufRead>, f: &mut impl FnMut(Event)) -> Result<RowReport, String> {
    let mut report = RowReport::default();
    for_each_json_line::<RawEvent>(reader, &mut report, |line, raw, report| {
        match validate(raw) {
            Ok(ev) => {
                report.used += 1;
                f(ev)
            }
            Err(e) => report.bad(line, e),
        }
    })?;
    Ok(report)
}

/// Column index by any of its accepted names.
pub fn column(headers: &csv::StringRecord, names: &[&str]) -> Option<usize> {
    headers
        .iter()
        .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
}

fn read_csv(reader: Box<dyn BufRead>, f: &mut impl FnMut(Event)) -> Result<RowReport, String> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
    let need = |names: &[&str]| {
        column(&headers, names).ok_or_else(|| format!("events CSV has no {:?} column", names[0]))
    };
    let c_ts = need(&["timestamp", "time", "ts"])?;
    let c_product = need(&["product", "product_id", "item"])?;
    let c_event = need(&["event", "type", "event_type"])?;
    let c_visitor = column(
        &headers,
        &["visitor", "visitor_id", "customer", "customer_id"],
    );
    let c_qty = column(&headers, &["quantity"]);
    let c_country = column(&headers, &["country"]);
    let c_device = column(&headers, &["device"]);
    let c_order = column(&headers, &["order", "order_id"]);
    let c_tz = column(&headers, &["timezone", "tz", "time_zone"]);
    let mut report = RowReport::default();
    let mut rec = csv::StringRecord::new();
    while let Some(line) = next_record(&mut rdr, &mut rec, &mut report, Some(headers.len()))? {
        let get = |c: Option<usize>| c.map(|i| rec[i].to_string());
        let raw = RawEvent {
            timestamp: rec[c_ts].to_string(),
            visitor: get(c_visitor),
            product: rec[c_product].to_string(),
            event: rec[c_event].to_string(),
            quantity: get(c_qty).map(serde_json::Value::String),
            country: get(c_country),
            device: get(c_device),
            order: get(c_order),
            timezone: get(c_tz),
        };
        match validate(raw) {
            Ok(ev) => {
                report.used += 1;
                f(ev)
            }
            Err(e) => report.bad(line, e),
        }
    }
    Ok(report)
}
