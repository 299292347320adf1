//! Borderless: localizes and personalizes a shop's HTML at the edge while it
//! streams. A request flows one way: request → [`context::Context`] →
//! [`decision::Decisions`] → [`plan::Plan`] → [`rewrite::Rewriter`]. All of it
//! is plain Rust; only `glue` (wasm32) touches the Workers runtime.

pub mod blocks;
pub mod charset;
pub mod cldr;
pub mod clock;
pub mod config;
pub mod consent;
pub mod context;
pub mod decision;
pub mod device;
pub mod experiment;
pub mod format;
pub mod locale;
pub mod localize;
pub mod money;
pub mod personalize;
pub mod plan;
#[cfg(not(target_arch = "wasm32"))]
pub mod precompute;
pub mod preview;
pub mod profile;
pub mod proxy;
pub mod rewrite;
pub mod schema;
pub mod segment;
pub mod template;

#[cfg(target_arch = "wasm32")]
mod glue;
