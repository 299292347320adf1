//! Decisions taken for a request, before any rewriting: what the preview
//! report shows and what the rewrite plan is built from.

use serde::Serialize;

/// How a KV value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// From this isolate's memory, no KV call.
    Isolate,
    /// From a KV read (which may hit Cloudflare's edge cache).
    Kv,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KvRead {
    pub key: String,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decisions {
    pub locale: String,
    pub currency: String,
    pub segment: Option<String>,
    pub experiment_arm: Option<String>,
    pub kv: Vec<KvRead>,
    /// `rewrite`, or `passthrough: <reason>`.
    pub body: String,
}

impl Decisions {
    /// Decisions that keep the page as the origin made it.
    pub fn origin(locale: &str, currency: &str) -> Decisions {
        Decisions {
            locale: locale.to_string(),
            currency: currency.to_string(),
            segment: None,
            experiment_arm: None,
            kv: Vec::new(),
            body: "rewrite".to_string(),
        }
    }
}
