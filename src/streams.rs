// SPDX-License-Identifier: GPL-2.0

//! Compression streams: one per CPU id, each behind its own mutex.
//!
//! A stream is picked by the CPU the task runs on. The task may migrate
//! after the pick, but it holds the stream's lock, so two tasks meet on one
//! stream only when one of them just moved: no global lock on the store or
//! load path. Streams are mutexes because bios are handled in a context that
//! may sleep (a store allocates with reclaim while holding its stream) and zstd
//! at high levels takes long enough that spinning would waste the CPU.

use kernel::{
    compress::{lz4, zstd},
    cpu, new_mutex,
    prelude::*,
    sync::{lock::mutex::MutexBackend, lock::Guard, Mutex},
};

use crate::gscore::{attrs::Algorithm, geometry::PAGE_SIZE};

enum Engine {
    Lz4(lz4::Compressor),
    Zstd(zstd::Compressor, zstd::Decompressor),
}

/// Size of a compressor's output buffer: two pages, as zram's. Output over
/// a page is stored raw anyway, but with room for the worst case
/// (`LZ4_COMPRESSBOUND(4096)` is 4128 bytes) lz4 takes its faster path that
/// does not check the output bound at every sequence.
const PACKED_CAPACITY: usize = 2 * PAGE_SIZE;

/// A compressor with its output buffer.
pub(crate) struct Codec {
    engine: Engine,
    /// Compressed output, [`PACKED_CAPACITY`] bytes.
    packed: KVec<u8>,
}

impl Codec {
    /// Compresses `page` into the output buffer; `None` if it does not fit a
    /// page.
    pub(crate) fn compress(&mut self, page: &[u8]) -> Option<usize> {
        match &mut self.engine {
            Engine::Lz4(c) => c.compress(page, &mut self.packed),
            Engine::Zstd(c, _) => c.compress(page, &mut self.packed),
        }
    }

    /// Returns the first `len` bytes of the output buffer.
    pub(crate) fn packed(&self, len: usize) -> Option<&[u8]> {
        self.packed.get(..len)
    }

    /// Decompresses `src` into `page`, which it must fill exactly.
    pub(crate) fn decompress(&mut self, src: &[u8], page: &mut [u8]) -> Result {
        decompress(&mut self.engine, src, page)
    }
}

/// Decompresses `src` into `page` with `engine`; `page` must be filled
/// exactly.
fn decompress(engine: &mut Engine, src: &[u8], page: &mut [u8]) -> Result {
    let written = match engine {
        Engine::Lz4(_) => lz4::decompress(src, page)?,
        Engine::Zstd(_, d) => d.decompress(src, page)?,
    };
    if written == PAGE_SIZE {
        Ok(())
    } else {
        Err(EIO)
    }
}

/// A codec and a page buffer for data that is not mapped as a whole page.
pub(crate) struct Stream {
    pub(crate) codec: Codec,
    /// A page being stored or loaded, outside the bio's memory.
    pub(crate) page: KVec<u8>,
}

impl Stream {
    fn new(algorithm: Algorithm, level: Option<i32>) -> Result<Self> {
        let engine = match algorithm {
            Algorithm::Lz4 => Engine::Lz4(lz4::Compressor::new(GFP_KERNEL)?),
            Algorithm::Zstd => Engine::Zstd(
                zstd::Compressor::new(level.ok_or(EINVAL)?, PAGE_SIZE, GFP_KERNEL)?,
                zstd::Decompressor::new(GFP_KERNEL)?,
            ),
        };
        Ok(Self {
            codec: Codec {
                engine,
                packed: KVec::from_elem(0, PACKED_CAPACITY, GFP_KERNEL)?,
            },
            page: KVec::from_elem(0, PAGE_SIZE, GFP_KERNEL)?,
        })
    }
}

/// A stream, locked for the length of a bio.
pub(crate) type StreamGuard<'a> = Guard<'a, Stream, MutexBackend>;

/// The streams of one initialized device; never empty, by construction.
pub(crate) struct Streams {
    first: Pin<KBox<Mutex<Stream>>>,
    others: KVec<Pin<KBox<Mutex<Stream>>>>,
    /// The work queue's own, one for deferred reads and one for deferred
    /// writes: a deferred bio holds its stream while it waits for the backing
    /// device, which must not hold up the submitters of a CPU; nor may a
    /// write making room by writeback hold up a swap-in waiting for its page.
    deferred_reads: Pin<KBox<Mutex<Stream>>>,
    deferred_writes: Pin<KBox<Mutex<Stream>>>,
}

fn new_stream(algorithm: Algorithm, level: Option<i32>) -> Result<Pin<KBox<Mutex<Stream>>>> {
    let stream = Stream::new(algorithm, level)?;
    KBox::pin_init(new_mutex!(stream, "ghostswap:stream"), GFP_KERNEL)
}

impl Streams {
    /// Allocates one stream per CPU id for `algorithm` at `level`.
    pub(crate) fn new(algorithm: Algorithm, level: Option<i32>) -> Result<Self> {
        let others_count = (cpu::nr_cpu_ids() as usize).saturating_sub(1);
        let mut others = KVec::with_capacity(others_count, GFP_KERNEL)?;
        for _ in 0..others_count {
            others.push(new_stream(algorithm, level)?, GFP_KERNEL)?;
        }
        Ok(Self {
            first: new_stream(algorithm, level)?,
            others,
            deferred_reads: new_stream(algorithm, level)?,
            deferred_writes: new_stream(algorithm, level)?,
        })
    }

    /// The current CPU's stream, locked.
    pub(crate) fn current(&self) -> StreamGuard<'_> {
        let index = cpu::current_cpu_hint() as usize;
        let stream = match index.checked_sub(1) {
            Some(other) => self.others.get(other).unwrap_or(&self.first),
            None => &self.first,
        };
        stream.lock()
    }

    /// The work queue's stream for deferred reads, locked: they take turns,
    /// so a read finds the extent the one before it read kept.
    pub(crate) fn deferred_read(&self) -> StreamGuard<'_> {
        self.deferred_reads.lock()
    }

    /// The work queue's stream for deferred writes, locked.
    pub(crate) fn deferred_write(&self) -> StreamGuard<'_> {
        self.deferred_writes.lock()
    }
}
