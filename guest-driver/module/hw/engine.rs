// SPDX-License-Identifier: GPL-2.0
//! The streaming engine's registers (SPEC §6, §10): programming a ring,
//! stopping, the consumer index, the counters, the latched error. Each
//! function here is one operation under one guard (`Hw::regs`), except
//! `stop`, which polls.

use super::bar0::*;
use super::bars::Hw;
use kernel::{io::poll::read_poll_timeout, io::Io, prelude::*, time::Delta};

/// What `STREAM_START` hands the card (SPEC §6.1).
pub(crate) struct Program {
    /// The ring, or for a page list the page table's address.
    pub(crate) ring_base: u64,
    /// `Some(entries of the page table)` for a page list (SG mode).
    pub(crate) sg_pages: Option<u32>,
    pub(crate) entries: u32,
    pub(crate) record_size: u32,
    /// The status block.
    pub(crate) status_addr: u64,
    pub(crate) coalesce_records: u32,
    pub(crate) coalesce_ns: u32,
    pub(crate) rate: u32,
    pub(crate) seed: u64,
    /// On overflow stop (`CTRL_OVF_STOP`) instead of dropping.
    pub(crate) stop_on_overflow: bool,
}

/// Disables the engine and clears the latched error: the state a new ring
/// is programmed from.
pub(crate) fn disable_and_clear_error(bar: &Bar0) {
    bar.write_reg(CONTROL::zeroed());
    bar.write_reg(ERROR_CODE::zeroed());
}

/// Programs the ring and enables the engine; the error the card latched
/// (0: none). Validation failures latch an error instead of starting (SPEC
/// §6.1); the read is ordered after the enable, so it sees the outcome.
pub(crate) fn program_and_enable(bar: &Bar0, p: &Program) -> u32 {
    write_pair::<RING_BASE_LO, RING_BASE_HI>(bar, p.ring_base);
    bar.write_reg(RING_ENTRIES::from_raw(p.entries));
    bar.write_reg(RECORD_SIZE::from_raw(p.record_size));
    bar.write_reg(SG_PAGES::from_raw(p.sg_pages.unwrap_or(0)));
    write_pair::<STATUS_ADDR_LO, STATUS_ADDR_HI>(bar, p.status_addr);
    bar.write_reg(COAL_COUNT::from_raw(p.coalesce_records));
    bar.write_reg(COAL_NS::from_raw(p.coalesce_ns));
    bar.write_reg(RATE::from_raw(p.rate));
    write_pair::<SEED_LO, SEED_HI>(bar, p.seed);
    bar.write_reg(
        CONTROL::zeroed()
            .with_enable(true)
            .with_status_wb(true)
            .with_sg(p.sg_pages.is_some())
            .with_ovf_stop(p.stop_on_overflow),
    );
    bar.read(ERROR_CODE).into_raw()
}

/// Disables the engine without waiting (a failed start).
pub(crate) fn disable(bar: &Bar0) {
    bar.write_reg(CONTROL::zeroed());
}

/// Stops the engine and waits until it is quiet: not running, and no
/// overflow-stopped stream left (SPEC §6.4: an overflow-stopped engine would
/// otherwise resume into the old ring on the next enable). No DMA after Ok.
pub(crate) fn stop(hw: &Hw) -> Result {
    hw.regs(|bar| bar.write_reg(CONTROL::zeroed()))?;
    // TIMEOUT: 1 s. The card stops its engine before it answers the CONTROL
    // write (SPEC §6.4), so the first read normally sees it stopped; under TCG a
    // trapped read takes 30-80 µs. A card still running after a second is broken
    // or gone: the caller drops the stream anyway and reports ETIMEDOUT.
    let status = read_poll_timeout(
        || hw.regs(|bar| bar.read(STATUS).into_raw()),
        |status: &u32| *status == u32::MAX || !STATUS::from_raw(*status).busy(),
        Delta::from_micros(10),
        Delta::from_secs(1),
    )?;
    // All-ones: the card is gone (a read of a removed device completes so).
    if status == u32::MAX {
        return Err(ENODEV);
    }
    Ok(())
}

impl STATUS {
    /// The engine runs, or holds an overflow-stopped stream.
    fn busy(self) -> bool {
        self.running() || self.overflow_stopped()
    }
}

/// The reader consumed up to `idx` (SPEC §6.3).
pub(crate) fn consume(bar: &Bar0, idx: u32) {
    bar.write_reg(CONS_IDX::from_raw(idx));
}

/// What a waiter's poll reads after a silent while (SPEC §5.3).
pub(crate) struct Poll {
    /// PROD_IDX. The read also flushes the card's earlier posted writes, so
    /// the records it counts are in memory even if the status block is not.
    pub(crate) prod_idx: u32,
    /// The raw STATUS register, read after PROD_IDX: all-ones means the card
    /// is gone (and `prod_idx` may be all-ones too, not an index).
    pub(crate) status: u32,
}

pub(crate) fn poll(bar: &Bar0) -> Poll {
    let prod_idx = bar.read(PROD_IDX).into_raw();
    Poll {
        prod_idx,
        status: bar.read(STATUS).into_raw(),
    }
}

/// The stream's counters, read in one go.
pub(crate) struct Counters {
    pub(crate) produced: u32,
    pub(crate) dropped: u32,
    pub(crate) errors: u32,
    pub(crate) prod_idx: u32,
    pub(crate) cons_idx: u32,
    pub(crate) status: u32,
    pub(crate) error_code: u32,
}

pub(crate) fn counters(bar: &Bar0) -> Counters {
    Counters {
        cons_idx: bar.read(CONS_IDX).into_raw(),
        produced: bar.read(CNT_PRODUCED).into_raw(),
        dropped: bar.read(CNT_DROPPED).into_raw(),
        errors: bar.read(CNT_ERRORS).into_raw(),
        prod_idx: bar.read(PROD_IDX).into_raw(),
        status: bar.read(STATUS).into_raw(),
        error_code: bar.read(ERROR_CODE).into_raw(),
    }
}

/// The error the card latched (SPEC §10) and the address or value behind it.
pub(crate) fn error(bar: &Bar0) -> (u32, u64) {
    (
        bar.read(ERROR_CODE).into_raw(),
        read_pair::<ERROR_ADDR_LO, ERROR_ADDR_HI>(bar),
    )
}

/// Resets the whole card (SPEC §9): engine stopped, every register at its
/// reset value, every interrupt cause masked.
pub(crate) fn reset_card(bar: &Bar0) {
    bar.write_reg(CONTROL::zeroed().with_reset(true));
}
