// SPDX-License-Identifier: GPL-2.0
//! The copy engine between BAR2 and a DMA buffer (SPEC §11), driven by the
//! driver so the DMA address always names memory the driver mapped: user
//! space never programs COPY_HOST.

use crate::buffer::Buffer;
use crate::hw::{copy_engine, regs, Hw};
use crate::uapi;
use kernel::{
    prelude::*,
    sync::{new_mutex, Mutex, MutexGuard},
};

/// The card's one copy engine: its registers are the card's, not a file's,
/// so one command at a time.
#[pin_data]
pub(crate) struct CopyEngine {
    #[pin]
    lock: Mutex<()>,
}

impl CopyEngine {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(CopyEngine { lock <- new_mutex!(()) })
    }

    /// Holds the engine's registers (a user write of them must not land
    /// between the driver's).
    pub(crate) fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock()
    }

    /// IOC_COPY: one command between BAR2 and a range of `buf`.
    pub(crate) fn run(&self, hw: &Hw, buf: &Buffer, req: &uapi::CopyRequest) -> Result {
        let op = match req.op {
            uapi::COPY_BAR2_TO_BUFFER => regs::COPY_OP_TO_HOST,
            uapi::COPY_BUFFER_TO_BAR2 => regs::COPY_OP_FROM_HOST,
            _ => return Err(EINVAL),
        };
        let len = u64::from(req.len);
        if len == 0
            || req
                .buf_offset
                .checked_add(len)
                .is_none_or(|end| end > buf.size as u64)
            || u64::from(req.bar_offset)
                .checked_add(len)
                .is_none_or(|end| end > hw.bar2_len)
        {
            return Err(EINVAL);
        }
        let _engine = self.lock();
        // The range stays mapped while the slot's lock is held (a FREE waits).
        let status = buf.dma.with(|dma| {
            let host = dma.dma_range(req.buf_offset, len).ok_or(EINVAL)?;
            hw.regs(|bar| copy_engine::run(bar, op, req.bar_offset, req.len, host))
        })??;
        match status {
            0 => Ok(()),
            _ => Err(EIO),
        }
    }
}
