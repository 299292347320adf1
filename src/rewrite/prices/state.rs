//! The price stage's per-page state (its methods live with the handlers).

use super::hold::Holds;
use super::piece::{Hint, Piece};
pub use crate::plan::prices::Setup;
use std::cell::RefCell;
use std::rc::Rc;

/// Amounts seen on a page and what became of them (preview report).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub found: u32,
    pub converted: u32,
    pub unknown_currency: u32,
    pub stale_fx: u32,
    pub same_currency: u32,
    pub excluded: u32,
    pub ambiguous: u32,
    /// No money format for the visitor's locale and currency.
    pub unformatted: u32,
}

/// The context of the text chunk being handled, set by element text
/// handlers (which lol_html runs before the document's).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Ctx {
    pub(super) excluded: bool,
    pub(super) button: bool,
    pub(super) hint: Hint,
    pub(super) only: bool,
    pub(super) sup: bool,
    pub(super) expected: Option<f64>,
}

pub struct State {
    pub(super) setup: Rc<Setup>,
    pub(super) holds: Rc<RefCell<Holds>>,
    pub counts: Counts,
    pub(super) ctx: Ctx,
    pub(super) carry: String,
    pub(super) run: Vec<Piece>,
    /// A block boundary since the run's last piece.
    pub(super) broken: bool,
    pub(super) signals: Vec<String>,
    pub(super) expected: Option<f64>,
    pub(super) jsonld: String,
    /// The current run met another amount: it is left alone.
    pub(super) tainted: bool,
    /// No text handler runs after this stage's: a chunk's text can be set
    /// in place (no copy) instead of replaced. Another handler would read
    /// the new text as the page's.
    pub last: bool,
}
