//! The translation catalog round trip: `borderless extract` finds a shop's
//! segments ([`extract`]) and writes them as XLIFF 2.1 ([`xliff`]) and
//! gettext PO ([`po`]); `borderless build --translations` reads translated
//! files back into per-locale memories ([`import`]).

pub mod cli;
pub mod extract;
pub mod import;
pub mod po;
pub mod xliff;

use crate::rewrite::tm::notation::{self, Kind, Tok};
use std::collections::{BTreeMap, BTreeSet};

/// One translatable unit, keyed by the hash of its source notation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Unit {
    pub key: String,
    pub source: String,
    /// How placeholder `i + 1` looks on the page (`<a>`, `<br>`, `35,374`).
    pub disp: Vec<String>,
    /// Page paths it was found on.
    pub pages: BTreeSet<String>,
    /// Where on the page (`p.intro`, `img@alt`).
    pub elements: BTreeSet<String>,
    pub target: Option<String>,
}

/// A catalog: the source one (no target language) or a translated one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Catalog {
    pub src_lang: String,
    pub trg_lang: Option<String>,
    pub units: BTreeMap<String, Unit>,
}

impl Catalog {
    pub fn new(src_lang: &str) -> Catalog {
        Catalog {
            src_lang: src_lang.to_string(),
            ..Catalog::default()
        }
    }

    /// Adds a unit or merges its pages and elements into the one there.
    pub fn add(&mut self, u: Unit) {
        match self.units.get_mut(&u.key) {
            Some(have) => {
                have.pages.extend(u.pages);
                have.elements.extend(u.elements);
                if have.target.is_none() {
                    have.target = u.target;
                }
                if have.disp.len() != u.disp.len() {
                    have.disp = u.disp;
                }
            }
            None => {
                self.units.insert(u.key.clone(), u);
            }
        }
    }

    /// Keeps at most `n` pages per unit (a header text is on every page).
    pub fn cap_pages(&mut self, n: usize) {
        for u in self.units.values_mut() {
            while u.pages.len() > n {
                u.pages.pop_last();
            }
        }
    }
}

/// The placeholder kinds of a source notation.
pub fn kinds(source: &str) -> Result<Vec<Kind>, String> {
    let toks = notation::parse(source).ok_or("source is not valid notation")?;
    notation::kinds_of(&toks).ok_or("source placeholders are not numbered 1..n".into())
}

/// Checks a translation against its source: the same placeholders, once
/// each, properly nested; no control characters; no plural forms.
pub fn validate(source: &str, target: &str) -> Result<Vec<Tok>, String> {
    if target.trim().is_empty() {
        return Err("empty translation".into());
    }
    if let Some(c) = target
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        return Err(format!("control character U+{:04X}", u32::from(c)));
    }
    let toks = notation::parse(target).ok_or("a `<` that is not a placeholder (write &lt;)")?;
    notation::validate(&toks, &kinds(source)?)?;
    Ok(toks)
}

/// A pseudo-translation (accented, bracketed, placeholders kept) to test
/// that every segment is translated and nothing breaks.
pub fn pseudo(source: &str) -> Option<String> {
    let toks = notation::parse(source)?;
    let mut out = Vec::with_capacity(toks.len() + 2);
    out.push(Tok::Text("[".into()));
    for t in toks {
        out.push(match t {
            Tok::Text(s) => Tok::Text(s.chars().map(accent).collect()),
            other => other,
        });
    }
    out.push(Tok::Text("]".into()));
    Some(notation::render(&out))
}

fn accent(c: char) -> char {
    match c {
        'a' => 'á',
        'e' => 'é',
        'i' => 'í',
        'o' => 'ö',
        'u' => 'ü',
        'A' => 'Å',
        'E' => 'É',
        'I' => 'Î',
        'O' => 'Ø',
        'U' => 'Û',
        'c' => 'ç',
        'n' => 'ñ',
        's' => 'š',
        'y' => 'ý',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_and_pseudo() {
        let src = "Only <n1/> left, <g2>buy</g2><x3/>";
        assert!(validate(src, "Nur <n1/> übrig, <g2>kaufen</g2><x3/>").is_ok());
        assert!(validate(src, "Nur <n1/> übrig, <g2>kaufen</g2>").is_err());
        assert!(validate(src, "").is_err());
        assert!(validate(src, "Nur <n1/>\u{7}<g2>k</g2><x3/>").is_err());
        let p = pseudo(src).unwrap();
        assert_eq!(p, "[Øñlý <n1/> léft, <g2>büý</g2><x3/>]");
        assert!(validate(src, &p).is_ok());
    }
}
