//! Daily FX reference rates: a feed (the ECB's eurofxref XML or a plain JSON
//! map) parsed, validated against the shop's currencies and the last good
//! set, and turned into the [`FxRates`] value of the live FX key
//! [`FX_LIVE_KEY`], which sits beside the immutable bundle. Pure: the CLI
//! (`borderless fx`) and the worker's scheduled handler share it.
//!
//! The value's `as_of` is the time of the check that found the feed current
//! (so ECB's Friday rates stay usable over the weekend, when it publishes
//! none); the feed's own date must be within [`Policy::max_age_hours`].

use crate::base::time::{civil_from_days, parse_rfc3339};
use crate::schema::{Config, FxRates};
use std::collections::BTreeMap;
use std::fmt;

/// KV key of the live FX rates (not versioned: refreshed in place).
pub const FX_LIVE_KEY: &str = "fx/live";
/// Default source: the ECB's daily euro reference rates.
pub const ECB_DAILY_URL: &str = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml";
/// Largest feed body read (the ECB's daily file is about 1.5 KB).
pub const MAX_FEED_BYTES: usize = 256 << 10;
const MAX_RATES: usize = 400;
/// Clock skew tolerated for a feed dated in the future.
const FUTURE_SLACK_MS: i64 = 3_600_000;

/// The feed's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// By the first character: `<` ECB XML, `{` JSON.
    Auto,
    Ecb,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim() {
            "" | "auto" => Some(Format::Auto),
            "ecb" | "xml" => Some(Format::Ecb),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// A parsed feed, not yet validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    pub base: String,
    /// The feed's date as given (`2026-11-27` or RFC 3339).
    pub published: String,
    pub published_ms: i64,
    pub rates: BTreeMap<String, f64>,
}

/// Why a feed was refused; the old rates stay.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedError {
    Unreachable(String),
    TooLarge(usize),
    Malformed(String),
    InvalidRate(String, String),
    Missing(Vec<String>),
    Stale { published: String, age_hours: i64 },
    Future(String),
    Jump { currency: String, share: f64 },
}

impl FeedError {
    /// The `event` of the error log line.
    pub fn kind(&self) -> &'static str {
        match self {
            FeedError::Unreachable(_) => "fx_feed_unreachable",
            FeedError::TooLarge(_) | FeedError::Malformed(_) => "fx_feed_malformed",
            FeedError::InvalidRate(..) => "fx_feed_invalid_rate",
            FeedError::Missing(_) => "fx_feed_partial",
            FeedError::Stale { .. } | FeedError::Future(_) => "fx_feed_stale",
            FeedError::Jump { .. } => "fx_feed_jump",
        }
    }
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            FeedError::Unreachable(e) => write!(f, "feed unreachable: {e}"),
            FeedError::TooLarge(n) => write!(f, "feed larger than {MAX_FEED_BYTES} bytes ({n})"),
            FeedError::Malformed(e) => write!(f, "malformed feed: {e}"),
            FeedError::InvalidRate(c, r) => write!(f, "rate {c} = {r:?} is not a positive number"),
            FeedError::Missing(c) => write!(f, "feed lacks configured currencies {}", c.join(" ")),
            FeedError::Stale {
                published,
                age_hours,
            } => write!(f, "feed dated {published} is {age_hours} h old"),
            FeedError::Future(p) => write!(f, "feed dated {p} is in the future"),
            FeedError::Jump { currency, share } => write!(
                f,
                "{currency} moved {:.1} % against the last good rates (--force to accept)",
                share * 100.0
            ),
        }
    }
}

/// What a feed must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Currencies that must be in the feed (its base counts).
    pub required: Vec<String>,
    /// Currencies kept in the value; empty = every currency of the feed.
    pub keep: Vec<String>,
    /// Oldest feed date accepted, hours before the check.
    pub max_age_hours: u32,
    /// Largest relative move of a cross rate against the last good set.
    pub max_jump: f64,
    /// Accept moves larger than `max_jump` (a devaluation, a fixed feed).
    pub force: bool,
}

impl Policy {
    pub const DEFAULT_MAX_AGE_HOURS: u32 = 96;
    pub const DEFAULT_MAX_JUMP: f64 = 0.10;

    /// The site's currency plus every currency its localization can show.
    pub fn for_config(cfg: &Config) -> Policy {
        let mut required = vec![cfg.site.currency.clone()];
        let mut keep = Vec::new();
        if let Some(l) = &cfg.localization {
            required.extend(l.currencies.iter().cloned());
            required.extend(l.country_currencies.values().cloned());
            if !l.currencies.is_empty() {
                keep = required.clone();
            }
        }
        required.sort();
        required.dedup();
        keep.sort();
        keep.dedup();
        Policy {
            required,
            keep,
            max_age_hours: Self::DEFAULT_MAX_AGE_HOURS,
            max_jump: Self::DEFAULT_MAX_JUMP,
            force: false,
        }
    }
}

fn is_code(c: &str) -> bool {
    c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())
}

/// Parses a feed body in `format`.
pub fn parse(body: &str, format: Format) -> Result<Feed, FeedError> {
    if body.len() > MAX_FEED_BYTES {
        return Err(FeedError::TooLarge(body.len()));
    }
    let body = body.trim_start_matches('\u{feff}').trim_start();
    let format = match format {
        Format::Auto if body.starts_with('<') => Format::Ecb,
        Format::Auto if body.starts_with('{') => Format::Json,
        Format::Auto => return Err(FeedError::Malformed("neither XML nor JSON".into())),
        f => f,
    };
    let feed = match format {
        Format::Json => parse_json(body)?,
        _ => parse_ecb(body)?,
    };
    if !is_code(&feed.base) {
        return Err(FeedError::Malformed(format!("base {:?}", feed.base)));
    }
    if feed.rates.is_empty() || feed.rates.len() > MAX_RATES {
        return Err(FeedError::Malformed(format!("{} rates", feed.rates.len())));
    }
    if let Some(c) = feed.rates.keys().find(|c| !is_code(c)) {
        return Err(FeedError::Malformed(format!("currency {c:?}")));
    }
    if let Some((c, r)) = feed
        .rates
        .iter()
        .find(|(_, r)| !(r.is_finite() && **r > 0.0))
    {
        return Err(FeedError::InvalidRate(c.clone(), r.to_string()));
    }
    Ok(feed)
}

/// `YYYY-MM-DD` (midnight UTC) or RFC 3339.
fn feed_date(s: &str) -> Result<i64, FeedError> {
    let ms = if s.len() == 10 {
        parse_rfc3339(&format!("{s}T00:00:00Z"))
    } else {
        parse_rfc3339(s)
    };
    ms.ok_or_else(|| FeedError::Malformed(format!("date {s:?}")))
}

#[derive(serde::Deserialize)]
struct JsonFeed {
    base: String,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    as_of: Option<String>,
    /// Frankfurter-style feeds quote for an amount of the base; only 1 is understood.
    #[serde(default)]
    amount: Option<f64>,
    rates: BTreeMap<String, f64>,
}

/// `{"base":"EUR","date":"2026-11-27","rates":{"USD":1.05,…}}` (or `as_of`).
fn parse_json(body: &str) -> Result<Feed, FeedError> {
    let j: JsonFeed =
        serde_json::from_str(body).map_err(|e| FeedError::Malformed(format!("JSON: {e}")))?;
    if j.amount.is_some_and(|a| a != 1.0) {
        return Err(FeedError::Malformed("amount other than 1".into()));
    }
    let published = j
        .as_of
        .or(j.date)
        .ok_or_else(|| FeedError::Malformed("no date or as_of".into()))?;
    Ok(Feed {
        published_ms: feed_date(&published)?,
        published,
        base: j.base,
        rates: j.rates,
    })
}

/// The ECB shape: `<Cube><Cube time='D'><Cube currency='USD' rate='1.05'/>…`.
/// With several dated cubes (the 90-day file), the latest date wins.
fn parse_ecb(body: &str) -> Result<Feed, FeedError> {
    let bad = |m: &str| FeedError::Malformed(m.to_string());
    // (date, its rates) of the open dated cube, and the best closed one.
    let mut open: Option<(String, BTreeMap<String, f64>)> = None;
    let mut best: Option<(String, BTreeMap<String, f64>)> = None;
    let mut rest = body;
    while let Some(lt) = rest.find('<') {
        // Cuts at ASCII delimiters found in the text: char boundaries.
        rest = rest.get(lt..).unwrap_or("");
        if let Some(r) = rest.strip_prefix("<!--") {
            let (_, after) = r
                .split_once("-->")
                .ok_or_else(|| bad("unterminated comment"))?;
            rest = after;
            continue;
        }
        let end = tag_end(rest).ok_or_else(|| bad("unterminated tag"))?;
        let tag = rest.get(1..end).ok_or_else(|| bad("unterminated tag"))?;
        rest = rest.get(end + 1..).unwrap_or("");
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            if local(name.trim()) == "Cube" {
                if let Some(done) = open.take() {
                    keep_latest(&mut best, done);
                }
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.strip_suffix('/').unwrap_or(tag);
        let (name, attrs) = tag
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((tag, ""));
        if local(name) != "Cube" {
            continue;
        }
        let attrs = attributes(attrs).ok_or_else(|| bad("bad attributes"))?;
        let get = |k: &str| attrs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        if let Some(time) = get("time") {
            if open.is_some() {
                return Err(bad("nested dated cubes"));
            }
            let day = (time.to_string(), BTreeMap::new());
            if self_closing {
                keep_latest(&mut best, day);
            } else {
                open = Some(day);
            }
        } else if let Some(cur) = get("currency") {
            let (_, rates) = open
                .as_mut()
                .ok_or_else(|| bad("rate outside a dated cube"))?;
            let raw = get("rate").ok_or_else(|| bad("currency without rate"))?;
            let rate = crate::base::money::parse_amount(raw)
                .ok_or_else(|| FeedError::InvalidRate(cur.to_string(), raw.to_string()))?;
            if rates.insert(cur.to_string(), rate).is_some() {
                return Err(FeedError::Malformed(format!("{cur} twice")));
            }
            if rates.len() > MAX_RATES {
                return Err(bad("too many rates"));
            }
        }
    }
    if open.is_some() {
        return Err(bad("unterminated dated cube"));
    }
    let (published, rates) = best.ok_or_else(|| bad("no <Cube time=…>"))?;
    Ok(Feed {
        published_ms: feed_date(&published)?,
        published,
        base: "EUR".into(),
        rates,
    })
}

fn keep_latest(
    best: &mut Option<(String, BTreeMap<String, f64>)>,
    day: (String, BTreeMap<String, f64>),
) {
    // ISO dates order as strings; an undated or empty cube never wins.
    if !day.1.is_empty() && best.as_ref().is_none_or(|b| day.0 > b.0) {
        *best = Some(day);
    }
}

/// Index of the `>` closing the tag `s` starts, outside quoted values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, b) in s.bytes().enumerate().skip(1) {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            (None, b'>') => return Some(i),
            (None, b'<') => return None,
            _ => {}
        }
    }
    None
}

/// The name without its namespace prefix.
fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// `a='1' b="2"` → [(a, 1), (b, 2)]; `None` when malformed.
fn attributes(mut s: &str) -> Option<Vec<(&str, &str)>> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return Some(out);
        }
        let (name, after) = s.split_once('=')?;
        let after = after.trim_start();
        let q = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let body = after.get(q.len_utf8()..)?;
        let (value, rest) = body.split_once(q)?;
        out.push((local(name.trim()), value));
        s = rest;
        if out.len() > 16 {
            return None;
        }
    }
}

/// The rate of `c` in a set (its base is 1).
fn rate_in(base: &str, rates: &BTreeMap<String, f64>, c: &str) -> Option<f64> {
    if c == base {
        Some(1.0)
    } else {
        rates.get(c).copied().filter(|r| r.is_finite() && *r > 0.0)
    }
}

/// Checks a parsed feed and builds the live value, checked at `now_ms`.
pub fn validate(
    feed: &Feed,
    last: Option<&FxRates>,
    policy: &Policy,
    now_ms: i64,
) -> Result<FxRates, FeedError> {
    let age_ms = now_ms - feed.published_ms;
    if age_ms < -FUTURE_SLACK_MS {
        return Err(FeedError::Future(feed.published.clone()));
    }
    if age_ms > i64::from(policy.max_age_hours) * 3_600_000 {
        return Err(FeedError::Stale {
            published: feed.published.clone(),
            age_hours: age_ms / 3_600_000,
        });
    }
    let missing: Vec<String> = policy
        .required
        .iter()
        .filter(|c| rate_in(&feed.base, &feed.rates, c).is_none())
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(FeedError::Missing(missing));
    }
    let rates: BTreeMap<String, f64> = feed
        .rates
        .iter()
        .filter(|(c, _)| policy.keep.is_empty() || policy.keep.contains(c))
        .map(|(c, r)| (c.clone(), *r))
        .collect();
    if let (Some(last), false) = (last, policy.force) {
        if let Some((currency, share)) = largest_move(&feed.base, &rates, last) {
            if share > policy.max_jump {
                return Err(FeedError::Jump { currency, share });
            }
        }
    }
    Ok(FxRates {
        base: feed.base.clone(),
        as_of: rfc3339(now_ms),
        rates,
    })
}

/// RFC 3339 UTC, whole seconds.
fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// The currency whose cross rate moved most between `last` and the new set,
/// both expressed against a currency they share (the new base, else the old).
fn largest_move(
    base: &str,
    rates: &BTreeMap<String, f64>,
    last: &FxRates,
) -> Option<(String, f64)> {
    let anchor = [base, last.base.as_str()].into_iter().find(|a| {
        rate_in(base, rates, a).is_some() && rate_in(&last.base, &last.rates, a).is_some()
    })?;
    let (new_a, old_a) = (
        rate_in(base, rates, anchor)?,
        rate_in(&last.base, &last.rates, anchor)?,
    );
    let codes = rates.keys().map(String::as_str).chain([base]);
    codes
        .filter_map(|c| {
            let new = rate_in(base, rates, c)? / new_a;
            let old = rate_in(&last.base, &last.rates, c)? / old_a;
            Some((c.to_string(), (new / old - 1.0).abs()))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// One refresh: the feed body (or why it could not be fetched) in, the
/// value to write (if any) and the one log line out.
pub fn refresh(
    source: &str,
    body: Result<&str, String>,
    format: Format,
    last: Option<&FxRates>,
    policy: &Policy,
    now_ms: i64,
) -> (Option<FxRates>, String) {
    let result = body
        .map_err(FeedError::Unreachable)
        .and_then(|b| parse(b, format))
        .and_then(|feed| validate(&feed, last, policy, now_ms).map(|v| (feed, v)));
    match result {
        Ok((feed, value)) => {
            let line = serde_json::json!({
                "level": "info", "event": "fx_refreshed", "source": source,
                "base": value.base, "published": feed.published,
                "currencies": value.rates.len(), "as_of": value.as_of,
            });
            (Some(value), line.to_string())
        }
        Err(e) => {
            let line = serde_json::json!({
                "level": "error", "event": e.kind(), "source": source, "detail": e.to_string(),
            });
            (None, line.to_string())
        }
    }
}

/// The scheduled refresh's settings, from the worker's vars.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub source: String,
    pub format: Format,
    pub max_age_hours: u32,
    pub max_jump: f64,
}

impl Settings {
    /// `FX_SOURCE` (absent: the ECB's file; empty: no refresh), `FX_FORMAT`,
    /// `FX_MAX_AGE_HOURS`, `FX_MAX_JUMP`. A bad value is an error, not a default.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Settings>, String> {
        let source = var("FX_SOURCE").unwrap_or_else(|| ECB_DAILY_URL.to_string());
        let source = source.trim();
        if source.is_empty() {
            return Ok(None);
        }
        if !(source.starts_with("https://") || source.starts_with("http://")) || source.len() > 2048
        {
            return Err(format!("FX_SOURCE {source:?} is not an http(s) URL"));
        }
        let format = var("FX_FORMAT").unwrap_or_default();
        let format = Format::parse(&format).ok_or(format!("FX_FORMAT {format:?}"))?;
        let max_age_hours = match var("FX_MAX_AGE_HOURS") {
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|h| (1..=24 * 31).contains(h))
                .ok_or(format!("FX_MAX_AGE_HOURS {v:?}: 1 to 744"))?,
            None => Policy::DEFAULT_MAX_AGE_HOURS,
        };
        let max_jump = match var("FX_MAX_JUMP") {
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|j| j.is_finite() && *j > 0.0 && *j <= 10.0)
                .ok_or(format!("FX_MAX_JUMP {v:?}: a share above 0"))?,
            None => Policy::DEFAULT_MAX_JUMP,
        };
        Ok(Some(Settings {
            source: source.to_string(),
            format,
            max_age_hours,
            max_jump,
        }))
    }

    /// The policy for a site: its currencies, these limits, never forced.
    pub fn policy(&self, cfg: &Config) -> Policy {
        Policy {
            max_age_hours: self.max_age_hours,
            max_jump: self.max_jump,
            ..Policy::for_config(cfg)
        }
    }
}

/// The rates to convert with: the live value unless the bundle's are newer
/// (a bundle published with fresher rates than a stalled refresh).
pub fn freshest<'a>(live: Option<&'a FxRates>, bundle: Option<&'a FxRates>) -> Option<&'a FxRates> {
    let at = |f: &FxRates| parse_rfc3339(&f.as_of);
    match (live, bundle) {
        (Some(l), Some(b)) if at(b) > at(l) => Some(b),
        (Some(l), _) if at(l).is_some() => Some(l),
        (_, b) => b,
    }
}
