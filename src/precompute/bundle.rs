//! The KV bundle: one `wrangler kv bulk put` file holding every value the
//! worker reads, versioned under `b/<bundle>/…`, with the pointer (the
//! `config` key, whose `bundle` names the version) last.

use super::catalog::Catalog;
use super::intern::Interner;
use super::rank::Ranking;
use super::segment;
use crate::config;
use crate::rewrite::tm::memory::{value_id, TmValue, KIND_TM, MAX_SHARDS};
use crate::rewrite::tm::notation;
use crate::schema::{
    bundle_key, BulkEntry, Card, Config, CountryPack, Dictionary, FxRates, ANY, CONFIG_KEY,
    GLOBAL_COUNTRY, KIND_COUNTRY, KIND_DICT, KIND_FX, MAX_KV_KEY_BYTES, MAX_KV_VALUE_BYTES,
};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
pub struct PackParams {
    pub top: usize,
    /// Products of a country (by its popularity) that get an "also bought" list.
    pub also_for: usize,
    /// Products of the global pack that get one.
    pub also_for_global: usize,
    pub also_len: usize,
}

impl Default for PackParams {
    fn default() -> Self {
        PackParams {
            top: 20,
            also_for: 200,
            also_for_global: 500,
            also_len: 10,
        }
    }
}

/// One pack per country with data, plus the global pack `ZZ`.
pub fn packs(
    r: &Ranking,
    also: &FxHashMap<u32, Vec<(u32, f64)>>,
    names: &Interner,
    catalog: &Catalog,
    p: &PackParams,
) -> BTreeMap<String, CountryPack> {
    let mut out = BTreeMap::new();
    let mut countries = r.countries();
    countries.push(GLOBAL_COUNTRY.to_string());
    let global_key = crate::schema::segment_key(ANY, ANY, ANY, ANY, ANY);
    for cc in countries {
        let (seg_country, n_also) = if cc == GLOBAL_COUNTRY {
            (ANY, p.also_for_global)
        } else {
            (cc.as_str(), p.also_for)
        };
        let name = |i: u32| names.name(i).to_string();
        let mut segments: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for key in &r.emitted {
            if segment::country(key) == seg_country || *key == global_key {
                segments.insert(
                    key.clone(),
                    r.top(key, p.top).into_iter().map(name).collect(),
                );
            }
        }
        let trending: Vec<String> = r
            .trending
            .get(seg_country)
            .map(|v| v.iter().map(|&i| name(i)).collect())
            .unwrap_or_default();
        // Lists for the country's most popular products and everything shown.
        let country_key = crate::schema::segment_key(seg_country, ANY, ANY, ANY, ANY);
        let mut sources: BTreeSet<u32> = r.top(&country_key, n_also).into_iter().collect();
        for ids in segments.values() {
            sources.extend(ids.iter().filter_map(|id: &String| names.get(id)));
        }
        sources.extend(trending.iter().filter_map(|id| names.get(id)));
        let mut also_bought = BTreeMap::new();
        for src in sources {
            let list: Vec<String> = also
                .get(&src)
                .into_iter()
                .flatten()
                .filter(|(b, _)| r.eligible(seg_country, *b))
                .take(p.also_len)
                .map(|(b, _)| name(*b))
                .collect();
            if !list.is_empty() {
                also_bought.insert(name(src), list);
            }
        }
        let mut cards: BTreeMap<String, Card> = BTreeMap::new();
        let referenced = segments
            .values()
            .flatten()
            .chain(&trending)
            .chain(also_bought.keys())
            .chain(also_bought.values().flatten());
        for id in referenced {
            if let Some(prod) = catalog.active(id) {
                cards
                    .entry(id.to_string())
                    .or_insert_with(|| prod.card.clone());
            }
        }
        out.insert(
            cc.clone(),
            CountryPack {
                country: cc,
                segments,
                trending,
                also_bought,
                cards,
            },
        );
    }
    out
}

/// Optional values beside the packs.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub fx: Option<FxRates>,
    pub dicts: Vec<Dictionary>,
    /// Translation memory values (`tm/<locale>[.<shard>]`).
    pub tm: Vec<TmValue>,
}

/// FNV-1a, for a short content hash in the version name.
fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= u64::from(*b);
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

/// `YYYYMMDDTHHMMSSZ-<hash>`: a fresh, sortable, content-addressed name.
pub fn version_name(now_ms: i64, values: &[(String, String, String)]) -> String {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for (kind, id, v) in values {
        for part in [kind, id, v] {
            fnv(&mut h, part.as_bytes());
            fnv(&mut h, &[0]);
        }
    }
    let t = super::agg::rfc3339(now_ms).replace(['-', ':'], "");
    format!("{t}-{:08x}", h as u32 ^ (h >> 32) as u32)
}

/// The bulk file: versioned values, then the pointer. `bundle` overrides the
/// generated version name.
pub fn assemble(
    template: &Config,
    packs: &BTreeMap<String, CountryPack>,
    extras: &Extras,
    now_ms: i64,
    bundle: Option<&str>,
) -> Result<Vec<BulkEntry>, String> {
    let mut values: Vec<(String, String, String)> = Vec::new();
    if let Some(fx) = &extras.fx {
        values.push((KIND_FX.into(), "rates".into(), json(fx)?));
    }
    for d in &extras.dicts {
        values.push((KIND_DICT.into(), d.locale.clone(), json(d)?));
    }
    for t in &extras.tm {
        values.push((KIND_TM.into(), value_id(&t.locale, t.shard), json(t)?));
    }
    for (cc, p) in packs {
        values.push((KIND_COUNTRY.into(), cc.clone(), json(p)?));
    }
    let name = match bundle {
        Some(b) => b.to_string(),
        None => version_name(now_ms, &values),
    };
    let mut cfg = template.clone();
    cfg.bundle = name.clone();
    let cfg_json = serde_json::to_string(&cfg).map_err(|e| e.to_string())?;
    config::parse(&cfg_json).map_err(|e| format!("config: {e}"))?;
    let mut out: Vec<BulkEntry> = values
        .into_iter()
        .map(|(kind, id, value)| BulkEntry {
            key: bundle_key(&name, &kind, &id),
            value,
            expiration_ttl: None,
        })
        .collect();
    out.push(BulkEntry {
        key: CONFIG_KEY.into(),
        value: cfg_json,
        expiration_ttl: None,
    });
    Ok(out)
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string(v).map_err(|e| e.to_string())
}

/// What `check` found in a valid bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub bundle: String,
    pub keys: usize,
    pub bytes: usize,
    pub largest_key: String,
    pub largest_bytes: usize,
    pub countries: usize,
    pub segments: usize,
    pub cards: usize,
    /// Translation memory entries per locale.
    pub tm: BTreeMap<String, usize>,
}

/// Validates a bulk file against the schema and the KV limits; lists every
/// problem found.
pub fn check(entries: &[BulkEntry]) -> Result<Summary, Vec<String>> {
    let mut errs = Vec::new();
    let mut seen = BTreeSet::new();
    let mut sum = Summary {
        bundle: String::new(),
        keys: entries.len(),
        bytes: 0,
        largest_key: String::new(),
        largest_bytes: 0,
        countries: 0,
        segments: 0,
        cards: 0,
        tm: BTreeMap::new(),
    };
    for e in entries {
        if !seen.insert(e.key.as_str()) {
            errs.push(format!("{}: duplicate key", e.key));
        }
        if e.key.len() > MAX_KV_KEY_BYTES || e.key.is_empty() {
            errs.push(format!(
                "{}: key is {} bytes (1..={MAX_KV_KEY_BYTES})",
                e.key,
                e.key.len()
            ));
        }
        if e.value.len() > MAX_KV_VALUE_BYTES {
            errs.push(format!(
                "{}: value is {} bytes, over {MAX_KV_VALUE_BYTES}",
                e.key,
                e.value.len()
            ));
        }
        sum.bytes += e.key.len() + e.value.len();
        if e.value.len() > sum.largest_bytes {
            sum.largest_bytes = e.value.len();
            sum.largest_key = e.key.clone();
        }
    }
    match entries.iter().position(|e| e.key == CONFIG_KEY) {
        None => errs.push(format!("no {CONFIG_KEY:?} key (the pointer)")),
        Some(i) if i + 1 != entries.len() => errs.push(format!(
            "{CONFIG_KEY:?} must be the last entry (the pointer is written last)"
        )),
        Some(i) => match config::parse(&entries[i].value) {
            Ok(c) => sum.bundle = c.doc.bundle,
            Err(e) => errs.push(format!("{CONFIG_KEY}: {e}")),
        },
    }
    if sum.bundle.is_empty() {
        return Err(errs);
    }
    let prefix = format!("b/{}/", sum.bundle);
    let mut has_global = false;
    for e in entries.iter().filter(|e| e.key != CONFIG_KEY) {
        let Some(rest) = e.key.strip_prefix(&prefix) else {
            errs.push(format!("{}: not under the live bundle {prefix}", e.key));
            continue;
        };
        let (kind, id) = rest.split_once('/').unwrap_or((rest, ""));
        let res = crate::config::bounds::value_size(&e.value).and_then(|()| match kind {
            KIND_COUNTRY => check_pack(id, &e.value, &mut sum).map(|g| has_global |= g),
            KIND_DICT => serde_json::from_str::<Dictionary>(&e.value)
                .map_err(|err| err.to_string())
                .and_then(|d| crate::config::bounds::dictionary(&d).map(|()| d))
                .and_then(|d| {
                    (d.locale == id)
                        .then_some(())
                        .ok_or(format!("locale {:?} != key id {id:?}", d.locale))
                }),
            KIND_FX => serde_json::from_str::<FxRates>(&e.value)
                .map_err(|err| err.to_string())
                .and_then(|fx| check_fx(id, &fx)),
            KIND_TM => check_tm(id, &e.value, &mut sum.tm),
            other => Err(format!("unknown kind {other:?}")),
        });
        if let Err(err) = res {
            errs.push(format!("{}: {err}", e.key));
        }
    }
    if !has_global {
        errs.push(format!(
            "no global pack {prefix}{KIND_COUNTRY}/{GLOBAL_COUNTRY}"
        ));
    }
    if errs.is_empty() {
        Ok(sum)
    } else {
        Err(errs)
    }
}

/// A memory value: its id names its locale (and shard), every entry is a
/// key and valid notation.
fn check_tm(id: &str, value: &str, counts: &mut BTreeMap<String, usize>) -> Result<(), String> {
    let t: TmValue = serde_json::from_str(value).map_err(|e| e.to_string())?;
    if value_id(&t.locale, t.shard) != id {
        return Err(format!(
            "locale/shard {:?} != key id {id:?}",
            value_id(&t.locale, t.shard)
        ));
    }
    if t.shard.is_some_and(|_| t.shards != 0) || t.shards > MAX_SHARDS {
        return Err("bad shard count".into());
    }
    let bad_key = |k: &String| k.len() != 16 || !k.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some((k, _)) = t
        .entries
        .iter()
        .find(|(k, v)| bad_key(k) || notation::parse(v).is_none())
    {
        return Err(format!("entry {k:?} is not a key with a valid translation"));
    }
    *counts.entry(t.locale).or_default() += t.entries.len();
    Ok(())
}

fn check_fx(id: &str, fx: &FxRates) -> Result<(), String> {
    if id != "rates" {
        return Err("FX id must be \"rates\"".into());
    }
    if crate::base::time::parse_rfc3339(&fx.as_of).is_none() {
        return Err(format!("as_of {:?} is not RFC 3339", fx.as_of));
    }
    let code = |c: &str| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase());
    if !code(&fx.base) {
        return Err(format!("base {:?} is not ISO 4217", fx.base));
    }
    match fx
        .rates
        .iter()
        .find(|(c, r)| !(code(c) && r.is_finite() && **r > 0.0))
    {
        Some((c, r)) => Err(format!("rate {c} = {r} is invalid")),
        None => crate::config::bounds::fx(fx),
    }
}

/// Checks one pack; `Ok(true)` for the global pack.
fn check_pack(id: &str, value: &str, sum: &mut Summary) -> Result<bool, String> {
    let p: CountryPack = serde_json::from_str(value).map_err(|e| e.to_string())?;
    crate::config::bounds::pack(&p)?;
    if p.country != id {
        return Err(format!("country {:?} != key id {id:?}", p.country));
    }
    let global = id == GLOBAL_COUNTRY;
    if !global && !crate::base::ids::valid_country(id) {
        return Err(format!("{id:?} is not a country code"));
    }
    let own = if global { ANY } else { id };
    let mut refs: Vec<&String> = Vec::new();
    for (key, ids) in &p.segments {
        let parts = segment::parts(key).ok_or(format!("segment key {key:?} is malformed"))?;
        if parts[0] != own && key != "*:*:*:*:*" {
            return Err(format!("segment {key:?} is not of {own}"));
        }
        refs.extend(ids);
        let uniq: BTreeSet<&String> = ids.iter().collect();
        if uniq.len() != ids.len() {
            return Err(format!("segment {key:?} lists a product twice"));
        }
    }
    let global_key = format!("{own}:*:*:*:*");
    if !p.segments.contains_key(&global_key) {
        return Err(format!("no segment {global_key:?}"));
    }
    refs.extend(&p.trending);
    for (src, ids) in &p.also_bought {
        refs.push(src);
        refs.extend(ids);
        if ids.contains(src) {
            return Err(format!("also_bought of {src:?} contains itself"));
        }
    }
    if let Some(missing) = refs.iter().find(|r| !p.cards.contains_key(r.as_str())) {
        return Err(format!("product {missing:?} has no card"));
    }
    if let Some((k, c)) = p.cards.iter().find(|(k, c)| **k != c.id) {
        return Err(format!("card under {k:?} has id {:?}", c.id));
    }
    if let Some(c) = p.cards.values().find(|c| bad_card(c)) {
        return Err(format!("card {:?} has no title, price or currency", c.id));
    }
    sum.countries += 1;
    sum.segments += p.segments.len();
    sum.cards += p.cards.len();
    Ok(global)
}

fn bad_card(c: &Card) -> bool {
    c.title.is_empty() || c.price.parse::<f64>().is_err() || c.currency.len() != 3
}
