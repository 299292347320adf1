//! Runs of pieces: a price split over inline elements (`£` `279`,
//! `$` `87` `.` `11`, `99,95` `€`), read piece by piece.

use super::detect::{self, View};
use super::symbols::{self, is_space};

/// How strongly the markup around a text says "price".
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Hint {
    #[default]
    None,
    /// A class or id mentioning "price".
    Weak,
    /// `itemprop=price`, `data-price`, configured selectors and attributes.
    Strong,
}

/// One text node (or its head or tail) held while a split price is read.
#[derive(Debug, Clone)]
pub struct Piece {
    pub(super) id: u32,
    /// Raw whitespace around the content and the raw content.
    pub(super) lead: String,
    pub(super) raw: String,
    pub(super) trail: String,
    /// The decoded content.
    pub text: String,
    pub(super) hint: Hint,
    pub(super) expected: Option<f64>,
    /// Inside `<sup>`: `83<sup>30</sup>` writes 83.30 without a separator.
    pub(super) sup: bool,
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
            // The view's offsets are char boundaries of `raw`, `ls <= le`.
            lead: raw.get(..a).unwrap_or_default().to_string(),
            raw: raw.get(a..b).unwrap_or_default().to_string(),
            trail: raw.get(b..).unwrap_or_default().to_string(),
            text: v.chars.get(ls..le).unwrap_or_default().iter().collect(),
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
    // Every kind is at most 24 chars (an amount), a marker at most 4 once
    // trimmed: most text is longer.
    if core.chars().nth(24).is_some() && core.trim_matches(is_space).chars().nth(4).is_some() {
        return None;
    }
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
pub fn is_sup_fraction(prev: Option<&Piece>, core: &str, sup: bool) -> bool {
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
