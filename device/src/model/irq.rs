//! Interrupts (SPEC §7): where the card's messages go ([`IrqSink`]) and the
//! INT_STATUS / INT_MASK pair that decides which causes are latched and
//! which are sent. Pure register logic: the register file sends the
//! messages (through the fault plan, §14.1) and traces them.

use cardless_abi::regs::{int_vector, INT_ALL};

/// Where the card's interrupt messages go.
pub trait IrqSink: Send + Sync {
    /// One message (an edge) on MSI-X vector `vector` (SPEC §7). Called
    /// with the card's lock held: it must not call back into the
    /// [`Card`](super::Card), except [`Card::irq_pending`](super::Card::irq_pending),
    /// which takes no lock.
    fn raise(&self, vector: u16);
}

/// INT_STATUS and INT_MASK (§7.2).
#[derive(Clone, Copy, Default)]
pub(crate) struct Interrupts {
    status: u32,
    mask: u32,
}

impl Interrupts {
    /// INT_STATUS: every cause latched and not yet acknowledged.
    pub(crate) fn status(&self) -> u32 {
        self.status
    }

    /// INT_MASK.
    pub(crate) fn mask(&self) -> u32 {
        self.mask
    }

    /// An event: its cause latches whatever the mask.
    pub(crate) fn latch(&mut self, cause: u32) {
        self.status |= cause;
    }

    /// INT_STATUS write: write-1-to-clear.
    pub(crate) fn acknowledge(&mut self, bits: u32) {
        self.status &= !bits;
    }

    /// INT_MASK write (undefined bits read 0). Returns the latched causes
    /// it newly enables: each is sent once now.
    pub(crate) fn set_mask(&mut self, v: u32) -> u32 {
        let old = self.mask;
        self.mask = v & INT_ALL;
        self.mask & !old & self.status
    }

    /// The vector a message for `cause` goes out on, if INT_MASK enables it.
    pub(crate) fn message_for(&self, cause: u32) -> Option<u16> {
        if self.mask & cause == 0 {
            return None;
        }
        int_vector(cause)
    }

    /// `INT_STATUS & INT_MASK`: the INTx level.
    pub(crate) fn level(&self) -> u32 {
        self.status & self.mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardless_abi::regs::*;

    /// SPEC §7.2: causes latch whatever the mask, W1C clears only the
    /// bits written, unmasking a latched cause sends it once.
    #[test]
    fn latch_mask_and_acknowledge() {
        let mut i = Interrupts::default();
        i.latch(INT_COPY_DONE);
        assert_eq!((i.status(), i.level()), (INT_COPY_DONE, 0));
        assert_eq!(i.message_for(INT_COPY_DONE), None, "masked: no message");
        assert_eq!(i.set_mask(INT_COPY_DONE | INT_ERROR), INT_COPY_DONE);
        assert_eq!(i.set_mask(INT_COPY_DONE | INT_ERROR), 0, "already enabled");
        assert_eq!(i.message_for(INT_COPY_DONE), Some(VEC_COPY_DONE));
        assert_eq!(i.message_for(INT_DATA_READY), None);
        assert_eq!(i.level(), INT_COPY_DONE);
        i.acknowledge(INT_DATA_READY);
        assert_eq!(i.status(), INT_COPY_DONE, "other bits untouched");
        i.acknowledge(INT_COPY_DONE);
        assert_eq!((i.status(), i.level()), (0, 0));
        assert_eq!(i.set_mask(u32::MAX), 0);
        assert_eq!(i.mask(), INT_ALL, "undefined mask bits read 0");
    }
}
