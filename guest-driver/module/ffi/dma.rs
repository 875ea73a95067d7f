// SPDX-License-Identifier: GPL-2.0
//! DMA memory and mappings beyond the `kernel` crate's: coherent memory that
//! can be mapped to user space (`dma_mmap_attrs`) and read or written while
//! the device works on it, streaming mappings of pages (device to memory),
//! and a mapping of a physical range that has no `struct page`.

use super::c_helpers::{cardless_dma_mapping_error, raw_dev};
use super::mem::{HighOrderPages, VmallocArea};
use kernel::ffi::c_void;
use kernel::{
    bindings, device, dma::Coherent, error::to_result, mm::virt::VmaNew, page::Page,
    page::PAGE_SIZE, prelude::*, sync::aref::ARef,
};

/// Buffers are the card's to write (records, copies into memory: SPEC §6, §11).
const DIRECTION: bindings::dma_data_direction = bindings::dma_data_direction_DMA_FROM_DEVICE;

/// Coherent DMA memory (`dma_alloc_coherent`), shared by the CPU and the
/// device without cache maintenance.
pub(crate) struct CoherentMem {
    mem: Coherent<[u8]>,
    dev: ARef<device::Device>,
}

impl CoherentMem {
    /// `size` zeroed bytes for `dev`, allocated with `gfp`.
    pub(crate) fn alloc(
        dev: &device::Device<device::Bound>,
        size: usize,
        gfp: kernel::alloc::Flags,
    ) -> Result<Self> {
        let mem = Coherent::<u8>::zeroed_slice(dev, size, gfp)?;
        let dev: &device::Device = dev;
        Ok(CoherentMem {
            mem,
            dev: dev.into(),
        })
    }

    pub(crate) fn size(&self) -> usize {
        self.mem.size()
    }

    /// The device's address of byte 0.
    pub(crate) fn dma_handle(&self) -> u64 {
        self.mem.dma_handle()
    }

    /// Copies `out.len()` bytes at `offset` out of the memory, 4 aligned bytes
    /// at a time (each a single volatile load: the device writes the memory
    /// behind the compiler's back, and a 32-bit field is never seen half
    /// written). `offset` and the length must be multiples of 4.
    pub(crate) fn read(&self, offset: usize, out: &mut [u8]) {
        self.check_words(offset, out.len());
        let base = self.mem.as_ptr().cast::<u8>();
        for (i, word) in out.chunks_exact_mut(4).enumerate() {
            // SAFETY: inside the allocation and 4-byte aligned (checked above; the
            // allocation itself is page-aligned).
            let value = unsafe { core::ptr::read_volatile(base.add(offset + 4 * i).cast::<u32>()) };
            word.copy_from_slice(&value.to_ne_bytes());
        }
    }

    /// Copies `data` into the memory at `offset`, 4 aligned bytes at a time
    /// (volatile: the device reads it). Multiples of 4, as for `read`.
    pub(crate) fn write(&self, offset: usize, data: &[u8]) {
        self.check_words(offset, data.len());
        let base = self.mem.as_mut_ptr().cast::<u8>();
        for (i, word) in data.chunks_exact(4).enumerate() {
            let value = u32::from_ne_bytes([word[0], word[1], word[2], word[3]]);
            // SAFETY: inside the allocation and 4-byte aligned (checked above).
            unsafe { core::ptr::write_volatile(base.add(offset + 4 * i).cast::<u32>(), value) };
        }
    }

    fn check_words(&self, offset: usize, len: usize) {
        assert!(offset % 4 == 0 && len % 4 == 0);
        assert!(offset
            .checked_add(len)
            .is_some_and(|end| end <= self.size()));
    }

    /// `dma_mmap_attrs` (`dma_mmap_coherent`): the memory into `vma` from its
    /// start, mapped however the platform's DMA layer allocated it.
    pub(crate) fn mmap_into(&self, vma: &VmaNew) -> Result {
        if vma.end() - vma.start() > self.size() {
            return Err(EINVAL);
        }
        // SAFETY: a VMA under construction, no larger than the allocation (checked),
        // which is a live coherent allocation of `dev`.
        to_result(unsafe {
            bindings::dma_mmap_attrs(
                raw_dev(&self.dev),
                vma.as_ptr(),
                self.mem.as_ptr().cast::<c_void>().cast_mut(),
                self.mem.dma_handle(),
                self.mem.size(),
                0,
            )
        })
    }

    /// The physical address of the memory's first page (the bug zoo: what a
    /// DMA handle is without an IOMMU). Behind an IOMMU the allocation is
    /// vmapped, and only page 0 is at this address.
    #[cfg(cardless_zoo)]
    pub(crate) fn first_page_phys(&self) -> u64 {
        let addr = self.mem.as_ptr().cast::<c_void>();
        // SAFETY: `addr` is the live allocation's CPU address, either in the
        // direct map or in the vmalloc area; both lookups only read page tables.
        unsafe {
            if bindings::is_vmalloc_addr(addr) {
                (bindings::vmalloc_to_pfn(addr) as u64) << bindings::PAGE_SHIFT
            } else {
                super::c_helpers::cardless_virt_to_phys(addr)
            }
        }
    }
}

/// A streaming DMA mapping of `size` bytes from the start of a page, undone
/// on drop. The memory must outlive it (its owner drops the mapping first).
pub(crate) struct PageMap {
    dev: ARef<device::Device>,
    addr: bindings::dma_addr_t,
    size: usize,
}

// SAFETY: a DMA address and a counted device reference.
unsafe impl Send for PageMap {}
// SAFETY: `&self` gives only the address.
unsafe impl Sync for PageMap {}

impl PageMap {
    /// # Safety
    /// `page` must head `size` bytes of live memory that outlive the mapping.
    unsafe fn new(
        dev: &device::Device<device::Bound>,
        page: *mut bindings::page,
        size: usize,
    ) -> Result<Self> {
        let raw = raw_dev(dev);
        // SAFETY: a bound device; `page .. + size` is live memory (caller's contract).
        let addr = unsafe { bindings::dma_map_page_attrs(raw, page, 0, size, DIRECTION, 0) };
        // SAFETY: checking the handle just returned for this device.
        if unsafe { cardless_dma_mapping_error(raw, addr) } != 0 {
            return Err(ENOMEM);
        }
        let dev: &device::Device = dev;
        Ok(PageMap {
            dev: dev.into(),
            addr,
            size,
        })
    }

    /// One order-0 page; the caller drops the mapping before the page.
    pub(crate) fn page(dev: &device::Device<device::Bound>, page: &Page) -> Result<Self> {
        // SAFETY: a live order-0 page; its owner unmaps before freeing it.
        unsafe { Self::new(dev, page.as_ptr(), PAGE_SIZE) }
    }

    /// Page `i` of a vmalloc area; the caller drops the mapping before the area.
    pub(crate) fn vmalloc_page(
        dev: &device::Device<device::Bound>,
        area: &VmallocArea,
        i: usize,
    ) -> Result<Self> {
        // SAFETY: a page of the live area (`page` checks the index).
        unsafe { Self::new(dev, area.page(i), PAGE_SIZE) }
    }

    /// A whole high-order block as one range; the caller drops the mapping first.
    pub(crate) fn block(
        dev: &device::Device<device::Bound>,
        block: &HighOrderPages,
    ) -> Result<Self> {
        // SAFETY: the block's pages are contiguous and live.
        unsafe { Self::new(dev, block.head(), block.pages() * PAGE_SIZE) }
    }

    /// The bug zoo's `kmalloc` block as one range.
    #[cfg(cardless_zoo)]
    pub(crate) fn kmalloc(
        dev: &device::Device<device::Bound>,
        block: &super::mem::KmallocBlock,
    ) -> Result<Self> {
        // SAFETY: physically contiguous live memory of that size (its owner unmaps
        // before it frees on drop; freeing early is the zoo's bug, and only ever
        // makes the card write freed memory, which the test shows).
        unsafe { Self::new(dev, block.first_page(), block.size()) }
    }

    /// The bug zoo's `__get_free_pages` block as one range.
    #[cfg(cardless_zoo)]
    pub(crate) fn free_pages(
        dev: &device::Device<device::Bound>,
        block: &super::mem::FreePages,
    ) -> Result<Self> {
        // SAFETY: as for `kmalloc`.
        unsafe { Self::new(dev, block.first_page(), block.size()) }
    }

    pub(crate) fn addr(&self) -> u64 {
        self.addr
    }
}

impl Drop for PageMap {
    fn drop(&mut self) {
        // SAFETY: mapped in `new` with these arguments; unmapped once.
        unsafe {
            bindings::dma_unmap_page_attrs(raw_dev(&self.dev), self.addr, self.size, DIRECTION, 0)
        };
    }
}

/// A DMA mapping of a physical range that has no `struct page` (a reserved
/// carve-out), undone on drop.
pub(crate) struct ResourceMap {
    dev: ARef<device::Device>,
    addr: bindings::dma_addr_t,
    size: usize,
}

// SAFETY: as for `PageMap`.
unsafe impl Send for ResourceMap {}
// SAFETY: as for `PageMap`.
unsafe impl Sync for ResourceMap {}

impl ResourceMap {
    pub(crate) fn new(dev: &device::Device<device::Bound>, phys: u64, size: usize) -> Result<Self> {
        let raw = raw_dev(dev);
        // SAFETY: a bound device. `dma_map_resource` only computes an address (and
        // with an IOMMU maps it); it touches no memory.
        let addr = unsafe { bindings::dma_map_resource(raw, phys, size, DIRECTION, 0) };
        // SAFETY: checking the handle just returned for this device.
        if unsafe { cardless_dma_mapping_error(raw, addr) } != 0 {
            return Err(ENOMEM);
        }
        let dev: &device::Device = dev;
        Ok(ResourceMap {
            dev: dev.into(),
            addr,
            size,
        })
    }

    pub(crate) fn addr(&self) -> u64 {
        self.addr
    }
}

impl Drop for ResourceMap {
    fn drop(&mut self) {
        // SAFETY: mapped in `new` with these arguments; unmapped once.
        unsafe {
            bindings::dma_unmap_resource(raw_dev(&self.dev), self.addr, self.size, DIRECTION, 0)
        };
    }
}
