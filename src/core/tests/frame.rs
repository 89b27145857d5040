//! Tests of the record layout of packed frames (`frame`): record headers, holes with
//! their footers and links, walks over the records, records in large frames, and the sizes
//! of an object reference and a frame table entry.

use ghostswap_core::frame::{
    hole_before, hole_links, read_record, record_size, records, set_owner, set_prev_free,
    write_hole, write_record, HoleLinks, HoleList, Page, Record, FREE_OWNER, MAX_FRAME_SIZE,
    MAX_OBJECT, MIN_RECORD,
};
use ghostswap_core::pool::{FrameEntry, ObjectRef};

// The record layout.

#[test]
fn record_header_is_owner_then_length_little_endian() {
    let mut page = [0u8; 4096];
    let r = write_record(&mut page, 10, 0x0102_0304, b"xyz").unwrap();
    assert_eq!(
        r,
        Record {
            offset: 10,
            owner: 0x0102_0304,
            len: 3,
            prev_free: false,
        }
    );
    assert_eq!(&page[10..19], &[4, 3, 2, 1, 3, 0, b'x', b'y', b'z']);
    // Padded to 12 bytes; the padding is not data.
    assert_eq!((r.size(), r.end(), r.data_range()), (12, 22, 16..19));
    assert_eq!((r.padding(), record_size(3), record_size(6)), (3, 12, 12));
    assert_eq!(record_size(7), 13);
    assert_eq!(read_record(&page, 10, 22), Some(r));
    // The record, padding included, must end at or before the tail.
    assert_eq!(read_record(&page, 10, 21), None);
    // Bit 15 of the length says that a hole is before the record.
    assert!(set_prev_free(&mut page, 10, true));
    assert_eq!(&page[14..16], &[3, 0x80]);
    assert_eq!(
        read_record(&page, 10, 22),
        Some(Record {
            prev_free: true,
            ..r
        })
    );
    assert!(set_prev_free(&mut page, 10, false));
    assert_eq!(read_record(&page, 10, 22), Some(r));
    assert!(set_owner(&mut page, 10, FREE_OWNER));
    assert!(read_record(&page, 10, 22).unwrap().is_free());
    assert_eq!(&page[10..14], &[0xff; 4]);
}

#[test]
fn holes_carry_a_footer_and_links() {
    let mut page = [0u8; 4096];
    // Too small for a header, links and footer, or past the frame.
    assert_eq!(write_hole(&mut page, 0, MIN_RECORD as u16 - 1), None);
    assert_eq!(write_hole(&mut page, 4090, 12), None);
    let hole = write_hole(&mut page, 100, 40).unwrap();
    assert_eq!((hole.offset, hole.len, hole.is_free()), (100, 34, true));
    assert_eq!(&page[100..106], &[0xff, 0xff, 0xff, 0xff, 34, 0]);
    assert_eq!(&page[138..140], &[40, 0], "the footer is the hole's size");
    assert_eq!(hole_before(&page, 140), Some(hole));
    // Not at the end of a hole.
    assert_eq!(hole_before(&page, 139), None);
    assert_eq!(hole_before(&page, 1), None);
    // A list of three holes, the last pushed first.
    let second = write_hole(&mut page, 200, 12).unwrap();
    let third = write_hole(&mut page, 300, 60).unwrap();
    let mut list = HoleList::EMPTY;
    for h in [hole, second, third] {
        assert!(list.push(&mut page, h.offset));
    }
    let offsets = |list: HoleList, page: &[u8]| -> Vec<u16> {
        list.iter(page, 4096).map(|h| h.offset).collect()
    };
    assert_eq!(offsets(list, &page), [300, 200, 100]);
    assert_eq!(list.first(), Some(300));
    let links = |page: &[u8], at| hole_links(page, at).unwrap();
    assert_eq!(
        links(&page, 200),
        HoleLinks {
            prev: Some(300),
            next: Some(100)
        }
    );
    assert_eq!(&page[206..210], &[0x2c, 1, 100, 0], "little-endian offsets");
    assert_eq!(list.largest(&page, 4096), 60);
    // The smallest hole that fits, exactly or leaving a hole of 12 bytes.
    let scan = list.best_fit(&page, 4096, 28);
    assert_eq!((scan.best, scan.largest_other), (Some(hole), 60));
    assert_eq!(list.best_fit(&page, 4096, 12).best, Some(second));
    assert_eq!(list.best_fit(&page, 4096, 29).best, Some(third));
    assert_eq!(list.best_fit(&page, 4096, 49).best, None);
    assert!(list.remove(&mut page, 200));
    assert_eq!(offsets(list, &page), [300, 100]);
    assert_eq!(links(&page, 300).next, Some(100));
    assert_eq!(links(&page, 100).prev, Some(300));
    assert!(list.remove(&mut page, 300));
    assert_eq!((list.first(), links(&page, 100).prev), (Some(100), None));
    // A hole that is not first and has no previous one is not on the list.
    assert!(!list.remove(&mut page, 300));
    assert!(list.remove(&mut page, 100));
    assert_eq!(list, HoleList::EMPTY);
    assert_eq!(list.largest(&page, 4096), 0);
    // A walk over corrupted links stops: holes below the tail only, and no cycles.
    let mut list = HoleList::EMPTY;
    assert!(list.push(&mut page, 100));
    assert!(list.push(&mut page, 300));
    assert_eq!(offsets(list, &page[..]), [300, 100]);
    assert_eq!(list.iter(&page, 200).count(), 0);
    page[108..110].copy_from_slice(&300u16.to_le_bytes());
    assert_eq!(list.iter(&page, 4096).count(), 4096 / 12);
}

#[test]
fn records_must_fit_in_the_frame() {
    let mut page = [0u8; 4096];
    assert!(write_record(&mut page, 0, 1, &[7; MAX_OBJECT]).is_some());
    assert_eq!(read_record(&page, 0, 4096).map(|r| r.end()), Some(4096));
    assert!(write_record(&mut page, 0, 1, &[7; MAX_OBJECT + 1]).is_none());
    assert!(write_record(&mut page, 4090, 1, &[1]).is_none());
    // One byte of data takes a record of 12 bytes.
    assert!(write_record(&mut page, 4085, 1, &[1]).is_none());
    assert!(write_record(&mut page, 4084, 1, &[1]).is_some());
    assert!(write_record(&mut page, 4095, 1, &[]).is_none());
    assert!(!set_owner(&mut page, 4093, 1));
    assert!(set_owner(&mut page, 4092, 1));
    // A header claiming more than the frame holds is no record.
    page[0..6].copy_from_slice(&[1, 0, 0, 0, 0xff, 0xff]);
    assert_eq!(read_record(&page, 0, u16::MAX), None);
    assert_eq!(records(&page, 4096).count(), 0);
}

#[test]
fn walking_records_visits_objects_and_holes() {
    let mut page = [0u8; 4096];
    let a = write_record(&mut page, 0, 1, &[1; 10]).unwrap();
    let b = write_record(&mut page, a.end(), 2, &[2; 20]).unwrap();
    let c = write_record(&mut page, b.end(), 3, &[3; 30]).unwrap();
    set_owner(&mut page, b.offset, FREE_OWNER);
    let walked: Vec<(u16, u32)> = records(&page, c.end())
        .map(|r| (r.offset, r.owner))
        .collect();
    assert_eq!(walked, [(0, 1), (16, FREE_OWNER), (42, 3)]);
    // A walk to a tail inside a record stops before it.
    assert_eq!(records(&page, c.end() - 1).count(), 2);
    // Tiny records are walked by their padded size.
    let d = write_record(&mut page, c.end(), 4, &[4]).unwrap();
    let e = write_record(&mut page, d.end(), 5, &[5; 6]).unwrap();
    let walked: Vec<u16> = records(&page, e.end()).map(|r| r.offset).collect();
    assert_eq!(walked, [0, 16, 42, 78, 90]);
}

#[test]
fn records_in_large_frames() {
    let mut frame = vec![0u8; MAX_FRAME_SIZE];
    // The last bytes of a 32 KiB frame are reachable with u16 offsets.
    let r = write_record(&mut frame, 32768 - 4096, 5, &[9; MAX_OBJECT]).unwrap();
    assert_eq!(r.end() as usize, MAX_FRAME_SIZE);
    assert_eq!(read_record(&frame, r.offset, 32768), Some(r));
    assert!(write_record(&mut frame, 32768 - 6, 5, &[1]).is_none());
    // No object longer than a page minus its header, whatever the room.
    assert!(write_record(&mut frame, 0, 5, &[1; MAX_OBJECT + 1]).is_none());
    // Records are read only up to the slice's own end.
    assert_eq!(read_record(&frame[..8192], r.offset, 32768), None);
    // A slice longer than the largest frame has no records and takes none.
    let mut long = vec![0u8; MAX_FRAME_SIZE + 1];
    assert!(write_record(&mut long, 0, 1, b"x").is_none());
    assert!(!set_owner(&mut long, 0, 1));
    assert_eq!(read_record(&long, 0, 100), None);
    assert_eq!(records(&long, 100).count(), 0);
}

#[test]
fn handles_and_entries_are_small() {
    assert_eq!(size_of::<ObjectRef>(), 8);
    // The pointer, two sets of links, 12 bytes of usage and the first hole, the last use
    // and idle mark, the compaction mark and the cached class: no padding left.
    #[cfg(target_pointer_width = "64")]
    assert_eq!(size_of::<FrameEntry<Box<Page>>>(), 40);
    // A fat pointer as frame: still no more than the padding needs.
    #[cfg(target_pointer_width = "64")]
    assert_eq!(size_of::<FrameEntry<Box<[u8]>>>(), 48);
}
