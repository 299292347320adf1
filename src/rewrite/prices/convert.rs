//! From a found span to the visitor's price: which currency (marker, page
//! signals, site config), the amount by that currency's decimal rules, the
//! conversion and the Intl-exact format; and runs of pieces split over
//! inline elements (`£` `279`, `$` `87` `.` `11`, `99,95` `€`).

use super::amount;
use super::detect::{self, Found, View};
use super::handler::{Hint, State};
use super::symbols::{self, is_space, Marker};
use crate::base::money::{self, NoConversion};
use crate::schema::PriceUnit;

/// One text node (or its head or tail) held while a split price is read.
#[derive(Debug, Clone)]
pub struct Piece {
    id: u32,
    /// Raw whitespace around the content and the raw content.
    lead: String,
    raw: String,
    trail: String,
    /// The decoded content.
    pub text: String,
    hint: Hint,
    expected: Option<f64>,
    /// Inside `<sup>`: `83<sup>30</sup>` writes 83.30 without a separator.
    sup: bool,
}

impl Piece {
    pub fn new(raw: &str, hint: Hint, expected: Option<f64>, sup: bool) -> Piece {
        let v = View::new(raw);
        let ls = v
            .chars
            .iter()
            .position(|c| !is_space(*c))
            .unwrap_or(v.chars.len());
        let le = v
            .chars
            .iter()
            .rposition(|c| !is_space(*c))
            .map_or(ls, |i| i + 1);
        let a = v.bytes(0, ls).1;
        let b = v.bytes(0, le).1.max(a);
        Piece {
            id: 0,
            lead: raw[..a].to_string(),
            raw: raw[a..b].to_string(),
            trail: raw[b..].to_string(),
            text: v.chars[ls..le].iter().collect(),
            hint,
            expected,
            sup,
        }
    }

    pub fn with_id(mut self, id: u32) -> Piece {
        self.id = id;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Marker,
    Amount,
    /// A lone `.` or `,` between the whole and the fraction.
    Separator,
    /// A separator with the fraction (`,99`).
    Fraction,
}

/// Whether a text node's trimmed (decoded) content can be part of a split price.
pub fn piece_kind(core: &str) -> Option<Kind> {
    if symbols::only_marker(core).is_some() {
        return Some(Kind::Marker);
    }
    if core == "." || core == "," {
        return Some(Kind::Separator);
    }
    // `,99` after `25`: the fraction in its own element.
    if let Some(f) = core.strip_prefix([',', '.']) {
        if (1..=3).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Kind::Fraction);
        }
    }
    let chars: Vec<char> = core.chars().collect();
    let starts = chars.first().is_some_and(char::is_ascii_digit);
    (starts
        && chars.len() <= 24
        && detect::find(&chars)
            .first()
            .is_some_and(|f| f.marker.is_none() && f.start == 0 && f.end == chars.len()))
    .then_some(Kind::Amount)
}

pub fn has_marker(run: &[Piece]) -> bool {
    run.iter()
        .any(|p| piece_kind(&p.text) == Some(Kind::Marker))
}

/// Superscript minor units right after whole units (`83<sup>30</sup>`).
fn is_sup_fraction(prev: Option<&Piece>, core: &str, sup: bool) -> bool {
    sup && core.len() == 2
        && core.bytes().all(|b| b.is_ascii_digit())
        && prev.is_some_and(|p| !p.sup && p.text.bytes().all(|b| b.is_ascii_digit()))
}

/// How a new piece relates to the current run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    Extends,
    /// Ends the run and starts a new one.
    Starts,
    /// Two amounts meet (`10,00` `12,00` in sibling spans): both stay.
    Clash,
}

/// Whether a piece of `kind` may extend `run`.
pub fn fits(run: &[Piece], core: &str, kind: Kind, sup: bool) -> Fit {
    let len: usize = run.iter().map(|p| p.text.len()).sum::<usize>() + core.len();
    let prev = run.last();
    let prev_kind = prev.and_then(|p| piece_kind(&p.text));
    if kind == Kind::Amount && prev_kind == Some(Kind::Amount) {
        return if is_sup_fraction(prev, core, sup) {
            Fit::Extends
        } else {
            Fit::Clash
        };
    }
    let extends = run.len() < 6
        && len <= 40
        && !(kind == Kind::Marker && has_marker(run))
        && prev_kind != Some(kind);
    if extends {
        Fit::Extends
    } else {
        Fit::Starts
    }
}

/// The currency of a found price, if it is one the shop declares.
fn currency(st: &State, f: &Found) -> Option<String> {
    let declared = &st.setup.declared;
    let c = match (f.marker, &f.code) {
        (Some(Marker::Code), Some(code)) => code.clone(),
        (Some(Marker::One(c)), _) => c.to_string(),
        (Some(Marker::Any(list)), _) => {
            let pick = declared.iter().find(|d| list.contains(&d.as_str()));
            let pick = pick
                .map(String::as_str)
                .or_else(|| st.signal().filter(|s| list.contains(s)));
            pick?.to_string()
        }
        _ => st
            .signal()
            .filter(|s| declared.iter().any(|d| d == s))
            .or_else(|| declared.first().map(String::as_str))?
            .to_string(),
    };
    declared.contains(&c).then_some(c)
}

/// The visitor's formatted price for a found span, counting the outcome;
/// `None` leaves the origin's text.
pub fn price(st: &mut State, f: &Found, expected: Option<f64>) -> Option<String> {
    st.counts.found += 1;
    let Some(cur) = currency(st, f) else {
        st.counts.unknown_currency += 1;
        return None;
    };
    let Ok(value) = amount::parse(&f.core, money::digits(&cur), st.setup.options.decimal) else {
        st.counts.ambiguous += 1;
        return None;
    };
    if expected.is_some_and(|e| (e - value).abs() > 0.005) {
        st.counts.ambiguous += 1;
        return None;
    }
    let conv = st.setup.converters.iter().find(|(c, _)| *c == cur);
    // Without a conversion the price keeps its currency, shown in the
    // visitor's locale format (as annotated prices always were).
    let (shown, in_currency) = match conv.map(|(_, r)| r) {
        Some(Ok(c)) => match c.convert(value, &cur) {
            Some(v) => (v, st.setup.visitor.clone()),
            None => (value, cur.clone()),
        },
        Some(Err(NoConversion::SameCurrency)) => {
            st.counts.same_currency += 1;
            (value, cur.clone())
        }
        _ => {
            st.counts.stale_fx += 1;
            (value, cur.clone())
        }
    };
    let converted = in_currency != cur;
    if !converted && !st.setup.reformat {
        return None;
    }
    match (st.setup.format)(shown, &in_currency) {
        Some(s) => {
            st.counts.converted += u32::from(converted);
            Some(s)
        }
        None => {
            st.counts.unformatted += u32::from(converted);
            None
        }
    }
}

/// A shop attribute's amount in major units of the site currency.
pub fn attribute_amount(st: &State, value: Option<&str>, unit: PriceUnit) -> Option<f64> {
    let v = money::parse_amount(value?)?;
    Some(match unit {
        PriceUnit::Major => v,
        PriceUnit::Minor => {
            let d = st.setup.declared.first().map_or(2, |c| money::digits(c));
            v / 10f64.powi(i32::from(d))
        }
    })
}

/// Ends the run: if its pieces read as exactly one price, the piece holding
/// the first digit shows the converted price and the others only their
/// whitespace; otherwise every piece gets its text back.
pub fn settle(st: &mut State) {
    let run = std::mem::take(&mut st.run);
    if run.is_empty() {
        return;
    }
    // The run's text, each char with the piece it came from.
    let (mut chars, mut owner) = (Vec::new(), Vec::new());
    for (i, p) in run.iter().enumerate() {
        if i > 0 && is_sup_fraction(run.get(i - 1), &p.text, p.sup) {
            chars.push(st.setup.options.decimal);
            owner.push(i);
        }
        chars.extend(p.text.chars());
        owner.resize(chars.len(), i);
    }
    let found = detect::find(&chars);
    let mut result = None;
    let tainted = std::mem::take(&mut st.tainted);
    if tainted {
        st.counts.found += 1;
        st.counts.ambiguous += 1;
    } else if let [f] = found.as_slice() {
        let hint = run.iter().map(|p| p.hint).max().unwrap_or_default();
        let bare = f.marker.is_none();
        let allowed =
            !bare || hint == Hint::Strong || hint == Hint::Weak && f.core.contains(['.', ',', '-']);
        if f.start == 0 && f.end == chars.len() && allowed {
            let expected = if bare {
                run.iter().find_map(|p| p.expected)
            } else {
                None
            };
            if let Some(s) = price(st, f, expected) {
                let digit = chars.iter().position(char::is_ascii_digit).unwrap_or(0);
                result = Some((owner.get(digit).copied().unwrap_or(0), s));
            }
        }
    }
    let mut holds = st.holds.borrow_mut();
    for (i, p) in run.iter().enumerate() {
        let html = match &result {
            Some((k, s)) if *k == i => {
                format!("{}{}{}", p.lead, crate::base::escape::escape(s), p.trail)
            }
            Some(_) => format!("{}{}", p.lead, p.trail),
            None => format!("{}{}{}", p.lead, p.raw, p.trail),
        };
        holds.settle(p.id, &html);
    }
}
