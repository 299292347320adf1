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
            let f: Function = Reflect::get(&fmt, &"formatToParts".into())
                .ok()?
                .dyn_into()
                .ok()?;
            let bound = f.bind0(&fmt);
            FORMATTERS.with_borrow_mut(|m| {
                if m.len() >= 256 {
                    m.clear();
                }
                m.insert(zone.to_string(), bound.clone());
            });
            bound
        }
    };
    let secs = at_ms.div_euclid(1000);
    let date = js_sys::Date::new(&JsValue::from_f64((secs * 1000) as f64));
    let parts: Array = format.call1(&JsValue::NULL, &date).ok()?.dyn_into().ok()?;
    let mut f = [0i64; 6];
    for p in parts.iter() {
        let ty = Reflect::get(&p, &"type".into()).ok()?.as_string()?;
        let idx = FIELDS.iter().position(|t| *t == ty);
        if let Some(slot) = idx.and_then(|i| f.get_mut(i)) {
            *slot = Reflect::get(&p, &"value".into())
                .ok()?
                .as_string()?
                .parse()
                .ok()?;
        }
    }
    let [y, mo, d, h, mi, sec] = f;
    let local = crate::base::time::civil_to_ms(y, mo, d, h, mi, sec);
    i32::try_from((local - secs * 1000) / 60_000).ok()
}
