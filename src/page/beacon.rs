//! The conversion beacon `POST /__borderless/event`, for shops whose
//! checkout is elsewhere: phase one knows the visitor (id, arm, segment,
//! country) and which FX values to read; phase two validates the body and
//! answers 204 with one conversion line, or 400 with the reason and no line.
//! An order already reported by this visitor (a cookie of recent order
//! hashes) is answered 204 without a second line.

use super::log::{self, Log};
use super::values::{self, Read, Values};
use super::wire::json_answer;
use super::{Answer, Start};
use crate::base::conversion::{self, EventLine};
use crate::config::SiteConfig;
use crate::decide::experiment::bucket;
use crate::decide::segment::Segment;
use crate::decide::Visitor;
use crate::request::Context;
use std::rc::Rc;

/// Cookie of the last orders this visitor reported (hashes, `.`-separated).
pub const ORDERS_COOKIE: &str = "borderless_orders";
const MAX_REMEMBERED: usize = 8;

/// Phase one's result for the beacon.
pub struct Pending {
    site: Rc<SiteConfig>,
    line: EventLine,
    /// The visitor may be given cookies (consent).
    cookies_allowed: bool,
    seen: Vec<String>,
    secure: bool,
    reads: Vec<Read>,
}

/// Phase one: answers at once what needs no body (wrong method, no
/// personalization), else what to read.
pub(crate) fn start(
    site: &Rc<SiteConfig>,
    ctx: &Context,
    method: &str,
    gpc: Option<&str>,
    now_ms: i64,
    secure: bool,
) -> Start {
    if method != "POST" {
        let mut a = json_answer(405, &serde_json::json!({"error": "POST only"}));
        a.headers.push(("allow".into(), "POST".into()));
        return Start::Answer(a);
    }
    let (Some(p), Some(c)) = (&site.doc.personalization, &site.personal) else {
        return Start::Answer(json_answer(
            404,
            &serde_json::json!({"error": "conversions are not measured here"}),
        ));
    };
    // The beacon never mints an id: a visitor without one is not attributable.
    let v = Visitor::read(p, c, &site.digest, ctx, &ctx.path, gpc, now_ms, || None);
    let country = ctx.geo.country.clone();
    let line = EventLine {
        event: "conversion".into(),
        visitor: v.id.clone().unwrap_or_default(),
        holdout: v.assignment.label == "holdout",
        arm: v.assignment.label.clone(),
        segment: Segment::key_of(ctx),
        country,
        path: ctx.path.clone(),
        source: Some("beacon".into()),
        ..EventLine::default()
    };
    let seen = ctx
        .cookie(ORDERS_COOKIE)
        .map(|c| {
            c.split('.')
                .take(MAX_REMEMBERED)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut reads = Vec::new();
    if site.doc.localization.is_some() {
        reads.push(values::fx_live_read());
        reads.push(values::fx_read(&site.doc.bundle));
    }
    Start::Beacon(Box::new(Pending {
        site: Rc::clone(site),
        line,
        cookies_allowed: v.cookies.allowed(),
        seen,
        secure,
        reads,
    }))
}

/// A short stable hash of an order id (the cookie never holds the id).
fn order_hash(order: &str) -> String {
    format!(
        "{:08x}",
        (bucket(order, "\u{0}order") * f64::from(u32::MAX)) as u32
    )
}

impl Pending {
    pub fn reads(&self) -> &[Read] {
        &self.reads
    }

    /// Phase two: `body` as read (`None`: larger than the limit).
    pub fn finish(self, body: Option<&[u8]>, values: Values) -> (Answer, Vec<Log>) {
        let bad = |why: &str| {
            (
                json_answer(400, &serde_json::json!({"error": why})),
                Vec::new(),
            )
        };
        let Some(body) = body else {
            return bad("body too large");
        };
        let site = &self.site.doc;
        let fx = values.rates();
        let accepted = site.localization.as_ref().map(|l| &l.currencies);
        let known = |c: &str| {
            c == site.site.currency
                || match accepted {
                    Some(list) if !list.is_empty() => list.iter().any(|a| a == c),
                    _ => fx
                        .as_ref()
                        .is_some_and(|f| f.base == c || f.rates.contains_key(c)),
                }
        };
        let b = match conversion::parse_beacon(body, known) {
            Ok(b) => b,
            Err(why) => return bad(&why),
        };
        let done = |status: u16, cookie: Option<String>| {
            let mut headers = vec![("cache-control".to_string(), "no-store".to_string())];
            headers.extend(cookie.map(|c| ("set-cookie".to_string(), c)));
            Answer {
                status,
                headers,
                body: String::new(),
            }
        };
        if self.line.visitor.is_empty() {
            // Valid, but not attributable: nothing to log.
            return (done(204, None), Vec::new());
        }
        let hash = order_hash(&b.order);
        if self.seen.contains(&hash) {
            return (done(204, None), Vec::new());
        }
        let cookie = self.cookies_allowed.then(|| {
            let mut kept: Vec<&str> = vec![hash.as_str()];
            kept.extend(
                self.seen
                    .iter()
                    .map(String::as_str)
                    .take(MAX_REMEMBERED - 1),
            );
            format!(
                "{ORDERS_COOKIE}={}; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly{}",
                kept.join("."),
                if self.secure { "; Secure" } else { "" }
            )
        });
        let value_site =
            conversion::to_site_currency(b.value, &b.currency, &site.site.currency, fx.as_deref());
        let line = EventLine {
            order: Some(b.order),
            value: Some(b.value),
            currency: Some(b.currency),
            value_site,
            ..self.line
        };
        let text = serde_json::to_string(&line).unwrap_or_default();
        (done(204, cookie), vec![log::info(text)])
    }
}
