//! The free-space classes of packed frames: which bucket a frame is on, and which frame a
//! store takes (near fit, else best sure fit; see [Allocation](super#allocation)).
//!
//! This is a child module of [`super`]: it adds these methods to [`Pool`] and sees its fields.

use super::packed::{Packed, Rebucket, Usage};
use super::reserve::PAGE_END;
use super::{
    packed, packed_mut, Chain, EntryState, FrameEntry, FrameId, Links, Pool, Table, MAX_FRAME_SIZE,
    PAGE_SIZE,
};

/// Width in bytes of a free-space class below one page of free space.
pub const CLASS_WIDTH: u16 = 64;

/// Width in bytes of a free-space class from one page of free space up.
pub const COARSE_CLASS_WIDTH: u16 = 512;

/// Number of free-space classes narrower than a page: [`CLASS_WIDTH`]-wide classes cover
/// free space from 0 to one page.
// CAST: `u16` to `usize` widens.
const FINE_CLASSES: usize = PAGE_SIZE / CLASS_WIDTH as usize;

/// Number of free-space classes: [`CLASS_WIDTH`]-wide classes below one page of free
/// space, [`COARSE_CLASS_WIDTH`]-wide ones up to [`MAX_FRAME_SIZE`], and one for a whole
/// empty frame of that size.
// CAST: `u16` to `usize` widens.
pub const CLASSES: usize =
    FINE_CLASSES + (MAX_FRAME_SIZE - PAGE_SIZE) / COARSE_CLASS_WIDTH as usize + 1;

// The bitmap of non-empty classes is a `u128`, and a class fits a `u8`.
const _: () = assert!(CLASSES <= 128);

/// Number of frames at the front of the class just below a record's class that a store
/// checks for a near fit (see [Allocation](super#allocation)), keeping the choice O(1).
pub const NEAR_FIT_TRIES: usize = 4;

/// The chain of the free-space buckets; only packed frames are on it.
pub(super) struct BySpace;

impl<F> Chain<FrameEntry<F>> for BySpace {
    fn links(entry: &FrameEntry<F>) -> Option<&Links> {
        match &entry.state {
            EntryState::Packed(packed) => Some(&packed.bucket),
            _ => None,
        }
    }

    fn links_mut(entry: &mut FrameEntry<F>) -> Option<&mut Links> {
        match &mut entry.state {
            EntryState::Packed(packed) => Some(&mut packed.bucket),
            _ => None,
        }
    }
}

/// Returns the bit of `class` in a bitmap of classes.
#[inline]
pub(super) fn class_bit(class: usize) -> u128 {
    u32::try_from(class)
        .ok()
        .and_then(|shift| 1u128.checked_shl(shift))
        .unwrap_or(0)
}

/// Returns the lowest class of `mask` that is at least `min`.
#[inline]
pub(super) fn lowest_at_least(mask: u128, min: usize) -> Option<usize> {
    let above = u32::try_from(min)
        .ok()
        .and_then(|shift| u128::MAX.checked_shl(shift))
        .unwrap_or(0);
    let candidates = mask & above;
    // CAST: `trailing_zeros` of a non-zero `u128` is below 128.
    (candidates != 0).then(|| candidates.trailing_zeros() as usize)
}

/// Returns the free-space class of a frame with `free` bytes after its tail.
#[inline]
pub(super) fn class_of_free(free: u16) -> usize {
    let class = match free.checked_sub(PAGE_END) {
        None => usize::from(free / CLASS_WIDTH),
        Some(above) => FINE_CLASSES.saturating_add(usize::from(above / COARSE_CLASS_WIDTH)),
    };
    class.min(CLASSES.saturating_sub(1))
}

/// Returns the least free space of a frame in `class`, in bytes.
pub(super) fn class_floor(class: usize) -> u16 {
    let floor = match class.checked_sub(FINE_CLASSES) {
        None => u16::try_from(class)
            .ok()
            .and_then(|class| class.checked_mul(CLASS_WIDTH)),
        Some(above) => u16::try_from(above)
            .ok()
            .and_then(|above| above.checked_mul(COARSE_CLASS_WIDTH))
            .and_then(|above| above.checked_add(PAGE_END)),
    };
    floor.unwrap_or(u16::MAX)
}

/// Returns the smallest class whose frames surely have room for a record of `size` bytes.
///
/// A record is at most a page, so this is a class of [`CLASS_WIDTH`]-wide ones or the first
/// coarse one, and every frame of that class or above has at least `size` free bytes.
#[inline]
pub(super) fn class_for(size: u16) -> usize {
    usize::from(size.div_ceil(CLASS_WIDTH))
}

impl<F, S> Pool<F, S>
where
    F: AsRef<[u8]> + AsMut<[u8]>,
    S: Table<FrameEntry<F>>,
{
    /// Returns the packed frame that best fits a record of `size` bytes: a near fit if one
    /// of the first frames of the class just below the record's has room, else the best
    /// sure fit (see [Allocation](super#allocation)).
    pub(super) fn find_fit(&self, size: u16) -> Option<FrameId> {
        self.find_near_fit(size)
            .or_else(|| self.find_sure_fit(size, None))
    }

    /// Returns the first of the first [`NEAR_FIT_TRIES`] frames of the class just below
    /// `class_for(size)` that has room for a record of `size` bytes: after its tail, or in
    /// its largest hole.
    ///
    /// Such a frame has less capacity than the record's class promises, so it only has
    /// room if its free space lies high enough in its class; taking it is a tighter fit
    /// than any sure one.
    fn find_near_fit(&self, size: u16) -> Option<FrameId> {
        let bucket = class_for(size)
            .checked_sub(1)
            .and_then(|class| self.buckets.get(class))?;
        let entries = &self.table;
        bucket
            .iter(entries)
            .take(NEAR_FIT_TRIES)
            .find(|&id| packed(entries, id).is_some_and(|held| held.usage().has_room(size)))
    }

    /// Returns the packed frame other than `exclude` that best fits a record of `size`
    /// bytes among those surely having room: the first of the smallest non-empty bucket
    /// of a class of at least `class_for(size)`.
    pub(super) fn find_sure_fit(&self, size: u16, exclude: Option<FrameId>) -> Option<FrameId> {
        let entries = &self.table;
        let mut mask = self.nonempty;
        while let Some(class) = lowest_at_least(mask, class_for(size)) {
            mask &= !class_bit(class);
            let Some(bucket) = self.buckets.get(class) else {
                continue;
            };
            let mut candidate = bucket.front();
            if candidate.is_some() && candidate == exclude {
                candidate = candidate.and_then(|id| bucket.next(entries, id));
            }
            if candidate.is_some() {
                return candidate;
            }
        }
        None
    }

    /// Returns the usage of the packed frame `id`.
    pub(super) fn usage(&self, id: FrameId) -> Option<Usage> {
        packed(&self.table, id).map(Packed::usage)
    }

    /// Sets the usage of the packed frame `id`, moving it to the bucket of its new class and
    /// keeping the totals right. The frame's length is not changed.
    pub(super) fn set_usage(&mut self, id: FrameId, new: Usage) {
        let Some(packed) = packed_mut(&mut self.table, id) else {
            return;
        };
        let moved = packed.apply_usage(new, &mut self.totals);
        self.rebucket(id, moved);
    }

    /// Makes the bucket move `moved` of the packed frame `id`, if any: what
    /// [`Packed::apply_usage`] asks for.
    #[inline]
    pub(super) fn rebucket(&mut self, id: FrameId, moved: Option<Rebucket>) {
        if let Some(moved) = moved {
            // INVARIANT: the frame leaves the bucket of its old class for its new one.
            self.unlink_bucket(id, moved.from);
            self.link_bucket(id, moved.to, moved.marked);
        }
    }

    /// Puts the packed frame `id` on the bucket of its class: first, or last if marked.
    pub(super) fn bucket_insert(&mut self, id: FrameId) {
        let Some(packed) = packed(&self.table, id) else {
            return;
        };
        let (class, marked) = (packed.class, packed.marked);
        self.link_bucket(id, class, marked);
    }

    /// Takes the packed frame `id` off the bucket of its class.
    pub(super) fn bucket_remove(&mut self, id: FrameId) {
        let Some(class) = packed(&self.table, id).map(|packed| packed.class) else {
            return;
        };
        self.unlink_bucket(id, class);
    }

    /// Puts the packed frame `id` on the bucket of `class`: first, or last if `marked`.
    fn link_bucket(&mut self, id: FrameId, class: u8, marked: bool) {
        let Some(bucket) = self.buckets.get_mut(usize::from(class)) else {
            return;
        };
        let entries = &mut self.table;
        let linked = if marked {
            bucket.push_back(entries, id)
        } else {
            bucket.push_front(entries, id)
        };
        if linked {
            self.nonempty |= class_bit(usize::from(class));
        }
    }

    /// Takes the packed frame `id` off the bucket of `class`, which it is on.
    fn unlink_bucket(&mut self, id: FrameId, class: u8) {
        let Some(bucket) = self.buckets.get_mut(usize::from(class)) else {
            return;
        };
        bucket.remove(&mut self.table, id);
        if bucket.is_empty() {
            self.nonempty &= !class_bit(usize::from(class));
        }
    }

    /// Returns an iterator over the packed frames of the free-space class `class`, in the
    /// order stores try them.
    ///
    /// Each packed frame is in the class of its [`Usage::capacity`] (see the [module
    /// documentation](super)); a class at or past [`CLASSES`] is empty. This is for
    /// statistics and checks: stores do not walk classes.
    pub fn class_frames(&self, class: usize) -> impl Iterator<Item = FrameId> + '_ {
        self.buckets
            .get(class)
            .into_iter()
            .flat_map(|bucket| bucket.iter(&self.table))
    }
}
