//! Prices on pages the shop did not write for us: found in visible text
//! (also when split over inline elements), converted in place, never by
//! replacing an element's children. See `detect` (where prices are),
//! `amount` (what they say), `handler` (lol_html) and `hold` (splits).

pub mod amount;
pub mod convert;
pub mod detect;
pub mod handler;
pub mod hold;
pub mod piece;
pub mod run;
pub mod state;
pub mod symbols;

pub use crate::config::prices::Options;
pub use handler::attach;
pub use hold::{Holds, Release};
pub use run::rewrite_page;
pub use state::{Counts, Setup, State};
