// SPDX-License-Identifier: GPL-2.0
//! The copy engine between BAR2 and a DMA buffer (SPEC §11), driven by the
//! driver so the DMA address always names memory the driver mapped: user
//! space never programs COPY_HOST.

use crate::buffer::Buffer;
use crate::card::CardShared;
use crate::hw::regs;
use crate::uapi;
use kernel::prelude::*;

pub(crate) fn run(card: &CardShared, buf: &Buffer, req: &uapi::CopyRequest) -> Result {
    let op = match req.op {
        uapi::COPY_BAR2_TO_BUFFER => regs::COPY_OP_TO_HOST,
        uapi::COPY_BUFFER_TO_BAR2 => regs::COPY_OP_FROM_HOST,
        _ => return Err(EINVAL),
    };
    let len = req.len as u64;
    if len == 0
        || req
            .buf_offset
            .checked_add(len)
            .is_none_or(|end| end > buf.size as u64)
        || (req.bar_offset as u64)
            .checked_add(len)
            .is_none_or(|end| end > card.bar2_len)
    {
        return Err(EINVAL);
    }
    // One copy at a time: the engine's registers are the card's, not the file's.
    let _engine = card.copy_engine.lock();
    let state = buf.dma.state.lock();
    let host = state
        .as_ref()
        .ok_or(ENODEV)?
        .dma_range(req.buf_offset, len)
        .ok_or(EINVAL)?;
    card.write_reg(regs::COPY_BAR_OFF, req.bar_offset)?;
    card.write_reg(regs::COPY_LEN, req.len)?;
    card.write_reg(regs::COPY_HOST_LO, host as u32)?;
    card.write_reg(regs::COPY_HOST_HI, (host >> 32) as u32)?;
    card.write_reg(regs::COPY_CTRL, op)?;
    // Synchronous on the card: the status read is ordered after the doorbell.
    match card.read_reg(regs::COPY_STATUS)? {
        0 => Ok(()),
        _ => Err(EIO),
    }
}
