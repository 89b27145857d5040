//! The ghostswap devices as sysfs shows them: naming, reading and writing their files,
//! and the formats of what they show.

mod device;
mod snapshot;
pub mod stat;

pub use device::{Device, WriteError};
pub use snapshot::{Snapshot, Tuning};
