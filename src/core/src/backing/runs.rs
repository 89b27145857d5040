//! Runs of free blocks in the allocator's map words.

use super::{MAX_EXTENT, WORD_BITS};

/// Returns the longest run of clear bits (up to [`MAX_EXTENT`]) that starts in `word`, and
/// the bits of `word` at which runs of `len` clear bits start, runs allowed to go on into
/// `next`, the following word.
///
/// Plain `u64` shifts, no `u128`: the kernel need not link 128-bit helpers.
pub(super) fn run_starts(word: u64, next: u64, len: u32) -> (u32, u64) {
    let (free, free_next) = (!word, !next);
    let mut runs = free;
    if runs == 0 {
        return (0, 0);
    }
    let mut longest = 1;
    let mut starts = if len == 1 { runs } else { 0 };
    for shift in 1..MAX_EXTENT.min(WORD_BITS) {
        // Bit `i` of the window shifted down by `shift`: bit `i + shift` of the two words.
        runs &= (free >> shift) | (free_next << (WORD_BITS - shift));
        if runs == 0 {
            break;
        }
        longest = shift.saturating_add(1);
        if longest == len {
            starts = runs;
        }
    }
    (longest, starts)
}
