//! Phase one for a known customer: whether to read their value, and which
//! key. Only a verified identity (`request::identity`), with consent (no
//! GPC, the consent cookie where needed, no crawler), personalized (not
//! holdout or control) and on a page with a `buy-again` or `for-you` block
//! for this visitor costs the one extra KV read; anyone else costs nothing.

use crate::config::personal::Compiled;
use crate::decide::Visitor;
use crate::page::values::{Kind, Read};
use crate::request::identity;
use crate::request::Context;
use crate::schema::{BlockKind, Personalization};

/// Why a customer value is or is not read (for the preview report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    Read,
    NoCustomerBlock,
    NotPersonalized,
    NoConsent,
    NotConfigured,
    NoCookie,
    /// Present but not verified: forged, expired, malformed.
    Invalid,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Read => "value read",
            Why::NoCustomerBlock => "no customer block",
            Why::NotPersonalized => "not personalized (holdout or control)",
            Why::NoConsent => "no consent (GPC, opt-out, consent cookie, crawler)",
            Why::NotConfigured => "secrets not configured",
            Why::NoCookie => "no identity cookie",
            Why::Invalid => "identity cookie not verified",
        }
    }
}

/// Whether this visitor's page shows a customer block.
fn has_customer_block(p: &Personalization, c: &Compiled, v: &Visitor) -> bool {
    c.slots.iter().any(|slot| {
        let kind = v
            .assignment
            .slots
            .get(&slot.name)
            .copied()
            .or_else(|| p.slots.get(&slot.name).map(|s| s.block));
        matches!(kind, Some(BlockKind::BuyAgain | BlockKind::ForYou))
    })
}

/// The read to add, and why (not).
pub fn read(
    p: &Personalization,
    c: &Compiled,
    v: &Visitor,
    ctx: &Context,
    cookie_secret: Option<&str>,
    customer_key: Option<&str>,
    now_ms: i64,
) -> (Option<Read>, Why) {
    if !has_customer_block(p, c, v) {
        return (None, Why::NoCustomerBlock);
    }
    match identify(v, ctx, cookie_secret, customer_key, now_ms) {
        Ok(key) => (
            Some(Read {
                kind: Kind::Customer,
                keys: vec![key],
            }),
            Why::Read,
        ),
        Err(why) => (None, why),
    }
}

/// The customer value's KV key, if this visitor's purchase history may be
/// used at all (the privacy page asks this too).
pub fn identify(
    v: &Visitor,
    ctx: &Context,
    cookie_secret: Option<&str>,
    customer_key: Option<&str>,
    now_ms: i64,
) -> Result<String, Why> {
    if !v.cookies.allowed() {
        return Err(Why::NoConsent);
    }
    if !v.assignment.personalized {
        return Err(Why::NotPersonalized);
    }
    let secrets = cookie_secret
        .zip(customer_key)
        .filter(|(a, b)| a.len() >= identity::MIN_SECRET && b.len() >= identity::MIN_SECRET);
    let Some((cookie_secret, customer_key)) = secrets else {
        return Err(Why::NotConfigured);
    };
    let Some(cookie) = ctx.cookie(identity::COOKIE) else {
        return Err(Why::NoCookie);
    };
    let who = identity::verify(cookie, cookie_secret.as_bytes(), now_ms).ok_or(Why::Invalid)?;
    identity::kv_key(&who.id, customer_key.as_bytes()).ok_or(Why::Invalid)
}

#[cfg(test)]
mod tests {
    use crate::page::sim::{Served, Shop, Visit};
    use crate::page::values::Kind;
    use crate::request::identity;
    use crate::schema::{Card, CountryPack, CustomerValue};
    use std::collections::BTreeMap;

    const COOKIE_SECRET: &str = "the shop's cookie secret, 32 by";
    const KV_KEY: &str = "the CLI's customer key, 32 bytes";
    const NOW_MS: i64 = 1_764_000_000_000;
    const PAGE: &str = r#"<html><body><div data-borderless-slot="again"></div><div data-borderless-slot="picks"></div></body></html>"#;

    fn site() -> String {
        r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"},
            "personalization":{"slots":{"again":{"block":"buy-again"},"picks":{"block":"for-you"}},"cards":3}}"#
            .to_string()
    }

    fn card(id: &str, title: &str, url: &str) -> Card {
        Card {
            id: id.into(),
            title: BTreeMap::from([("en-GB".into(), title.into())]),
            category: "Gifts".into(),
            price: "2.55".into(),
            currency: "GBP".into(),
            image: format!("/img/{id}.svg"),
            url: url.into(),
        }
    }

    fn shop() -> Shop {
        let pack = CountryPack {
            country: "ZZ".into(),
            segments: BTreeMap::from([("*:*:*:*:*".into(), vec!["p1".into()])]),
            trending: vec![],
            also_bought: BTreeMap::new(),
            cards: BTreeMap::from([("p1".into(), card("p1", "Popular", "/p/p1"))]),
        };
        let value = CustomerValue {
            country: "JP".into(),
            buy_again: vec!["a1".into(), "a2".into(), "x1".into()],
            for_you: vec!["f1".into()],
            cards: BTreeMap::from([
                ("a1".into(), card("a1", "Cake Cases", "/p/a1")),
                ("a2".into(), card("a2", "Tea Set", "/p/a2")),
                (
                    "x1".into(),
                    card("x1", "<script>alert(1)</script>", "javascript:alert(1)"),
                ),
                ("f1".into(), card("f1", "Lantern & <b>Co</b>", "/p/f1")),
            ]),
        };
        let mut s = Shop::new(&site());
        for c in ["JP", "DE", "ZZ"] {
            let key = format!("b/t/country/{c}");
            s = s.value(&key, Kind::Pack, &serde_json::to_string(&pack).unwrap());
        }
        let key = identity::kv_key("c42", KV_KEY.as_bytes()).unwrap();
        s = s.value(
            &key,
            Kind::Customer,
            &serde_json::to_string(&value).unwrap(),
        );
        s.cookie_secret = Some(COOKIE_SECRET.into());
        s.customer_key = Some(KV_KEY.into());
        s
    }

    fn visit(country: &str, cookie: &str) -> Visit {
        let mut v = Visit::get("/", country).header("cookie", cookie);
        v.now_ms = NOW_MS;
        v.fresh_id = Some("0123456789abcdef0123456789abcdef".into());
        v
    }

    fn signed(id: &str, expires_s: i64) -> String {
        let v = identity::sign(id, expires_s, COOKIE_SECRET.as_bytes()).unwrap();
        format!("{}={v}", identity::COOKIE)
    }

    fn customer_reads(out: &Served) -> usize {
        out.report()["decisions"]["kv"].as_array().map_or(0, |r| {
            r.iter()
                .filter(|r| r["key"].as_str().is_some_and(|k| k.starts_with("cust/")))
                .count()
        })
    }

    #[test]
    fn a_signed_customer_gets_their_blocks() {
        let shop = shop();
        let out = shop.page(&visit("JP", &signed("c42", NOW_MS / 1000 + 3600)), PAGE);
        let html = out.text();
        assert_eq!(customer_reads(&out), 1, "{:?}", out.report());
        assert!(
            html.contains("data-borderless-block=\"buy-again\""),
            "{html}"
        );
        assert!(
            html.contains("Cake Cases") && html.contains("Tea Set"),
            "{html}"
        );
        assert!(html.contains("data-borderless-block=\"for-you\""), "{html}");
        assert!(
            html.contains("Lantern &amp; &lt;b&gt;Co&lt;/b&gt;"),
            "{html}"
        );
        // A card with a script link is dropped; nothing from it is executable.
        assert!(
            !html.contains("<script>") && !html.contains("javascript:"),
            "{html}"
        );
        let exposure = out
            .logs
            .iter()
            .find(|l| l.line.contains("\"exposure\""))
            .map(|l| l.line.clone())
            .unwrap_or_default();
        assert!(
            exposure.contains("buy-again") && exposure.contains("a1"),
            "{exposure}"
        );
        // A known customer unknown to KV: the read happens, no block.
        let out = shop.page(&visit("JP", &signed("c43", NOW_MS / 1000 + 3600)), PAGE);
        assert_eq!(customer_reads(&out), 1);
        assert!(
            !out.text().contains("data-borderless-block"),
            "{}",
            out.text()
        );
    }

    #[test]
    fn anyone_else_costs_no_read_and_gets_no_block() {
        let shop = shop();
        let good = signed("c42", NOW_MS / 1000 + 3600);
        let forged = {
            let mut g = good.clone().into_bytes();
            let last = g.len() - 1;
            g[last] = if g[last] == b'0' { b'1' } else { b'0' };
            String::from_utf8(g).unwrap()
        };
        let cases: Vec<(&str, Visit)> = vec![
            ("no cookie", visit("JP", "")),
            ("forged", visit("JP", &forged)),
            ("expired", visit("JP", &signed("c42", NOW_MS / 1000 - 1))),
            ("unsigned", visit("JP", "borderless_customer=c42")),
            ("GPC", visit("JP", &good).header("sec-gpc", "1")),
            ("EU without consent", visit("DE", &good)),
            (
                "crawler",
                visit("JP", &good).header("user-agent", "Mozilla/5.0 (compatible; Googlebot/2.1)"),
            ),
        ];
        for (why, v) in cases {
            let out = shop.page(&v, PAGE);
            assert_eq!(customer_reads(&out), 0, "{why}: {:?}", out.report());
            let reasons = out.report()["decisions"]["reasons"].to_string();
            if why == "forged" || why == "expired" || why == "unsigned" {
                assert!(
                    reasons.contains("customer: identity cookie not verified"),
                    "{reasons}"
                );
            }
            assert!(!out.text().contains("Cake Cases"), "{why}");
        }
        // With consent in the EU the read happens.
        let de = visit("DE", &format!("{good}; borderless_consent=yes"));
        assert_eq!(customer_reads(&shop.page(&de, PAGE)), 1);
        // An experiment arm can swap a block for a customer block.
        let swapped = r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"},
            "personalization":{"slots":{"recs":{"block":"segment"}},"cards":3,
            "experiments":[{"name":"history","arms":[{"name":"again","weight":1,"slots":{"recs":"buy-again"}}]}]}}"#;
        let mut arm = Shop::new(swapped);
        arm.values = shop.values.clone();
        arm.cookie_secret = shop.cookie_secret.clone();
        arm.customer_key = shop.customer_key.clone();
        let out = arm.page(
            &visit("JP", &good),
            r#"<div data-borderless-slot="recs"></div>"#,
        );
        assert_eq!(customer_reads(&out), 1);
        assert!(
            out.text().contains("data-borderless-block=\"buy-again\""),
            "{}",
            out.text()
        );
        // Without the secrets the worker never reads customer values.
        let mut unconfigured = shop;
        unconfigured.customer_key = None;
        let out = unconfigured.page(&visit("JP", &good), PAGE);
        assert_eq!(customer_reads(&out), 0);
    }
}
