// SPDX-License-Identifier: GPL-2.0
//! mmap of DMA buffers, by ID in the mmap offset (the third seed's
//! `buffer_id << PAGE_SHIFT`), one mapping call per strategy:
//!
//! | strategy   | call                          | pages have `struct page` |
//! |------------|-------------------------------|--------------------------|
//! | coherent   | `dma_mmap_attrs`              | yes (but mapped by PFN)  |
//! | pages      | `vm_insert_pages` (batch)     | yes                      |
//! | compound   | `vm_insert_page` per sub-page | yes                      |
//! | vmalloc    | `remap_vmalloc_range`         | yes                      |
//! | fault      | fault handler, one at a time  | yes                      |
//! | carveout   | `remap_pfn_range`             | no                       |
//!
//! Buffers are written by the card and read by user space: mappings are
//! read-only and cannot be made writable (VM_MAYWRITE cleared), cannot grow
//! (VM_DONTEXPAND), and a fork shares them (each VMA holds the buffer).

use crate::buffer::Buffer;
use crate::card::CardShared;
use crate::ffi::{dma_mem, vma as vma_ops};
use crate::uapi;
use kernel::{mm::virt::VmaNew, page::PAGE_SIZE, prelude::*, sync::Arc};

pub(crate) fn mmap(card: &CardShared, buf: Arc<Buffer>, vma: &VmaNew) -> Result {
    let len = vma.end() - vma.start();
    if len > buf.size {
        return Err(EINVAL);
    }
    if vma.writable() {
        return Err(EACCES);
    }
    vma.try_clear_maywrite()?;
    vma.set_dontexpand();
    vma_ops::reset_pgoff(vma);
    let pages = len / PAGE_SIZE;

    // Under the lock unbind takes (see mmap_bar).
    let m = card.mappings.lock();
    if !m.bound {
        return Err(ENODEV);
    }
    match buf.strategy {
        uapi::STRATEGY_COHERENT => {
            let state = buf.dma.state.lock();
            match state.as_ref() {
                Some(crate::buffer::DmaState::Coherent(mem)) => {
                    dma_mem::dma_mmap_coherent(vma, mem, &card.dev)?
                }
                _ => return Err(ENODEV),
            }
        }
        uapi::STRATEGY_PAGES => dma_mem::insert_pages(vma, &buf.pages().ok_or(EINVAL)?[..pages])?,
        uapi::STRATEGY_COMPOUND => {
            dma_mem::insert_compound_pages(vma, buf.compound().ok_or(EINVAL)?, pages)?
        }
        uapi::STRATEGY_VMALLOC => dma_mem::remap_vmalloc(vma, buf.vmalloc().ok_or(EINVAL)?)?,
        uapi::STRATEGY_FAULT => {}
        uapi::STRATEGY_CARVEOUT => dma_mem::remap_phys(vma, buf.carveout_phys().ok_or(EINVAL)?)?,
        #[cfg(cardless_zoo)]
        uapi::ZOO_STRATEGY_KMALLOC => {
            // The first seed's bug: `kmalloc` memory by PFN, freed by the
            // vm_ops close of the first VMA to go (a split's or a fork's
            // sibling still maps it).
            dma_mem::remap_phys(vma, buf.kmalloc_phys().ok_or(EINVAL)?)?;
            drop(m);
            vma_ops::attach_zoo_kmalloc(vma, buf);
            return Ok(());
        }
        _ => return Err(EINVAL),
    }
    drop(m);
    let on_demand = buf.strategy == uapi::STRATEGY_FAULT;
    vma_ops::attach_buffer(vma, buf, on_demand);
    Ok(())
}
