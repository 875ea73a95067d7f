// SPDX-License-Identifier: GPL-2.0
//! Memory the `kernel` crate cannot allocate or map yet (its `Page` is
//! order-0 only): one high-order `__GFP_COMP` block, `vmalloc_user` memory,
//! RAM without `struct page` (a carve-out), and the bug zoo's `kmalloc` and
//! `__get_free_pages` blocks. Each owns its memory and frees it on drop.

use super::c_helpers::{cardless_vmalloc_user, remap_vmalloc_range, vfree};
use core::ptr::NonNull;
use kernel::ffi::{c_ulong, c_void};
use kernel::{bindings, error::to_result, mm::virt::VmaNew, page::PAGE_SIZE, prelude::*};

/// Memory the kernel could hand out now without swapping (`si_mem_available`).
pub(crate) fn available_bytes() -> usize {
    // SAFETY: reads the memory counters; callable from any process context.
    let pages = unsafe { bindings::si_mem_available() };
    usize::try_from(pages).unwrap_or(0) * PAGE_SIZE
}

/// Whether the frame at `phys` has a `struct page` (`pfn_valid`): RAM the
/// kernel manages does, device memory (a BAR) does not.
#[cfg(cardless_zoo)]
pub(crate) fn has_struct_page(phys: u64) -> bool {
    // SAFETY: a pure lookup in the memory map's sections.
    unsafe { super::c_helpers::cardless_pfn_valid((phys >> bindings::PAGE_SHIFT) as c_ulong) != 0 }
}

/// One high-order block of pages, zeroed: with `__GFP_COMP` a compound page,
/// whose sub-pages may each be inserted into user mappings.
pub(crate) struct HighOrderPages {
    head: NonNull<bindings::page>,
    order: u32,
}

// SAFETY: plain memory owned by this value; no thread affinity.
unsafe impl Send for HighOrderPages {}
// SAFETY: `&self` gives only addresses and inserts references.
unsafe impl Sync for HighOrderPages {}

impl HighOrderPages {
    /// A compound block of `pages` pages (a power of two).
    pub(crate) fn compound(pages: usize) -> Result<Self> {
        Self::alloc(pages, 1 << bindings::___GFP_COMP_BIT)
    }

    /// The same block without `__GFP_COMP` (the bug zoo): its tail pages have
    /// no reference count of their own.
    #[cfg(cardless_zoo)]
    pub(crate) fn not_compound(pages: usize) -> Result<Self> {
        Self::alloc(pages, 0)
    }

    fn alloc(pages: usize, extra_gfp: bindings::gfp_t) -> Result<Self> {
        if !pages.is_power_of_two() {
            return Err(EINVAL);
        }
        let order = pages.trailing_zeros();
        // NOWARN: the size is the user's; past MAX_PAGE_ORDER or when memory
        // is short this fails with ENOMEM instead of a kernel warning.
        let gfp = bindings::GFP_KERNEL | bindings::__GFP_ZERO | bindings::__GFP_NOWARN | extra_gfp;
        // SAFETY: any order is accepted (too large fails with NULL); `Drop` frees
        // with the same order, which frees a non-compound block whole too.
        let head = unsafe { bindings::alloc_pages(gfp, order) };
        Ok(HighOrderPages {
            head: NonNull::new(head).ok_or(ENOMEM)?,
            order,
        })
    }

    pub(crate) fn pages(&self) -> usize {
        1 << self.order
    }

    /// The first page (the whole block for a DMA mapping).
    pub(super) fn head(&self) -> *mut bindings::page {
        self.head.as_ptr()
    }

    /// Sub-page `i` (x86-64 uses SPARSEMEM_VMEMMAP: the `struct page`s of one
    /// allocation are contiguous).
    fn page(&self, i: usize) -> *mut bindings::page {
        assert!(i < self.pages());
        // SAFETY: in bounds of this allocation's page array (checked).
        unsafe { self.head.as_ptr().add(i) }
    }

    /// `vm_insert_page` of sub-pages `0..count` into `vma` from its start,
    /// one call per page. Each takes a reference (on the compound head); the
    /// kernel refuses (EINVAL) a tail page of a block that is not compound.
    pub(crate) fn insert_into(&self, vma: &VmaNew, count: usize) -> Result {
        if count * PAGE_SIZE > vma.end() - vma.start() {
            return Err(EINVAL);
        }
        let vma = vma.set_mixedmap();
        for i in 0..count.min(self.pages()) {
            // SAFETY: a VMA under construction (mixed map), `i` inside it (checked);
            // the sub-page is ours and alive. `vm_insert_page` checks the page's
            // reference count and takes its own reference.
            to_result(unsafe {
                bindings::vm_insert_page(
                    vma.as_ptr(),
                    (vma.start() + i * PAGE_SIZE) as c_ulong,
                    self.page(i),
                )
            })?;
        }
        Ok(())
    }
}

impl Drop for HighOrderPages {
    fn drop(&mut self) {
        // SAFETY: allocated in `alloc` with this order. Sub-pages still in user
        // mappings hold references on the compound head, so the memory is only
        // returned when the last mapping goes away.
        unsafe { bindings::__free_pages(self.head.as_ptr(), self.order) };
    }
}

/// `vmalloc_user` memory (zeroed, marked VM_USERMAP for user mapping).
pub(crate) struct VmallocArea {
    addr: NonNull<c_void>,
    size: usize,
}

// SAFETY: plain memory owned by this value.
unsafe impl Send for VmallocArea {}
// SAFETY: `&self` gives only addresses and inserts references.
unsafe impl Sync for VmallocArea {}

impl VmallocArea {
    pub(crate) fn alloc(size: usize) -> Result<Self> {
        // SAFETY: any size is accepted (failure is NULL).
        let addr = unsafe { cardless_vmalloc_user(size as c_ulong) };
        Ok(VmallocArea {
            addr: NonNull::new(addr).ok_or(ENOMEM)?,
            size,
        })
    }

    pub(crate) fn pages(&self) -> usize {
        self.size / PAGE_SIZE
    }

    /// The page behind page `i` of the area.
    pub(super) fn page(&self, i: usize) -> *mut bindings::page {
        assert!(i < self.pages());
        // SAFETY: inside the area (checked); vmalloc memory is backed page by page.
        unsafe {
            bindings::vmalloc_to_page(self.addr.as_ptr().cast::<u8>().add(i * PAGE_SIZE).cast())
        }
    }

    /// `remap_vmalloc_range`: the area into `vma` from its start (each page
    /// inserted with its own reference).
    pub(crate) fn remap_into(&self, vma: &VmaNew) -> Result {
        if vma.end() - vma.start() > self.size {
            return Err(EINVAL);
        }
        // SAFETY: a VMA under construction, no larger than the area (checked); the
        // area came from `vmalloc_user` (VM_USERMAP).
        to_result(unsafe { remap_vmalloc_range(vma.as_ptr(), self.addr.as_ptr(), 0) })
    }
}

impl Drop for VmallocArea {
    fn drop(&mut self) {
        // SAFETY: allocated by `vmalloc_user`, freed once. Pages inserted into user
        // mappings by `remap_vmalloc_range` hold their own references.
        unsafe { vfree(self.addr.as_ptr()) };
    }
}

/// Zeroes `size` bytes of RAM at `phys` that has no `struct page` (a
/// carve-out the kernel was told to leave alone) through a temporary cached
/// kernel mapping.
pub(crate) fn zero_reserved_ram(phys: u64, size: usize) -> Result {
    // `memremap` refuses RAM the kernel manages: only a reserved range maps.
    // SAFETY: a failure is NULL; on success we own the temporary mapping.
    let addr = unsafe { bindings::memremap(phys, size, bindings::MEMREMAP_WB as c_ulong) };
    let addr = NonNull::new(addr).ok_or(ENOMEM)?;
    // SAFETY: `addr` maps `size` writable bytes until the memunmap below.
    unsafe {
        core::ptr::write_bytes(addr.as_ptr().cast::<u8>(), 0, size);
        bindings::memunmap(addr.as_ptr());
    }
    Ok(())
}

#[cfg(cardless_zoo)]
pub(crate) use zoo::{FreePages, KmallocBlock};

/// The bug zoo's blocks: memory that a wrong way maps by PFN and frees while
/// still mapped. Freeing early is the bug they show; it only leaves a stale
/// user mapping (PFN mappings hold no page), never a dangling pointer here.
#[cfg(cardless_zoo)]
mod zoo {
    use super::super::c_helpers::{
        cardless_get_free_pages, cardless_virt_to_page, cardless_virt_to_phys,
    };
    use kernel::ffi::c_void;
    use kernel::sync::atomic::{Atomic, Full};
    use kernel::{bindings, page::PAGE_SIZE, prelude::*};

    /// `size` bytes from `kmalloc` (a power of two of at least a page:
    /// page-aligned and physically contiguous), freed by `free_now` or on
    /// drop, once.
    pub(crate) struct KmallocBlock {
        /// The `kmalloc` address, 0 once freed.
        addr: Atomic<usize>,
        /// Physical address and first page, taken while the memory was live.
        phys: u64,
        page: *mut bindings::page,
        size: usize,
    }

    // SAFETY: plain memory owned by this value; the address is handed over atomically.
    unsafe impl Send for KmallocBlock {}
    // SAFETY: as above.
    unsafe impl Sync for KmallocBlock {}

    impl KmallocBlock {
        pub(crate) fn alloc(size: usize) -> Result<Self> {
            if size < PAGE_SIZE || !size.is_power_of_two() {
                return Err(EINVAL);
            }
            let mut mem = KVec::<u8>::with_capacity(size, GFP_KERNEL)?;
            mem.extend_with(size, 0u8, GFP_KERNEL)?;
            if mem.as_ptr() as usize % PAGE_SIZE != 0 {
                return Err(EINVAL);
            }
            let (ptr, _, _) = mem.into_raw_parts();
            // SAFETY: `ptr` is live, page-aligned `kmalloc` memory in the direct map.
            let (phys, page) = unsafe {
                (
                    cardless_virt_to_phys(ptr.cast()),
                    cardless_virt_to_page(ptr.cast()),
                )
            };
            Ok(KmallocBlock {
                addr: Atomic::new(ptr as usize),
                phys,
                page,
                size,
            })
        }

        pub(crate) fn phys(&self) -> u64 {
            self.phys
        }

        pub(crate) fn size(&self) -> usize {
            self.size
        }

        pub(in crate::ffi) fn first_page(&self) -> *mut bindings::page {
            self.page
        }

        /// Frees the memory now, whoever still maps or DMA-maps it.
        pub(crate) fn free_now(&self) {
            let addr = self.addr.xchg(0, Full);
            if addr != 0 {
                // SAFETY: allocated by `KVec` (kmalloc) in `alloc`; the swap to 0 makes
                // this the only free.
                unsafe { bindings::kfree(addr as *const c_void) };
            }
        }
    }

    impl Drop for KmallocBlock {
        fn drop(&mut self) {
            self.free_now();
        }
    }

    /// `2^order` pages from `__get_free_pages` (not compound: LDD3's ring),
    /// zeroed, freed on drop.
    pub(crate) struct FreePages {
        addr: usize,
        phys: u64,
        page: *mut bindings::page,
        order: u32,
    }

    // SAFETY: plain memory owned by this value.
    unsafe impl Send for FreePages {}
    // SAFETY: `&self` gives only addresses.
    unsafe impl Sync for FreePages {}

    impl FreePages {
        pub(crate) fn alloc(size: usize) -> Result<Self> {
            if size < PAGE_SIZE || !size.is_power_of_two() {
                return Err(EINVAL);
            }
            let order = (size / PAGE_SIZE).trailing_zeros();
            let gfp = bindings::GFP_KERNEL | bindings::__GFP_ZERO | bindings::__GFP_NOWARN;
            // SAFETY: any order is accepted (too large fails with 0).
            let addr = unsafe { cardless_get_free_pages(gfp, order) } as usize;
            if addr == 0 {
                return Err(ENOMEM);
            }
            // SAFETY: `addr` is live page-allocator memory in the direct map.
            let (phys, page) = unsafe {
                (
                    cardless_virt_to_phys(addr as *const c_void),
                    cardless_virt_to_page(addr as *const c_void),
                )
            };
            Ok(FreePages {
                addr,
                phys,
                page,
                order,
            })
        }

        pub(crate) fn phys(&self) -> u64 {
            self.phys
        }

        pub(crate) fn size(&self) -> usize {
            PAGE_SIZE << self.order
        }

        pub(in crate::ffi) fn first_page(&self) -> *mut bindings::page {
            self.page
        }
    }

    impl Drop for FreePages {
        fn drop(&mut self) {
            // SAFETY: from `__get_free_pages` with this order, freed once. A PFN
            // mapping of it holds no reference: freeing while mapped is the
            // zoo's bug, a stale user mapping, not a dangling pointer here.
            unsafe { bindings::free_pages(self.addr as _, self.order) };
        }
    }
}
