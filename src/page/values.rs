//! The KV values a page reads: which keys (phase one), parsed and validated
//! values (phase two), and the record of each read for the report.

use crate::base::ids::valid_country;
use crate::config::bounds;
use crate::decide::locale;
use crate::request::UNKNOWN_COUNTRY;
use crate::rewrite::tm::memory::{self as tm, TmValue};
use crate::schema::{
    self, CountryPack, CustomerValue, Dictionary, FxRates, MAX_CUSTOMER_VALUE_BYTES,
};
use serde::Serialize;
use std::rc::Rc;

/// How a KV value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(serde::Deserialize))]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// From this isolate's memory, no KV call.
    Isolate,
    /// From a KV read (which may hit Cloudflare's edge cache).
    Kv,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(serde::Deserialize))]
pub struct KvRead {
    pub key: String,
    pub source: Source,
    pub found: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dict,
    Fx,
    /// The live FX key (refreshed in place; the isolate keeps it briefly).
    FxLive,
    Pack,
    /// A known customer's lists (`cust/<HMAC>`, not versioned).
    Customer,
    /// A translation memory's base value.
    Tm,
    /// The page's shard of a translation memory.
    TmShard,
}

/// One value to read: its keys in fallback order; the first found wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub kind: Kind,
    pub keys: Vec<String>,
}

/// A parsed bundle value, shared across requests by the isolate cache.
#[derive(Debug, Clone)]
pub enum Value {
    Dict(Rc<Dictionary>),
    Fx(Rc<FxRates>),
    FxLive(Rc<FxRates>),
    Pack(Rc<CountryPack>),
    Customer(Rc<CustomerValue>),
    Tm(Rc<TmValue>),
    TmShard(Rc<TmValue>),
}

/// The values phase two works with, and how each was read.
#[derive(Debug, Default)]
pub struct Values {
    pub dict: Option<Rc<Dictionary>>,
    pub fx: Option<Rc<FxRates>>,
    pub fx_live: Option<Rc<FxRates>>,
    pub pack: Option<Rc<CountryPack>>,
    pub customer: Option<Rc<CustomerValue>>,
    pub tm: Option<Rc<TmValue>>,
    pub tm_shard: Option<Rc<TmValue>>,
    pub reads: Vec<KvRead>,
}

impl Values {
    pub fn put_opt(&mut self, v: Option<Value>) {
        if let Some(v) = v {
            self.put(v);
        }
    }

    pub fn put(&mut self, v: Value) {
        match v {
            Value::Dict(d) => self.dict = Some(d),
            Value::Fx(f) => self.fx = Some(f),
            Value::FxLive(f) => self.fx_live = Some(f),
            Value::Pack(p) => self.pack = Some(p),
            Value::Customer(c) => self.customer = Some(c),
            Value::Tm(t) => self.tm = Some(t),
            Value::TmShard(t) => self.tm_shard = Some(t),
        }
    }

    /// The rates to convert with: the live ones unless the bundle's are newer.
    pub fn rates(&self) -> Option<Rc<FxRates>> {
        let pick = crate::base::fxfeed::freshest(self.fx_live.as_deref(), self.fx.as_deref())?;
        [&self.fx_live, &self.fx]
            .into_iter()
            .flatten()
            .find(|r| std::ptr::eq(r.as_ref(), pick))
            .cloned()
    }
}

/// Parses a KV value of `kind`; the error is short enough to log.
pub fn parse(kind: Kind, text: &str) -> Result<Value, String> {
    if kind == Kind::Customer {
        if text.len() > MAX_CUSTOMER_VALUE_BYTES {
            return Err(format!("{} bytes, over the limit", text.len()));
        }
    } else {
        bounds::value_size(text)?;
    }
    let short = |e: serde_json::Error| e.to_string();
    // The same bounds as `borderless check`.
    Ok(match kind {
        Kind::Dict => {
            let d: Dictionary = serde_json::from_str(text).map_err(short)?;
            bounds::dictionary(&d)?;
            Value::Dict(Rc::new(d))
        }
        Kind::Fx => {
            let f: FxRates = serde_json::from_str(text).map_err(short)?;
            bounds::fx(&f)?;
            Value::Fx(Rc::new(f))
        }
        Kind::FxLive => {
            let f: FxRates = serde_json::from_str(text).map_err(short)?;
            bounds::fx(&f)?;
            Value::FxLive(Rc::new(f))
        }
        Kind::Pack => {
            let p: CountryPack = serde_json::from_str(text).map_err(short)?;
            bounds::pack(&p)?;
            Value::Pack(Rc::new(p))
        }
        Kind::Customer => Value::Customer(Rc::new(serde_json::from_str(text).map_err(short)?)),
        Kind::Tm => Value::Tm(Rc::new(serde_json::from_str(text).map_err(short)?)),
        Kind::TmShard => Value::TmShard(Rc::new(serde_json::from_str(text).map_err(short)?)),
    })
}

/// The dictionary of a locale, falling back along its chain (`de-AT` → `de`).
pub(crate) fn dict_read(bundle: &str, loc: &str) -> Read {
    Read {
        kind: Kind::Dict,
        keys: locale::fallbacks(loc)
            .map(|l| schema::bundle_key(bundle, schema::KIND_DICT, l))
            .collect(),
    }
}

pub(crate) fn fx_read(bundle: &str) -> Read {
    Read {
        kind: Kind::Fx,
        keys: vec![schema::bundle_key(bundle, schema::KIND_FX, "rates")],
    }
}

/// The live FX key `borderless fx` and the Cron Trigger refresh.
pub(crate) fn fx_live_read() -> Read {
    Read {
        kind: Kind::FxLive,
        keys: vec![crate::base::fxfeed::FX_LIVE_KEY.to_string()],
    }
}

/// The country's personalization pack, else the global one (`ZZ`).
pub(crate) fn pack_read(bundle: &str, country: &str) -> Read {
    let mut keys = Vec::with_capacity(2);
    if country != UNKNOWN_COUNTRY && valid_country(country) {
        keys.push(schema::bundle_key(bundle, schema::KIND_COUNTRY, country));
    }
    keys.push(schema::bundle_key(
        bundle,
        schema::KIND_COUNTRY,
        schema::GLOBAL_COUNTRY,
    ));
    Read {
        kind: Kind::Pack,
        keys,
    }
}

/// The locale's translation memory and, when it is sharded, this page's
/// shard: at most two values, read beside the dictionary.
pub(crate) fn tm_reads(bundle: &str, loc: &str, shards: u32, path: &str) -> Vec<Read> {
    let mut v = vec![Read {
        kind: Kind::Tm,
        keys: vec![schema::bundle_key(bundle, tm::KIND_TM, loc)],
    }];
    if let Some(k) = tm::shard_of(path, shards) {
        v.push(Read {
            kind: Kind::TmShard,
            keys: vec![schema::bundle_key(
                bundle,
                tm::KIND_TM,
                &tm::value_id(loc, Some(k)),
            )],
        });
    }
    v
}
