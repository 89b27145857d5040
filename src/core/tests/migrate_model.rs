//! Random interleavings of stores, loads, frees, frame writebacks, write completions and
//! failures, and reads in flight from the backing device, on the writeback state table and
//! the block allocator together, checked against a model.
//!
//! The model knows, for each slot, the version of its latest store and where it is:
//! nowhere, in memory, in a write in flight (which ticket), or on the device (which
//! destination). The backing device is simulated as a map from destination to what was
//! written there: a write lands when its I/O ends, whatever happened to its slots
//! meanwhile (it is the page as it was at the begin), and a failed write leaves garbage.
//! Resident pages are objects of a simulated pool, each with its slot and version, which
//! the test frees when the table hands them back: a handle handed back twice is a double
//! free, one never handed back a leak.
//!
//! After every operation:
//! - every load returns the slot's latest version, from memory or from the device;
//! - every read that was in flight, when it ends, finds at its destination what the slot
//!   held when the read began (its extent was not reused meanwhile);
//! - every slot's state and the table's gauges match the model, and no release was
//!   refused (no double release);
//! - every extent holds exactly its migrated slots, its writes in flight and its reads in
//!   flight, and the allocator holds exactly those extents: an extent is freed exactly
//!   when the last of them goes;
//! - an I/O ends only into an extent still allocated.
//!
//! At the end every write is settled, every read ended and every slot freed: then no
//! block is in use and the pool is empty.

use ghostswap_core::backing::{Backing, BackingError, BlockEntry};
use ghostswap_core::migrate::{Dest, Location, Resident, Slots, State, Ticket, WbError};
use proptest::prelude::*;
use std::collections::HashMap;

/// A test resident handle: a same-filled page (never written back) or a pool object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum H {
    Same(u32),
    Obj(u32),
}

impl Resident for H {
    type Kept = u32;

    fn migrating_handle(self) -> Option<u32> {
        match self {
            H::Same(_) => None,
            H::Obj(id) => Some(id),
        }
    }

    fn restore(id: u32) -> Self {
        H::Obj(id)
    }
}

const SLOTS: u64 = 6;
/// What a failed write leaves at its destinations.
const GARBAGE: u32 = u32::MAX;
/// Bytes per object in a frame written back.
const OBJECT: u16 = 16;

type Dev = Backing<Vec<u64>, Vec<BlockEntry>>;
type Table = Slots<Vec<State<H>>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Where {
    Empty,
    Ram(H),
    /// In memory, ticket `ticket` of batch `batch` in flight.
    Flight {
        h: H,
        batch: usize,
        ticket: usize,
    },
    Disk(Dest),
}

#[derive(Clone, Copy, Debug)]
struct MSlot {
    at: Where,
    version: u32,
}

struct Batch {
    block: u32,
    pages: u32,
    /// Each ticket, the version its write carries, and whether it is settled.
    tickets: Vec<(Ticket, u32, bool)>,
    /// `None` while the I/O is in flight, then whether it succeeded.
    io: Option<bool>,
}

struct Harness {
    table: Table,
    dev: Dev,
    model: Vec<MSlot>,
    /// Live pool objects: id to slot and version.
    pool: HashMap<u32, (u64, u32)>,
    next_id: u32,
    next_version: u32,
    /// The simulated device: what the last write to each destination left.
    disk: HashMap<(u32, u16), (u64, u32)>,
    batches: Vec<Batch>,
    /// Reads in flight: destination, slot and the version it must find.
    reads: Vec<(Dest, u64, u32)>,
}

#[derive(Debug, Clone)]
enum Op {
    Store {
        slot: u64,
        same: bool,
    },
    Free(u64),
    Load(u64),
    StartRead(u64),
    FinishRead(usize),
    Writeback {
        pages: u32,
        slots: Vec<u64>,
    },
    Io {
        batch: usize,
        ok: bool,
    },
    Settle {
        batch: usize,
        ticket: usize,
        ok: bool,
    },
}

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

impl Harness {
    fn new(blocks: usize) -> Self {
        Harness {
            table: Slots::new(vec![State::Empty; SLOTS as usize]),
            dev: Backing::new(
                vec![0; blocks.div_ceil(64)],
                vec![BlockEntry::default(); blocks],
            )
            .expect("a device"),
            model: vec![
                MSlot {
                    at: Where::Empty,
                    version: 0
                };
                SLOTS as usize
            ],
            pool: HashMap::new(),
            next_id: 0,
            next_version: 1,
            disk: HashMap::new(),
            batches: Vec::new(),
            reads: Vec::new(),
        }
    }

    /// Frees a handle the table handed back for `slot`.
    fn free_handle(&mut self, slot: u64, h: Option<H>) -> Result<(), TestCaseError> {
        if let Some(H::Obj(id)) = h {
            match self.pool.remove(&id) {
                Some((owner, _)) if owner == slot => {}
                other => return Err(fail(format!("object {id} freed as {slot}'s: {other:?}"))),
            }
        }
        Ok(())
    }

    /// The handle the model expects back when `slot` is overwritten or freed.
    fn expected_back(&self, slot: u64) -> Option<H> {
        match self.model.get(slot as usize)?.at {
            Where::Ram(h) | Where::Flight { h, .. } => Some(h),
            Where::Empty | Where::Disk(_) => None,
        }
    }

    /// Checks what a load of `slot` found; returns a backing destination to unpin.
    fn check_found(&self, slot: u64, found: Location<H>) -> Result<Option<Dest>, TestCaseError> {
        let m = self.model[slot as usize];
        match (m.at, found) {
            (Where::Empty, Location::Empty) => Ok(None),
            (Where::Ram(h) | Where::Flight { h, .. }, Location::Ram(got)) if got == h => {
                let version = match h {
                    H::Same(v) => v,
                    H::Obj(id) => self.pool.get(&id).map_or(0, |&(_, v)| v),
                };
                prop_assert_eq!(version, m.version, "slot {} read from memory", slot);
                Ok(None)
            }
            (Where::Disk(d), Location::Backing(got)) if got == d => {
                let on_disk = self.disk.get(&(d.block, d.offset)).copied();
                prop_assert_eq!(
                    on_disk,
                    Some((slot, m.version)),
                    "slot {} read from {:?}",
                    slot,
                    d
                );
                Ok(Some(d))
            }
            (at, found) => Err(fail(format!("slot {slot}: model {at:?}, found {found:?}"))),
        }
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Store { slot, same } => {
                let version = self.next_version;
                self.next_version += 1;
                let h = if same {
                    H::Same(version)
                } else {
                    self.next_id += 1;
                    H::Obj(self.next_id)
                };
                let got = self.table.store(slot, h, &mut self.dev);
                if slot >= SLOTS {
                    prop_assert_eq!(got, Err(WbError::OutOfRange));
                    return Ok(());
                }
                if let H::Obj(id) = h {
                    self.pool.insert(id, (slot, version));
                }
                let got = got.map_err(|e| fail(format!("{e:?}")))?;
                prop_assert_eq!(got, self.expected_back(slot));
                self.free_handle(slot, got)?;
                self.model[slot as usize] = MSlot {
                    at: Where::Ram(h),
                    version,
                };
            }
            Op::Free(slot) => {
                let got = self.table.free(slot, &mut self.dev);
                if slot >= SLOTS {
                    prop_assert_eq!(got, Err(WbError::OutOfRange));
                    return Ok(());
                }
                let got = got.map_err(|e| fail(format!("{e:?}")))?;
                prop_assert_eq!(got, self.expected_back(slot));
                self.free_handle(slot, got)?;
                self.model[slot as usize].at = Where::Empty;
            }
            Op::Load(slot) | Op::StartRead(slot) => {
                let found = self.table.load(slot, &mut self.dev);
                if slot >= SLOTS {
                    prop_assert_eq!(found, Err(WbError::OutOfRange));
                    return Ok(());
                }
                let found = found.map_err(|e| fail(format!("{e:?}")))?;
                if let Some(dest) = self.check_found(slot, found)? {
                    if matches!(op, Op::Load(_)) {
                        self.table.unpin(dest, &mut self.dev);
                    } else {
                        self.reads
                            .push((dest, slot, self.model[slot as usize].version));
                    }
                }
            }
            Op::FinishRead(i) => {
                if self.reads.is_empty() {
                    return Ok(());
                }
                let (dest, slot, version) = self.reads.remove(i % self.reads.len());
                let on_disk = self.disk.get(&(dest.block, dest.offset)).copied();
                prop_assert_eq!(
                    on_disk,
                    Some((slot, version)),
                    "read in flight of {:?}",
                    dest
                );
                self.table.unpin(dest, &mut self.dev);
            }
            Op::Writeback { pages, slots } => self.writeback(pages, slots)?,
            Op::Io { batch, ok } => {
                if let Some(b) = self.pick_batch(batch) {
                    self.io(b, ok)?;
                }
            }
            Op::Settle { batch, ticket, ok } => {
                if let Some(b) = self.pick_batch(batch) {
                    self.settle(b, ticket, ok)?;
                }
            }
        }
        Ok(())
    }

    fn writeback(&mut self, pages: u32, slots: Vec<u64>) -> Result<(), TestCaseError> {
        let records: Vec<(u64, u16, u16)> = slots
            .iter()
            .enumerate()
            .map(|(i, &s)| (s, i as u16 * OBJECT, OBJECT))
            .collect();
        let mut tickets = Vec::new();
        let got = self
            .table
            .begin_frame(pages, records.clone(), &mut self.dev, |t| tickets.push(t));
        // Which records the model expects to begin: writable resident slots, once each.
        let mut expected = Vec::new();
        let mut begun = vec![false; SLOTS as usize];
        for &(slot, _, _) in &records {
            let Some(m) = self.model.get(slot as usize) else {
                continue;
            };
            if matches!(m.at, Where::Ram(H::Obj(_))) && !begun[slot as usize] {
                begun[slot as usize] = true;
                expected.push(slot);
            }
        }
        let (block, count) = match got {
            // When space runs out is the allocator's model's business (backing_model.rs).
            Err(WbError::Backing(BackingError::NoSpace)) => {
                prop_assert!(tickets.is_empty());
                return Ok(());
            }
            Err(WbError::NothingToWrite) => {
                prop_assert!(expected.is_empty());
                prop_assert!(tickets.is_empty());
                return Ok(());
            }
            Err(e) => return Err(fail(format!("begin_frame: {e:?}"))),
            Ok(done) => done,
        };
        prop_assert_eq!(count as usize, tickets.len());
        let got_slots: Vec<u64> = tickets.iter().map(|t| t.slot).collect();
        prop_assert_eq!(&got_slots, &expected);
        // A fresh extent: nothing the model knows refers to it.
        prop_assert!(
            !self.live_holds().contains_key(&block),
            "extent {} reused",
            block
        );
        let batch = self.batches.len();
        let mut entries = Vec::new();
        for (i, t) in tickets.iter().enumerate() {
            let m = &mut self.model[t.slot as usize];
            let Where::Ram(h) = m.at else {
                return Err(fail(format!("{t:?} began a non-resident slot")));
            };
            let (_, offset, len) = records
                .iter()
                .copied()
                .find(|r| r.0 == t.slot)
                .expect("a record");
            prop_assert_eq!(t.dest, Dest { block, offset, len });
            m.at = Where::Flight {
                h,
                batch,
                ticket: i,
            };
            entries.push((*t, m.version, false));
        }
        self.batches.push(Batch {
            block,
            pages,
            tickets: entries,
            io: None,
        });
        Ok(())
    }

    /// The batches with tickets left to settle, the `n`th of them (modulo).
    fn pick_batch(&self, n: usize) -> Option<usize> {
        let open: Vec<usize> = (0..self.batches.len())
            .filter(|&b| self.batches[b].tickets.iter().any(|t| !t.2))
            .collect();
        (!open.is_empty()).then(|| open[n % open.len()])
    }

    /// Ends batch `b`'s I/O: its bytes land on the device, or garbage does.
    fn io(&mut self, b: usize, ok: bool) -> Result<(), TestCaseError> {
        let batch = &mut self.batches[b];
        if batch.io.is_some() {
            return Ok(());
        }
        batch.io = Some(ok);
        let extent = self.dev.extent(batch.block);
        prop_assert_eq!(
            extent.map(|e| e.len),
            Some(batch.pages),
            "I/O into a freed extent"
        );
        for &(t, version, _) in &batch.tickets {
            let data = if ok { version } else { GARBAGE };
            self.disk
                .insert((t.dest.block, t.dest.offset), (t.slot, data));
        }
        Ok(())
    }

    fn settle(&mut self, b: usize, i: usize, ok: bool) -> Result<(), TestCaseError> {
        self.io(b, ok)?;
        let batch = &self.batches[b];
        let ok = batch.io == Some(true);
        let open: Vec<usize> = (0..batch.tickets.len())
            .filter(|&t| !batch.tickets[t].2)
            .collect();
        let i = open[i % open.len()];
        let ticket = batch.tickets[i].0;
        self.batches[b].tickets[i].2 = true;
        let slot = ticket.slot;
        let m = self.model[slot as usize];
        let live = matches!(m.at, Where::Flight { batch, ticket, .. } if batch == b && ticket == i);
        if ok {
            let got = self.table.complete(ticket, &mut self.dev);
            if live {
                let Where::Flight { h, .. } = m.at else {
                    unreachable!()
                };
                prop_assert_eq!(got, Some(h));
                self.free_handle(slot, got)?;
                self.model[slot as usize].at = Where::Disk(ticket.dest);
            } else {
                prop_assert_eq!(got, None, "stale {:?} completed", ticket);
            }
        } else {
            let restored = self.table.fail(ticket, &mut self.dev);
            prop_assert_eq!(restored, live, "{:?} failed", ticket);
            if let Where::Flight { h, .. } = m.at {
                if live {
                    self.model[slot as usize].at = Where::Ram(h);
                }
            }
        }
        Ok(())
    }

    /// The holds each extent must have: migrated slots, tickets not settled, reads.
    fn live_holds(&self) -> HashMap<u32, u16> {
        let mut holds: HashMap<u32, u16> = HashMap::new();
        let mut add = |block: u32| *holds.entry(block).or_default() += 1;
        for m in &self.model {
            if let Where::Disk(d) = m.at {
                add(d.block);
            }
        }
        for batch in &self.batches {
            for t in batch.tickets.iter().filter(|t| !t.2) {
                add(t.0.dest.block);
            }
        }
        for (d, _, _) in &self.reads {
            add(d.block);
        }
        holds
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let counts = self.table.counts();
        prop_assert_eq!(counts.bad_releases, 0, "a release was refused");
        let count = |f: fn(&Where) -> bool| self.model.iter().filter(|m| f(&m.at)).count() as u64;
        prop_assert_eq!(counts.resident, count(|w| matches!(w, Where::Ram(_))));
        prop_assert_eq!(
            counts.migrating,
            count(|w| matches!(w, Where::Flight { .. }))
        );
        prop_assert_eq!(counts.migrated, count(|w| matches!(w, Where::Disk(_))));
        for (slot, m) in self.model.iter().enumerate() {
            let state = self.table.state(slot as u64).expect("in range");
            let ok = match (m.at, state) {
                (Where::Empty, State::Empty) => true,
                (Where::Ram(h), State::Resident(got)) => got == h,
                (Where::Flight { h, batch, .. }, State::Migrating { kept, block }) => {
                    h == H::Obj(kept) && block == self.batches[batch].block
                }
                (Where::Disk(d), State::Migrated(got)) => got == d,
                _ => false,
            };
            prop_assert!(ok, "slot {}: model {:?}, state {:?}", slot, m.at, state);
            if let Where::Disk(d) = m.at {
                let on_disk = self.disk.get(&(d.block, d.offset)).copied();
                prop_assert_eq!(on_disk, Some((slot as u64, m.version)));
            }
        }
        // Pool objects: exactly those the slots hold in memory.
        let in_ram = self
            .model
            .iter()
            .filter(|m| {
                matches!(
                    m.at,
                    Where::Ram(H::Obj(_)) | Where::Flight { h: H::Obj(_), .. }
                )
            })
            .count();
        prop_assert_eq!(self.pool.len(), in_ram, "pool objects leaked");
        let holds = self.live_holds();
        let stats = self.dev.stats();
        prop_assert_eq!(stats.extents as usize, holds.len(), "extents");
        prop_assert_eq!(
            stats.holds,
            holds.values().map(|&h| u64::from(h)).sum::<u64>()
        );
        let mut used = 0;
        for (&block, &h) in &holds {
            let extent = self.dev.extent(block);
            prop_assert_eq!(
                extent.map(|e| e.holds),
                Some(h),
                "holds of extent {}",
                block
            );
            used += extent.map_or(0, |e| e.len);
        }
        prop_assert_eq!(stats.used_blocks, used);
        Ok(())
    }

    /// Settles everything, ends every read, frees every slot: nothing may remain.
    fn finish(&mut self, ok: bool) -> Result<(), TestCaseError> {
        while let Some(b) = self.pick_batch(0) {
            self.settle(b, 0, ok)?;
            self.check()?;
        }
        while !self.reads.is_empty() {
            self.apply(Op::FinishRead(0))?;
        }
        for slot in 0..SLOTS {
            self.apply(Op::Load(slot))?;
            self.apply(Op::Free(slot))?;
            self.check()?;
        }
        let stats = self.dev.stats();
        prop_assert_eq!((stats.used_blocks, stats.extents, stats.holds), (0, 0, 0));
        prop_assert!(self.pool.is_empty());
        Ok(())
    }
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..SLOTS + 1;
    prop_oneof![
        6 => (slot.clone(), prop::bool::weighted(0.2)).prop_map(|(slot, same)| Op::Store { slot, same }),
        3 => slot.clone().prop_map(Op::Free),
        4 => slot.clone().prop_map(Op::Load),
        2 => slot.clone().prop_map(Op::StartRead),
        2 => any::<usize>().prop_map(Op::FinishRead),
        4 => (1u32..=8, prop::collection::vec(slot, 0..5))
            .prop_map(|(pages, slots)| Op::Writeback { pages, slots }),
        2 => (any::<usize>(), prop::bool::weighted(0.8)).prop_map(|(batch, ok)| Op::Io { batch, ok }),
        6 => (any::<usize>(), any::<usize>(), prop::bool::weighted(0.8))
            .prop_map(|(batch, ticket, ok)| Op::Settle { batch, ticket, ok }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn writeback_matches_model(
        blocks in prop_oneof![8usize..24, 64usize..80],
        ops in prop::collection::vec(op(), 1..200),
        ok in any::<bool>(),
    ) {
        let mut h = Harness::new(blocks);
        for op in ops {
            h.apply(op)?;
            h.check()?;
        }
        h.finish(ok)?;
    }
}
