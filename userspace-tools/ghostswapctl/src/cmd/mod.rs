//! One module per subcommand.

pub mod apply;
pub mod estimate;
pub mod list;
pub mod reset;
pub mod setup;
pub mod status;
pub mod writeback;
