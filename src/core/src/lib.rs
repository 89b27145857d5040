//! Host-testable core of ghostswap, a compressed-RAM swap block device.
//!
//! Every decision of the driver that does not need the kernel lives here, as plain
//! `no_std` code without `unsafe`: request geometry and size parsing ([`geometry`]), the
//! statistics shown in sysfs ([`stats`]), the writable sysfs attributes ([`attrs`]), how
//! each page is stored ([`classify`]) and the pool of compressed objects ([`pool`], with
//! its record layout in [`frame`] and its intrusive lists in [`list`]), and writeback to
//! a backing device: each slot's state from resident to migrated ([`migrate`]), the
//! device's block allocator ([`backing`]), the back-off from a device whose writes
//! fail ([`backoff`]), and the extents kept in memory after a read ([`extent_cache`],
//! which reads whole extents only while that pays: [`fill_policy`]).
//!
//! The kernel module does not link this crate: it includes each module file with
//! `#[path = "core/src/<file>.rs"]` (or `<dir>/mod.rs`) inside its own `gscore` module.
//! The files therefore use only `core`, refer to each other through `super::`, and carry
//! no crate-level attributes; only this file is specific to the host build.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod attrs;
pub mod backing;
pub mod backoff;
pub mod checksum;
pub mod classify;
pub mod extent_cache;
pub mod fill_policy;
pub mod frame;
pub mod geometry;
pub mod list;
pub mod migrate;
pub mod pool;
pub mod refusal;
pub mod stats;
pub mod store;
pub mod table;
