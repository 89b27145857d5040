//! An anonymous private mapping viewed as an array of pages.

use crate::content::PAGE_SIZE;
use std::io;
use std::ptr::NonNull;

/// `MADV_PAGEOUT` (Linux 5.4+): reclaim the range now, writing anonymous pages to swap.
const MADV_PAGEOUT: libc::c_int = 21;

/// An anonymous `MAP_PRIVATE` mapping of whole pages, unmapped on drop.
///
/// # Invariants
///
/// `ptr` is the start of a live, readable and writable mapping of `pages * PAGE_SIZE`
/// bytes owned by this value, page aligned.
pub struct Region {
    ptr: NonNull<u8>,
    pages: usize,
}

// SAFETY: the mapping belongs to the value, not to a thread, so it may move to another
// thread; it is unmapped once, on drop.
unsafe impl Send for Region {}
// SAFETY: `&Region` only reads pages (`page`, `touch`); writing needs `&mut Region`. Many
// threads reading the same bytes at once is sound, and faulting a page in is the kernel's job.
unsafe impl Sync for Region {}

impl Region {
    /// Maps `pages` pages of anonymous memory (zero-filled and not yet touched).
    ///
    /// # Errors
    ///
    /// The `mmap` error, or `InvalidInput` if `pages` is zero or the size overflows.
    pub fn new(pages: usize) -> io::Result<Region> {
        let len = pages
            .checked_mul(PAGE_SIZE)
            .filter(|&len| len > 0)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: a fresh anonymous mapping at an address of the kernel's choosing aliases
        // nothing; the arguments are valid for mmap(2).
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // INVARIANT: mmap succeeded for `len` bytes, and mappings are page aligned.
        let ptr =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::from(io::ErrorKind::Other))?;
        Ok(Region { ptr, pages })
    }

    /// Number of pages in the region.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// Page `index`.
    ///
    /// # Panics
    ///
    /// If `index >= self.pages()`.
    #[inline(always)]
    pub fn page(&self, index: usize) -> &[u8; PAGE_SIZE] {
        assert!(index < self.pages);
        // SAFETY: by the type invariant the page lies inside the live mapping; `&self`
        // excludes writers for the lifetime of the reference.
        unsafe {
            &*self
                .ptr
                .as_ptr()
                .add(index * PAGE_SIZE)
                .cast::<[u8; PAGE_SIZE]>()
        }
    }

    /// Reads the first byte of page `index`, which faults the page in if it is swapped out.
    ///
    /// The read is volatile so that it happens exactly here, between the caller's clock reads.
    ///
    /// # Panics
    ///
    /// If `index >= self.pages()`.
    #[inline(always)]
    pub fn touch(&self, index: usize) -> u8 {
        let page = self.page(index);
        // SAFETY: `page` is a valid reference, so its first byte is readable and aligned.
        unsafe { std::ptr::read_volatile(page.as_ptr()) }
    }

    /// Page `index`, writable.
    ///
    /// # Panics
    ///
    /// If `index >= self.pages()`.
    #[inline(always)]
    pub fn page_mut(&mut self, index: usize) -> &mut [u8; PAGE_SIZE] {
        assert!(index < self.pages);
        // SAFETY: by the type invariant the page lies inside the live mapping; `&mut self`
        // makes this the only reference into the region.
        unsafe {
            &mut *self
                .ptr
                .as_ptr()
                .add(index * PAGE_SIZE)
                .cast::<[u8; PAGE_SIZE]>()
        }
    }

    /// Asks the kernel to page the whole region out now (`MADV_PAGEOUT`).
    ///
    /// # Errors
    ///
    /// The `madvise` error (`EINVAL` on kernels older than 5.4).
    pub fn page_out(&mut self) -> io::Result<()> {
        // SAFETY: the range is exactly our mapping (type invariant); MADV_PAGEOUT only moves
        // pages to swap and never changes their contents as seen by this process.
        let rc = unsafe {
            libc::madvise(
                self.ptr.as_ptr().cast(),
                self.pages * PAGE_SIZE,
                MADV_PAGEOUT,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours (type invariant) and no reference into it outlives
        // `self`. Nothing useful can be done if munmap fails at exit.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.pages * PAGE_SIZE);
        }
    }
}
