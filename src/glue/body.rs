//! The body pump's Wasm side. The handler parks the pipeline's [`PageBody`]
//! under an id (sent to `worker/entry.mjs` in the stream mark header); the
//! entry reads the origin's body and calls [`borderless_body_write`] per
//! chunk and [`borderless_body_end`] at its end: plain synchronous calls, no
//! futures, promises or Wasm-side streams per chunk (they were most of the
//! fixed cost of a small page).

use crate::page::body::PageBody;
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::AnalyticsEngineDataset;

struct Pump {
    page: Box<PageBody>,
    events: Option<AnalyticsEngineDataset>,
    test_panic: bool,
    /// Some bytes went out (a test panic waits for that).
    sent: bool,
}

impl Pump {
    fn sending(&mut self, out: &[u8]) {
        if out.is_empty() {
            return;
        }
        if self.test_panic && self.sent {
            super::panic::trip("body");
        }
        self.sent = true;
    }
}

thread_local! {
    /// Bodies being streamed in this isolate, by id; the entry always ends
    /// or drops its own.
    static PUMPS: RefCell<(u32, HashMap<u32, Pump>)> = RefCell::new((0, HashMap::new()));
}

/// Parks `page` for the entry; its id.
pub(super) fn park(
    page: Box<PageBody>,
    events: Option<AnalyticsEngineDataset>,
    test_panic: bool,
) -> u32 {
    PUMPS.with_borrow_mut(|(next, pumps)| {
        *next = next.wrapping_add(1);
        let pump = Pump {
            page,
            events,
            test_panic,
            sent: false,
        };
        pumps.insert(*next, pump);
        *next
    })
}

fn lost(id: u32) -> JsValue {
    JsValue::from_str(&format!("body {id}: not parked"))
}

/// One origin chunk through the page: the bytes to send (maybe none). An
/// unknown id throws, so the entry aborts the body: never a faked ending.
#[wasm_bindgen]
pub fn borderless_body_write(id: u32, chunk: &[u8]) -> Result<Vec<u8>, JsValue> {
    PUMPS.with_borrow_mut(|(_, pumps)| {
        let pump = pumps.get_mut(&id).ok_or_else(|| lost(id))?;
        let out = pump.page.write(chunk);
        pump.sending(&out);
        Ok(out)
    })
}

/// The origin's body ended: the last bytes; the page's log lines go out.
#[wasm_bindgen]
pub fn borderless_body_end(id: u32) -> Result<Vec<u8>, JsValue> {
    let mut pump = PUMPS
        .with_borrow_mut(|(_, pumps)| pumps.remove(&id))
        .ok_or_else(|| lost(id))?;
    if pump.test_panic {
        // A body the entry sends whole has sent nothing before its end.
        super::panic::trip("body");
    }
    let (out, logs) = pump.page.end();
    super::events::emit_to(pump.events.as_ref(), &logs);
    pump.sending(&out);
    Ok(out)
}

/// The origin's whole body in one call (the entry read it at once): the
/// page to send; its log lines go out. A kept page may answer it
/// (`page::variants`).
#[wasm_bindgen]
pub fn borderless_body_whole(id: u32, body: &[u8]) -> Result<Vec<u8>, JsValue> {
    let pump = PUMPS
        .with_borrow_mut(|(_, pumps)| pumps.remove(&id))
        .ok_or_else(|| lost(id))?;
    Ok(whole(
        pump.page,
        pump.events.as_ref(),
        pump.test_panic,
        body,
    ))
}

/// `page` rewritten from the origin's whole `body`, not parked (phase two
/// got the body with the head, `sync.rs`), or parked and taken back.
pub(super) fn whole(
    mut page: Box<PageBody>,
    events: Option<&AnalyticsEngineDataset>,
    test_panic: bool,
    body: &[u8],
) -> Vec<u8> {
    if test_panic {
        super::panic::trip("body");
    }
    let (out, logs) = page.whole(body);
    super::events::emit_to(events, &logs);
    out
}

/// The body broke off (origin or visitor): forget it, no log lines.
#[wasm_bindgen]
pub fn borderless_body_drop(id: u32) {
    PUMPS.with_borrow_mut(|(_, pumps)| pumps.remove(&id));
}
