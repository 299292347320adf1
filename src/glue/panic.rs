//! A panic traps the Wasm instance: the future `worker/entry.mjs` awaits
//! never settles and the body stream never ends. The hook tells the entry
//! (which fails every request in flight open: the origin's page before the
//! head is sent, an aborted stream after) and has the instance rebuilt for
//! the next request.

use crate::page::log;
use wasm_bindgen::{JsCast, JsValue};

/// The entry's callback on `globalThis`.
const NOTIFY: &str = "__borderless_panic";

pub(super) fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(hook)));
}

fn hook(info: &std::panic::PanicHookInfo) {
    wasm_bindgen::handler::schedule_reinit();
    let detail = info.to_string();
    let detail = log::excerpt(&detail, 240);
    let notify = js_sys::Reflect::get(&js_sys::global(), &NOTIFY.into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let Some(f) = notify {
        // Only JS runs here; an exception is ignored (the instance is lost anyway).
        let _ = f.call1(&JsValue::NULL, &detail.into());
    }
}

/// The header that asks for it, read besides the pipeline's: test builds
/// only, so the release worker reads one header less per request.
#[cfg(feature = "test-panic")]
pub(super) const HEADERS: &[&str] = &["x-borderless-test-panic"];
#[cfg(not(feature = "test-panic"))]
pub(super) const HEADERS: &[&str] = &[];

/// Test builds only (`--features test-panic`, never the release worker):
/// whether the request asks, with `x-borderless-test-panic: head|body`, for a
/// panic at that point, to prove the fail-open path end to end
/// (tests/e2e/panic.test.mjs). Always `false` in the release worker.
#[cfg(feature = "test-panic")]
pub(super) fn wanted(headers: &[(String, String)], at: &str) -> bool {
    headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("x-borderless-test-panic") && v == at)
}

#[cfg(not(feature = "test-panic"))]
pub(super) fn wanted(_: &[(String, String)], _: &str) -> bool {
    false
}

/// Panics in test builds; nothing in the release worker.
#[cfg(feature = "test-panic")]
#[allow(clippy::panic)]
pub(super) fn trip(at: &str) {
    panic!("test panic at {at}");
}

#[cfg(not(feature = "test-panic"))]
pub(super) fn trip(_: &str) {}
