// SPDX-License-Identifier: GPL-2.0
//! Streaming into a buffer (SPEC §6): the card's one stream, programming
//! its ring, stopping so that DMA is quiet before a buffer can go, waiting
//! for records (woken by the DATA_READY interrupt, or by polling the status
//! block), the consumer index and the counters.
//!
//! The hot path reads the status block the card writes to host memory
//! (SPEC §5.3), never a register. A write-back can be lost on the way
//! (SPEC §14.1 status-lost), and then the block may never move again (a
//! full ring waits for a consumer who waits for the block): after a silent
//! poll slice a waiter reads PROD_IDX, and that index counts until the
//! block catches up.

use crate::buffer::Buffer;
use crate::copy::CopyEngine;
use crate::hw::{engine, interrupts, regs, status::StatusMem, Hw};
use crate::uapi;
use kernel::{
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        new_condvar, new_mutex, Arc, CondVar, CondVarTimeoutResult, Mutex,
    },
    time::msecs_to_jiffies,
};

/// ENODATA: no stream is running, so no record will come.
fn enodata() -> Error {
    Error::from_errno(-(kernel::bindings::ENODATA as i32))
}

/// How long a waiter sleeps before it looks at the card again on its own: a
/// lost interrupt (SPEC §14.1 drop-irq) or a lost status block write-back
/// (status-lost) costs at most this much latency.
const POLL_SLICE_MS: u32 = 100;

/// The running stream of a card (one engine per card).
struct Stream {
    buf: Arc<Buffer>,
    /// The file that started it (its close stops it).
    owner: usize,
    entries: u32,
    /// PROD_IDX as a silent poll last read it, while it is ahead of the
    /// status block (whose write-back was lost); `None` once the block
    /// caught up.
    polled_prod: Option<u32>,
}

impl Stream {
    /// The newest producer index known: the status block's, or the polled
    /// PROD_IDX while the block is behind it.
    fn producer_index(&mut self, block: u32) -> u32 {
        match self.polled_prod {
            // Both count the same records; the block only ever lags (by the
            // records of its lost write-backs, far fewer than 2^31).
            Some(polled) if (polled.wrapping_sub(block) as i32) > 0 => polled,
            _ => {
                self.polled_prod = None;
                block
            }
        }
    }
}

/// A card's streaming state.
#[pin_data]
pub(crate) struct Streaming {
    #[pin]
    running: Mutex<Option<Stream>>,
    /// The status block the card writes (SPEC §5.3); gone after unbind.
    #[pin]
    status: Mutex<Option<StatusMem>>,
    /// Counts data/overflow/error events; waiters sleep on `events_changed`.
    #[pin]
    events: Mutex<u64>,
    #[pin]
    events_changed: CondVar,
    /// The error the interrupt thread found latched in ERROR_CODE (0: none
    /// since the last stream start or reset). Waiters fail with EIO on it
    /// even when the card could not write its status block.
    latched_error: Atomic<u32>,
    /// STREAM_WAITs satisfied after an interrupt woke them / by the poll.
    pub(crate) waits_woken: Atomic<u64>,
    pub(crate) waits_polled: Atomic<u64>,
}

impl Streaming {
    pub(crate) fn new(status: StatusMem) -> impl PinInit<Self, Error> {
        try_pin_init!(Streaming {
            running <- new_mutex!(None),
            status <- new_mutex!(Some(status)),
            events <- new_mutex!(0),
            events_changed <- new_condvar!(),
            latched_error: Atomic::new(0),
            waits_woken: Atomic::new(0),
            waits_polled: Atomic::new(0),
        })
    }

    /// Starts streaming into `buf` for the file `owner`.
    pub(crate) fn start(
        &self,
        hw: &Hw,
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
        let mut running = self.running.lock();
        if running.is_some() {
            return Err(EBUSY);
        }
        let status_addr = {
            let status = self.status.lock();
            let status = status.as_ref().ok_or(ENODEV)?;
            status.clear();
            status.dma_addr()
        };
        if let Err(e) = self.program(hw, &buf, p, entries, status_addr) {
            let _ = hw.regs(engine::disable);
            return Err(e);
        }
        *running = Some(Stream {
            buf,
            owner,
            entries,
            polled_prod: None,
        });
        Ok(())
    }

    fn program(
        &self,
        hw: &Hw,
        buf: &Buffer,
        p: &uapi::StreamStart,
        entries: u32,
        status_addr: u64,
    ) -> Result {
        // The ring stays mapped while the slot's lock is held (a FREE waits).
        buf.dma.with(|dma| {
            let ring = dma.ring_address();
            hw.regs(engine::disable_and_clear_error)?;
            self.error_cleared();
            let program = engine::Program {
                ring_base: ring.base,
                sg_pages: ring.sg_pages,
                entries,
                record_size: p.record_size,
                status_addr,
                coalesce_records: p.coalesce_records,
                coalesce_ns: p.coalesce_ns,
                rate: p.rate,
                seed: p.seed,
                stop_on_overflow: p.flags & uapi::STREAM_F_OVERFLOW_STOP != 0,
            };
            // Validation failures latch an error instead of starting (SPEC §6.1).
            match hw.regs(|bar| engine::program_and_enable(bar, &program))? {
                0 => Ok(()),
                _ => Err(EIO),
            }
        })?
    }

    /// Stops the engine and waits until it is quiet (no DMA after return),
    /// then lets the stream's buffer go. `only_owner`: stop only the stream
    /// this file started.
    pub(crate) fn stop(&self, hw: &Hw, only_owner: Option<usize>) -> Result {
        let mut running = self.running.lock();
        match (&*running, only_owner) {
            (None, _) => return Ok(()),
            (Some(s), Some(owner)) if s.owner != owner => return Ok(()),
            _ => {}
        }
        let quiet = engine::stop(hw);
        *running = None;
        quiet
    }

    /// Stops the stream if it streams into `buf` (the buffer is being freed).
    pub(crate) fn stop_if_using(&self, hw: &Hw, buf: &Arc<Buffer>) -> Result {
        let mut running = self.running.lock();
        if let Some(s) = &*running {
            if Arc::ptr_eq(&s.buf, buf) {
                let quiet = engine::stop(hw);
                *running = None;
                return quiet;
            }
        }
        Ok(())
    }

    /// The producer index and the error code, from the status block.
    fn status_block(&self) -> Result<(u32, u32)> {
        let status = self.status.lock();
        let block = status.as_ref().ok_or(ENODEV)?.read();
        Ok((block.prod_idx, block.error_code))
    }

    /// Waits until the producer index differs from `after`.
    pub(crate) fn wait(&self, hw: &Hw, w: &mut uapi::StreamWait) -> Result {
        let mut left = msecs_to_jiffies(w.timeout_ms);
        let slice_max = msecs_to_jiffies(POLL_SLICE_MS).max(1);
        let mut events = self.events.lock();
        // How the last sleep ended: None before the first.
        let mut woken_by_event: Option<bool> = None;
        loop {
            let (prod, error) = match &mut *self.running.lock() {
                // Nothing will ever come (records already in the ring stay readable).
                None => return Err(enodata()),
                Some(s) => self.status_block().map(|(b, e)| (s.producer_index(b), e))?,
            };
            if prod != w.after {
                w.prod_idx = prod;
                match woken_by_event {
                    Some(true) => self.waits_woken.fetch_add(1, Relaxed),
                    Some(false) => self.waits_polled.fetch_add(1, Relaxed),
                    None => 0,
                };
                return Ok(());
            }
            if error != 0 || self.latched_error() != 0 {
                return Err(EIO);
            }
            if left == 0 {
                return Err(ETIMEDOUT);
            }
            let slice = left.min(slice_max);
            match self
                .events_changed
                .wait_interruptible_timeout(&mut events, slice)
            {
                CondVarTimeoutResult::Timeout => {
                    let poll = hw.regs(engine::poll)?;
                    // Silence may mean the card is gone: a read of a dead or
                    // removed device completes all-ones.
                    if poll.status == u32::MAX {
                        return Err(ENODEV);
                    }
                    // Or that the status block missed a write-back (SPEC §5.3).
                    if let Some(s) = &mut *self.running.lock() {
                        s.polled_prod = Some(poll.prod_idx);
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
    pub(crate) fn reset(&self, hw: &Hw, copy: &CopyEngine) -> Result {
        let mut running = self.running.lock();
        let _engine = copy.lock();
        hw.regs(engine::reset_card)?;
        *running = None;
        self.error_cleared();
        // Reset masks every cause; the driver wants them all.
        hw.regs(|bar| interrupts::set_mask(bar, regs::INT_ALL))
    }

    /// The reader consumed up to `idx`: tell the card (SPEC §6.3).
    pub(crate) fn consume(&self, hw: &Hw, idx: u32) -> Result {
        let mut running = self.running.lock();
        let s = (*running).as_mut().ok_or_else(enodata)?;
        // What STREAM_WAIT reported: the block, or PROD_IDX if it is behind.
        let prod = s.producer_index(self.status_block()?.0);
        if prod.wrapping_sub(idx) > s.entries {
            return Err(EINVAL);
        }
        #[cfg(cardless_zoo)]
        if crate::zoo::armed(uapi::ZOO_NO_CONSUMER_UPDATE) {
            // The bug: the reader moved on, the card is never told.
            return Ok(());
        }
        hw.regs(|bar| engine::consume(bar, idx))
    }

    /// Wakes every `STREAM_WAIT` (process context: interrupt thread, unbind).
    pub(crate) fn wake_waiters(&self) {
        *self.events.lock() += 1;
        self.events_changed.notify_all();
    }

    /// Notes the error code the card latched; true if it is new (not the one
    /// already noted).
    pub(crate) fn latch_error(&self, code: u32) -> bool {
        self.latched_error.xchg(code, Relaxed) != code
    }

    /// ERROR_CODE was cleared (a new stream, a reset): note the next error again.
    fn error_cleared(&self) {
        self.latched_error.store(0, Relaxed);
    }

    /// The card error the interrupt thread saw, 0 for none.
    fn latched_error(&self) -> u32 {
        self.latched_error.load(Relaxed)
    }

    /// Unbind: the stream lets its buffer go (the card is already quiet).
    pub(crate) fn drop_stream(&self) {
        let running = self.running.lock().take();
        drop(running);
    }

    /// Unbind: the status block goes while the device is still bound.
    pub(crate) fn drop_status_block(&self) {
        let status = self.status.lock().take();
        drop(status);
    }
}

/// IOC_STREAM_COUNTERS: the card's counters, in one operation.
pub(crate) fn counters(hw: &Hw) -> Result<uapi::StreamCounters> {
    let c = hw.regs(engine::counters)?;
    Ok(uapi::StreamCounters {
        produced: u64::from(c.produced),
        consumed: u64::from(c.cons_idx),
        dropped: u64::from(c.dropped),
        errors: u64::from(c.errors),
        prod_idx: c.prod_idx,
        cons_idx: c.cons_idx,
        status: c.status,
        error_code: c.error_code,
    })
}
