//! A conversion read from the order confirmation page while it streams:
//! the attributed line to complete, what the URL gave, and what the page's
//! element adds (`crate::config::conversion_page`).

use crate::base::conversion::{to_site_currency, EventLine};
use crate::config::conversion_page::{Compiled, PageOrder};
use crate::schema::FxRates;
use std::cell::RefCell;
use std::rc::Rc;

pub struct PageConversion {
    pub page: Rc<SiteConversion>,
    pub order: RefCell<PageOrder>,
    /// Visitor, arm, holdout, segment, country, path; order and value to come.
    pub line: EventLine,
    pub site_currency: String,
    pub fx: Option<Rc<FxRates>>,
}

/// The site's conversion page config, compiled (lives in the site config).
#[derive(Debug)]
pub struct SiteConversion {
    pub page: Compiled,
    pub selector: Option<lol_html::Selector>,
}

impl PageConversion {
    /// The conversion line, once the page gave an order id and a value.
    pub fn line(&self) -> Option<String> {
        let b = self.order.borrow().clone().finish(&self.site_currency)?;
        let value_site = to_site_currency(
            b.value,
            &b.currency,
            &self.site_currency,
            self.fx.as_deref(),
        );
        let line = EventLine {
            order: Some(b.order),
            value: Some(b.value),
            currency: Some(b.currency),
            value_site,
            ..self.line.clone()
        };
        serde_json::to_string(&line).ok()
    }
}
