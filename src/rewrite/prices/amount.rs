//! Reads the digits of a price as the origin wrote them (`1.299,00`,
//! `1 299,00`, `1,299.00`, `1'299.00`, `₹1,23,456`, `206,-`) with the decimal
//! rules of its currency; anything that could be read two ways is refused.

/// Why an amount is not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Could be grouping or decimals (`1.299` where `.` is the origin's
    /// decimal separator), or decimals the currency does not have.
    Ambiguous,
    /// Not a well-formed amount (bad grouping, leading zeros, too long).
    Malformed,
}

fn is_group_only(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'' | '’')
}

/// The amount of `core` (digits and separators, maybe a `,-` ending) in a
/// currency with `digits` decimals, on a site whose decimal separator is
/// `decimal` (`.` or `,`).
pub fn parse(core: &str, digits: u8, decimal: char) -> Result<f64, Refused> {
    let (core, dash) = match core.strip_suffix(['-', '–', '—']) {
        Some(c) => (c.strip_suffix([',', '.']).ok_or(Refused::Malformed)?, true),
        None => (core, false),
    };
    let mut groups: Vec<&str> = Vec::new();
    let mut seps: Vec<char> = Vec::new();
    let mut start = 0;
    for (i, c) in core.char_indices() {
        if !c.is_ascii_digit() {
            groups.push(core.get(start..i).unwrap_or_default());
            seps.push(c);
            start = i + c.len_utf8();
        }
    }
    groups.push(core.get(start..).unwrap_or_default());
    if groups
        .iter()
        .any(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Refused::Malformed);
    }
    let digits_total: usize = groups.iter().map(|g| g.len()).sum();
    if digits_total > 15 {
        return Err(Refused::Malformed);
    }
    // Which separator (if any) is the decimal one.
    let last = seps.last().copied();
    let dec_at = match last {
        None => None,
        Some(l) if is_group_only(l) => None,
        Some(l) => {
            let tail = groups.last().map_or(0, |g| g.len());
            let others = seps.split_last().map_or(&[][..], |(_, o)| o);
            if others.contains(&l) {
                None // `1,234,567`: all grouping
            } else if !others.is_empty() {
                Some(seps.len() - 1) // `1.299,00`, `1 299,00`, `1'299.00`
            } else if tail == 3 {
                // One separator before three digits: grouping unless it is
                // the origin's decimal separator or the currency has three
                // decimals; both at once (or neither) is a coin toss.
                match (l == decimal, digits == 3) {
                    // A currency without decimals cannot mean them.
                    (_, false) if digits == 0 => None,
                    (false, false) => None,
                    (true, true) => Some(0),
                    _ => return Err(Refused::Ambiguous),
                }
            } else {
                Some(0)
            }
        }
    };
    if dash && dec_at.is_some() {
        return Err(Refused::Malformed);
    }
    let (int_groups, frac) = match dec_at {
        Some(i) => (
            groups.get(..=i).unwrap_or_default(),
            groups.get(i + 1).copied(),
        ),
        None => (groups.as_slice(), None),
    };
    if let Some(f) = frac {
        if f.len() != usize::from(digits) {
            return Err(Refused::Ambiguous);
        }
    }
    // Grouping: same separator throughout; 3-digit groups, or the Indian
    // 2-digit groups before a last group of three.
    if int_groups.len() > 1 {
        let gsep = seps.first().copied().ok_or(Refused::Malformed)?;
        let used = seps.get(..int_groups.len() - 1).unwrap_or_default();
        if used.iter().any(|s| *s != gsep) {
            return Err(Refused::Malformed);
        }
        let (&first, rest) = int_groups.split_first().ok_or(Refused::Malformed)?;
        let (last_g, middle) = rest.split_last().ok_or(Refused::Malformed)?;
        let western = middle.iter().all(|g| g.len() == 3) && first.len() <= 3;
        let indian = middle.iter().all(|g| g.len() == 2) && first.len() <= 2;
        if last_g.len() != 3 || !(western || indian) {
            return Err(Refused::Malformed);
        }
    }
    let int: String = int_groups.concat();
    if int.len() > 1 && int.starts_with('0') {
        return Err(Refused::Malformed);
    }
    let text = match frac {
        Some(f) => format!("{int}.{f}"),
        None => int,
    };
    text.parse::<f64>().map_err(|_| Refused::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventions() {
        let ok = |s: &str, d: u8, dec: char| parse(s, d, dec).unwrap();
        assert_eq!(ok("1.299,00", 2, ','), 1299.0);
        assert_eq!(ok("1 299,00", 2, ','), 1299.0);
        assert_eq!(ok("1,299.00", 2, '.'), 1299.0);
        assert_eq!(ok("1'299.00", 2, '.'), 1299.0);
        assert_eq!(ok("1,23,456", 2, '.'), 123456.0);
        assert_eq!(ok("206,-", 2, ','), 206.0);
        assert_eq!(ok("2.449", 2, ','), 2449.0);
        assert_eq!(ok("1,299", 2, '.'), 1299.0);
        assert_eq!(ok("72.99", 2, '.'), 72.99);
        assert_eq!(ok("1.250", 3, '.'), 1.25);
        assert_eq!(ok("24.990", 0, ','), 24990.0);
        assert_eq!(ok("1.000", 0, '.'), 1000.0);
        assert_eq!(ok("0.99", 2, '.'), 0.99);
        assert_eq!(parse("1.299", 2, '.'), Err(Refused::Ambiguous));
        assert_eq!(parse("12.5", 2, '.'), Err(Refused::Ambiguous));
        assert_eq!(parse("12.50", 0, '.'), Err(Refused::Ambiguous));
        assert_eq!(parse("1,2345", 2, '.'), Err(Refused::Ambiguous));
        assert_eq!(parse("12,34,5", 2, '.'), Err(Refused::Malformed));
        assert_eq!(parse("1.234,567.00", 2, '.'), Err(Refused::Malformed));
        assert_eq!(parse("007", 2, '.'), Err(Refused::Malformed));
        assert_eq!(parse("1234567890123456", 2, '.'), Err(Refused::Malformed));
    }
}
