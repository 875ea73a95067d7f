// SPDX-License-Identifier: GPL-2.0
//! # Wrong way: device memory by `vm_insert_page`
//!
//! The first seed asks whether a NIC's memory (a BAR, mapped in the kernel
//! with `ioremap_wc`) can go to user space with `vm_insert_page()`.
//! `vm_insert_page` inserts a `struct page`, and device memory has none: its
//! frames are not RAM the kernel manages (`pfn_valid` is false), so there is
//! nothing to insert. A C driver that takes `pfn_to_page()` or
//! `virt_to_page()` of the BAR anyway hands `vm_insert_page` a pointer into
//! memory map that does not exist and oopses; this one asks the kernel
//! first and is refused, EINVAL (what `vm_insert_page` answers for a page
//! it cannot insert). The right way: `io_remap_pfn_range` of the BAR's
//! physical address (`mmap_bar.rs`).

use crate::ffi::mem::has_struct_page;
use kernel::{mm::virt::VmaNew, page::PAGE_SIZE, prelude::*};

/// BAR memory at `phys` into `vma` the `vm_insert_page` way: refused.
pub(crate) fn map(vma: &VmaNew, phys: u64) -> Result {
    let pages = (vma.end() - vma.start()) / PAGE_SIZE;
    for i in 0..pages as u64 {
        if !has_struct_page(phys + i * PAGE_SIZE as u64) {
            pr_warn!(
                "cardless: bug zoo: vm_insert_page of BAR frame {:#x}: no struct page (pfn_valid is false)\n",
                (phys >> kernel::bindings::PAGE_SHIFT) + i
            );
            return Err(EINVAL);
        }
    }
    // A BAR's frames are never RAM the kernel manages; were they, this way
    // would still be wrong for device memory.
    Err(EINVAL)
}
