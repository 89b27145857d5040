// SPDX-License-Identifier: GPL-2.0

//! The driver's decisions, shared with the host-tested `ghostswap_core` crate.
//!
//! Kbuild builds one crate per module and cannot link a Cargo crate, so the
//! core's files are compiled here as modules of their own.

#[path = "core/src/attrs.rs"]
pub mod attrs;
#[path = "core/src/backing/mod.rs"]
pub mod backing;
#[path = "core/src/backoff.rs"]
pub mod backoff;
#[path = "core/src/checksum.rs"]
pub mod checksum;
#[path = "core/src/classify.rs"]
pub mod classify;
#[path = "core/src/extent_cache.rs"]
pub mod extent_cache;
#[path = "core/src/fill_policy.rs"]
pub mod fill_policy;
#[path = "core/src/frame.rs"]
pub mod frame;
#[path = "core/src/geometry.rs"]
pub mod geometry;
#[path = "core/src/list.rs"]
pub mod list;
#[path = "core/src/migrate/mod.rs"]
pub mod migrate;
#[path = "core/src/pool/mod.rs"]
pub mod pool;
#[path = "core/src/refusal.rs"]
pub mod refusal;
#[path = "core/src/stats.rs"]
pub mod stats;
#[path = "core/src/store/mod.rs"]
pub mod store;
#[path = "core/src/table.rs"]
pub mod table;
