//! The preview report (`x-borderless-context`): the context and every
//! decision of the request, gathered from each stage's own output.

use crate::decide::consent::Cookies;
use crate::decide::{locale, Decisions};
use crate::page::values::KvRead;
use crate::plan::l10n::L10n;
use crate::plan::personal::{BlockReport, PersonalReport};
use crate::request::{Context, Overrides};
use serde::Serialize;

pub const REPORT_HEADER: &str = "x-borderless-context";

/// What the request decided, in the order the report has always shown it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(serde::Deserialize))]
pub struct Decided {
    pub locale: String,
    pub locale_source: Option<locale::Source>,
    pub currency: String,
    /// `converted`, or why prices keep the origin currency.
    pub prices: Option<String>,
    /// Prices found in the page's text: each currency the shop declares and
    /// whether its prices are converted, or why not (the counts of what was
    /// found are logged at the end of the page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_detection: Option<std::collections::BTreeMap<String, String>>,
    pub crawler: bool,
    pub segment: Option<String>,
    pub experiment_arm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookies: Option<Cookies>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_used: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<BlockReport>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    pub kv: Vec<KvRead>,
    /// `rewrite`, `explain`, or `passthrough: <reason>`.
    pub body: String,
}

impl Decided {
    pub fn new(
        d: &Decisions,
        l10n: Option<&L10n>,
        personal: PersonalReport,
        kv: Vec<KvRead>,
        body: String,
    ) -> Decided {
        Decided {
            locale: d.locale.clone(),
            locale_source: d.locale_source,
            currency: l10n.map_or_else(|| d.currency.clone(), |l| l.currency.clone()),
            prices: l10n.map(|l| l.prices_status.to_string()),
            price_detection: l10n.and_then(|l| l.detect.as_ref()).map(|s| {
                s.converters
                    .iter()
                    .map(|(c, r)| {
                        let status = r.as_ref().map_or_else(|e| e.as_str(), |_| "converted");
                        (c.clone(), status.to_string())
                    })
                    .collect()
            }),
            crawler: d.crawler,
            segment: personal.segment,
            experiment_arm: personal.experiment_arm,
            cookies: personal.cookies,
            profile: personal.profile,
            segment_used: personal.segment_used,
            blocks: personal.blocks,
            reasons: personal.reasons,
            kv,
            body,
        }
    }
}

#[derive(Serialize)]
struct Report<'a> {
    context: &'a Context,
    decisions: &'a Decided,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    ignored_overrides: &'a [&'static str],
}

/// The one-line JSON for [`REPORT_HEADER`]; non-ASCII is `\u`-escaped so the
/// value is a valid header.
pub fn report(ctx: &Context, decisions: &Decided, ov: &Overrides) -> String {
    let json = serde_json::to_string(&Report {
        context: ctx,
        decisions,
        ignored_overrides: &ov.ignored,
    })
    .unwrap_or_else(|_| "{}".to_string());
    ascii_json(json)
}

/// `\u`-escapes every non-ASCII character of a JSON text.
pub(crate) fn ascii_json(json: String) -> String {
    if json.is_ascii() {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Geo, Head};

    #[test]
    fn report_is_one_ascii_line() {
        let geo = Geo::from_cf(Some("country:FR\tregion:Île-de-France 🇫🇷"));
        let ctx = Context::new(geo, &Head::default(), 0, &Overrides::default(), &|_, _| {
            None
        });
        let d = Decided::new(
            &Decisions::origin("en-GB", "GBP"),
            None,
            PersonalReport::default(),
            Vec::new(),
            "rewrite".into(),
        );
        let r = report(
            &ctx,
            &d,
            &Overrides {
                ignored: vec!["x-borderless-now"],
                ..Overrides::default()
            },
        );
        assert!(r.is_ascii() && !r.contains('\n'), "{r}");
        let v: serde_json::Value = serde_json::from_str(&r).unwrap();
        assert_eq!(v["context"]["region"], "Île-de-France 🇫🇷");
        assert_eq!(v["decisions"]["locale"], "en-GB");
        assert_eq!(v["ignored_overrides"][0], "x-borderless-now");
    }
}
