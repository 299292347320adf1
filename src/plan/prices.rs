//! The price part of the plan: the shop's declared currencies, a
//! converter for each into the visitor's currency (or why not), the
//! formatter, and the detection settings; the rewriter's price stage
//! (`crate::rewrite::prices`) reads it.

use crate::base::money::{Converter, NoConversion};
use crate::config::prices::Options;
use crate::plan::format::FormatFn;
use crate::schema::{FxRates, Localization};
use std::rc::Rc;

/// What a page's prices are converted with, resolved before streaming.
pub struct Setup {
    /// The shop's currencies, `site.currency` first.
    pub declared: Vec<String>,
    /// One per declared currency: its converter, or why prices stay.
    pub converters: Vec<(String, Result<Converter, NoConversion>)>,
    pub visitor: String,
    pub format: FormatFn,
    pub options: Rc<Options>,
    /// Show a price that keeps its currency in the visitor's format (off
    /// when the visitor reads the site's own locale: nothing to change).
    pub reformat: bool,
}

impl Setup {
    /// Converters for every declared currency (`site_currency` first, then
    /// `options.currencies`) into the visitor's currency.
    pub fn new(
        site_currency: &str,
        loc: &Localization,
        options: Rc<Options>,
        visitor: &str,
        fx: Option<&FxRates>,
        now_ms: i64,
        format: FormatFn,
    ) -> Setup {
        let mut declared = vec![site_currency.to_string()];
        for c in &options.currencies {
            if !declared.contains(c) {
                declared.push(c.clone());
            }
        }
        let converters = declared
            .iter()
            .map(|c| (c.clone(), Converter::new(c, visitor, fx, now_ms, loc)))
            .collect();
        Setup {
            declared,
            converters,
            visitor: visitor.to_string(),
            format,
            options,
            reformat: true,
        }
    }
}
