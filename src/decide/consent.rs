//! May the worker write its cookies (visitor id, profile) for this request?
//! Never with `Sec-GPC: 1`, the privacy page's opt-out cookie or for crawlers; in the configured countries
//! (EU/EEA, UK, CH by default) and for unknown countries only after the
//! shop's consent cookie says yes.

use crate::request::{Context, UNKNOWN_COUNTRY};
use crate::schema::Consent;
use serde::Serialize;

/// Set by the privacy page: the visitor opted out of personalization. It
/// holds no identifier, so it needs no consent itself.
pub const OPT_OUT_COOKIE: &str = "borderless_optout";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(serde::Deserialize))]
#[serde(rename_all = "snake_case")]
pub enum Cookies {
    /// Allowed: no consent needed here, or the visitor said yes.
    Allowed,
    /// The browser sent `Sec-GPC: 1`.
    Gpc,
    /// The visitor opted out on the privacy page.
    OptOut,
    /// Consent is needed and the consent cookie does not say yes.
    NoConsent,
    Crawler,
}

impl Cookies {
    pub fn allowed(self) -> bool {
        self == Cookies::Allowed
    }
}

/// `gpc` is the `Sec-GPC` request header.
pub fn cookies(c: &Consent, ctx: &Context, gpc: Option<&str>, crawler: bool) -> Cookies {
    if crawler {
        return Cookies::Crawler;
    }
    if gpc.is_some_and(|v| v.trim() == "1") {
        return Cookies::Gpc;
    }
    if ctx.cookie(OPT_OUT_COOKIE) == Some("1") {
        return Cookies::OptOut;
    }
    let country = ctx.geo.country.as_str();
    let needs =
        ctx.geo.is_eu || country == UNKNOWN_COUNTRY || c.countries.iter().any(|x| x == country);
    if needs && ctx.cookie(&c.cookie) != Some(c.accept.as_str()) {
        return Cookies::NoConsent;
    }
    Cookies::Allowed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Head;

    fn ctx(cf: &str, cookie: Option<&str>) -> Context {
        let head = Head {
            cookie,
            ..Head::default()
        };
        Context::of_test(cf, &head)
    }

    #[test]
    fn rules() {
        let c = Consent::default();
        let jp = ctx(r#"{"country":"JP"}"#, None);
        assert_eq!(cookies(&c, &jp, None, false), Cookies::Allowed);
        assert_eq!(cookies(&c, &jp, Some("1"), false), Cookies::Gpc);
        assert_eq!(cookies(&c, &jp, Some("0"), false), Cookies::Allowed);
        assert_eq!(cookies(&c, &jp, None, true), Cookies::Crawler);
        let out = ctx(r#"{"country":"JP"}"#, Some("borderless_optout=1"));
        assert_eq!(cookies(&c, &out, None, false), Cookies::OptOut);
        assert_eq!(cookies(&c, &out, Some("1"), false), Cookies::Gpc);
        for cf in [
            r#"{"country":"DE"}"#,
            r#"{"country":"GB"}"#,
            r#"{"country":"NO"}"#,
            r#"{"country":"GF","isEUCountry":"1"}"#,
            r#"{}"#,
        ] {
            assert_eq!(
                cookies(&c, &ctx(cf, None), None, false),
                Cookies::NoConsent,
                "{cf}"
            );
            let no = ctx(cf, Some("borderless_consent=no"));
            assert_eq!(cookies(&c, &no, None, false), Cookies::NoConsent, "{cf}");
            let yes = ctx(cf, Some("a=1; borderless_consent=yes"));
            assert_eq!(cookies(&c, &yes, None, false), Cookies::Allowed, "{cf}");
            // GPC wins over consent.
            assert_eq!(cookies(&c, &yes, Some(" 1 "), false), Cookies::Gpc, "{cf}");
            // So does the privacy page's opt-out.
            let out = ctx(cf, Some("borderless_consent=yes; borderless_optout=1"));
            assert_eq!(cookies(&c, &out, None, false), Cookies::OptOut, "{cf}");
        }
    }
}
