//! The models of the work done in steps: idle marking, the writeback walk and compaction.

use crate::common::padded_size;
use crate::harness::Harness;
use ghostswap_core::pool::{
    CompactCursor, CompactStats, Compaction, FrameId, FrameState, IdleMarking, ObjectRef, PoolStats,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::BTreeSet;

/// What an idle marking done in steps must do.
pub struct IdleModel {
    /// The frames it must mark: old enough when it began (those used since drop out).
    pub old_enough: BTreeSet<FrameId>,
    /// The frames marked idle when it began (those used since drop out).
    pub idle_before: BTreeSet<FrameId>,
    /// Frames on the LRU list when it began: the most it looks at.
    frames: u32,
    /// Frames the steps taken so far may have looked at: the sum of their limits.
    looked: u64,
}

/// What the writeback walk must do.
pub struct WalkModel {
    /// The frames on the LRU list when it began, coldest first, not used nor walked past
    /// since: it must return each of them, in that order.
    pub due: Vec<FrameId>,
    /// Frames it may still return: those on the list when it began, plus one per use
    /// since.
    pub left: usize,
}

impl Harness {
    /// Whether a frame last used at minute `used` is surely `min_age` seconds old by the
    /// clock now.
    fn old_enough(&self, used: u64, min_age: Option<u64>) -> bool {
        let age = (self.clock / 60).saturating_sub(used);
        min_age.is_none_or(|min| age.saturating_sub(1) * 60 >= min)
    }

    /// Begins modelling an idle marking that starts now.
    pub fn start_idle(&mut self, min_age: Option<u64>) {
        let frames = self.held_frames();
        let old_enough = frames
            .iter()
            .copied()
            .filter(|id| self.old_enough(self.used_at[id], min_age))
            .collect();
        let idle_before = frames
            .iter()
            .copied()
            .filter(|&id| self.pool.is_idle(id))
            .collect();
        self.pool.start_mark_idle(min_age);
        self.idle_walk = Some(IdleModel {
            old_enough,
            idle_before,
            frames: frames.len() as u32,
            looked: 0,
        });
    }

    /// Takes a step of the idle marking; once it is finished, checks what it marked.
    pub fn idle_step(&mut self, limit: u32) -> Result<bool, TestCaseError> {
        let got = self.pool.mark_idle_step(limit);
        let Some(walk) = &mut self.idle_walk else {
            // None begun, or a drain ended it: nothing is walked.
            let finished = matches!(got, IdleMarking::Finished { .. });
            prop_assert!(finished, "a marking never begun");
            return Ok(true);
        };
        walk.looked += u64::from(limit.max(1));
        let IdleMarking::Finished { marked } = got else {
            // A step looks at `limit` frames, and only at frames there when it began (the
            // steps' limits may differ: their sum counts).
            prop_assert!(walk.looked < u64::from(walk.frames));
            return Ok(false);
        };
        let walk = self.idle_walk.take().unwrap();
        let held = self.held_frames();
        for &id in &held {
            let expected = walk.old_enough.contains(&id) || walk.idle_before.contains(&id);
            prop_assert_eq!(self.pool.is_idle(id), expected, "frame {} idle", id);
        }
        // Frames marked and then freed or used count too.
        let still_old = held
            .iter()
            .filter(|id| walk.old_enough.contains(id))
            .count();
        prop_assert!(marked as usize >= still_old);
        prop_assert!(marked <= walk.frames);
        Ok(true)
    }

    /// Takes the next frame of the writeback walk and checks it against the model.
    pub fn walk_next(&mut self) -> Result<(), TestCaseError> {
        let got = self.pool.next_in_writeback_walk();
        let lru = self.held_frames();
        let Some(walk) = &mut self.wb_walk else {
            prop_assert_eq!(got, None, "a walk never begun");
            return Ok(());
        };
        match got {
            Some(id) => {
                prop_assert!(lru.contains(&id), "the walk gave frame {} off the list", id);
                prop_assert!(walk.left > 0, "the walk does not end");
                walk.left -= 1;
                // Frames due come in order: none colder than `id` is still due.
                let at = lru.iter().position(|&x| x == id).unwrap();
                let skipped: Vec<FrameId> = walk
                    .due
                    .iter()
                    .copied()
                    .filter(|x| lru[..at].contains(x))
                    .collect();
                prop_assert!(skipped.is_empty(), "walked past {:?}", skipped);
                walk.due.retain(|&x| x != id);
            }
            None => {
                let missed: Vec<FrameId> = walk
                    .due
                    .iter()
                    .copied()
                    .filter(|x| lru.contains(x))
                    .collect();
                prop_assert!(missed.is_empty(), "the walk ended before {:?}", missed);
            }
        }
        Ok(())
    }

    /// Checks what a finished compaction did: `stats` against the moves reported and the
    /// pool before and after it.
    pub fn check_compaction(
        &self,
        before: &PoolStats,
        stats: &CompactStats,
        moves: &[(u32, ObjectRef, ObjectRef)],
        released: usize,
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(stats.objects_moved, moves.len() as u64);
        let bytes: u64 = moves.iter().map(|m| u64::from(padded_size(m.2.len))).sum();
        prop_assert_eq!(stats.bytes_moved, bytes);
        // A frame is emptied into others entirely or not at all.
        for (_, old, new) in moves {
            if old.frame != new.frame {
                prop_assert!(
                    !matches!(
                        self.pool.frame_state(old.frame),
                        Some(FrameState::Packed(_))
                    ),
                    "frame {} was emptied only partly",
                    old.frame
                );
            }
        }
        let after = self.stats();
        prop_assert_eq!(after.hole_bytes, 0);
        prop_assert_eq!(before.hole_bytes, stats.hole_bytes_reclaimed);
        prop_assert_eq!(
            after.packed_frames + stats.frames_emptied,
            before.packed_frames
        );
        prop_assert_eq!(
            after.packed_pages + stats.pages_emptied,
            before.packed_pages
        );
        prop_assert_eq!(
            after.reserve_frames as usize + released,
            (before.reserve_frames + stats.frames_emptied) as usize
        );
        prop_assert_eq!(after.total_pages() <= before.total_pages(), true);
        prop_assert_eq!(after.live_bytes, before.live_bytes);
        self.check_compacted()
    }

    /// Takes a step of the compaction in progress, or of a new one, applying its moves.
    pub fn compact_step(&mut self, limit: u32) -> Result<Compaction, TestCaseError> {
        let (mut cursor, mut moved, mut bytes) =
            self.compaction
                .take()
                .unwrap_or((CompactCursor::new(), 0, 0));
        let mut moves = Vec::new();
        let done = self
            .pool
            .compact_step(&mut cursor, limit, |owner, old, new| {
                moves.push((owner, old, new))
            });
        moved += moves.len() as u64;
        bytes += moves
            .iter()
            .map(|m| u64::from(padded_size(m.2.len)))
            .sum::<u64>();
        for (owner, old, new) in moves {
            self.relocate(owner, old, new)?;
        }
        // The statistics add up the steps.
        prop_assert_eq!(cursor.stats().objects_moved, moved);
        prop_assert_eq!(cursor.stats().bytes_moved, bytes);
        prop_assert_eq!(cursor.is_finished(), done == Compaction::Finished);
        match done {
            Compaction::LimitReached => self.compaction = Some((cursor, moved, bytes)),
            Compaction::Finished => self.abandoned = false,
        }
        Ok(done)
    }
}
