//! Finding a process's resident anonymous pages: `/proc/PID/maps` for its mappings,
//! `/proc/PID/pagemap` for which pages are present and not file-backed or shared, and
//! `/proc/PID/mem` for their bytes (root only: pagemap hides page frame numbers, and
//! mem another user's memory, from others).

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use anyhow::{Context, Result};
use bitvec::prelude::*;

/// A pagemap entry's bits (`Documentation/admin-guide/mm/pagemap.rst`).
const PM_PRESENT: u64 = 1 << 63;
const PM_SWAPPED: u64 = 1 << 62;
const PM_FILE_OR_SHARED: u64 = 1 << 61;
const PM_PFN: u64 = (1 << 55) - 1;

/// The page size.
pub const PAGE: u64 = 4096;
/// Pagemap entries read at a time (one 4 KiB read).
const ENTRIES_PER_READ: usize = 512;

/// A run of resident anonymous pages of one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// The first page's address.
    pub addr: u64,
    /// Pages in the run.
    pub pages: u64,
}

/// A process's resident anonymous pages.
#[derive(Debug, Clone, Default)]
pub struct Process {
    /// The process.
    pub pid: u32,
    /// Its command name.
    pub comm: String,
    /// The runs of its pages.
    pub runs: Vec<Run>,
    /// Pages of it already in swap (not estimated: reading them would swap them in).
    pub swapped: u64,
}

impl Process {
    /// The pages in its runs.
    pub fn pages(&self) -> u64 {
        self.runs.iter().map(|r| r.pages).sum()
    }
}

/// A mapping of `/proc/PID/maps`: `[start, end)`.
fn parse_maps(text: &str) -> Vec<(u64, u64)> {
    text.lines()
        .filter_map(|line| {
            let range = line.split_whitespace().next()?;
            let (a, b) = range.split_once('-')?;
            let start = u64::from_str_radix(a, 16).ok()?;
            let end = u64::from_str_radix(b, 16).ok()?;
            // [vsyscall] lies above the user address space; pagemap does not cover it.
            if line.trim_end().ends_with("[vsyscall]") || end <= start {
                None
            } else {
                Some((start, end))
            }
        })
        .collect()
}

/// Reads which pages of `pid` are resident and anonymous. A page whose frame another
/// process already counted (in `seen`) is left out, so shared copy-on-write pages
/// count once.
pub fn find_pages(proc_root: &Path, pid: u32, seen: &mut HashSet<u64>) -> Result<Process> {
    let dir = proc_root.join(pid.to_string());
    let maps = fs::read_to_string(dir.join("maps"))
        .with_context(|| format!("reading /proc/{pid}/maps (does process {pid} exist?)"))?;
    let comm = fs::read_to_string(dir.join("comm"))
        .map(|c| c.trim().to_owned())
        .unwrap_or_default();
    let pagemap = File::open(dir.join("pagemap"))
        .with_context(|| format!("opening /proc/{pid}/pagemap (estimate needs root)"))?;
    let mut process = Process {
        pid,
        comm,
        ..Process::default()
    };
    let mut entries = vec![0u8; ENTRIES_PER_READ * 8];
    for (start, end) in parse_maps(&maps) {
        let mut page = start / PAGE;
        let last = end / PAGE;
        while page < last {
            // CAST: at most ENTRIES_PER_READ.
            let n = (last - page).min(ENTRIES_PER_READ as u64) as usize;
            let buf = &mut entries[..n * 8];
            let read = match pagemap.read_at(buf, page * 8) {
                Ok(read) => read / 8,
                // A mapping that went away meanwhile.
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => 0,
                Err(e) => return Err(e).with_context(|| format!("reading /proc/{pid}/pagemap")),
            };
            if read == 0 {
                break;
            }
            let mut present: BitVec<u64, Lsb0> = BitVec::repeat(false, read);
            for (i, chunk) in buf[..read * 8].chunks_exact(8).enumerate() {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                let entry = u64::from_ne_bytes(word);
                if entry & PM_PRESENT != 0 && entry & PM_FILE_OR_SHARED == 0 {
                    let pfn = entry & PM_PFN;
                    // A frame number of 0 is hidden (not root) or the zero page: no
                    // way to tell sharing, so it counts.
                    if pfn == 0 || seen.insert(pfn) {
                        present.set(i, true);
                    }
                } else if entry & PM_SWAPPED != 0 && entry & PM_PRESENT == 0 {
                    process.swapped += 1;
                }
            }
            push_runs(&mut process.runs, page, &present);
            // CAST: at most ENTRIES_PER_READ.
            page += read as u64;
        }
    }
    Ok(process)
}

/// Appends the runs of set bits of `present` (page numbers from `first`), joining a
/// run that continues the last one.
fn push_runs(runs: &mut Vec<Run>, first: u64, present: &BitSlice<u64, Lsb0>) {
    for i in present.iter_ones() {
        // CAST: a usize index fits u64.
        let addr = (first + i as u64) * PAGE;
        match runs.last_mut() {
            Some(run) if run.addr + run.pages * PAGE == addr => run.pages += 1,
            _ => runs.push(Run { addr, pages: 1 }),
        }
    }
}

/// `/proc/PID/mem` of a process, to read its pages.
pub struct Memory {
    file: File,
}

impl Memory {
    /// Opens the memory of `pid`.
    pub fn open(proc_root: &Path, pid: u32) -> Result<Self> {
        let path = proc_root.join(pid.to_string()).join("mem");
        let file = File::open(&path)
            .with_context(|| format!("opening /proc/{pid}/mem (estimate needs root)"))?;
        Ok(Self { file })
    }

    /// Reads `buf.len()` bytes at `addr`; `false` if the pages cannot be read (unmapped
    /// meanwhile, or a mapping the kernel does not let `mem` read).
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
        matches!(self.file.read_at(buf, addr), Ok(n) if n == buf.len())
    }
}

/// The processes of `/proc`, but `skip` and kernel threads (which have no memory map).
pub fn all_pids(proc_root: &Path, skip: u32) -> Result<Vec<u32>> {
    let mut pids = Vec::new();
    for entry in
        fs::read_dir(proc_root).with_context(|| format!("listing {}", proc_root.display()))?
    {
        let entry = entry.with_context(|| format!("listing {}", proc_root.display()))?;
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == skip {
            continue;
        }
        if is_kernel_thread(&entry.path()) {
            continue;
        }
        pids.push(pid);
    }
    pids.sort_unstable();
    Ok(pids)
}

/// Kernel threads (and processes that exited meanwhile) have an empty maps file.
fn is_kernel_thread(dir: &Path) -> bool {
    fs::read_to_string(dir.join("maps")).map_or(true, |m| m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines() {
        let text = "\
55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          [heap]
7ffd1c6f0000-7ffd1c711000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
";
        assert_eq!(
            parse_maps(text),
            vec![
                (0x55d0_c0a0_0000, 0x55d0_c0a2_1000),
                (0x7ffd_1c6f_0000, 0x7ffd_1c71_1000)
            ]
        );
    }

    #[test]
    fn runs_join_across_reads() {
        let mut runs = Vec::new();
        let mut a: BitVec<u64, Lsb0> = BitVec::repeat(false, 4);
        a.set(2, true);
        a.set(3, true);
        push_runs(&mut runs, 10, &a);
        let mut b: BitVec<u64, Lsb0> = BitVec::repeat(false, 4);
        b.set(0, true);
        b.set(2, true);
        push_runs(&mut runs, 14, &b);
        assert_eq!(
            runs,
            vec![
                Run {
                    addr: 12 * PAGE,
                    pages: 3
                },
                Run {
                    addr: 16 * PAGE,
                    pages: 1
                }
            ]
        );
    }
}
