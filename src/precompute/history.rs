//! Per-customer purchase history, streaming and memory-bounded: one cell per
//! (customer, product) — distinct orders, units, units returned, first and
//! last purchase — plus the customer's country. Cells are combined in memory
//! up to a budget; past it they are spilled to shard files by a hash of the
//! customer, and each shard is merged on its own at the end, so memory is
//! bounded by the budget and one shard, not by the number of customers.
//!
//! The same cells are the per-customer counts a warehouse can compute
//! (`customer,country,product,orders,quantity,returned,first_seen,last_seen`).

use super::agg::Stamps;
use super::events::{column, next_record, Event, Kind, RowReport};
use super::input;
use super::intern::Interner;
use crate::base::time::parse_rfc3339;
use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Longest customer id kept (longer ones are counted and skipped).
pub const MAX_CUSTOMER_ID: usize = 64;
/// A purchase without an order id belongs to the visitor's 30-minute window.
const SESSION_MS: i64 = 30 * 60 * 1000;

/// One (customer, product). `first_order`/`last_order` are hashes of the
/// orders at both ends (0 = unknown), so two partial cells of the same
/// order, split by a spill, are not counted as two orders.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cell {
    pub orders: u32,
    pub quantity: u64,
    pub returned: u64,
    pub first_ms: i64,
    pub last_ms: i64,
    first_order: u64,
    last_order: u64,
}

impl Cell {
    /// Cell of final counts (a warehouse row): no order hashes.
    pub fn counted(orders: u32, quantity: u64, returned: u64, first_ms: i64, last_ms: i64) -> Cell {
        Cell {
            orders,
            quantity,
            returned,
            first_ms,
            last_ms,
            first_order: 0,
            last_order: 0,
        }
    }

    fn purchase(&mut self, order: u64, qty: u64, ts: i64) {
        if self.orders == 0 {
            self.first_ms = ts;
            self.last_ms = ts;
            self.first_order = order;
            self.orders = 1;
        } else if order != self.last_order || order == 0 {
            self.orders += 1;
        }
        self.last_order = order;
        self.first_ms = self.first_ms.min(ts);
        self.last_ms = self.last_ms.max(ts);
        self.quantity += qty;
    }

    /// Adds `later`, a partial cell of the same pair from later in the stream.
    fn merge(&mut self, later: &Cell) {
        self.returned += later.returned;
        if later.orders == 0 {
            return;
        }
        if self.orders == 0 {
            let returned = self.returned;
            *self = *later;
            self.returned = returned;
            return;
        }
        let same = self.last_order != 0 && self.last_order == later.first_order;
        self.orders += later.orders - u32::from(same);
        self.quantity += later.quantity;
        self.first_ms = self.first_ms.min(later.first_ms);
        self.last_ms = self.last_ms.max(later.last_ms);
        self.last_order = later.last_order;
    }
}

/// The country of a customer: the one of their latest event with a known
/// country (ties: the larger code), as (time, code).
pub type Country = Option<(i64, [u8; 2])>;

fn later_country(a: Country, b: Country) -> Country {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// A customer's merged history, products by the collector's ids.
#[derive(Debug, Clone, Default)]
pub struct Customer {
    pub id: String,
    pub country: Option<String>,
    /// (product, cell), cells with at least one order, by product id.
    pub cells: Vec<(u32, Cell)>,
}

fn code(c: &str) -> Option<[u8; 2]> {
    let b = c.as_bytes();
    crate::base::ids::valid_country(c).then(|| [b[0], b[1]])
}

#[derive(Default)]
struct Open {
    country: Country,
    cells: FxHashMap<u32, Cell>,
}

/// Collects cells from events or count rows; see the module doc.
pub struct Collector {
    pub products: Interner,
    open: FxHashMap<String, Open>,
    cells: usize,
    /// Cells kept in memory before a spill.
    budget: usize,
    shards: Vec<BufWriter<std::fs::File>>,
    dir: Option<PathBuf>,
    /// Purchases or cancellations skipped (no customer, id too long).
    pub skipped: u64,
    pub spills: u32,
}

/// Shard files a spill spreads customers over.
pub const SHARDS: usize = 64;

fn shard_of(id: &str) -> usize {
    let mut h = FxHasher::default();
    id.hash(&mut h);
    (h.finish() % SHARDS as u64) as usize
}

fn order_hash(ev: &Event) -> u64 {
    let mut h = FxHasher::default();
    match &ev.order {
        Some(o) => o.hash(&mut h),
        None => ev.ts_ms.div_euclid(SESSION_MS).hash(&mut h),
    }
    h.finish() | 1
}

impl Collector {
    /// `budget`: cells in memory before spilling (about 100 bytes each).
    pub fn new(budget: usize) -> Collector {
        Collector {
            products: Interner::default(),
            open: FxHashMap::default(),
            cells: 0,
            budget: budget.max(1),
            shards: Vec::new(),
            dir: None,
            skipped: 0,
            spills: 0,
        }
    }

    fn entry(&mut self, id: &str) -> &mut Open {
        if !self.open.contains_key(id) {
            self.open.insert(id.to_string(), Open::default());
        }
        self.open.get_mut(id).expect("inserted")
    }

    /// Counts a purchase or cancellation of a known customer.
    pub fn add(&mut self, ev: &Event) -> Result<(), String> {
        if !matches!(ev.kind, Kind::Purchase | Kind::Cancel) {
            return Ok(());
        }
        if ev.visitor.is_empty() || ev.visitor.len() > MAX_CUSTOMER_ID {
            self.skipped += 1;
            return Ok(());
        }
        let p = self.products.id(&ev.product);
        let country = ev.country.as_deref().and_then(code).map(|c| (ev.ts_ms, c));
        let order = order_hash(ev);
        let o = self.entry(&ev.visitor);
        o.country = later_country(o.country, country);
        let fresh = !o.cells.contains_key(&p);
        let c = o.cells.entry(p).or_default();
        match ev.kind {
            Kind::Purchase => c.purchase(order, ev.quantity, ev.ts_ms),
            _ => c.returned += ev.quantity,
        }
        self.grew(fresh)
    }

    /// Adds a row of final counts (a warehouse's).
    pub fn add_counted(
        &mut self,
        id: &str,
        country: Option<&str>,
        product: &str,
        cell: Cell,
    ) -> Result<(), String> {
        let p = self.products.id(product);
        let country = country.and_then(code).map(|c| (cell.last_ms, c));
        let o = self.entry(id);
        o.country = later_country(o.country, country);
        let fresh = !o.cells.contains_key(&p);
        o.cells.entry(p).or_default().merge(&cell);
        self.grew(fresh)
    }

    fn grew(&mut self, fresh: bool) -> Result<(), String> {
        self.cells += usize::from(fresh);
        if self.cells >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<(), String> {
        if self.shards.is_empty() {
            let dir = std::env::temp_dir().join(format!(
                "borderless-customers-{}-{:x}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos())
            ));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for i in 0..SHARDS {
                let f = std::fs::File::create(dir.join(format!("{i}.bin")))
                    .map_err(|e| format!("{}: {e}", dir.display()))?;
                self.shards.push(BufWriter::with_capacity(1 << 15, f));
            }
            self.dir = Some(dir);
        }
        let mut rec = Vec::with_capacity(128);
        for (id, o) in self.open.drain() {
            let w = &mut self.shards[shard_of(&id)];
            for (p, c) in o.cells {
                rec.clear();
                encode(&mut rec, &id, o.country, p, &c);
                w.write_all(&rec).map_err(|e| e.to_string())?;
            }
        }
        self.cells = 0;
        self.spills += 1;
        Ok(())
    }

    /// Calls `f` for every customer with at least one purchase, by shard and
    /// then by id (also when nothing was spilled). Callable more than once (the shards are read again).
    pub fn for_each(&mut self, mut f: impl FnMut(&Customer)) -> Result<(), String> {
        if self.shards.is_empty() {
            visit(&self.open, &mut f);
            return Ok(());
        }
        if !self.open.is_empty() {
            self.spill()?;
        }
        for w in &mut self.shards {
            w.flush().map_err(|e| e.to_string())?;
        }
        let dir = self.dir.clone().expect("spilled");
        for i in 0..SHARDS {
            let path = dir.join(format!("{i}.bin"));
            let file =
                std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut r = BufReader::with_capacity(1 << 16, file);
            let mut open: FxHashMap<String, Open> = FxHashMap::default();
            while let Some((id, country, p, c)) = decode(&mut r)? {
                let o = open.entry(id).or_default();
                o.country = later_country(o.country, country);
                o.cells.entry(p).or_default().merge(&c);
            }
            visit(&open, &mut f);
        }
        Ok(())
    }

    /// Writes the per-customer counts CSV, sorted by customer within a shard.
    pub fn write_csv(&mut self, out: impl Write) -> Result<(), String> {
        let mut w = csv::Writer::from_writer(out);
        let header = [
            "customer",
            "country",
            "product",
            "orders",
            "quantity",
            "returned",
            "first_seen",
            "last_seen",
        ];
        w.write_record(header).map_err(|e| e.to_string())?;
        let mut stamps = Stamps::default();
        let mut err = None;
        let products = self.products.clone();
        self.for_each(|cu| {
            for (p, c) in &cu.cells {
                let nums = [c.orders as u64, c.quantity, c.returned].map(|n| n.to_string());
                let (first, last) = (
                    stamps.format(c.first_ms).to_string(),
                    stamps.format(c.last_ms).to_string(),
                );
                let row = [
                    cu.id.as_str(),
                    cu.country.as_deref().unwrap_or(""),
                    products.name(*p),
                    &nums[0],
                    &nums[1],
                    &nums[2],
                    &first,
                    &last,
                ];
                if let Err(e) = w.write_record(row) {
                    err.get_or_insert(e.to_string());
                }
            }
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        w.flush().map_err(|e| e.to_string())
    }

    /// Reads a per-customer counts CSV (what [`Collector::write_csv`] writes).
    pub fn read_csv(&mut self, path: &Path, progress: bool) -> Result<RowReport, String> {
        let input = input::open(path, "customer counts", progress).map_err(|e| e.to_string())?;
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(input.reader);
        let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
        let names = [
            "customer",
            "country",
            "product",
            "orders",
            "quantity",
            "returned",
            "first_seen",
            "last_seen",
        ];
        let mut cols = [0usize; 8];
        for (c, n) in cols.iter_mut().zip(names) {
            *c = column(&headers, &[n]).ok_or(format!("customer counts have no {n} column"))?;
        }
        let mut report = RowReport::default();
        let mut rec = csv::StringRecord::new();
        while let Some(line) = next_record(&mut rdr, &mut rec, &mut report, Some(headers.len()))? {
            match parse_row(&cols.map(|i| rec[i].trim())) {
                Ok((id, country, product, cell)) => {
                    report.used += 1;
                    self.add_counted(id, country, product, cell)?;
                }
                Err(e) => report.bad(line, e),
            }
        }
        input.progress.finish_and_clear();
        Ok(report)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

type Row<'a> = (&'a str, Option<&'a str>, &'a str, Cell);

fn parse_row<'a>(f: &[&'a str; 8]) -> Result<Row<'a>, String> {
    let id = f[0];
    if id.is_empty() || id.len() > MAX_CUSTOMER_ID {
        return Err(format!("customer is empty or over {MAX_CUSTOMER_ID} bytes"));
    }
    let country = match f[1] {
        "" => None,
        c if crate::base::ids::valid_country(c) => Some(c),
        c => return Err(format!("country {c:?} is not ISO 3166-1 alpha-2")),
    };
    if f[2].is_empty() || f[2].len() > 128 {
        return Err("product is empty or over 128 bytes".into());
    }
    let num = |i: usize, what: &str| {
        f[i].parse::<u64>()
            .map_err(|_| format!("{what} {:?} is not a non-negative integer", f[i]))
    };
    let orders = num(3, "orders")?;
    let orders = u32::try_from(orders)
        .ok()
        .filter(|o| *o > 0)
        .ok_or(format!("orders {orders} is not in 1..2^32"))?;
    let (quantity, returned) = (num(4, "quantity")?, num(5, "returned")?);
    let ts = |i: usize, what: &str| {
        parse_rfc3339(f[i]).ok_or_else(|| format!("{what} {:?} is not RFC 3339", f[i]))
    };
    let (first, last) = (ts(6, "first_seen")?, ts(7, "last_seen")?);
    if first > last {
        return Err("first_seen is after last_seen".into());
    }
    let cell = Cell::counted(orders, quantity, returned, first, last);
    Ok((id, country, f[2], cell))
}

fn visit(open: &FxHashMap<String, Open>, f: &mut impl FnMut(&Customer)) {
    // Shard, then id: the same order whether or not anything was spilled.
    let mut ids: Vec<(usize, &String)> = open.keys().map(|k| (shard_of(k), k)).collect();
    ids.sort_unstable();
    let mut cu = Customer::default();
    for (_, id) in ids {
        let o = &open[id];
        cu.cells.clear();
        cu.cells.extend(
            o.cells
                .iter()
                .filter(|(_, c)| c.orders > 0)
                .map(|(p, c)| (*p, *c)),
        );
        if cu.cells.is_empty() {
            continue;
        }
        cu.cells.sort_unstable_by_key(|x| x.0);
        cu.id.clone_from(id);
        cu.country = o
            .country
            .map(|(_, c)| String::from_utf8_lossy(&c).into_owned());
        f(&cu);
    }
}

fn encode(out: &mut Vec<u8>, id: &str, country: Country, p: u32, c: &Cell) {
    out.push(id.len() as u8);
    out.extend_from_slice(id.as_bytes());
    let (cts, cc) = country.unwrap_or((i64::MIN, [0, 0]));
    out.extend_from_slice(&cc);
    out.extend_from_slice(&cts.to_le_bytes());
    out.extend_from_slice(&p.to_le_bytes());
    out.extend_from_slice(&c.orders.to_le_bytes());
    for v in [c.quantity, c.returned, c.first_order, c.last_order] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in [c.first_ms, c.last_ms] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

type Record = (String, Country, u32, Cell);

fn decode(r: &mut impl Read) -> Result<Option<Record>, String> {
    let mut len = [0u8; 1];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.to_string()),
    }
    let mut buf = vec![0u8; usize::from(len[0]) + 2 + 8 + 4 + 4 + 8 * 6];
    r.read_exact(&mut buf).map_err(|e| e.to_string())?;
    let (id, rest) = buf.split_at(usize::from(len[0]));
    let id = String::from_utf8(id.to_vec()).map_err(|e| e.to_string())?;
    let mut at = 2;
    let mut take = |n: usize| {
        let s = &rest[at..at + n];
        at += n;
        s
    };
    let u64_ = |s: &[u8]| u64::from_le_bytes(s.try_into().expect("8 bytes"));
    let cc = [rest[0], rest[1]];
    let cts = u64_(take(8)) as i64;
    let p = u32::from_le_bytes(take(4).try_into().expect("4 bytes"));
    let orders = u32::from_le_bytes(take(4).try_into().expect("4 bytes"));
    let [quantity, returned, first_order, last_order] = [0; 4].map(|_| u64_(take(8)));
    let [first_ms, last_ms] = [0; 2].map(|_| u64_(take(8)) as i64);
    let country = (cts != i64::MIN).then_some((cts, cc));
    let cell = Cell {
        orders,
        quantity,
        returned,
        first_ms,
        last_ms,
        first_order,
        last_order,
    };
    Ok(Some((id, country, p, cell)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: i64, who: &str, p: &str, order: &str, kind: Kind, cc: Option<&str>) -> Event {
        Event {
            ts_ms: t * 1000,
            visitor: who.into(),
            product: p.into(),
            kind,
            quantity: 2,
            country: cc.map(str::to_string),
            order: Some(order.into()),
            ..Event::default()
        }
    }

    fn log() -> Vec<Event> {
        use Kind::*;
        vec![
            ev(1, "c1", "A", "o1", Purchase, Some("DE")),
            ev(1, "c1", "A", "o1", Purchase, Some("DE")),
            ev(1, "c1", "B", "o1", Purchase, Some("DE")),
            ev(2, "c2", "A", "o2", Purchase, None),
            ev(3, "c1", "A", "o3", Purchase, Some("FR")),
            ev(4, "c1", "B", "C9", Cancel, Some("FR")),
            ev(5, "c3", "Z", "C8", Cancel, Some("GB")),
            ev(6, "", "A", "o4", Purchase, Some("GB")),
            ev(7, "c2", "A", "o5", View, Some("GB")),
        ]
    }

    type Seen = Vec<(String, Option<String>, Vec<(String, Cell)>)>;

    fn collect(c: &mut Collector) -> Seen {
        let mut out: Seen = Vec::new();
        let names = c.products.clone();
        c.for_each(|cu| {
            let cells = cu
                .cells
                .iter()
                .map(|(p, c)| (names.name(*p).to_string(), *c))
                .collect();
            out.push((cu.id.clone(), cu.country.clone(), cells));
        })
        .unwrap();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        for x in &mut out {
            x.2.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, c) in &mut x.2 {
                (c.first_order, c.last_order) = (0, 0);
            }
        }
        out
    }

    /// Orders are counted once however the lines are spilled, countries
    /// follow the latest event, cancel-only pairs and guests are left out.
    #[test]
    fn spilled_equals_in_memory() {
        let mut mem = Collector::new(usize::MAX);
        let mut tiny = Collector::new(1);
        for e in log() {
            mem.add(&e).unwrap();
            tiny.add(&e).unwrap();
        }
        assert!(tiny.spills > 3 && mem.spills == 0);
        let (a, b) = (collect(&mut mem), collect(&mut tiny));
        assert_eq!(a, b);
        assert_eq!(collect(&mut tiny), b, "shards can be read twice");
        assert_eq!(a.len(), 2, "c3 only cancelled: {a:?}");
        let (id, country, cells) = &a[0];
        assert_eq!((id.as_str(), country.as_deref()), ("c1", Some("FR")));
        assert_eq!(cells[0].0, "A");
        assert_eq!(cells[0].1, Cell::counted(2, 6, 0, 1000, 3000));
        assert_eq!(cells[1].1, Cell::counted(1, 2, 2, 1000, 1000));
        assert_eq!(a[1].1, None);
        assert_eq!(mem.skipped, 1);
    }

    #[test]
    fn counts_round_trip() {
        let mut c = Collector::new(usize::MAX);
        for e in log() {
            c.add(&e).unwrap();
        }
        let mut csv = Vec::new();
        c.write_csv(&mut csv).unwrap();
        let text = String::from_utf8(csv).unwrap();
        assert!(text.starts_with("customer,country,product,orders,quantity,returned,first_seen,last_seen\nc1,FR,A,2,6,0,1970-01-01T00:00:01Z,1970-01-01T00:00:03Z\n"), "{text}");
        let dir = std::env::temp_dir().join(format!("bl-hist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.csv");
        let bad = "x,DEU,A,1,1,0,1970-01-01T00:00:01Z,1970-01-01T00:00:01Z\ny,,A,0,1,0,1970-01-01T00:00:01Z,1970-01-01T00:00:01Z\n";
        std::fs::write(&path, format!("{text}{bad}")).unwrap();
        let mut back = Collector::new(2);
        let rep = back.read_csv(&path, false).unwrap();
        assert_eq!((rep.used, rep.bad), (3, 2), "{rep:?}");
        assert_eq!(collect(&mut back), collect(&mut c));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
