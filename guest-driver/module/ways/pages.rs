// SPDX-License-Identifier: GPL-2.0
//! # `pages`: order-0 pages, mapped in one batch with `vm_insert_pages`
//!
//! **Kernel calls:** `alloc_page` per page, `dma_map_sgtable` of all of them
//! (the card gets a page list, SPEC §5.5), `vm_insert_pages` once at mmap.
//!
//! **For:** a buffer of individual pages from the page allocator, mapped
//! whole when user space maps it: the modern answer to LDD3's "map RAM with
//! a nopage handler, a page at a time". The mapping has `struct page`
//! (VM_MIXEDMAP), so `get_user_pages` and direct I/O work.
//!
//! **Pitfalls:**
//! - Only order-0 pages (or sub-pages of a compound page) with a reference
//!   count: not slab memory, not a plain high-order block.
//! - The batch may stop short (it reports how many pages are left): that is
//!   an error, never a half-populated mapping.
//! - Each inserted page gains a reference for its page table entry; the
//!   driver's own reference goes when the buffer goes. Whichever is last
//!   returns the page.
//! - The pages are not contiguous: the card's copy engine can reach at most
//!   one page per command (IOC_COPY within a page).
//! - `page_by_page.rs` maps the same memory with one call per page;
//!   `make qemu-bench` compares the two.

use super::dma::DmaState;
use super::order0;
use super::way::{Allocation, Mapped, Way};
use crate::ffi::vma::insert_pages;
use kernel::{device, mm::virt::VmaNew, page::Page, prelude::*};

struct Pages(KVVec<Page>);

pub(crate) fn alloc(dev: &device::Device<device::Bound>, size: usize) -> Result<Allocation> {
    let pages = order0::alloc(size)?;
    let dma = order0::page_list(dev, &pages)?;
    Allocation::new(Pages(pages), dma)
}

impl Way for Pages {
    fn map(&self, vma: &VmaNew, pages: usize, _dma: &DmaState) -> Result<Mapped> {
        insert_pages(vma, &self.0[..pages])?;
        Ok(Mapped::AtMmap)
    }
}
