//! Random operation sequences on the extent cache, checked against a model: a list of
//! the extents it holds, each filling or ready, with its users and when it was last used.
//!
//! After every operation: a lookup must find exactly what the model holds; a claim must
//! succeed exactly when the extent is not held and an entry is free or held by an idle
//! ready extent, and then drop the idle ready extent used longest ago (and nothing if an
//! entry was free); an entry in use is never dropped; a forgotten extent is never found
//! again; the number of extents held and the counts must match the model. The cache
//! must tell its fill policy each hit and each ready extent dropped without one (the
//! model drives a policy of its own with those events, and the scores must match;
//! `fill_policy_model` checks the policy itself).

use ghostswap_core::extent_cache::{CacheCounts, ExtentCache, Lookup, MAX_ENTRIES};
use ghostswap_core::fill_policy::FillPolicy;
use proptest::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Held {
    head: u32,
    ready: bool,
    users: u32,
    hit: bool,
    stale: bool,
    used: u64,
    entry: usize,
}

#[derive(Default)]
struct Model {
    held: Vec<Held>,
    limit: usize,
    clock: u64,
    counts: CacheCounts,
    policy: FillPolicy,
}

impl Model {
    fn live(&self, head: u32) -> Option<usize> {
        self.held.iter().position(|h| h.head == head && !h.stale)
    }

    fn entry(&self, entry: usize) -> Option<usize> {
        self.held.iter().position(|h| h.entry == entry)
    }
}

#[derive(Clone, Debug)]
enum Op {
    Lookup(u32),
    /// A miss asks the fill policy.
    Miss(u32),
    Claim(u32),
    /// End the fill of the k-th claim outstanding.
    Filled(usize, bool),
    /// End the k-th use outstanding.
    Done(usize),
    /// Forget an extent (as its free would).
    Forget(u32),
    SetLimit(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let head = 0u32..12;
    prop_oneof![
        4 => head.clone().prop_map(Op::Lookup),
        2 => head.clone().prop_map(Op::Miss),
        4 => head.clone().prop_map(Op::Claim),
        3 => (0usize..4, prop::bool::weighted(0.8)).prop_map(|(k, ok)| Op::Filled(k, ok)),
        3 => (0usize..4).prop_map(Op::Done),
        1 => head.prop_map(Op::Forget),
        1 => (0usize..=MAX_ENTRIES + 1).prop_map(Op::SetLimit),
    ]
}

fn run(limit: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut cache = ExtentCache::new(limit);
    let mut model = Model {
        limit: limit.min(MAX_ENTRIES),
        ..Model::default()
    };
    // Outstanding claims (entry, head) and uses (entry).
    let mut claims: Vec<(usize, u32)> = Vec::new();
    let mut uses: Vec<usize> = Vec::new();
    for op in ops {
        match op {
            Op::Lookup(head) => {
                let found = cache.lookup(head);
                let expect = match model.live(head) {
                    None => Lookup::Miss,
                    Some(i) if !model.held[i].ready => {
                        model.counts.filling += 1;
                        Lookup::Filling
                    }
                    Some(i) => {
                        model.clock += 1;
                        let h = &mut model.held[i];
                        h.users += 1;
                        h.used = model.clock;
                        h.hit = true;
                        model.counts.hits += 1;
                        model.policy.hit();
                        Lookup::Ready(h.entry)
                    }
                };
                prop_assert_eq!(found, expect, "lookup of {}", head);
                if let Lookup::Ready(entry) = found {
                    uses.push(entry);
                }
            }
            Op::Miss(head) => {
                let fill = cache.should_fill(head);
                prop_assert_eq!(
                    fill,
                    model.policy.miss(head, model.limit),
                    "miss of {}",
                    head
                );
                if !fill {
                    model.counts.alone += 1;
                }
            }
            Op::Claim(head) => {
                let got = cache.claim(head);
                if model.live(head).is_some() {
                    prop_assert_eq!(got, None, "claim of {}, held already", head);
                    continue;
                }
                let free = (0..model.limit).find(|&e| model.entry(e).is_none());
                let idle = model
                    .held
                    .iter()
                    .filter(|h| h.entry < model.limit && h.ready && h.users == 0)
                    .min_by_key(|h| h.used)
                    .copied();
                match (free, idle) {
                    (Some(_), _) => {
                        let entry =
                            got.ok_or_else(|| TestCaseError::fail("no claim, entry free"))?;
                        prop_assert!(model.entry(entry).is_none(), "claim took a held entry");
                        prop_assert!(entry < model.limit);
                    }
                    (None, Some(victim)) => {
                        let entry =
                            got.ok_or_else(|| TestCaseError::fail("no claim, idle entry"))?;
                        prop_assert_eq!(entry, victim.entry, "not the idle entry used longest ago");
                        if !victim.hit {
                            model.policy.wasted();
                        }
                        model.held.retain(|h| h.entry != entry);
                    }
                    (None, None) => {
                        prop_assert_eq!(got, None, "claim with every entry in use");
                        continue;
                    }
                }
                let entry = got.unwrap_or_default();
                model.clock += 1;
                model.held.push(Held {
                    head,
                    ready: false,
                    users: 1,
                    hit: false,
                    stale: false,
                    used: model.clock,
                    entry,
                });
                model.counts.claims += 1;
                claims.push((entry, head));
            }
            Op::Filled(k, ok) => {
                if claims.is_empty() {
                    continue;
                }
                let (entry, _) = claims.remove(k % claims.len());
                cache.filled(entry, ok);
                let i = model
                    .entry(entry)
                    .ok_or_else(|| TestCaseError::fail("claim lost"))?;
                let h = &mut model.held[i];
                if ok && !h.stale && entry < model.limit {
                    h.ready = true;
                    h.users = 0;
                    model.counts.fills += 1;
                } else {
                    model.held.remove(i);
                }
            }
            Op::Done(k) => {
                if uses.is_empty() {
                    continue;
                }
                let entry = uses.remove(k % uses.len());
                cache.done(entry);
                let i = model
                    .entry(entry)
                    .ok_or_else(|| TestCaseError::fail("use lost"))?;
                let h = &mut model.held[i];
                h.users -= 1;
                if h.users == 0 && (h.stale || entry >= model.limit) {
                    model.held.remove(i);
                }
            }
            Op::Forget(head) => {
                cache.forget(head);
                model.policy.forget(head);
                if let Some(i) = model.live(head) {
                    if model.held[i].ready && !model.held[i].hit {
                        model.policy.wasted();
                    }
                    match model.held[i].users {
                        0 => {
                            model.held.remove(i);
                        }
                        _ => model.held[i].stale = true,
                    }
                }
            }
            Op::SetLimit(n) => {
                cache.set_limit(n);
                model.limit = n.min(MAX_ENTRIES);
                model.policy.set_limit(model.limit);
                let limit = model.limit;
                model.held.retain(|h| h.entry < limit || h.users > 0);
            }
        }
        prop_assert_eq!(cache.held(), model.held.len(), "extents held");
        prop_assert_eq!(cache.counts(), model.counts);
        prop_assert_eq!(cache.limit(), model.limit);
        prop_assert_eq!(
            cache.policy().score(),
            model.policy.score(),
            "fill policy score"
        );
        for h in &model.held {
            if !h.stale {
                prop_assert_eq!(cache.is_ready(h.head), h.ready, "readiness of {}", h.head);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn cache_matches_model(limit in 0usize..=MAX_ENTRIES, ops in prop::collection::vec(op(), 1..200)) {
        run(limit, ops)?;
    }
}

/// A planted bug the model must catch: an entry claimed while in use would hand a
/// reader's buffer to another extent.
#[test]
fn in_use_entry_is_never_claimed() {
    let mut cache = ExtentCache::new(1);
    let entry = cache.claim(5).unwrap();
    cache.filled(entry, true);
    assert_eq!(cache.lookup(5), Lookup::Ready(entry));
    assert_eq!(cache.claim(6), None, "the only entry is in use");
    cache.done(entry);
    assert_eq!(
        cache.claim(6),
        Some(entry),
        "idle now: taken for the new extent"
    );
    assert_eq!(cache.lookup(5), Lookup::Miss);
}

/// An extent forgotten while in use is never found again, and its entry is free once
/// its last user is done.
#[test]
fn forgotten_in_use_is_hidden_then_freed() {
    let mut cache = ExtentCache::new(2);
    let entry = cache.claim(9).unwrap();
    cache.filled(entry, true);
    assert_eq!(cache.lookup(9), Lookup::Ready(entry));
    cache.forget(9);
    assert_eq!(cache.lookup(9), Lookup::Miss);
    assert_eq!(cache.held(), 1);
    cache.done(entry);
    assert_eq!(cache.held(), 0);
}

/// A fill forgotten before it ends is not kept.
#[test]
fn forgotten_while_filling_is_not_kept() {
    let mut cache = ExtentCache::new(2);
    let entry = cache.claim(3).unwrap();
    cache.forget(3);
    cache.filled(entry, true);
    assert_eq!(cache.lookup(3), Lookup::Miss);
    assert_eq!(cache.held(), 0);
}

/// A cache of no entries keeps nothing.
#[test]
fn zero_entries_keep_nothing() {
    let mut cache = ExtentCache::new(0);
    assert_eq!(cache.claim(1), None);
    assert_eq!(cache.lookup(1), Lookup::Miss);
}
