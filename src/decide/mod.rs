//! Stage two: decisions taken once per request from the config and the
//! `Context`: locale, currency, consent, visitor, experiment arm, segment.

pub mod consent;
pub mod currency;
pub mod decisions;
pub mod experiment;
pub mod locale;
pub mod profile;
pub mod promo;
pub mod remembered;
pub mod segment;
pub mod visitor;

pub use decisions::{Decisions, CURRENCY_COOKIE, LOCALE_COOKIE};
pub use visitor::Visitor;
