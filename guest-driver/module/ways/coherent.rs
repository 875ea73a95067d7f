// SPDX-License-Identifier: GPL-2.0
//! # `coherent`: `dma_alloc_coherent` memory, mapped with `dma_mmap_coherent`
//!
//! **Kernel calls:** `dma_alloc_coherent` (the `kernel` crate's
//! `Coherent::zeroed_slice`) and `dma_mmap_attrs` (`dma_mmap_coherent` with
//! no attributes).
//!
//! **For:** memory the card and the CPU share without cache maintenance.
//! `dma_mmap_coherent` is the one correct way to map it: the DMA layer knows
//! how it allocated the memory and what page protection it needs. On x86
//! without an IOMMU it ends in `remap_pfn_range` of the memory's frames (a
//! PFN mapping: no `struct page` for user space, so no direct I/O); behind
//! an IOMMU, `iommu_dma_mmap` inserts the pages instead. The card gets one
//! DMA address.
//!
//! **Pitfalls:**
//! - Never derive a PFN from the DMA handle (`remap_pfn_range(handle >>
//!   PAGE_SHIFT)`, the seeds' own sample): the handle is the card's address,
//!   an IOVA behind an IOMMU, and `pgprot_noncached` on RAM is silently
//!   made write-back by x86 PAT. The bug zoo shows both
//!   (`zoo/remap_dma_handle.rs`).
//! - Without an IOMMU the memory is one physically contiguous block: past
//!   MAX_PAGE_ORDER (4 MiB) the allocation fails. The size is the user's, so
//!   it must fail quietly (`__GFP_NOWARN`): ENOMEM, not a kernel warning.
//! - The allocation belongs to the device's binding: it lives in the
//!   buffer's DMA state, which unbind revokes (after the user mappings were
//!   zapped), not in the buffer's memory.
//! - `dma_mmap_attrs` reads `vm_pgoff` as an offset into the memory: the
//!   driver resets it after using the mmap offset as the buffer ID.

use super::dma::DmaState;
use super::way::{Allocation, Mapped, Way};
use crate::ffi::dma::CoherentMem;
use kernel::{device, mm::virt::VmaNew, prelude::*};

/// The memory itself is in the DMA state (`DmaState::Coherent`).
struct Coherent;

pub(crate) fn alloc(dev: &device::Device<device::Bound>, size: usize) -> Result<Allocation> {
    let mem = CoherentMem::alloc(dev, size, GFP_KERNEL | __GFP_NOWARN)?;
    Allocation::new(Coherent, DmaState::Coherent(mem))
}

impl Way for Coherent {
    fn map(&self, vma: &VmaNew, _pages: usize, dma: &DmaState) -> Result<Mapped> {
        let DmaState::Coherent(mem) = dma else {
            return Err(EINVAL);
        };
        #[cfg(cardless_zoo)]
        if let Some(wrong) = crate::zoo::remap_dma_handle::map_if_armed(vma, mem) {
            // The bug zoo: the seeds' sample mmap instead of this one.
            return wrong.map(|()| Mapped::AtMmap);
        }
        mem.mmap_into(vma)?;
        Ok(Mapped::AtMmap)
    }
}
