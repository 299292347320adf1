//! The runtime's Intl time-zone data, so the bundle carries no tz database.

use js_sys::{Array, Function, Object, Reflect};
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::{JsCast, JsValue};

const FIELDS: [&str; 6] = ["year", "month", "day", "hour", "minute", "second"];

/// What the isolate keeps per zone: its formatter (`None` for a zone the
/// runtime does not know, tried again the next minute) and the offset of
/// the minute last asked for.
struct Zone {
    format: Option<Function>,
    minute: i64,
    offset: Option<i32>,
}

/// UTC offset of `zone` at `at_ms`, from the runtime's own Intl time zone
/// data (no tz database in the bundle). Offsets change only on whole
/// minutes: one Intl call per zone and minute, not one per request.
pub(super) fn tz_offset(zone: &str, at_ms: i64) -> Option<i32> {
    thread_local! {
        static ZONES: RefCell<HashMap<String, Zone>> = RefCell::new(HashMap::new());
    }
    let minute = at_ms.div_euclid(60_000);
    let cached = ZONES.with_borrow(|z| z.get(zone).map(|e| (e.minute, e.offset, e.format.clone())));
    let format = match cached {
        Some((m, offset, _)) if m == minute => return offset,
        Some((_, _, Some(f))) => Some(f),
        _ => formatter(zone),
    };
    let offset = format.as_ref().and_then(|f| offset_at(f, at_ms));
    ZONES.with_borrow_mut(|z| {
        if z.len() >= 256 && !z.contains_key(zone) {
            z.clear();
        }
        z.insert(
            zone.to_string(),
            Zone {
                format,
                minute,
                offset,
            },
        );
    });
    offset
}

/// `format` of an en-US `DateTimeFormat` for `zone` with every field numeric;
/// `None` for a zone the runtime does not know.
fn formatter(zone: &str) -> Option<Function> {
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
    Reflect::get(&fmt, &"format".into()).ok()?.dyn_into().ok()
}

/// The zone's offset at `at_ms`, in minutes.
fn offset_at(format: &Function, at_ms: i64) -> Option<i32> {
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
