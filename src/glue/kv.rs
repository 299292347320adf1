//! KV reads behind the isolate cache: the site config (30 s) and bundle
//! values (bundle keys never change once written).

use crate::config::{self, ConfigError};
use crate::page::cache::Cache;
use crate::page::log;
use crate::page::values::{self, Kind, KvRead, Read, Source, Value, Values};
use crate::page::Loaded;
use crate::schema::CONFIG_KEY;
use std::cell::RefCell;
use std::rc::Rc;
use worker::{console_error, Env};

const KV_BINDING: &str = "BORDERLESS";
/// KV's own edge cache (`cacheTtl`) sits behind the isolate's.
const KV_CACHE_TTL_S: u64 = 60;

/// The isolate keeps at most this much bundle text parsed (an isolate has
/// 128 MB; one value may be up to `bounds::MAX_VALUE_BYTES`).
const VALUES_MAX_BYTES: usize = 16 << 20;

thread_local! {
    static CONFIG: RefCell<Cache<Loaded>> =
        RefCell::new(Cache::new(1, crate::schema::MAX_CONFIG_BYTES, Some(30_000.0)));
    static VALUES: RefCell<Cache<Option<Value>>> =
        RefCell::new(Cache::new(256, VALUES_MAX_BYTES, None));
    // The live FX key changes in place: kept as long as KV's own edge cache.
    static LIVE: RefCell<Cache<Option<Value>>> =
        RefCell::new(Cache::new(1, VALUES_MAX_BYTES, Some(60_000.0)));
    /// Customer values are not versioned (a rebuild or an erasure changes
    /// them in place): kept a minute, in their own cache so many customers
    /// never evict the bundle's values.
    static CUSTOMERS: RefCell<Cache<Option<Value>>> =
        RefCell::new(Cache::new(1024, 4 << 20, Some(60_000.0)));
}

/// The isolate cache for a key: bundle values forever, the live FX key and
/// customer values briefly.
fn cache_of(kind: Kind) -> &'static std::thread::LocalKey<RefCell<Cache<Option<Value>>>> {
    match kind {
        Kind::FxLive => &LIVE,
        Kind::Customer => &CUSTOMERS,
        _ => &VALUES,
    }
}

async fn get(env: &Env, key: &str) -> Result<Option<String>, String> {
    let kv = env.kv(KV_BINDING).map_err(|e| e.to_string())?;
    let text = kv.get(key).cache_ttl(KV_CACHE_TTL_S).text().await;
    text.map_err(|e| e.to_string())
}

fn read(key: &str, source: Source, found: bool) -> KvRead {
    let key = key.to_string();
    KvRead { key, source, found }
}

/// The site config if the isolate cache holds it.
pub(super) fn cached_config() -> Option<(Loaded, Option<KvRead>)> {
    let hit = CONFIG.with_borrow(|c| c.get(CONFIG_KEY, js_sys::Date::now()))?;
    let found = hit.is_ok();
    Some((hit, Some(read(CONFIG_KEY, Source::Isolate, found))))
}

/// The site config from the isolate cache, else KV. A KV outage is not
/// cached: the next request tries again.
pub(super) async fn site_config(env: &Env) -> (Loaded, Option<KvRead>) {
    if let Some(hit) = cached_config() {
        return hit;
    }
    let now = js_sys::Date::now();
    let mut bytes = 0;
    let result: Loaded = match get(env, CONFIG_KEY).await {
        Ok(Some(t)) => {
            bytes = t.len();
            config::parse(&t).map(Rc::new).map_err(Rc::new)
        }
        Ok(None) => Err(Rc::new(ConfigError::Missing)),
        Err(e) => {
            let e = format!("KV read failed: {}", log::excerpt(&e, 240));
            return (Err(Rc::new(ConfigError::Unparsable(e))), None);
        }
    };
    CONFIG.with_borrow_mut(|c| c.put(CONFIG_KEY, result.clone(), bytes, now));
    let found = result.is_ok();
    (result, Some(read(CONFIG_KEY, Source::Kv, found)))
}

/// Every chain concurrently; within a chain, keys in order until one is
/// found. Reads are reported in the order the pipeline asked for them.
pub(super) async fn read_all(env: &Env, reads: &[Read]) -> Values {
    let chains = reads.iter().map(|r| async move {
        let mut log = Vec::with_capacity(r.keys.len());
        for key in &r.keys {
            let (v, read) = value(env, r, key).await;
            log.push(read);
            if v.is_some() {
                return (v, log);
            }
        }
        (None, log)
    });
    let mut values = Values::default();
    for (v, log) in futures_util::future::join_all(chains).await {
        values.reads.extend(log);
        values.put_opt(v);
    }
    values
}

/// Every read from the isolate cache, as [`read_all`] reads them, or
/// `None` if a key it would read is not there; each read listed only if
/// `log` (a preview reports them).
pub(super) fn cached_all(reads: &[Read], log: bool) -> Option<Values> {
    let now = js_sys::Date::now();
    let mut values = Values::default();
    for r in reads {
        let mut v = None;
        for key in &r.keys {
            let hit = cache_of(r.kind).with_borrow(|m| m.get(key, now))?;
            if log {
                values.reads.push(read(key, Source::Isolate, hit.is_some()));
            }
            if hit.is_some() {
                v = hit;
                break;
            }
        }
        values.put_opt(v);
    }
    Some(values)
}

fn cached(r: &Read, key: &str) -> Option<(Option<Value>, KvRead)> {
    let hit = cache_of(r.kind).with_borrow(|m| m.get(key, js_sys::Date::now()))?;
    let found = hit.is_some();
    Some((hit, read(key, Source::Isolate, found)))
}

/// One bundle value; values and their absence are cached.
async fn value(env: &Env, r: &Read, key: &str) -> (Option<Value>, KvRead) {
    if let Some(hit) = cached(r, key) {
        return hit;
    }
    let now = js_sys::Date::now();
    let cache = cache_of(r.kind);
    let mut bytes = key.len();
    let (v, event) = match get(env, key).await {
        Ok(Some(t)) => {
            bytes += t.len();
            match values::parse(r.kind, &t) {
                Ok(v) => (Some(v), None),
                Err(e) => (None, Some(("kv_value_unparsable", e))),
            }
        }
        Ok(None) => (None, None),
        // Not cached: the next request tries again.
        Err(e) => {
            console_error!("{}", log::error("kv_read_failed", &e, key).line);
            return (None, read(key, Source::Kv, false));
        }
    };
    if let Some((event, e)) = event {
        console_error!("{}", log::error(event, &e, key).line);
    }
    cache.with_borrow_mut(|m| m.put(key, v.clone(), bytes, now));
    let found = v.is_some();
    (v, read(key, Source::Kv, found))
}
