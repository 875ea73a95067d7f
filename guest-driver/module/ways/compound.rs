// SPDX-License-Identifier: GPL-2.0
//! # `compound`: one high-order `__GFP_COMP` block, sub-pages inserted one by one
//!
//! **Kernel calls:** `alloc_pages(GFP_KERNEL | __GFP_COMP | __GFP_ZERO,
//! order)`, one `dma_map_page` of the whole block (the card gets one DMA
//! range), and at mmap `vm_insert_page` for each sub-page.
//!
//! **For:** a physically contiguous buffer that still maps with `struct
//! page`: Linus's rule in the fourth seed, "if you allocate with __GFP_COMP,
//! you can then use vm_insert_page() to insert the sub-pages". Direct I/O
//! works from it.
//!
//! **Pitfalls:**
//! - Only a compound allocation qualifies. In a plain high-order block only
//!   the first page has a reference count: `vm_insert_page` refuses the
//!   tail pages (EINVAL). The bug zoo shows it (`insert_non_compound`).
//! - The page count must be a power of two, at most MAX_PAGE_ORDER (4 MiB
//!   here): larger fails with ENOMEM, quietly (`__GFP_NOWARN`: the size is
//!   the user's).
//! - References land on the compound head: the block returns to the
//!   allocator only when the driver's buffer and every mapping are gone.

use super::dma::DmaState;
use super::way::{Allocation, Mapped, Way};
use crate::ffi::{dma::PageMap, mem::HighOrderPages};
use kernel::{device, mm::virt::VmaNew, page::PAGE_SIZE, prelude::*};

struct Compound(HighOrderPages);

pub(crate) fn alloc(dev: &device::Device<device::Bound>, size: usize) -> Result<Allocation> {
    let block = allocate(size / PAGE_SIZE)?;
    let dma = DmaState::Contiguous(PageMap::block(dev, &block)?);
    Allocation::new(Compound(block), dma)
}

/// A `__GFP_COMP` block (unless the bug zoo says otherwise).
fn allocate(pages: usize) -> Result<HighOrderPages> {
    #[cfg(cardless_zoo)]
    if crate::zoo::armed(crate::uapi::ZOO_INSERT_NON_COMPOUND) {
        // The bug: a plain high-order block; its tail pages have no refcount.
        return HighOrderPages::not_compound(pages);
    }
    HighOrderPages::compound(pages)
}

impl Way for Compound {
    fn map(&self, vma: &VmaNew, pages: usize, _dma: &DmaState) -> Result<Mapped> {
        self.0.insert_into(vma, pages)?;
        Ok(Mapped::AtMmap)
    }
}
