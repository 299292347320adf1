//! Stage three: the rewrite plan, data only. What this request's page gets,
//! resolved from the config, the context, the decisions and the KV values
//! before the first byte is rewritten.

pub mod blocks;
pub mod conversion;
pub mod format;
pub mod l10n;
pub mod personal;
pub mod priced;
pub mod prices;

use crate::config::template::Var;
use crate::config::SiteConfig;
use crate::decide::Decisions;
use crate::request::Context;
use l10n::L10n;
use personal::Personal;
use std::rc::Rc;

/// Edits for one rule, with values already expanded for this request.
#[derive(Debug)]
pub struct Edit {
    /// Index into `SiteConfig::rules` (its selector).
    pub rule: usize,
    /// Attribute name and value; the value is plain text (escaped on output).
    pub attrs: Vec<(String, String)>,
    pub text: Option<String>,
}

pub struct Plan {
    pub site: Rc<SiteConfig>,
    pub edits: Vec<Edit>,
    pub l10n: Option<Rc<L10n>>,
    pub personal: Option<Rc<Personal>>,
    /// This page is the order confirmation: the conversion it reports.
    pub conversion: Option<Rc<conversion::PageConversion>>,
    /// The visitor's assignment line, logged when no block was shown (the
    /// holdout, control arms, pages without slots) so every visitor counts.
    pub assignment: Option<Assignment>,
    /// The locale's translation memory (the page's own text).
    pub tm: Option<Rc<crate::rewrite::tm::memory::Memory>>,
    /// The page may be kept (its body read whole, with a variant key): every
    /// slot of the config is watched, not only those this visitor's blocks
    /// fill (a kept page then holds no slot, and whose blocks would have
    /// filled it does not matter). Set by the body, before the rewrite.
    pub watch_slots: std::cell::Cell<bool>,
    /// A slot's selector matched (whether or not a block filled it): the
    /// page's bytes may then depend on the visitor.
    pub slot_seen: std::cell::Cell<bool>,
}

/// A visitor's `assignment` line, made only when it is logged.
#[derive(Debug)]
pub struct Assignment {
    pub line: crate::base::conversion::EventLine,
    /// On every page view, not once per visitor, arm and segment.
    pub every: bool,
}

impl Plan {
    pub fn new(site: Rc<SiteConfig>, ctx: &Context, d: &Decisions) -> Plan {
        let value = |v: Var| -> &str {
            match v {
                Var::Country => &ctx.geo.country,
                Var::Region => ctx.geo.region.as_deref().unwrap_or(""),
                Var::Timezone => ctx.timezone(),
                Var::Continent => ctx.geo.continent.as_deref().unwrap_or(""),
                Var::Device => ctx.device.as_str(),
                Var::Daypart => ctx.time.daypart.as_str(),
                Var::DayKind => ctx.time.day_kind.as_str(),
                Var::Weekday => ctx.time.weekday,
                Var::Season => ctx.time.season.as_str(),
                Var::Locale => &d.locale,
                Var::Currency => &d.currency,
            }
        };
        let edits = site
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| Edit {
                rule: i,
                attrs: r
                    .attrs
                    .iter()
                    .map(|(name, t)| {
                        let mut s = String::new();
                        t.render_into(value, &mut s);
                        (name.clone(), s)
                    })
                    .collect(),
                text: r.text.as_ref().map(|t| {
                    let mut s = String::new();
                    t.render_into(value, &mut s);
                    s
                }),
            })
            .collect();
        Plan {
            site,
            edits,
            l10n: None,
            personal: None,
            conversion: None,
            assignment: None,
            tm: None,
            watch_slots: std::cell::Cell::new(false),
            slot_seen: std::cell::Cell::new(false),
        }
    }

    /// Names this page variant for validators: the bundle, the locale, the
    /// currency and every rule value rendered for the request.
    pub fn variant(&self, d: &Decisions) -> String {
        let mut parts: Vec<&str> = vec![&self.site.doc.bundle, &d.locale, &d.currency];
        for e in &self.edits {
            parts.extend(e.attrs.iter().map(|(_, v)| v.as_str()));
            parts.extend(e.text.as_deref());
        }
        variant_tag(&parts)
    }
}

/// A short tag naming one variant of a page (locale, currency, rule values,
/// bundle): FNV-1a 64 over the parts, hex.
pub fn variant_tag(parts: &[&str]) -> String {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    crate::base::ids::hex(&h.to_be_bytes())
}
