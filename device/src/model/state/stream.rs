//! The streaming engine driven by the register file (SPEC §6, §8): enable
//! and disable with what they hand to the card (§16), CONS_IDX, STEP and
//! STEP_NS, and the free-running engine's tick (§6.5). Each record runs
//! one way: a check point, the engine produces, its outcome is applied.

use std::time::Instant;

use cardless_abi::record::STATUS_BLOCK_SIZE;
use cardless_abi::regs::*;

use super::{Ctx, State};
use crate::dma::DmaView;
use crate::fault::FaultKind;
use crate::model::areas::{overlap, Areas};
use crate::model::engine::{Outcome, Record, RecordInput, Wait};
use crate::model::owner::{Role, Span};
use crate::model::sanitizer::Refused;
use crate::model::validate::validate_ring;

/// How often a free-running card looks at fault timers (SPEC §14.2).
const FAULT_POLL: std::time::Duration = std::time::Duration::from_millis(1);

/// What became of one due record.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Produced {
    /// Written, or dropped on overflow: the ring changed.
    Moved,
    /// Ring full and the caller asked to wait instead of overflowing.
    Full,
    /// The engine is (now) stopped: overflow-stop, error, or not running.
    Stopped,
    /// Running but paused by a fault (stall, link down; SPEC §14.1).
    Stalled,
}

impl State {
    /// Virtual ns between records in deterministic mode (§8).
    fn period(&self) -> u64 {
        match self.regs.rate {
            0 => DET_DEFAULT_PERIOD_NS,
            r => 1_000_000_000 / u64::from(r),
        }
    }

    /// CONTROL.ENABLE 0->1 (§6.1).
    pub(super) fn enable(&mut self, ctx: &Ctx) {
        if self.error_code != ERR_NONE {
            return;
        }
        let view = ctx.dma.view();
        let now = self.clock.now();
        if self.engine.is_overflow_stopped() {
            self.engine.resume(now);
        } else {
            // Fresh start: forget the previous run (and its status block address).
            self.engine.forget();
            for role in [Role::Ring, Role::SgTable, Role::StatusBlock] {
                self.san.take_back(role);
            }
            let checked = validate_ring(&self.regs, &view, &self.san);
            if let Some(table) = checked.table {
                self.trace_dma(self.clock.now(), false, self.regs.ring_base, &table);
            }
            match checked.result {
                Err(r) => return self.fail(ctx, &view, r),
                Ok((ring, areas)) => {
                    self.hand_areas(areas);
                    let (seed, status_addr) = (self.regs.seed, self.regs.status_addr);
                    self.engine.start(ring, seed, status_addr, now);
                }
            }
        }
        if let Err(r) = self.write_status_block(&view) {
            self.fail(ctx, &view, r);
        }
    }

    /// §16: what a fresh enable hands to the card.
    fn hand_areas(&mut self, a: Areas) {
        self.san.hand(Role::Ring, a.ring);
        if let Some(t) = a.table {
            self.san.hand_table(t);
        }
        if let Some(sb) = a.status {
            self.san.hand(Role::StatusBlock, [(sb, None)]);
        }
    }

    /// §16: CTRL_STATUS_WB turned on while an address is latched but not
    /// handed (it was off at enable): hand the status block now, unless it
    /// overlaps the ring or the SG table (ERR_RING_OVERLAP).
    pub(super) fn hand_status_block_late(&mut self, ctx: &Ctx) {
        if self.regs.control & CTRL_STATUS_WB == 0 || self.san.holds(Role::StatusBlock) {
            return;
        }
        let Some(addr) = self.engine.status_addr() else {
            return;
        };
        let sb = Span::new(addr, STATUS_BLOCK_SIZE as u64);
        match self.san.clash(sb) {
            None => self.san.hand(Role::StatusBlock, [(sb, None)]),
            Some((role, span)) => {
                let at = sb.start.max(span.start);
                let r = overlap(
                    (Role::StatusBlock, sb, None),
                    (role, span, None),
                    at,
                    &self.san,
                );
                // Refused: no write-back to it until the next enable.
                self.engine.forget_status_addr();
                let view = ctx.dma.view();
                self.fail(ctx, &view, r);
            }
        }
    }

    /// CONTROL.ENABLE 1->0 (§6.7).
    pub(super) fn disable(&mut self, ctx: &Ctx) {
        let view = ctx.dma.view();
        self.engine.stop();
        self.san.take_back(Role::Ring);
        self.san.take_back(Role::SgTable);
        if self.engine.take_pending() {
            self.signal(ctx, &view, INT_DATA_READY);
        }
        if let Err(r) = self.write_status_block(&view) {
            self.fail(ctx, &view, r);
        }
        self.engine.forget_status_addr();
        self.san.take_back(Role::StatusBlock);
    }

    /// CONS_IDX write (§6.3).
    pub(super) fn write_cons(&mut self, ctx: &Ctx, v: u32) {
        match self.engine.set_cons(v) {
            Ok(()) => self.kick += 1,
            Err(r) => {
                let view = ctx.dma.view();
                self.fail(ctx, &view, r);
            }
        }
    }

    /// STEP write (§8).
    pub(super) fn write_step(&mut self, ctx: &Ctx, n: u32) {
        let view = ctx.dma.view();
        if n > MAX_STEP {
            return self.fail(ctx, &view, Refused::code(ERR_BAD_STEP, u64::from(n)));
        }
        if !self.engine.is_running() {
            return;
        }
        let mut touched = false;
        for _ in 0..n {
            let now = self.clock.now();
            match self.produce_one(ctx, &view, now, false) {
                Produced::Moved => touched = true,
                Produced::Stalled => {}
                Produced::Full | Produced::Stopped => break,
            }
            self.clock.advance(self.period());
            self.check_coalesce_time(ctx, &view);
        }
        self.check_coalesce_time(ctx, &view);
        if touched && self.engine.is_running() {
            if let Err(r) = self.write_status_block(&view) {
                self.fail(ctx, &view, r);
            }
        }
    }

    /// STEP_NS write (§8): deterministic mode only.
    pub(super) fn write_step_ns(&mut self, ctx: &Ctx, n: u32) {
        if !self.clock.is_virtual() {
            return;
        }
        self.clock.advance(u64::from(n));
        if self.engine.is_running() {
            let view = ctx.dma.view();
            self.check_coalesce_time(ctx, &view);
        }
    }

    /// §6.6 time trigger.
    fn check_coalesce_time(&mut self, ctx: &Ctx, view: &DmaView) {
        if self
            .engine
            .coalesce_due(self.clock.now(), self.regs.coal_ns)
        {
            self.signal(ctx, view, INT_DATA_READY);
        }
    }

    /// One due record (§6.2, §6.4), stamped `now`: a check point, then the
    /// engine, then what it did.
    fn produce_one(&mut self, ctx: &Ctx, view: &DmaView, now: u64, wait_if_full: bool) -> Produced {
        self.fault_tick(ctx);
        let input = RecordInput {
            now,
            paused: self.faults.engine_paused(),
            wait_if_full,
            overflow_stop: self.regs.control & CTRL_OVF_STOP != 0,
            coal_count: self.regs.coal_count,
            fault: self.faults.next_record_fault(),
            tracing: self.trace.is_some(),
        };
        match self.engine.produce(view, &self.san, &input) {
            Outcome::Stopped => Produced::Stopped,
            Outcome::Stalled => Produced::Stalled,
            Outcome::Full => Produced::Full,
            Outcome::OverflowStopped { flush } => {
                if flush {
                    self.signal(ctx, view, INT_DATA_READY);
                }
                self.signal(ctx, view, INT_OVERFLOW);
                Produced::Stopped
            }
            Outcome::Dropped { first } => {
                self.cnt.dropped = self.cnt.dropped.wrapping_add(1);
                if first {
                    self.signal(ctx, view, INT_OVERFLOW);
                }
                Produced::Moved
            }
            Outcome::Record(record) => {
                self.faults.record_fault_used();
                self.apply_record(ctx, view, now, record)
            }
        }
    }

    /// A record's write as the engine reports it: its trace lines, then
    /// the error, or the count and DATA_READY.
    fn apply_record(&mut self, ctx: &Ctx, view: &DmaView, now: u64, rec: Record) -> Produced {
        if let Some(at) = rec.stray {
            self.trace_fault((FaultKind::StrayWrite, "stray", Some(at)));
        }
        if let Some(tr) = self.trace.as_mut() {
            self.engine
                .drain_written(|addr, bytes| tr.dma(now, true, addr, bytes));
        }
        if let Some(c) = rec.corrupted {
            self.trace_dma(self.clock.now(), true, c.iova, &[c.byte]);
            self.trace_fault((c.kind, "corrupt", Some(c.iova)));
        }
        match rec.result {
            Err(r) => {
                self.fail(ctx, view, r);
                Produced::Stopped
            }
            Ok(data_ready) => {
                self.cnt.produced = self.cnt.produced.wrapping_add(1);
                if data_ready {
                    self.signal(ctx, view, INT_DATA_READY);
                }
                Produced::Moved
            }
        }
    }

    /// One round of the free-running engine (§6.5); says when to come back.
    pub(crate) fn free_run_tick(&mut self, ctx: &Ctx) -> Wait {
        if self.clock.is_virtual() {
            return Wait::Forever;
        }
        self.fault_tick(ctx);
        let wait = self.free_run_engine(ctx);
        // Time-triggered faults need a clock even when the engine idles.
        match wait {
            Wait::Forever if self.faults.wants_timer() => Wait::Until(Instant::now() + FAULT_POLL),
            w => w,
        }
    }

    fn free_run_engine(&mut self, ctx: &Ctx) -> Wait {
        if !self.engine.is_running() {
            return Wait::Forever;
        }
        let view = ctx.dma.view();
        self.check_coalesce_time(ctx, &view);
        let rate = self.regs.rate;
        let Some((n, lagging)) = self.engine.due(self.clock.now(), rate) else {
            return Wait::Forever;
        };
        let mut touched = false;
        let mut full = false;
        for _ in 0..n {
            let t = self.clock.now();
            match self.produce_one(ctx, &view, t, rate == 0) {
                Produced::Moved => {
                    touched = true;
                    self.engine.scheduled_one();
                }
                Produced::Full => {
                    full = true;
                    break;
                }
                Produced::Stalled => {
                    return Wait::Until(Instant::now() + FAULT_POLL);
                }
                Produced::Stopped => break,
            }
        }
        if lagging {
            self.engine.restart_schedule(self.clock.now());
        }
        if touched && self.engine.is_running() {
            if let Err(r) = self.write_status_block(&view) {
                self.fail(ctx, &view, r);
            }
        }
        if !self.engine.is_running() {
            return Wait::Forever;
        }
        let deadline = self.engine.coalesce_deadline(self.regs.coal_ns);
        let next = if rate == 0 {
            if !full {
                return Wait::Now;
            }
            deadline
        } else {
            let at = self.engine.next_due_at(rate);
            Some(deadline.map_or(at, |d| d.min(at)))
        };
        match next {
            None => Wait::Forever,
            Some(t) if t <= self.clock.now() => Wait::Now,
            Some(t) => self.clock.instant_at(t).map_or(Wait::Forever, Wait::Until),
        }
    }
}
