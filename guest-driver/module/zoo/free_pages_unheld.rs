// SPDX-License-Identifier: GPL-2.0
//! # Wrong way: LDD3's `__get_free_pages` ring by `remap_pfn_range`, held by nothing
//!
//! The second seed's earlier driver: "I've used remap_pfn_range() on memory
//! returned from __get_free_pages() ... and never had any issues". It maps,
//! but a PFN mapping takes no reference on the pages, and nothing else
//! ties the memory to the mapping: the driver frees the ring (here at
//! `IOC_BUF_FREE`) while user space still maps it, and the mapping now shows
//! freed pages (page poisoning's 0xaa, then whatever reuses them). The right
//! ways: `vm_insert_page(s)` (each entry holds its page), and a buffer that
//! each VMA holds (`ffi::vma::hold`).

use crate::ffi::{
    dma::PageMap,
    mem::FreePages,
    vma::{remap_pfn, Caching},
};
use crate::ways::{
    dma::DmaState,
    way::{Allocation, Mapped, Way},
};
use kernel::{device, mm::virt::VmaNew, prelude::*};

struct Ring(FreePages);

pub(super) fn alloc(dev: &device::Device<device::Bound>, size: usize) -> Result<Allocation> {
    let ring = FreePages::alloc(size)?;
    let dma = DmaState::Contiguous(PageMap::free_pages(dev, &ring)?);
    Allocation::new(Ring(ring), dma)
}

impl Way for Ring {
    fn map(&self, vma: &VmaNew, _pages: usize, _dma: &DmaState) -> Result<Mapped> {
        remap_pfn(vma, self.0.phys(), Caching::Default)?;
        // The bug: no VMA holds the buffer, so FREE frees it under the mapping.
        Ok(Mapped::Unheld)
    }
}
