//! Conversions read from the shop's own order confirmation page
//! (`personalization.conversion`): the path and query say whether a page is
//! one, and may carry the order id and value; the rest comes from one
//! element's attributes while the page streams.

use crate::base::conversion::{valid_order_id, Beacon};
use crate::schema::ConversionPage;

/// A config's conversion page, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// The path around its `{order}` segment, or the whole path.
    pre: String,
    post: Option<String>,
    pub cfg: ConversionPage,
}

fn attr_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks the config: a path starting with `/` with at most one `{order}`,
/// a source for the value, valid parameter and attribute names.
pub fn compile(c: &ConversionPage) -> Result<Compiled, String> {
    let (pre, post) = match c.path.split_once("{order}") {
        Some((pre, post)) if !post.contains("{order}") => (pre, Some(post.to_string())),
        Some(_) => return Err("conversion.path: at most one {order}".into()),
        None => (c.path.as_str(), None),
    };
    if !pre.starts_with('/') || c.path.len() > 256 {
        return Err("conversion.path must start with '/'".into());
    }
    let names = [
        &c.order_param,
        &c.value_param,
        &c.value_attr,
        &c.order_attr,
        &c.currency_attr,
    ];
    if names
        .iter()
        .any(|n| n.as_deref().is_some_and(|n| !attr_name(n)))
    {
        return Err("conversion: parameter and attribute names are 1-64 of A-Z a-z 0-9 - _".into());
    }
    let value_from_page = c.select.is_some() && c.value_attr.is_some();
    if c.value_param.is_none() && !value_from_page {
        return Err("conversion: needs value_param, or select with value_attr".into());
    }
    if c.select.is_some() != (c.value_attr.is_some() || c.order_attr.is_some()) {
        return Err("conversion: select goes with value_attr or order_attr".into());
    }
    Ok(Compiled {
        pre: pre.to_string(),
        post,
        cfg: c.clone(),
    })
}

/// What is known of an order on a confirmation page so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageOrder {
    pub order: Option<String>,
    pub value: Option<f64>,
    pub currency: Option<String>,
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    let q = query.strip_prefix('?').unwrap_or(query);
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl Compiled {
    /// `Some` when `path` is the confirmation page; with what the path and
    /// query (raw, `a=1&b=2`) give. Percent-encoded values are refused (order
    /// ids and amounts never need them).
    pub fn page(&self, path: &str, query: &str) -> Option<PageOrder> {
        let mut o = PageOrder::default();
        match &self.post {
            Some(post) => {
                let id = path
                    .strip_prefix(self.pre.as_str())?
                    .strip_suffix(post.as_str())?;
                o.order = Some(id.to_string()).filter(|id| valid_order_id(id) && !id.contains('/'));
                o.order.as_ref()?;
            }
            None if path == self.pre => {}
            None => return None,
        }
        if let Some(p) = &self.cfg.order_param {
            if let Some(v) = query_param(query, p).filter(|v| valid_order_id(v)) {
                o.order.get_or_insert_with(|| v.to_string());
            }
        }
        if let Some(p) = &self.cfg.value_param {
            o.value = query_param(query, p).and_then(crate::base::money::parse_amount);
        }
        Some(o)
    }

    /// Takes what the configured element's attributes give (the first
    /// element wins; the page's own values never override the URL's).
    pub fn element(&self, o: &mut PageOrder, attr: impl Fn(&str) -> Option<String>) {
        let get = |name: &Option<String>| name.as_deref().and_then(&attr);
        if o.value.is_none() {
            o.value = get(&self.cfg.value_attr).and_then(|v| crate::base::money::parse_amount(&v));
        }
        if o.order.is_none() {
            o.order = get(&self.cfg.order_attr).filter(|v| valid_order_id(v));
        }
        if o.currency.is_none() {
            o.currency = get(&self.cfg.currency_attr)
                .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()));
        }
    }
}

impl PageOrder {
    /// The order, once it has an id and a value (in `site` unless the page
    /// said otherwise).
    pub fn finish(self, site: &str) -> Option<Beacon> {
        Some(Beacon {
            order: self.order?,
            value: self.value.filter(|v| *v <= 1e10)?,
            currency: self.currency.unwrap_or_else(|| site.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(json: &str) -> Result<Compiled, String> {
        compile(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn config_checks() {
        assert!(c(r#"{"path":"/thanks","value_param":"total"}"#).is_ok());
        assert!(c(
            r#"{"path":"/o/{order}/done","select":"[data-total]","value_attr":"data-total"}"#
        )
        .is_ok());
        for bad in [
            r#"{"path":"thanks","value_param":"total"}"#,
            r#"{"path":"/thanks"}"#,
            r#"{"path":"/{order}/{order}","value_param":"v"}"#,
            r#"{"path":"/thanks","value_param":"to tal"}"#,
            r##"{"path":"/thanks","select":"#t"}"##,
            r#"{"path":"/thanks","value_param":"v","value_attr":"data-v"}"#,
        ] {
            assert!(c(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn orders_from_path_query_and_element() {
        let q = c(r#"{"path":"/checkout/thanks","order_param":"order","value_param":"total"}"#)
            .unwrap();
        assert_eq!(q.page("/checkout/other", "order=A-1&total=5"), None);
        let o = q.page("/checkout/thanks", "order=A-1&total=23.50").unwrap();
        assert_eq!(o.clone().finish("GBP").unwrap().value, 23.5);
        assert_eq!(o.finish("GBP").unwrap().order, "A-1");
        // Without an order id there is nothing to deduplicate: no conversion.
        assert_eq!(
            q.page("/checkout/thanks", "total=9").unwrap().finish("GBP"),
            None
        );
        assert_eq!(
            q.page("/checkout/thanks", "order=<x>&total=9")
                .unwrap()
                .order,
            None
        );
        assert_eq!(
            q.page("/checkout/thanks", "order=A&total=1e9")
                .unwrap()
                .value,
            None
        );

        let p = c(r##"{"path":"/orders/{order}/done","select":"#summary","value_attr":"data-total","currency_attr":"data-currency"}"##).unwrap();
        assert_eq!(p.page("/orders/../done", ""), None);
        assert_eq!(p.page("/orders//done", ""), None);
        let mut o = p.page("/orders/981/done", "").unwrap();
        assert_eq!(o.order.as_deref(), Some("981"));
        p.element(&mut o, |a| match a {
            "data-total" => Some("41.20".into()),
            "data-currency" => Some("EUR".into()),
            _ => None,
        });
        // A second element changes nothing.
        p.element(&mut o, |_| Some("99".into()));
        let b = o.finish("GBP").unwrap();
        assert_eq!(
            (b.order.as_str(), b.value, b.currency.as_str()),
            ("981", 41.2, "EUR")
        );
    }
}
