// SPDX-License-Identifier: GPL-2.0
//! # `vmalloc`: `vmalloc_user` memory, mapped with `remap_vmalloc_range`
//!
//! **Kernel calls:** `vmalloc_user` (zeroed, marked VM_USERMAP),
//! `vmalloc_to_page` per page and `dma_map_sgtable` of them (the card gets
//! a page list), `remap_vmalloc_range` at mmap.
//!
//! **For:** a buffer contiguous in the kernel's virtual space but not
//! physically. `remap_vmalloc_range` walks the area and inserts each backing
//! page (`vm_insert_page`, the first seed's answer spelled out), so the
//! mapping has `struct page` and direct I/O works. It also sets
//! VM_DONTDUMP.
//!
//! **Pitfalls:**
//! - Only areas marked VM_USERMAP are accepted: allocate with
//!   `vmalloc_user`, not `vmalloc`.
//! - The mapping must fit in the area (checked before the call).
//! - `vfree` when the buffer goes; inserted pages keep their own references
//!   until munmap, so a mapping outlives `close()` intact.

use super::dma::DmaState;
use super::way::{Allocation, Mapped, Way};
use crate::ffi::{dma::PageListMap, mem::VmallocArea};
use kernel::{device, mm::virt::VmaNew, prelude::*};

struct Vmalloc(VmallocArea);

pub(crate) fn alloc(dev: &device::Device<device::Bound>, size: usize) -> Result<Allocation> {
    let area = VmallocArea::alloc(size)?;
    let dma = DmaState::page_list(dev, PageListMap::vmalloc(dev, &area)?)?;
    Allocation::new(Vmalloc(area), dma)
}

impl Way for Vmalloc {
    fn map(&self, vma: &VmaNew, _pages: usize, _dma: &DmaState) -> Result<Mapped> {
        self.0.remap_into(vma)?;
        Ok(Mapped::AtMmap)
    }
}
