//! Tables of entries reached by index, which may hold fewer entries than they can grow to.
//!
//! The pool's frame table and the backing allocator's arrays are reached through
//! [`Table`] rather than as slices, so that the module can keep them in chunks it
//! allocates as they fill (see `Documentation/design.rst`, "Memory"), while the host
//! tests keep using plain vectors and arrays: every `AsRef<[T]> + AsMut<[T]>` type is a
//! table of fixed length.
//!
//! A table holds entries `0..len()` and may grow, by whole entries appended at the end,
//! up to `capacity()`. Its owner decides when: the core never allocates.
//!
//! # Examples
//!
//! ```
//! use ghostswap_core::table::Table;
//!
//! let mut entries = [0u8; 4];
//! *Table::get_mut(&mut entries, 1).ok_or(())? = 7;
//! assert_eq!(Table::get(&entries, 1), Some(&7));
//! assert_eq!(Table::get(&entries, 4), None);
//! let (a, b) = Table::pair_mut(&mut entries, 3, 1).ok_or(())?;
//! (*a, *b) = (*b, 0);
//! assert_eq!(entries, [0, 0, 0, 7]);
//! # Ok::<(), ()>(())
//! ```

use core::marker::PhantomData;

/// A table of entries of type `T`, indexed from 0.
///
/// `len`, `get`, `get_mut` and `pair_mut` must agree: an entry exists only below
/// `len()`, and stays where it is (an index always reaches the same entry) until the table
/// is dropped. A dense table holds every entry below `len()`; a [`Sparse`] one may have
/// holes there, whose entries it does not hold (yet).
pub trait Table<T> {
    /// Returns how many entries the table holds now.
    fn len(&self) -> usize;

    /// Returns `true` if the table holds no entry.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns how many entries the table can grow to; its length unless it grows.
    fn capacity(&self) -> usize {
        self.len()
    }

    /// Returns the entry at `index`, or `None` past the end.
    fn get(&self, index: usize) -> Option<&T>;

    /// Returns the entry at `index` mutably, or `None` past the end.
    fn get_mut(&mut self, index: usize) -> Option<&mut T>;

    /// Returns the entries at `a` and `b` mutably, or `None` if they are the same or
    /// either is past the end.
    fn pair_mut(&mut self, a: usize, b: usize) -> Option<(&mut T, &mut T)>;
}

impl<T, A> Table<T> for A
where
    A: AsRef<[T]> + AsMut<[T]> + ?Sized,
{
    fn len(&self) -> usize {
        self.as_ref().len()
    }

    fn get(&self, index: usize) -> Option<&T> {
        self.as_ref().get(index)
    }

    fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.as_mut().get_mut(index)
    }

    fn pair_mut(&mut self, a: usize, b: usize) -> Option<(&mut T, &mut T)> {
        let (low, high) = self.as_mut().split_at_mut_checked(a.max(b))?;
        let first = low.get_mut(a.min(b))?;
        let second = high.first_mut()?;
        match a.cmp(&b) {
            core::cmp::Ordering::Less => Some((first, second)),
            core::cmp::Ordering::Greater => Some((second, first)),
            core::cmp::Ordering::Equal => None,
        }
    }
}

/// The list of chunks of a [`Chunked`] table, which the owner of the table provides.
pub trait Directory<C> {
    /// Returns the chunks, in the order they were pushed.
    fn chunks(&self) -> &[C];

    /// Returns the chunks mutably.
    fn chunks_mut(&mut self) -> &mut [C];

    /// Appends `chunk` without allocating, or gives it back if the directory is full.
    fn push(&mut self, chunk: C) -> Result<(), C>;
}

/// A table kept in chunks of `chunk_len` entries, which grows a chunk at a time up to
/// `capacity` entries.
///
/// The owner allocates a chunk where it may (outside any spinlock) and appends it with
/// [`Chunked::push_chunk`]; entries never move, so indexes stay valid. Only what is used
/// costs memory: a device of a terabyte whose pool holds a few frames needs a few chunks,
/// not a table for every page.
///
/// # Invariants
///
/// - `chunk_len > 0`; every chunk of `dir` holds exactly `chunk_len` entries.
/// - `dir` holds at most `ceil(capacity / chunk_len)` chunks.
pub struct Chunked<D, C, T> {
    dir: D,
    chunk_len: usize,
    capacity: usize,
    entries: PhantomData<fn() -> (C, T)>,
}

impl<D, C, T> Chunked<D, C, T>
where
    D: Directory<C>,
    C: AsRef<[T]> + AsMut<[T]>,
{
    /// Creates a table that holds nothing yet and grows to `capacity` entries in chunks of
    /// `chunk_len`; `None` if `chunk_len` is 0 or `dir` is not empty.
    pub fn new(dir: D, chunk_len: usize, capacity: usize) -> Option<Self> {
        if chunk_len == 0 || !dir.chunks().is_empty() {
            return None;
        }
        Some(Self {
            dir,
            chunk_len,
            capacity,
            entries: PhantomData,
        })
    }

    /// Returns the number of chunks the table can hold.
    pub fn max_chunks(&self) -> usize {
        self.capacity
            .checked_add(self.chunk_len.saturating_sub(1))
            .and_then(|rounded| rounded.checked_div(self.chunk_len))
            .unwrap_or(0)
    }

    /// Returns the number of chunks the table holds.
    pub fn chunks(&self) -> usize {
        self.dir.chunks().len()
    }

    /// Appends `chunk`, or gives it back if it does not hold `chunk_len` entries or the
    /// table holds its capacity already. Does not allocate.
    pub fn push_chunk(&mut self, chunk: C) -> Result<(), C> {
        if chunk.as_ref().len() != self.chunk_len || self.chunks() >= self.max_chunks() {
            return Err(chunk);
        }
        // INVARIANT: a chunk of `chunk_len` entries, within the capacity.
        self.dir.push(chunk)
    }

    /// Splits `index` into a chunk and a place in it.
    fn place(&self, index: usize) -> Option<(usize, usize)> {
        split(index, self.len(), self.chunk_len)
    }
}

impl<D, C, T> Table<T> for Chunked<D, C, T>
where
    D: Directory<C>,
    C: AsRef<[T]> + AsMut<[T]>,
{
    fn len(&self) -> usize {
        self.chunks()
            .saturating_mul(self.chunk_len)
            .min(self.capacity)
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn get(&self, index: usize) -> Option<&T> {
        let (chunk, at) = self.place(index)?;
        self.dir.chunks().get(chunk)?.as_ref().get(at)
    }

    fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        let (chunk, at) = self.place(index)?;
        self.dir.chunks_mut().get_mut(chunk)?.as_mut().get_mut(at)
    }

    fn pair_mut(&mut self, a: usize, b: usize) -> Option<(&mut T, &mut T)> {
        let (a, b) = (self.place(a)?, self.place(b)?);
        pair_in(self.dir.chunks_mut(), a, b, Some)
    }
}

/// A table kept in chunks of `chunk_len` entries, each chunk in its place: a chunk is
/// added where an entry is first needed, so the table may have holes.
///
/// The slot table is one: a device of a terabyte that holds a few pages needs the chunks
/// around those pages only. `dir` holds a place for every chunk, empty (`None`) until the
/// owner fills it with [`Sparse::insert_chunk`]; its length is fixed.
///
/// # Invariants
///
/// - `chunk_len > 0`; `dir` has `ceil(capacity / chunk_len)` places, and every chunk in
///   it holds exactly `chunk_len` entries.
/// - `top` is one more than the place of the last chunk held, or 0; `held` is the number
///   of chunks held.
pub struct Sparse<D, C, T> {
    dir: D,
    chunk_len: usize,
    capacity: usize,
    top: usize,
    held: usize,
    entries: PhantomData<fn() -> (C, T)>,
}

impl<D, C, T> Sparse<D, C, T>
where
    D: AsRef<[Option<C>]> + AsMut<[Option<C>]>,
    C: AsRef<[T]> + AsMut<[T]>,
{
    /// Creates a table of `capacity` entries that holds none yet, in chunks of
    /// `chunk_len`; `None` unless `dir` has one empty place per chunk.
    pub fn new(dir: D, chunk_len: usize, capacity: usize) -> Option<Self> {
        let places = capacity
            .checked_add(chunk_len.checked_sub(1)?)?
            .checked_div(chunk_len)?;
        let places_ok = dir.as_ref().len() == places && dir.as_ref().iter().all(Option::is_none);
        places_ok.then_some(Self {
            dir,
            chunk_len,
            capacity,
            top: 0,
            held: 0,
            entries: PhantomData,
        })
    }

    /// Returns `true` if the table holds the entry at `index`.
    pub fn holds(&self, index: usize) -> bool {
        self.get(index).is_some()
    }

    /// Puts `chunk` in the place of the entry at `index`, or gives it back if that place is
    /// taken or past the capacity, or the chunk does not hold `chunk_len` entries. Does not
    /// allocate.
    pub fn insert_chunk(&mut self, index: usize, chunk: C) -> Result<(), C> {
        if chunk.as_ref().len() != self.chunk_len || index >= self.capacity {
            return Err(chunk);
        }
        let Some(place) = index.checked_div(self.chunk_len) else {
            return Err(chunk);
        };
        match self.dir.as_mut().get_mut(place) {
            Some(slot @ None) => *slot = Some(chunk),
            _ => return Err(chunk),
        }
        // INVARIANT: the place just filled is held, and counted.
        self.top = self.top.max(place.saturating_add(1));
        self.held = self.held.saturating_add(1);
        Ok(())
    }

    /// Returns the number of chunks the table holds.
    pub fn chunks(&self) -> usize {
        self.held
    }

    /// Splits `index` into a place and a position in its chunk.
    fn place(&self, index: usize) -> Option<(usize, usize)> {
        split(index, self.len(), self.chunk_len)
    }
}

impl<D, C, T> Table<T> for Sparse<D, C, T>
where
    D: AsRef<[Option<C>]> + AsMut<[Option<C>]>,
    C: AsRef<[T]> + AsMut<[T]>,
{
    fn len(&self) -> usize {
        self.top.saturating_mul(self.chunk_len).min(self.capacity)
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn get(&self, index: usize) -> Option<&T> {
        let (place, at) = self.place(index)?;
        self.dir.as_ref().get(place)?.as_ref()?.as_ref().get(at)
    }

    fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        let (place, at) = self.place(index)?;
        self.dir
            .as_mut()
            .get_mut(place)?
            .as_mut()?
            .as_mut()
            .get_mut(at)
    }

    fn pair_mut(&mut self, a: usize, b: usize) -> Option<(&mut T, &mut T)> {
        let (a, b) = (self.place(a)?, self.place(b)?);
        pair_in(self.dir.as_mut(), a, b, Option::as_mut)
    }
}

/// Splits `index`, below `len`, into a chunk of `chunk_len` entries and a place in it.
fn split(index: usize, len: usize, chunk_len: usize) -> Option<(usize, usize)> {
    if index >= len {
        return None;
    }
    // Checked, though `chunk_len` is never 0: no panic path in the kernel.
    Some((index.checked_div(chunk_len)?, index.checked_rem(chunk_len)?))
}

/// Returns two distinct entries of a chunked table mutably: `a` and `b` are (chunk,
/// place) pairs, and `chunk` finds the chunk in an entry of `places` (`None` for a hole).
fn pair_in<'a, P, C, T>(
    places: &'a mut [P],
    (chunk_a, at_a): (usize, usize),
    (chunk_b, at_b): (usize, usize),
    chunk: impl Fn(&'a mut P) -> Option<&'a mut C>,
) -> Option<(&'a mut T, &'a mut T)>
where
    C: AsMut<[T]> + 'a,
    T: 'a,
{
    if chunk_a == chunk_b {
        let entries = chunk(places.get_mut(chunk_a)?)?.as_mut();
        return Table::pair_mut(entries, at_a, at_b);
    }
    let (first, second) = Table::pair_mut(places, chunk_a, chunk_b)?;
    Some((
        chunk(first)?.as_mut().get_mut(at_a)?,
        chunk(second)?.as_mut().get_mut(at_b)?,
    ))
}
