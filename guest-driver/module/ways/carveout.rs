// SPDX-License-Identifier: GPL-2.0
//! # `carveout`: RAM reserved at boot (`memmap=`), mapped with `remap_pfn_range`
//!
//! **Kernel calls:** `memremap` (to zero it), `dma_map_resource` (the card
//! reaches it by physical range: there is no `struct page` to map),
//! `remap_pfn_range` at mmap with the VMA's own protection.
//!
//! **For:** memory the kernel's page allocator does not own: here
//! `memmap=SIZE$BASE` takes it out of the kernel's hands at boot
//! (`cardless.carveout_base/size` name it). `remap_pfn_range` writes page
//! table entries for any frame numbers: VM_PFNMAP | VM_IO, no reference
//! counting, no `struct page` for user space (direct I/O fails with EFAULT).
//!
//! **Pitfalls:**
//! - `remap_pfn_range` checks nothing: a range where no RAM is maps without
//!   an error and reads a fill (0xff on PCIe, 0 under QEMU), the third
//!   seed's puzzle. The bug zoo shows it (`unbacked_carveout`).
//! - No reference keeps anything alive: the driver keeps the memory there
//!   while mapped (the carve-out is reserved for the whole uptime; a buffer
//!   only claims it), and only one buffer may claim it at a time: a second
//!   would show the first one's mapping its data.
//! - A buffer must not show user space what its last user left: zeroed at
//!   every claim.
//! - RAM mapped by PFN keeps the VMA's caching (write-back): asking for
//!   `pgprot_noncached` on RAM is overridden by x86 PAT.

use super::dma::DmaState;
use super::way::{Allocation, Mapped, Way};
use crate::ffi::{
    dma::ResourceMap,
    mem::zero_reserved_ram,
    vma::{remap_pfn, Caching},
};
use kernel::{
    device,
    mm::virt::VmaNew,
    prelude::*,
    sync::atomic::{Atomic, Full},
};

/// The one carve-out, claimed by at most one buffer.
static CARVEOUT_IN_USE: Atomic<u32> = Atomic::new(0);

struct Claim {
    phys: u64,
}

impl Claim {
    fn take(size: usize) -> Result<Self> {
        let (base, len) = crate::carveout();
        if len == 0 {
            // No memmap= carve-out was given to this kernel.
            return Err(ENODEV);
        }
        if size as u64 > len {
            return Err(ENOSPC);
        }
        if CARVEOUT_IN_USE.cmpxchg(0, 1, Full).is_err() {
            return Err(EBUSY);
        }
        #[cfg(cardless_zoo)]
        if crate::zoo::armed(crate::uapi::ZOO_UNBACKED_CARVEOUT) {
            // The bug: a "reserved region" where no RAM is (the third seed's 0xff).
            return Ok(Claim {
                phys: crate::unbacked_base(),
            });
        }
        Ok(Claim { phys: base })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let _ = CARVEOUT_IN_USE.cmpxchg(1, 0, Full);
    }
}

pub(crate) fn alloc(dev: &device::Device<device::Bound>, size: usize) -> Result<Allocation> {
    let claim = Claim::take(size)?;
    zero_reserved_ram(claim.phys, size)?;
    let dma = DmaState::Resource(ResourceMap::new(dev, claim.phys, size)?);
    Allocation::new(claim, dma)
}

impl Way for Claim {
    fn map(&self, vma: &VmaNew, _pages: usize, _dma: &DmaState) -> Result<Mapped> {
        remap_pfn(vma, self.phys, Caching::Default)?;
        Ok(Mapped::AtMmap)
    }
}
