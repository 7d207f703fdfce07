//! The executable code heap: one reserved range of virtual addresses with a page allocator.
//!
//! The whole heap is reserved once with `mmap(PROT_NONE, MAP_NORESERVE)`, so every section of
//! every compiled module lies inside one range (well within the ±2 GiB that x86-64 code needs
//! to reach its constants) and no physical memory is committed until a page is written.
//! An allocation is a run of pages handed out read+write; after the JIT has written it, it is
//! switched to read+execute (code) or read-only (constants) and never becomes writable again,
//! so no page is ever writable and executable at once (W^X). Dropping a [`CodeRegion`] makes
//! its pages inaccessible, returns their memory to the kernel (`MADV_DONTNEED`) and puts them
//! back on the free list, so the code of one contract can be freed on its own.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// The default size of the shared heap's reservation (address space, not memory).
pub const DEFAULT_HEAP_BYTES: usize = 256 << 20;

/// What an allocation may be used for once it has been written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// Being written: read+write, not executable.
    ReadWrite,
    /// Finished code: read+execute, never writable again.
    ReadExecute,
    /// Finished constants: read-only.
    ReadOnly,
}

impl Protection {
    fn flags(self) -> libc::c_int {
        match self {
            Protection::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            Protection::ReadExecute => libc::PROT_READ | libc::PROT_EXEC,
            Protection::ReadOnly => libc::PROT_READ,
        }
    }
}

/// Why the heap could not hand out memory.
#[derive(Debug)]
pub enum HeapError {
    /// Reserving the address range failed.
    Reserve(io::Error),
    /// No free run of pages is large enough (or the reservation budget is spent).
    Exhausted {
        /// Bytes asked for.
        requested: usize,
        /// Bytes free in the heap.
        free: usize,
    },
    /// `mprotect` failed.
    Protect(io::Error),
}

impl fmt::Display for HeapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapError::Reserve(e) => write!(f, "cannot reserve the code heap: {e}"),
            HeapError::Exhausted { requested, free } => write!(
                f,
                "code heap exhausted: {requested} bytes requested, {free} bytes free"
            ),
            HeapError::Protect(e) => write!(f, "mprotect on the code heap failed: {e}"),
        }
    }
}

impl std::error::Error for HeapError {}

struct FreeList {
    /// Free runs of pages: first page index → number of pages. Adjacent runs are merged.
    runs: BTreeMap<usize, usize>,
    free_pages: usize,
    /// Pages promised to compilations in progress ([`CodeHeap::reserve`]).
    reserved_pages: usize,
}

/// A reserved range of virtual addresses from which executable code is allocated.
pub struct CodeHeap {
    base: *mut u8,
    pages: usize,
    page_size: usize,
    free: Mutex<FreeList>,
}

// SAFETY: `base` is only an address; the heap's mutable state (the free list) is behind a
// mutex, and each page run is owned by exactly one `CodeRegion` at a time.
unsafe impl Send for CodeHeap {}
// SAFETY: as above; shared access only reads `base`, `pages` and `page_size`.
unsafe impl Sync for CodeHeap {}

impl fmt::Debug for CodeHeap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeHeap")
            .field("base", &self.base)
            .field("bytes", &self.size())
            .field("free_bytes", &self.free_bytes())
            .finish()
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

impl CodeHeap {
    /// Reserves `bytes` (rounded up to whole pages, at least one) of address space, below
    /// 2 GiB when the kernel has room there.
    pub fn new(bytes: usize) -> Result<Arc<CodeHeap>, HeapError> {
        CodeHeap::reserve_range(bytes, true)
    }

    /// Reserves `bytes` of address space wherever the kernel puts it (usually high up):
    /// code compiled into it uses the large code model.
    pub fn new_anywhere(bytes: usize) -> Result<Arc<CodeHeap>, HeapError> {
        CodeHeap::reserve_range(bytes, false)
    }

    fn reserve_range(bytes: usize, low: bool) -> Result<Arc<CodeHeap>, HeapError> {
        let page_size = page_size();
        let pages = bytes.div_ceil(page_size).max(1);
        let len = pages
            .checked_mul(page_size)
            .ok_or_else(|| HeapError::Reserve(io::Error::other("heap size overflows")))?;
        let map = |extra: libc::c_int| {
            // SAFETY: an anonymous private mapping at an address of the kernel's choice
            // touches no existing memory; the caller checks the result against MAP_FAILED.
            unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | extra,
                    -1,
                    0,
                )
            }
        };
        // Prefer the low 2 GiB of the address space (MAP_32BIT): there the code generator's
        // small code model may use 32-bit absolute addresses (jump tables, lookup tables).
        let mut base = if low {
            map(libc::MAP_32BIT)
        } else {
            libc::MAP_FAILED
        };
        if base == libc::MAP_FAILED {
            base = map(0);
        }
        if base == libc::MAP_FAILED {
            return Err(HeapError::Reserve(io::Error::last_os_error()));
        }
        let mut runs = BTreeMap::new();
        runs.insert(0, pages);
        Ok(Arc::new(CodeHeap {
            base: base as *mut u8,
            pages,
            page_size,
            free: Mutex::new(FreeList {
                runs,
                free_pages: pages,
                reserved_pages: 0,
            }),
        }))
    }

    /// The process-wide heap ([`DEFAULT_HEAP_BYTES`] of address space, reserved on first
    /// use), or the error that reserving it gave.
    pub fn shared() -> Result<Arc<CodeHeap>, &'static HeapError> {
        static SHARED: OnceLock<Result<Arc<CodeHeap>, HeapError>> = OnceLock::new();
        SHARED
            .get_or_init(|| CodeHeap::new(DEFAULT_HEAP_BYTES))
            .as_ref()
            .map(Arc::clone)
    }

    /// The first address of the reserved range.
    pub fn base(&self) -> *const u8 {
        self.base
    }

    /// Size of the reserved range in bytes.
    pub fn size(&self) -> usize {
        self.pages * self.page_size
    }

    /// The allocation granule.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Bytes not allocated (including bytes promised to compilations in progress).
    pub fn free_bytes(&self) -> usize {
        self.lock().free_pages * self.page_size
    }

    /// Whether the whole heap lies below 2 GiB, where 32-bit absolute addresses reach it.
    pub fn is_low(&self) -> bool {
        (self.base as usize).saturating_add(self.size()) <= 1 << 31
    }

    /// Whether `addr` lies inside the reserved range.
    pub fn contains(&self, addr: usize) -> bool {
        let base = self.base as usize;
        addr >= base && addr < base + self.size()
    }

    fn lock(&self) -> MutexGuard<'_, FreeList> {
        // The free list is consistent after every operation (no panics while it is held
        // half-updated), so a poisoned lock is still usable.
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Promises `bytes` to one compilation, so that its section allocations cannot fail for
    /// lack of space because of other compilations running at the same time. LLVM aborts the
    /// process when a section cannot be allocated, so a compilation reserves an upper bound of
    /// what it will need first and is refused cleanly if that is not available.
    pub fn reserve(self: &Arc<Self>, bytes: usize) -> Result<Reservation, HeapError> {
        let pages = bytes.div_ceil(self.page_size);
        let mut fl = self.lock();
        let available = fl.free_pages - fl.reserved_pages;
        if pages > available {
            return Err(HeapError::Exhausted {
                requested: bytes,
                free: available * self.page_size,
            });
        }
        fl.reserved_pages += pages;
        Ok(Reservation {
            heap: Arc::clone(self),
            pages,
        })
    }

    /// Allocates at least `bytes` (a whole number of pages, at least one), read+write.
    pub fn allocate(self: &Arc<Self>, bytes: usize) -> Result<CodeRegion, HeapError> {
        self.allocate_inner(bytes, None)
    }

    fn allocate_inner(
        self: &Arc<Self>,
        bytes: usize,
        budget: Option<&mut Reservation>,
    ) -> Result<CodeRegion, HeapError> {
        let pages = bytes.div_ceil(self.page_size).max(1);
        let mut fl = self.lock();
        let own = budget.as_ref().map_or(0, |r| r.pages);
        // Pages promised to others are off limits; our own promise may be spent.
        let available = fl.free_pages - (fl.reserved_pages - own);
        let exhausted = HeapError::Exhausted {
            requested: bytes,
            free: available * self.page_size,
        };
        if pages > available {
            return Err(exhausted);
        }
        let Some((&start, &len)) = fl.runs.iter().find(|(_, &len)| len >= pages) else {
            return Err(exhausted);
        };
        fl.runs.remove(&start);
        if len > pages {
            fl.runs.insert(start + pages, len - pages);
        }
        fl.free_pages -= pages;
        if let Some(r) = budget {
            let spent = pages.min(r.pages);
            r.pages -= spent;
            fl.reserved_pages -= spent;
        }
        drop(fl);
        let region = CodeRegion {
            heap: Arc::clone(self),
            first_page: start,
            pages,
            protection: Protection::ReadWrite,
        };
        // SAFETY: the pages [start, start + pages) lie inside the reservation and now belong
        // to `region` alone.
        unsafe { self.protect_pages(start, pages, Protection::ReadWrite) }?;
        Ok(region)
    }

    /// # Safety
    /// `[first, first + pages)` must be inside the heap and owned by the caller.
    unsafe fn protect_pages(
        &self,
        first: usize,
        pages: usize,
        prot: Protection,
    ) -> Result<(), HeapError> {
        // SAFETY: the caller guarantees the range is ours and inside the mapping.
        let rc = unsafe {
            libc::mprotect(
                self.base.add(first * self.page_size) as *mut libc::c_void,
                pages * self.page_size,
                prot.flags(),
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(HeapError::Protect(io::Error::last_os_error()))
        }
    }

    fn release(&self, first: usize, pages: usize) {
        let addr = self.base.wrapping_add(first * self.page_size) as *mut libc::c_void;
        let len = pages * self.page_size;
        // SAFETY: the range belonged to the region being dropped, which no one can use any
        // more; making it inaccessible and discarding its contents cannot affect other
        // allocations. Failures leave the pages mapped with their last protection, which is
        // harmless: they are rewritten read+write before any reuse.
        unsafe {
            libc::mprotect(addr, len, libc::PROT_NONE);
            libc::madvise(addr, len, libc::MADV_DONTNEED);
        }
        let mut fl = self.lock();
        let mut start = first;
        let mut len = pages;
        // Merge with the run just below and the run just above.
        if let Some((&s, &l)) = fl.runs.range(..start).next_back() {
            if s + l == start {
                fl.runs.remove(&s);
                start = s;
                len += l;
            }
        }
        if let Some(l) = fl.runs.remove(&(first + pages)) {
            len += l;
        }
        fl.runs.insert(start, len);
        fl.free_pages += pages;
    }
}

impl Drop for CodeHeap {
    fn drop(&mut self) {
        // Every region holds an `Arc` of its heap, so none is alive here.
        // SAFETY: the range was mapped in `new` with exactly this length.
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, self.size());
        }
    }
}

/// Pages of a [`CodeHeap`] promised to one compilation; unused promises are returned on drop.
#[derive(Debug)]
pub struct Reservation {
    heap: Arc<CodeHeap>,
    pages: usize,
}

impl Reservation {
    /// Allocates from the heap, spending this reservation first.
    pub fn allocate(&mut self, bytes: usize) -> Result<CodeRegion, HeapError> {
        let heap = Arc::clone(&self.heap);
        heap.allocate_inner(bytes, Some(self))
    }

    /// Bytes still promised.
    pub fn remaining_bytes(&self) -> usize {
        self.pages * self.heap.page_size
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.heap.lock().reserved_pages -= self.pages;
    }
}

/// A run of pages of a [`CodeHeap`], freed (made inaccessible and returned to the heap) on
/// drop. The owner must make sure no thread still executes or reads it by then.
pub struct CodeRegion {
    heap: Arc<CodeHeap>,
    first_page: usize,
    pages: usize,
    protection: Protection,
}

// SAFETY: a region is a unique handle on its pages; the pages are plain memory and the heap
// is `Sync`.
unsafe impl Send for CodeRegion {}
// SAFETY: shared references only read the region's address and protection.
unsafe impl Sync for CodeRegion {}

impl fmt::Debug for CodeRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeRegion")
            .field("addr", &self.as_ptr())
            .field("len", &self.len())
            .field("protection", &self.protection)
            .finish()
    }
}

impl CodeRegion {
    /// The first byte.
    pub fn as_ptr(&self) -> *const u8 {
        self.heap
            .base
            .wrapping_add(self.first_page * self.heap.page_size)
    }

    /// The first byte, for writing; only meaningful while the region is
    /// [`Protection::ReadWrite`].
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.as_ptr() as *mut u8
    }

    /// Length in bytes (whole pages).
    pub fn len(&self) -> usize {
        self.pages * self.heap.page_size
    }

    /// Always false: a region has at least one page.
    pub fn is_empty(&self) -> bool {
        self.pages == 0
    }

    /// The current protection.
    pub fn protection(&self) -> Protection {
        self.protection
    }

    /// Seals a written region as code or constants. A region can only move away from
    /// read+write; asking to make it writable again is refused, which keeps W^X.
    pub fn seal(&mut self, prot: Protection) -> Result<(), HeapError> {
        if prot == Protection::ReadWrite && self.protection != Protection::ReadWrite {
            return Err(HeapError::Protect(io::Error::other(
                "a sealed code region cannot become writable again",
            )));
        }
        // SAFETY: the pages belong to this region.
        unsafe { self.heap.protect_pages(self.first_page, self.pages, prot) }?;
        self.protection = prot;
        Ok(())
    }
}

impl Drop for CodeRegion {
    fn drop(&mut self) {
        self.heap.release(self.first_page, self.pages);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_page_runs_that_coalesce_when_freed() {
        let heap = CodeHeap::new(16 * page_size()).unwrap();
        let ps = heap.page_size();
        let a = heap.allocate(1).unwrap();
        let b = heap.allocate(ps + 1).unwrap();
        let c = heap.allocate(ps).unwrap();
        assert_eq!(a.len(), ps);
        assert_eq!(b.len(), 2 * ps);
        assert_eq!(b.as_ptr() as usize, a.as_ptr() as usize + ps);
        assert_eq!(c.as_ptr() as usize, b.as_ptr() as usize + 2 * ps);
        assert_eq!(heap.free_bytes(), 12 * ps);
        drop(a);
        drop(b);
        // The three freed pages merge into one run at the start, so a 3-page request fits
        // there again.
        let d = heap.allocate(3 * ps).unwrap();
        assert_eq!(d.as_ptr(), heap.base());
        drop(c);
        drop(d);
        assert_eq!(heap.free_bytes(), 16 * ps);
        assert!(heap.allocate(16 * ps).is_ok());
    }

    #[test]
    fn exhaustion_is_an_error_and_reservations_are_respected() {
        let heap = CodeHeap::new(4 * page_size()).unwrap();
        let ps = heap.page_size();
        assert!(matches!(
            heap.allocate(5 * ps),
            Err(HeapError::Exhausted { .. })
        ));
        let mut r = heap.reserve(3 * ps).unwrap();
        // Only one page is not promised to `r`.
        assert!(heap.allocate(2 * ps).is_err());
        let one = heap.allocate(ps).unwrap();
        assert!(heap.reserve(ps).is_err());
        let two = r.allocate(2 * ps).unwrap();
        assert_eq!(r.remaining_bytes(), ps);
        drop(r);
        assert_eq!(heap.free_bytes(), ps);
        let last = heap.allocate(ps).unwrap();
        drop((one, two, last));
        assert_eq!(heap.free_bytes(), 4 * ps);
    }

    #[test]
    fn written_pages_are_sealed_and_cannot_be_made_writable_again() {
        let heap = CodeHeap::new(4 * page_size()).unwrap();
        let mut r = heap.allocate(10).unwrap();
        // SAFETY: the region is read+write and at least 10 bytes long.
        unsafe { std::ptr::write_bytes(r.as_mut_ptr(), 0xc3, 10) };
        r.seal(Protection::ReadExecute).unwrap();
        assert_eq!(r.protection(), Protection::ReadExecute);
        assert!(r.seal(Protection::ReadWrite).is_err());
        // SAFETY: the region is readable and its first byte was written above.
        assert_eq!(unsafe { *r.as_ptr() }, 0xc3);
        drop(r);
        // Freed memory comes back zeroed (MADV_DONTNEED on a private anonymous mapping).
        let r = heap.allocate(10).unwrap();
        // SAFETY: a fresh region is read+write.
        assert_eq!(unsafe { *r.as_ptr() }, 0);
    }
}
