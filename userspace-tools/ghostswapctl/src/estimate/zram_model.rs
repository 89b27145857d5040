//! What zram with zsmalloc (Linux 6.12, `mm/zsmalloc.c`) would take for the same pages.
//!
//! zsmalloc keeps objects in size classes 16 bytes apart from 32 bytes to a page; each
//! object carries its 8-byte handle, so an object of `n` bytes goes to the class of
//! `n + 8`. A class packs its objects into zspages, chains of 1 to
//! `CONFIG_ZSMALLOC_CHAIN_SIZE` (8) pages chosen to waste the least; neighbouring
//! classes with the same chain length and objects per zspage are merged into the
//! larger. zram stores a page whose compressed size reaches `huge_class_size` (the
//! largest class that is not one object per page, less 7 bytes: 3625 bytes for 4 KiB
//! pages) uncompressed, a same-filled page in its slot, and reports as
//! `mem_used_total` the pages of all zspages. Full zspages are assumed, as after a fill
//! with no frees.

/// The page size.
const PAGE: u32 = 4096;
/// The handle zsmalloc adds to every object.
const HANDLE: u32 = 8;
/// The smallest class.
const MIN_ALLOC: u32 = 32;
/// Classes are this far apart (`PAGE_SIZE >> CLASS_BITS`).
const DELTA: u32 = PAGE >> 8;
/// The number of class sizes.
const CLASS_COUNT: usize = ((PAGE - MIN_ALLOC).div_ceil(DELTA) + 1) as usize;
/// `CONFIG_ZSMALLOC_CHAIN_SIZE`'s default.
pub const CHAIN_SIZE: u32 = 8;

/// One size class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeClass {
    /// The object size.
    pub size: u32,
    /// Pages per zspage.
    pub pages: u32,
    /// Objects per zspage.
    pub objects: u32,
}

/// The size classes of a pool, as `zs_create_pool` builds them.
#[derive(Debug, Clone)]
pub struct Zsmalloc {
    /// The distinct classes.
    classes: Vec<SizeClass>,
    /// For each class index, its (possibly merged) class in `classes`.
    of_index: Vec<usize>,
    /// zram's threshold: compressed sizes from here on are stored whole.
    huge_class_size: u32,
}

/// `calculate_zspage_chain_size`: the chain length that wastes least.
fn chain_size(size: u32, max: u32) -> u32 {
    if size.is_power_of_two() {
        return 1;
    }
    let mut best = (u32::MAX, 1);
    for pages in 1..=max {
        let waste = (pages * PAGE) % size;
        if waste < best.0 {
            best = (waste, pages);
        }
    }
    best.1
}

/// `get_size_class_index`.
fn size_index(size: u32) -> usize {
    let idx = if size > MIN_ALLOC {
        (size - MIN_ALLOC).div_ceil(DELTA) as usize
    } else {
        0
    };
    idx.min(CLASS_COUNT - 1)
}

impl Zsmalloc {
    /// The classes for zspages of up to `max_chain` pages.
    pub fn new(max_chain: u32) -> Self {
        let mut classes: Vec<SizeClass> = Vec::new();
        let mut of_index = vec![0; CLASS_COUNT];
        let mut huge_class_size = 0;
        for i in (0..CLASS_COUNT).rev() {
            // CAST: i < 256.
            let size = (MIN_ALLOC + i as u32 * DELTA).min(PAGE);
            let pages = chain_size(size, max_chain);
            let objects = pages * PAGE / size;
            if pages != 1 && objects != 1 && huge_class_size == 0 {
                huge_class_size = size - (HANDLE - 1);
            }
            if let Some(prev) = classes.last() {
                if prev.pages == pages && prev.objects == objects {
                    of_index[i] = classes.len() - 1;
                    continue;
                }
            }
            classes.push(SizeClass {
                size,
                pages,
                objects,
            });
            of_index[i] = classes.len() - 1;
        }
        Self {
            classes,
            of_index,
            huge_class_size,
        }
    }

    /// zram's `huge_class_size`.
    pub fn huge_class_size(&self) -> u32 {
        self.huge_class_size
    }

    /// The class an allocation of `len` bytes lands in, and its index in the pool's
    /// list of distinct classes.
    pub fn class_of(&self, len: u32) -> (usize, SizeClass) {
        let c = self.of_index[size_index(len.saturating_add(HANDLE))];
        (c, self.classes[c])
    }

    /// The number of distinct classes.
    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// The class of index `c` of the list of distinct classes.
    pub fn class(&self, c: usize) -> SizeClass {
        self.classes[c]
    }
}

/// zram's predicted figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ZramFigures {
    /// `orig_data_size`.
    pub orig_data_size: u64,
    /// `compr_data_size`: compressed bytes, 4096 for each huge page.
    pub compr_data_size: u64,
    /// `mem_used_total`: the pages of the zspages.
    pub mem_used_total: u64,
    /// `same_pages`.
    pub same_pages: u64,
    /// `huge_pages`.
    pub huge_pages: u64,
}

/// zram fed page by page.
#[derive(Debug, Clone)]
pub struct ZramModel {
    pool: Zsmalloc,
    objects: Vec<u64>,
    figures: ZramFigures,
}

impl ZramModel {
    /// An empty zram over zsmalloc with the default chain size.
    pub fn new() -> Self {
        let pool = Zsmalloc::new(CHAIN_SIZE);
        Self {
            objects: vec![0; pool.class_count()],
            pool,
            figures: ZramFigures::default(),
        }
    }

    /// A same-filled page (kept in the slot), `count` times.
    pub fn same_filled(&mut self, count: u64) {
        self.figures.same_pages += count;
        self.figures.orig_data_size += count * u64::from(PAGE);
    }

    /// A page that compressed to `len` bytes (`None`: did not compress), `count` times.
    pub fn compressed(&mut self, len: Option<usize>, count: u64) {
        // CAST: compressed pages are a few KiB.
        let len = len.map_or(PAGE, |l| l.min(PAGE as usize) as u32);
        let len = if len >= self.pool.huge_class_size {
            PAGE
        } else {
            len
        };
        if len == PAGE {
            self.figures.huge_pages += count;
        }
        let (c, _) = self.pool.class_of(len);
        self.objects[c] += count;
        self.figures.compr_data_size += count * u64::from(len);
        self.figures.orig_data_size += count * u64::from(PAGE);
    }

    /// The figures of what was fed.
    pub fn figures(&self) -> ZramFigures {
        let pages: u64 = self
            .objects
            .iter()
            .enumerate()
            .map(|(c, &n)| {
                let class = self.pool.class(c);
                n.div_ceil(u64::from(class.objects)) * u64::from(class.pages)
            })
            .sum();
        ZramFigures {
            mem_used_total: pages * u64::from(PAGE),
            ..self.figures
        }
    }
}

impl Default for ZramModel {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_class_size_is_zrams_for_4k_pages_and_chains_of_8() {
        let pool = Zsmalloc::new(8);
        // The largest class that is not one object per page is 3632 bytes (9 objects
        // in 8 pages); the threshold is 3632 - 7.
        assert_eq!(pool.huge_class_size(), 3625);
        assert_eq!(
            pool.class_of(3624).1,
            SizeClass {
                size: 3632,
                pages: 8,
                objects: 9
            }
        );
        assert_eq!(pool.class_of(4096).1.objects, 1);
        // Classes with the same shape merge into the larger one.
        assert_eq!(pool.class_of(3640).1.size, 4096);
    }

    #[test]
    fn small_objects_go_to_the_32_byte_class() {
        let pool = Zsmalloc::new(8);
        assert_eq!(pool.class_of(1).1.size, 32);
        assert_eq!(pool.class_of(24).1.size, 32);
        assert_eq!(pool.class_of(25).1.size, 48);
    }

    #[test]
    fn memory_is_whole_zspages() {
        let mut zram = ZramModel::new();
        // 1000 objects of 2000 bytes: class 2016 (with the handle, 2008 -> 2016).
        zram.compressed(Some(2000), 1000);
        let class = Zsmalloc::new(8).class_of(2000).1;
        let zspages = 1000u64.div_ceil(u64::from(class.objects));
        assert_eq!(
            zram.figures().mem_used_total,
            zspages * u64::from(class.pages) * 4096
        );
        zram.compressed(Some(3700), 3);
        assert_eq!(zram.figures().huge_pages, 3);
        zram.same_filled(5);
        assert_eq!(zram.figures().orig_data_size, 1008 * 4096);
    }
}
