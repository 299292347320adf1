//! Bounds on everything read from KV: the config's lists and every bundle
//! value. The worker refuses (and logs) a value past them; `borderless
//! check` applies the same functions, so a bundle that passes the check is
//! one the worker accepts.

use crate::schema::{Card, Config, CountryPack, CurrencyPattern, Dictionary, FxRates};

/// Largest bundle value the worker parses: far below KV's 25 MiB, so a
/// corrupt value costs a bounded parse (the demo bundle's largest is 20 KB).
pub const MAX_VALUE_BYTES: usize = 4 << 20;
/// Rules run on every element of every page: each costs a selector match.
pub const MAX_RULES: usize = 128;
pub const MAX_EXCLUDE_PATHS: usize = 256;
pub const MAX_LOCALES: usize = 64;
pub const MAX_CURRENCIES: usize = 200;
pub const MAX_PROMOS: usize = 64;
pub const MAX_EXPERIMENTS: usize = 16;
pub const MAX_SLOTS: usize = 32;
/// Dictionary entries, and the bytes of one key or string.
pub const MAX_ENTRIES: usize = 20_000;
pub const MAX_KEY_BYTES: usize = 256;
pub const MAX_STRING_BYTES: usize = 4096;
/// Money formats: patterns, currencies, affix and separator lengths.
pub const MAX_FORMATS: usize = 64;
pub const MAX_AFFIX_BYTES: usize = 32;
/// Fraction digits: ISO 4217 uses at most 4.
pub const MAX_DIGITS: u8 = 6;
pub const MAX_GROUP: u8 = 9;
/// Exchange rates against the base currency: anything outside is corrupt
/// (the widest real spread, GBP→IRR, is ~5e4; its inverse ~2e-5).
pub const MIN_RATE: f64 = 1e-9;
pub const MAX_RATE: f64 = 1e9;
/// A pack's products, segments and list lengths.
pub const MAX_CARDS: usize = 5_000;
pub const MAX_SEGMENTS: usize = 5_000;
pub const MAX_LIST: usize = 100;

fn at_most(what: &str, n: usize, max: usize) -> Result<(), String> {
    if n > max {
        return Err(format!("{what}: {n}, over the limit of {max}"));
    }
    Ok(())
}

fn short(what: &str, s: &str, max: usize) -> Result<(), String> {
    if s.len() > max {
        return Err(format!("{what}: {} bytes, over {max}", s.len()));
    }
    Ok(())
}

/// The config's lists (checked before they are compiled).
pub fn config(c: &Config) -> Result<(), String> {
    at_most("rules", c.rules.len(), MAX_RULES)?;
    at_most("exclude_paths", c.exclude_paths.len(), MAX_EXCLUDE_PATHS)?;
    if let Some(l) = &c.localization {
        at_most("localization.locales", l.locales.len(), MAX_LOCALES)?;
        at_most(
            "localization.currencies",
            l.currencies.len(),
            MAX_CURRENCIES,
        )?;
    }
    if let Some(p) = &c.personalization {
        at_most("personalization.promos", p.promos.len(), MAX_PROMOS)?;
        at_most(
            "personalization.experiments",
            p.experiments.len(),
            MAX_EXPERIMENTS,
        )?;
        at_most("personalization.slots", p.slots.len(), MAX_SLOTS)?;
    }
    Ok(())
}

/// A bundle value's size, before it is parsed.
pub fn value_size(text: &str) -> Result<(), String> {
    if text.len() > MAX_VALUE_BYTES {
        return Err(format!("{} bytes, over {MAX_VALUE_BYTES}", text.len()));
    }
    Ok(())
}

pub fn dictionary(d: &Dictionary) -> Result<(), String> {
    at_most("entries", d.entries.len(), MAX_ENTRIES)?;
    for (k, v) in &d.entries {
        short("entry key", k, MAX_KEY_BYTES)?;
        short("entry", v, MAX_STRING_BYTES)?;
    }
    let Some(m) = &d.money else { return Ok(()) };
    at_most("money.formats", m.formats.len(), MAX_FORMATS)?;
    at_most("money.currencies", m.currencies.len(), MAX_CURRENCIES)?;
    for (i, p) in m.formats.iter().enumerate() {
        pattern(p).map_err(|e| format!("money.formats[{i}]: {e}"))?;
    }
    for (code, c) in &m.currencies {
        if !crate::base::ids::is_currency(code) {
            return Err(format!("money.currencies: {code:?} is not ISO 4217"));
        }
        if c.format >= m.formats.len() {
            return Err(format!("money.currencies.{code}: no format {}", c.format));
        }
        short("symbol", &c.symbol, MAX_AFFIX_BYTES)?;
    }
    Ok(())
}

/// A currency pattern: short affixes and separators, sane digit counts and
/// a zero whose next nine code points are decimal digits.
pub fn pattern(p: &CurrencyPattern) -> Result<(), String> {
    for (what, s) in [
        ("pos_prefix", &p.pos_prefix),
        ("pos_suffix", &p.pos_suffix),
        ("neg_prefix", &p.neg_prefix),
        ("neg_suffix", &p.neg_suffix),
        ("decimal", &p.decimal),
        ("group", &p.group),
    ] {
        short(what, s, MAX_AFFIX_BYTES)?;
    }
    if p.digits > MAX_DIGITS {
        return Err(format!("digits {} over {MAX_DIGITS}", p.digits));
    }
    if p.primary > MAX_GROUP || p.secondary > MAX_GROUP || p.min_grouping > MAX_GROUP {
        return Err(format!("grouping sizes over {MAX_GROUP}"));
    }
    let mut zero = p.zero.chars();
    let (Some(z), None) = (zero.next(), zero.next()) else {
        return Err(format!("zero {:?} is not one character", p.zero));
    };
    let decimal = (0..10).all(|i| {
        char::from_u32(u32::from(z) + i)
            .and_then(|c| c.to_digit(10).or_else(|| c.is_numeric().then_some(i)))
            == Some(i)
    });
    if !decimal {
        return Err(format!(
            "zero U+{:04X} does not start ten decimal digits",
            u32::from(z)
        ));
    }
    Ok(())
}

pub fn fx(f: &FxRates) -> Result<(), String> {
    at_most("rates", f.rates.len(), MAX_CURRENCIES)?;
    if !crate::base::ids::is_currency(&f.base) {
        return Err(format!("base {:?} is not ISO 4217", f.base));
    }
    short("as_of", &f.as_of, 64)?;
    match f
        .rates
        .iter()
        .find(|(c, r)| !(crate::base::ids::is_currency(c) && (MIN_RATE..=MAX_RATE).contains(*r)))
    {
        Some((c, r)) => Err(format!(
            "rate {c} = {r:e} is outside {MIN_RATE:e}..={MAX_RATE:e}"
        )),
        None => Ok(()),
    }
}

pub fn pack(p: &CountryPack) -> Result<(), String> {
    at_most("cards", p.cards.len(), MAX_CARDS)?;
    at_most("segments", p.segments.len(), MAX_SEGMENTS)?;
    at_most("also_bought", p.also_bought.len(), MAX_CARDS)?;
    at_most("trending", p.trending.len(), MAX_LIST)?;
    for (k, ids) in p.segments.iter().chain(&p.also_bought) {
        short("key", k, MAX_KEY_BYTES)?;
        at_most("list", ids.len(), MAX_LIST)?;
    }
    p.cards.values().try_for_each(card)
}

fn card(c: &Card) -> Result<(), String> {
    short("card id", &c.id, MAX_KEY_BYTES)?;
    at_most("card titles", c.title.len(), MAX_LOCALES)?;
    for (l, t) in &c.title {
        short("title locale", l, MAX_KEY_BYTES)?;
        short("title", t, MAX_STRING_BYTES)?;
    }
    for (what, s) in [
        ("category", &c.category),
        ("price", &c.price),
        ("currency", &c.currency),
        ("image", &c.image),
        ("url", &c.url),
    ] {
        short(what, s, MAX_STRING_BYTES)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(zero: &str, digits: u8) -> CurrencyPattern {
        CurrencyPattern {
            pos_prefix: "¤".into(),
            pos_suffix: String::new(),
            neg_prefix: "-¤".into(),
            neg_suffix: String::new(),
            decimal: ".".into(),
            group: ",".into(),
            primary: 3,
            secondary: 3,
            min_grouping: 1,
            zero: zero.into(),
            digits,
        }
    }

    #[test]
    fn money_patterns() {
        for z in ["0", "٠", "۰", "०", "০", "๐", "０"] {
            assert_eq!(pattern(&pat(z, 2)), Ok(()), "{z}");
        }
        for (z, d) in [
            ("\u{D7FF}", 2),
            ("a", 2),
            ("00", 2),
            ("", 2),
            ("9", 2),
            ("0", 255),
            ("0", 7),
        ] {
            assert!(pattern(&pat(z, d)).is_err(), "{z:?} {d}");
        }
    }

    #[test]
    fn rates() {
        let f = |r: f64| FxRates {
            base: "GBP".into(),
            as_of: "2026-01-01T00:00:00Z".into(),
            rates: [("EUR".to_string(), r)].into(),
        };
        assert_eq!(fx(&f(1.17)), Ok(()));
        for bad in [1e-300, 0.0, -1.0, 1e300, f64::NAN, f64::INFINITY] {
            assert!(fx(&f(bad)).is_err(), "{bad}");
        }
    }
}
