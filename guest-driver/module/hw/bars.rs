// SPDX-License-Identifier: GPL-2.0
//! The card's BARs as the driver reaches them: BAR0 (registers, uncached) and
//! BAR2 (on-board memory, write-combining), each revoked at unbind. Every
//! access takes one guard (an RCU read section) for a whole operation, not
//! one per register: `regs(|bar| ...)` runs a sequence of register accesses
//! under one guard, so the closure must not sleep.

use super::bar0::{Bar0, BAR0_SIZE};
use super::regs;
use crate::ffi::pci::WcBar;
use kernel::{
    devres::Devres,
    io::Io,
    pci,
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

/// A bound card's BARs.
pub(crate) struct Hw {
    bar0: Devres<pci::Bar<'static, BAR0_SIZE>>,
    bar2: Devres<WcBar>,
    /// False from the moment unbind begins (BAR0 is only revoked after the
    /// driver's unbind): file operations answer ENODEV from then on.
    alive: Atomic<bool>,
    pub(crate) bar0_phys: u64,
    pub(crate) bar0_len: u64,
    pub(crate) bar2_phys: u64,
    pub(crate) bar2_len: u64,
}

impl Hw {
    pub(crate) fn new(
        pdev: &pci::Device<kernel::device::Bound>,
        bar0: pci::Bar<'_, BAR0_SIZE>,
        bar2: WcBar,
    ) -> Result<Self> {
        Ok(Hw {
            bar0_phys: pdev.resource_start(0)?,
            bar0_len: pdev.resource_len(0)?,
            bar2_phys: pdev.resource_start(u32::from(regs::BAR_MEM))?,
            bar2_len: bar2.len() as u64,
            bar2: Devres::new(pdev.as_ref(), bar2)?,
            bar0: bar0.into_devres()?,
            alive: Atomic::new(true),
        })
    }

    /// One operation on the registers, under one guard; ENODEV once the card
    /// is going away. `f` must not sleep.
    pub(crate) fn regs<R>(&self, f: impl FnOnce(&Bar0) -> R) -> Result<R> {
        if !self.alive.load(Relaxed) {
            return Err(ENODEV);
        }
        self.bar0.try_access_with(|bar| f(bar)).ok_or(ENODEV)
    }

    /// `regs` for the hard interrupt handler: as long as BAR0 is mapped (an
    /// interrupt may still arrive while unbind quiets the card).
    pub(crate) fn regs_in_irq<R>(&self, f: impl FnOnce(&Bar0) -> R) -> Option<R> {
        self.bar0.try_access_with(|bar| f(bar))
    }

    /// One operation on BAR2 through the kernel's write-combining mapping.
    pub(crate) fn mem<R>(&self, f: impl FnOnce(&WcBar) -> R) -> Result<R> {
        self.bar2.try_access_with(f).ok_or(ENODEV)
    }

    /// Unbind begins: every later access answers ENODEV.
    pub(crate) fn going_away(&self) {
        self.alive.store(false, Relaxed);
    }

    /// A 32-bit read at an offset user space chose (`IOC_REG_READ`): checked
    /// at run time, EINVAL outside BAR0 or unaligned.
    pub(crate) fn read_at(&self, offset: usize) -> Result<u32> {
        self.regs(|bar| bar.try_read32(offset))?
    }

    /// A 32-bit write at an offset user space chose (`IOC_REG_WRITE`).
    pub(crate) fn write_at(&self, offset: usize, value: u32) -> Result {
        self.regs(|bar| bar.try_write32(value, offset))?
    }
}
