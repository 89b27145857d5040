//! The operations the model tests run, and the strategies that make sequences of them.

use crate::common::frame_len;
use ghostswap_core::frame::{MAX_FRAME_SIZE, MAX_OBJECT};
use proptest::prelude::*;

#[derive(Debug, Clone)]
pub enum Op {
    /// A packed store; `frame` is the length of the frame to add if one is needed.
    Store {
        owner: u32,
        len: usize,
        seed: u64,
        frame: usize,
    },
    /// A huge store; `frame` is the length of the first frame to add if one is needed (a
    /// page is added after it if it was larger).
    StoreHuge {
        owner: u32,
        seed: u64,
        frame: usize,
    },
    Load {
        pick: usize,
    },
    Free {
        pick: usize,
    },
    /// Frees the last object of the frame of a picked object.
    FreeLast {
        pick: usize,
    },
    CompactFrame {
        pick: u32,
    },
    Compact,
    /// A whole compaction in steps of `limit` frames, nothing between them.
    CompactInSteps {
        limit: u32,
    },
    /// One step of a compaction that other operations interleave with.
    CompactStep {
        limit: u32,
    },
    /// Drops the compaction that other operations interleave with, unfinished.
    CompactAbandon,
    /// Advances the clock.
    Tick {
        secs: u64,
    },
    /// A whole idle marking in steps of `limit` frames, nothing between them.
    MarkIdleInSteps {
        min_age: Option<u64>,
        limit: u32,
    },
    /// Begins an idle marking that other operations interleave with.
    IdleStart {
        min_age: Option<u64>,
    },
    IdleStep {
        limit: u32,
    },
    /// Begins the writeback walk again at the coldest frame.
    WalkRewind,
    /// The next frame of the writeback walk.
    WalkNext,
    AddFrame {
        len: usize,
    },
    SetLimit(Option<u64>),
    ReleaseReserve,
    BadRef {
        pick: usize,
        how: u8,
    },
}

fn len() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 1usize..3000,
        4 => 1usize..200,
        1 => Just(1usize),
        1 => 3000usize..=MAX_OBJECT,
    ]
}

/// Frame lengths handed to `add_frame` directly: valid ones and some it must refuse.
fn any_frame_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => frame_len(),
        1 => prop_oneof![
            Just(0usize),
            Just(4095),
            Just(4097),
            Just(6000),
            Just(MAX_FRAME_SIZE + 4096),
            Just(65536),
        ],
    ]
}

/// Lengths for the hole tests: tiny objects (padded), a few sizes that fill each other's
/// holes exactly or leave the smallest hole (24 = 12 + 12, 36 = 24 + 12, 100 = 88 + 12),
/// and large ones.
fn hole_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 1usize..=12,
        3 => prop::sample::select(vec![6usize, 18, 30, 82, 94, 200, 1450]),
        2 => 1400usize..1600,
        1 => 13usize..400,
    ]
}

/// Operations for the hole tests: frames of one or two pages, so that records are freed
/// next to holes and at the tail, and stores fill the holes.
fn hole_op(owners: u32) -> impl Strategy<Value = Op> {
    let frame = prop_oneof![2 => Just(4096usize), 1 => Just(8192usize)];
    prop_oneof![
        8 => (0..owners, hole_len(), any::<u64>(), frame)
            .prop_map(|(owner, len, seed, frame)| Op::Store { owner, len, seed, frame }),
        4 => any::<usize>().prop_map(|pick| Op::Free { pick }),
        2 => any::<usize>().prop_map(|pick| Op::FreeLast { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Load { pick }),
        1 => any::<u32>().prop_map(|pick| Op::CompactFrame { pick }),
        1 => (any::<usize>(), 0u8..10).prop_map(|(pick, how)| Op::BadRef { pick, how }),
    ]
}

/// A sequence of [`hole_op`]s, compaction of the whole pool sometimes among them and
/// always at the end, so that frames compacted with tiny records are used again.
pub fn hole_ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![30 => hole_op(48), 1 => Just(Op::Compact)];
    prop::collection::vec(op, 1..300).prop_map(|mut ops| {
        ops.push(Op::Compact);
        ops.extend((0..20).map(|owner| Op::Store {
            owner,
            len: 1 + owner as usize * 7,
            seed: 1,
            frame: 4096,
        }));
        ops
    })
}

pub fn op(owners: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..owners, len(), any::<u64>(), frame_len())
            .prop_map(|(owner, len, seed, frame)| Op::Store { owner, len, seed, frame }),
        2 => (0..owners, any::<u64>(), frame_len())
            .prop_map(|(owner, seed, frame)| Op::StoreHuge { owner, seed, frame }),
        5 => any::<usize>().prop_map(|pick| Op::Load { pick }),
        6 => any::<usize>().prop_map(|pick| Op::Free { pick }),
        1 => any::<usize>().prop_map(|pick| Op::FreeLast { pick }),
        2 => any::<u32>().prop_map(|pick| Op::CompactFrame { pick }),
        1 => Just(Op::Compact),
        1 => any_frame_len().prop_map(|len| Op::AddFrame { len }),
        1 => prop_oneof![Just(None), (0u64..64).prop_map(Some)].prop_map(Op::SetLimit),
        1 => Just(Op::ReleaseReserve),
        2 => (any::<usize>(), 0u8..10).prop_map(|(pick, how)| Op::BadRef { pick, how }),
    ]
}

/// Operations for the work done in steps: stores, loads and frees between the steps, and
/// the clock moving on by minutes.
pub fn step_op(owners: u32) -> impl Strategy<Value = Op> {
    let limit = prop_oneof![3 => 1u32..4, 1 => 4u32..40];
    let min_age = prop_oneof![
        1 => Just(None),
        1 => Just(Some(0u64)),
        3 => (1u64..900).prop_map(Some),
    ];
    prop_oneof![
        10 => (0..owners, len(), any::<u64>(), frame_len())
            .prop_map(|(owner, len, seed, frame)| Op::Store { owner, len, seed, frame }),
        1 => (0..owners, any::<u64>(), frame_len())
            .prop_map(|(owner, seed, frame)| Op::StoreHuge { owner, seed, frame }),
        4 => any::<usize>().prop_map(|pick| Op::Load { pick }),
        6 => any::<usize>().prop_map(|pick| Op::Free { pick }),
        1 => any::<usize>().prop_map(|pick| Op::FreeLast { pick }),
        1 => Just(Op::Compact),
        1 => limit.clone().prop_map(|limit| Op::CompactInSteps { limit }),
        6 => limit.clone().prop_map(|limit| Op::CompactStep { limit }),
        1 => Just(Op::CompactAbandon),
        3 => prop_oneof![Just(0u64), 1u64..100, 100u64..400].prop_map(|secs| Op::Tick { secs }),
        1 => (min_age.clone(), limit.clone())
            .prop_map(|(min_age, limit)| Op::MarkIdleInSteps { min_age, limit }),
        1 => min_age.prop_map(|min_age| Op::IdleStart { min_age }),
        4 => limit.clone().prop_map(|limit| Op::IdleStep { limit }),
        1 => Just(Op::WalkRewind),
        4 => Just(Op::WalkNext),
        1 => Just(Op::ReleaseReserve),
    ]
}
