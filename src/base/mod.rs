//! Leaf helpers every stage shares: escaping, identifier checks, URL
//! helpers, CLDR data and money arithmetic. Nothing here imports a stage.

pub mod cldr;
pub mod escape;
pub mod ids;
pub mod money;
pub mod time;
pub mod url;
