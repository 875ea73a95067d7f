// SPDX-License-Identifier: GPL-2.0
//! # Wrong way: `kmalloc` memory by PFN, freed in vm_ops `close`
//!
//! The first seed's comment: memory from `kzalloc_node`, mapped with
//! `remap_pfn_range` in mmap and `kfree`d in the vm_ops `close`. A VMA can be
//! split (munmap of part of it) or copied (fork): `close` runs for one part
//! while another still maps the memory, which is then freed under it. Page
//! poisoning shows it: the rest of the mapping reads 0xaa. The right way:
//! each VMA holds the buffer (`ffi::vma::hold`), memory goes with the last.

use crate::ffi::{
    dma::PageMap,
    mem::KmallocBlock,
    vma::{remap_pfn, Caching},
};
use crate::ways::{
    dma::DmaState,
    way::{Allocation, Mapped, Way},
};
use kernel::{device, mm::virt::VmaNew, prelude::*};

struct Kmalloc(KmallocBlock);

pub(super) fn alloc(dev: &device::Device<device::Bound>, size: usize) -> Result<Allocation> {
    let block = KmallocBlock::alloc(size)?;
    let dma = DmaState::Contiguous(PageMap::kmalloc(dev, &block)?);
    Allocation::new(Kmalloc(block), dma)
}

impl Way for Kmalloc {
    fn map(&self, vma: &VmaNew, _pages: usize, _dma: &DmaState) -> Result<Mapped> {
        remap_pfn(vma, self.0.phys(), Caching::Default)?;
        Ok(Mapped::AtMmap)
    }

    fn vma_closed(&self) {
        // The bug: the first VMA to close frees the memory, though a split's
        // or a fork's sibling still maps it.
        self.0.free_now();
    }
}
