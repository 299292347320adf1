//! Borderless: localizes and personalizes a shop's HTML at the edge while it
//! streams. A request flows one way, stage by stage, through one entry point,
//! [`page::prepare`] then [`page::Prepared::finish`]:
//!
//! `request` (Context) → `decide` (Decisions) → `plan` (data) → `rewrite`
//! (lol_html, chunk by chunk), with `config` and `schema` read first and
//! `base` shared by all. Only `glue` (wasm32) touches the Workers runtime.

// No panic may be reachable in library code (a panic traps the Wasm
// instance): these lints hold outside tests; the few justified sites carry
// an `allow` with the reason.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::string_slice
    )
)]

pub mod base;
pub mod config;
pub mod decide;
pub mod page;
pub mod plan;
// The native CLI: never in the worker, so a panic there is not a trap in
// front of a visitor (it reads the shop's own files; the bundle it writes is
// checked with the worker's bounds). Exempt from the panic lints.
#[cfg(not(target_arch = "wasm32"))]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::string_slice
)]
pub mod precompute;
pub mod request;
pub mod rewrite;
pub mod schema;

#[cfg(target_arch = "wasm32")]
mod glue;

pub use config::{parse as parse_config, ConfigError, SiteConfig};
pub use page::{prepare, Finish, Prepared, Request, Runtime, Start, Vars};
