//! `borderless replay`: a bigger shop made of the real one, for measuring
//! the tool at scale. Whole invoices of the Online Retail log are resampled
//! with replacement (a seeded RNG, so a replay is reproducible) into the
//! log's own time window: each invoice is drawn Poisson(`times`) times (the
//! streaming form of the bootstrap: `times` × as many invoices on average),
//! each copy shifted by up to ± [`Options::jitter_minutes`], under a fresh
//! invoice id and a clone of its customer, written as CSV in time order.
//!
//! The same year with `times` × the traffic, not a longer history: the
//! ranking looks at one year through a 90-day half-life and 4-week trends,
//! and a shop that grows sells more of the same catalog in the same weeks.
//! (A log `times` years long would grow the aggregate with the number of
//! weeks, and decay all but the last year to nothing.)
//!
//! The source streams in and the replay streams out; memory holds only the
//! copies not yet due (the last hour or so), whatever `times` is.

use super::agg::Stamps;
use super::retail::{self, COLUMNS};
use crate::base::time::parse_rfc3339;
use std::collections::BinaryHeap;
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::rc::Rc;

#[derive(Debug, Clone)]
pub struct Options {
    /// Copies per invoice of the log, on average (may be fractional).
    pub times: f64,
    pub seed: u64,
    /// A copy is shifted by a whole number of minutes in ±this.
    pub jitter_minutes: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            times: 1.0,
            seed: 1,
            jitter_minutes: 30,
        }
    }
}

/// What a replay read and wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Invoices and rows of the source log (rows without 8 fields or a
    /// valid InvoiceDate are left out).
    pub source_invoices: u64,
    pub source_rows: u64,
    pub skipped_rows: u64,
    pub invoices: u64,
    pub rows: u64,
}

/// SplitMix64: small, fast, and enough for resampling (and `simulate`).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    pub(crate) fn unit(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Poisson(mean), by counting exponential gaps within one unit of time
    /// (exact for any mean; one draw per event).
    fn poisson(&mut self, mean: f64) -> u64 {
        let mut k = 0;
        let mut t = -self.unit().ln() / mean;
        while t <= 1.0 {
            k += 1;
            t -= self.unit().ln() / mean;
        }
        k
    }
}

/// One line of an invoice, as byte ranges of its arena.
struct Line {
    /// `,StockCode,Description,Quantity,` (CSV-escaped).
    mid: Range<usize>,
    ts_ms: i64,
    /// `,UnitPrice,`
    price: Range<usize>,
    /// The CustomerID (unescaped), and its value when it is a small number.
    customer: Range<usize>,
    customer_no: Option<u64>,
    /// `,Country` and the line end.
    tail: Range<usize>,
}

/// A run of lines of one invoice of the source.
#[derive(Default)]
struct Invoice {
    arena: Vec<u8>,
    /// Letters before the number (`C` of a cancellation).
    prefix: Range<usize>,
    lines: Vec<Line>,
}

/// Clone `k` of a numeric customer `c` below this is `k · CLONE_BASE + c`
/// (others get `c-k`).
const CLONE_BASE: u64 = 1_000_000;

fn push_field(arena: &mut Vec<u8>, f: &[u8]) {
    if f.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        arena.push(b'"');
        for &b in f {
            if b == b'"' {
                arena.push(b'"');
            }
            arena.push(b);
        }
        arena.push(b'"');
    } else {
        arena.extend_from_slice(f);
    }
}

impl Invoice {
    fn new(invoice: &[u8]) -> Invoice {
        let letters = invoice
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        Invoice {
            arena: invoice[..letters].to_vec(),
            prefix: 0..letters,
            lines: Vec::new(),
        }
    }

    fn push(&mut self, rec: &csv::ByteRecord, ts_ms: i64) {
        let a = &mut self.arena;
        let mut range = |fields: &[usize], trail: &[u8]| {
            let start = a.len();
            for &f in fields {
                a.push(b',');
                push_field(a, &rec[f]);
            }
            a.extend_from_slice(trail);
            start..a.len()
        };
        let mid = range(&[1, 2, 3], b",");
        let price = range(&[5], b",");
        let tail = range(&[7], b"\n");
        let customer = a.len()..a.len() + rec[6].len();
        a.extend_from_slice(&rec[6]);
        let digits = rec[6].trim_ascii();
        let customer_no = std::str::from_utf8(digits)
            .ok()
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u64>().ok())
            .filter(|c| *c < CLONE_BASE);
        self.lines.push(Line {
            mid,
            ts_ms,
            price,
            customer,
            customer_no,
            tail,
        });
    }
}

/// A copy waiting for its time: (shifted time, serial), invoice, shift, clone.
struct Pending {
    key: (i64, u64),
    invoice: Rc<Invoice>,
    shift_ms: i64,
    clone: u64,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    /// Reversed: the heap pops the earliest copy.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        o.key.cmp(&self.key)
    }
}

/// Copies in time order, written as they become due.
struct Output<'a> {
    out: &'a mut dyn Write,
    buf: Vec<u8>,
    pending: BinaryHeap<Pending>,
    stamps: Stamps,
    stats: Stats,
}

impl Output<'_> {
    /// Writes every copy due at or before `until`.
    fn flush_until(&mut self, until: i64) -> Result<(), String> {
        while self.pending.peek().is_some_and(|p| p.key.0 <= until) {
            let p = self.pending.pop().expect("peeked");
            self.copy(&p);
            if self.buf.len() >= 1 << 20 {
                self.out
                    .write_all(&self.buf)
                    .map_err(|e| format!("writing the replay: {e}"))?;
                self.buf.clear();
            }
        }
        Ok(())
    }

    /// Appends one copy of an invoice.
    fn copy(&mut self, p: &Pending) {
        let (inv, buf) = (&*p.invoice, &mut self.buf);
        let a = &inv.arena;
        for line in &inv.lines {
            buf.extend_from_slice(&a[inv.prefix.clone()]);
            write!(buf, "{}", p.key.1).expect("in memory");
            buf.extend_from_slice(&a[line.mid.clone()]);
            let ts = self.stamps.format(line.ts_ms + p.shift_ms);
            buf.extend_from_slice(ts.as_bytes());
            buf.extend_from_slice(&a[line.price.clone()]);
            let customer = &a[line.customer.clone()];
            match line.customer_no {
                Some(c) => write!(buf, "{}", p.clone * CLONE_BASE + c).expect("in memory"),
                None if p.clone > 0 && !customer.is_empty() => {
                    let mut id = customer.to_vec();
                    write!(id, "-{}", p.clone).expect("in memory");
                    push_field(buf, &id);
                }
                None => push_field(buf, customer),
            }
            buf.extend_from_slice(&a[line.tail.clone()]);
        }
        self.stats.invoices += 1;
        self.stats.rows += inv.lines.len() as u64;
    }
}

/// Streams the replay of the Online Retail log at `path` (`-`: stdin) to `out`.
pub fn replay(path: &Path, opts: &Options, out: &mut dyn Write) -> Result<Stats, String> {
    if !(opts.times > 0.0 && opts.times.is_finite()) {
        return Err(format!("--times {} is not a positive number", opts.times));
    }
    let (mut rdr, progress) = retail::open_log(path, "source", false)?;
    let mut o = Output {
        out,
        buf: Vec::with_capacity(1 << 20),
        pending: BinaryHeap::new(),
        stamps: Stamps::default(),
        stats: Stats::default(),
    };
    o.buf.extend_from_slice(COLUMNS.join(",").as_bytes());
    o.buf.push(b'\n');
    let mut rng = Rng(opts.seed);
    let jitter = opts.jitter_minutes.max(0);
    let mut serial = 1_000_000u64;
    // Draws the copies of a finished invoice.
    let mut resample = |inv: Invoice, o: &mut Output| -> Result<(), String> {
        let Some(first) = inv.lines.first() else {
            return Ok(());
        };
        let ts = first.ts_ms;
        o.stats.source_invoices += 1;
        // Later invoices start no earlier, so their copies no earlier than this.
        o.flush_until(ts - jitter * 60_000)?;
        let invoice = Rc::new(inv);
        for clone in 0..rng.poisson(opts.times) {
            let shift_ms = (rng.below(2 * jitter as u64 + 1) as i64 - jitter) * 60_000;
            serial += 1;
            o.pending.push(Pending {
                key: (ts + shift_ms, serial),
                invoice: Rc::clone(&invoice),
                shift_ms,
                clone,
            });
        }
        Ok(())
    };
    let mut rec = csv::ByteRecord::new();
    let mut current = Invoice::default();
    let mut current_no: Vec<u8> = Vec::new();
    while rdr
        .read_byte_record(&mut rec)
        .map_err(|e| format!("{}: {e}", path.display()))?
    {
        o.stats.source_rows += 1;
        let ts = std::str::from_utf8(rec.get(4).unwrap_or_default())
            .ok()
            .and_then(|t| parse_rfc3339(t.trim()));
        let (8, Some(ts_ms)) = (rec.len(), ts) else {
            o.stats.skipped_rows += 1;
            continue;
        };
        let invoice = rec[0].trim_ascii();
        if invoice != current_no.as_slice() {
            let done = std::mem::replace(&mut current, Invoice::new(invoice));
            resample(done, &mut o)?;
            current_no.clear();
            current_no.extend_from_slice(invoice);
        }
        current.push(&rec, ts_ms);
    }
    resample(current, &mut o)?;
    o.flush_until(i64::MAX)?;
    o.out
        .write_all(&o.buf)
        .and_then(|()| o.out.flush())
        .map_err(|e| format!("writing the replay: {e}"))?;
    progress.finish_and_clear();
    Ok(o.stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_draws_have_the_right_mean_and_variance() {
        let mut rng = Rng(42);
        for mean in [0.5, 3.0, 100.0] {
            let draws: Vec<f64> = (0..20_000).map(|_| rng.poisson(mean) as f64).collect();
            let m = draws.iter().sum::<f64>() / draws.len() as f64;
            let var = draws.iter().map(|d| (d - m).powi(2)).sum::<f64>() / draws.len() as f64;
            assert!((m - mean).abs() < 0.05 * mean, "{mean}: {m}");
            assert!((var - mean).abs() < 0.1 * mean, "{mean}: {var}");
        }
    }

    #[test]
    fn a_replay_is_the_log_resampled_in_time_order() {
        let dir = std::env::temp_dir().join(format!("borderless-replay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("log.csv");
        let mut text = COLUMNS.join(",") + "\n";
        for i in 0..200 {
            let (h, m) = (8 + i / 60, i % 60);
            let inv = if i % 10 == 9 {
                format!("C{}", 500 + i)
            } else {
                (500 + i).to_string()
            };
            for p in ["22423", "85123A"] {
                text += &format!(
                    "{inv},{p},\"CAKE STAND, \"\"REGENCY\"\"\",2,2011-05-02T{h:02}:{m:02}:00Z,12.75,{},United Kingdom\n",
                    if i % 2 == 0 { "17850" } else { "" }
                );
            }
        }
        std::fs::write(&src, &text).unwrap();
        let run = |seed| {
            let mut out = Vec::new();
            let opts = Options {
                times: 5.0,
                seed,
                jitter_minutes: 30,
            };
            let stats = replay(&src, &opts, &mut out).unwrap();
            (stats, String::from_utf8(out).unwrap())
        };
        let (stats, out) = run(7);
        assert_eq!(run(7).1, out, "seeded: reproducible");
        assert_ne!(run(8).1, out);
        assert_eq!((stats.source_invoices, stats.source_rows), (200, 400));
        assert!((800..1200).contains(&stats.invoices), "{}", stats.invoices);
        assert_eq!(stats.rows, 2 * stats.invoices);
        // Valid CSV of the log's shape, in time order, fresh invoice ids.
        let mut rdr = csv::Reader::from_reader(out.as_bytes());
        let mut last = String::new();
        let mut ids = std::collections::HashSet::new();
        let mut n = 0;
        for rec in rdr.records() {
            let rec = rec.unwrap();
            assert_eq!(rec.len(), 8);
            assert_eq!(&rec[2], "CAKE STAND, \"REGENCY\"");
            assert!(rec[4] >= *last, "{} after {last}", &rec[4]);
            last = rec[4].to_string();
            assert!(
                rec[6].is_empty() || rec[6].ends_with("17850"),
                "{}",
                &rec[6]
            );
            ids.insert(rec[0].to_string());
            n += 1;
        }
        assert_eq!(n, stats.rows);
        assert_eq!(ids.len() as u64, stats.invoices);
        assert!(ids.iter().any(|i| i.starts_with('C')));
        assert!(last.as_str() <= "2011-05-02T11:49:00Z" && last.as_str() > "2011-05-02T11:00:00Z");
    }
}
