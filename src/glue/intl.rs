//! The runtime's Intl time-zone data, so the bundle carries no tz database.

use js_sys::{Array, Function, Object, Reflect};
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::{JsCast, JsValue};

const FIELDS: [&str; 6] = ["year", "month", "day", "hour", "minute", "second"];

/// UTC offset of `zone` at `at_ms`, from the runtime's own Intl time zone
/// data (no tz database in the bundle). Formatters are cached per zone.
pub(super) fn tz_offset(zone: &str, at_ms: i64) -> Option<i32> {
    thread_local! {
        /// Per zone: the minute an offset was read for, and the offset.
        static OFFSETS: RefCell<HashMap<String, (i64, Option<i32>)>> = RefCell::new(HashMap::new());
    }
    // Offsets change only on whole minutes: one Intl call per zone and
    // minute instead of one per request.
    let minute = at_ms.div_euclid(60_000);
    if let Some((m, off)) = OFFSETS.with_borrow(|o| o.get(zone).copied()) {
        if m == minute {
            return off;
        }
    }
    let off = read_offset(zone, at_ms);
    OFFSETS.with_borrow_mut(|o| {
        if o.len() >= 256 && !o.contains_key(zone) {
            o.clear();
        }
        o.insert(zone.to_string(), (minute, off));
    });
    off
}

/// The offset from the runtime's Intl, formatters cached per zone.
fn read_offset(zone: &str, at_ms: i64) -> Option<i32> {
    thread_local! {
        static FORMATTERS: RefCell<HashMap<String, Function>> = RefCell::new(HashMap::new());
    }
    let format = match FORMATTERS.with_borrow(|f| f.get(zone).cloned()) {
        Some(f) => f,
        None => {
            let intl = Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
            let ctor: Function = Reflect::get(&intl, &"DateTimeFormat".into())
                .ok()?
                .dyn_into()
                .ok()?;
            let opts = Object::new();
            let fields = FIELDS.map(|f| (f, "numeric"));
            for (k, v) in [("timeZone", zone), ("hourCycle", "h23")]
                .iter()
                .chain(&fields)
            {
                Reflect::set(&opts, &(*k).into(), &(*v).into()).ok()?;
            }
            // An unknown zone throws RangeError, which `construct` turns into Err.
            let fmt = Reflect::construct(&ctor, &Array::of2(&"en-US".into(), &opts)).ok()?;
            // `format` is a getter that returns a bound function.
            let f: Function = Reflect::get(&fmt, &"format".into()).ok()?.dyn_into().ok()?;
            FORMATTERS.with_borrow_mut(|m| {
                if m.len() >= 256 {
                    m.clear();
                }
                m.insert(zone.to_string(), f.clone());
            });
            f
        }
    };
    let secs = at_ms.div_euclid(1000);
    // One call, one string: en-US numeric reads "11/29/2026, 14:59:36"
    // (month, day, year, hour, minute, second).
    let text = format
        .call1(&JsValue::NULL, &JsValue::from_f64((secs * 1000) as f64))
        .ok()?
        .as_string()?;
    let mut f = [0i64; 6];
    let mut runs = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty());
    for slot in &mut f {
        *slot = runs.next()?.parse().ok()?;
    }
    if runs.next().is_some() {
        return None;
    }
    let [mo, d, y, h, mi, sec] = f;
    let local = crate::base::time::civil_to_ms(y, mo, d, h, mi, sec);
    i32::try_from((local - secs * 1000) / 60_000).ok()
}
