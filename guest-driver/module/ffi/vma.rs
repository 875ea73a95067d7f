// SPDX-License-Identifier: GPL-2.0
//! User mappings (VMAs under construction in mmap) beyond the `kernel` crate's
//! `VmaNew`: PFN ranges with a chosen caching mode, batches of pages,
//! `vm_ops` that keep an object alive for as long as any VMA maps it (fork
//! and split included) and may hand out pages on fault, the page offset.

use super::c_helpers::{cardless_get_page, cardless_io_remap_pfn_range, cardless_pgprot_noncached};
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use kernel::ffi::c_ulong;
use kernel::{
    bindings, error::to_result, mm::virt::VmaNew, page::Page, page::PAGE_SIZE, prelude::*,
    sync::Arc,
};

/// How the CPU may cache a mapping of memory that has no `struct page`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Caching {
    /// Registers: every access reaches the device, in order (UC-).
    Uncached,
    /// Device memory: stores may be combined and posted (WC).
    WriteCombining,
    /// Whatever the VMA has (write-back): right for RAM, wrong for registers.
    Default,
}

fn length(vma: &VmaNew) -> usize {
    vma.end() - vma.start()
}

/// Sets `vma`'s page protection to `caching` and returns it: the VMA must
/// carry it, so later faults and mprotect see the same mode.
fn set_caching(vma: &VmaNew, caching: Caching) -> bindings::pgprot_t {
    let raw = vma.as_ptr();
    // SAFETY: `raw` is the VMA under construction that `VmaNew` wraps; mmap holds the
    // mmap write lock, so nothing else reads or writes `vm_page_prot` concurrently.
    let prot = unsafe { (*raw).vm_page_prot };
    let prot = match caching {
        // SAFETY: a pure function of its argument.
        Caching::Uncached => unsafe { cardless_pgprot_noncached(prot) },
        // SAFETY: a pure function of its argument.
        Caching::WriteCombining => unsafe { bindings::pgprot_writecombine(prot) },
        Caching::Default => prot,
    };
    // SAFETY: as above.
    unsafe { (*raw).vm_page_prot = prot };
    prot
}

/// `io_remap_pfn_range`: device memory at `phys` (a BAR) into the whole of
/// `vma` with `caching`. Sets `VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP`.
/// Nothing keeps the device there: its driver zaps the mapping before the BAR
/// goes (`FileSpace::zap`).
pub(crate) fn io_remap(vma: &VmaNew, phys: u64, caching: Caching) -> Result {
    remap(vma, phys, caching, true)
}

/// `remap_pfn_range`: physical frames from `phys` into the whole of `vma`
/// with `caching`. No page is referenced: the caller keeps the memory there
/// for as long as the mapping exists (PFN mappings are the driver's to keep
/// alive).
pub(crate) fn remap_pfn(vma: &VmaNew, phys: u64, caching: Caching) -> Result {
    remap(vma, phys, caching, false)
}

fn remap(vma: &VmaNew, phys: u64, caching: Caching, io: bool) -> Result {
    let len = length(vma);
    if phys % PAGE_SIZE as u64 != 0 || len == 0 {
        return Err(EINVAL);
    }
    let prot = set_caching(vma, caching);
    let (raw, start, pfn) = (
        vma.as_ptr(),
        vma.start() as c_ulong,
        (phys >> bindings::PAGE_SHIFT) as c_ulong,
    );
    // SAFETY: `raw` is a VMA being set up under the mmap write lock and the range is
    // exactly the VMA. PFN mappings take no reference on what they map; a mapping
    // of something that goes away is a stale mapping, not memory this code owns.
    to_result(unsafe {
        if io {
            cardless_io_remap_pfn_range(raw, start, pfn, len as c_ulong, prot)
        } else {
            bindings::remap_pfn_range(raw, start, pfn, len as c_ulong, prot)
        }
    })
}

/// `vm_insert_pages`: `pages` into `vma` from its start, in one batch. Each
/// page gains a reference for its page table entry.
pub(crate) fn insert_pages(vma: &VmaNew, pages: &[Page]) -> Result {
    if pages.len() * PAGE_SIZE > length(vma) {
        return Err(EINVAL);
    }
    let vma = vma.set_mixedmap();
    let mut raw: KVec<*mut bindings::page> = KVec::with_capacity(pages.len(), GFP_KERNEL)?;
    for p in pages {
        raw.push(p.as_ptr(), GFP_KERNEL)?;
    }
    let mut left = raw.len() as c_ulong;
    // SAFETY: a VMA under construction (mixed map) large enough (checked); `raw`
    // holds `left` valid order-0 pages (`Page`s) the caller keeps alive for the call.
    // `vm_insert_pages` takes its own references.
    to_result(unsafe {
        bindings::vm_insert_pages(
            vma.as_ptr(),
            vma.start() as c_ulong,
            raw.as_mut_ptr(),
            &mut left,
        )
    })?;
    if left != 0 {
        return Err(ENOMEM);
    }
    Ok(())
}

/// Buffer mappings start at byte 0 of their object whatever offset selected
/// it (`dma_mmap_attrs` and fault handlers read `vm_pgoff` as an offset).
pub(crate) fn reset_pgoff(vma: &VmaNew) {
    // SAFETY: a VMA under construction under the mmap write lock.
    unsafe { (*vma.as_ptr()).vm_pgoff = 0 };
}

/// The mmap page offset (`vm_pgoff`) user space asked for.
pub(crate) fn pgoff(vma: &VmaNew) -> u64 {
    // SAFETY: the VMA under construction is valid and locked (VmaNew invariant).
    unsafe { (*vma.as_ptr()).vm_pgoff as u64 }
}

/// An object user mappings keep alive: each VMA of it holds one reference.
pub(crate) trait MappedObject: Send + Sync + 'static {
    /// The page to map at page `index` of the mapping when it is first
    /// touched (only for `Populate::OnFault`); `None` answers SIGBUS.
    fn fault_page(&self, _index: usize) -> Option<&Page> {
        None
    }

    /// A VMA of the object closed (munmap, exit; a split's part).
    fn vma_closed(&self) {}
}

/// How a mapping gets its page table entries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Populate {
    /// All at mmap: a later fault (after a zap) is SIGBUS.
    AtMmap,
    /// One page per first touch, from `MappedObject::fault_page`.
    OnFault,
}

struct VmOps<T>(PhantomData<T>);

impl<T: MappedObject> VmOps<T> {
    const AT_MMAP: bindings::vm_operations_struct = bindings::vm_operations_struct {
        open: Some(vma_open::<T>),
        close: Some(vma_close::<T>),
        fault: Some(fault_sigbus),
        // SAFETY: all-zeroes is a valid vm_operations_struct (hooks absent).
        ..unsafe { core::mem::zeroed() }
    };
    const ON_FAULT: bindings::vm_operations_struct = bindings::vm_operations_struct {
        open: Some(vma_open::<T>),
        close: Some(vma_close::<T>),
        fault: Some(fault_insert::<T>),
        // SAFETY: all-zeroes is a valid vm_operations_struct (hooks absent).
        ..unsafe { core::mem::zeroed() }
    };
}

/// The object a VMA with one of the `VmOps<T>` tables holds.
///
/// # Safety
/// `vma` must carry a `VmOps<T>` table (then its private data is a leaked `Arc<T>`).
unsafe fn object_of<'a, T>(vma: *mut bindings::vm_area_struct) -> &'a T {
    // SAFETY: `hold` stores a leaked `Arc<T>` with the table; `vma_close` releases it.
    unsafe { &*(*vma).vm_private_data.cast::<T>() }
}

/// vm_ops `open`: a VMA copied (fork) or split from one of ours.
///
/// # Safety
/// `vma` carries a `VmOps<T>` table (the core mm calls this only for those).
unsafe extern "C" fn vma_open<T: MappedObject>(vma: *mut bindings::vm_area_struct) {
    // SAFETY: a copy (fork) or a split of one of our VMAs: its private data is the
    // same leaked Arc, which gains one more owner here.
    unsafe {
        let arc = ManuallyDrop::new(Arc::from_raw((*vma).vm_private_data.cast::<T>()));
        let _ = Arc::into_raw((*arc).clone());
    }
}

/// vm_ops `close`: one of our VMAs goes.
///
/// # Safety
/// As for `vma_open`.
unsafe extern "C" fn vma_close<T: MappedObject>(vma: *mut bindings::vm_area_struct) {
    // SAFETY: one of our VMAs (only `VmOps<T>` tables point here).
    unsafe { object_of::<T>(vma) }.vma_closed();
    // SAFETY: this VMA owned one reference (from `hold` or `vma_open`).
    drop(unsafe { Arc::from_raw((*vma).vm_private_data.cast::<T>()) });
}

/// vm_ops `fault` of a mapping populated at mmap.
///
/// # Safety
/// None beyond the core mm's own contract; it reads nothing.
unsafe extern "C" fn fault_sigbus(_vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // Populated at mmap: a fault only comes after the entries were zapped.
    bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t
}

/// vm_ops `fault` of a mapping the object populates a page at a time.
///
/// # Safety
/// `vmf` is a fault of a VMA that carries a `VmOps<T>` table.
unsafe extern "C" fn fault_insert<T: MappedObject>(
    vmf: *mut bindings::vm_fault,
) -> bindings::vm_fault_t {
    // SAFETY: the core mm passes a valid fault of one of our VMAs.
    let (object, index) = unsafe {
        (
            object_of::<T>((*vmf).__bindgen_anon_1.vma),
            (*vmf).__bindgen_anon_1.pgoff,
        )
    };
    match object.fault_page(index) {
        Some(page) => {
            // SAFETY: a live page of the object (the VMA holds the object); the
            // reference taken here is the core mm's, dropped when the entry goes
            // (the classic `nopage` contract).
            unsafe {
                cardless_get_page(page.as_ptr());
                (*vmf).page = page.as_ptr();
            }
            0
        }
        None => bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t,
    }
}

/// `object` becomes what `vma` maps: every VMA of it (forks and splits too)
/// holds a reference until it closes. Call last in mmap, when nothing can fail.
pub(crate) fn hold<T: MappedObject>(vma: &VmaNew, object: Arc<T>, populate: Populate) {
    let ops: &'static bindings::vm_operations_struct = match populate {
        Populate::AtMmap => &VmOps::<T>::AT_MMAP,
        Populate::OnFault => &VmOps::<T>::ON_FAULT,
    };
    let raw = vma.as_ptr();
    // SAFETY: a VMA under construction under the mmap write lock; the leaked Arc
    // is released by `vma_close`. The tables live in this module, which cannot
    // unload while a mapping exists: a VMA holds its file and an open file holds
    // a module reference (`misc::ModuleRef`).
    unsafe {
        (*raw).vm_private_data = Arc::into_raw(object).cast_mut().cast();
        (*raw).vm_ops = ops;
    }
}

/// A vm_operations whose fault handler refuses: after a zap removed a PFN
/// mapping's entries, a touch gets SIGBUS instead of whatever now sits at
/// that physical address. (Without vm_ops the VMA would look anonymous and a
/// fault would silently map zero pages.)
const SIGBUS_VM_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
    fault: Some(fault_sigbus),
    // SAFETY: all-zeroes is a valid vm_operations_struct (every hook absent).
    ..unsafe { core::mem::zeroed() }
};

/// Gives `vma` the fault handler that answers SIGBUS (see `SIGBUS_VM_OPS`).
pub(crate) fn sigbus_on_fault(vma: &VmaNew) {
    // SAFETY: the VMA is under construction under the mmap write lock; the table is
    // a constant of this module, which outlives every mapping (see `hold`).
    unsafe { (*vma.as_ptr()).vm_ops = &SIGBUS_VM_OPS };
}
