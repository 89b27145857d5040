//! What ghostswap would take for the same pages: each page goes through the driver's own
//! decisions and allocator (`ghostswap_core`'s classification, [`Store`] and pool, built
//! for the host), handed 32 KiB frames as the module hands them when the allocator has
//! them, and `mem_used_total` is read from the store's `mm_stat` as sysfs shows it.
//!
//! The store holds the compressed bytes in real frames, so the model takes about the
//! memory it predicts; to bound that, pages go through in batches of [`BATCH_PAGES`]
//! stores, each a fresh device, whose figures are added up. A batch leaves at most a
//! partly filled frame per size class unused, a few KiB against its 128 MiB of data.

use anyhow::{anyhow, bail, Result};
use ghostswap_core::classify::{store_kind, StoreKind, DEFAULT_HUGE_THRESHOLD};
use ghostswap_core::frame::{Page, MAX_FRAME_SIZE};
use ghostswap_core::geometry::PAGE_SIZE;
use ghostswap_core::migrate::State;
use ghostswap_core::pool::FrameEntry;
use ghostswap_core::stats::MmStat;
use ghostswap_core::store::{Content, Incoming, Store, StoreError};
use serde::Serialize;

type Frame = Box<[u8]>;
type ModelStore = Store<Vec<State<Content>>, Frame, Vec<FrameEntry<Frame>>>;

/// Pages one store takes before its figures are added up and a new one begins.
pub const BATCH_PAGES: usize = 32768;

/// ghostswap's predicted figures (`mm_stat`'s fields).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GhostFigures {
    /// `orig_data_size`.
    pub orig_data_size: u64,
    /// `compr_data_size`.
    pub compr_data_size: u64,
    /// `mem_used_total`.
    pub mem_used_total: u64,
    /// `same_pages`.
    pub same_pages: u64,
    /// `huge_pages`.
    pub huge_pages: u64,
}

impl GhostFigures {
    fn add(&mut self, mm: &MmStat) {
        self.orig_data_size += mm.orig_data_size;
        self.compr_data_size += mm.compr_data_size;
        self.mem_used_total += mm.mem_used_total;
        self.same_pages += mm.same_pages;
        self.huge_pages += mm.huge_pages;
    }
}

/// ghostswap's store, fed page by page.
pub struct GhostModel {
    store: ModelStore,
    next: u64,
    done: GhostFigures,
}

fn new_store() -> Result<ModelStore> {
    let frames = (0..BATCH_PAGES + 16)
        .map(|_| FrameEntry::default())
        .collect();
    Store::new(vec![State::Empty; BATCH_PAGES], frames)
        .ok_or_else(|| anyhow!("the core refused a store of {BATCH_PAGES} slots"))
}

impl GhostModel {
    /// An empty device.
    pub fn new() -> Result<Self> {
        Ok(Self {
            store: new_store()?,
            next: 0,
            done: GhostFigures::default(),
        })
    }

    /// Stores a same-filled page of `word`, `count` times.
    pub fn same_filled(&mut self, word: u64, count: u64) -> Result<()> {
        for _ in 0..count {
            self.put(Incoming::SameFilled(word))?;
        }
        Ok(())
    }

    /// Stores `page`, whose compressed form is `packed` (`None`: it did not compress),
    /// `count` times, as the driver classifies it.
    pub fn compressed(&mut self, page: &Page, packed: Option<&[u8]>, count: u64) -> Result<()> {
        let incoming = match store_kind(packed.map(<[u8]>::len), DEFAULT_HUGE_THRESHOLD) {
            StoreKind::Compressed(len) => match packed.and_then(|p| p.get(..len)) {
                Some(bytes) => Incoming::Packed(bytes),
                None => bail!("the core asked for {len} compressed bytes that are not there"),
            },
            StoreKind::Huge => Incoming::Huge(page),
        };
        for _ in 0..count {
            self.put(incoming)?;
        }
        Ok(())
    }

    fn put(&mut self, page: Incoming<'_>) -> Result<()> {
        // CAST: BATCH_PAGES fits u64.
        if self.next == BATCH_PAGES as u64 {
            self.done.add(&self.store.mm_stat(0));
            self.store = new_store()?;
            self.next = 0;
        }
        loop {
            match self.store.store(self.next, page) {
                Ok(()) => break,
                Err(StoreError::NeedFrame) => {
                    let len = match page {
                        Incoming::Huge(_) => PAGE_SIZE,
                        _ => MAX_FRAME_SIZE,
                    };
                    if self
                        .store
                        .add_frame(vec![0; len].into_boxed_slice())
                        .is_err()
                    {
                        bail!("the core's pool refused a frame of {len} bytes");
                    }
                }
                Err(e) => bail!("the core's store failed: {e:?}"),
            }
        }
        self.next += 1;
        Ok(())
    }

    /// The figures of everything stored.
    pub fn figures(&self) -> GhostFigures {
        let mut all = self.done;
        all.add(&self.store.mm_stat(0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_objects_into_32k_frames() {
        let mut model = GhostModel::new().expect("a store");
        let page = [1u8; PAGE_SIZE];
        let packed = [7u8; 1000];
        model.compressed(&page, Some(&packed), 64).expect("stored");
        let f = model.figures();
        assert_eq!(f.orig_data_size, 64 * 4096);
        assert_eq!(f.compr_data_size, 64 * 1000);
        // 64 records of 1006 bytes fill 32 KiB frames 32 at a time: two frames, 16 pages.
        assert_eq!(f.mem_used_total, 2 * 32768);
    }

    #[test]
    fn huge_and_same_filled_pages() {
        let mut model = GhostModel::new().expect("a store");
        let page = [3u8; PAGE_SIZE];
        model
            .compressed(&page, Some(&[9u8; 3500]), 3)
            .expect("stored");
        model.compressed(&page, None, 1).expect("stored");
        model.same_filled(0x0101, 5).expect("stored");
        let f = model.figures();
        assert_eq!(f.huge_pages, 4);
        assert_eq!(f.same_pages, 5);
        assert_eq!(f.mem_used_total, 4 * 4096);
    }

    #[test]
    fn batches_add_up() {
        let mut model = GhostModel::new().expect("a store");
        let page = [1u8; PAGE_SIZE];
        // CAST: small.
        let n = BATCH_PAGES as u64 + 10;
        model.compressed(&page, None, n).expect("stored");
        assert_eq!(model.figures().huge_pages, n);
        assert_eq!(model.figures().mem_used_total, n * 4096);
    }
}
