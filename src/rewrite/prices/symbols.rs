//! Currency markers as shops write them next to an amount: symbols, local
//! abbreviations and ISO codes. Ambiguous ones (`$`, `kr`, `¥`) list every
//! currency they may stand for; the site config and page signals choose.

/// What a marker says about the currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    One(&'static str),
    /// In order of likelihood; resolved by the site's declared currencies.
    Any(&'static [&'static str]),
    /// An ISO 4217 code written out (`EUR`, `GBP`), borrowed from the text.
    Code,
}

const DOLLARS: &[&str] = &[
    "USD", "CAD", "AUD", "NZD", "MXN", "ARS", "CLP", "COP", "TWD", "HKD", "SGD", "UYU",
];
const YEN: &[&str] = &["JPY", "CNY"];
const KRONA: &[&str] = &["SEK", "NOK", "DKK", "ISK"];
const RUPEES: &[&str] = &["INR", "PKR", "LKR", "NPR"];
const YUAN: &[&str] = &["CNY", "TWD", "HKD"];

/// Markers, longest first within a shared prefix so `US$` wins over `$`.
/// Letter markers must stand apart from other letters (checked by the caller).
const MARKERS: &[(&str, Marker)] = &[
    ("US $", Marker::One("USD")),
    ("US$", Marker::One("USD")),
    ("U$S", Marker::One("USD")),
    ("CA$", Marker::One("CAD")),
    ("C$", Marker::One("CAD")),
    ("AU$", Marker::One("AUD")),
    ("A$", Marker::One("AUD")),
    ("NZ$", Marker::One("NZD")),
    ("HK$", Marker::One("HKD")),
    ("NT$", Marker::One("TWD")),
    ("S$", Marker::One("SGD")),
    ("R$", Marker::One("BRL")),
    ("MX$", Marker::One("MXN")),
    ("$", Marker::Any(DOLLARS)),
    ("£", Marker::One("GBP")),
    ("€", Marker::One("EUR")),
    ("￥", Marker::Any(YEN)),
    ("¥", Marker::Any(YEN)),
    ("円", Marker::One("JPY")),
    ("元", Marker::Any(YUAN)),
    ("₹", Marker::One("INR")),
    ("Rs.", Marker::Any(RUPEES)),
    ("Rs", Marker::Any(RUPEES)),
    ("₨", Marker::Any(RUPEES)),
    ("₽", Marker::One("RUB")),
    ("руб.", Marker::One("RUB")),
    ("руб", Marker::One("RUB")),
    ("₩", Marker::One("KRW")),
    ("원", Marker::One("KRW")),
    ("₺", Marker::One("TRY")),
    ("₪", Marker::One("ILS")),
    ("₴", Marker::One("UAH")),
    ("грн.", Marker::One("UAH")),
    ("грн", Marker::One("UAH")),
    ("₸", Marker::One("KZT")),
    ("тг.", Marker::One("KZT")),
    ("тг", Marker::One("KZT")),
    ("₱", Marker::One("PHP")),
    ("฿", Marker::One("THB")),
    ("₫", Marker::One("VND")),
    ("zł", Marker::One("PLN")),
    ("Kč", Marker::One("CZK")),
    ("Ft", Marker::One("HUF")),
    ("лв.", Marker::One("BGN")),
    ("лв", Marker::One("BGN")),
    ("Lei", Marker::One("RON")),
    ("lei", Marker::One("RON")),
    ("kn", Marker::One("HRK")),
    ("Kn", Marker::One("HRK")),
    ("kr.", Marker::Any(KRONA)),
    ("kr", Marker::Any(KRONA)),
    ("Kr", Marker::Any(KRONA)),
    ("CHF", Marker::One("CHF")),
    ("Fr.", Marker::One("CHF")),
    ("б.р.", Marker::One("BYN")),
    ("ر.س", Marker::One("SAR")),
    ("د.إ", Marker::One("AED")),
];

/// ISO 4217 codes that shops write out; any CLDR currency qualifies.
pub fn is_code(s: &str) -> bool {
    s.len() == 3
        && s.bytes().all(|b| b.is_ascii_uppercase())
        && (crate::base::money::territory_currency_known(s)
            || crate::base::cldr::CURRENCY_FRACTIONS
                .binary_search_by(|(c, ..)| (*c).cmp(s))
                .is_ok())
}

/// [`is_code`] of three chars, without building a string.
fn is_code_chars(t: &[char]) -> bool {
    match t {
        [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => {
            // ASCII: each char is one byte.
            let code = [*a as u8, *b as u8, *c as u8];
            std::str::from_utf8(&code).is_ok_and(is_code)
        }
        _ => false,
    }
}

fn is_letter(c: char) -> bool {
    c.is_alphabetic()
}

/// A marker ending exactly at `end` in `text` (chars): (start, marker).
pub fn before(text: &[char], end: usize) -> Option<(usize, Marker)> {
    if text.get(end).is_some_and(|c| is_letter(*c)) {
        return None;
    }
    let code = end.checked_sub(3).and_then(|s| text.get(s..end));
    if code.is_some_and(is_code_chars)
        && (end == 3 || !text.get(end.wrapping_sub(4)).is_some_and(|c| is_letter(*c)))
    {
        return Some((end - 3, Marker::Code));
    }
    let last = end.checked_sub(1).and_then(|i| text.get(i))?;
    for (m, kind) in MARKERS {
        // The last char first: most text ends no marker.
        if !m.ends_with(*last) {
            continue;
        }
        let Some(start) = end.checked_sub(m.chars().count()) else {
            continue;
        };
        let Some(span) = text.get(start..end) else {
            continue;
        };
        if !span.iter().copied().eq(m.chars()) {
            continue;
        }
        let letter_at =
            |i: Option<usize>| i.and_then(|i| text.get(i)).is_some_and(|c| is_letter(*c));
        if letter_at(Some(start)) && letter_at(start.checked_sub(1)) {
            continue;
        }
        return Some((start, *kind));
    }
    None
}

/// Whether a text ending in `c` may end in a marker ([`before`] at its end):
/// an ISO code ends in an uppercase letter, a marker in its own last char.
pub fn may_end_marker(c: char) -> bool {
    c.is_ascii_uppercase() || MARKERS.iter().any(|(m, _)| m.ends_with(c))
}

/// A marker starting exactly at `start`: (end, marker).
pub fn after(text: &[char], start: usize) -> Option<(usize, Marker)> {
    if text.get(start..start + 3).is_some_and(is_code_chars)
        && text.get(start + 3).is_none_or(|c| !is_letter(*c))
    {
        return Some((start + 3, Marker::Code));
    }
    let first = text.get(start)?;
    for (m, kind) in MARKERS {
        if !m.starts_with(*first) {
            continue;
        }
        let end = start + m.chars().count();
        let Some(span) = text.get(start..end) else {
            continue;
        };
        if !span.iter().copied().eq(m.chars()) {
            continue;
        }
        if span.last().is_some_and(|c| is_letter(*c))
            && text.get(end).is_some_and(|c| is_letter(*c))
        {
            continue;
        }
        // `$` after an amount is rare and usually starts the next price.
        if *m == "$" {
            continue;
        }
        return Some((end, *kind));
    }
    None
}

/// The whole of `s` (trimmed) is one marker.
pub fn only_marker(s: &str) -> Option<Marker> {
    let t: Vec<char> = s.trim_matches(is_space).chars().collect();
    if t.is_empty() {
        return None;
    }
    match after(&t, 0) {
        Some((end, m)) if end == t.len() => Some(m),
        _ => before(&t, t.len())
            .filter(|(start, _)| *start == 0)
            .map(|(_, m)| m),
    }
}

/// Spaces allowed between a marker and its amount, and around pieces.
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\t' | '\n' | '\r'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn markers_before_and_after() {
        let t = chars("US$11");
        assert_eq!(before(&t, 3), Some((0, Marker::One("USD"))));
        let t = chars("EUROPE 5");
        assert_eq!(before(&t, 3), None);
        let t = chars("5 EUR.");
        assert_eq!(after(&t, 2), Some((5, Marker::Code)));
        let t = chars("5 krone");
        assert_eq!(after(&t, 2), None);
        assert_eq!(only_marker(" £ "), Some(Marker::One("GBP")));
        assert_eq!(only_marker("$"), Some(Marker::Any(DOLLARS)));
        assert_eq!(only_marker("тг."), Some(Marker::One("KZT")));
        assert_eq!(only_marker("EU"), None);
        assert!(is_code("JPY") && !is_code("ABC") && !is_code("EUr"));
    }
}
