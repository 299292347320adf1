//! The visitor's currency.

use crate::base::cldr::TERRITORY_CURRENCY;
use crate::base::money::territory_currency;
use crate::schema::Localization;

/// The currency for a visitor: a valid cookie choice, else the config's
/// country override, else CLDR's territory currency; limited to the shop's
/// accepted currencies (else the origin's).
pub fn currency_for<'a>(
    country: &str,
    cookie: Option<&str>,
    loc: &'a Localization,
    site: &'a str,
) -> &'a str {
    // A known code, borrowed from the config or CLDR (never from the cookie).
    let pick = |c: &str| -> Option<&'a str> {
        if c == site {
            Some(site)
        } else if loc.currencies.is_empty() {
            let configured = loc.country_currencies.values().find(|v| *v == c);
            configured
                .map(String::as_str)
                .or_else(|| TERRITORY_CURRENCY.iter().map(|(_, x)| *x).find(|x| *x == c))
        } else {
            loc.currencies.iter().find(|a| *a == c).map(String::as_str)
        }
    };
    cookie
        .and_then(pick)
        .or_else(|| loc.country_currencies.get(country).and_then(|c| pick(c)))
        .or_else(|| territory_currency(country).and_then(pick))
        .unwrap_or(site)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(json: &str) -> Localization {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn currency_choice() {
        let any = loc(r#"{"locales":["en-GB"]}"#);
        assert_eq!(currency_for("DE", None, &any, "GBP"), "EUR");
        assert_eq!(currency_for("XX", None, &any, "GBP"), "GBP");
        assert_eq!(currency_for("DE", Some("JPY"), &any, "GBP"), "JPY");
        assert_eq!(currency_for("DE", Some("<x>"), &any, "GBP"), "EUR");
        let limited = loc(
            r#"{"locales":["en-GB"],"currencies":["GBP","EUR","USD"],"country_currencies":{"CH":"EUR"}}"#,
        );
        assert_eq!(currency_for("CH", None, &limited, "GBP"), "EUR");
        assert_eq!(currency_for("JP", None, &limited, "GBP"), "GBP");
        assert_eq!(currency_for("US", Some("JPY"), &limited, "GBP"), "USD");
    }
}
