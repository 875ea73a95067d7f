// SPDX-License-Identifier: GPL-2.0
//! Memory for DMA buffers that the `kernel` crate cannot allocate or map yet:
//! high-order compound pages, `vmalloc_user` memory, streaming DMA mappings of
//! pages, DMA mappings of a physical carve-out, and putting pages or PFNs into
//! a user mapping (`vm_insert_pages`, `vm_insert_page`, `remap_vmalloc_range`,
//! `remap_pfn_range`, `dma_mmap_attrs`).

use super::raw_pci;
use core::ptr::NonNull;
use kernel::ffi::{c_int, c_ulong, c_void};
use kernel::{
    bindings, device, dma::Coherent, error::to_result, mm::virt::VmaNew, page::Page,
    page::PAGE_SIZE, pci, prelude::*, sync::aref::ARef,
};

// The bindgen types of a few kernel structs contain zero-sized members.
#[allow(improper_ctypes)]
extern "C" {
    fn cardless_get_page(page: *mut bindings::page);
    fn cardless_vmalloc_user(size: c_ulong) -> *mut c_void;
    fn cardless_dma_mapping_error(dev: *mut bindings::device, addr: bindings::dma_addr_t) -> c_int;
    #[cfg(cardless_zoo)]
    fn cardless_virt_to_page(addr: *const c_void) -> *mut bindings::page;
    #[cfg(cardless_zoo)]
    fn cardless_virt_to_phys(addr: *const c_void) -> bindings::phys_addr_t;
    fn remap_vmalloc_range(
        vma: *mut bindings::vm_area_struct,
        addr: *mut c_void,
        pgoff: c_ulong,
    ) -> c_int;
    fn vfree(addr: *const c_void);
}

const DMA_FROM_DEVICE: bindings::dma_data_direction = bindings::dma_data_direction_DMA_FROM_DEVICE;

fn raw_dev(dev: &device::Device) -> *mut bindings::device {
    // `device::Device` is `#[repr(transparent)]` over `Opaque<bindings::device>`.
    core::ptr::from_ref(dev).cast_mut().cast()
}

/// The generic device of a PCI device, counted.
pub(crate) fn device_of(pdev: &pci::Device<device::Bound>) -> ARef<device::Device> {
    let _ = raw_pci(pdev);
    let dev: &device::Device = pdev.as_ref();
    dev.into()
}

/// Runs `f` with the device as a bound device.
///
/// The caller must hold the lock under which unbind marks the card gone, and
/// have seen it still bound: unbind cannot finish while that lock is held, so
/// the device stays bound for the whole call.
pub(crate) fn with_bound<R>(
    dev: &device::Device,
    f: impl FnOnce(&device::Device<device::Bound>) -> R,
) -> R {
    // SAFETY: by the caller's contract the device is bound for the duration of `f`,
    // and the reference does not escape it.
    f(unsafe { dev.as_bound() })
}

/// Memory the kernel could hand out now without swapping (`si_mem_available`).
pub(crate) fn available_memory_bytes() -> usize {
    // SAFETY: reads the memory counters; callable from any process context.
    let pages = unsafe { bindings::si_mem_available() };
    usize::try_from(pages).unwrap_or(0) * PAGE_SIZE
}

/// Sets a 64-bit DMA mask (SPEC §2: the card's DMA addresses are 64-bit).
pub(crate) fn set_dma_mask_64(pdev: &pci::Device<device::Core<'_>>) -> Result {
    use kernel::dma::Device as _;
    // SAFETY: called from probe, before this driver allocates or maps any DMA
    // memory for the device, so nothing runs concurrently with it.
    unsafe { pdev.dma_set_mask_and_coherent(kernel::dma::DmaMask::new::<64>()) }
}

/// One high-order `__GFP_COMP` allocation: the fourth seed's example. Its
/// sub-pages may be inserted into user mappings one by one.
pub(crate) struct CompoundPages {
    head: NonNull<bindings::page>,
    order: u32,
}

// SAFETY: plain memory owned by this value; no thread affinity.
unsafe impl Send for CompoundPages {}
// SAFETY: `&self` gives only addresses.
unsafe impl Sync for CompoundPages {}

impl CompoundPages {
    pub(crate) fn alloc(pages: usize) -> Result<Self> {
        Self::alloc_block(pages, 1 << bindings::___GFP_COMP_BIT)
    }

    /// Bug zoo only (`ZOO_INSERT_NON_COMPOUND`): the same block without
    /// `__GFP_COMP`, so only the first page is refcounted.
    #[cfg(cardless_zoo)]
    pub(crate) fn alloc_not_compound(pages: usize) -> Result<Self> {
        Self::alloc_block(pages, 0)
    }

    /// A zeroed block of `pages` (a power of two) pages, with `extra_gfp`.
    fn alloc_block(pages: usize, extra_gfp: bindings::gfp_t) -> Result<Self> {
        if !pages.is_power_of_two() {
            return Err(EINVAL);
        }
        let order = pages.trailing_zeros();
        // NOWARN: the size is the user's; past MAX_PAGE_ORDER or when memory
        // is short this fails with ENOMEM instead of a kernel warning.
        let gfp = bindings::GFP_KERNEL | bindings::__GFP_ZERO | bindings::__GFP_NOWARN | extra_gfp;
        // SAFETY: any order is accepted (too large fails with NULL); `Drop`
        // frees with the same order, which frees a non-compound block whole too.
        let head = unsafe { bindings::alloc_pages(gfp, order) };
        Ok(CompoundPages {
            head: NonNull::new(head).ok_or(ENOMEM)?,
            order,
        })
    }

    pub(crate) fn pages(&self) -> usize {
        1 << self.order
    }

    /// Sub-page `i` (x86-64 uses SPARSEMEM_VMEMMAP: the `struct page`s of one
    /// allocation are contiguous).
    fn page(&self, i: usize) -> *mut bindings::page {
        assert!(i < self.pages());
        // SAFETY: in bounds of this allocation's page array (checked).
        unsafe { self.head.as_ptr().add(i) }
    }
}

impl Drop for CompoundPages {
    fn drop(&mut self) {
        // SAFETY: allocated in `alloc` with this order. Sub-pages still in user
        // mappings hold references on the compound head, so the memory is only
        // returned when the last mapping goes away.
        unsafe { bindings::__free_pages(self.head.as_ptr(), self.order) };
    }
}

/// `vmalloc_user` memory (zeroed, marked for user mapping).
pub(crate) struct VmallocArea {
    addr: NonNull<c_void>,
    size: usize,
}

// SAFETY: plain memory owned by this value.
unsafe impl Send for VmallocArea {}
// SAFETY: `&self` gives only addresses.
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

    fn page(&self, i: usize) -> *mut bindings::page {
        assert!(i * PAGE_SIZE < self.size);
        // SAFETY: inside the area (checked); vmalloc memory is backed page by page.
        unsafe {
            bindings::vmalloc_to_page(self.addr.as_ptr().cast::<u8>().add(i * PAGE_SIZE).cast())
        }
    }
}

impl Drop for VmallocArea {
    fn drop(&mut self) {
        // SAFETY: allocated by `vmalloc_user`, freed once. Pages inserted into user
        // mappings by `remap_vmalloc_range` hold their own references.
        unsafe { vfree(self.addr.as_ptr()) };
    }
}

/// A streaming DMA mapping (card to memory) of `size` bytes starting at a page.
pub(crate) struct DmaPageMap {
    dev: ARef<device::Device>,
    addr: bindings::dma_addr_t,
    size: usize,
}

// SAFETY: a DMA address and a counted device reference.
unsafe impl Send for DmaPageMap {}
// SAFETY: `&self` gives only the address.
unsafe impl Sync for DmaPageMap {}

impl DmaPageMap {
    fn new(
        dev: &device::Device<device::Bound>,
        page: *mut bindings::page,
        size: usize,
    ) -> Result<Self> {
        let raw = raw_dev(dev);
        // SAFETY: `page` heads `size` bytes of memory owned by the caller's buffer,
        // which outlives this mapping (it is dropped first, see `Buffer`).
        let addr = unsafe { bindings::dma_map_page_attrs(raw, page, 0, size, DMA_FROM_DEVICE, 0) };
        // SAFETY: checking the handle just returned for this device.
        if unsafe { cardless_dma_mapping_error(raw, addr) } != 0 {
            return Err(ENOMEM);
        }
        let dev: &device::Device = dev;
        Ok(DmaPageMap {
            dev: dev.into(),
            addr,
            size,
        })
    }

    pub(crate) fn addr(&self) -> u64 {
        self.addr
    }
}

impl Drop for DmaPageMap {
    fn drop(&mut self) {
        // SAFETY: mapped in `new` with these arguments; unmapped once.
        unsafe {
            bindings::dma_unmap_page_attrs(
                raw_dev(&self.dev),
                self.addr,
                self.size,
                DMA_FROM_DEVICE,
                0,
            )
        };
    }
}

/// A DMA mapping of a physical range that has no `struct page` (the carve-out).
pub(crate) struct DmaResourceMap {
    dev: ARef<device::Device>,
    addr: bindings::dma_addr_t,
    size: usize,
}

// SAFETY: as for `DmaPageMap`.
unsafe impl Send for DmaResourceMap {}
// SAFETY: as for `DmaPageMap`.
unsafe impl Sync for DmaResourceMap {}

impl DmaResourceMap {
    pub(crate) fn new(dev: &device::Device<device::Bound>, phys: u64, size: usize) -> Result<Self> {
        let raw = raw_dev(dev);
        // SAFETY: the range is the reserved carve-out, which exists for the whole
        // uptime and is no one else's.
        let addr = unsafe { bindings::dma_map_resource(raw, phys, size, DMA_FROM_DEVICE, 0) };
        // SAFETY: checking the handle just returned for this device.
        if unsafe { cardless_dma_mapping_error(raw, addr) } != 0 {
            return Err(ENOMEM);
        }
        let dev: &device::Device = dev;
        Ok(DmaResourceMap {
            dev: dev.into(),
            addr,
            size,
        })
    }

    pub(crate) fn addr(&self) -> u64 {
        self.addr
    }
}

impl Drop for DmaResourceMap {
    fn drop(&mut self) {
        // SAFETY: mapped in `new` with these arguments; unmapped once.
        unsafe {
            bindings::dma_unmap_resource(
                raw_dev(&self.dev),
                self.addr,
                self.size,
                DMA_FROM_DEVICE,
                0,
            )
        };
    }
}

/// Zeroes `size` bytes of physical memory that has no `struct page` (the
/// carve-out) through a temporary cached kernel mapping: a buffer must not
/// show user space what its last user left there.
pub(crate) fn zero_phys(phys: u64, size: usize) -> Result {
    // SAFETY: `phys .. phys + size` is the reserved carve-out, which no one
    // else maps or uses; a failure is NULL.
    let addr = unsafe { bindings::memremap(phys, size, bindings::MEMREMAP_WB as c_ulong) };
    let addr = NonNull::new(addr).ok_or(ENOMEM)?;
    // SAFETY: `addr` maps `size` writable bytes until the memunmap below.
    unsafe {
        core::ptr::write_bytes(addr.as_ptr().cast::<u8>(), 0, size);
        bindings::memunmap(addr.as_ptr());
    }
    Ok(())
}

/// The pages of a buffer, whatever allocated them, as raw `struct page`s.
pub(crate) enum PageSource<'a> {
    Single(&'a [Page]),
    Vmalloc(&'a VmallocArea),
}

impl PageSource<'_> {
    fn page(&self, i: usize) -> *mut bindings::page {
        match self {
            PageSource::Single(pages) => pages[i].as_ptr(),
            PageSource::Vmalloc(v) => v.page(i),
        }
    }
}

/// Maps each of `count` pages for DMA on its own: the card gets a page list.
pub(crate) fn dma_map_each_page(
    dev: &device::Device<device::Bound>,
    src: &PageSource<'_>,
    count: usize,
) -> Result<KVec<DmaPageMap>> {
    let mut maps = KVec::with_capacity(count, GFP_KERNEL)?;
    for i in 0..count {
        maps.push(DmaPageMap::new(dev, src.page(i), PAGE_SIZE)?, GFP_KERNEL)?;
    }
    Ok(maps)
}

/// Bug zoo only (`ZOO_KMALLOC_FREED_IN_CLOSE`): `size` bytes from `kmalloc`
/// (a power of two of at least a page: page-aligned and physically
/// contiguous) that can be freed early, by a VMA's close (the bug), and is
/// otherwise freed on drop. Freed once either way.
#[cfg(cardless_zoo)]
pub(crate) struct KmallocBlock {
    /// The `kmalloc` address, 0 once freed.
    addr: kernel::sync::atomic::Atomic<usize>,
    /// Physical address and first page, taken while the memory was live.
    phys: u64,
    page: *mut bindings::page,
    size: usize,
}

// SAFETY: plain memory owned by this value; the address is handed over atomically.
#[cfg(cardless_zoo)]
unsafe impl Send for KmallocBlock {}
// SAFETY: as above.
#[cfg(cardless_zoo)]
unsafe impl Sync for KmallocBlock {}

#[cfg(cardless_zoo)]
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
            addr: kernel::sync::atomic::Atomic::new(ptr as usize),
            phys,
            page,
            size,
        })
    }

    pub(crate) fn phys(&self) -> u64 {
        self.phys
    }

    /// Frees the memory now (whoever still maps or DMA-maps it).
    pub(crate) fn free_now(&self) {
        let addr = self.addr.xchg(0, kernel::sync::atomic::Full);
        if addr != 0 {
            // SAFETY: allocated by `KVec` (kmalloc) in `alloc`; the swap to 0 makes
            // this the only free.
            unsafe { bindings::kfree(addr as *const c_void) };
        }
    }
}

#[cfg(cardless_zoo)]
impl Drop for KmallocBlock {
    fn drop(&mut self) {
        self.free_now();
    }
}

/// Bug zoo only: maps `kmalloc` memory for the card as one range.
#[cfg(cardless_zoo)]
pub(crate) fn dma_map_kmalloc(
    dev: &device::Device<device::Bound>,
    mem: &KmallocBlock,
) -> Result<DmaPageMap> {
    DmaPageMap::new(dev, mem.page, mem.size)
}

/// Maps a compound allocation for DMA as one range: the card gets one address.
pub(crate) fn dma_map_compound(
    dev: &device::Device<device::Bound>,
    c: &CompoundPages,
) -> Result<DmaPageMap> {
    DmaPageMap::new(dev, c.page(0), c.pages() * PAGE_SIZE)
}

/// `vm_insert_pages`: the pages go into the user mapping in one batch (each
/// gets a reference, so they outlive a free while mapped).
pub(crate) fn insert_pages(vma: &VmaNew, pages: &[Page]) -> Result {
    let vma = vma.set_mixedmap();
    let mut raw: KVec<*mut bindings::page> = KVec::with_capacity(pages.len(), GFP_KERNEL)?;
    for p in pages {
        raw.push(p.as_ptr(), GFP_KERNEL)?;
    }
    let mut count = raw.len() as c_ulong;
    // SAFETY: a VMA under construction (mixed map), `raw` holds `count` valid,
    // order-0, non-slab pages owned by the buffer. `vm_insert_pages` takes its own
    // references.
    to_result(unsafe {
        bindings::vm_insert_pages(
            vma.as_ptr(),
            vma.start() as c_ulong,
            raw.as_mut_ptr(),
            &mut count,
        )
    })?;
    if count != 0 {
        return Err(ENOMEM);
    }
    Ok(())
}

/// `vm_insert_page` for each sub-page of a compound allocation (the fourth seed).
pub(crate) fn insert_compound_pages(vma: &VmaNew, c: &CompoundPages, count: usize) -> Result {
    let vma = vma.set_mixedmap();
    for i in 0..count.min(c.pages()) {
        // SAFETY: a VMA under construction (mixed map); the sub-page belongs to a
        // compound allocation, which `vm_insert_page` accepts and references.
        to_result(unsafe {
            bindings::vm_insert_page(
                vma.as_ptr(),
                (vma.start() + i * PAGE_SIZE) as c_ulong,
                c.page(i),
            )
        })?;
    }
    Ok(())
}

/// `remap_vmalloc_range`: the vmalloc_user area into the whole mapping.
pub(crate) fn remap_vmalloc(vma: &VmaNew, area: &VmallocArea) -> Result {
    // SAFETY: a VMA under construction; `area` came from `vmalloc_user` (VM_USERMAP)
    // and is at least as large as the mapping (checked by the caller).
    to_result(unsafe { remap_vmalloc_range(vma.as_ptr(), area.addr.as_ptr(), 0) })
}

/// `dma_mmap_attrs` (`dma_mmap_coherent`): coherent DMA memory into the mapping.
pub(crate) fn dma_mmap_coherent(
    vma: &VmaNew,
    mem: &Coherent<[u8]>,
    dev: &device::Device,
) -> Result {
    // SAFETY: a VMA under construction; `mem` is a live coherent allocation of this
    // device, and the mapping is no larger than it (checked by the caller).
    to_result(unsafe {
        bindings::dma_mmap_attrs(
            raw_dev(dev),
            vma.as_ptr(),
            mem.as_ptr().cast::<c_void>().cast_mut(),
            mem.dma_handle(),
            mem.size(),
            0,
        )
    })
}

/// `remap_pfn_range` of RAM with no `struct page` (the carve-out), cached.
pub(crate) fn remap_phys(vma: &VmaNew, phys: u64) -> Result {
    let raw = vma.as_ptr();
    let len = vma.end() - vma.start();
    // SAFETY: a VMA under construction under the mmap write lock; the range is the
    // reserved carve-out, which lives for the whole uptime.
    to_result(unsafe {
        bindings::remap_pfn_range(
            raw,
            vma.start() as c_ulong,
            (phys >> bindings::PAGE_SHIFT) as c_ulong,
            len as c_ulong,
            (*raw).vm_page_prot,
        )
    })
}

/// Takes a reference on `page` for the fault handler to hand to the core mm.
pub(crate) fn page_for_fault(page: &Page) -> *mut bindings::page {
    // SAFETY: a live page owned by the buffer; the extra reference is dropped by
    // the core mm when the PTE goes away.
    unsafe { cardless_get_page(page.as_ptr()) };
    page.as_ptr()
}

/// Reads a little-endian u32 that the card writes by DMA into coherent memory.
pub(crate) fn read_coherent_u32(mem: &Coherent<[u8]>, offset: usize) -> u32 {
    assert!(offset + 4 <= mem.size());
    // SAFETY: inside the allocation (checked); a volatile read because the card
    // writes it behind the compiler's back.
    u32::from_le(unsafe {
        core::ptr::read_volatile(mem.as_ptr().cast::<u8>().add(offset).cast::<u32>())
    })
}

/// Writes a little-endian u64 into coherent memory the card reads (page tables).
pub(crate) fn write_coherent_u64(mem: &Coherent<[u8]>, offset: usize, value: u64) {
    assert!(offset + 8 <= mem.size());
    // SAFETY: inside the allocation (checked).
    unsafe {
        core::ptr::write_volatile(
            mem.as_mut_ptr().cast::<u8>().add(offset).cast::<u64>(),
            value.to_le(),
        )
    }
}
