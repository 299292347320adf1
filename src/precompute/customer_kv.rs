//! Customer values in KV: written as a `wrangler kv bulk put` file streamed
//! customer by customer (never held whole), checked and published the same
//! way (one entry in memory at a time, 10,000 per put), and erased one
//! customer at a time (`borderless forget`).

use super::customers::{Model, Params};
use super::history::Collector;
use super::publish::{self, Target, MAX_PAIRS_PER_PUT};
use crate::request::identity;
use crate::schema::{BulkEntry, Card, CustomerValue, GLOBAL_COUNTRY, MAX_CUSTOMER_VALUE_BYTES};
use serde::de::{Deserializer, SeqAccess, Visitor};
use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::path::Path;

/// KV's shortest expiration TTL.
pub const MIN_TTL_S: u64 = 60;

/// What a write or a check saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub customers: u64,
    pub values: u64,
    pub bytes: u64,
    pub largest: usize,
    /// Customers without any list (nothing active left to show).
    pub empty: u64,
    /// Ids a cookie cannot carry (`identity::valid_id`): never identified.
    pub bad_ids: u64,
    pub excluded: u64,
}

/// Writes every customer's value as a bulk file to `out`.
pub fn write(
    history: &mut Collector,
    model: &Model,
    p: &Params,
    kv_secret: &[u8],
    ttl_s: u64,
    exclude: &HashSet<String>,
    out: &mut dyn Write,
) -> Result<Stats, String> {
    if kv_secret.len() < identity::MIN_SECRET {
        return Err(format!(
            "the customer key must have at least {} bytes",
            identity::MIN_SECRET
        ));
    }
    let mut st = Stats::default();
    let mut err: Option<String> = None;
    let mut first = true;
    out.write_all(b"[").map_err(|e| e.to_string())?;
    history.for_each(|cu| {
        st.customers += 1;
        if err.is_some() {
            return;
        }
        if exclude.contains(&cu.id) {
            st.excluded += 1;
            return;
        }
        let Some(key) = identity::valid_id(&cu.id)
            .then(|| identity::kv_key(&cu.id, kv_secret))
            .flatten()
        else {
            st.bad_ids += 1;
            return;
        };
        let Some(v) = model.value(cu, p) else {
            st.empty += 1;
            return;
        };
        let res = serde_json::to_string(&v)
            .map_err(|e| e.to_string())
            .and_then(|value| {
                if value.len() > MAX_CUSTOMER_VALUE_BYTES {
                    return Err(format!("{key}: value of {} bytes", value.len()));
                }
                st.values += 1;
                st.bytes += value.len() as u64;
                st.largest = st.largest.max(value.len());
                let e = BulkEntry {
                    key,
                    value,
                    expiration_ttl: Some(ttl_s.max(MIN_TTL_S)),
                };
                out.write_all(if first { b"\n" } else { b",\n" })
                    .map_err(|e| e.to_string())?;
                first = false;
                serde_json::to_writer(&mut *out, &e).map_err(|e| e.to_string())
            });
        if let Err(e) = res {
            err = Some(e);
        }
    })?;
    if let Some(e) = err {
        return Err(e);
    }
    out.write_all(b"\n]\n").map_err(|e| e.to_string())?;
    Ok(st)
}

/// Calls `f` on each entry of a bulk file, one at a time.
pub fn stream(
    path: &Path,
    mut f: impl FnMut(BulkEntry) -> Result<(), String>,
) -> Result<(), String> {
    struct V<'f, F>(&'f mut F, Option<String>);
    impl<'de, F: FnMut(BulkEntry) -> Result<(), String>> Visitor<'de> for V<'_, F> {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array of {key, value}")
        }
        fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Self::Value, A::Error> {
            while let Some(e) = seq.next_element::<BulkEntry>()? {
                if let Err(err) = (self.0)(e) {
                    self.1 = Some(err);
                    break;
                }
            }
            // The rest is read (and must parse) but not acted on.
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(self.1)
        }
    }
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(file));
    let res = de
        .deserialize_seq(V(&mut f, None))
        .map_err(|e| format!("{}: not a bulk file: {e}", path.display()))?;
    de.end()
        .map_err(|e| format!("{}: trailing data: {e}", path.display()))?;
    res.map_or(Ok(()), Err)
}

fn bad_card(c: &Card) -> bool {
    c.title.is_empty() || c.price.parse::<f64>().is_err() || c.currency.len() != 3
}

/// Checks one entry; a value must be what the worker accepts.
pub fn check_entry(e: &BulkEntry) -> Result<usize, String> {
    if !identity::is_kv_key(&e.key) {
        return Err("not a customer key (cust/<64 hex>)".into());
    }
    if e.expiration_ttl.is_some_and(|t| t < MIN_TTL_S) {
        return Err(format!("expiration_ttl under {MIN_TTL_S} s"));
    }
    if e.value.len() > MAX_CUSTOMER_VALUE_BYTES {
        return Err(format!("value is {} bytes", e.value.len()));
    }
    let v: CustomerValue = serde_json::from_str(&e.value).map_err(|err| err.to_string())?;
    if v.country != GLOBAL_COUNTRY && !crate::base::ids::valid_country(&v.country) {
        return Err(format!("country {:?}", v.country));
    }
    let mut seen = BTreeSet::new();
    for id in v.buy_again.iter().chain(&v.for_you) {
        if !seen.insert(id) {
            return Err(format!("product {id:?} listed twice"));
        }
        if !crate::base::ids::valid_id(id) {
            return Err(format!("product id {id:?} is not one the worker accepts"));
        }
        match v.cards.get(id) {
            None => return Err(format!("product {id:?} has no card")),
            Some(c) if c.id != *id || bad_card(c) => return Err(format!("card {id:?} is invalid")),
            Some(_) => {}
        }
    }
    if v.cards.len() != seen.len() {
        return Err("cards of products not listed".into());
    }
    if v.buy_again.is_empty() && v.for_you.is_empty() {
        return Err("no list".into());
    }
    Ok(e.value.len())
}

/// Validates a customer bulk file, streaming; lists the first problems.
pub fn check(path: &Path) -> Result<Stats, Vec<String>> {
    let mut st = Stats::default();
    let mut errs = Vec::new();
    // Keys are HMACs: their first 16 bytes identify them.
    let mut keys: HashSet<u128> = HashSet::new();
    let res = stream(path, |e| {
        st.values += 1;
        let id = e
            .key
            .get(identity::KV_PREFIX.len()..identity::KV_PREFIX.len() + 32)
            .and_then(|h| u128::from_str_radix(h, 16).ok());
        let r = match id {
            Some(id) if !keys.insert(id) => Err("duplicate key".into()),
            _ => check_entry(&e),
        };
        match r {
            Ok(n) => {
                st.bytes += n as u64;
                st.largest = st.largest.max(n);
            }
            Err(err) if errs.len() < 20 => errs.push(format!("{}: {err}", e.key)),
            Err(_) => {}
        }
        Ok(())
    });
    if let Err(e) = res {
        errs.push(e);
    }
    if errs.is_empty() {
        Ok(st)
    } else {
        Err(errs)
    }
}

/// `check`'s summary line, or every problem.
pub fn check_summary(path: &Path) -> Result<String, String> {
    let s = check(path)
        .map_err(|errs| format!("{} is invalid:\n  {}", path.display(), errs.join("\n  ")))?;
    Ok(format!(
        "{}: valid customer file: {} values, {} bytes, {:.0} bytes per customer, largest {} bytes",
        path.display(),
        s.values,
        s.bytes,
        s.bytes as f64 / s.values.max(1) as f64,
        s.largest
    ))
}

/// Checks, then writes a customer file with `wrangler kv bulk put`,
/// [`MAX_PAIRS_PER_PUT`] at a time. Returns the values written.
pub fn publish(path: &Path, target: &Target) -> Result<u64, String> {
    check(path).map_err(|errs| {
        format!(
            "refusing to publish an invalid customer file:\n  {}",
            errs.join("\n  ")
        )
    })?;
    let wrangler = target
        .wrangler
        .clone()
        .unwrap_or_else(publish::find_wrangler);
    let dir = std::env::temp_dir().join(format!("borderless-customers-put-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut chunk: Vec<BulkEntry> = Vec::with_capacity(MAX_PAIRS_PER_PUT);
    let (mut n, mut calls) = (0u64, 0usize);
    let mut flush = |chunk: &mut Vec<BulkEntry>| -> Result<(), String> {
        if chunk.is_empty() {
            return Ok(());
        }
        let file = dir.join(format!("customers-{calls}.json"));
        let refs: Vec<&BulkEntry> = chunk.iter().collect();
        publish::put(&wrangler, &file, &refs, target)?;
        let _ = std::fs::remove_file(&file);
        calls += 1;
        n += chunk.len() as u64;
        chunk.clear();
        Ok(())
    };
    let res = stream(path, |e| {
        chunk.push(e);
        if chunk.len() == MAX_PAIRS_PER_PUT {
            flush(&mut chunk)?;
        }
        Ok(())
    })
    .and_then(|()| flush(&mut chunk));
    let _ = std::fs::remove_dir_all(&dir);
    res.map(|()| n)
}

/// GDPR erasure: deletes the customer's value (`wrangler kv key delete`).
/// Returns the key deleted.
pub fn forget(id: &str, kv_secret: &[u8], target: &Target) -> Result<String, String> {
    let key = identity::kv_key(id, kv_secret).ok_or(format!(
        "no key: the id must be 1..={} bytes and the customer key at least {} bytes",
        identity::MAX_ID,
        identity::MIN_SECRET
    ))?;
    let wrangler = target
        .wrangler
        .clone()
        .unwrap_or_else(publish::find_wrangler);
    publish::kv(&wrangler, &["key", "delete"], key.as_ref(), target)
        .map_err(|s| format!("{} kv key delete {key} failed ({s})", wrangler.display()))?;
    Ok(key)
}

/// Environment variable holding the KV key secret (shared with the worker).
pub const KEY_ENV: &str = "BORDERLESS_CUSTOMER_KEY";

/// The KV key secret: the file's content (trailing newline dropped), else
/// `$BORDERLESS_CUSTOMER_KEY`; never a command-line value (it would show in
/// the process list).
pub fn load_key(file: Option<&Path>) -> Result<Vec<u8>, String> {
    let key = match file {
        Some(f) => {
            let mut k = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
            while k.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                k.pop();
            }
            k
        }
        None => std::env::var(KEY_ENV)
            .map_err(|_| format!("no customer key: set ${KEY_ENV} or pass --customer-key-file"))?
            .into_bytes(),
    };
    if key.len() < identity::MIN_SECRET {
        return Err(format!(
            "the customer key has {} bytes, at least {} are needed",
            key.len(),
            identity::MIN_SECRET
        ));
    }
    Ok(key)
}

/// Customer ids to leave out (erased ones), one per line.
pub fn load_exclude(file: Option<&Path>) -> Result<HashSet<String>, String> {
    let Some(f) = file else {
        return Ok(HashSet::new());
    };
    let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}
