//! Random sequences of events on the fill policy, checked against a model: a score
//! clamped to its limit and a list of ghosts, oldest first.
//!
//! After every event the decision of a miss, the score and which extents are ghosts
//! must match the model. Then a few workloads: random reads stop filling, neighbours
//! read together keep filling, and a policy reading alone fills again once neighbours
//! come back.

use ghostswap_core::extent_cache::MAX_ENTRIES;
use ghostswap_core::fill_policy::{FillPolicy, FILL_COST, HIT_GAIN, SCORE_LIMIT};
use proptest::prelude::*;

#[derive(Default)]
struct Model {
    score: i32,
    /// (head, read again), oldest first.
    ghosts: Vec<(u32, bool)>,
}

impl Model {
    fn add(&mut self, delta: i32) {
        self.score = (self.score + delta).clamp(-SCORE_LIMIT, SCORE_LIMIT);
    }

    fn drop_ghost(&mut self, n: usize) {
        let (_, hit) = self.ghosts.remove(n);
        if !hit {
            self.add(-FILL_COST);
        }
    }

    fn miss(&mut self, head: u32, entries: usize) -> bool {
        let entries = entries.min(MAX_ENTRIES);
        if entries == 0 {
            return false;
        }
        let known = self.ghosts.iter().position(|g| g.0 == head);
        if let Some(n) = known {
            self.add(HIT_GAIN);
            self.ghosts[n].1 = true;
        }
        if self.score >= 0 {
            if let Some(n) = known {
                self.ghosts.remove(n);
            }
            return true;
        }
        if known.is_none() {
            while self.ghosts.len() >= entries {
                self.drop_ghost(0);
            }
            self.ghosts.push((head, false));
        }
        false
    }
}

#[derive(Clone, Debug)]
enum Event {
    Hit,
    Wasted,
    Miss(u32, usize),
    Forget(u32),
    SetLimit(usize),
}

fn event() -> impl Strategy<Value = Event> {
    let head = 0u32..24;
    prop_oneof![
        3 => Just(Event::Hit),
        3 => Just(Event::Wasted),
        6 => (head.clone(), 0usize..=MAX_ENTRIES + 1).prop_map(|(h, e)| Event::Miss(h, e)),
        1 => head.prop_map(Event::Forget),
        1 => (0usize..=MAX_ENTRIES + 1).prop_map(Event::SetLimit),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn policy_matches_model(events in prop::collection::vec(event(), 1..400)) {
        let mut policy = FillPolicy::new();
        let mut model = Model::default();
        for event in events {
            match event {
                Event::Hit => {
                    policy.hit();
                    model.add(HIT_GAIN);
                }
                Event::Wasted => {
                    policy.wasted();
                    model.add(-FILL_COST);
                }
                Event::Miss(head, entries) => {
                    let got = policy.miss(head, entries);
                    prop_assert_eq!(got, model.miss(head, entries), "miss of {}", head);
                }
                Event::Forget(head) => {
                    policy.forget(head);
                    if let Some(n) = model.ghosts.iter().position(|g| g.0 == head) {
                        model.drop_ghost(n);
                    }
                }
                Event::SetLimit(entries) => {
                    policy.set_limit(entries);
                    while model.ghosts.len() > entries.min(MAX_ENTRIES) {
                        model.drop_ghost(0);
                    }
                }
            }
            prop_assert_eq!(policy.score(), model.score);
            for head in 0..24 {
                let ghost = model.ghosts.iter().any(|g| g.0 == head);
                prop_assert_eq!(policy.ghost(head), ghost, "ghost {}", head);
            }
        }
    }
}

/// Fills dropped unused turn the policy to reading alone; it never fills with no entries.
#[test]
fn random_reads_stop_filling() {
    let mut policy = FillPolicy::new();
    assert!(!policy.miss(1, 0), "no entries: nothing to fill");
    let mut fills = 0;
    for head in 0..1000 {
        if policy.miss(head, 8) {
            fills += 1;
            // Random access: the extent is dropped before any neighbour is read.
            policy.wasted();
        }
    }
    assert!(fills <= 2, "{fills} fills of 1000 random reads");
}

/// Extents whose neighbours are read keep being filled.
#[test]
fn neighbours_keep_filling() {
    let mut policy = FillPolicy::new();
    for head in 0..1000 {
        assert!(policy.miss(head, 8), "extent {head} read alone");
        // Three neighbours served from memory, then the extent is dropped.
        for _ in 0..3 {
            policy.hit();
        }
    }
}

/// Reading alone, the policy sees neighbours come back through its ghosts, and fills.
#[test]
fn neighbours_coming_back_fill_again() {
    let mut policy = FillPolicy::new();
    for _ in 0..2 * SCORE_LIMIT {
        policy.wasted();
    }
    let mut head = 0;
    let filled = loop {
        assert!(head < 10_000, "never filled again");
        // Each extent read twice in a row: the second read is a ghost's.
        let first = policy.miss(head, 8);
        let second = policy.miss(head, 8);
        if first || second {
            break head;
        }
        head += 1;
    };
    assert!(
        filled <= SCORE_LIMIT as u32,
        "filled again only at extent {filled}"
    );
}
