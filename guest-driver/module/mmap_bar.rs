// SPDX-License-Identifier: GPL-2.0
//! mmap of the card's BARs (the first seed's question): device memory has no
//! `struct page`, so it is mapped by PFN with `io_remap_pfn_range`, never with
//! `vm_insert_page`. BAR0 (registers) uncached, BAR2 (on-board memory)
//! write-combining. The mmap offset picks the region (uapi `MMAP_PGOFF_*`).

use crate::card::CardShared;
use crate::ffi::vma::{io_remap, pgoff, sigbus_on_fault, Caching};
use crate::uapi;
use kernel::{bindings, mm::virt::VmaNew, page::PAGE_SIZE, prelude::*};

struct Region {
    pgoff: u64,
    phys: u64,
    len: u64,
    caching: Caching,
}

fn regions(shared: &CardShared) -> [Region; 3] {
    let unbacked = crate::unbacked_base();
    [
        Region {
            pgoff: uapi::MMAP_PGOFF_BAR0,
            phys: shared.hw.bar0_phys,
            len: shared.hw.bar0_len,
            caching: bar0_caching(),
        },
        Region {
            pgoff: uapi::MMAP_PGOFF_BAR2,
            phys: shared.hw.bar2_phys,
            len: shared.hw.bar2_len,
            caching: Caching::WriteCombining,
        },
        // Zero length (so refused) unless the module parameter names an address.
        Region {
            pgoff: uapi::MMAP_PGOFF_UNBACKED,
            phys: unbacked,
            len: if unbacked != 0 { PAGE_SIZE as u64 } else { 0 },
            caching: Caching::Uncached,
        },
    ]
}

/// Registers are uncached (unless the zoo's bug says otherwise).
fn bar0_caching() -> Caching {
    #[cfg(cardless_zoo)]
    if crate::zoo::armed(uapi::ZOO_CACHED_REGISTERS) {
        // The bug: the VMA's default (write-back) protection for registers.
        return Caching::Default;
    }
    Caching::Uncached
}

pub(crate) fn mmap(shared: &CardShared, vma: &VmaNew) -> Result {
    let pgoff = pgoff(vma);
    let len = (vma.end() - vma.start()) as u64;
    let regions = regions(shared);
    let region = regions
        .iter()
        .find(|r| pgoff >= r.pgoff && pgoff - r.pgoff < r.len.div_ceil(bindings::PAGE_SIZE as u64))
        .ok_or(EINVAL)?;
    let offset = (pgoff - region.pgoff) << bindings::PAGE_SHIFT;
    if region.pgoff == uapi::MMAP_PGOFF_UNBACKED {
        // Read-only, and it stays so: mprotect must not add PROT_WRITE.
        if vma.writable() {
            return Err(EACCES);
        }
        vma.try_clear_maywrite()?;
    }
    // The whole mapping must lie inside the BAR.
    if offset.checked_add(len).is_none_or(|end| end > region.len) {
        return Err(EINVAL);
    }
    // A private (copy-on-write) mapping of device memory would turn writes into
    // anonymous copies that never reach the card.
    if vma.flags() & bindings::VM_SHARED == 0 {
        return Err(EINVAL);
    }
    vma.set_io();
    vma.set_dontexpand();
    vma.set_dontdump();
    sigbus_on_fault(vma);

    // Under the lock unbind takes: either the card is still bound and this
    // mapping's file is on the list unbind zaps, or we refuse.
    shared.binding.with_bound(|_| {
        #[cfg(cardless_zoo)]
        if region.pgoff == uapi::MMAP_PGOFF_BAR2 && crate::zoo::armed(uapi::ZOO_BAR_VM_INSERT_PAGE)
        {
            // The bug: device memory the vm_insert_page way.
            return crate::zoo::bar_vm_insert_page::map(vma, region.phys + offset);
        }
        io_remap(vma, region.phys + offset, region.caching)
    })?
}
