// SPDX-License-Identifier: GPL-2.0

//! The store's tables in kernel memory, and when they are allocated.
//!
//! - The slot table, one [`State`] (16 bytes) per 4 KiB page of the device,
//!   in chunks of [`SLOT_CHUNK`] slots placed where stores first need them
//!   ([`grow_slots`]).
//! - The frame table, one [`FrameEntry`] (56 bytes) per frame of the pool,
//!   grows by chunks of [`FRAME_CHUNK`] entries as the pool takes frames
//!   ([`add_frame`]); if a chunk cannot be allocated, the frame is refused
//!   like any frame the pool cannot take.
//! - Only the tables' directories (24 bytes per chunk) are allocated when
//!   `disksize` is written; chunks are allocated with the store lock
//!   dropped, `GFP_NOIO | __GFP_NORETRY`. Both chunk sizes stay within
//!   kmalloc-2k: a kmalloc-4k object takes an order-1 slab when slab debugging
//!   or KASAN redzones make it larger than a page, and such a block may not be
//!   found without compaction, which `GFP_NOIO` does not do.
//! - The backing allocator's block map, hold counts and checksums (1 bit and 6 bytes
//!   per 4 KiB block of the backing device), allocated when `disksize` is
//!   written with a backing device attached.
//!
//! `Documentation/design.rst` ("Memory") gives the figures.

use core::ops::{Deref, DerefMut};
use kernel::{
    alloc::{flags, Flags},
    block::BlockDevice,
    cpu,
    page::MappedPages,
    prelude::*,
    sync::SpinLock,
};

use crate::gscore::{
    backing::{Backing, BlockEntry},
    frame::MAX_FRAME_PAGES,
    geometry::SECTORS_PER_PAGE,
    migrate::State,
    pool::{FrameEntry, RESERVE_CAP},
    store::{Content, Store},
    table::{Chunked, Directory, Sparse},
};

/// Entries of the frame table per chunk: 32 entries of 56 bytes (1792
/// bytes) come from kmalloc-2k, an order-0 slab in every configuration.
pub(crate) const FRAME_CHUNK: usize = 32;

/// Slots per chunk of the slot table: 128 slots of 16 bytes, 2 KiB.
pub(crate) const SLOT_CHUNK: usize = 128;

/// Allocation flags on the write path: reclaim may run but must not issue
/// I/O (it could be waiting for this very device), and a failure is an
/// ordinary refused store, not worth a warning.
pub(crate) fn store_gfp() -> Flags {
    flags::GFP_NOIO | flags::__GFP_NOWARN
}

/// Order of the frames packed objects are stored in: the largest frame the
/// pool takes (`MAX_FRAME_PAGES`), so objects of any size waste little at
/// the end of a frame (zsmalloc chains up to 8 pages for the same reason).
/// Tried without retries; order 0 is the fallback.
pub(crate) const PACKING_ORDER: u32 = MAX_FRAME_PAGES.trailing_zeros();
const _: () = assert!(1 << PACKING_ORDER == MAX_FRAME_PAGES);

/// A pool frame: pages from the page allocator, permanently mapped.
pub(crate) struct Frame(MappedPages);

impl Frame {
    /// A frame for `single_page` (a huge page) or for packed objects:
    /// [`PACKING_ORDER`] if one light attempt (no retries, no OOM killer)
    /// finds such a block, else a single page.
    fn new(single_page: bool) -> Result<Self> {
        let flags = store_gfp();
        if single_page {
            return Ok(Self(MappedPages::alloc(flags, 0)?));
        }
        MappedPages::alloc(flags | flags::__GFP_NORETRY, PACKING_ORDER)
            .or_else(|_| MappedPages::alloc(flags, 0))
            .map(Self)
            .map_err(Into::into)
    }

    /// Returns `true` for a frame of one page.
    fn is_single(&self) -> bool {
        self.0.order() == 0
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        self.0.as_ref()
    }
}

impl AsMut<[u8]> for Frame {
    fn as_mut(&mut self) -> &mut [u8] {
        self.0.as_mut()
    }
}

/// One chunk of the slot table: [`SLOT_CHUNK`] slots.
pub(crate) type SlotChunk = Entries<KVec<State<Content>>>;

/// One slot [`State`] per 4 KiB page of the device, in chunks placed where
/// stores first need them; slots of chunks not there are empty.
pub(crate) type SlotTable = Sparse<Entries<KVVec<Option<SlotChunk>>>, SlotChunk, State<Content>>;

/// A vector the core takes as a slice (`AsRef`/`AsMut`): a chunk of a table.
pub(crate) struct Entries<V>(V);

impl<T, V: Deref<Target = [T]>> AsRef<[T]> for Entries<V> {
    fn as_ref(&self) -> &[T] {
        &self.0
    }
}

impl<T, V: DerefMut<Target = [T]>> AsMut<[T]> for Entries<V> {
    fn as_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

/// The chunks of a table, in a vector allocated for all of them up front so
/// that appending one never allocates (it happens under the store lock).
pub(crate) struct Chunks<C>(KVVec<C>);

impl<C> Chunks<C> {
    /// A directory for `chunks` chunks (may sleep).
    fn new(chunks: usize) -> Result<Self> {
        Ok(Self(KVVec::with_capacity(chunks, GFP_KERNEL)?))
    }
}

impl<C> Directory<C> for Chunks<C> {
    fn chunks(&self) -> &[C] {
        &self.0
    }

    fn chunks_mut(&mut self) -> &mut [C] {
        &mut self.0
    }

    fn push(&mut self, chunk: C) -> Result<(), C> {
        if self.0.len() >= self.0.capacity() {
            return Err(chunk);
        }
        // Within its capacity `push` does not allocate, so it cannot fail and
        // the flags are never used.
        let _ = self.0.push(chunk, flags::GFP_NOWAIT);
        Ok(())
    }
}

/// One chunk of the frame table: [`FRAME_CHUNK`] entries.
pub(crate) type FrameChunk = Entries<KVec<FrameEntry<Frame>>>;

/// The pool's frame table, grown chunk by chunk.
pub(crate) type Frames = Chunked<Chunks<FrameChunk>, FrameChunk, FrameEntry<Frame>>;

/// Map words per chunk of the backing allocator's tables: 256 words cover
/// 16384 blocks, 64 MiB of the backing device; their counts and checksums
/// take 96 KiB.
pub(crate) const BACKING_CHUNK_WORDS: usize = 256;

/// Blocks per chunk of the backing allocator's tables.
const BACKING_CHUNK_BLOCKS: usize = BACKING_CHUNK_WORDS * 64;

type MapChunk = Entries<KVVec<u64>>;
type CountsChunk = Entries<KVVec<BlockEntry>>;

/// The backing allocator's block map, grown chunk by chunk.
pub(crate) type BackingMap = Chunked<Chunks<MapChunk>, MapChunk, u64>;

/// The backing allocator's hold counts and block checksums, grown chunk by
/// chunk.
pub(crate) type BackingCounts = Chunked<Chunks<CountsChunk>, CountsChunk, BlockEntry>;

/// The store of an initialized device.
pub(crate) type DeviceStore = Store<SlotTable, Frame, Frames, BackingMap, BackingCounts>;

/// A vector of `count` values, allocated once (the pushes do not allocate).
fn filled<T>(count: usize, value: impl Fn() -> T, gfp: Flags) -> Result<KVVec<T>> {
    let mut vec = KVVec::with_capacity(count, gfp)?;
    for _ in 0..count {
        vec.push(value(), gfp)?;
    }
    Ok(vec)
}

/// [`filled`] from the slab allocator: for chunks of a page or less.
fn filled_kvec<T>(count: usize, value: impl Fn() -> T, gfp: Flags) -> Result<KVec<T>> {
    let mut vec = KVec::with_capacity(count, gfp)?;
    for _ in 0..count {
        vec.push(value(), gfp)?;
    }
    Ok(vec)
}

/// Allocates an empty store of `pages` slots (may sleep).
pub(crate) fn new_store(pages: u64) -> Result<KBox<DeviceStore>> {
    let count = usize::try_from(pages).map_err(|_| EINVAL)?;
    // Worst case one frame per page, plus the reserve and two for every store
    // in flight: stores hold their CPU's stream, so there are at most as many
    // as streams.
    // CAST: a CPU count fits in usize.
    let in_flight = cpu::nr_cpu_ids() as usize;
    let frames = count
        .checked_add(RESERVE_CAP as usize + 2 * in_flight)
        .ok_or(EINVAL)?;
    let directory = Chunks::new(frames.div_ceil(FRAME_CHUNK))?;
    let frames = Frames::new(directory, FRAME_CHUNK, frames).ok_or(EINVAL)?;
    let places = filled(count.div_ceil(SLOT_CHUNK), || None, GFP_KERNEL)?;
    let slots = SlotTable::new(Entries(places), SLOT_CHUNK, count).ok_or(EINVAL)?;
    // Boxed here: a store is large, and each move of it on the stack of
    // `GhostDevice::initialize` (or the module's init) would cost its size.
    let store = Store::new(slots, frames).ok_or(EINVAL)?;
    Ok(KBox::new(store, GFP_KERNEL)?)
}

/// Puts a chunk of empty slots where slot `index` is, for a store that
/// needs it (allocated with the lock dropped, `GFP_NOIO`). Returns `false`
/// if no memory was found: the caller refuses the store.
pub(crate) fn grow_slots(store: &SpinLock<KBox<DeviceStore>>, index: u64) -> bool {
    let gfp = store_gfp() | flags::__GFP_NORETRY;
    let Ok(chunk) = filled_kvec(SLOT_CHUNK, State::default, gfp) else {
        return false;
    };
    let Ok(at) = usize::try_from(index) else {
        return false;
    };
    // Refused if another store put the chunk there first: freed after the
    // lock is dropped.
    let mut refused = None;
    store
        .lock()
        .grow_slots(|slots| refused = slots.insert_chunk(at, Entries(chunk)).err());
    drop(refused);
    true
}

/// Allocates a chunk of empty frame-table entries, or `None` if memory is
/// short (no retries, no warning: the caller refuses the frame).
fn frame_chunk() -> Option<FrameChunk> {
    let gfp = store_gfp() | flags::__GFP_NORETRY;
    filled_kvec(FRAME_CHUNK, FrameEntry::default, gfp)
        .ok()
        .map(Entries)
}

/// What [`give_frame`] did.
pub(crate) enum FrameGiven {
    /// The pool took a new frame: store again.
    Added,
    /// The pool refused it at `mem_limit`; nothing changed.
    Refused { single_page: bool },
    /// No frame could be allocated.
    NoMemory,
}

/// Allocates a frame (see [`Frame::new`]) and hands it to the pool, first
/// growing the frame table by a chunk if the pool asks for one (everything
/// allocated with the lock dropped). A frame refused is freed on the spot,
/// which does not sleep.
///
/// The table may fill between the look and the add, when another CPU takes
/// its last entry: a frame refused then is tried once more with a chunk of
/// its own, which the pool cannot refuse for want of an entry.
pub(crate) fn give_frame(store: &SpinLock<KBox<DeviceStore>>, single_page: bool) -> FrameGiven {
    let Ok(mut frame) = Frame::new(single_page) else {
        return FrameGiven::NoMemory;
    };
    let mut grow = store.lock().needs_frame_entries();
    loop {
        let chunk = if grow { frame_chunk() } else { None };
        let mut refused_chunk = None;
        let mut guard = store.lock();
        if let Some(chunk) = chunk {
            // A chunk not needed any more (another CPU grew the table) still
            // serves the next frames; one beyond the capacity is freed after
            // the lock is dropped.
            guard.grow_frames(|frames| refused_chunk = frames.push_chunk(chunk).err());
        }
        let added = guard.add_frame(frame);
        let try_again = added.is_err() && !grow && guard.needs_frame_entries();
        drop(guard);
        drop(refused_chunk);
        match added {
            Ok(()) => return FrameGiven::Added,
            Err(back) if try_again => {
                frame = back;
                grow = true;
            }
            Err(refused) => {
                return FrameGiven::Refused {
                    single_page: refused.is_single(),
                }
            }
        }
    }
}

/// Allocates the backing device's allocator for `bdev`: one block per 4 KiB
/// of it, as many as a `u32` counts. Only the tables' directories are
/// allocated here; their chunks come as writeback fills the device
/// ([`grow_backing`]).
pub(crate) fn new_backing(bdev: &BlockDevice) -> Result<Backing<BackingMap, BackingCounts>> {
    let blocks = (bdev.sectors() / SECTORS_PER_PAGE).min(u64::from(u32::MAX));
    let blocks = usize::try_from(blocks).map_err(|_| EINVAL)?;
    if blocks == 0 {
        return Err(EINVAL);
    }
    let chunks = blocks.div_ceil(BACKING_CHUNK_BLOCKS);
    let map = BackingMap::new(
        Chunks::new(chunks)?,
        BACKING_CHUNK_WORDS,
        blocks.div_ceil(64),
    );
    let counts = BackingCounts::new(Chunks::new(chunks)?, BACKING_CHUNK_BLOCKS, blocks);
    Backing::new(map.ok_or(EINVAL)?, counts.ok_or(EINVAL)?).ok_or(EINVAL)
}

/// Grows the backing allocator's tables by a chunk, allocated with the store
/// lock dropped (`GFP_NOIO`: writeback may run for reclaim). Returns `false`
/// if no memory was found; the caller treats the device as full for now.
pub(crate) fn grow_backing(store: &SpinLock<KBox<DeviceStore>>) -> bool {
    let gfp = store_gfp() | flags::__GFP_NORETRY;
    let (Ok(map), Ok(counts)) = (
        filled(BACKING_CHUNK_WORDS, || 0, gfp),
        filled(BACKING_CHUNK_BLOCKS, BlockEntry::default, gfp),
    ) else {
        return false;
    };
    let mut refused = (None, None);
    store.lock().grow_backing(|m, c| {
        refused = (
            m.push_chunk(Entries(map)).err(),
            c.push_chunk(Entries(counts)).err(),
        );
    });
    // Chunks not taken (another writer grew the tables to the end of the
    // device) are freed here, with the lock dropped: a vmalloc'ed one may
    // not be freed under a spinlock.
    drop(refused);
    true
}

/// The memory the store's tables take, for `debug_stat`.
#[derive(Default)]
pub(crate) struct TableUsage {
    /// The slot table's chunks and directory.
    pub(crate) slot_bytes: u64,
    /// Entries the frame table holds now (it grows, never shrinks, until reset).
    pub(crate) frame_entries: u64,
    /// Its chunks and its directory.
    pub(crate) frame_bytes: u64,
    /// The backing allocator's block map and hold counts.
    pub(crate) backing_bytes: u64,
}

/// Returns the memory `store`'s tables take.
pub(crate) fn usage(store: &DeviceStore) -> TableUsage {
    let size = |bytes: usize| u64::try_from(bytes).unwrap_or(u64::MAX);
    let chunk = size(FRAME_CHUNK);
    let entries = size(store.pool().table_len());
    let chunks = entries.div_ceil(chunk);
    let directory = u64::from(store.pool().capacity()).div_ceil(chunk);
    let (device, covered) = store.backing_stats().map_or((0, 0), |stats| {
        (u64::from(stats.blocks), u64::from(stats.table_blocks))
    });
    let backing_chunks = device.div_ceil(size(BACKING_CHUNK_BLOCKS));
    TableUsage {
        slot_bytes: size(store.slot_table().chunks())
            .saturating_mul(size(SLOT_CHUNK * size_of::<State<Content>>()))
            .saturating_add(
                store
                    .len()
                    .div_ceil(size(SLOT_CHUNK))
                    .saturating_mul(size(size_of::<Option<SlotChunk>>())),
            ),
        frame_entries: entries,
        frame_bytes: (chunks * chunk)
            .saturating_mul(size(size_of::<FrameEntry<Frame>>()))
            .saturating_add(directory.saturating_mul(size(size_of::<FrameChunk>()))),
        backing_bytes: covered
            .div_ceil(64)
            .saturating_mul(8)
            .saturating_add(covered.saturating_mul(size(size_of::<BlockEntry>())))
            .saturating_add(backing_chunks.saturating_mul(2 * size(size_of::<MapChunk>()))),
    }
}
