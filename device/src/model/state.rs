//! The card's state (one struct behind the card's mutex) and the BAR0
//! register file: decoding accesses (SPEC §4.1) and each register's read and
//! write side effects (SPEC §4.2).

use std::sync::atomic::{AtomicU32, Ordering};

use cardless_abi::regs::*;

use super::clock::Clock;
use super::engine::Engine;
use super::fault::Faults;
use super::sanitizer::Sanitizer;
use super::shared_mem::SharedMem;
use super::{CardConfig, IrqSink};
use crate::dma::DmaSpace;
use crate::trace::{StartInfo, Tracer};

/// What the state needs from outside the lock.
pub(crate) struct Ctx<'a> {
    pub dma: &'a DmaSpace,
    pub irq: &'a dyn IrqSink,
    pub bar2: &'a SharedMem,
    /// Mirror of `INT_STATUS & INT_MASK`, readable without the lock.
    pub pending: &'a AtomicU32,
}

/// Plain guest-programmed registers (no state machine behind them).
#[derive(Clone, Copy, Default)]
pub(crate) struct Regs {
    pub scratch: u32,
    /// CONTROL bits other than ENABLE (ENABLE mirrors the engine).
    pub control: u32,
    pub ring_base: u64,
    pub ring_entries: u32,
    pub record_size: u32,
    pub sg_pages: u32,
    pub status_addr: u64,
    pub coal_count: u32,
    pub coal_ns: u32,
    pub rate: u32,
    pub seed: u64,
    pub vtime_snap: u64,
    pub copy_bar_off: u32,
    pub copy_len: u32,
    pub copy_host: u64,
    pub copy_ctrl: u32,
    pub copy_status: u32,
    pub copy_result: u64,
}

/// Counters (SPEC §4.2, §5.3).
#[derive(Clone, Copy, Default)]
pub(crate) struct Counters {
    pub produced: u64,
    pub dropped: u64,
    pub errors: u32,
    pub irqs: u32,
    pub bad_access: u32,
    pub copies: u32,
}

/// Reset values that come from the command line.
#[derive(Clone, Copy)]
pub(crate) struct Defaults {
    pub seed: u64,
    pub rate: u32,
    pub record_size: u32,
    pub bar2_size: u64,
    pub deterministic: bool,
    pub debug_window: bool,
}

impl Defaults {
    pub(crate) fn from_config(cfg: &CardConfig) -> Self {
        Defaults {
            seed: cfg.seed,
            rate: cfg.rate.map_or(0, |r| u32::try_from(r).unwrap_or(u32::MAX)),
            record_size: cfg.record_size,
            bar2_size: cfg.bar2_size,
            deterministic: cfg.deterministic,
            debug_window: cfg.debug_window,
        }
    }
}

pub(crate) struct State {
    pub defaults: Defaults,
    pub regs: Regs,
    pub int_status: u32,
    pub int_mask: u32,
    pub error_code: u32,
    pub error_addr: u64,
    pub cnt: Counters,
    pub engine: Engine,
    pub clock: Clock,
    pub trace: Option<Tracer>,
    /// Fault injection (SPEC §14).
    pub faults: Faults,
    /// DMA sanitizer: what the driver handed to the card (SPEC §16).
    pub san: Sanitizer,
    /// Set by `Card::shutdown`; the engine thread exits.
    pub shutdown: bool,
    /// Bumped whenever the engine thread must re-plan (enable, CONS_IDX, RATE...).
    pub kick: u64,
}

fn set_lo(v: &mut u64, lo: u32) {
    *v = (*v & !0xffff_ffff) | u64::from(lo);
}

fn set_hi(v: &mut u64, hi: u32) {
    *v = (*v & 0xffff_ffff) | (u64::from(hi) << 32);
}

impl State {
    pub(crate) fn new(cfg: &CardConfig, trace: Option<Tracer>) -> Self {
        let defaults = Defaults::from_config(cfg);
        let mut s = State {
            defaults,
            regs: Regs::default(),
            int_status: 0,
            int_mask: 0,
            error_code: 0,
            error_addr: 0,
            cnt: Counters::default(),
            engine: Engine::default(),
            clock: Clock::new(defaults.deterministic),
            trace,
            faults: Faults::new(cfg.debug_window, &cfg.faults),
            san: Sanitizer::default(),
            shutdown: false,
            kick: 0,
        };
        s.load_reset_values();
        if let Some(t) = s.trace.as_mut() {
            t.start(&StartInfo {
                seed: defaults.seed,
                deterministic: defaults.deterministic,
                bar2_size: defaults.bar2_size,
                record_size: defaults.record_size,
                rate: defaults.rate,
                debug_window: defaults.debug_window,
                faults: cfg.faults.lines(),
            });
        }
        s
    }

    fn load_reset_values(&mut self) {
        let d = self.defaults;
        self.regs = Regs {
            coal_count: 1,
            rate: d.rate,
            seed: d.seed,
            record_size: d.record_size,
            ..Regs::default()
        };
        self.int_status = 0;
        self.int_mask = 0;
        self.error_code = 0;
        self.error_addr = 0;
        self.cnt = Counters::default();
        self.engine = Engine::default();
        self.clock.reset();
    }

    /// SPEC §9: everything back to reset values, engine stopped, no DMA.
    /// `vmm`: a VFIO device reset (also ends a surprise removal, §14.3)
    /// rather than CONTROL.RESET.
    pub(crate) fn reset(&mut self, ctx: &Ctx, vmm: bool) {
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.reset(t, if vmm { "vmm" } else { "reg" });
        }
        self.load_reset_values();
        self.san.own.reset();
        self.faults_reset(vmm);
        self.sync_pending(ctx);
        self.kick += 1;
    }

    /// Keeps the lock-free `irq_pending` mirror current.
    pub(crate) fn sync_pending(&self, ctx: &Ctx) {
        ctx.pending
            .store(self.int_status & self.int_mask, Ordering::Release);
    }

    pub(crate) fn features(&self) -> u32 {
        let det = if self.defaults.deterministic {
            FEAT_DETERMINISTIC
        } else {
            0
        };
        let dbg = if self.faults.window { FEAT_DEBUG } else { 0 };
        FEAT_SG | FEAT_COPY | FEAT_CHECKSUM | FEAT_STATUS_WB | det | dbg
    }

    pub(crate) fn status(&self) -> u32 {
        let mut s = 0;
        if self.engine.is_running() {
            s |= STS_RUNNING;
        }
        if self.error_code != 0 {
            s |= STS_ERROR;
        }
        if self.engine.is_overflow_stopped() {
            s |= STS_OVERFLOW_STOPPED;
        }
        if self.engine.ring_full() {
            s |= STS_RING_FULL;
        }
        s
    }

    /// A BAR0 access of any offset and length (SPEC §4.1).
    pub(crate) fn bar0_read(&mut self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        match (data.len(), offset % 8, offset % 4) {
            (4, _, 0) => {
                let v = self.read32_counted(offset);
                data.copy_from_slice(&v.to_le_bytes());
            }
            (8, 0, _) => {
                let lo = self.read32_counted(offset);
                let hi = self.read32_counted(offset.wrapping_add(4));
                data.copy_from_slice(&(u64::from(lo) | (u64::from(hi) << 32)).to_le_bytes());
            }
            _ => self.cnt.bad_access = self.cnt.bad_access.wrapping_add(1),
        }
    }

    /// A BAR0 write of any offset and length (SPEC §4.1).
    pub(crate) fn bar0_write(&mut self, ctx: &Ctx, offset: u64, data: &[u8]) {
        match (data.len(), offset % 8, offset % 4) {
            (4, _, 0) => {
                let v = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
                self.write32_counted(ctx, offset, v);
            }
            (8, 0, _) => {
                let mut b = [0u8; 8];
                b.copy_from_slice(data);
                let v = u64::from_le_bytes(b);
                self.write32_counted(ctx, offset, v as u32);
                self.write32_counted(ctx, offset.wrapping_add(4), (v >> 32) as u32);
            }
            _ => self.cnt.bad_access = self.cnt.bad_access.wrapping_add(1),
        }
    }

    fn read32_counted(&mut self, off: u64) -> u32 {
        self.read32(off).unwrap_or_else(|| {
            self.cnt.bad_access = self.cnt.bad_access.wrapping_add(1);
            0
        })
    }

    fn write32_counted(&mut self, ctx: &Ctx, off: u64, v: u32) {
        if !self.write32(ctx, off, v) {
            self.cnt.bad_access = self.cnt.bad_access.wrapping_add(1);
        }
    }

    /// Reads one register; `None` for a hole.
    pub(crate) fn read32(&mut self, off: u64) -> Option<u32> {
        let r = &self.regs;
        Some(match off {
            ID => ID_VALUE,
            VERSION => VERSION_VALUE,
            FEATURES => self.features(),
            SCRATCH => r.scratch,
            CONTROL => {
                let en = if self.engine.is_running() {
                    CTRL_ENABLE
                } else {
                    0
                };
                r.control | en
            }
            STATUS => self.status(),
            INT_STATUS => self.int_status,
            INT_MASK => self.int_mask,
            ERROR_CODE => self.error_code,
            BAR2_SIZE => u32::try_from(self.defaults.bar2_size).unwrap_or(u32::MAX),
            ERROR_ADDR_LO => self.error_addr as u32,
            ERROR_ADDR_HI => (self.error_addr >> 32) as u32,
            RING_BASE_LO => r.ring_base as u32,
            RING_BASE_HI => (r.ring_base >> 32) as u32,
            RING_ENTRIES => r.ring_entries,
            RECORD_SIZE => r.record_size,
            SG_PAGES => r.sg_pages,
            STATUS_ADDR_LO => r.status_addr as u32,
            STATUS_ADDR_HI => (r.status_addr >> 32) as u32,
            PROD_IDX => self.engine.prod,
            CONS_IDX => self.engine.cons,
            COAL_COUNT => r.coal_count,
            COAL_NS => r.coal_ns,
            RATE => r.rate,
            STEP | STEP_NS => 0,
            SEED_LO => r.seed as u32,
            SEED_HI => (r.seed >> 32) as u32,
            VTIME_LO => {
                let t = self.clock.now();
                self.regs.vtime_snap = t;
                t as u32
            }
            VTIME_HI => (r.vtime_snap >> 32) as u32,
            CNT_PRODUCED => self.cnt.produced as u32,
            CNT_DROPPED => self.cnt.dropped as u32,
            CNT_ERRORS => self.cnt.errors,
            CNT_IRQS => self.cnt.irqs,
            CNT_BAD_ACCESS => self.cnt.bad_access,
            CNT_COPIES => self.cnt.copies,
            COPY_BAR_OFF => r.copy_bar_off,
            COPY_LEN => r.copy_len,
            COPY_HOST_LO => r.copy_host as u32,
            COPY_HOST_HI => (r.copy_host >> 32) as u32,
            COPY_CTRL => r.copy_ctrl,
            COPY_STATUS => r.copy_status,
            COPY_RESULT_LO => r.copy_result as u32,
            COPY_RESULT_HI => (r.copy_result >> 32) as u32,
            o if self.faults.is_window(BAR_REGS, o) => return self.dbg_read(o),
            _ => return None,
        })
    }

    /// Writes one register; false for a hole.
    pub(crate) fn write32(&mut self, ctx: &Ctx, off: u64, v: u32) -> bool {
        let r = &mut self.regs;
        match off {
            // Read-only registers: writes ignored, not counted (§4.1).
            ID | VERSION | FEATURES | STATUS | BAR2_SIZE | ERROR_ADDR_LO | ERROR_ADDR_HI
            | PROD_IDX | VTIME_LO | VTIME_HI | CNT_PRODUCED | CNT_DROPPED | CNT_ERRORS
            | CNT_IRQS | CNT_BAD_ACCESS | CNT_COPIES | COPY_STATUS | COPY_RESULT_LO
            | COPY_RESULT_HI => {}
            SCRATCH => r.scratch = v,
            CONTROL => self.write_control(ctx, v),
            INT_STATUS => {
                self.int_status &= !v;
                self.sync_pending(ctx);
            }
            INT_MASK => self.write_int_mask(ctx, v),
            ERROR_CODE => {
                self.error_code = 0;
                self.error_addr = 0;
            }
            RING_BASE_LO => set_lo(&mut r.ring_base, v),
            RING_BASE_HI => set_hi(&mut r.ring_base, v),
            RING_ENTRIES => r.ring_entries = v,
            RECORD_SIZE => r.record_size = v,
            SG_PAGES => r.sg_pages = v,
            STATUS_ADDR_LO => set_lo(&mut r.status_addr, v),
            STATUS_ADDR_HI => set_hi(&mut r.status_addr, v),
            CONS_IDX => self.write_cons(ctx, v),
            COAL_COUNT => {
                r.coal_count = v;
                self.kick += 1;
            }
            COAL_NS => {
                r.coal_ns = v;
                self.kick += 1;
            }
            RATE => {
                r.rate = v;
                self.engine.restart_schedule(self.clock.now());
                self.kick += 1;
            }
            STEP => self.write_step(ctx, v),
            STEP_NS => self.write_step_ns(ctx, v),
            SEED_LO => set_lo(&mut r.seed, v),
            SEED_HI => set_hi(&mut r.seed, v),
            COPY_BAR_OFF => r.copy_bar_off = v,
            COPY_LEN => r.copy_len = v,
            COPY_HOST_LO => set_lo(&mut r.copy_host, v),
            COPY_HOST_HI => set_hi(&mut r.copy_host, v),
            COPY_CTRL => {
                r.copy_ctrl = v;
                self.copy_doorbell(ctx, v);
            }
            o if self.faults.is_window(BAR_REGS, o) => return self.dbg_write(ctx, o, v),
            _ => return false,
        }
        true
    }

    fn write_control(&mut self, ctx: &Ctx, v: u32) {
        if v & CTRL_RESET != 0 {
            self.reset(ctx, false);
            return;
        }
        let bits = v & CTRL_MASK & !CTRL_ENABLE;
        let want = v & CTRL_ENABLE != 0;
        match (want, self.engine.is_running()) {
            (true, false) => {
                self.regs.control = bits;
                self.enable(ctx);
            }
            // The final status block follows the bits before this write.
            (false, true) => {
                self.disable(ctx);
                self.regs.control = bits;
            }
            // SPEC §6.4: disabling an overflow-stopped engine abandons its
            // stream, so the driver can free the ring; the next enable starts fresh.
            (false, false) if self.engine.is_overflow_stopped() => {
                self.halt_engine();
                self.regs.control = bits;
            }
            _ => self.regs.control = bits,
        }
        self.hand_status_block_late(ctx);
        self.kick += 1;
    }
}
