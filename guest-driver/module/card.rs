// SPDX-License-Identifier: GPL-2.0
//! What a card's open files share with its driver binding. Files may outlive
//! the binding (unbind, hot-unplug): everything that touches hardware is
//! behind a `Devres` that unbind revokes, and user mappings are zapped then.

use crate::ffi::{self, MappingKey, WcBar};
use crate::hw::regs;
use kernel::sync::Arc;
use kernel::{
    devres::Devres,
    io::Io,
    pci,
    prelude::*,
    sync::{atomic::Atomic, atomic::Relaxed, new_mutex, Mutex},
};

pub(crate) const BAR0_SIZE: usize = regs::BAR0_SIZE as usize;
pub(crate) type Bar0 = pci::Bar<'static, BAR0_SIZE>;

/// Open files' mappings, and whether the card is still bound.
pub(crate) struct Mappings {
    pub(crate) bound: bool,
    /// Distinct address spaces of open files, with their open counts.
    keys: KVec<(MappingKey, u32)>,
}

#[pin_data]
pub(crate) struct CardShared {
    /// N of /dev/cardlessN.
    pub(crate) index: u32,
    pub(crate) pci_location: u32,
    /// BAR0, uncached; revoked at unbind.
    pub(crate) bar0: Devres<Bar0>,
    /// BAR2, write-combining kernel mapping; revoked at unbind.
    pub(crate) bar2: Devres<WcBar>,
    pub(crate) bar0_phys: u64,
    pub(crate) bar0_len: u64,
    pub(crate) bar2_phys: u64,
    pub(crate) bar2_len: u64,
    pub(crate) irq_mode: Atomic<u32>,
    pub(crate) irq_vectors: Atomic<u32>,
    /// Interrupts handled per cause (INT_STATUS bit order).
    pub(crate) irq_counts: [Atomic<u64>; 4],
    #[pin]
    pub(crate) mappings: Mutex<Mappings>,
}

impl CardShared {
    pub(crate) fn new(
        pdev: &pci::Device<kernel::device::Bound>,
        index: u32,
        bar0: pci::Bar<'_, BAR0_SIZE>,
        bar2: WcBar,
    ) -> Result<Arc<Self>> {
        let bar0_phys = pdev.resource_start(0)?;
        let bar0_len = pdev.resource_len(0)?;
        let bar2_phys = pdev.resource_start(regs::BAR_MEM as u32)?;
        let bar2_len = bar2.len() as u64;
        let bar2 = Devres::new(pdev.as_ref(), bar2)?;
        let bar0 = bar0.into_devres()?;
        Arc::pin_init(
            try_pin_init!(CardShared {
                index,
                pci_location: ffi::pci_location(pdev),
                bar0,
                bar2,
                bar0_phys,
                bar0_len,
                bar2_phys,
                bar2_len,
                irq_mode: Atomic::new(0),
                irq_vectors: Atomic::new(0),
                irq_counts: [Atomic::new(0), Atomic::new(0), Atomic::new(0), Atomic::new(0)],
                mappings <- new_mutex!(Mappings { bound: true, keys: KVec::new() }),
            }),
            GFP_KERNEL,
        )
    }

    /// Reads a BAR0 register; ENODEV once the card is unbound.
    pub(crate) fn read_reg(&self, offset: u64) -> Result<u32> {
        let bar = self.bar0.try_access().ok_or(ENODEV)?;
        bar.try_read32(offset as usize)
    }

    /// Writes a BAR0 register; ENODEV once the card is unbound.
    pub(crate) fn write_reg(&self, offset: u64, value: u32) -> Result {
        let bar = self.bar0.try_access().ok_or(ENODEV)?;
        bar.try_write32(value, offset as usize)
    }

    /// Remembers an open file's address space (so unbind can zap its mappings).
    pub(crate) fn file_opened(&self, key: MappingKey) -> Result {
        let mut m = self.mappings.lock();
        if !m.bound {
            return Err(ENODEV);
        }
        if let Some(entry) = m.keys.iter_mut().find(|(k, _)| *k == key) {
            entry.1 += 1;
            return Ok(());
        }
        m.keys.push((key, 1), GFP_KERNEL)?;
        Ok(())
    }

    pub(crate) fn file_closed(&self, key: MappingKey) {
        let mut m = self.mappings.lock();
        if let Some(pos) = m.keys.iter().position(|(k, _)| *k == key) {
            m.keys[pos].1 -= 1;
            if m.keys[pos].1 == 0 {
                let _ = m.keys.remove(pos);
            }
        }
    }

    /// Unbind: no new mapping from now on, and every existing user mapping of
    /// the card loses its pages (a later touch gets SIGBUS).
    pub(crate) fn unbind(&self) {
        let mut m = self.mappings.lock();
        m.bound = false;
        for (key, _) in m.keys.iter() {
            ffi::zap_mapping(*key);
        }
    }

    pub(crate) fn count_irq(&self, causes: u32) {
        for (bit, counter) in self.irq_counts.iter().enumerate() {
            if causes & (1 << bit) != 0 {
                counter.fetch_add(1, Relaxed);
            }
        }
    }
}
