// SPDX-License-Identifier: GPL-2.0
//! The vm_operations of buffer mappings: every VMA holds a reference on its
//! buffer (open on fork/split, close on munmap), so a buffer's memory lives
//! as long as any mapping of it, even after FREE or close() (the fourth seed's
//! rule). The `fault` flavour inserts pages one at a time (the old `nopage`).

use super::dma_mem::page_for_fault;
use crate::buffer::Buffer;
use core::mem::ManuallyDrop;
use kernel::{bindings, mm::virt::VmaNew, sync::Arc};

struct SyncVmOps(bindings::vm_operations_struct);
// SAFETY: immutable after construction.
unsafe impl Sync for SyncVmOps {}

/// The buffer a VMA of ours holds.
///
/// # Safety
/// `vma` must be a VMA whose `vm_ops` is one of this module's tables.
unsafe fn buffer_of<'a>(vma: *mut bindings::vm_area_struct) -> &'a Buffer {
    // SAFETY: our VMAs carry a leaked `Arc<Buffer>` in `vm_private_data` from
    // `attach_buffer` until `buf_close`.
    unsafe { &*(*vma).vm_private_data.cast::<Buffer>() }
}

unsafe extern "C" fn buf_open(vma: *mut bindings::vm_area_struct) {
    // SAFETY: a copy (fork) or a split of one of our VMAs: its private data is the
    // same leaked Arc, which gains one more owner here.
    unsafe {
        let arc = ManuallyDrop::new(Arc::from_raw((*vma).vm_private_data.cast::<Buffer>()));
        let _ = Arc::into_raw((*arc).clone());
    }
}

unsafe extern "C" fn buf_close(vma: *mut bindings::vm_area_struct) {
    // SAFETY: this VMA owned one reference (from `attach_buffer` or `buf_open`).
    drop(unsafe { Arc::from_raw((*vma).vm_private_data.cast::<Buffer>()) });
}

unsafe extern "C" fn buf_fault_sigbus(_vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // Prefaulted mappings never fault, except after unbind zapped them.
    bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t
}

unsafe extern "C" fn buf_fault_insert(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // SAFETY: the core mm passes a valid fault of one of our VMAs.
    let (buf, pgoff) = unsafe {
        (
            buffer_of((*vmf).__bindgen_anon_1.vma),
            (*vmf).__bindgen_anon_1.pgoff as usize,
        )
    };
    match buf.fault_page(pgoff) {
        Some(page) => {
            // SAFETY: handing the core mm a referenced page (classic nopage).
            unsafe { (*vmf).page = page_for_fault(page) };
            0
        }
        None => bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t,
    }
}

static PREFAULTED_VM_OPS: SyncVmOps = SyncVmOps(bindings::vm_operations_struct {
    open: Some(buf_open),
    close: Some(buf_close),
    fault: Some(buf_fault_sigbus),
    // SAFETY: all-zeroes is a valid vm_operations_struct (hooks absent).
    ..unsafe { core::mem::zeroed() }
});

static ON_DEMAND_VM_OPS: SyncVmOps = SyncVmOps(bindings::vm_operations_struct {
    open: Some(buf_open),
    close: Some(buf_close),
    fault: Some(buf_fault_insert),
    // SAFETY: all-zeroes is a valid vm_operations_struct (hooks absent).
    ..unsafe { core::mem::zeroed() }
});

/// Makes `buf` the object of `vma`: the VMA keeps it alive. `on_demand`: pages
/// come from the fault handler. Call last in mmap, when nothing can fail.
pub(crate) fn attach_buffer(vma: &VmaNew, buf: Arc<Buffer>, on_demand: bool) {
    let ops = if on_demand {
        &ON_DEMAND_VM_OPS
    } else {
        &PREFAULTED_VM_OPS
    };
    attach(vma, buf, ops);
}

/// `buf` becomes the object of `vma`, with one of this module's tables.
fn attach(vma: &VmaNew, buf: Arc<Buffer>, ops: &'static SyncVmOps) {
    let raw = vma.as_ptr();
    // SAFETY: a VMA under construction under the mmap write lock; the leaked Arc
    // is released by `buf_close`; the tables are statics of this module, which
    // cannot unload while a mapping exists (its file holds a module reference).
    unsafe {
        (*raw).vm_private_data = Arc::into_raw(buf).cast_mut().cast();
        (*raw).vm_ops = &ops.0;
    }
}

/// Buffer mappings start at page 0 of the buffer whatever ID selected them
/// (`dma_mmap_attrs` and the fault handler read `vm_pgoff` as an offset).
pub(crate) fn reset_pgoff(vma: &VmaNew) {
    // SAFETY: a VMA under construction under the mmap write lock.
    unsafe { (*vma.as_ptr()).vm_pgoff = 0 };
}

/// Bug zoo only (`ZOO_KMALLOC_FREED_IN_CLOSE`): close frees the memory,
/// though a sibling VMA (split, fork) may still map it.
#[cfg(cardless_zoo)]
unsafe extern "C" fn zoo_kmalloc_close(vma: *mut bindings::vm_area_struct) {
    // SAFETY: one of our VMAs (see `buf_close`).
    unsafe { buffer_of(vma) }.free_kmalloc_now();
    // SAFETY: as for `buf_close`: the Arc keeps its counts right, only the memory goes early.
    unsafe { buf_close(vma) };
}

#[cfg(cardless_zoo)]
static ZOO_KMALLOC_VM_OPS: SyncVmOps = SyncVmOps(bindings::vm_operations_struct {
    open: Some(buf_open),
    close: Some(zoo_kmalloc_close),
    fault: Some(buf_fault_sigbus),
    // SAFETY: all-zeroes is a valid vm_operations_struct (hooks absent).
    ..unsafe { core::mem::zeroed() }
});

/// Bug zoo only: `attach_buffer` with the close that frees the memory.
#[cfg(cardless_zoo)]
pub(crate) fn attach_zoo_kmalloc(vma: &VmaNew, buf: Arc<Buffer>) {
    attach(vma, buf, &ZOO_KMALLOC_VM_OPS);
}
