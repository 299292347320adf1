//! Price detection settings (`localization.prices`), validated and with
//! their selectors parsed once per config.

use crate::schema::{PriceDetection, PriceUnit};
use lol_html::Selector;

/// Detection settings, selectors parsed.
#[derive(Debug)]
pub struct Options {
    pub enabled: bool,
    /// Non-empty: detection only inside these.
    pub only: Vec<Selector>,
    /// Extra selectors whose bare amounts are prices.
    pub hints: Vec<Selector>,
    pub exclude: Vec<Selector>,
    pub honor_notranslate: bool,
    /// Shop attributes holding the amount: (name, unit).
    pub attributes: Vec<(String, PriceUnit)>,
    /// The origin's decimal separator (`.` or `,`).
    pub decimal: char,
    /// Currencies the shop writes prices in besides `site.currency`.
    pub currencies: Vec<String>,
}

fn selectors(list: &[String], field: &str) -> Result<Vec<Selector>, String> {
    if list.len() > 32 {
        return Err(format!("localization.prices.{field}: at most 32 selectors"));
    }
    list.iter()
        .map(|s| {
            s.parse::<Selector>()
                .map_err(|e| format!("localization.prices.{field}: {s:?}: {e}"))
        })
        .collect()
}

/// Languages whose decimal separator is `.` in CLDR (others use `,`);
/// regional exceptions below.
const DOT_LANGUAGES: &[&str] = &[
    "en", "ja", "zh", "ko", "he", "th", "hi", "ms", "fil", "ga", "mt", "cy", "ta", "te", "bn",
    "ur", "sw", "my", "km", "lo", "ne", "si",
];

/// The decimal separator of a BCP 47 locale (CLDR, simplified).
pub fn decimal_of(locale: &str) -> char {
    let mut parts = locale.split('-');
    let lang = parts.next().unwrap_or("").to_ascii_lowercase();
    let region = parts
        .find(|p| p.len() == 2)
        .map(str::to_ascii_uppercase)
        .unwrap_or_default();
    let dot = match (lang.as_str(), region.as_str()) {
        ("de" | "it" | "fr" | "rm", "CH" | "LI") => true,
        ("es", "MX" | "US" | "PR" | "GT" | "HN" | "NI" | "PA" | "SV" | "DO" | "PE") => true,
        ("ar", "SA" | "AE" | "EG" | "QA" | "KW" | "BH" | "OM" | "JO" | "IQ") => true,
        ("en", "ZA" | "BE" | "DK" | "DE" | "NL" | "AT" | "SI" | "FI" | "SE") => false,
        (l, _) => DOT_LANGUAGES.contains(&l),
    };
    if dot {
        '.'
    } else {
        ','
    }
}

impl Options {
    /// Compiles (and validates) the config's detection settings.
    pub fn compile(p: &PriceDetection, default_locale: &str) -> Result<Options, String> {
        if let Some(c) = p
            .currencies
            .iter()
            .find(|c| !crate::base::ids::is_currency(c))
        {
            return Err(format!(
                "localization.prices.currencies: {c:?} is not an ISO 4217 code"
            ));
        }
        if p.currencies.len() > 16 || p.attributes.len() > 16 {
            return Err("localization.prices: at most 16 currencies and 16 attributes".into());
        }
        let mut attributes = Vec::new();
        for a in &p.attributes {
            let ok = !a.name.is_empty()
                && a.name.len() <= 64
                && a.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_:".contains(&b));
            if !ok {
                return Err(format!(
                    "localization.prices.attributes: bad name {:?}",
                    a.name
                ));
            }
            attributes.push((a.name.clone(), a.unit));
        }
        let decimal = match p.decimal.as_deref() {
            None => decimal_of(default_locale),
            Some(".") => '.',
            Some(",") => ',',
            Some(d) => {
                return Err(format!(
                    "localization.prices.decimal {d:?} must be \".\" or \",\""
                ))
            }
        };
        Ok(Options {
            enabled: p.detect,
            only: selectors(&p.only, "only")?,
            hints: selectors(&p.selectors, "selectors")?,
            exclude: selectors(&p.exclude, "exclude")?,
            honor_notranslate: p.honor_notranslate,
            attributes,
            decimal,
            currencies: p.currencies.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_by_locale() {
        assert_eq!(decimal_of("en-GB"), '.');
        assert_eq!(decimal_of("de-DE"), ',');
        assert_eq!(decimal_of("de-CH"), '.');
        assert_eq!(decimal_of("es-AR"), ',');
        assert_eq!(decimal_of("es-MX"), '.');
        assert_eq!(decimal_of("ja"), '.');
    }

    #[test]
    fn validates() {
        let ok: PriceDetection = serde_json::from_str(
            r##"{"selectors":[".p"],"exclude":["#cart"],"attributes":[{"name":"data-price","unit":"minor"}],"currencies":["EUR"]}"##,
        )
        .unwrap();
        let o = Options::compile(&ok, "en-GB").unwrap();
        assert!(o.enabled && o.honor_notranslate && o.decimal == '.');
        for bad in [
            r#"{"selectors":["<<"]}"#,
            r#"{"currencies":["eur"]}"#,
            r#"{"attributes":[{"name":"on click"}]}"#,
            r#"{"decimal":";"}"#,
        ] {
            let p: PriceDetection = serde_json::from_str(bad).unwrap();
            assert!(Options::compile(&p, "en-GB").is_err(), "{bad}");
        }
    }
}
