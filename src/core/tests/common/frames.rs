//! Frames with a registry: every frame a test makes is tracked until the pool drops it
//! (releases it) or the test takes it back, so that frames can be counted: each is
//! held by the pool, taken back once, or released once.

use ghostswap_core::frame::MAX_FRAME_SIZE;
use ghostswap_core::pool::{FrameEntry, Pool};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

#[derive(Debug, Default)]
pub struct Registry {
    /// Frames created and neither released nor taken back, with their lengths.
    pub live: BTreeMap<u64, usize>,
    /// Frames released: dropped while live (by the pool, or with it).
    pub released: Vec<u64>,
    /// Frames created so far.
    created: u64,
}

pub type SharedRegistry = Rc<RefCell<Registry>>;

/// A frame that reports to the registry when taken back or dropped.
#[derive(Debug)]
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

    /// Takes back a frame the pool refused (the module would free it here): it does not
    /// count as released.
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
            reg.released.push(self.id);
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
