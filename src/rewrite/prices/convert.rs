//! From a found span to the visitor's price: which currency (marker, page
//! signals, site config), the amount by that currency's decimal rules, the
//! conversion and the Intl-exact format; and runs of pieces split over
//! inline elements (`£` `279`, `$` `87` `.` `11`, `99,95` `€`).

use super::amount;
use super::detect::{self, Found};
use super::piece::{is_sup_fraction, Hint};
use super::state::State;
use super::symbols::Marker;
use crate::base::money::{self, NoConversion};
use crate::schema::PriceUnit;

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
