// SPDX-License-Identifier: GPL-2.0
//! # `page_by_page`: the same order-0 pages, one `vm_insert_page` per page
//!
//! **Kernel calls:** `alloc_page` per page and `dma_map_sgtable` (exactly as
//! `pages`), then at mmap `vm_insert_page` once per page (the `kernel`
//! crate's safe `VmaMixedMap::vm_insert_page`).
//!
//! **For:** the loop the seeds' answers show (firewire's
//! `fw_iso_buffer_map_vma`: "call vm_insert_page() N times"), before
//! `vm_insert_pages` existed. Same memory, same mapping, same flags as
//! `pages`; only the mmap differs: each call takes the page table lock and
//! checks the page on its own. `make qemu-bench` times both on the same
//! memory and size.
//!
//! **Pitfalls:**
//! - `vm_insert_page` wants an order-0 page (or a compound sub-page) with a
//!   reference count, and a VMA marked VM_MIXEDMAP (set here first; the C
//!   function would set it itself under the mmap lock).
//! - A failure half way leaves the pages inserted so far in the VMA: mmap
//!   returns the error and the kernel tears the VMA down with them.
//! - Every page must be inserted: a page left out is a hole that faults
//!   (SIGBUS here), not a zero page.

use super::dma::DmaState;
use super::order0;
use super::way::{Allocation, Mapped, Way};
use kernel::{device, mm::virt::VmaNew, page::Page, page::PAGE_SIZE, prelude::*};

struct PageByPage(KVVec<Page>);

pub(crate) fn alloc(dev: &device::Device<device::Bound>, size: usize) -> Result<Allocation> {
    let pages = order0::alloc(size)?;
    let dma = order0::page_list(dev, &pages)?;
    Allocation::new(PageByPage(pages), dma)
}

impl Way for PageByPage {
    fn map(&self, vma: &VmaNew, pages: usize, _dma: &DmaState) -> Result<Mapped> {
        let vma = vma.set_mixedmap();
        for (i, page) in self.0.iter().enumerate().take(pages) {
            vma.vm_insert_page(vma.start() + i * PAGE_SIZE, page)?;
        }
        Ok(Mapped::AtMmap)
    }
}
