// SPDX-License-Identifier: GPL-2.0
//! mmap of DMA buffers, by ID in the mmap offset (the third seed's
//! `buffer_id << PAGE_SHIFT`). How a buffer's memory gets into the mapping
//! is its way's (`ways/`); what every buffer mapping shares is here:
//!
//! Buffers are written by the card and read by user space: mappings are
//! read-only and cannot be made writable (VM_MAYWRITE cleared), cannot grow
//! (VM_DONTEXPAND), start at the buffer's first byte whatever ID selected
//! it, and every VMA (a fork's and a split's too) holds the buffer.

use crate::buffer::Buffer;
use crate::card::CardShared;
use crate::ffi::vma::{hold, reset_pgoff, Populate};
use crate::ways::Mapped;
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
    reset_pgoff(vma);
    // Under the lock unbind takes (see mmap_bar).
    let mapped = card
        .binding
        .with_bound(|_| buf.map(vma, len / PAGE_SIZE))??;
    match mapped {
        Mapped::AtMmap => hold(vma, buf, Populate::AtMmap),
        Mapped::OnFault => hold(vma, buf, Populate::OnFault),
        #[cfg(cardless_zoo)]
        Mapped::Unheld => crate::ffi::vma::sigbus_on_fault(vma),
    }
    Ok(())
}
