//! Stage one: the request as plain data. `Context` (geo from `request.cf`,
//! device, local time, language, cookies) and preview overrides.

pub mod clock;
pub mod context;
pub mod device;
pub mod identity;
pub mod preview;

pub use context::{Context, Geo, Head, TzOffset, CF_KEYS, UNKNOWN_COUNTRY};
pub use device::Device;
pub use preview::Overrides;
