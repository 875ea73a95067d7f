// SPDX-License-Identifier: GPL-2.0
//! Interrupt handling (SPEC §7): MSI-X with one vector per cause, else one
//! MSI or INTx vector whose handler reads INT_STATUS to learn the causes.

use crate::card::CardShared;
use crate::hw::regs;
use kernel::io::Io;
use kernel::sync::Arc;

/// The handler of one vector.
pub(crate) struct CardIrq {
    pub(crate) shared: Arc<CardShared>,
    /// The cause this vector carries (MSI-X), or `None` when one vector carries
    /// them all (MSI, INTx) and INT_STATUS tells which.
    pub(crate) cause: Option<u32>,
}

impl CardIrq {
    /// Hard-IRQ context. Returns whether the interrupt was the card's.
    pub(crate) fn handle(&self) -> bool {
        let Some(bar) = self.shared.bar0.try_access() else {
            return false;
        };
        let causes = match self.cause {
            Some(bit) => bit,
            None => {
                let status = bar.read32(regs::INT_STATUS as usize);
                // 0: a shared INTx line, not us. All-ones: the card is gone.
                if status == 0 || status == u32::MAX {
                    return false;
                }
                status & regs::INT_ALL
            }
        };
        // W1C acknowledges exactly the causes handled here (SPEC §7.2).
        bar.write32(causes, regs::INT_STATUS as usize);
        self.shared.count_irq(causes);
        true
    }
}
