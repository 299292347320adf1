//! Finds price-shaped spans in the raw text of an HTML text node: an amount
//! with a currency marker before or after it, or a bare amount (which only
//! counts where the markup says "price"). Works on a decoded view so that
//! `&nbsp;`, `&euro;` and numeric references read as the characters they
//! are, while every span maps back to the raw bytes to replace.

use super::symbols::{self, is_space, Marker};

/// The characters of a raw text, each with its raw byte range.
pub struct View {
    pub chars: Vec<char>,
    pub raw: Vec<(usize, usize)>,
    /// Length of the raw text.
    len: usize,
}

const ENTITIES: &[(&str, char)] = &[
    ("nbsp", '\u{a0}'),
    ("euro", '€'),
    ("pound", '£'),
    ("yen", '¥'),
    ("dollar", '$'),
    ("cent", '¢'),
    ("thinsp", '\u{2009}'),
    ("amp", '&'),
    ("ndash", '–'),
    ("mdash", '—'),
    ("middot", '·'),
    ("apos", '\''),
    ("rsquo", '’'),
];

impl View {
    pub fn new(raw: &str) -> View {
        let mut chars = Vec::with_capacity(raw.len());
        let mut spans = Vec::with_capacity(raw.len());
        let mut i = 0;
        while let Some(rest) = raw.get(i..) {
            let Some(c) = rest.chars().next() else { break };
            let (ch, len) = if c == '&' {
                entity(rest).unwrap_or((c, 1))
            } else {
                (c, c.len_utf8())
            };
            chars.push(ch);
            spans.push((i, i + len));
            i += len;
        }
        View {
            chars,
            raw: spans,
            len: raw.len(),
        }
    }

    /// Raw byte range of chars `a..b` (clamped to the text).
    pub fn bytes(&self, a: usize, b: usize) -> (usize, usize) {
        let pos = |i: usize| self.raw.get(i).map_or(self.len, |r| r.0);
        let start = pos(a);
        (start, pos(b).max(start))
    }
}

/// `&name;`, `&#NNN;` or `&#xHH;` at the start of `s`: (char, raw length).
fn entity(s: &str) -> Option<(char, usize)> {
    let end = s.as_bytes().iter().take(12).position(|b| *b == b';')?;
    let body = s.get(1..end)?;
    let c = if let Some(num) = body.strip_prefix('#') {
        let v = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        char::from_u32(v)?
    } else {
        ENTITIES.iter().find(|(n, _)| *n == body)?.1
    };
    Some((c, end + 1))
}

/// One price-shaped span, in chars of the view.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The whole span (marker, space and amount).
    pub start: usize,
    pub end: usize,
    /// The amount's digits and separators.
    pub core: String,
    pub marker: Option<Marker>,
    /// The ISO code when `marker` is [`Marker::Code`].
    pub code: Option<String>,
}

fn is_sep(c: char) -> bool {
    matches!(c, '.' | ',' | '\'' | '’') || is_space(c) && c != '\n' && c != '\t' && c != '\r'
}

/// End of the amount starting at `i` (a digit): digits and single
/// separators between digit groups; a space separator only before exactly
/// three digits; then an optional `,-` ending.
fn core_end(t: &[char], mut i: usize) -> usize {
    while t.get(i).is_some_and(char::is_ascii_digit) {
        i += 1;
    }
    loop {
        let Some(&s) = t.get(i) else { return i };
        if !is_sep(s) || !t.get(i + 1).is_some_and(char::is_ascii_digit) {
            break;
        }
        let mut j = i + 1;
        while t.get(j).is_some_and(char::is_ascii_digit) {
            j += 1;
        }
        if (is_space(s) || matches!(s, '\'' | '’')) && j - i - 1 != 3 {
            break;
        }
        i = j;
    }
    if matches!(t.get(i), Some(',' | '.'))
        && matches!(t.get(i + 1), Some('-' | '–' | '—'))
        && !t.get(i + 2).is_some_and(|c| c.is_alphanumeric())
    {
        i += 2;
    }
    i
}

fn one_space_back(t: &[char], i: usize) -> usize {
    if i.checked_sub(1)
        .and_then(|p| t.get(p))
        .is_some_and(|c| is_space(*c) && *c != '\n')
    {
        i - 1
    } else {
        i
    }
}

fn one_space_fwd(t: &[char], i: usize) -> usize {
    if t.get(i).is_some_and(|c| is_space(*c) && *c != '\n') {
        i + 1
    } else {
        i
    }
}

fn code_of(t: &[char], a: usize, m: Marker) -> Option<String> {
    (m == Marker::Code).then(|| t.get(a..a + 3).unwrap_or_default().iter().collect())
}

/// Every price-shaped span in `t`, left to right. Bare amounts (no marker)
/// are returned too, except where their surroundings say they are not
/// prices (inside words, percentages, dimensions).
pub fn find(t: &[char]) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let mut consumed = 0;
    let mut i = 0;
    while i < t.len() {
        let prev = i.checked_sub(1).and_then(|p| t.get(p));
        if !t.get(i).is_some_and(char::is_ascii_digit) || prev.is_some_and(char::is_ascii_digit) {
            i += 1;
            continue;
        }
        let (cs, ce) = (i, core_end(t, i));
        i = ce;
        let core: String = t.get(cs..ce).unwrap_or_default().iter().collect();
        let mut f = Found {
            start: cs,
            end: ce,
            core,
            marker: None,
            code: None,
        };
        let b = one_space_back(t, cs);
        if let Some((ms, m)) = symbols::before(t, b).filter(|(ms, _)| *ms >= consumed) {
            f.start = ms;
            f.marker = Some(m);
            f.code = code_of(t, ms, m);
        } else if cs
            .checked_sub(1)
            .and_then(|p| t.get(p))
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | ',' | '#' | '/' | '+' | '_'))
        {
            continue; // SKU12, v1.2, #12, 1/2, +44
        }
        // `₹39,…`: a truncated amount is not the amount.
        let truncated = match t.get(ce) {
            Some('…') => true,
            Some('.' | ',') => matches!(t.get(ce + 1), Some('…' | '.')),
            _ => false,
        };
        if truncated {
            continue;
        }
        let a = one_space_fwd(t, ce);
        if f.marker.is_none() {
            if let Some((me, m)) = symbols::after(t, a) {
                f.end = me;
                f.marker = Some(m);
                f.code = code_of(t, a, m);
            }
        } else if let Some((me, Marker::Code)) = symbols::after(t, a) {
            // `$5 USD`: the code is part of the price and decides.
            f.end = me;
            f.code = code_of(t, a, Marker::Code);
            f.marker = Some(Marker::Code);
        }
        if f.marker.is_none() {
            let next = t.get(ce).copied();
            let after_space = t.get(a).copied();
            if next.is_some_and(|c| c.is_alphanumeric() || matches!(c, '%' | '/' | '×' | '°' | '_'))
                || after_space.is_some_and(|c| matches!(c, '%' | 'x' | '×'))
            {
                continue;
            }
        }
        consumed = f.end;
        i = f.end;
        out.push(f);
    }
    inherit_ranges(t, &mut out);
    out
}

/// `£10–20` and `10–20 €`: the bare end of a range takes the other end's
/// currency marker.
fn inherit_ranges(t: &[char], out: &mut [Found]) {
    for k in 1..out.len() {
        let Some([a, b]) = out.get_mut(k - 1..=k) else {
            continue;
        };
        let gap: String = t.get(a.end..b.start).unwrap_or_default().iter().collect();
        let gap = gap.trim_matches(is_space);
        if !matches!(gap, "-" | "–" | "—" | "to" | "bis" | "à" | "a") {
            continue;
        }
        match (a.marker, b.marker) {
            (Some(m), None) => {
                b.marker = Some(m);
                b.code = a.code.clone();
            }
            (None, Some(m)) => {
                a.marker = Some(m);
                a.code = b.code.clone();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(s: &str) -> Vec<(String, String, bool)> {
        let v = View::new(s);
        find(&v.chars)
            .into_iter()
            .map(|f| {
                let (a, b) = v.bytes(f.start, f.end);
                (s[a..b].to_string(), f.core, f.marker.is_some())
            })
            .collect()
    }

    #[test]
    fn finds_prices_with_markers() {
        assert_eq!(
            spans("now £72.99!"),
            [("£72.99".into(), "72.99".into(), true)]
        );
        assert_eq!(
            spans("72,99&nbsp;&euro; statt 80,00 €"),
            [
                ("72,99&nbsp;&euro;".into(), "72,99".into(), true),
                ("80,00 €".into(), "80,00".into(), true)
            ]
        );
        assert_eq!(spans("EUR15.99")[0].0, "EUR15.99");
        assert_eq!(spans("€ 49,99 € 59,99").len(), 2);
        assert_eq!(spans("€ 49,99 € 59,99")[1].0, "€ 59,99");
        assert_eq!(spans("10 € 20 €")[1].0, "20 €");
        let r = spans("£10–20");
        assert!(r[1].2, "{r:?}");
        assert_eq!(spans("SKU12.99 50% 3x 60x30 v1.2"), []);
        assert_eq!(spans("from ₹39,… or ₹12…"), []);
        assert_eq!(spans("US $50")[0].0, "US $50");
    }
}
