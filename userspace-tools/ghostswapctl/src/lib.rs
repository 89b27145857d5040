//! `ghostswapctl`: set up, watch and size ghostswap devices the way zram users expect
//! (`zramctl`, `zram-generator`), and estimate before swapping what processes' memory
//! would take in ghostswap and in zram.
//!
//! The settings are checked with the driver's own rules (`ghostswap_core`), written in
//! the order the driver requires, and every refusal says what to do.

pub mod cli;
pub mod cmd;
pub mod columns;
pub mod config;
pub mod configure;
pub mod drift;
pub mod estimate;
pub mod explain;
pub mod loopdev;
pub mod module;
pub mod paths;
pub mod report;
pub mod run;
pub mod size;
pub mod size_expr;
pub mod spec;
pub mod state;
pub mod swaps;
pub mod sysfs;
pub mod teardown;
