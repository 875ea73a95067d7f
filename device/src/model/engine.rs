//! The streaming engine (SPEC §6): enable/validation, producing records,
//! overflow, coalescing, STEP, and the free-running schedule.

use std::time::Instant;

use cardless_abi::record::*;
use cardless_abi::regs::*;

use super::areas::{check_overlaps, overlap, ring_pieces, Areas};
use super::owner::{Role, Span};
use super::ring::{Layout, Ring, SlotError};
use super::sanitizer::{Finding, Refused};
use crate::fault::FaultKind;

/// How often a free-running card looks at fault timers (SPEC §14.2).
const FAULT_POLL: std::time::Duration = std::time::Duration::from_millis(1);
use super::state::{Ctx, State};
use crate::dma::DmaView;

#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
enum Run {
    #[default]
    Stopped,
    Running,
    OverflowStopped,
}

/// Outcome of one due record (§6.2, §6.4).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Produced {
    Written,
    Dropped,
    /// Ring full and the caller asked to wait instead of overflowing.
    Full,
    /// The engine is (now) stopped: overflow-stop, error, or not running.
    Stopped,
    /// Running but paused by a fault (stall, link down; SPEC §14.1): the
    /// record is not due yet.
    Stalled,
}

/// What the free-running engine thread should do next.
pub(crate) enum Wait {
    Now,
    Until(Instant),
    Forever,
}

/// Engine state; everything here is forgotten by reset.
#[derive(Default)]
pub(crate) struct Engine {
    run: Run,
    pub ring: Option<Ring>,
    pub prod: u32,
    pub cons: u32,
    pub next_seq: u64,
    seed: u64,
    /// Latched STATUS_ADDR while the engine may write the status block.
    pub status_addr: Option<u64>,
    pub status_gen: u64,
    pending: u32,
    oldest_pending: u64,
    drops_since: u32,
    after_drop: bool,
    in_overflow: bool,
    sched_t0: u64,
    sched_k: u64,
    /// Trace scratch (pieces written, bytes read back); empty unless tracing.
    pieces: Vec<(u64, u64)>,
    scratch: Vec<u8>,
}

impl Engine {
    pub(crate) fn is_running(&self) -> bool {
        self.run == Run::Running
    }

    pub(crate) fn is_overflow_stopped(&self) -> bool {
        self.run == Run::OverflowStopped
    }

    pub(crate) fn ring_full(&self) -> bool {
        match &self.ring {
            Some(r) if self.run != Run::Stopped => self.prod.wrapping_sub(self.cons) >= r.entries,
            _ => false,
        }
    }

    /// Stops without DMA (error path). Use `State::halt_engine`, which
    /// also takes the ring back from the card.
    fn halt(&mut self) {
        self.run = Run::Stopped;
    }

    /// True (and clears) if records are waiting for DATA_READY.
    pub(crate) fn take_pending(&mut self) -> bool {
        std::mem::take(&mut self.pending) > 0
    }

    pub(crate) fn restart_schedule(&mut self, now: u64) {
        self.sched_t0 = now;
        self.sched_k = 0;
    }
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
    pub(crate) fn enable(&mut self, ctx: &Ctx) {
        if self.error_code != ERR_NONE {
            return;
        }
        let view = ctx.dma.view();
        let now = self.clock.now();
        if self.engine.run == Run::OverflowStopped {
            self.engine.run = Run::Running;
            self.engine.restart_schedule(now);
        } else {
            // Fresh start: forget the previous run (and its status block address).
            self.engine = Engine {
                status_gen: self.engine.status_gen,
                ..Engine::default()
            };
            for role in [Role::Ring, Role::SgTable, Role::StatusBlock] {
                self.san.own.take_back(role);
            }
            match self.validate_ring(&view) {
                Err(r) => return self.fail_refused(ctx, &view, r),
                Ok((ring, areas)) => {
                    self.hand_areas(areas);
                    self.engine.ring = Some(ring);
                    self.engine.seed = self.regs.seed;
                    self.engine.status_addr = Some(self.regs.status_addr);
                    self.engine.run = Run::Running;
                    self.engine.restart_schedule(now);
                }
            }
        }
        if let Err(r) = self.write_status_block(&view) {
            self.fail_refused(ctx, &view, r);
        }
    }

    /// §16: what a fresh enable hands to the card.
    fn hand_areas(&mut self, a: Areas) {
        let by = self.san.during;
        self.san.own.hand(Role::Ring, a.ring, by);
        if let Some(t) = a.table {
            self.san.own.hand_table(t, by);
        }
        if let Some(sb) = a.status {
            self.san.own.hand(Role::StatusBlock, [(sb, None)], by);
        }
    }

    /// Stops without DMA (errors, removal, abandoning an overflow-stopped
    /// stream) and takes the ring back (§16).
    pub(crate) fn halt_engine(&mut self) {
        self.engine.halt();
        self.san.own.take_back(Role::Ring);
        self.san.own.take_back(Role::SgTable);
    }

    /// §16: CTRL_STATUS_WB turned on while an address is latched but not
    /// handed (it was off at enable): hand the status block now, unless it
    /// overlaps the ring or the SG table (ERR_RING_OVERLAP).
    pub(crate) fn hand_status_block_late(&mut self, ctx: &Ctx) {
        if self.regs.control & CTRL_STATUS_WB == 0 || self.san.own.holds(Role::StatusBlock) {
            return;
        }
        let Some(addr) = self.engine.status_addr else {
            return;
        };
        let sb = Span::new(addr, STATUS_BLOCK_SIZE as u64);
        match self.san.own.clash(sb) {
            None => {
                let by = self.san.during;
                self.san.own.hand(Role::StatusBlock, [(sb, None)], by);
            }
            Some((role, span)) => {
                let at = sb.start.max(span.start);
                let r = overlap(
                    (Role::StatusBlock, sb, None),
                    (role, span, None),
                    at,
                    &self.san,
                );
                // Refused: no write-back to it until the next enable.
                self.engine.status_addr = None;
                let view = ctx.dma.view();
                self.fail_refused(ctx, &view, r);
            }
        }
    }

    /// CONTROL.ENABLE 1->0 (§6.7).
    pub(crate) fn disable(&mut self, ctx: &Ctx) {
        let view = ctx.dma.view();
        self.engine.run = Run::Stopped;
        self.san.own.take_back(Role::Ring);
        self.san.own.take_back(Role::SgTable);
        if self.engine.take_pending() {
            self.signal(ctx, &view, INT_DATA_READY);
        }
        if let Err(r) = self.write_status_block(&view) {
            self.fail_refused(ctx, &view, r);
        }
        self.engine.status_addr = None;
        self.san.own.take_back(Role::StatusBlock);
    }

    /// §6.1 validation; reads the SG table. Allocates at most
    /// MAX_SG_PAGES entries, and only after the count was checked. Returns
    /// the ring and what the card is handed (§16).
    fn validate_ring(&mut self, view: &DmaView) -> Result<(Ring, Areas), Refused> {
        let r = self.regs;
        let rs = r.record_size;
        let bad = |code, addr| Err(Refused::code(code, addr));
        if !(MIN_RECORD_SIZE..=MAX_RECORD_SIZE).contains(&rs) || !rs.is_multiple_of(RECORD_ALIGN) {
            return bad(ERR_BAD_RECORD_SIZE, u64::from(rs));
        }
        let entries = r.ring_entries;
        let bytes = u64::from(entries) * u64::from(rs);
        if entries == 0 || entries > MAX_RING_ENTRIES || bytes > MAX_RING_BYTES {
            return bad(ERR_BAD_RING_SIZE, u64::from(entries));
        }
        if !r.ring_base.is_multiple_of(8) {
            return bad(ERR_BAD_ALIGNMENT, r.ring_base);
        }
        if r.control & CTRL_STATUS_WB != 0 && !r.status_addr.is_multiple_of(8) {
            return bad(ERR_BAD_ALIGNMENT, r.status_addr);
        }
        let mut table_span = None;
        let layout = if r.control & CTRL_SG == 0 {
            Layout::Contig { base: r.ring_base }
        } else {
            let n = r.sg_pages;
            if n == 0 || n > MAX_SG_PAGES || u64::from(n) * SG_PAGE_SIZE < bytes {
                return bad(ERR_BAD_SG_COUNT, u64::from(n));
            }
            let len = u64::from(n) * SG_ENTRY_SIZE;
            table_span = Some(Span::new(r.ring_base, len));
            let mut table = vec![0u8; len as usize];
            view.for_each(r.ring_base, len, false, |p, s| {
                s.copy_to(&mut table[p..p + s.len()]);
            })
            .map_err(|e| self.san.dma_error(&e))?;
            let t = self.clock.now();
            if let Some(tr) = self.trace.as_mut() {
                tr.dma(t, false, r.ring_base, &table);
            }
            let mut pages = Vec::with_capacity(n as usize);
            for e in table.chunks_exact(8) {
                let a = u64::from_le_bytes([e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]]);
                if !a.is_multiple_of(SG_PAGE_SIZE) {
                    return bad(ERR_BAD_SG_ENTRY, a);
                }
                pages.push(a);
            }
            Layout::Sg { pages }
        };
        let ring = Ring {
            layout,
            entries,
            record_size: rs,
        };
        let status = (r.control & CTRL_STATUS_WB != 0)
            .then(|| Span::new(r.status_addr, STATUS_BLOCK_SIZE as u64));
        let areas = Areas {
            ring: ring_pieces(&ring),
            table: table_span,
            status,
        };
        if table_span.is_some() {
            self.check_sg_pages(view, &areas)?;
        }
        check_overlaps(&areas, &self.san)?;
        Ok((ring, areas))
    }

    /// §6.1, §16: every SG page the ring uses must be mapped writable.
    fn check_sg_pages(&self, view: &DmaView, a: &Areas) -> Result<(), Refused> {
        for &(span, page) in &a.ring {
            let Err(e) = view.check(span.start, span.end - span.start, true) else {
                continue;
            };
            let i = page.unwrap_or(0);
            let at = a.table.map_or(0, |t| t.start) + u64::from(i) * SG_ENTRY_SIZE;
            let msg = format!(
                "SG page {i} ({:#x}, table entry at {at:#x}) is not usable by the card ({e}): \
                 the page list points outside mapped memory; enable refused at {}",
                span.start, self.san.during
            );
            return Err(Refused {
                code: ERR_BAD_SG_ENTRY,
                addr: span.start,
                finding: Some(Box::new(Finding {
                    check: "sg-unmapped",
                    addr: span.start,
                    len: SG_PAGE_SIZE,
                    cause: Some(self.san.during),
                    msg,
                })),
            });
        }
        Ok(())
    }

    /// CONS_IDX write (§6.3).
    pub(crate) fn write_cons(&mut self, ctx: &Ctx, v: u32) {
        if let (Some(r), true) = (&self.engine.ring, self.engine.run != Run::Stopped) {
            if self.engine.prod.wrapping_sub(v) > r.entries {
                let view = ctx.dma.view();
                return self.fail(ctx, &view, ERR_BAD_CONS_IDX, u64::from(v));
            }
        }
        self.engine.cons = v;
        self.kick += 1;
    }

    /// STEP write (§8).
    pub(crate) fn write_step(&mut self, ctx: &Ctx, n: u32) {
        let view = ctx.dma.view();
        if n > MAX_STEP {
            return self.fail(ctx, &view, ERR_BAD_STEP, u64::from(n));
        }
        if !self.engine.is_running() {
            return;
        }
        let mut touched = false;
        for _ in 0..n {
            let now = self.clock.now();
            match self.produce_one(ctx, &view, now, false) {
                Produced::Written | Produced::Dropped => touched = true,
                Produced::Stalled => {}
                Produced::Full | Produced::Stopped => break,
            }
            self.clock.advance(self.period());
            self.check_coalesce_time(ctx, &view);
        }
        self.check_coalesce_time(ctx, &view);
        if touched && self.engine.is_running() {
            if let Err(r) = self.write_status_block(&view) {
                self.fail_refused(ctx, &view, r);
            }
        }
    }

    /// STEP_NS write (§8): deterministic mode only.
    pub(crate) fn write_step_ns(&mut self, ctx: &Ctx, n: u32) {
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
        let coal = u64::from(self.regs.coal_ns);
        if coal != 0
            && self.engine.pending > 0
            && self.clock.now().saturating_sub(self.engine.oldest_pending) >= coal
        {
            self.engine.pending = 0;
            self.signal(ctx, view, INT_DATA_READY);
        }
    }

    /// VTIME at which the §6.6 time trigger fires, if armed.
    fn coalesce_deadline(&self) -> Option<u64> {
        let coal = u64::from(self.regs.coal_ns);
        (coal != 0 && self.engine.pending > 0)
            .then(|| self.engine.oldest_pending.saturating_add(coal))
    }

    /// One due record (§6.2, §6.4), stamped `now`.
    pub(crate) fn produce_one(
        &mut self,
        ctx: &Ctx,
        view: &DmaView,
        now: u64,
        wait_if_full: bool,
    ) -> Produced {
        self.fault_tick(ctx);
        let (entries, record_size) = match (&self.engine.ring, self.engine.run) {
            (Some(r), Run::Running) => (r.entries, r.record_size),
            _ => return Produced::Stopped,
        };
        if self.faults.engine_paused() {
            return Produced::Stalled;
        }
        let e = &mut self.engine;
        if e.prod.wrapping_sub(e.cons) >= entries {
            if wait_if_full {
                return Produced::Full;
            }
            if self.regs.control & CTRL_OVF_STOP != 0 {
                e.run = Run::OverflowStopped;
                if e.take_pending() {
                    self.signal(ctx, view, INT_DATA_READY);
                }
                self.signal(ctx, view, INT_OVERFLOW);
                return Produced::Stopped;
            }
            e.next_seq = e.next_seq.wrapping_add(1);
            e.drops_since = e.drops_since.saturating_add(1);
            e.after_drop = true;
            self.cnt.dropped = self.cnt.dropped.wrapping_add(1);
            if !std::mem::replace(&mut e.in_overflow, true) {
                self.signal(ctx, view, INT_OVERFLOW);
            }
            return Produced::Dropped;
        }
        let mut h = RecordHeader {
            magic: RECORD_MAGIC,
            header_len: RECORD_HEADER_SIZE as u16,
            flags: if e.after_drop { REC_FLAG_AFTER_DROP } else { 0 },
            seq: e.next_seq,
            timestamp_ns: now,
            payload_len: record_size - RECORD_HEADER_SIZE as u32,
            dropped_before: e.drops_since,
            checksum: 0,
        };
        h.checksum = record_checksum(&h, e.seed);
        let key = payload_key(e.seed, h.seq);
        let tracing = self.trace.is_some();
        let fault = self.faults.take_record_fault();
        let Engine {
            ring, pieces, prod, ..
        } = &mut self.engine;
        let Some(ring) = ring.as_ref() else {
            return Produced::Stopped;
        };
        let slot = ring.slot_offset(*prod);
        let len = u64::from(record_size);
        // §14.1 stray-write: the whole record lands at another IOVA.
        let stray = match fault {
            Some((f, cause)) if f.kind == FaultKind::StrayWrite => {
                Some((if f.arg == 0 { ring.end_iova() } else { f.arg }, cause))
            }
            _ => None,
        };
        // Checked (mappings, then §16 ownership) before a byte moves.
        let san = &self.san;
        let res = match stray {
            Some((at, cause)) => san
                .check_write(view, at, len, "stray-write record", Some(cause))
                .and_then(|()| {
                    ring.write_record_at(view, at, &h.to_bytes(), key)
                        .map_err(|e| san.dma_error(&e))
                })
                .inspect(|_| {
                    if tracing {
                        pieces.push((at, len));
                    }
                }),
            None => ring
                .write_record(
                    view,
                    *prod,
                    &h.to_bytes(),
                    key,
                    |a, n| san.own.covers(a, n),
                    |a, n| {
                        if tracing {
                            pieces.push((a, n));
                        }
                    },
                )
                .map_err(|e| match e {
                    SlotError::Dma(e) => san.dma_error(&e),
                    SlotError::NotHanded { iova, len } => san
                        .check_handed(iova, len, "record", None)
                        .err()
                        .unwrap_or(Refused::code(ERR_DMA_STRAY, iova)),
                }),
        };
        if let Some((at, _)) = stray {
            self.trace_stray(at);
        }
        if let Err(r) = res {
            self.engine.pieces.clear();
            self.fail_refused(ctx, view, r);
            return Produced::Stopped;
        }
        if tracing {
            self.trace_pieces(view, now);
        }
        if let Some((f, cause)) = fault.filter(|(f, _)| f.kind != FaultKind::StrayWrite) {
            if let Err(r) = self.corrupt_record(view, &f, cause, slot) {
                self.fail_refused(ctx, view, r);
                return Produced::Stopped;
            }
        }
        let e = &mut self.engine;
        e.prod = e.prod.wrapping_add(1);
        e.next_seq = e.next_seq.wrapping_add(1);
        e.drops_since = 0;
        e.after_drop = false;
        e.in_overflow = false;
        if e.pending == 0 {
            e.oldest_pending = now;
        }
        e.pending += 1;
        self.cnt.produced = self.cnt.produced.wrapping_add(1);
        if e.pending >= self.regs.coal_count.max(1) {
            e.pending = 0;
            self.signal(ctx, view, INT_DATA_READY);
        }
        Produced::Written
    }

    /// Trace lines for the pieces of the record just written (bytes read back).
    fn trace_pieces(&mut self, view: &DmaView, now: u64) {
        let e = &mut self.engine;
        for &(a, n) in &e.pieces {
            e.scratch.resize(n as usize, 0);
            let buf = &mut e.scratch;
            let _ = view.for_each(a, n, false, |p, s| {
                s.copy_to(&mut buf[p..p + s.len()]);
            });
            if let Some(tr) = self.trace.as_mut() {
                tr.dma(now, true, a, buf);
            }
        }
        e.pieces.clear();
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
        let Some(rs) = self.engine.ring.as_ref().map(|r| r.record_size) else {
            return Wait::Forever;
        };
        let batch = ENGINE_BATCH.min(((256 << 10) / rs).max(1));
        let rate = u64::from(self.regs.rate);
        let now = self.clock.now();
        let (n, lagging) = if rate == 0 {
            (batch, false)
        } else {
            let elapsed = u128::from(now.saturating_sub(self.engine.sched_t0));
            let due = u64::try_from(elapsed * u128::from(rate) / 1_000_000_000).unwrap_or(u64::MAX);
            let behind = due.saturating_sub(self.engine.sched_k);
            (
                behind.min(u64::from(batch)) as u32,
                behind > u64::from(ENGINE_BATCH),
            )
        };
        let mut touched = false;
        let mut full = false;
        for _ in 0..n {
            let t = self.clock.now();
            match self.produce_one(ctx, &view, t, rate == 0) {
                Produced::Written | Produced::Dropped => {
                    touched = true;
                    self.engine.sched_k += 1;
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
                self.fail_refused(ctx, &view, r);
            }
        }
        if !self.engine.is_running() {
            return Wait::Forever;
        }
        let deadline = self.coalesce_deadline();
        let next = if rate == 0 {
            if !full {
                return Wait::Now;
            }
            deadline
        } else {
            let k = u128::from(self.engine.sched_k) + 1;
            let at = (k * 1_000_000_000).div_ceil(u128::from(rate));
            let at = self
                .engine
                .sched_t0
                .saturating_add(u64::try_from(at).unwrap_or(u64::MAX));
            Some(deadline.map_or(at, |d| d.min(at)))
        };
        match next {
            None => Wait::Forever,
            Some(t) if t <= self.clock.now() => Wait::Now,
            Some(t) => self.clock.instant_at(t).map_or(Wait::Forever, Wait::Until),
        }
    }
}
