//! Memory freed by swap or discard leaves the device at once, reserve included.

use ghostswap_core::migrate::State;
use ghostswap_core::pool::FrameEntry;
use ghostswap_core::store::{Content, Incoming, Store, StoreError};

type Frame = Box<[u8]>;
type TestStore = Store<Vec<State<Content>>, Frame, Vec<FrameEntry<Frame>>>;

fn store_with_frames(slots: usize) -> TestStore {
    let frames = (0..slots + 8).map(|_| FrameEntry::default()).collect();
    Store::new(vec![State::Empty; slots], frames).expect("small store")
}

/// Stores `page` in `index`, handing in frames as the module does.
fn put(store: &mut TestStore, index: u64, page: Incoming<'_>) {
    loop {
        match store.store(index, page) {
            Ok(()) => return,
            Err(StoreError::NeedFrame) => {
                let frame = vec![0; 4096].into_boxed_slice();
                assert!(store.add_frame(frame).is_ok());
            }
            Err(e) => panic!("store failed: {e:?}"),
        }
    }
}

fn mem_used(store: &TestStore) -> u64 {
    store.mm_stat(0).mem_used_total
}

#[test]
fn free_and_free_range_return_every_frame_including_the_reserve() {
    let mut store = store_with_frames(8);
    let huge = [7u8; 4096];
    for index in 0..4 {
        put(&mut store, index, Incoming::Huge(&huge));
    }
    put(&mut store, 4, Incoming::Packed(&[1; 100]));
    assert_eq!(mem_used(&store), 5 * 4096);

    // An overwrite may keep the freed frame in reserve...
    put(&mut store, 0, Incoming::SameFilled(9));
    assert!(mem_used(&store) >= 4 * 4096);

    // ...but a free (swap's notification) gives everything back.
    assert_eq!(store.free(1), Ok(true));
    assert_eq!(mem_used(&store), 3 * 4096);

    // And so does a discard of the rest.
    assert_eq!(store.free_range(0..8), Ok(4));
    assert_eq!(mem_used(&store), 0, "every frame handed in was released");
    assert_eq!(store.pool().pool_stats().total_frames(), 0);
}
