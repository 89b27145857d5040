//! Frames with a registry: every frame the pool is handed is tracked until it is handed
//! back, so a frame the pool drops instead is noticed.

use ghostswap_core::frame::MAX_FRAME_SIZE;
use ghostswap_core::pool::{FrameEntry, Pool};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

#[derive(Default)]
pub struct Registry {
    /// Frames created and not yet handed back by the pool, with their lengths.
    pub live: BTreeMap<u64, usize>,
    /// Frames dropped without being handed back.
    pub dropped: Vec<u64>,
    /// Frames created so far.
    created: u64,
}

pub type SharedRegistry = Rc<RefCell<Registry>>;

/// A frame that reports to the registry when handed back or dropped.
pub struct TestFrame {
    pub id: u64,
    pub bytes: Vec<u8>,
    returned: bool,
    registry: SharedRegistry,
}

impl TestFrame {
    pub fn new(registry: &SharedRegistry, len: usize) -> Self {
        let mut reg = registry.borrow_mut();
        let id = reg.created;
        reg.created += 1;
        reg.live.insert(id, len);
        // Garbage, so that reading bytes the pool never wrote shows.
        let fill = (id as u8).wrapping_mul(37) | 0x80;
        TestFrame {
            id,
            bytes: vec![fill; len],
            returned: false,
            registry: Rc::clone(registry),
        }
    }

    /// Takes the frame back from the pool (the module would free it here).
    pub fn give_back(mut self) -> u64 {
        let removed = self.registry.borrow_mut().live.remove(&self.id);
        assert_eq!(
            removed,
            Some(self.bytes.len()),
            "frame {} handed back twice or resized",
            self.id
        );
        self.returned = true;
        self.id
    }
}

impl Drop for TestFrame {
    fn drop(&mut self) {
        if !self.returned {
            let mut reg = self.registry.borrow_mut();
            reg.live.remove(&self.id);
            reg.dropped.push(self.id);
        }
    }
}

impl AsRef<[u8]> for TestFrame {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl AsMut<[u8]> for TestFrame {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

pub type TestPool = Pool<TestFrame, Vec<FrameEntry<TestFrame>>>;

/// Whether the pool takes a frame of `len` bytes.
pub fn valid_len(len: usize) -> bool {
    len % 4096 == 0 && (4096..=MAX_FRAME_SIZE).contains(&len)
}
