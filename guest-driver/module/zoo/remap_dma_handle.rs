// SPDX-License-Identifier: GPL-2.0
//! # Wrong way: `remap_pfn_range(dma_handle >> PAGE_SHIFT)` with `pgprot_noncached`
//!
//! The sample mmap in the answer to the third seed ("What is the difference
//! between dma_mmap_coherent and remap_pfn_range?"):
//!
//! ```c
//! vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
//! remap_pfn_range(vma, vma->vm_start, buf->phyaddr >> PAGE_SHIFT, ...);
//! ```
//!
//! where `phyaddr` is the handle `dma_alloc_coherent` returned. Two things
//! go wrong, silently:
//! - The handle is the card's address, not a physical one. Behind an IOMMU
//!   it is an IOVA, and the mapping shows whatever physical page the IOVA's
//!   number names (`ZOO_REMAP_DMA_HANDLE`): no error anywhere.
//! - Without an IOMMU the handle happens to be the physical address, but the
//!   memory is RAM the kernel maps write-back: x86 PAT refuses the uncached
//!   request and maps it write-back, logging `map pfn RAM range req
//!   uncached-minus ... got write-back` (`ZOO_REMAP_RAM_UNCACHED` shows this
//!   behind an IOMMU too, from the memory's own physical address).
//!
//! The right way: `dma_mmap_coherent` (`ways/coherent.rs`).

use crate::ffi::{
    dma::CoherentMem,
    vma::{remap_pfn, Caching},
};
use crate::uapi;
use kernel::{mm::virt::VmaNew, page::PAGE_SIZE, prelude::*};

/// The `coherent` way's mmap when one of these bugs is armed; `None` otherwise.
pub(crate) fn map_if_armed(vma: &VmaNew, mem: &CoherentMem) -> Option<Result> {
    let phys = if super::armed(uapi::ZOO_REMAP_DMA_HANDLE) {
        // The bug: the card's address taken for a physical one.
        mem.dma_handle()
    } else if super::armed(uapi::ZOO_REMAP_RAM_UNCACHED) {
        mem.first_page_phys()
    } else {
        return None;
    };
    // One page only: behind an IOMMU the frames after the first are not the
    // buffer's (and the zoo must not show user space other memory at large).
    if vma.end() - vma.start() > PAGE_SIZE {
        return Some(Err(EINVAL));
    }
    Some(remap_pfn(vma, phys, Caching::Uncached))
}
