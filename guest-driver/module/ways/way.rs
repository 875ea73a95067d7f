// SPDX-License-Identifier: GPL-2.0
//! What every way of backing a buffer and mapping it to user space provides.
//! Each way is one file next to this one: it allocates the memory, hands the
//! card its DMA addresses (`DmaState`), puts the memory into a user mapping,
//! and, if it maps on demand, answers page faults.

use super::dma::DmaState;
use kernel::{mm::virt::VmaNew, page::Page, prelude::*};

/// A buffer's memory, as one way of mapping owns it.
pub(crate) trait Way: Send + Sync {
    /// Puts the buffer's first `pages` pages into `vma` from its start. The
    /// caller has made the mapping read-only and unable to grow, and holds the
    /// card bound; `dma` is the buffer's DMA state (coherent memory is there).
    fn map(&self, vma: &VmaNew, pages: usize, dma: &DmaState) -> Result<Mapped>;

    /// The page to insert at page `index` on a first touch (ways that map
    /// on demand); `None`: SIGBUS.
    fn fault_page(&self, _index: usize) -> Option<&Page> {
        None
    }

    /// A VMA of the buffer closed (munmap, exit, one part of a split).
    fn vma_closed(&self) {}
}

/// How `Way::map` left the mapping.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mapped {
    /// Every page is in the page table; each VMA holds the buffer.
    AtMmap,
    /// Pages come from `fault_page`; each VMA holds the buffer.
    OnFault,
    /// By PFN, and no VMA holds the buffer: a free while mapped leaves the
    /// mapping on freed memory (the bug zoo's LDD3 ring).
    #[cfg(cardless_zoo)]
    Unheld,
}

/// What a way's allocation gives: the memory, and how the card reaches it.
pub(crate) struct Allocation {
    pub(crate) way: KBox<dyn Way>,
    pub(crate) dma: DmaState,
}

impl Allocation {
    pub(crate) fn new(way: impl Way + 'static, dma: DmaState) -> Result<Self> {
        Ok(Allocation {
            way: KBox::new(way, GFP_KERNEL)?,
            dma,
        })
    }
}
