// SPDX-License-Identifier: GPL-2.0
//! How the card reaches a buffer: one DMA range, or a list of pages whose
//! addresses it reads from a table in memory (SPEC §5.5). Each way builds one
//! of these at allocation; the driver revokes it at unbind.

use crate::ffi::dma::{CoherentMem, PageListMap, PageMap, ResourceMap};
use kernel::{device, page::PAGE_SIZE, prelude::*};

pub(crate) enum DmaState {
    /// Coherent memory: the memory and its DMA address in one.
    Coherent(CoherentMem),
    /// One streaming DMA mapping of contiguous memory.
    Contiguous(PageMap),
    /// A physical range without `struct page` (the carve-out).
    Resource(ResourceMap),
    /// Pages mapped as one list, each listed in a table the card reads.
    PageList {
        table: CoherentMem,
        map: PageListMap,
    },
}

/// Where the card's ring is: a DMA address and, for a page list, its length.
pub(crate) struct RingAddress {
    pub(crate) base: u64,
    pub(crate) sg_pages: Option<u32>,
}

impl DmaState {
    /// A page list of `map`'s pages, with the table the card reads: one
    /// little-endian u64 DMA address per page.
    pub(crate) fn page_list(dev: &device::Device<device::Bound>, map: PageListMap) -> Result<Self> {
        // NOWARN: its size follows the buffer's, which is the user's.
        let table = CoherentMem::alloc(dev, map.addrs().len() * 8, GFP_KERNEL | __GFP_NOWARN)?;
        for (i, addr) in map.addrs().iter().enumerate() {
            table.write(i * 8, &addr.to_le_bytes());
        }
        Ok(DmaState::PageList { table, map })
    }

    /// The DMA address of bytes `offset .. offset + len` when they form one
    /// DMA range; `None` when they cross a page of a page list.
    pub(crate) fn dma_range(&self, offset: u64, len: u64) -> Option<u64> {
        match self {
            DmaState::Coherent(c) => Some(c.dma_handle() + offset),
            DmaState::Contiguous(m) => Some(m.addr() + offset),
            DmaState::Resource(m) => Some(m.addr() + offset),
            DmaState::PageList { map, .. } => {
                let page = (offset / PAGE_SIZE as u64) as usize;
                let within = offset % PAGE_SIZE as u64;
                (within + len <= PAGE_SIZE as u64)
                    .then(|| map.addrs().get(page).map(|addr| addr + within))?
            }
        }
    }

    /// What RING_BASE and SG_PAGES get for a stream into the buffer.
    pub(crate) fn ring_address(&self) -> RingAddress {
        let (base, sg_pages) = match self {
            DmaState::Coherent(c) => (c.dma_handle(), None),
            DmaState::Contiguous(m) => (m.addr(), None),
            DmaState::Resource(m) => (m.addr(), None),
            DmaState::PageList { table, map } => {
                (table.dma_handle(), Some(map.addrs().len() as u32))
            }
        };
        RingAddress { base, sg_pages }
    }
}
