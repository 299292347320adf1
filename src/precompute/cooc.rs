//! "Also bought": co-purchase counts over baskets, scored by cosine
//! similarity (pairs / √(baskets with a · baskets with b)), which corrects for
//! plain popularity, with a minimum support.

use super::agg::Interner;
use super::events::{column, RowReport};
use super::input;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// Items of one basket counted at most (large wholesale orders would add
/// quadratically many weak pairs).
pub const MAX_BASKET: usize = 100;
/// A basket without an order id closes after this much inactivity.
pub const SESSION_GAP_MS: i64 = 30 * 60 * 1000;

#[derive(Debug, Default, Clone)]
pub struct Cooc {
    /// Product → baskets containing it.
    pub items: HashMap<u32, u32>,
    /// (a, b) with a < b → baskets containing both.
    pub pairs: HashMap<u64, u32>,
    pub baskets: u64,
}

fn pair(a: u32, b: u32) -> u64 {
    (u64::from(a.min(b)) << 32) | u64::from(a.max(b))
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
        for (x, &a) in seen.iter().enumerate() {
            *self.items.entry(a).or_default() += 1;
            for &b in &seen[x + 1..] {
                *self.pairs.entry(pair(a, b)).or_default() += 1;
            }
        }
    }

    /// Ranked lists for every product: pairs with at least `min_support`
    /// baskets, best first (ties by id name), at most `len` each.
    pub fn lists(
        &self,
        names: &Interner,
        min_support: u32,
        len: usize,
    ) -> HashMap<u32, Vec<(u32, f64)>> {
        let mut out: HashMap<u32, Vec<(u32, f64)>> = HashMap::new();
        for (&k, &n) in &self.pairs {
            if n < min_support {
                continue;
            }
            let (a, b) = ((k >> 32) as u32, k as u32);
            let s = f64::from(n) / (f64::from(self.items[&a]) * f64::from(self.items[&b])).sqrt();
            out.entry(a).or_default().push((b, s));
            out.entry(b).or_default().push((a, s));
        }
        for v in out.values_mut() {
            v.sort_by(|x, y| {
                y.1.total_cmp(&x.1)
                    .then_with(|| names.name(x.0).cmp(names.name(y.0)))
            });
            v.truncate(len);
        }
        out
    }

    /// Dumps `product_a,product_b,baskets` (a row with a = b is the number
    /// of baskets containing a), sorted.
    pub fn write_csv(&self, names: &Interner, out: impl Write) -> std::io::Result<()> {
        let mut rows: Vec<(&str, &str, u32)> = self
            .items
            .iter()
            .map(|(&a, &n)| (names.name(a), names.name(a), n))
            .chain(self.pairs.iter().map(|(&k, &n)| {
                let (a, b) = (names.name((k >> 32) as u32), names.name(k as u32));
                (a.min(b), a.max(b), n)
            }))
            .collect();
        rows.sort();
        let mut w = csv::Writer::from_writer(out);
        w.write_record(["product_a", "product_b", "baskets"])?;
        for (a, b, n) in rows {
            w.write_record([a, b, &n.to_string()])?;
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
                    if ia == ib {
                        *cooc.items.entry(ia).or_default() += n;
                    } else {
                        *cooc.pairs.entry(pair(ia, ib)).or_default() += n;
                    }
                }
                _ => report.bad(line, "expected product_a,product_b,baskets (a count)"),
            }
        }
        // Pairs whose items have no count row are unusable.
        let items = &cooc.items;
        cooc.pairs.retain(|k, _| {
            items.contains_key(&((k >> 32) as u32)) && items.contains_key(&(*k as u32))
        });
        Ok((cooc, report))
    }
}

/// Baskets being assembled from a time-ordered stream: by order id, or by
/// visitor session when the log has no order ids.
#[derive(Default)]
pub struct Baskets {
    open: HashMap<String, (i64, Vec<u32>)>,
    latest_ms: i64,
    since_sweep: u32,
}

impl Baskets {
    pub fn add(&mut self, key: String, ts_ms: i64, product: u32, cooc: &mut Cooc) {
        let b = self.open.entry(key).or_insert((ts_ms, Vec::new()));
        b.0 = b.0.max(ts_ms);
        b.1.push(product);
        self.latest_ms = self.latest_ms.max(ts_ms);
        self.since_sweep += 1;
        if self.since_sweep >= 10_000 {
            self.since_sweep = 0;
            let cutoff = self.latest_ms - SESSION_GAP_MS;
            let done: Vec<String> = self
                .open
                .iter()
                .filter(|(_, b)| b.0 < cutoff)
                .map(|(k, _)| k.clone())
                .collect();
            let mut done = done;
            done.sort();
            for k in done {
                if let Some((_, items)) = self.open.remove(&k) {
                    cooc.add_basket(&items);
                }
            }
        }
    }

    pub fn finish(&mut self, cooc: &mut Cooc) {
        let mut rest: Vec<_> = self.open.drain().collect();
        rest.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, (_, items)) in rest {
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
        assert_eq!(co.items[&a], 6);
        assert_eq!(co.pairs[&pair(a, b)], 5);
        let lists = co.lists(&names, 3, 10);
        assert_eq!(lists[&a][0].0, b, "b beats the more frequent pop");
        assert_eq!(lists[&a].len(), 2);
        assert!(!lists.contains_key(&c) || lists[&c].iter().all(|x| x.0 == pop));
        let strict = co.lists(&names, 6, 10);
        assert!(strict[&a].iter().all(|x| x.0 == pop));
    }
}
