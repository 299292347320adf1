//! Log lines out: to the console, and exposures and conversions also to
//! Workers Analytics Engine when the `EVENTS` binding exists (schema in
//! `crate::base::conversion`).

use crate::base::conversion::data_point_of_line;
use crate::page::log::{self, Log};
use worker::web_sys::console;
use worker::{AnalyticsEngineDataPointBuilder, AnalyticsEngineDataset, Env};

const BINDING: &str = "EVENTS";

/// The dataset, when bound. Bindings are fixed for the isolate's life:
/// looked up once (a lookup is a few calls into JS per request).
pub(super) fn dataset(env: &Env) -> Option<AnalyticsEngineDataset> {
    thread_local! {
        static DATASET: std::cell::OnceCell<Option<AnalyticsEngineDataset>> =
            const { std::cell::OnceCell::new() };
    }
    DATASET.with(|d| d.get_or_init(|| env.analytics_engine(BINDING).ok()).clone())
}

pub(super) fn emit(env: &Env, logs: &[Log]) {
    emit_to(dataset(env).as_ref(), logs);
}

pub(super) fn emit_to(ds: Option<&AnalyticsEngineDataset>, logs: &[Log]) {
    for l in logs {
        // The line as it is: `console_log!` would format a copy first.
        let line = wasm_bindgen::JsValue::from_str(&l.line);
        if l.error {
            console::error_1(&line);
            continue;
        }
        console::log_1(&line);
        // The dataset first: without it the line is not parsed at all.
        let Some(ds) = ds else { continue };
        let Some(p) = data_point_of_line(&l.line) else {
            continue;
        };
        let written = AnalyticsEngineDataPointBuilder::new()
            .indexes([p.indexes[0].as_str()].as_slice())
            .blobs(p.blobs.iter().map(String::as_str))
            .doubles(p.doubles)
            .write_to(ds);
        if let Err(e) = written {
            let e = log::error("analytics_write_failed", &e.to_string(), "");
            console::error_1(&wasm_bindgen::JsValue::from_str(&e.line));
        }
    }
}
