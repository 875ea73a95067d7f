// SPDX-License-Identifier: GPL-2.0
//! Streaming into a buffer (SPEC §6): programming the ring, stopping so that
//! DMA is quiet before a buffer can go, waiting for records (woken by the
//! DATA_READY interrupt), the consumer index and the counters.
//!
//! The hot path reads the status block the card writes to host memory
//! (SPEC §5.3), never a register.

use crate::buffer::Buffer;
use crate::card::CardShared;
use crate::ffi::dma_mem;
use crate::hw::{record, regs};
use crate::uapi;
use kernel::{
    prelude::*,
    sync::atomic::Relaxed,
    sync::{Arc, CondVarTimeoutResult},
    time::msecs_to_jiffies,
};

/// ENODATA: no stream is running, so no record will come.
fn enodata() -> Error {
    Error::from_errno(-(kernel::bindings::ENODATA as i32))
}

/// The running stream of a card (one engine per card).
pub(crate) struct Stream {
    pub(crate) buf: Arc<Buffer>,
    /// The file that started it (its close stops it).
    pub(crate) owner: usize,
    entries: u32,
}

fn program(
    card: &CardShared,
    buf: &Buffer,
    p: &uapi::StreamStart,
    entries: u32,
    status_addr: u64,
) -> Result {
    let slot = buf.dma.state.lock();
    let ring = slot.as_ref().ok_or(ENODEV)?.ring_address();
    let w = |off, v| card.write_reg(off, v);
    w(regs::CONTROL, 0)?;
    w(regs::ERROR_CODE, 0)?;
    card.error_cleared();
    w(regs::RING_BASE_LO, ring.base as u32)?;
    w(regs::RING_BASE_HI, (ring.base >> 32) as u32)?;
    w(regs::RING_ENTRIES, entries)?;
    w(regs::RECORD_SIZE, p.record_size)?;
    w(regs::SG_PAGES, ring.sg_pages.unwrap_or(0))?;
    w(regs::STATUS_ADDR_LO, status_addr as u32)?;
    w(regs::STATUS_ADDR_HI, (status_addr >> 32) as u32)?;
    w(regs::COAL_COUNT, p.coalesce_records)?;
    w(regs::COAL_NS, p.coalesce_ns)?;
    w(regs::RATE, p.rate)?;
    w(regs::SEED_LO, p.seed as u32)?;
    w(regs::SEED_HI, (p.seed >> 32) as u32)?;
    let mut control = regs::CTRL_ENABLE | regs::CTRL_STATUS_WB;
    if ring.sg_pages.is_some() {
        control |= regs::CTRL_SG;
    }
    if p.flags & uapi::STREAM_F_OVERFLOW_STOP != 0 {
        control |= regs::CTRL_OVF_STOP;
    }
    w(regs::CONTROL, control)?;
    // Validation failures latch an error instead of starting (SPEC §6.1).
    if card.read_reg(regs::ERROR_CODE)? != 0 {
        return Err(EIO);
    }
    Ok(())
}

/// Starts streaming into `buf` for the file `owner`.
pub(crate) fn start(
    card: &CardShared,
    owner: usize,
    buf: Arc<Buffer>,
    p: &uapi::StreamStart,
) -> Result {
    if p.flags & !uapi::STREAM_F_OVERFLOW_STOP != 0
        || p.record_size < regs::MIN_RECORD_SIZE
        || p.record_size > regs::MAX_RECORD_SIZE
        || p.record_size % regs::RECORD_ALIGN != 0
        || buf.size % p.record_size as usize != 0
    {
        return Err(EINVAL);
    }
    let entries = u32::try_from(buf.size / p.record_size as usize).map_err(|_| EINVAL)?;
    if entries == 0 || entries > regs::MAX_RING_ENTRIES {
        return Err(EINVAL);
    }
    let mut stream = card.stream.lock();
    if stream.is_some() {
        return Err(EBUSY);
    }
    let status_addr = {
        let status = card.status.lock();
        let status = status.as_ref().ok_or(ENODEV)?;
        for off in (0..record::STATUS_BLOCK_SIZE).step_by(8) {
            dma_mem::write_coherent_u64(status, off, 0);
        }
        status.dma_handle()
    };
    if let Err(e) = program(card, &buf, p, entries, status_addr) {
        let _ = card.write_reg(regs::CONTROL, 0);
        return Err(e);
    }
    *stream = Some(Stream {
        buf,
        owner,
        entries,
    });
    Ok(())
}

/// Stops the engine and waits until it is quiet (no DMA after return), then
/// lets the stream's buffer go. `only_owner`: stop only the stream this file started.
pub(crate) fn stop(card: &CardShared, only_owner: Option<usize>) -> Result {
    let mut stream = card.stream.lock();
    match (&*stream, only_owner) {
        (None, _) => return Ok(()),
        (Some(s), Some(owner)) if s.owner != owner => return Ok(()),
        _ => {}
    }
    let quiet = stop_engine(card);
    *stream = None;
    quiet
}

/// Clears CTRL_ENABLE and polls STATUS until the engine is stopped and its
/// stream abandoned (SPEC §6.4: an overflow-stopped engine would otherwise
/// resume into the old ring on the next enable). The register read is
/// ordered after the write, so the card has seen it.
pub(crate) fn stop_engine(card: &CardShared) -> Result {
    card.write_reg(regs::CONTROL, 0)?;
    for _ in 0..10_000 {
        let status = card.read_reg(regs::STATUS)?;
        if status == u32::MAX {
            return Err(ENODEV);
        }
        if status & (regs::STS_RUNNING | regs::STS_OVERFLOW_STOPPED) == 0 {
            return Ok(());
        }
    }
    Err(ETIMEDOUT)
}

/// Stops the stream if it streams into `buf` (the buffer is being freed).
pub(crate) fn stop_if_using(card: &CardShared, buf: &Arc<Buffer>) -> Result {
    let mut stream = card.stream.lock();
    if let Some(s) = &*stream {
        if Arc::ptr_eq(&s.buf, buf) {
            let quiet = stop_engine(card);
            *stream = None;
            return quiet;
        }
    }
    Ok(())
}

fn status_prod_idx(card: &CardShared) -> Result<(u32, u32)> {
    let status = card.status.lock();
    let status = status.as_ref().ok_or(ENODEV)?;
    // SPEC §5.3: prod_idx at 0, error_code at 40.
    Ok((
        dma_mem::read_coherent_u32(status, 0),
        dma_mem::read_coherent_u32(status, 40),
    ))
}

/// How long a waiter sleeps before it looks at the status block again on its
/// own: a lost interrupt (SPEC §14.1 drop-irq) costs at most this much latency.
const POLL_SLICE_MS: u32 = 100;

/// Waits until the producer index differs from `after`.
pub(crate) fn wait(card: &CardShared, w: &mut uapi::StreamWait) -> Result {
    let mut left = msecs_to_jiffies(w.timeout_ms);
    let slice_max = msecs_to_jiffies(POLL_SLICE_MS).max(1);
    let mut events = card.events.lock();
    // How the last sleep ended: None before the first.
    let mut woken_by_event: Option<bool> = None;
    loop {
        if card.stream.lock().is_none() {
            // Nothing will ever come (records already in the ring stay readable).
            return Err(enodata());
        }
        let (prod, error) = status_prod_idx(card)?;
        if prod != w.after {
            w.prod_idx = prod;
            match woken_by_event {
                Some(true) => card.waits_woken.fetch_add(1, Relaxed),
                Some(false) => card.waits_polled.fetch_add(1, Relaxed),
                None => 0,
            };
            return Ok(());
        }
        if error != 0 || card.latched_error() != 0 {
            return Err(EIO);
        }
        if left == 0 {
            return Err(ETIMEDOUT);
        }
        let slice = left.min(slice_max);
        match card
            .events_changed
            .wait_interruptible_timeout(&mut events, slice)
        {
            CondVarTimeoutResult::Timeout => {
                // Silence may mean the card is gone: a read of a dead or
                // removed device completes all-ones.
                if card.read_reg(regs::STATUS)? == u32::MAX {
                    return Err(ENODEV);
                }
                left -= slice;
                woken_by_event = Some(false);
            }
            CondVarTimeoutResult::Signal { .. } => return Err(EINTR),
            CondVarTimeoutResult::Woken { jiffies } => {
                left = (left - (slice - jiffies.min(slice))).max(1);
                woken_by_event = Some(true);
            }
        }
    }
}

/// IOC_RESET (SPEC §9): under the stream and copy-engine locks, so a reset
/// never lands between the register writes of a STREAM_START or an IOC_COPY
/// (the card would then enable with half of a DMA address: the rest zero).
/// The stream ends with it; every cause is unmasked again.
pub(crate) fn reset_card(card: &CardShared) -> Result {
    let mut stream = card.stream.lock();
    let _engine = card.copy_engine.lock();
    card.write_reg(regs::CONTROL, regs::CTRL_RESET)?;
    *stream = None;
    card.error_cleared();
    // Reset masks every cause; the driver wants them all.
    card.write_reg(regs::INT_MASK, regs::INT_ALL)
}

/// The reader consumed up to `idx`: tell the card (SPEC §6.3).
pub(crate) fn consume(card: &CardShared, idx: u32) -> Result {
    let stream = card.stream.lock();
    let s = stream.as_ref().ok_or_else(enodata)?;
    let (prod, _) = status_prod_idx(card)?;
    if prod.wrapping_sub(idx) > s.entries {
        return Err(EINVAL);
    }
    #[cfg(cardless_zoo)]
    if crate::zoo::armed(uapi::ZOO_NO_CONSUMER_UPDATE) {
        // The bug: the reader moved on, the card is never told.
        return Ok(());
    }
    card.write_reg(regs::CONS_IDX, idx)
}

pub(crate) fn counters(card: &CardShared) -> Result<uapi::StreamCounters> {
    let r = |off| card.read_reg(off);
    let cons = r(regs::CONS_IDX)?;
    Ok(uapi::StreamCounters {
        produced: r(regs::CNT_PRODUCED)? as u64,
        consumed: cons as u64,
        dropped: r(regs::CNT_DROPPED)? as u64,
        errors: r(regs::CNT_ERRORS)? as u64,
        prod_idx: r(regs::PROD_IDX)?,
        cons_idx: cons,
        status: r(regs::STATUS)?,
        error_code: r(regs::ERROR_CODE)?,
    })
}
