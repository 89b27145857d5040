//! Intrusive doubly linked lists of table entries, linked by index.
//!
//! The pool keeps its frames on lists (least recently used order, free-space buckets, the
//! reserve) without allocating: each entry of its table carries [`Links`], the indexes of
//! its neighbours, and a [`List`] holds only the indexes of its ends. Every operation is
//! O(1) except walking.
//!
//! One entry type can carry links for several kinds of list; a [`Chain`] says where an
//! entry keeps the links of one kind. An entry is on at most one list of each kind at a
//! time, which the owner of the lists ensures. The operations check what they can cheaply
//! (an index out of the table, an entry without links of that kind, removing an entry
//! that is not an end and has no neighbours) and refuse it instead of corrupting the
//! list; none of them panics, and walks stop after [`List::len`] steps even if the links
//! were corrupted into a cycle.
//!
//! # Examples
//!
//! ```
//! use ghostswap_core::list::{Chain, Links, List};
//!
//! struct ByLinks;
//! impl Chain<Links> for ByLinks {
//!     fn links(entry: &Links) -> Option<&Links> {
//!         Some(entry)
//!     }
//!     fn links_mut(entry: &mut Links) -> Option<&mut Links> {
//!         Some(entry)
//!     }
//! }
//!
//! let mut entries = [Links::default(); 4];
//! let mut list = List::<ByLinks>::new();
//! assert!(list.push_back(&mut entries, 2));
//! assert!(list.push_back(&mut entries, 0));
//! assert!(list.push_front(&mut entries, 3));
//! assert_eq!(list.iter(&entries).collect::<Vec<_>>(), [3, 2, 0]);
//! assert!(list.remove(&mut entries, 2));
//! assert_eq!(list.iter(&entries).collect::<Vec<_>>(), [3, 0]);
//! assert!(!list.remove(&mut entries, 1)); // Not on the list.
//! ```

use core::marker::PhantomData;

use super::table::Table;

/// The index that links to no entry.
pub const NONE: u32 = u32::MAX;

/// The links of one entry for one kind of list: the indexes of its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Links {
    prev: u32,
    next: u32,
}

impl Links {
    /// Links of an entry that is on no list, or alone on one.
    pub const UNLINKED: Links = Links {
        prev: NONE,
        next: NONE,
    };

    /// Returns the index of the previous entry, if any.
    pub fn prev(&self) -> Option<u32> {
        some_index(self.prev)
    }

    /// Returns the index of the next entry, if any.
    pub fn next(&self) -> Option<u32> {
        some_index(self.next)
    }
}

impl Default for Links {
    fn default() -> Self {
        Links::UNLINKED
    }
}

/// Where entries of type `T` keep their links for one kind of list.
pub trait Chain<T> {
    /// Returns the links of `entry`, or `None` if an entry in its state cannot be on a list
    /// of this kind.
    fn links(entry: &T) -> Option<&Links>;

    /// Returns the links of `entry` mutably, or `None` like [`Chain::links`].
    fn links_mut(entry: &mut T) -> Option<&mut Links>;
}

/// Returns `index` unless it is [`NONE`].
#[inline]
fn some_index(index: u32) -> Option<u32> {
    (index != NONE).then_some(index)
}

/// Returns the links of kind `C` of the entry at `id`.
#[inline]
fn links<'a, T: 'a, C: Chain<T>, E: Table<T> + ?Sized>(
    entries: &'a E,
    id: u32,
) -> Option<&'a Links> {
    let entry = usize::try_from(id).ok().and_then(|i| entries.get(i))?;
    C::links(entry)
}

/// Returns the links of kind `C` of the entry at `id`, mutably.
#[inline]
fn links_mut<'a, T: 'a, C: Chain<T>, E: Table<T> + ?Sized>(
    entries: &'a mut E,
    id: u32,
) -> Option<&'a mut Links> {
    let entry = usize::try_from(id).ok().and_then(|i| entries.get_mut(i))?;
    C::links_mut(entry)
}

/// A list of entries of a table, linked through the links that `C` finds in them.
///
/// The list is not tied to one table: every operation takes the entries, and a list must
/// always be given the same ones.
///
/// # Invariants
///
/// - `head` and `tail` are both [`NONE`] (empty list, `len == 0`) or both entries of the
///   list; the head's `prev` and the tail's `next` are [`NONE`].
/// - Following `next` from `head` visits the `len` entries of the list and ends at `tail`;
///   `prev` links are the reverse.
#[derive(Debug)]
pub struct List<C> {
    head: u32,
    tail: u32,
    len: u32,
    chain: PhantomData<C>,
}

impl<C> Default for List<C> {
    fn default() -> Self {
        List::new()
    }
}

impl<C> List<C> {
    /// Returns an empty list.
    pub const fn new() -> Self {
        List {
            head: NONE,
            tail: NONE,
            len: 0,
            chain: PhantomData,
        }
    }

    /// Returns the index of the first entry, if any.
    pub fn front(&self) -> Option<u32> {
        some_index(self.head)
    }

    /// Returns the index of the last entry, if any.
    pub fn back(&self) -> Option<u32> {
        some_index(self.tail)
    }

    /// Returns the number of entries on the list.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Returns `true` if the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Puts the entry at `id` first on the list.
    ///
    /// The entry must not be on a list of this kind. Returns `false`, changing nothing, if
    /// `id` is out of the table or the entry has no links of this kind.
    #[inline]
    pub fn push_front<T, E: Table<T> + ?Sized>(&mut self, entries: &mut E, id: u32) -> bool
    where
        C: Chain<T>,
    {
        let old_head = self.head;
        let Some(own) = links_mut::<T, C, E>(entries, id) else {
            return false;
        };
        *own = Links {
            prev: NONE,
            next: old_head,
        };
        if let Some(old) = links_mut::<T, C, E>(entries, old_head) {
            old.prev = id;
        }
        self.head = id;
        if self.tail == NONE {
            self.tail = id;
        }
        // INVARIANT: `id` is linked in before the old head; an empty list now has one entry.
        self.len = self.len.saturating_add(1);
        true
    }

    /// Puts the entry at `id` last on the list.
    ///
    /// The entry must not be on a list of this kind. Returns `false`, changing nothing, if
    /// `id` is out of the table or the entry has no links of this kind.
    #[inline]
    pub fn push_back<T, E: Table<T> + ?Sized>(&mut self, entries: &mut E, id: u32) -> bool
    where
        C: Chain<T>,
    {
        let old_tail = self.tail;
        let Some(own) = links_mut::<T, C, E>(entries, id) else {
            return false;
        };
        *own = Links {
            prev: old_tail,
            next: NONE,
        };
        if let Some(old) = links_mut::<T, C, E>(entries, old_tail) {
            old.next = id;
        }
        self.tail = id;
        if self.head == NONE {
            self.head = id;
        }
        // INVARIANT: `id` is linked in after the old tail; an empty list now has one entry.
        self.len = self.len.saturating_add(1);
        true
    }

    /// Takes the entry at `id` off the list.
    ///
    /// The entry must be on this list if it is on a list of this kind at all. Returns
    /// `false`, changing nothing, if `id` is out of the table, has no links of this kind,
    /// or is visibly not on this list (it has no previous entry but is not the head, or no
    /// next entry but is not the tail).
    #[inline]
    pub fn remove<T, E: Table<T> + ?Sized>(&mut self, entries: &mut E, id: u32) -> bool
    where
        C: Chain<T>,
    {
        let Some(&Links { prev, next }) = links::<T, C, E>(entries, id) else {
            return false;
        };
        if (prev == NONE && self.head != id) || (next == NONE && self.tail != id) {
            return false;
        }
        match links_mut::<T, C, E>(entries, prev) {
            Some(before) => before.next = next,
            None => self.head = next,
        }
        match links_mut::<T, C, E>(entries, next) {
            Some(after) => after.prev = prev,
            None => self.tail = prev,
        }
        if let Some(own) = links_mut::<T, C, E>(entries, id) {
            *own = Links::UNLINKED;
        }
        // INVARIANT: the neighbours (or the ends) now link past `id`.
        self.len = self.len.saturating_sub(1);
        true
    }

    /// Takes the first entry off the list and returns its index.
    pub fn pop_front<T, E: Table<T> + ?Sized>(&mut self, entries: &mut E) -> Option<u32>
    where
        C: Chain<T>,
    {
        let id = self.front()?;
        self.remove(entries, id).then_some(id)
    }

    /// Returns the index of the entry after the one at `id` on its list of this kind.
    pub fn next<T, E: Table<T> + ?Sized>(&self, entries: &E, id: u32) -> Option<u32>
    where
        C: Chain<T>,
    {
        links::<T, C, E>(entries, id)?.next()
    }

    /// Returns the index of the entry before the one at `id` on its list of this kind.
    pub fn prev<T, E: Table<T> + ?Sized>(&self, entries: &E, id: u32) -> Option<u32>
    where
        C: Chain<T>,
    {
        links::<T, C, E>(entries, id)?.prev()
    }

    /// Returns an iterator over the indexes of the entries from the front to the back.
    ///
    /// The iterator yields at most [`List::len`] indexes.
    pub fn iter<'a, T, E: Table<T> + ?Sized>(&self, entries: &'a E) -> Iter<'a, T, C, E>
    where
        C: Chain<T>,
    {
        Iter {
            entries,
            next: self.head,
            remaining: self.len,
            chain: PhantomData,
        }
    }
}

/// Iterator over the indexes of a list's entries, returned by [`List::iter`].
#[derive(Debug)]
pub struct Iter<'a, T, C, E: ?Sized> {
    entries: &'a E,
    next: u32,
    remaining: u32,
    chain: PhantomData<(C, T)>,
}

impl<T, C: Chain<T>, E: Table<T> + ?Sized> Iterator for Iter<'_, T, C, E> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let id = some_index(self.next)?;
        self.remaining = self.remaining.checked_sub(1)?;
        self.next = links::<T, C, E>(self.entries, id).map_or(NONE, |own| own.next);
        Some(id)
    }
}
