// SPDX-License-Identifier: GPL-2.0
//! The bug zoo, compiled only into the test build of the module (`make
//! zoo-test`: `--cfg cardless_zoo`; the normal module has none of it and
//! answers `IOC_ZOO_ARM` with ENOTTY). Each classic driver bug sits where a
//! driver would get it wrong: a line of the real code behind
//! `armed(uapi::ZOO_*)`, or, for the wrong ways of mapping the seeds ask
//! about, a file of its own here:
//!
//! - `kmalloc`: `kmalloc` memory by PFN, freed in vm_ops close (the first
//!   seed's crash)
//! - `remap_dma_handle`: `remap_pfn_range(dma_handle >> PAGE_SHIFT)` with
//!   `pgprot_noncached` (the third seed's sample mmap)
//! - `free_pages_unheld`: LDD3's `__get_free_pages` ring by PFN, held by no
//!   mapping (the second seed's earlier driver)
//! - `bar_vm_insert_page`: BAR memory by `vm_insert_page` (the first seed's
//!   question)
//!
//! The guest's `zoo` suite shows each one caught (by the kernel, the card or
//! a verified wrong byte), twice alike.

pub(crate) mod bar_vm_insert_page;
mod free_pages_unheld;
mod kmalloc;
pub(crate) mod remap_dma_handle;
mod switch;

pub(crate) use switch::{arm, armed};

use crate::uapi;
use crate::ways::way::Allocation;
use kernel::{device, prelude::*};

/// A buffer strategy only the zoo build has.
pub(crate) fn is_strategy(strategy: u32) -> bool {
    matches!(
        strategy,
        uapi::ZOO_STRATEGY_KMALLOC | uapi::ZOO_STRATEGY_FREE_PAGES
    )
}

/// Allocates a zoo strategy's buffer, if its bug is armed (else EINVAL, as
/// for any unknown strategy).
pub(crate) fn alloc(
    dev: &device::Device<device::Bound>,
    strategy: u32,
    size: usize,
) -> Result<Allocation> {
    match strategy {
        uapi::ZOO_STRATEGY_KMALLOC if armed(uapi::ZOO_KMALLOC_FREED_IN_CLOSE) => {
            kmalloc::alloc(dev, size)
        }
        uapi::ZOO_STRATEGY_FREE_PAGES if armed(uapi::ZOO_FREE_PAGES_UNHELD) => {
            free_pages_unheld::alloc(dev, size)
        }
        _ => Err(EINVAL),
    }
}
