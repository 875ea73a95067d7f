// SPDX-License-Identifier: GPL-2.0
//! The ways of backing a DMA buffer and mapping it to user space, one file
//! each (uapi `STRATEGY_*`; docs/mapping-guide.md compares them):
//!
//! | file            | memory                      | into user space               | `struct page` |
//! |-----------------|-----------------------------|-------------------------------|---------------|
//! | `coherent`      | `dma_alloc_coherent`        | `dma_mmap_coherent`           | by platform   |
//! | `pages`         | order-0 pages               | `vm_insert_pages` (one batch) | yes           |
//! | `page_by_page`  | the same order-0 pages      | `vm_insert_page` per page     | yes           |
//! | `compound`      | one `__GFP_COMP` block      | `vm_insert_page` per sub-page | yes           |
//! | `vmalloc`       | `vmalloc_user`              | `remap_vmalloc_range`         | yes           |
//! | `fault`         | order-0 pages               | fault handler, one at a time  | yes           |
//! | `carveout`      | RAM reserved with `memmap=` | `remap_pfn_range`             | no            |
//!
//! `way` is what each provides; `dma` how the card reaches a buffer. The
//! wrong ways from the seeds are in the bug zoo (`zoo/`, test build only).

mod carveout;
mod coherent;
mod compound;
pub(crate) mod dma;
mod fault;
mod order0;
mod page_by_page;
mod pages;
mod vmalloc;
pub(crate) mod way;

pub(crate) use dma::DmaState;
pub(crate) use way::{Allocation, Mapped, Way};

use crate::uapi;
use kernel::{device, prelude::*};

/// Allocates `size` bytes (a checked, non-zero multiple of the page size)
/// the way `strategy` says, and maps them for the card.
pub(crate) fn alloc(
    dev: &device::Device<device::Bound>,
    strategy: u32,
    size: usize,
) -> Result<Allocation> {
    match strategy {
        uapi::STRATEGY_COHERENT => coherent::alloc(dev, size),
        uapi::STRATEGY_PAGES => pages::alloc(dev, size),
        uapi::STRATEGY_PAGE_BY_PAGE => page_by_page::alloc(dev, size),
        uapi::STRATEGY_COMPOUND => compound::alloc(dev, size),
        uapi::STRATEGY_VMALLOC => vmalloc::alloc(dev, size),
        uapi::STRATEGY_FAULT => fault::alloc(dev, size),
        uapi::STRATEGY_CARVEOUT => carveout::alloc(dev, size),
        #[cfg(cardless_zoo)]
        _ if crate::zoo::is_strategy(strategy) => crate::zoo::alloc(dev, strategy, size),
        _ => Err(EINVAL),
    }
}

/// A strategy `IOC_BUF_ALLOC` accepts.
pub(crate) fn known(strategy: u32) -> bool {
    #[cfg(cardless_zoo)]
    if crate::zoo::is_strategy(strategy) {
        return true;
    }
    strategy < uapi::STRATEGY_COUNT
}
