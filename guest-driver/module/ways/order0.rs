// SPDX-License-Identifier: GPL-2.0
//! Order-0 pages and their page list: the memory of `pages`,
//! `page_by_page` and `fault` (the same memory, mapped three ways).

use super::dma::DmaState;
use crate::ffi::dma::PageListMap;
use kernel::{device, page::Page, page::PAGE_SIZE, prelude::*};

/// `size / PAGE_SIZE` zeroed pages from the page allocator (`alloc_page`).
/// NOWARN: the size is the user's; when memory is short this fails with
/// ENOMEM instead of a kernel warning. (So does the list of them, up to
/// 128 KiB: kvmalloc, which falls back to vmalloc.)
pub(crate) fn alloc(size: usize) -> Result<KVVec<Page>> {
    let count = size / PAGE_SIZE;
    let mut pages = KVVec::with_capacity(count, GFP_KERNEL | __GFP_NOWARN)?;
    for _ in 0..count {
        pages.push(
            Page::alloc_page(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN)?,
            GFP_KERNEL,
        )?;
    }
    Ok(pages)
}

/// Maps the pages for the card as one scatterlist (`dma_map_sgtable`): they
/// need not be contiguous, so the card gets a page list.
pub(crate) fn page_list(dev: &device::Device<device::Bound>, pages: &[Page]) -> Result<DmaState> {
    DmaState::page_list(dev, PageListMap::pages(dev, pages)?)
}
