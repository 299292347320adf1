//! Streaming aggregation: each event adds to one cell (most specific
//! segment × product × week × event kind); raw rows are never kept. The
//! cells are what `borderless aggregate` dumps and what a warehouse can
//! produce instead (`build --counts`).

use super::cooc::{Baskets, Cooc};
use super::events::{column, next_record, Event, Kind, RowReport};
use super::input;
use super::intern::Interner;
use super::segment::{self, SegmentCache};
use super::zones::ZoneCache;
use crate::base::time::parse_rfc3339;
use crate::request::clock::LocalTime;
use rustc_hash::FxHashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cell {
    pub count: u64,
    pub quantity: u64,
    pub last_ms: i64,
}

/// (segment, product, week, kind) → counts.
pub type CellKey = (u32, u32, i32, Kind);

#[derive(Debug, Default, Clone)]
pub struct Aggregates {
    pub products: Interner,
    pub segments: Interner,
    pub cells: FxHashMap<CellKey, Cell>,
    /// Latest event time seen (the default "now" of a build).
    pub last_ms: i64,
}

/// Week index (weeks start on Monday, UTC).
pub fn week_of(ms: i64) -> i32 {
    (ms.div_euclid(86_400_000) + 3).div_euclid(7) as i32
}

/// `YYYY-MM-DD` of the Monday starting a week.
pub fn week_date(week: i32) -> String {
    let ms = (i64::from(week) * 7 - 3) * 86_400_000;
    LocalTime::at(ms, 0, "GB", false).local[..10].to_string()
}

/// RFC 3339 UTC, whole seconds.
pub fn rfc3339(ms: i64) -> String {
    format!("{}Z", &LocalTime::at(ms, 0, "GB", false).local[..19])
}

/// [`rfc3339`] of many instants, fast: dates are computed once per day.
#[derive(Default)]
pub struct Stamps {
    dates: FxHashMap<i64, String>,
    out: String,
}

impl Stamps {
    pub fn format(&mut self, ms: i64) -> &str {
        let day = ms.div_euclid(86_400_000);
        let date = self
            .dates
            .entry(day)
            .or_insert_with(|| rfc3339(day * 86_400_000)[..10].to_string());
        let secs = ms.div_euclid(1000).rem_euclid(86_400);
        self.out.clear();
        self.out.push_str(date);
        for (sep, n) in [('T', secs / 3600), (':', secs / 60 % 60), (':', secs % 60)] {
            self.out.push(sep);
            self.out.push(char::from(b'0' + (n / 10) as u8));
            self.out.push(char::from(b'0' + (n % 10) as u8));
        }
        self.out.push('Z');
        &self.out
    }
}

impl Aggregates {
    pub fn add(&mut self, seg: &str, product: &str, kind: Kind, quantity: u64, ts_ms: i64) {
        let (seg, product) = (self.segments.id(seg), self.products.id(product));
        self.add_ids(seg, product, kind, quantity, ts_ms);
    }

    /// [`Aggregates::add`] with the segment and product already interned.
    pub fn add_ids(&mut self, seg: u32, product: u32, kind: Kind, quantity: u64, ts_ms: i64) {
        let key = (seg, product, week_of(ts_ms), kind);
        let c = self.cells.entry(key).or_default();
        if c.count == 0 || ts_ms > c.last_ms {
            c.last_ms = ts_ms;
        }
        c.count += 1;
        c.quantity += quantity;
        self.last_ms = self.last_ms.max(ts_ms);
    }

    /// Writes the cells as CSV, sorted: `segment,product,week,event,count,quantity,last_seen`.
    pub fn write_csv(&self, out: impl Write) -> std::io::Result<()> {
        // Sorted by name ranks: the order of the names, without comparing them.
        let (seg_rank, prod_rank) = (self.segments.name_ranks(), self.products.name_ranks());
        // (segment rank, product rank, week, kind), the cell's key, the cell.
        let mut rows: Vec<(CellKey, &CellKey, &Cell)> = self
            .cells
            .iter()
            .map(|(k, c)| {
                let ranks = (seg_rank[k.0 as usize], prod_rank[k.1 as usize], k.2, k.3);
                (ranks, k, c)
            })
            .collect();
        rows.sort_unstable_by_key(|r| r.0);
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "segment",
            "product",
            "week",
            "event",
            "count",
            "quantity",
            "last_seen",
        ])?;
        let mut weeks: FxHashMap<i32, String> = FxHashMap::default();
        let mut stamps = Stamps::default();
        let (mut count, mut quantity) = (String::new(), String::new());
        for (_, &(s, p, week, k), c) in rows {
            let week = weeks.entry(week).or_insert_with(|| week_date(week));
            count.clear();
            quantity.clear();
            write!(count, "{}", c.count).expect("in memory");
            write!(quantity, "{}", c.quantity).expect("in memory");
            w.write_record([
                self.segments.name(s),
                self.products.name(p),
                week,
                k.as_str(),
                &count,
                &quantity,
                stamps.format(c.last_ms),
            ])?;
        }
        w.flush()
    }

    /// Reads pre-aggregated counts (the format [`Aggregates::write_csv`] writes).
    pub fn read_csv(path: &Path, progress: bool) -> Result<(Aggregates, RowReport), String> {
        let input = input::open(path, "counts", progress).map_err(|e| e.to_string())?;
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(input.reader);
        let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
        let col =
            |n: &str| column(&headers, &[n]).ok_or_else(|| format!("counts CSV has no {n} column"));
        let cols = [
            col("segment")?,
            col("product")?,
            col("week")?,
            col("event")?,
            col("count")?,
            col("quantity")?,
            col("last_seen")?,
        ];
        let mut agg = Aggregates::default();
        let mut report = RowReport::default();
        let mut rec = csv::StringRecord::new();
        while let Some(line) = next_record(&mut rdr, &mut rec, &mut report, Some(headers.len()))? {
            let row = parse_count_row(&cols.map(|i| rec[i].trim()));
            match row {
                Ok((seg, product, week, kind, cell)) => {
                    report.used += 1;
                    let key = (agg.segments.id(seg), agg.products.id(product), week, kind);
                    let c = agg.cells.entry(key).or_default();
                    c.last_ms = if c.count == 0 {
                        cell.last_ms
                    } else {
                        c.last_ms.max(cell.last_ms)
                    };
                    c.count += cell.count;
                    c.quantity += cell.quantity;
                    agg.last_ms = agg.last_ms.max(cell.last_ms);
                }
                Err(e) => report.bad(line, e),
            }
        }
        input.progress.finish_and_clear();
        Ok((agg, report))
    }
}

fn parse_count_row<'a>(f: &[&'a str; 7]) -> Result<(&'a str, &'a str, i32, Kind, Cell), String> {
    if segment::parts(f[0]).is_none() {
        return Err(format!("segment {:?} is not a segment key", f[0]));
    }
    if f[1].is_empty() {
        return Err("empty product".into());
    }
    let day = parse_rfc3339(&format!("{}T00:00:00Z", f[2]))
        .ok_or_else(|| format!("week {:?} is not a date", f[2]))?;
    let kind = Kind::parse(f[3]).ok_or_else(|| format!("event {:?} is unknown", f[3]))?;
    let count = f[4]
        .parse::<u64>()
        .ok()
        .filter(|c| *c > 0)
        .ok_or_else(|| format!("count {:?} is not a positive integer", f[4]))?;
    let quantity = f[5]
        .parse::<u64>()
        .map_err(|_| format!("quantity {:?} is not a non-negative integer", f[5]))?;
    let last_ms =
        parse_rfc3339(f[6]).ok_or_else(|| format!("last_seen {:?} is not RFC 3339", f[6]))?;
    Ok((
        f[0],
        f[1],
        week_of(day),
        kind,
        Cell {
            count,
            quantity,
            last_ms,
        },
    ))
}

/// Everything one pass over an event log accumulates.
pub struct Pipeline {
    pub agg: Aggregates,
    pub cooc: Cooc,
    baskets: Baskets,
    zones: ZoneCache,
    segments: SegmentCache,
    /// Whether co-purchase pairs are counted (not for the counts alone).
    pairs: bool,
    /// Scratch for basket keys.
    key: String,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline {
            agg: Aggregates::default(),
            cooc: Cooc::default(),
            baskets: Baskets::default(),
            zones: ZoneCache::default(),
            segments: SegmentCache::default(),
            pairs: true,
            key: String::new(),
        }
    }
}

impl Pipeline {
    /// Only the cells (what `aggregate` writes without `--pairs-out`); the
    /// co-purchase pairs stay empty.
    pub fn counts_only() -> Pipeline {
        Pipeline {
            pairs: false,
            ..Pipeline::default()
        }
    }

    pub fn feed(&mut self, ev: &Event) {
        let seg = self
            .segments
            .id(ev, &mut self.zones, &mut self.agg.segments);
        let pid = self.agg.products.id(&ev.product);
        self.agg.add_ids(seg, pid, ev.kind, ev.quantity, ev.ts_ms);
        if self.pairs && ev.kind == Kind::Purchase {
            self.key.clear();
            match (&ev.order, ev.visitor.is_empty()) {
                (Some(_), _) => self.key.push_str("o:"),
                (None, false) => self.key.push_str("v:"),
                (None, true) => return,
            }
            self.key
                .push_str(ev.order.as_deref().unwrap_or(&ev.visitor));
            self.baskets.add(&self.key, ev.ts_ms, pid, &mut self.cooc);
        }
    }

    /// Closes the open baskets.
    pub fn finish(mut self) -> (Aggregates, Cooc) {
        self.baskets.finish(&mut self.cooc);
        (self.agg, self.cooc)
    }
}
