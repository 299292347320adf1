//! Money arithmetic: CLDR currency digits, machine-readable amounts,
//! conversion with fresh FX rates only, and the shop's rounding rules.

use crate::base::cldr::{CURRENCY_FRACTIONS, TERRITORY_CURRENCY};
use crate::schema::{FxRates, Localization, Rounding, RoundingMode};

/// CLDR's current currency of a territory.
pub fn territory_currency(country: &str) -> Option<&'static str> {
    TERRITORY_CURRENCY
        .binary_search_by(|(t, _)| (*t).cmp(country))
        .ok()
        .and_then(|i| TERRITORY_CURRENCY.get(i))
        .map(|t| t.1)
}

/// Whether `code` is some territory's current currency in CLDR.
pub fn territory_currency_known(code: &str) -> bool {
    TERRITORY_CURRENCY.iter().any(|(_, c)| *c == code)
}

/// Decimal digits of a currency's prices (CLDR: JPY 0, BHD 3, most 2).
pub fn digits(currency: &str) -> u8 {
    CURRENCY_FRACTIONS
        .binary_search_by(|(c, ..)| (*c).cmp(currency))
        .ok()
        .and_then(|i| CURRENCY_FRACTIONS.get(i))
        .map_or(2, |c| c.1)
}

/// Parses a machine-readable amount (`"2.55"`, `"1234"`): ASCII digits with
/// at most one `.`; anything else is refused.
pub fn parse_amount(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 24 || s.bytes().filter(|b| *b == b'.').count() > 1 {
        return None;
    }
    if !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') || s == "." {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Why prices stay in the origin currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoConversion {
    SameCurrency,
    NoRates,
    StaleRates,
    NoRate,
}

impl NoConversion {
    pub fn as_str(self) -> &'static str {
        match self {
            NoConversion::SameCurrency => "same_currency",
            NoConversion::NoRates => "no_rates",
            NoConversion::StaleRates => "stale_rates",
            NoConversion::NoRate => "no_rate",
        }
    }
}

/// Converts prices from the origin currency to the visitor's, applying the
/// shop's rounding rule. Built once per request.
#[derive(Debug, Clone, PartialEq)]
pub struct Converter {
    pub from: String,
    pub to: String,
    factor: f64,
    rule: Rule,
}

impl Converter {
    /// The factor's bits: with the currencies, what this converter does
    /// (the kept pages' key, `page::variants`).
    pub fn factor_bits(&self) -> u64 {
        self.factor.to_bits()
    }

    /// `None` (with the reason) when prices must stay as they are.
    pub fn new(
        from: &str,
        to: &str,
        fx: Option<&FxRates>,
        now_ms: i64,
        loc: &Localization,
    ) -> Result<Converter, NoConversion> {
        if from == to {
            return Err(NoConversion::SameCurrency);
        }
        let fx = fx.ok_or(NoConversion::NoRates)?;
        let as_of = as_of_ms(fx).ok_or(NoConversion::NoRates)?;
        if !fresh_at(as_of, now_ms, loc) {
            return Err(NoConversion::StaleRates);
        }
        let rate = |c: &str| -> Option<f64> {
            let r = if c == fx.base { 1.0 } else { *fx.rates.get(c)? };
            (r.is_finite() && r > 0.0).then_some(r)
        };
        let factor =
            rate(to).ok_or(NoConversion::NoRate)? / rate(from).ok_or(NoConversion::NoRate)?;
        let rule =
            Rule::new(loc.rounding.get(to), digits(to)).unwrap_or_else(|_| Rule::minor(digits(to)));
        Ok(Converter {
            from: from.to_string(),
            to: to.to_string(),
            factor,
            rule,
        })
    }

    /// The converted, rounded amount of a price in `currency`; `None` when
    /// the price is not in the converter's source currency.
    pub fn convert(&self, amount: f64, currency: &str) -> Option<f64> {
        (currency == self.from).then(|| self.rule.apply(amount * self.factor))
    }
}

/// When `fx` was published (ms since the epoch), if its `as_of` parses.
pub fn as_of_ms(fx: &FxRates) -> Option<i64> {
    crate::base::time::parse_rfc3339(&fx.as_of)
}

/// Whether rates published at `as_of` may convert at `now_ms`: no older
/// than the config allows, and at most an hour ahead of the clock. The
/// only way time enters a [`Converter::new`].
pub fn fresh_at(as_of: i64, now_ms: i64, loc: &Localization) -> bool {
    let age_ms = now_ms.saturating_sub(as_of);
    age_ms <= i64::from(loc.fx_max_age_hours) * 3_600_000 && age_ms >= -3_600_000
}

/// A rounding rule in minor units of the target currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    scale: f64,
    step: u64,
    charm: Option<(u64, u64)>,
    mode: RoundingMode,
}

impl Rule {
    fn minor(digits: u8) -> Rule {
        Rule {
            scale: 10f64.powi(i32::from(digits)),
            step: 1,
            charm: None,
            mode: RoundingMode::Up,
        }
    }

    /// Validates a config rule against the currency's digits.
    pub fn new(r: Option<&Rounding>, digits: u8) -> Result<Rule, String> {
        let mut rule = Rule::minor(digits);
        let Some(r) = r else { return Ok(rule) };
        rule.mode = r.mode;
        if let Some(step) = &r.step {
            rule.step = to_minor(step, digits)
                .filter(|s| *s > 0)
                .ok_or_else(|| format!("step {step:?}"))?;
        }
        if let Some(charm) = &r.charm {
            let c = to_minor(charm, digits).ok_or_else(|| format!("charm {charm:?}"))?;
            // The charm repeats every power of ten above it, at least one major unit.
            let mut unit = 10u64.pow(u32::from(digits));
            while unit <= c {
                unit *= 10;
            }
            rule.charm = Some((c, unit));
        }
        Ok(rule)
    }

    /// Rounds a converted amount (major units).
    pub fn apply(&self, amount: f64) -> f64 {
        // Minor units, cleaned of binary noise (2.55 * 100 = 254.99999...).
        let x = (amount * self.scale * 1e6).round() / 1e6;
        let step = self.step as f64;
        let mut r = match self.mode {
            RoundingMode::Up => (x / step).ceil() * step,
            RoundingMode::Nearest => (x / step + 0.5).floor() * step,
        };
        if let Some((c, unit)) = self.charm {
            let (c, unit) = (c as f64, unit as f64);
            let mut m = (r / unit).floor() * unit + c;
            if m < r {
                m += unit;
            }
            r = m;
        }
        r / self.scale
    }
}

/// A positive decimal string in minor units of a currency with `digits`.
fn to_minor(s: &str, digits: u8) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() || frac.len() > usize::from(digits) || s.len() > 18 {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    for i in 0..usize::from(digits) {
        v = v.checked_mul(10)? + frac.as_bytes().get(i).map_or(0, |b| u64::from(b - b'0'));
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::time::parse_rfc3339;
    use std::collections::BTreeMap;

    #[test]
    fn factor_bits_tell_every_factor_apart() {
        let c = |factor| Converter {
            from: "GBP".into(),
            to: "EUR".into(),
            factor,
            rule: Rule::minor(2),
        };
        // The next float up prints the same to few digits: the bits differ.
        let near = f64::from_bits(1.1734f64.to_bits() + 1);
        assert_ne!(c(1.1734).factor_bits(), c(near).factor_bits());
        assert_eq!(c(187.25).factor_bits(), c(187.25).factor_bits());
    }

    fn loc(json: &str) -> Localization {
        serde_json::from_str(json).unwrap()
    }

    fn rates() -> FxRates {
        FxRates {
            base: "GBP".into(),
            as_of: "2026-11-22T00:00:00Z".into(),
            rates: BTreeMap::from([
                ("EUR".into(), 1.15),
                ("JPY".into(), 190.4),
                ("CHF".into(), 1.1234),
                ("USD".into(), 1.27),
                ("BAD".into(), -1.0),
            ]),
        }
    }

    #[test]
    fn cldr_lookups() {
        assert_eq!(territory_currency("DE"), Some("EUR"));
        assert_eq!(territory_currency("CH"), Some("CHF"));
        assert_eq!(territory_currency("JP"), Some("JPY"));
        assert_eq!(territory_currency("XX"), None);
        assert_eq!(
            (digits("JPY"), digits("EUR"), digits("BHD"), digits("KRW")),
            (0, 2, 3, 0)
        );
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("2.55"), Some(2.55));
        assert_eq!(parse_amount(" 1234 "), Some(1234.0));
        for bad in [
            "",
            ".",
            "1,234.50",
            "1.2.3",
            "-5",
            "1e9",
            "NaN",
            "£2",
            "12345678901234567890123456",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn conversion_needs_fresh_rates() {
        let l = loc(r#"{"locales":["en-GB"],"fx_max_age_hours":24}"#);
        let now = parse_rfc3339("2026-11-22T12:00:00Z").unwrap();
        let c = Converter::new("GBP", "EUR", Some(&rates()), now, &l).unwrap();
        assert_eq!(c.convert(2.55, "GBP"), Some(2.94)); // 2.9325 rounded up
        assert_eq!(c.convert(2.55, "USD"), None);
        let late = parse_rfc3339("2026-11-23T00:00:01Z").unwrap();
        assert_eq!(
            Converter::new("GBP", "EUR", Some(&rates()), late, &l),
            Err(NoConversion::StaleRates)
        );
        assert_eq!(
            Converter::new("GBP", "EUR", None, now, &l),
            Err(NoConversion::NoRates)
        );
        assert_eq!(
            Converter::new("GBP", "SEK", Some(&rates()), now, &l),
            Err(NoConversion::NoRate)
        );
        assert_eq!(
            Converter::new("GBP", "BAD", Some(&rates()), now, &l),
            Err(NoConversion::NoRate)
        );
        assert_eq!(
            Converter::new("GBP", "GBP", Some(&rates()), now, &l),
            Err(NoConversion::SameCurrency)
        );
        // Cross rate through the base.
        let x = Converter::new("EUR", "USD", Some(&rates()), now, &l).unwrap();
        assert_eq!(x.convert(100.0, "EUR"), Some(110.44));
    }

    #[test]
    fn rounding_rules() {
        let r = |json: &str, digits: u8, v: f64| {
            let rule: Rounding = serde_json::from_str(json).unwrap();
            Rule::new(Some(&rule), digits).unwrap().apply(v)
        };
        assert_eq!(r(r#"{}"#, 2, 2.9325), 2.94);
        assert_eq!(r(r#"{"mode":"nearest"}"#, 2, 2.9325), 2.93);
        assert_eq!(r(r#"{"charm":"0.99"}"#, 2, 23.40), 23.99);
        assert_eq!(r(r#"{"charm":"0.99"}"#, 2, 23.99), 23.99);
        assert_eq!(r(r#"{"charm":"0.99"}"#, 2, 23.991), 24.99);
        assert_eq!(r(r#"{"step":"0.05"}"#, 2, 2.861), 2.9);
        assert_eq!(r(r#"{"step":"0.05","mode":"nearest"}"#, 2, 2.861), 2.85);
        assert_eq!(r(r#"{}"#, 0, 485.52), 486.0);
        assert_eq!(r(r#"{"step":"10"}"#, 0, 485.52), 490.0);
        assert_eq!(r(r#"{"charm":"80"}"#, 0, 485.52), 580.0);
        assert_eq!(r(r#"{"charm":"80"}"#, 0, 470.0), 480.0);
        assert_eq!(r(r#"{"step":"1"}"#, 2, 12.01), 13.0);
        // Exact values are not bumped by binary noise.
        assert_eq!(r(r#"{}"#, 2, 2.55), 2.55);
        assert_eq!(r(r#"{}"#, 2, 0.1 + 0.2), 0.3);
        for bad in [
            r#"{"step":"0.001"}"#,
            r#"{"step":"0"}"#,
            r#"{"charm":"abc"}"#,
            r#"{"step":"-1"}"#,
        ] {
            let rule: Rounding = serde_json::from_str(bad).unwrap();
            assert!(Rule::new(Some(&rule), 2).is_err(), "{bad}");
        }
    }
}
