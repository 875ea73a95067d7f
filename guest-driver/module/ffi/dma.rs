// SPDX-License-Identifier: GPL-2.0
//! DMA memory and mappings beyond the `kernel` crate's: coherent memory that
//! can be mapped to user space (`dma_mmap_attrs`) and read or written while
//! the device works on it, streaming mappings (device to memory) of one
//! contiguous range and of a list of pages, and a mapping of a physical range
//! that has no `struct page`. (The crate's `SGTable` maps only vmalloc
//! memory it owns.)

use super::c_helpers::{cardless_dma_mapping_error, raw_dev};
use super::mem::{HighOrderPages, VmallocArea};
use kernel::ffi::c_void;
use kernel::{
    bindings, device, dma::Coherent, error::to_result, mm::virt::VmaNew, page::Page,
    page::PAGE_SIZE, prelude::*, scatterlist::SGTable, sync::aref::ARef, types::Opaque,
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

/// A streaming DMA mapping of a list of order-0 pages with one
/// `dma_map_sgtable`, undone on drop. The scatterlist joins runs of
/// physically adjacent pages, so the DMA layer (its debug checks, an IOMMU
/// and the map messages it sends the card) sees a few ranges, not one per
/// page. The pages must outlive the mapping (their owner drops it first).
pub(crate) struct PageListMap {
    dev: ARef<device::Device>,
    // Boxed: the table's address must not change while it is mapped.
    sgt: KBox<Opaque<bindings::sg_table>>,
    addrs: KVVec<u64>,
}

// SAFETY: a DMA mapping, its addresses and a counted device reference; the
// table is only read after `new`, and freed once, in `drop`.
unsafe impl Send for PageListMap {}
// SAFETY: `&self` only reads the table.
unsafe impl Sync for PageListMap {}

impl PageListMap {
    /// # Safety
    /// Every pointer in `pages` is a live order-0 page that outlives the mapping.
    unsafe fn new(
        dev: &device::Device<device::Bound>,
        pages: &mut [*mut bindings::page],
    ) -> Result<Self> {
        let count = u32::try_from(pages.len())?;
        if count == 0 {
            return Err(EINVAL);
        }
        let raw = raw_dev(dev);
        let sgt = KBox::new(Opaque::<bindings::sg_table>::zeroed(), GFP_KERNEL)?;
        // Runs as long as the DMA layer can map in one piece (probe lifted the
        // device's own segment limits: `pci::set_dma_limits`).
        // SAFETY: a bound device.
        let max_segment = match unsafe { bindings::dma_max_mapping_size(raw) } {
            0 => u32::MAX,
            max => u32::try_from(max).unwrap_or(u32::MAX),
        };
        // SAFETY: `sgt` is zeroed memory for the table; `pages` holds `count`
        // live pages (caller's contract) covering `count` pages from offset 0.
        to_result(unsafe {
            bindings::sg_alloc_table_from_pages_segment(
                sgt.get(),
                pages.as_mut_ptr(),
                count,
                0,
                pages.len() * PAGE_SIZE,
                max_segment,
                bindings::GFP_KERNEL,
            )
        })?;
        // SAFETY: a bound device and the table just built.
        let mapped = to_result(unsafe { bindings::dma_map_sgtable(raw, sgt.get(), DIRECTION, 0) });
        if let Err(e) = mapped {
            // SAFETY: built above, not mapped, freed once.
            unsafe { bindings::sg_free_table(sgt.get()) };
            return Err(e);
        }
        let dev: &device::Device = dev;
        // From here on, dropping `map` undoes the mapping.
        let mut map = PageListMap {
            dev: dev.into(),
            sgt,
            addrs: KVVec::new(),
        };
        map.addrs = map.page_addresses(pages.len())?;
        Ok(map)
    }

    /// Order-0 pages; the caller drops the mapping before the pages.
    /// (NOWARN, here and for the addresses: the lists' sizes, up to 128 KiB,
    /// follow the buffer's, which is the user's.)
    pub(crate) fn pages(dev: &device::Device<device::Bound>, pages: &[Page]) -> Result<Self> {
        let mut raw = KVVec::with_capacity(pages.len(), GFP_KERNEL | __GFP_NOWARN)?;
        for page in pages {
            raw.push(page.as_ptr(), GFP_KERNEL)?;
        }
        // SAFETY: live order-0 pages; their owner unmaps before freeing them.
        unsafe { Self::new(dev, &mut raw) }
    }

    /// Every page of a vmalloc area; the caller drops the mapping before the area.
    pub(crate) fn vmalloc(dev: &device::Device<device::Bound>, area: &VmallocArea) -> Result<Self> {
        let mut raw = KVVec::with_capacity(area.pages(), GFP_KERNEL | __GFP_NOWARN)?;
        for i in 0..area.pages() {
            raw.push(area.page(i), GFP_KERNEL)?;
        }
        // SAFETY: the pages of the live area (`page` checks the index).
        unsafe { Self::new(dev, &mut raw) }
    }

    /// The DMA address of each page, in order (the card's page table).
    pub(crate) fn addrs(&self) -> &[u64] {
        &self.addrs
    }

    /// Each mapped range split into its pages. EIO if the ranges do not
    /// cover the `pages` pages exactly (a DMA layer that mapped part of one).
    fn page_addresses(&self, pages: usize) -> Result<KVVec<u64>> {
        let mut addrs = KVVec::with_capacity(pages, GFP_KERNEL | __GFP_NOWARN)?;
        // SAFETY: the table lives and stays unchanged as long as `self`.
        let table = unsafe { SGTable::from_raw(self.sgt.get()) };
        let page = PAGE_SIZE as u64;
        for range in table.iter() {
            let (start, len) = (range.dma_address(), range.dma_len());
            if start % page != 0 || len % page != 0 {
                return Err(EIO);
            }
            for i in 0..len / page {
                addrs.push(start + i * page, GFP_KERNEL)?;
            }
        }
        if addrs.len() != pages {
            return Err(EIO);
        }
        Ok(addrs)
    }
}

impl Drop for PageListMap {
    fn drop(&mut self) {
        let raw = raw_dev(&self.dev);
        // SAFETY: mapped in `new` with this device and direction; unmapped once,
        // then the table is freed once.
        unsafe {
            bindings::dma_unmap_sgtable(raw, self.sgt.get(), DIRECTION, 0);
            bindings::sg_free_table(self.sgt.get());
        }
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
