//! Leaf helpers every stage shares: escaping, identifier checks, URL
//! helpers, CLDR data and money arithmetic. Nothing here imports a stage.

pub mod cldr;
pub mod conversion;
pub mod escape;
pub mod fxfeed;
pub mod ids;
pub mod money;
pub mod recent;
pub mod request_url;
pub mod text;
pub mod time;
pub mod url;
