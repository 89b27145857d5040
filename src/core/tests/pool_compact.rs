//! Unit tests of the pool's compaction (`pool`): in place, across frames, in steps and
//! abandoned.

#[allow(dead_code)] // Only the pool helpers of `common` are used here.
mod common;
use common::pool::{boxed_pool, content, frame_of, free_bytes, put, BoxedPool};
use ghostswap_core::pool::{
    CompactCursor, CompactStats, Compaction, FrameId, FrameState, ObjectRef, PoolError,
};
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn compact_frame_reports_each_move_once() {
    let mut pool = boxed_pool(2);
    let refs: Vec<ObjectRef> = (0..5).map(|owner| put(&mut pool, owner, 100)).collect();
    pool.free(refs[0], 0).unwrap();
    pool.free(refs[2], 2).unwrap();
    // A hole is no object, though its record is still there.
    assert_eq!(pool.load(refs[2], 2), Err(PoolError::BadRef));
    assert_eq!(pool.free(refs[2], 2), Err(PoolError::BadRef));
    let mut moves = Vec::new();
    let reclaimed = pool
        .compact_frame(refs[1].frame, |owner, old, new| {
            moves.push((owner, old, new))
        })
        .unwrap();
    assert_eq!(reclaimed, 212);
    let at = |offset| ObjectRef { offset, ..refs[0] };
    assert_eq!(
        moves,
        [
            (1, refs[1], at(0)),
            (3, refs[3], at(106)),
            (4, refs[4], at(212))
        ]
    );
    assert_eq!(pool.load(at(106), 3).unwrap(), &content(4, 100)[..]);
    assert_eq!(pool.load(refs[3], 3), Err(PoolError::BadRef));
    // Nothing left to do.
    assert_eq!(pool.compact_frame(refs[1].frame, |_, _, _| panic!()), Ok(0));
    assert_eq!(
        pool.compact_frame(7, |_, _, _| panic!()),
        Err(PoolError::BadRef)
    );
}

#[test]
fn compact_empties_sparse_frames_into_others() {
    let mut pool = boxed_pool(8);
    // Three frames, each a 3500-byte object and a small one after it. The large objects
    // are freed only once all three frames are made: the hole one leaves would take the
    // next exactly.
    let mut small = Vec::new();
    let mut bigs = Vec::new();
    for i in 0..3 {
        let big = put(&mut pool, 10 + i, 3500);
        let s = put(&mut pool, 20 + i, 500);
        assert_eq!(s.frame, big.frame);
        bigs.push(big);
        small.push(s);
    }
    for (i, big) in (0..).zip(bigs) {
        pool.free(big, 10 + i).unwrap();
    }
    assert_eq!(pool.pool_stats().packed_frames, 3);
    let mut slots: BTreeMap<u32, ObjectRef> = (20..23).zip(small).collect();
    let held = pool.pool_stats().total_frames();
    let mut moved = Vec::new();
    let stats = pool.compact(|owner, old, new| {
        assert_eq!(slots.insert(owner, new), Some(old));
        moved.push(owner);
    });
    assert_eq!(
        stats,
        CompactStats {
            frames_compacted: 3,
            hole_bytes_reclaimed: 3 * 3506,
            objects_moved: 3 + 2,
            bytes_moved: 5 * 506,
            frames_emptied: 2,
            pages_emptied: 2,
        }
    );
    // Both went to the reserve: no frame was released.
    assert_eq!(pool.pool_stats().total_frames(), held);
    let after = pool.pool_stats();
    assert_eq!((after.packed_frames, after.reserve_frames), (1, 2));
    assert_eq!((after.packed_pages, after.reserve_pages), (1, 2));
    assert_eq!(after.fragmentation_permille(), (4096 - 1500) * 1000 / 4096);
    let frames: BTreeSet<FrameId> = slots.values().map(|r| r.frame).collect();
    assert_eq!(frames.len(), 1);
    for (owner, r) in slots {
        assert_eq!(
            pool.load(r, owner).unwrap(),
            &content(u64::from(owner) + 1, 500)[..]
        );
    }
    // Compacting again changes nothing.
    assert_eq!(pool.compact(|_, _, _| panic!()), CompactStats::default());
}

#[test]
fn compact_leaves_frames_that_cannot_be_emptied() {
    let mut pool = boxed_pool(8);
    // Two frames of 2100 bytes each: neither fits in the other.
    let a = put(&mut pool, 1, 2100);
    let b = put(&mut pool, 2, 2100);
    assert_ne!(a.frame, b.frame);
    let stats = pool.compact(|_, _, _| panic!("nothing can move"));
    assert_eq!(stats, CompactStats::default());
    assert_eq!(pool.pool_stats().packed_frames, 2);
    // Later stores still find both frames (no frame is left out of its bucket).
    let c = pool.store(3, &[0; 1900]).unwrap();
    let d = pool.store(4, &[0; 1900]).unwrap();
    assert_eq!(
        BTreeSet::from([c.frame, d.frame]),
        BTreeSet::from([a.frame, b.frame])
    );
}

/// The compaction marks of the frames of each class, in the order stores try them.
fn marks_by_class(pool: &BoxedPool) -> Vec<Vec<bool>> {
    (0..=ghostswap_core::pool::CLASSES)
        .map(|c| pool.class_frames(c).map(|id| pool.is_marked(id)).collect())
        .collect()
}

#[test]
fn compaction_in_steps_keeps_marked_frames_last_until_it_clears_them() {
    let mut pool = boxed_pool(8);
    // Three frames of a page, nearly full, in one class: none can be emptied.
    let frames: Vec<FrameId> = (1..=3)
        .map(|owner| put(&mut pool, owner, 4000).frame)
        .collect();
    assert_eq!(frames.iter().collect::<BTreeSet<_>>().len(), 3);
    let mut cursor = CompactCursor::new();
    let mut most_marked = 0;
    let mut calls = 1;
    while pool.compact_step(&mut cursor, 1, |_, _, _| panic!("nothing can move"))
        == Compaction::LimitReached
    {
        calls += 1;
        for marks in marks_by_class(&pool) {
            assert!(marks.windows(2).all(|w| w[0] <= w[1]), "{marks:?}");
        }
        most_marked = most_marked.max(frames.iter().filter(|&&id| pool.is_marked(id)).count());
    }
    assert_eq!(
        most_marked, 3,
        "every frame was given up, then unmarked in steps"
    );
    // A frame a call: the 3 entries used compacted in place, 3 rounds, 3 entries unmarked.
    assert_eq!(calls, 9);
    assert!(cursor.is_finished());
    assert_eq!(cursor.stats(), CompactStats::default());
    assert!(frames.iter().all(|&id| !pool.is_marked(id)));
}

#[test]
fn an_abandoned_compaction_leaves_marks_that_the_next_one_clears() {
    let mut pool = boxed_pool(8);
    // Frame a holds 2100 and 100 bytes, frame b 2100: neither can be emptied.
    let a1 = put(&mut pool, 1, 2100);
    let a2 = put(&mut pool, 3, 100);
    let b = put(&mut pool, 2, 2100);
    assert_eq!(a1.frame, a2.frame);
    assert_ne!(a1.frame, b.frame);
    let mut cursor = CompactCursor::new();
    while !(pool.is_marked(a1.frame) && pool.is_marked(b.frame)) {
        assert_eq!(
            pool.compact_step(&mut cursor, 1, |_, _, _| panic!()),
            Compaction::LimitReached
        );
    }
    // The cursor is abandoned here, both frames marked. Freeing the large object of frame
    // a makes it the sparsest frame, and its last object fits in frame b.
    pool.free(a1, 1).unwrap();
    assert!(pool.is_marked(a1.frame), "a mark stays with its frame");
    let mut moves = Vec::new();
    let stats = pool.compact(|owner, old, new| moves.push((owner, old, new)));
    // The marks were cleared first: frame a, the sparsest, was emptied into b.
    assert_eq!(stats.frames_emptied, 1);
    assert_eq!(moves.last().map(|m| (m.0, m.2.frame)), Some((3, b.frame)));
    assert!(!matches!(
        pool.frame_state(a1.frame),
        Some(FrameState::Packed(_))
    ));
    assert!(!pool.is_marked(b.frame));
}

#[test]
fn compaction_in_steps_goes_on_after_frames_change() {
    let mut pool = boxed_pool(16);
    let objects: Vec<ObjectRef> = (0..24).map(|owner| put(&mut pool, owner, 700)).collect();
    let mut slots: BTreeMap<u32, ObjectRef> = (0..24).zip(objects).collect();
    let mut cursor = CompactCursor::new();
    let mut owner = 0;
    loop {
        let mut moves = Vec::new();
        let done = pool.compact_step(&mut cursor, 2, |owner, old, new| {
            moves.push((owner, old, new))
        });
        for (owner, old, new) in moves {
            assert_eq!(slots.insert(owner, new), Some(old));
        }
        if done == Compaction::Finished {
            break;
        }
        // Between steps: every other object freed, a new one stored.
        if let Some(old) = slots.remove(&owner) {
            pool.free(old, owner).unwrap();
        }
        slots.insert(100 + owner, put(&mut pool, 100 + owner, 300));
        owner += 2;
    }
    for (&owner, &r) in &slots {
        let expected = content(u64::from(owner) + 1, usize::from(r.len));
        assert_eq!(pool.load(r, owner).unwrap(), &expected[..]);
    }
    for id in 0..16 {
        assert!(!pool.is_marked(id));
    }
}

#[test]
fn compact_empties_a_frame_entirely_or_not_at_all() {
    let mut pool = boxed_pool(4);
    let y1 = put(&mut pool, 1, 3000);
    let y2 = put(&mut pool, 2, 1000);
    let x1 = put(&mut pool, 3, 500);
    let x2 = put(&mut pool, 4, 2000);
    assert_eq!((y1.frame, x1.frame), (y2.frame, x2.frame));
    pool.free(y2, 2).unwrap();
    // Frame x, the sparsest, has a 506-byte record that would fit in frame y's 1090 free
    // bytes, and a 2006-byte one that would not: nothing moves.
    assert_eq!(free_bytes(&pool, y1.frame), 1090);
    assert_eq!(free_bytes(&pool, x1.frame), 1584);
    let stats = pool.compact(|_, _, _| panic!("nothing can move"));
    assert_eq!(stats, CompactStats::default());
}

#[test]
fn compact_merges_sparse_large_frames() {
    let mut pool = boxed_pool(8);
    assert!(pool.add_frame(frame_of(8)).is_ok());
    assert!(pool.add_frame(frame_of(8)).is_ok());
    // 22 records of 1456 bytes fill a 32 KiB frame; keep 5 of each frame's.
    let refs: Vec<ObjectRef> = (0..44).map(|owner| put(&mut pool, owner, 1450)).collect();
    assert!(refs[..22].iter().all(|r| r.frame == refs[0].frame));
    assert!(refs[22..].iter().all(|r| r.frame == refs[22].frame));
    let mut kept = BTreeMap::new();
    for (owner, r) in refs.into_iter().enumerate() {
        if owner % 22 % 4 == 0 && owner % 22 < 20 {
            kept.insert(owner as u32, r);
        } else {
            pool.free(r, owner as u32).unwrap();
        }
    }
    let before = pool.pool_stats();
    assert_eq!(
        (before.packed_frames, before.packed_pages, before.objects),
        (2, 16, 10)
    );
    // Each frame has 5 * 1456 = 7280 bytes of records: both fit in one 32 KiB frame, which
    // only finer classes above one page of free space can tell.
    // The emptied frame goes to the reserve (checked below), not released.
    let stats = pool.compact(|owner, old, new| assert_eq!(kept.insert(owner, new), Some(old)));
    assert_eq!((stats.frames_emptied, stats.pages_emptied), (1, 8));
    let after = pool.pool_stats();
    assert_eq!((after.packed_frames, after.packed_pages), (1, 8));
    assert_eq!((after.reserve_frames, after.reserve_pages), (1, 8));
    for (owner, r) in kept {
        assert_eq!(
            pool.load(r, owner).unwrap(),
            &content(u64::from(owner) + 1, 1450)[..]
        );
    }
}
