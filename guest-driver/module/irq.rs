// SPDX-License-Identifier: GPL-2.0
//! Interrupt handling (SPEC §7): MSI-X with one vector per cause, else one
//! MSI or INTx vector whose handler reads INT_STATUS to learn the causes.

use crate::card::CardShared;
use crate::ffi::irq::{IrqHandler, IrqReturn};
use crate::hw::{interrupts, regs};
use kernel::sync::atomic::Relaxed;
use kernel::sync::Arc;

/// The handler of one vector.
pub(crate) struct CardIrq {
    pub(crate) shared: Arc<CardShared>,
    /// The cause this vector carries (MSI-X), or `None` when one vector carries
    /// them all (MSI, INTx) and INT_STATUS tells which.
    pub(crate) cause: Option<u32>,
}

/// Causes that change what a `STREAM_WAIT` sleeper waits for.
const WAKING_CAUSES: u32 = regs::INT_DATA_READY | regs::INT_OVERFLOW | regs::INT_ERROR;

impl IrqHandler for CardIrq {
    /// Hard-IRQ context.
    fn handle(&self) -> IrqReturn {
        let causes = self.shared.hw.regs_in_irq(|bar| {
            let causes = match self.cause {
                Some(bit) => bit,
                None => {
                    let status = interrupts::pending(bar);
                    // 0: a shared INTx line, not us. All-ones: the card is gone.
                    if status == 0 || status == u32::MAX {
                        return None;
                    }
                    status & regs::INT_ALL
                }
            };
            // W1C acknowledges exactly the causes handled here (SPEC §7.2).
            interrupts::acknowledge(bar, causes);
            Some(causes)
        });
        let Some(Some(causes)) = causes else {
            return IrqReturn::NotOurs;
        };
        self.shared.count_irq(causes);
        if causes & regs::INT_ERROR != 0 {
            self.shared.error_pending.store(1, Relaxed);
        }
        if causes & WAKING_CAUSES != 0 {
            IrqReturn::WakeThread
        } else {
            IrqReturn::Handled
        }
    }

    /// The interrupt thread: say what the card reported, wake stream waiters.
    fn thread(&self) {
        if self.shared.error_pending.xchg(0, Relaxed) != 0 {
            self.shared.note_card_error();
        }
        self.shared.stream.wake_waiters();
    }
}
