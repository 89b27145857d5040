//! One block's entry in the allocator's `counts` table (see [`super`]).

/// The `counts` entry of one block: its extent's holds if it is a head,
/// [`TAIL`](super::TAIL) for the other blocks of an extent, 0 if free; and the checksum
/// of the block as last written.
///
/// Six bytes with no padding: the checksum is kept as two halves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockEntry {
    pub(super) count: u16,
    sum: [u16; 2],
}

impl BlockEntry {
    /// An entry counting `count`, with a checksum of 0. The tables are handed in zeroed;
    /// a test may hand them in filled with this.
    pub const fn with_count(count: u16) -> Self {
        Self { count, sum: [0; 2] }
    }

    pub(super) fn sum(&self) -> u32 {
        let [low, high] = self.sum;
        u32::from(low) | u32::from(high) << 16
    }

    pub(super) fn set_sum(&mut self, sum: u32) {
        // CAST: the halves of a `u32`.
        self.sum = [sum as u16, (sum >> 16) as u16];
    }
}
