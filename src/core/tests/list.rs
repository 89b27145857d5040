//! Tests of the intrusive lists (`list`).

use ghostswap_core::list::{Chain, Links, List};

struct Plain;

impl Chain<Links> for Plain {
    fn links(entry: &Links) -> Option<&Links> {
        Some(entry)
    }
    fn links_mut(entry: &mut Links) -> Option<&mut Links> {
        Some(entry)
    }
}

/// Entries that are `None` cannot be linked.
struct Maybe;

impl Chain<Option<Links>> for Maybe {
    fn links(entry: &Option<Links>) -> Option<&Links> {
        entry.as_ref()
    }
    fn links_mut(entry: &mut Option<Links>) -> Option<&mut Links> {
        entry.as_mut()
    }
}

#[test]
fn list_operations() {
    let mut entries = [Links::default(); 6];
    let mut list = List::<Plain>::new();
    assert!(list.is_empty());
    assert_eq!(list.pop_front(&mut entries), None);
    for id in [3, 1, 4] {
        assert!(list.push_back(&mut entries, id));
    }
    assert!(list.push_front(&mut entries, 0));
    assert_eq!(list.iter(&entries).collect::<Vec<_>>(), [0, 3, 1, 4]);
    assert_eq!(
        (list.front(), list.back(), list.len()),
        (Some(0), Some(4), 4)
    );
    assert_eq!(list.next(&entries, 3), Some(1));
    assert_eq!(list.next(&entries, 4), None);
    assert!(!list.remove(&mut entries, 5), "not on the list");
    assert!(!list.push_back(&mut entries, 6), "out of the table");
    assert!(!list.remove(&mut entries, u32::MAX));
    assert!(list.remove(&mut entries, 1));
    assert!(list.remove(&mut entries, 4));
    assert_eq!(list.iter(&entries).collect::<Vec<_>>(), [0, 3]);
    assert_eq!(list.back(), Some(3));
    assert_eq!(list.pop_front(&mut entries), Some(0));
    assert_eq!(list.pop_front(&mut entries), Some(3));
    assert!(list.is_empty());
    assert_eq!((list.front(), list.back()), (None, None));
    assert_eq!(entries, [Links::UNLINKED; 6]);
}

#[test]
fn list_refuses_entries_without_links() {
    let mut entries = [Some(Links::default()), None, Some(Links::default())];
    let mut list = List::<Maybe>::new();
    assert!(list.push_back(&mut entries, 0));
    assert!(!list.push_back(&mut entries, 1));
    assert!(!list.push_front(&mut entries, 1));
    assert!(!list.remove(&mut entries, 1));
    assert!(list.push_front(&mut entries, 2));
    assert_eq!(list.iter(&entries).collect::<Vec<_>>(), [2, 0]);
    assert_eq!(list.next(&entries, 1), None);
}

#[test]
fn list_walks_stop_on_corrupted_links() {
    let mut entries = [Links::default(); 2];
    let mut b = List::<Plain>::new();
    let mut c = List::<Plain>::new();
    // Break the rule that an entry is on one list of a kind at a time: entry 1 ends up
    // with 0 on both sides, and removing it links 0 to itself.
    assert!(c.push_back(&mut entries, 1));
    assert!(b.push_back(&mut entries, 0));
    assert!(b.push_back(&mut entries, 1));
    assert!(c.push_back(&mut entries, 0));
    assert!(b.remove(&mut entries, 1));
    assert_eq!(b.next(&entries, 0), Some(0));
    // The walk is bounded by the length instead of going round forever.
    assert_eq!(b.iter(&entries).count(), 1);
}
