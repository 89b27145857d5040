// SPDX-License-Identifier: GPL-2.0

//! The device's files under `/sys/block/ghostswapN/`.
//!
//! Documented in `Documentation/ABI/testing/sysfs-block-ghostswap`.

use core::fmt;
use kernel::{
    block::mq::attribute::{Attribute, AttributeBuffer},
    c_str,
    prelude::*,
};

use crate::device::GhostDevice;
use crate::gscore::stats::{write_frontswap_stat, write_mm_stat};

const MM_STAT: usize = 0;
const FRONTSWAP_STAT: usize = 1;

/// The attributes, indexed by the constants above.
pub(crate) const ATTRIBUTES: &[Attribute] = &[
    Attribute::read_only(c_str!("mm_stat")),
    Attribute::read_only(c_str!("frontswap_stat")),
];

pub(crate) fn show(device: &GhostDevice, index: usize, buffer: &mut AttributeBuffer<'_>) -> Result {
    let counters = device.counters();
    let written = match index {
        MM_STAT => write_mm_stat(&counters, buffer),
        FRONTSWAP_STAT => write_frontswap_stat(&counters, buffer),
        _ => return Err(EINVAL),
    };
    written.map_err(|fmt::Error| EINVAL)
}
