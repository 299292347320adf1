//! The native precompute tool (`borderless` binary): a shop's event log and
//! catalog in, the KV bundle the worker reads out, with the worker's own
//! schema and clock so producer and consumer agree.
//!
//! events/retail → agg (streaming cells) + cooc (baskets) → rank → bundle → publish;
//! `replay` resamples the real log into a bigger one for benchmarks.

pub mod agg;
pub mod bundle;
pub mod catalog;
pub mod cli_args;
pub mod cooc;
pub mod customer_args;
pub mod customer_kv;
pub mod customers;
pub mod eval;
pub mod events;
pub mod history;
pub mod input;
pub mod intern;
pub mod kv;
pub mod locales;
pub mod ops;
pub mod publish;
pub mod rank;
pub mod replay;
pub mod report;
pub mod report_md;
pub mod report_stats;
pub mod retail;
pub mod segment;
pub mod simulate;
pub mod tm;
pub mod wrangler;
pub mod zones;
