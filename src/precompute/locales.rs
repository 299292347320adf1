//! Per-locale dictionaries as the worker reads them: one value per listed
//! locale, its entries merged along the fallback chain (`de` under `de-AT`),
//! plus the locale's currency formats sampled from ICU via Node
//! (scripts/money-formats.mjs), so one read gives a page all it needs.

use crate::decide::locale;
use crate::schema::{Config, Dictionary, FxRates, MoneyFormats};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// Completes `given` for every locale of the config. Dictionaries of locales
/// the config does not list are dropped (and named in the result's `Err`
/// only if nothing else is wrong: they are reported to stderr).
pub fn complete(
    config: &Config,
    given: Vec<Dictionary>,
    fx: Option<&FxRates>,
) -> Result<Vec<Dictionary>, String> {
    let Some(loc) = &config.localization else {
        return Ok(given);
    };
    for d in &given {
        let listed = loc
            .locales
            .iter()
            .any(|l| l.eq_ignore_ascii_case(&d.locale));
        let parent = loc
            .locales
            .iter()
            .any(|l| locale::fallbacks(l).any(|f| f.eq_ignore_ascii_case(&d.locale)));
        if !listed && !parent {
            eprintln!(
                "warning: dictionary {:?} is for no listed locale; ignored",
                d.locale
            );
        }
    }
    let mut currencies: Vec<String> = if loc.currencies.is_empty() {
        fx.map(|f| f.rates.keys().cloned().chain([f.base.clone()]).collect())
            .unwrap_or_default()
    } else {
        loc.currencies.clone()
    };
    currencies.push(config.site.currency.clone());
    currencies.sort();
    currencies.dedup();
    let mut money = money_formats(&loc.locales, &currencies)?;
    let mut out = Vec::with_capacity(loc.locales.len());
    for l in &loc.locales {
        let mut entries = BTreeMap::new();
        // Least specific first, so the locale's own strings win.
        let chain: Vec<&str> = locale::fallbacks(l).collect();
        for tag in chain.iter().rev() {
            if let Some(d) = given.iter().find(|d| d.locale.eq_ignore_ascii_case(tag)) {
                entries.extend(d.entries.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let formats = money
            .remove(l)
            .ok_or_else(|| format!("no money formats for {l}"))?;
        out.push(Dictionary {
            locale: l.clone(),
            entries,
            money: Some(formats),
        });
    }
    Ok(out)
}

/// Runs the ICU sampler in Node (`BORDERLESS_NODE`, default `node`).
fn money_formats(
    locales: &[String],
    currencies: &[String],
) -> Result<BTreeMap<String, MoneyFormats>, String> {
    let node = std::env::var("BORDERLESS_NODE").unwrap_or_else(|_| "node".into());
    let script = std::env::var_os("BORDERLESS_MONEY_SCRIPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/money-formats.mjs")
        });
    let out = Command::new(&node)
        .arg(&script)
        .arg(locales.join(","))
        .arg(currencies.join(","))
        .output()
        .map_err(|e| {
            format!(
                "running {node} {}: {e} (Node is needed for currency formats)",
                script.display()
            )
        })?;
    if !out.status.success() {
        return Err(format!(
            "{}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    #[derive(serde::Deserialize)]
    struct Output {
        generator: String,
        locales: BTreeMap<String, MoneyFormats>,
    }
    let parsed: Output =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("money formats: {e}"))?;
    eprintln!(
        "currency formats: {} locales x {} currencies from {}",
        parsed.locales.len(),
        currencies.len(),
        parsed.generator
    );
    Ok(parsed.locales)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    #[test]
    fn every_locale_gets_merged_entries_and_formats() {
        let cfg = config::parse(
            r#"{"version":1,"bundle":"t","site":{"default_locale":"en-GB","currency":"GBP"},
            "localization":{"locales":["en-GB","de-DE","de-AT"],"currencies":["EUR","CHF"]}}"#,
        )
        .unwrap()
        .doc;
        let dict = |l: &str, kv: &[(&str, &str)]| Dictionary {
            locale: l.into(),
            entries: kv
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            money: None,
        };
        let given = vec![
            dict("de", &[("nav.basket", "Warenkorb"), ("nav.home", "Start")]),
            dict("de-AT", &[("nav.home", "Startseite")]),
            dict("fr-FR", &[("nav.home", "Accueil")]),
        ];
        let out = complete(&cfg, given, None).unwrap();
        assert_eq!(
            out.iter().map(|d| d.locale.as_str()).collect::<Vec<_>>(),
            ["en-GB", "de-DE", "de-AT"]
        );
        assert!(out[0].entries.is_empty());
        assert_eq!(out[1].entries["nav.basket"], "Warenkorb");
        assert_eq!(out[2].entries["nav.home"], "Startseite");
        assert_eq!(out[2].entries["nav.basket"], "Warenkorb");
        let m = out[1].money.as_ref().unwrap();
        let eur = &m.currencies["EUR"];
        let text =
            crate::plan::format::format(&m.formats[eur.format], &eur.symbol, 1234.5).unwrap();
        assert_eq!(text, "1.234,50\u{a0}€");
        assert!(
            out[0]
                .money
                .as_ref()
                .unwrap()
                .currencies
                .contains_key("GBP"),
            "the site currency is always there"
        );
    }
}
