//! Unit tests of the compressed-object pool (`pool`): the frame protocol and allocation
//! (sure and near fits, holes), loads, the LRU order, statistics, huge pages and frames of
//! several pages. Compaction is in `pool_compact.rs`, the model tests in `pool_model/`.

#[allow(dead_code)] // Only the pool helpers of `common` are used here.
mod common;
use common::pool::{
    boxed_pool, content, frame_of, free_bytes, layout, new_frame, page_of, put, usage_of, BoxedPool,
};
use ghostswap_core::frame::{FREE_OWNER, HEADER_LEN, MAX_OBJECT};
use ghostswap_core::pool::{
    frame_pages, FrameId, FrameState, ObjectRef, Pool, PoolError, PoolStats, Usage, RESERVE_CAP,
};
use std::collections::BTreeSet;

// The protocol and allocation.

#[test]
fn invalid_stores_are_refused_before_asking_for_frames() {
    let mut pool = boxed_pool(2);
    assert_eq!(pool.store(FREE_OWNER, b"x"), Err(PoolError::BadOwner));
    assert_eq!(pool.store(1, b""), Err(PoolError::BadLength));
    assert_eq!(
        pool.store(1, &vec![0; MAX_OBJECT + 1]),
        Err(PoolError::BadLength)
    );
    assert_eq!(
        pool.store_huge(FREE_OWNER, &[0; 4096]),
        Err(PoolError::BadOwner)
    );
    assert_eq!(pool.store(1, b"x"), Err(PoolError::NeedFrame));
    assert_eq!(pool.store_huge(1, &[0; 4096]), Err(PoolError::NeedFrame));
    assert_eq!(pool.pool_stats(), PoolStats::default());
}

#[test]
fn the_largest_object_fills_a_frame() {
    let mut pool = boxed_pool(4);
    let a = put(&mut pool, 1, MAX_OBJECT);
    assert_eq!(free_bytes(&pool, a.frame), 0);
    let b = put(&mut pool, 2, 1);
    assert_ne!(a.frame, b.frame);
    assert_eq!(pool.load(a, 1).unwrap(), &content(2, MAX_OBJECT)[..]);
}

#[test]
fn stores_take_the_best_fit() {
    let mut pool = boxed_pool(8);
    // Three frames with 2000, 1000 and 300 free bytes: none of the objects fits in
    // another's frame.
    let c = put(&mut pool, 1, 4096 - 6 - 2000);
    let a = put(&mut pool, 2, 4096 - 6 - 1000);
    let b = put(&mut pool, 3, 4096 - 6 - 300);
    assert_eq!(
        [c.frame, a.frame, b.frame]
            .iter()
            .collect::<BTreeSet<_>>()
            .len(),
        3
    );
    assert_eq!(
        [c, a, b].map(|r| free_bytes(&pool, r.frame)),
        [2000, 1000, 300]
    );
    // 256 bytes need class 4: the frame with 300 free (class 4) is the best fit.
    assert_eq!(pool.store(10, &[1; 250]).unwrap().frame, b.frame);
    // 306 bytes need class 5: the 1000-byte frame (class 15) beats 2000 (class 31).
    assert_eq!(pool.store(11, &[1; 300]).unwrap().frame, a.frame);
    // 1500 bytes fit only the 2000-byte frame.
    assert_eq!(pool.store(12, &[1; 1494]).unwrap().frame, c.frame);
    // Nothing left for 1000 bytes, and no reserve.
    assert_eq!(pool.store(13, &[1; 994]), Err(PoolError::NeedFrame));
}

#[test]
fn a_near_fit_is_taken_only_with_room() {
    let mut pool = boxed_pool(4);
    // 127 free bytes: class 1. Records of 65 to 128 bytes need class 2, which the frame is
    // not in, but it is in the class just below: it takes those that fit.
    let a = put(&mut pool, 1, 4096 - 6 - 127);
    assert_eq!(free_bytes(&pool, a.frame), 127);
    assert_eq!(pool.store(2, &[0; 122]), Err(PoolError::NeedFrame));
    let b = pool.store(3, &[0; 94]).unwrap();
    assert_eq!((b.frame, free_bytes(&pool, a.frame)), (a.frame, 27));
    // 27 free bytes: class 0. A 64-byte record needs class 1: no room.
    assert_eq!(pool.store(4, &[0; 58]), Err(PoolError::NeedFrame));
    // A record of exactly the free space fits.
    let c = pool.store(5, &[0; 21]).unwrap();
    assert_eq!((c.frame, free_bytes(&pool, a.frame)), (a.frame, 0));
}

#[test]
fn a_near_fit_is_looked_for_in_the_first_frames_of_the_class_below() {
    let mut pool = boxed_pool(16);
    // One-page frames with 1472 to 1535 free bytes are in class 23; a record of 1500 bytes
    // needs class 24. Each new frame goes first in its class: the frames are tried in
    // the opposite order of their making.
    let make = |pool: &mut BoxedPool, owner: u32, free: usize| {
        let r = put(pool, owner, 4096 - 6 - free);
        assert_eq!(usize::from(free_bytes(pool, r.frame)), free);
        r.frame
    };
    let fourth = make(&mut pool, 1, 1510);
    for (owner, free) in [(2, 1480), (3, 1490), (4, 1499)] {
        make(&mut pool, owner, free);
    }
    assert_eq!(pool.store(10, &[1; 1494]).unwrap().frame, fourth);
    // A fifth frame is not looked at, even with room.
    let fifth = make(&mut pool, 5, 1520);
    for (owner, free) in [(6, 1481), (7, 1482), (8, 1483), (9, 1484)] {
        make(&mut pool, owner, free);
    }
    assert_eq!(pool.class_frames(23).nth(4), Some(fifth));
    assert_eq!(pool.store(11, &[1; 1494]), Err(PoolError::NeedFrame));
    // A record that needs class 23 surely fits in any frame of it: the first is taken.
    let first = pool.class_frames(23).next();
    assert_eq!(pool.store(12, &[1; 1460]).unwrap().frame, first.unwrap());
}

/// Records of about 1.5 KiB (1443 to 1523 bytes of data, 22 of the mean size to 32 KiB)
/// stored one after the other, no frees: a 32 KiB frame takes records until the next one
/// does not fit, even where its free space has fallen below that record's class, before
/// another frame is opened.
#[test]
fn sequential_stores_fill_a_frame_to_within_one_record() {
    let mut pool = boxed_pool(200);
    let mut next = 0x9e37_79b9_7f4a_7c15u64;
    // The frame opened last, and the frames opened.
    let mut current = None;
    let mut frames = BTreeSet::new();
    let mut near = 0;
    for owner in 0..2000 {
        next ^= next << 13;
        next ^= next >> 7;
        next ^= next << 17;
        let len = 1443 + (next % 81) as usize;
        let size = (len + HEADER_LEN) as u16;
        let r = loop {
            match pool.store(owner, &content(u64::from(owner), len)) {
                Ok(r) => break r,
                Err(PoolError::NeedFrame) => assert!(pool.add_frame(frame_of(8)).is_ok()),
                Err(e) => panic!("{e:?}"),
            }
        };
        if frames.insert(r.frame) {
            // A new frame: the one opened before has no room for the record.
            if let Some(id) = current {
                let free = free_bytes(&pool, id);
                assert!(free < size, "frame {id} left with {free} bytes for {size}");
            }
            current = Some(r.frame);
        } else if free_bytes(&pool, r.frame) + size < size.div_ceil(64) * 64 {
            // Without holes the record went after the tail, to a frame whose class did
            // not promise room.
            near += 1;
        }
    }
    assert_eq!(pool.pool_stats().packed_frames as usize, frames.len());
    // Measured: 24 near fits for 93 frames; without them, as many frames would have been
    // opened too early.
    assert!(
        near * 5 >= frames.len(),
        "{near} near fits in {} frames",
        frames.len()
    );
}

#[test]
fn add_frame_respects_the_table_and_the_limit() {
    let mut pool = boxed_pool(3);
    assert!(pool.add_frame(new_frame()).is_ok());
    pool.set_page_limit(Some(1));
    assert_eq!(pool.page_limit(), Some(1));
    assert!(pool.add_frame(new_frame()).is_err());
    // The one frame is used, and a second object that does not fit cannot get one.
    put(&mut pool, 1, 3000);
    assert_eq!(pool.store(2, &[0; 3000]), Err(PoolError::NeedFrame));
    assert!(pool.add_frame(new_frame()).is_err());
    // Without a limit, the table's 3 entries are the limit.
    pool.set_page_limit(None);
    assert!(pool.add_frame(new_frame()).is_ok());
    assert!(pool.add_frame(new_frame()).is_ok());
    assert!(pool.add_frame(new_frame()).is_err());
    assert_eq!(pool.pool_stats().total_frames(), 3);
    // Huge pages take reserve frames too.
    assert!(pool.store_huge(5, &[5; 4096]).is_ok());
    assert!(pool.store_huge(6, &[6; 4096]).is_ok());
    assert_eq!(pool.store_huge(7, &[7; 4096]), Err(PoolError::NeedFrame));
}

#[test]
fn emptied_frames_fill_the_reserve_up_to_its_cap() {
    let mut pool = boxed_pool(8);
    let ids: Vec<FrameId> = (0..4)
        .map(|owner| {
            assert!(pool.add_frame(new_frame()).is_ok());
            pool.store_huge(owner, &[owner as u8; 4096]).unwrap()
        })
        .collect();
    for id in ids {
        pool.free_huge(id).unwrap();
    }
    // The frames beyond the cap were released.
    assert_eq!(pool.pool_stats().reserve_frames, RESERVE_CAP);
    assert_eq!(pool.pool_stats().total_frames(), u64::from(RESERVE_CAP));
    // Over the frame limit, emptied frames are released instead.
    let a = pool.store_huge(1, &[1; 4096]).unwrap();
    pool.set_page_limit(Some(1));
    pool.free_huge(a).unwrap();
    assert_eq!(pool.pool_stats().total_frames(), u64::from(RESERVE_CAP) - 1);
    assert_eq!(pool.release_reserve(), 1);
    assert_eq!(pool.pool_stats(), PoolStats::default());
}

#[test]
fn freeing_the_last_record_drops_the_tail_past_holes() {
    let mut pool = boxed_pool(2);
    let a = put(&mut pool, 1, 10);
    let b = put(&mut pool, 2, 20);
    let c = put(&mut pool, 3, 30);
    let usage = |pool: &Pool<_, _>| match pool.frame_state(a.frame) {
        Some(FrameState::Packed(u)) => u,
        other => panic!("{other:?}"),
    };
    pool.free(b, 2).unwrap();
    assert_eq!(
        usage(&pool),
        Usage {
            tail: 78,
            record_bytes: 52,
            objects: 2,
            len: 4096,
            largest_hole: 26,
            padding: 0,
        }
    );
    assert_eq!(pool.pool_stats().hole_bytes, 26);
    pool.free(c, 3).unwrap();
    assert_eq!(
        usage(&pool),
        Usage {
            tail: 16,
            record_bytes: 16,
            objects: 1,
            len: 4096,
            largest_hole: 0,
            padding: 0,
        }
    );
    assert_eq!(pool.pool_stats().hole_bytes, 0);
    // A stale reference is refused, even where a record used to be.
    assert_eq!(pool.free(c, 3), Err(PoolError::BadRef));
    assert_eq!(pool.load(b, 2), Err(PoolError::BadRef));
    // The next store reuses the reclaimed space.
    assert_eq!(put(&mut pool, 4, 5).offset, 16);
}

#[test]
fn freed_records_merge_with_the_holes_around_them() {
    let mut pool = boxed_pool(2);
    // Records of 106, 206, 306, 406 and 506 bytes.
    let r: Vec<ObjectRef> = (0..5)
        .map(|i| put(&mut pool, i, 100 * (i as usize + 1)))
        .collect();
    let id = r[0].frame;
    pool.free(r[1], 1).unwrap();
    pool.free(r[3], 3).unwrap();
    assert_eq!(
        layout(&pool, id),
        [
            (0, 106, false),
            (106, 206, true),
            (312, 306, false),
            (618, 406, true),
            (1024, 506, false)
        ]
    );
    assert_eq!(usage_of(&pool, id).largest_hole, 406);
    // Freeing the record between two holes leaves one hole over all three.
    pool.free(r[2], 2).unwrap();
    assert_eq!(
        layout(&pool, id),
        [(0, 106, false), (106, 918, true), (1024, 506, false)]
    );
    assert_eq!(usage_of(&pool, id).largest_hole, 918);
    assert_eq!(pool.pool_stats().hole_bytes, 918);
    // Merging with the hole before only, then after only.
    let s = put(&mut pool, 5, 100);
    assert_eq!(
        s.offset, 106,
        "the hole takes the record, the rest stays a hole"
    );
    assert_eq!(
        layout(&pool, id),
        [
            (0, 106, false),
            (106, 106, false),
            (212, 812, true),
            (1024, 506, false)
        ]
    );
    pool.free(s, 5).unwrap();
    assert_eq!(
        layout(&pool, id),
        [(0, 106, false), (106, 918, true), (1024, 506, false)]
    );
    // The last record goes, and the tail drops past the hole before it.
    pool.free(r[4], 4).unwrap();
    assert_eq!(layout(&pool, id), [(0, 106, false)]);
    let u = usage_of(&pool, id);
    assert_eq!((u.tail, u.largest_hole), (106, 0));
    assert_eq!(pool.pool_stats().hole_bytes, 0);
}

#[test]
fn stores_take_the_hole_that_fits_best() {
    let mut pool = boxed_pool(2);
    // Holes of 406, 306 and 206 bytes between live records of 16 bytes.
    let mut owner = 0;
    let mut holes = Vec::new();
    for len in [400, 300, 200] {
        put(&mut pool, owner, 10);
        holes.push((owner + 1, put(&mut pool, owner + 1, len)));
        owner += 2;
    }
    let last = put(&mut pool, owner, 10);
    let id = last.frame;
    for (owner, r) in holes {
        pool.free(r, owner).unwrap();
    }
    let tail = usage_of(&pool, id).tail;
    assert_eq!(usage_of(&pool, id).largest_hole, 406);
    // An exact fit beats a smaller hole that would leave a rest.
    let exact = pool.store(20, &[1; 300]).unwrap();
    assert_eq!((exact.frame, exact.offset), (id, 438));
    // 197 bytes (203 with the header) would leave 3 bytes of the 206-byte hole, too few
    // for a hole: the 406-byte hole takes it.
    let big = pool.store(21, &[2; 197]).unwrap();
    assert_eq!(big.offset, 16);
    assert_eq!(usage_of(&pool, id).largest_hole, 206);
    // 188 bytes leave the smallest hole, 12 bytes, in the 206-byte hole.
    let tight = pool.store(22, &[3; 188]).unwrap();
    assert_eq!(tight.offset, 760);
    let u = usage_of(&pool, id);
    assert_eq!((u.largest_hole, u.tail), (203, tail));
    assert!(layout(&pool, id).contains(&(954, 12, true)));
    // 190 bytes fit no hole: 196 would leave 7 bytes of the 203-byte one, too few for a
    // hole.
    let after = pool.store(23, &[4; 190]).unwrap();
    assert_eq!(after.offset, tail);
    for (owner, r, len) in [(20, exact, 300), (21, big, 197), (22, tight, 188)] {
        let byte = owner as u8 - 19;
        assert_eq!(pool.load(r, owner).unwrap(), &vec![byte; len][..]);
    }
    assert_eq!(pool.pool_stats().hole_bytes, 203 + 12);
}

#[test]
fn a_frame_without_room_after_its_tail_takes_records_in_its_holes() {
    let mut pool = boxed_pool(4);
    // One page: a record of 2006 bytes to free, one of 2048, 42 bytes after the tail.
    let [a, b] = [(1, 2000), (2, 2042)].map(|(owner, len)| put(&mut pool, owner, len));
    assert_eq!((b.frame, free_bytes(&pool, a.frame)), (a.frame, 42));
    pool.free(a, 1).unwrap();
    let u = usage_of(&pool, a.frame);
    assert_eq!((u.largest_hole, u.capacity()), (2006, 1994));
    // The class of 1994 bytes (31) has room for any record of up to 1984 bytes.
    let c = pool.store(3, &[3; 1978]).unwrap();
    assert_eq!((c.frame, c.offset), (a.frame, 0));
    pool.free(c, 3).unwrap();
    // Records of 1985 to 2048 bytes need class 32, which does not promise them room, but
    // the hole takes them as a near fit if they fit it: exactly, or leaving room for a
    // hole (12 bytes). A record of 2003 bytes would leave 3: it takes a new frame.
    assert!(pool.add_frame(new_frame()).is_ok());
    let n = pool.store(4, &[4; 1997]).unwrap();
    assert_ne!(n.frame, a.frame);
    // The new frame, with 2093 free bytes, is a sure fit for the next records; the near
    // fit is tighter.
    let d = pool.store(5, &[5; 1988]).unwrap();
    assert_eq!((d.frame, d.offset), (a.frame, 0));
    assert_eq!(usage_of(&pool, a.frame).largest_hole, 12);
    pool.free(d, 5).unwrap();
    let e = pool.store(6, &[6; 2000]).unwrap();
    assert_eq!((e.frame, e.offset), (a.frame, 0));
    assert_eq!(usage_of(&pool, a.frame).largest_hole, 0);
    assert_eq!(pool.load(b, 2).unwrap(), &content(3, 2042)[..]);
}

#[test]
fn loads_check_the_owner_the_offset_and_the_length() {
    let mut pool = boxed_pool(4);
    let [a, b, c, d] =
        [(1, 100), (2, 100), (3, 300), (4, 50)].map(|(owner, len)| put(&mut pool, owner, len));
    assert_eq!(pool.load(c, 3).unwrap(), &content(4, 300)[..]);
    // Wrong owner, wrong length, no such frame.
    assert_eq!(pool.load(c, 2), Err(PoolError::BadRef));
    assert_eq!(pool.load(c, FREE_OWNER), Err(PoolError::BadRef));
    assert_eq!(
        pool.load(ObjectRef { len: 299, ..c }, 3),
        Err(PoolError::BadRef)
    );
    assert_eq!(
        pool.load(ObjectRef { len: 301, ..c }, 3),
        Err(PoolError::BadRef)
    );
    assert_eq!(
        pool.load(ObjectRef { frame: 3, ..c }, 3),
        Err(PoolError::BadRef)
    );
    assert_eq!(
        pool.load(
            ObjectRef {
                offset: c.offset + 6,
                ..c
            },
            3
        ),
        Err(PoolError::BadRef)
    );
    // A freed record, and one swallowed by the hole before it.
    pool.free(a, 1).unwrap();
    pool.free(b, 2).unwrap();
    assert_eq!(layout(&pool, a.frame)[0], (0, 212, true));
    assert_eq!(pool.load(a, 1), Err(PoolError::BadRef));
    assert_eq!(pool.load(b, 2), Err(PoolError::BadRef));
    assert_eq!(pool.free(b, 2), Err(PoolError::BadRef));
    // The hole is reused by another owner at the same place and length.
    let e = pool.store(5, &content(2, 100)).unwrap();
    assert_eq!((e.offset, e.len), (a.offset, a.len));
    assert_eq!(pool.load(a, 1), Err(PoolError::BadRef));
    assert_eq!(pool.load(e, 5).unwrap(), &content(2, 100)[..]);
    // A record past the tail.
    pool.free(d, 4).unwrap();
    assert_eq!(pool.load(d, 4), Err(PoolError::BadRef));
    // Records moved by compaction: c's old place is inside its new data, b's old place is
    // c's header now.
    pool.free(e, 5).unwrap();
    let mut moves = Vec::new();
    pool.compact_frame(c.frame, |owner, old, new| moves.push((owner, old, new)))
        .unwrap();
    let c2 = moves[0].2;
    assert_eq!((moves.len(), c2.offset), (1, 0));
    assert_eq!(pool.load(c, 3), Err(PoolError::BadRef));
    assert_eq!(
        pool.load(ObjectRef { offset: 0, ..b }, 2),
        Err(PoolError::BadRef)
    );
    assert_eq!(pool.load(c2, 3).unwrap(), &content(4, 300)[..]);
}

#[test]
fn loads_and_stores_order_the_lru() {
    let mut pool = boxed_pool(8);
    let a = put(&mut pool, 1, 3000);
    let b = put(&mut pool, 2, 3000);
    assert!(pool.add_frame(new_frame()).is_ok());
    let h = pool.store_huge(3, &[3; 4096]).unwrap();
    assert_eq!(pool.lru_iter().collect::<Vec<_>>(), [a.frame, b.frame, h]);
    assert_eq!(pool.coldest(), Some(a.frame));
    pool.load(a, 1).unwrap();
    assert_eq!(pool.lru_iter().collect::<Vec<_>>(), [b.frame, h, a.frame]);
    pool.load_huge(h).unwrap();
    assert_eq!(pool.lru_iter().collect::<Vec<_>>(), [b.frame, a.frame, h]);
    // A store makes its frame the hottest.
    let r = put(&mut pool, 4, 10);
    let (other, owner) = if r.frame == a.frame { (b, 2) } else { (a, 1) };
    assert_eq!(
        pool.lru_iter().collect::<Vec<_>>(),
        [other.frame, h, r.frame]
    );
    assert_eq!(pool.next_warmer(other.frame), Some(h));
    assert_eq!(pool.next_warmer(r.frame), None);
    // Failed loads and records() do not count as uses.
    assert_eq!(
        pool.load(ObjectRef { len: 1, ..other }, owner),
        Err(PoolError::BadRef)
    );
    assert_eq!(pool.records(other.frame).count(), 1);
    assert_eq!(pool.coldest(), Some(other.frame));
    // Writeback walks the coldest frame's objects.
    let cold: Vec<(u32, ObjectRef)> = pool.records(other.frame).collect();
    assert_eq!(cold, [(owner, other)]);
    // Reserve frames are not on the LRU.
    pool.free_huge(h).unwrap();
    assert_eq!(pool.frame_state(h), Some(FrameState::Reserve));
    assert_eq!(pool.next_warmer(h), None);
    assert!(!pool.lru_iter().any(|id| id == h));
}

#[test]
fn stats_and_fragmentation() {
    let mut pool = boxed_pool(4);
    assert_eq!(pool.pool_stats().fragmentation_permille(), 0);
    let a = put(&mut pool, 1, 2042);
    put(&mut pool, 2, 100);
    pool.free(a, 1).unwrap();
    let s = pool.pool_stats();
    assert_eq!(
        s,
        PoolStats {
            packed_frames: 1,
            packed_pages: 1,
            huge_frames: 0,
            reserve_frames: 0,
            reserve_pages: 0,
            live_bytes: 100,
            record_bytes: 106,
            hole_bytes: 2048,
            objects: 1,
        }
    );
    assert_eq!(s.fragmentation_permille(), (4096 - 100) * 1000 / 4096);
    assert_eq!(s.total_frames(), 1);
    assert_eq!(s.total_pages(), 1);
}

#[test]
fn drain_hands_back_every_frame() {
    let mut pool = boxed_pool(6);
    put(&mut pool, 1, 3000);
    put(&mut pool, 2, 3000);
    assert!(pool.add_frame(new_frame()).is_ok());
    pool.store_huge(3, &[0; 4096]).unwrap();
    assert!(pool.add_frame(new_frame()).is_ok());
    assert_eq!(pool.drain(), 4);
    assert_eq!(pool.pool_stats(), PoolStats::default());
    assert_eq!(pool.lru_iter().count(), 0);
    // The pool is as new: all 6 entries can take frames again.
    for _ in 0..6 {
        assert!(pool.add_frame(new_frame()).is_ok());
    }
    assert!(pool.add_frame(new_frame()).is_err());
}

#[test]
fn huge_pages_round_trip() {
    let mut pool = boxed_pool(2);
    assert!(pool.add_frame(new_frame()).is_ok());
    let page = page_of(9);
    let id = pool.store_huge(4, &page).unwrap();
    assert_eq!(pool.frame_state(id), Some(FrameState::Huge { owner: 4 }));
    assert_eq!(pool.load_huge(id).unwrap(), &*page);
    assert_eq!(pool.pool_stats().huge_frames, 1);
    // A huge frame is no packed object, and the other way round.
    let as_ref = ObjectRef {
        frame: id,
        offset: 0,
        len: 4090,
    };
    assert_eq!(pool.load(as_ref, 4), Err(PoolError::BadRef));
    assert_eq!(pool.compact_frame(id, |_, _, _| panic!()), Ok(0));
    let r = put(&mut pool, 5, 10);
    assert_eq!(pool.load_huge(r.frame), Err(PoolError::BadRef));
    assert_eq!(pool.free_huge(r.frame), Err(PoolError::BadRef));
    pool.free_huge(id).unwrap();
    assert_eq!(pool.free_huge(id), Err(PoolError::BadRef));
}

// Frames of several pages.

#[test]
fn frame_lengths_are_multiples_of_a_page_up_to_32_kib() {
    for pages in 1..=8 {
        assert_eq!(frame_pages(pages * 4096), Some(pages as u8));
    }
    for len in [
        0,
        1,
        4095,
        4097,
        6000,
        8191,
        32767,
        32769,
        36864,
        65536,
        usize::MAX,
    ] {
        assert_eq!(frame_pages(len), None, "{len}");
    }
    let mut pool = boxed_pool(16);
    for len in [0, 4095, 4097, 12000, 36864, 65536] {
        let frame = vec![7u8; len].into_boxed_slice();
        let back = pool.add_frame(frame).unwrap_err();
        assert_eq!(back.len(), len, "the same frame comes back");
    }
    assert_eq!(pool.pool_stats(), PoolStats::default());
    for pages in 1..=8 {
        assert!(pool.add_frame(frame_of(pages)).is_ok());
    }
    let stats = pool.pool_stats();
    assert_eq!((stats.reserve_frames, stats.reserve_pages), (8, 36));
    assert_eq!((stats.total_frames(), stats.total_pages()), (8, 36));
}

#[test]
fn the_page_limit_counts_pages_not_frames() {
    let mut pool = boxed_pool(16);
    pool.set_page_limit(Some(10));
    assert!(pool.add_frame(frame_of(8)).is_ok());
    assert!(pool.add_frame(frame_of(4)).is_err(), "12 pages > 10");
    assert!(pool.add_frame(frame_of(2)).is_ok());
    assert!(pool.add_frame(frame_of(1)).is_err(), "11 pages > 10");
    assert_eq!(pool.pool_stats().total_pages(), 10);
    // An emptied frame goes back to the reserve only within the limit.
    let a = pool.store(1, &[1; 4000]).unwrap();
    assert_eq!(pool.frame_len(a.frame), Some(8 * 4096));
    pool.set_page_limit(Some(9));
    // The frame of 8 pages is released.
    pool.free(a, 1).unwrap();
    assert_eq!(pool.pool_stats().total_frames(), 1);
    assert_eq!(pool.pool_stats().total_pages(), 2);
    // 2 + 8 > 9: refused; 2 + 4 fits.
    assert!(pool.add_frame(frame_of(8)).is_err());
    assert!(pool.add_frame(frame_of(4)).is_ok());
    assert_eq!(pool.pool_stats().reserve_pages, 6);
}

#[test]
fn huge_pages_take_only_one_page_frames() {
    let mut pool = boxed_pool(8);
    assert!(pool.add_frame(frame_of(8)).is_ok());
    assert!(pool.add_frame(frame_of(2)).is_ok());
    // The reserve has 10 pages but no frame of one page.
    assert_eq!(pool.store_huge(1, &page_of(1)), Err(PoolError::NeedFrame));
    assert!(pool.add_frame(frame_of(1)).is_ok());
    let page = page_of(2);
    let id = pool.store_huge(1, &page).unwrap();
    assert_eq!(pool.frame_len(id), Some(4096));
    assert_eq!(pool.frame(id).unwrap(), &page[..]);
    assert_eq!(pool.load_huge(id).unwrap(), &*page);
    let stats = pool.pool_stats();
    assert_eq!(
        (stats.huge_frames, stats.reserve_frames, stats.reserve_pages),
        (1, 2, 10)
    );
    assert_eq!(stats.total_pages(), 11);
    // The reserve is at its cap: the freed frame is released.
    pool.free_huge(id).unwrap();
    let stats = pool.pool_stats();
    assert_eq!((stats.huge_frames, stats.total_pages()), (0, 10));
    assert_eq!(pool.store_huge(2, &page), Err(PoolError::NeedFrame));
    // With room in the reserve, a freed huge frame is kept and serves the next one.
    pool.release_reserve();
    assert!(pool.add_frame(frame_of(1)).is_ok());
    let id = pool.store_huge(2, &page).unwrap();
    pool.free_huge(id).unwrap();
    // Kept, not released.
    assert_eq!(pool.pool_stats().total_pages(), 1);
    assert_eq!(pool.pool_stats().reserve_pages, 1);
    assert_eq!(pool.store_huge(3, &page), Ok(id));
}

#[test]
fn new_packed_frames_take_the_largest_reserve_frame() {
    let mut pool = boxed_pool(8);
    for pages in [2, 8, 1, 4] {
        assert!(pool.add_frame(frame_of(pages)).is_ok());
    }
    let mut owner = 0;
    for pages in [8, 4, 2, 1] {
        // Records of a page: each frame takes one per page, then the next is opened.
        let r = pool.store(owner, &[0; 4090]).unwrap();
        assert_eq!(pool.frame_len(r.frame), Some(pages * 4096));
        for _ in 1..pages {
            owner += 1;
            assert_eq!(pool.store(owner, &[0; 4090]).unwrap().frame, r.frame);
        }
        owner += 1;
        assert_eq!(free_bytes(&pool, r.frame), 0);
    }
    assert_eq!(pool.store(owner, &[0; 1]), Err(PoolError::NeedFrame));
}

#[test]
fn large_frames_are_told_apart_by_their_free_space() {
    let mut pool = boxed_pool(8);
    assert!(pool.add_frame(frame_of(8)).is_ok());
    // Frame a: eight records of a page, full.
    let a: Vec<ObjectRef> = (0..8).map(|owner| put(&mut pool, owner, 4090)).collect();
    assert_eq!(free_bytes(&pool, a[0].frame), 0);
    assert!(pool.add_frame(frame_of(8)).is_ok());
    // Frame b: three, 20480 bytes free.
    let b: Vec<ObjectRef> = (10..13).map(|owner| put(&mut pool, owner, 4090)).collect();
    assert_ne!(a[0].frame, b[0].frame);
    // Frame a gets 8192 bytes free: a small object goes there, the fuller frame.
    pool.free(a[7], 7).unwrap();
    pool.free(a[6], 6).unwrap();
    assert_eq!(free_bytes(&pool, a[0].frame), 8192);
    assert_eq!(pool.store(20, &[1; 100]).unwrap().frame, a[0].frame);
    // Now frame a has more free space than b: b is the better fit.
    for (owner, r) in a.iter().enumerate().take(6).skip(2) {
        pool.free(*r, owner as u32).unwrap();
    }
    pool.compact_frame(a[0].frame, |_, _, _| ()).unwrap();
    assert!(free_bytes(&pool, a[0].frame) > free_bytes(&pool, b[0].frame));
    assert_eq!(pool.store(21, &[1; 100]).unwrap().frame, b[0].frame);
}

/// 10 000 objects of 1450 bytes: single-page frames hold two each, 32 KiB frames come
/// within 3 % of the records' bytes.
#[test]
fn large_frames_pack_objects_tightly() {
    const OBJECTS: u32 = 10_000;
    let record = 1450 + HEADER_LEN;
    for pages in [1usize, 8] {
        let mut pool = boxed_pool(OBJECTS as usize + 4);
        for owner in 0..OBJECTS {
            loop {
                match pool.store(owner, &[owner as u8; 1450]) {
                    Ok(_) => break,
                    Err(PoolError::NeedFrame) => assert!(pool.add_frame(frame_of(pages)).is_ok()),
                    Err(e) => panic!("{e:?}"),
                }
            }
        }
        let stats = pool.pool_stats();
        assert_eq!(stats.objects, u64::from(OBJECTS));
        assert_eq!(stats.total_pages(), stats.packed_pages);
        let used = stats.packed_pages * 4096;
        if pages == 1 {
            assert_eq!(stats.packed_frames, OBJECTS / 2, "two per page");
        } else {
            let frame = (pages * 4096) as u64;
            let bound = (OBJECTS as u64 * record as u64 * 103 / 100).div_ceil(frame) * frame;
            assert!(used <= bound, "{used} bytes > {bound}");
            assert!(stats.fragmentation_permille() < 40);
        }
    }
}
