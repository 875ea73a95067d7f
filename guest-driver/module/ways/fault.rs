// SPDX-License-Identifier: GPL-2.0
//! # `fault`: order-0 pages handed over one page fault at a time
//!
//! **Kernel calls:** `alloc_page` per page and `dma_map_sgtable` (as `pages`);
//! nothing at mmap; `vm_ops->fault` sets `vmf->page` to the page, with a
//! reference (`get_page`) that the core mm drops when the entry goes.
//!
//! **For:** the historical `nopage` approach the second seed quotes from
//! LDD3. No page table entry exists until user space touches a page; every
//! first touch of a page costs a fault (what the second seed asks about:
//! `make qemu-bench` measures it against the prefaulted ways). The mapping
//! has `struct page`, and `get_user_pages` faults the pages in itself, so
//! direct I/O works.
//!
//! **Pitfalls:**
//! - Past the buffer's end, and once the card is unbound (its DMA state
//!   revoked), the handler answers SIGBUS (`Buffer::fault_page`).
//! - The fault's page offset is counted from the mapping's start: the
//!   driver resets `vm_pgoff` after using it as the buffer ID.
//! - The reference handed over belongs to the core mm: take it for every
//!   fault, never drop it yourself.

use super::dma::DmaState;
use super::order0;
use super::way::{Allocation, Mapped, Way};
use kernel::{device, mm::virt::VmaNew, page::Page, prelude::*};

struct Fault {
    pages: KVVec<Page>,
}

pub(crate) fn alloc(dev: &device::Device<device::Bound>, size: usize) -> Result<Allocation> {
    let pages = order0::alloc(size)?;
    let dma = order0::page_list(dev, &pages)?;
    Allocation::new(Fault { pages }, dma)
}

impl Way for Fault {
    fn map(&self, _vma: &VmaNew, _pages: usize, _dma: &DmaState) -> Result<Mapped> {
        Ok(Mapped::OnFault)
    }

    fn fault_page(&self, index: usize) -> Option<&Page> {
        self.pages.get(index)
    }
}
