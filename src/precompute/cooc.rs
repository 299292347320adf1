//! "Also bought": co-purchase counts over baskets, scored by cosine
//! similarity (pairs / √(baskets with a · baskets with b)), which corrects for
//! plain popularity, with a minimum support.

use super::events::{column, RowReport};
use super::input;
use super::intern::Interner;
use rustc_hash::FxHashMap;
use std::io::Write;
use std::path::Path;

/// Items of one basket counted at most (large wholesale orders would add
/// quadratically many weak pairs).
pub const MAX_BASKET: usize = 100;
/// A basket without an order id closes after this much inactivity.
pub const SESSION_GAP_MS: i64 = 30 * 60 * 1000;
/// Pair counts are a dense triangle (4 bytes per possible pair, no hashing,
/// rows walked in order) while the products seen stay within this
/// (128 MiB at most); a larger catalog switches to a hash map of the pairs
/// actually seen.
pub const DENSE_MAX_PRODUCTS: usize = 8_192;

#[derive(Debug, Default, Clone)]
pub struct Cooc {
    /// Product id → baskets containing it.
    pub items: Vec<u32>,
    pairs: Pairs,
    pub baskets: u64,
}

/// (a, b), a ≠ b → baskets containing both.
#[derive(Debug, Clone)]
enum Pairs {
    /// Pairs of the first `rows` products; row b holds (a, b) for every
    /// a < b at `b·(b−1)/2 + a`.
    Dense { counts: Vec<u32>, rows: usize },
    /// Key `min << 32 | max`.
    Sparse(FxHashMap<u64, u32>),
}

impl Default for Pairs {
    fn default() -> Self {
        Pairs::Dense {
            counts: Vec::new(),
            rows: 0,
        }
    }
}

/// Start of row `b` of the triangle (the pairs (·, b)).
fn tri(b: usize) -> usize {
    b * b.saturating_sub(1) / 2
}

fn pair(a: u32, b: u32) -> u64 {
    (u64::from(a.min(b)) << 32) | u64::from(a.max(b))
}

impl Pairs {
    /// Makes room for the pairs of products `0..n`.
    fn fit(&mut self, n: usize) {
        let Pairs::Dense { counts, rows } = self else {
            return;
        };
        if n <= *rows {
            return;
        }
        if n > DENSE_MAX_PRODUCTS {
            let mut m = FxHashMap::default();
            for_each_dense(counts, *rows, |a, b, c| {
                m.insert(pair(a, b), c);
            });
            *self = Pairs::Sparse(m);
            return;
        }
        // A few hundred rows at a time: a catalog is mostly seen early.
        *rows = (*rows + 256).max(n).min(DENSE_MAX_PRODUCTS);
        counts.resize(tri(*rows), 0);
    }

    /// Adds `n` to (a, b), a ≠ b; [`Pairs::fit`] must have made room.
    fn add(&mut self, a: u32, b: u32, n: u32) {
        let (lo, hi) = (a.min(b) as usize, a.max(b) as usize);
        match self {
            Pairs::Dense { counts, .. } => counts[tri(hi) + lo] += n,
            Pairs::Sparse(m) => *m.entry(pair(a, b)).or_default() += n,
        }
    }

    fn get(&self, a: u32, b: u32) -> u32 {
        let (lo, hi) = (a.min(b) as usize, a.max(b) as usize);
        match self {
            _ if lo == hi => 0,
            Pairs::Dense { counts, rows } if hi < *rows => counts[tri(hi) + lo],
            Pairs::Dense { .. } => 0,
            Pairs::Sparse(m) => m.get(&pair(a, b)).copied().unwrap_or(0),
        }
    }

    /// Every counted pair (a < b, count > 0), in no particular order.
    fn for_each(&self, mut f: impl FnMut(u32, u32, u32)) {
        match self {
            Pairs::Dense { counts, rows } => for_each_dense(counts, *rows, f),
            Pairs::Sparse(m) => {
                for (&k, &n) in m {
                    if n > 0 {
                        f((k >> 32) as u32, k as u32, n);
                    }
                }
            }
        }
    }

    /// Drops the pairs `keep` refuses.
    fn retain(&mut self, mut keep: impl FnMut(u32, u32) -> bool) {
        match self {
            Pairs::Dense { counts, rows } => {
                for b in 1..*rows {
                    let row = &mut counts[tri(b)..tri(b) + b];
                    for (a, c) in row.iter_mut().enumerate() {
                        if *c > 0 && !keep(a as u32, b as u32) {
                            *c = 0;
                        }
                    }
                }
            }
            Pairs::Sparse(m) => m.retain(|k, _| keep((*k >> 32) as u32, *k as u32)),
        }
    }
}

fn for_each_dense(counts: &[u32], rows: usize, mut f: impl FnMut(u32, u32, u32)) {
    for b in 1..rows {
        for (a, &n) in counts[tri(b)..tri(b) + b].iter().enumerate() {
            if n > 0 {
                f(a as u32, b as u32, n);
            }
        }
    }
}

impl Cooc {
    /// Counts one basket (duplicates ignored; the first [`MAX_BASKET`] items).
    pub fn add_basket(&mut self, items: &[u32]) {
        let mut seen: Vec<u32> = Vec::with_capacity(items.len().min(MAX_BASKET));
        for &i in items {
            if !seen.contains(&i) {
                seen.push(i);
                if seen.len() == MAX_BASKET {
                    break;
                }
            }
        }
        self.baskets += 1;
        // Ascending ids: each product's row of the triangle is walked in order.
        seen.sort_unstable();
        let Some(&max) = seen.last() else {
            return;
        };
        if self.items.len() <= max as usize {
            self.items.resize(max as usize + 1, 0);
        }
        self.pairs.fit(max as usize + 1);
        for &a in &seen {
            self.items[a as usize] += 1;
        }
        match &mut self.pairs {
            Pairs::Dense { counts, .. } => {
                for (x, &b) in seen.iter().enumerate() {
                    let start = tri(b as usize);
                    let row = &mut counts[start..start + b as usize];
                    for &a in &seen[..x] {
                        row[a as usize] += 1;
                    }
                }
            }
            Pairs::Sparse(m) => {
                for (x, &b) in seen.iter().enumerate() {
                    for &a in &seen[..x] {
                        *m.entry(pair(a, b)).or_default() += 1;
                    }
                }
            }
        }
    }

    /// Baskets containing `a`.
    pub fn item_count(&self, a: u32) -> u32 {
        self.items.get(a as usize).copied().unwrap_or(0)
    }

    /// Baskets containing both `a` and `b` (a ≠ b).
    pub fn pair_count(&self, a: u32, b: u32) -> u32 {
        self.pairs.get(a, b)
    }

    /// Ranked lists for every product: pairs with at least `min_support`
    /// baskets, best first (ties by id name), at most `len` each.
    pub fn lists(
        &self,
        names: &Interner,
        min_support: u32,
        len: usize,
    ) -> FxHashMap<u32, Vec<(u32, f64)>> {
        let rank = names.name_ranks();
        let order = |x: &(u32, f64), y: &(u32, f64)| {
            y.1.total_cmp(&x.1)
                .then_with(|| rank[x.0 as usize].cmp(&rank[y.0 as usize]))
        };
        // Each list is cut back to its best `len` whenever it doubles, so
        // memory stays with the products, not the pairs.
        let mut out: FxHashMap<u32, Vec<(u32, f64)>> = FxHashMap::default();
        let mut push = |a: u32, entry: (u32, f64)| {
            let v = out.entry(a).or_default();
            v.push(entry);
            if len > 0 && v.len() >= 2 * len + 16 {
                v.select_nth_unstable_by(len - 1, order);
                v.truncate(len);
            }
        };
        self.pairs.for_each(|a, b, n| {
            if n < min_support {
                return;
            }
            let s = f64::from(n)
                / (f64::from(self.items[a as usize]) * f64::from(self.items[b as usize])).sqrt();
            push(a, (b, s));
            push(b, (a, s));
        });
        for v in out.values_mut() {
            v.sort_by(order);
            v.truncate(len);
        }
        out
    }

    /// Dumps `product_a,product_b,baskets` (a row with a = b is the number
    /// of baskets containing a), sorted.
    pub fn write_csv(&self, names: &Interner, out: impl Write) -> std::io::Result<()> {
        // Ranks in name order, so rows sort as (u32, u32) instead of strings.
        let rank = names.name_ranks();
        let mut by_name = vec![0u32; rank.len()];
        for (id, &r) in rank.iter().enumerate() {
            by_name[r as usize] = id as u32;
        }
        let mut rows: Vec<(u32, u32, u32)> = Vec::new();
        for (a, &n) in self.items.iter().enumerate() {
            if n > 0 {
                rows.push((rank[a], rank[a], n));
            }
        }
        self.pairs.for_each(|a, b, n| {
            let (ra, rb) = (rank[a as usize], rank[b as usize]);
            rows.push((ra.min(rb), ra.max(rb), n));
        });
        rows.sort_unstable();
        let mut w = csv::Writer::from_writer(out);
        w.write_record(["product_a", "product_b", "baskets"])?;
        for (a, b, n) in rows {
            let (a, b) = (by_name[a as usize], by_name[b as usize]);
            w.write_record([names.name(a), names.name(b), &n.to_string()])?;
        }
        w.flush()
    }

    /// Reads what [`Cooc::write_csv`] writes, interning products in `names`.
    pub fn read_csv(path: &Path, names: &mut Interner) -> Result<(Cooc, RowReport), String> {
        let input = input::open(path, "pairs", false).map_err(|e| e.to_string())?;
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(input.reader);
        let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
        let col =
            |n: &str| column(&headers, &[n]).ok_or_else(|| format!("pairs CSV has no {n} column"));
        let (ca, cb, cn) = (col("product_a")?, col("product_b")?, col("baskets")?);
        let mut cooc = Cooc::default();
        let mut report = RowReport::default();
        for rec in rdr.records() {
            report.rows += 1;
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    report.bad(report.rows + 1, format!("unreadable CSV: {e}"));
                    continue;
                }
            };
            let line = rec.position().map_or(0, |p| p.line());
            let (a, b) = (rec.get(ca).unwrap_or(""), rec.get(cb).unwrap_or(""));
            let n = rec.get(cn).and_then(|n| n.trim().parse::<u32>().ok());
            match n {
                Some(n) if !a.is_empty() && !b.is_empty() && rec.len() == headers.len() => {
                    report.used += 1;
                    let (ia, ib) = (names.id(a), names.id(b));
                    let top = ia.max(ib) as usize + 1;
                    if cooc.items.len() < top {
                        cooc.items.resize(top, 0);
                    }
                    if ia == ib {
                        cooc.items[ia as usize] += n;
                    } else {
                        cooc.pairs.fit(top);
                        cooc.pairs.add(ia, ib, n);
                    }
                }
                _ => report.bad(line, "expected product_a,product_b,baskets (a count)"),
            }
        }
        // Pairs whose items have no count row are unusable.
        let items = &cooc.items;
        cooc.pairs
            .retain(|a, b| items[a as usize] > 0 && items[b as usize] > 0);
        Ok((cooc, report))
    }
}

/// Baskets being assembled from a time-ordered stream: by order id, or by
/// visitor session when the log has no order ids.
#[derive(Default)]
pub struct Baskets {
    /// `o:<order>` or `v:<visitor>` → (latest event, items).
    open: FxHashMap<String, (i64, Vec<u32>)>,
    latest_ms: i64,
    since_sweep: u32,
    /// Item lists of closed baskets, for reuse.
    spare: Vec<Vec<u32>>,
}

impl Baskets {
    /// Adds a product to the basket `key`; every 10,000 additions, the
    /// baskets idle for [`SESSION_GAP_MS`] of stream time are counted.
    pub fn add(&mut self, key: &str, ts_ms: i64, product: u32, cooc: &mut Cooc) {
        match self.open.get_mut(key) {
            Some(b) => {
                b.0 = b.0.max(ts_ms);
                b.1.push(product);
            }
            None => {
                let mut items = self.spare.pop().unwrap_or_default();
                items.push(product);
                self.open.insert(key.to_string(), (ts_ms, items));
            }
        }
        self.latest_ms = self.latest_ms.max(ts_ms);
        self.since_sweep += 1;
        if self.since_sweep >= 10_000 {
            self.since_sweep = 0;
            let cutoff = self.latest_ms - SESSION_GAP_MS;
            for (_, (_, mut items)) in self.open.extract_if(|_, b| b.0 < cutoff) {
                cooc.add_basket(&items);
                items.clear();
                self.spare.push(items);
            }
        }
    }

    pub fn finish(&mut self, cooc: &mut Cooc) {
        for (_, (_, items)) in self.open.drain() {
            cooc.add_basket(&items);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_corrects_for_popularity() {
        let mut names = Interner::default();
        let [pop, a, b, c] = ["pop", "a", "b", "c"].map(|n| names.id(n));
        let mut co = Cooc::default();
        // `pop` is in every basket; `a` and `b` go together.
        for _ in 0..5 {
            co.add_basket(&[pop, a, b, a]);
        }
        for _ in 0..20 {
            co.add_basket(&[pop, c]);
        }
        co.add_basket(&[pop, a]);
        assert_eq!(co.item_count(a), 6);
        assert_eq!(co.pair_count(a, b), 5);
        assert_eq!(co.pair_count(b, a), 5);
        assert_eq!(co.pair_count(a, a), 0);
        let lists = co.lists(&names, 3, 10);
        assert_eq!(lists[&a][0].0, b, "b beats the more frequent pop");
        assert_eq!(lists[&a].len(), 2);
        assert!(!lists.contains_key(&c) || lists[&c].iter().all(|x| x.0 == pop));
        let strict = co.lists(&names, 6, 10);
        assert!(strict[&a].iter().all(|x| x.0 == pop));
    }

    /// The dense triangle and the hash map count the same pairs, and a
    /// catalog outgrowing the triangle moves to the map without losing any.
    #[test]
    fn dense_and_sparse_pairs_agree() {
        let mut rng = 7u64;
        let mut next = |n: u64| {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((rng >> 33) % n) as u32
        };
        let baskets: Vec<Vec<u32>> = (0..400)
            .map(|i| {
                let hi = if i < 300 {
                    300
                } else {
                    DENSE_MAX_PRODUCTS as u64 + 50
                };
                (0..next(30) + 1).map(|_| next(hi)).collect()
            })
            .collect();
        let mut dense = Cooc::default();
        let mut naive: FxHashMap<u64, u32> = FxHashMap::default();
        for (i, b) in baskets.iter().enumerate() {
            dense.add_basket(b);
            let mut seen: Vec<u32> = Vec::new();
            for &x in b {
                if !seen.contains(&x) {
                    seen.push(x);
                }
            }
            for (k, &x) in seen.iter().enumerate() {
                for &y in &seen[k + 1..] {
                    *naive.entry(pair(x, y)).or_default() += 1;
                }
            }
            if i == 299 {
                assert!(matches!(dense.pairs, Pairs::Dense { .. }));
            }
        }
        assert!(matches!(dense.pairs, Pairs::Sparse(_)));
        let mut got: FxHashMap<u64, u32> = FxHashMap::default();
        dense.pairs.for_each(|a, b, n| {
            assert!(a < b);
            got.insert(pair(a, b), n);
        });
        assert_eq!(got, naive);
    }
}
