//! Currency formatting from CLDR data sampled out of ICU (see
//! scripts/money-formats.mjs): prints exactly what
//! `Intl.NumberFormat(locale, {style: "currency", currency})` prints.

use crate::config::bounds;
use crate::schema::{CurrencyPattern, Dictionary};
use std::fmt::Write;
use std::rc::Rc;

/// Formats an amount in a currency for the page's locale.
pub type FormatFn = Rc<dyn Fn(f64, &str) -> Option<String>>;

/// A formatter for the locale whose dictionary is `dict`; `None` when it
/// carries no money formats (prices are then left as the origin wrote them).
pub fn formatter(dict: Option<&Rc<Dictionary>>) -> Option<FormatFn> {
    let dict = Rc::clone(dict?);
    dict.money.as_ref()?;
    Some(Rc::new(move |amount, currency| {
        let m = dict.money.as_ref()?;
        let c = m.currencies.get(currency)?;
        format(m.formats.get(c.format)?, &c.symbol, amount)
    }))
}

/// Formats `amount` with a pattern: half-expand rounding of the shortest
/// decimal representation to the pattern's digits (as ICU does), grouping,
/// native digits, affixes.
pub fn format(p: &CurrencyPattern, symbol: &str, amount: f64) -> Option<String> {
    if !amount.is_finite() || amount.abs() >= 1e15 || p.digits > bounds::MAX_DIGITS {
        return None;
    }
    let zero = u32::from(p.zero.chars().next()?);
    let mut repr = String::with_capacity(24);
    write!(repr, "{}", amount.abs()).ok()?;
    let (int, frac) = repr.split_once('.').unwrap_or((&repr, ""));
    let fd = usize::from(p.digits);
    // Digits as bytes: a carry slot, the integer part, `fd` fraction digits.
    let mut d: Vec<u8> = Vec::with_capacity(int.len() + fd + 1);
    d.push(0);
    d.extend(int.bytes().map(|b| b - b'0'));
    d.extend((0..fd).map(|i| frac.as_bytes().get(i).map_or(0, |b| b - b'0')));
    if frac.as_bytes().get(fd).is_some_and(|b| *b >= b'5') {
        for x in d.iter_mut().rev() {
            if *x == 9 {
                *x = 0;
            } else {
                *x += 1;
                break;
            }
        }
    }
    let (int_part, frac_digits) = d.split_at_checked(d.len().checked_sub(fd)?)?;
    // Leading zeros go, but the last integer digit stays.
    let last = int_part.len().checked_sub(1)?;
    let first = int_part
        .iter()
        .take(last)
        .position(|x| *x != 0)
        .unwrap_or(last);
    let int = int_part.get(first..)?;
    let negative = amount < 0.0 && d.iter().any(|x| *x != 0);
    let (prefix, suffix) = if negative {
        (&p.neg_prefix, &p.neg_suffix)
    } else {
        (&p.pos_prefix, &p.pos_suffix)
    };
    let digit = |x: u8| char::from_u32(zero + u32::from(x)).unwrap_or('?');
    let mut out = String::with_capacity(32);
    out.push_str(&prefix.replace('¤', symbol));
    let (primary, secondary) = (usize::from(p.primary), usize::from(p.secondary.max(1)));
    let grouped = primary > 0 && int.len() >= primary + usize::from(p.min_grouping);
    for (i, x) in int.iter().enumerate() {
        out.push(digit(*x));
        let left = int.len() - i - 1;
        if grouped && left >= primary && (left - primary).is_multiple_of(secondary) {
            out.push_str(&p.group);
        }
    }
    if fd > 0 {
        out.push_str(&p.decimal);
        out.extend(frac_digits.iter().map(|x| digit(*x)));
    }
    out.push_str(&suffix.replace('¤', symbol));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::too_many_arguments)]
    fn pattern(
        prefix: &str,
        suffix: &str,
        decimal: &str,
        group: &str,
        primary: u8,
        secondary: u8,
        zero: &str,
        digits: u8,
    ) -> CurrencyPattern {
        CurrencyPattern {
            pos_prefix: prefix.into(),
            pos_suffix: suffix.into(),
            neg_prefix: format!("-{prefix}"),
            neg_suffix: suffix.into(),
            decimal: decimal.into(),
            group: group.into(),
            primary,
            secondary,
            min_grouping: 1,
            zero: zero.into(),
            digits,
        }
    }

    #[test]
    fn formats_like_icu() {
        let de = pattern("", "\u{a0}¤", ",", ".", 3, 3, "0", 2);
        assert_eq!(format(&de, "€", 1234.5).unwrap(), "1.234,50\u{a0}€");
        assert_eq!(format(&de, "€", 0.995).unwrap(), "1,00\u{a0}€");
        assert_eq!(format(&de, "€", 999.995).unwrap(), "1.000,00\u{a0}€");
        assert_eq!(format(&de, "€", 0.0).unwrap(), "0,00\u{a0}€");
        assert_eq!(format(&de, "€", -1234.5).unwrap(), "-1.234,50\u{a0}€");
        assert_eq!(format(&de, "€", -0.001).unwrap(), "0,00\u{a0}€");
        let inr = pattern("¤", "", ".", ",", 3, 2, "0", 2);
        assert_eq!(format(&inr, "₹", 1234567.5).unwrap(), "₹12,34,567.50");
        let jp = pattern("¤", "", "", ",", 3, 3, "0", 0);
        assert_eq!(format(&jp, "￥", 1e7).unwrap(), "￥10,000,000");
        assert_eq!(format(&jp, "￥", 0.5).unwrap(), "￥1");
        let ar = pattern("\u{200f}", "\u{a0}¤", "٫", "٬", 3, 3, "٠", 2);
        assert_eq!(
            format(&ar, "ج.م.\u{200f}", 1234.5).unwrap(),
            "\u{200f}١٬٢٣٤٫٥٠\u{a0}ج.م.\u{200f}"
        );
        assert_eq!(format(&de, "€", f64::NAN), None);
        assert_eq!(format(&de, "€", 1e300), None);
    }
}
