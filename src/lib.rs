//! Borderless: localizes and personalizes a shop's HTML at the edge while it
//! streams. A request flows one way, stage by stage, through one entry point,
//! [`page::prepare`] then [`page::Prepared::finish`]:
//!
//! `request` (Context) → `decide` (Decisions) → `plan` (data) → `rewrite`
//! (lol_html, chunk by chunk), with `config` and `schema` read first and
//! `base` shared by all. Only `glue` (wasm32) touches the Workers runtime.

pub mod base;
pub mod config;
pub mod decide;
pub mod page;
pub mod plan;
#[cfg(not(target_arch = "wasm32"))]
pub mod precompute;
pub mod request;
pub mod rewrite;
pub mod schema;

#[cfg(target_arch = "wasm32")]
mod glue;

pub use config::{parse as parse_config, ConfigError, SiteConfig};
pub use page::{prepare, Finish, Prepared, Request, Runtime, Start, Vars};
