//! The checks of the pool against the model after every operation, and at the end.

use crate::common::frames::valid_len;
use crate::common::{check_classes, check_frame, class, padded_size};
use crate::harness::class_for;
use crate::harness::{key, Harness, Key, Paths, Slot};
use ghostswap_core::frame::{Record, HEADER_LEN};
use ghostswap_core::pool::{FrameId, FrameState, ObjectRef, PoolStats, RESERVE_CAP};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::BTreeSet;

/// The least free space of a frame in class `c`.
fn class_floor(c: u16) -> u16 {
    if c < 64 {
        c * 64
    } else {
        4096 + (c - 64) * 512
    }
}

impl Harness {
    /// After `compact`: no packed frame's records would all fit, placed one by one on the
    /// whole-class free space of one other frame, in that frame (compaction tries every
    /// frame, and such a frame always passes its check, whatever the frame sizes).
    pub fn check_compacted(&self) -> Result<(), TestCaseError> {
        let mut frames = Vec::new();
        for id in 0..self.capacity {
            if let Some(FrameState::Packed(u)) = self.pool.frame_state(id) {
                let needs: Vec<u16> = self
                    .pool
                    .records(id)
                    .map(|(_, r)| class_for(padded_size(r.len)))
                    .collect();
                frames.push((id, needs, u.free_bytes()));
            }
        }
        for (source, needs, _) in &frames {
            for (target, _, free) in &frames {
                if source == target {
                    continue;
                }
                let mut cap = class_floor(class(*free));
                let fits = needs.iter().all(|&k| {
                    if class(cap) < k {
                        return false;
                    }
                    cap = class_floor(class(cap - 64 * k));
                    true
                });
                prop_assert!(
                    !fits,
                    "frame {} could have been emptied into frame {}",
                    source,
                    target
                );
            }
        }
        Ok(())
    }

    pub fn check(&mut self) -> Result<(), TestCaseError> {
        let pool = &self.pool;
        let mut expected = PoolStats::default();
        let mut live = BTreeSet::new();
        for id in 0..self.capacity + 2 {
            let state = pool.frame_state(id);
            let len = pool.frame_len(id);
            if id >= self.capacity {
                prop_assert_eq!(state, None);
            }
            match state {
                None => {
                    prop_assert_eq!(len, None);
                    prop_assert!(pool.frame(id).is_none());
                    prop_assert_eq!(pool.records(id).count(), 0);
                }
                Some(FrameState::Reserve) => {
                    let len = len.unwrap();
                    prop_assert!(valid_len(len));
                    expected.reserve_frames += 1;
                    expected.reserve_pages += (len / 4096) as u64;
                    prop_assert!(pool.frame(id).is_none());
                    prop_assert_eq!(pool.records(id).count(), 0);
                }
                Some(FrameState::Huge { owner }) => {
                    expected.huge_frames += 1;
                    prop_assert_eq!(len, Some(4096), "a huge page in a larger frame");
                    prop_assert_eq!(pool.frame(id).unwrap().len(), 4096);
                    prop_assert_eq!(self.slots.get(&owner), Some(&Slot::Huge(id)));
                    prop_assert_eq!(pool.frame(id).unwrap(), &self.model[&owner][..]);
                    prop_assert_eq!(pool.records(id).count(), 0);
                }
                Some(FrameState::Packed(u)) => {
                    let len = len.unwrap();
                    prop_assert!(valid_len(len));
                    prop_assert_eq!(usize::from(u.len), len);
                    expected.packed_frames += 1;
                    expected.packed_pages += (len / 4096) as u64;
                    let page = pool.frame(id).unwrap();
                    prop_assert_eq!(page.len(), len);
                    // The records tile [0, tail), the last one is live, holes are merged,
                    // and the usage (largest hole included) is what they say.
                    let holes: Vec<Record> = pool.holes(id).collect();
                    let records = check_frame(page, &u, &holes)
                        .map_err(|e| TestCaseError::fail(format!("frame {id}: {e}")))?;
                    let walked: BTreeSet<Key> = records
                        .iter()
                        .filter(|record| !record.is_free())
                        .map(|record| {
                            let r = ObjectRef {
                                frame: id,
                                offset: record.offset,
                                len: record.len,
                            };
                            key(record.owner, r)
                        })
                        .collect();
                    let listed: BTreeSet<Key> =
                        pool.records(id).map(|(owner, r)| key(owner, r)).collect();
                    prop_assert_eq!(&listed, &walked);
                    expected.record_bytes += u64::from(u.record_bytes);
                    expected.live_bytes += u64::from(u.live_bytes());
                    expected.hole_bytes += u64::from(u.hole_bytes());
                    expected.objects += u64::from(u.objects);
                    live.extend(walked);
                }
            }
        }
        prop_assert_eq!(pool.pool_stats(), expected);
        // Every packed frame is in the bucket of its capacity's class.
        check_classes(pool, self.capacity + 2).map_err(TestCaseError::fail)?;
        // Frames are marked only while a compaction is unfinished, and come last in their
        // buckets.
        for c in 0..=ghostswap_core::pool::CLASSES {
            let marks: Vec<bool> = pool.class_frames(c).map(|id| pool.is_marked(id)).collect();
            prop_assert!(
                marks.windows(2).all(|w| w[0] <= w[1]),
                "class {}: marked frames before unmarked ones: {:?}",
                c,
                marks
            );
            prop_assert!(
                self.compaction.is_some() || self.abandoned || !marks.contains(&true),
                "a frame marked outside a compaction"
            );
        }

        // Exactly the model's objects are live, each where its slot says, intact.
        prop_assert_eq!(&live, &self.live_keys());
        let packed_objects = self
            .slots
            .values()
            .filter(|s| matches!(s, Slot::Packed(_)))
            .count();
        prop_assert_eq!(expected.objects, packed_objects as u64);
        let data: u64 = self
            .slots
            .iter()
            .filter(|(_, s)| matches!(s, Slot::Packed(_)))
            .map(|(owner, _)| self.model[owner].len() as u64)
            .sum();
        prop_assert_eq!(expected.live_bytes, data);
        prop_assert_eq!(self.model.len(), self.slots.len());
        for (owner, slot) in &self.slots {
            if let Slot::Packed(r) = slot {
                let page = pool.frame(r.frame).unwrap();
                let start = usize::from(r.offset) + HEADER_LEN;
                let bytes = &page[start..start + usize::from(r.len)];
                prop_assert_eq!(bytes, &self.model[owner][..], "object of {} differs", owner);
            }
        }

        // LRU order: the model's, restricted to frames still in use.
        self.lru.retain(|&id| {
            matches!(
                pool.frame_state(id),
                Some(FrameState::Packed(_) | FrameState::Huge { .. })
            )
        });
        let order: Vec<FrameId> = pool.lru_iter().collect();
        prop_assert_eq!(&order, &self.lru);
        prop_assert_eq!(pool.coldest(), self.lru.first().copied());
        for pair in self.lru.windows(2) {
            prop_assert_eq!(pool.next_warmer(pair[0]), Some(pair[1]));
        }
        if let Some(&hottest) = self.lru.last() {
            prop_assert_eq!(pool.next_warmer(hottest), None);
        }

        // Frames are conserved: every frame created is in the pool, was taken back or was
        // released, and the pages the pool counts are the pages of the frames it holds.
        let registry = self.registry.borrow();
        prop_assert_eq!(registry.live.len() as u64, expected.total_frames());
        let held: usize = registry.live.values().sum();
        prop_assert_eq!(held as u64, expected.total_pages() * 4096);
        prop_assert!(expected.total_frames() <= u64::from(self.capacity));
        Ok(())
    }

    /// Frees everything: only the reserve may keep frames, and drain returns them.
    pub fn teardown(mut self) -> Result<Paths, TestCaseError> {
        self.pool.release_reserve();
        let owners: Vec<u32> = self.slots.keys().copied().collect();
        for owner in owners {
            let slot = self.slots.remove(&owner).unwrap();
            self.model.remove(&owner);
            self.free_slot(owner, slot)?;
            self.check()?;
        }
        let stats = self.stats();
        prop_assert_eq!(
            stats,
            PoolStats {
                reserve_frames: stats.reserve_frames,
                reserve_pages: stats.reserve_pages,
                ..PoolStats::default()
            }
        );
        prop_assert!(stats.reserve_frames <= RESERVE_CAP);
        prop_assert_eq!(self.pool.coldest(), None);
        let released = self.released();
        let drained = self.pool.drain();
        prop_assert_eq!(drained, stats.reserve_frames);
        prop_assert_eq!(self.released() - released, drained as usize);
        prop_assert_eq!(self.stats(), PoolStats::default());
        drop(self.pool);
        let registry = self.registry.borrow();
        prop_assert!(registry.live.is_empty(), "leaked {:?}", registry.live);
        Ok(self.paths)
    }
}
