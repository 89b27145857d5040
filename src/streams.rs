// SPDX-License-Identifier: GPL-2.0

//! Compression streams: one per CPU id, each behind its own mutex.
//!
//! A stream is picked by the CPU the task runs on. The task may migrate
//! after the pick, but it holds the stream's lock, so two tasks meet on one
//! stream only when one of them just moved: no global lock on the store or
//! load path. Streams are mutexes because the tag set is blocking and zstd
//! at high levels takes long enough that spinning would waste the CPU.

use kernel::{
    compress::{lz4, zstd},
    cpu, new_mutex,
    prelude::*,
    sync::Mutex,
};

use crate::gscore::{attrs::Algorithm, geometry::PAGE_SIZE};

enum Codec {
    Lz4(lz4::Compressor),
    Zstd(zstd::Compressor, zstd::Decompressor),
}

/// A compressor with its buffers.
pub(crate) struct Stream {
    codec: Codec,
    /// The page being stored or loaded, outside the request's memory.
    pub(crate) page: KVec<u8>,
    /// Compressed output. One page: output that long is stored raw anyway.
    pub(crate) packed: KVec<u8>,
}

impl Stream {
    fn new(algorithm: Algorithm, level: Option<i32>) -> Result<Self> {
        let codec = match algorithm {
            Algorithm::Lz4 => Codec::Lz4(lz4::Compressor::new(GFP_KERNEL)?),
            Algorithm::Zstd => Codec::Zstd(
                zstd::Compressor::new(level.ok_or(EINVAL)?, PAGE_SIZE, GFP_KERNEL)?,
                zstd::Decompressor::new(GFP_KERNEL)?,
            ),
        };
        Ok(Self {
            codec,
            page: KVec::from_elem(0, PAGE_SIZE, GFP_KERNEL)?,
            packed: KVec::from_elem(0, PAGE_SIZE, GFP_KERNEL)?,
        })
    }

    /// Compresses `page` into `packed`; `None` if it does not fit a page.
    pub(crate) fn compress(&mut self) -> Option<usize> {
        match &mut self.codec {
            Codec::Lz4(c) => c.compress(&self.page, &mut self.packed),
            Codec::Zstd(c, _) => c.compress(&self.page, &mut self.packed),
        }
    }

    /// Decompresses the first `len` bytes of `packed` into `page`, which they
    /// must fill exactly.
    pub(crate) fn decompress_packed(&mut self, len: usize) -> Result {
        let src = self.packed.get(..len).ok_or(EINVAL)?;
        let len = match &mut self.codec {
            Codec::Lz4(_) => lz4::decompress(src, &mut self.page)?,
            Codec::Zstd(_, d) => d.decompress(src, &mut self.page)?,
        };
        if len == PAGE_SIZE {
            Ok(())
        } else {
            Err(EIO)
        }
    }
}

/// The streams of one initialized device; never empty, by construction.
pub(crate) struct Streams {
    first: Pin<KBox<Mutex<Stream>>>,
    others: KVec<Pin<KBox<Mutex<Stream>>>>,
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
        })
    }

    /// Runs `f` on the current CPU's stream.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Stream) -> R) -> R {
        let index = cpu::current_cpu_hint() as usize;
        let stream = match index.checked_sub(1) {
            Some(other) => self.others.get(other).unwrap_or(&self.first),
            None => &self.first,
        };
        f(&mut stream.lock())
    }
}
