//! Fault injection in the card (SPEC §14): scheduled faults fire at check
//! points, armed ones act on interrupt messages and records, and the card
//! can be stalled, unplugged or cut off. Also the debug window registers
//! (§14.4). Everything here is driven by VTIME and CNT_PRODUCED only, so
//! the same seed, plan and guest actions give the same faults (§14.6).

use std::collections::VecDeque;

use cardless_abi::regs::*;

use super::owner::Cause;
use super::sanitizer::Refused;
use super::state::{Ctx, State};
use crate::dma::DmaView;
use crate::fault::{Fault, FaultKind, FaultPlan, Trigger};

/// A fired fault still acting on the next `left` messages or records.
#[derive(Clone, Copy, Debug)]
struct Armed {
    fault: Fault,
    left: u32,
    /// Its firing, for sanitizer reports (SPEC §16).
    cause: Cause,
}

/// An interrupt message held by `delay-irq`.
#[derive(Clone, Copy, Debug)]
struct Held {
    at: u64,
    cause: u32,
    vec: u16,
}

/// What happens to one interrupt message (§14.1).
pub(crate) enum IrqFate {
    /// Sent normally.
    Send,
    /// Sent twice.
    Twice,
    /// Not sent now (dropped, held or lost).
    Withheld,
}

/// The debug window's programming registers (§14.4).
#[derive(Clone, Copy, Default)]
struct DbgRegs {
    kind: u32,
    trigger: u32,
    count: u32,
    when: u64,
    arg: u64,
    arg2: u32,
    status: u32,
}

/// Fault state of the card.
#[derive(Default)]
pub(crate) struct Faults {
    /// The debug window exists (`--debug-window`).
    pub window: bool,
    scheduled: Vec<Fault>,
    irq: VecDeque<Armed>,
    rec: VecDeque<Armed>,
    held: VecDeque<Held>,
    /// `Some(until)` while stalled (`until` None = until `resume`).
    stall: Option<Option<u64>>,
    /// `Some(until)` while the link is down.
    link_down: Option<Option<u64>>,
    removed: bool,
    fired: u32,
    dbg: DbgRegs,
}

impl Faults {
    pub(crate) fn new(window: bool, plan: &FaultPlan) -> Self {
        Faults {
            window,
            scheduled: plan.faults.clone(),
            ..Faults::default()
        }
    }

    /// Nothing scheduled, armed, held or in effect: the fast path.
    fn quiet(&self) -> bool {
        self.scheduled.is_empty()
            && self.irq.is_empty()
            && self.rec.is_empty()
            && self.held.is_empty()
            && self.stall.is_none()
            && self.link_down.is_none()
            && !self.removed
    }

    /// Trapped accesses get no completion: all-ones reads, dropped writes.
    pub(crate) fn unreachable(&self) -> bool {
        self.removed || self.link_down.is_some()
    }

    /// The engine must not produce (stall, link down, removal).
    pub(crate) fn engine_paused(&self) -> bool {
        self.stall.is_some() || self.unreachable()
    }

    /// Whether `offset` of BAR0 is in an existing debug window.
    pub(crate) fn is_window(&self, bar: u8, offset: u64) -> bool {
        self.window && bar == BAR_REGS && (DBG_BASE..DBG_END).contains(&offset)
    }

    /// Whether timers matter to a free-running engine (time triggers, held
    /// messages, timed stall or link-down).
    pub(crate) fn wants_timer(&self) -> bool {
        !self.quiet()
    }

    fn state_bits(&self) -> u32 {
        let mut s = 0;
        if self.link_down.is_some() {
            s |= DBG_STATE_LINK_DOWN;
        }
        if self.removed {
            s |= DBG_STATE_REMOVED;
        }
        if self.stall.is_some() {
            s |= DBG_STATE_STALLED;
        }
        if !self.held.is_empty() {
            s |= DBG_STATE_IRQ_HELD;
        }
        s
    }

    /// The next record fault to apply, if one is armed (§14.1), and its firing.
    pub(crate) fn take_record_fault(&mut self) -> Option<(Fault, Cause)> {
        let a = self.rec.front_mut()?;
        let f = (a.fault, a.cause);
        a.left -= 1;
        if a.left == 0 {
            self.rec.pop_front();
        }
        Some(f)
    }
}

impl State {
    fn trace_fault(&mut self, kind: FaultKind, act: &str, arg: Option<u64>) {
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.fault(t, kind.name(), act, arg);
        }
    }

    /// A check point (§14.2): fires due faults, releases held messages,
    /// ends timed stalls and link-downs.
    pub(crate) fn fault_tick(&mut self, ctx: &Ctx) {
        if self.faults.quiet() {
            return;
        }
        let now = self.clock.now();
        let produced = self.cnt.produced;
        let mut i = 0;
        while i < self.faults.scheduled.len() {
            let f = self.faults.scheduled[i];
            let due = match f.trigger {
                Trigger::At(t) => now >= t,
                Trigger::Record(n) => produced >= n,
            };
            if due {
                self.faults.scheduled.remove(i);
                self.fire(ctx, f);
            } else {
                i += 1;
            }
        }
        while let Some(h) = self.faults.held.front().copied() {
            if h.at > now {
                break;
            }
            self.faults.held.pop_front();
            self.trace_fault(FaultKind::DelayIrq, "release", Some(u64::from(h.vec)));
            if self.faults.unreachable() {
                self.trace_fault(FaultKind::DelayIrq, "lost", Some(u64::from(h.vec)));
            } else {
                self.deliver(ctx, h.cause, h.vec);
            }
        }
        if matches!(self.faults.stall, Some(Some(until)) if now >= until) {
            self.faults.stall = None;
            self.trace_fault(FaultKind::Stall, "end", None);
            self.kick += 1;
        }
        if matches!(self.faults.link_down, Some(Some(until)) if now >= until) {
            self.faults.link_down = None;
            self.trace_fault(FaultKind::LinkDown, "end", None);
            self.kick += 1;
        }
    }

    /// A scheduled fault's trigger was met.
    fn fire(&mut self, ctx: &Ctx, f: Fault) {
        self.faults.fired = self.faults.fired.wrapping_add(1);
        self.trace_fault(f.kind, "fire", None);
        let cause = self.fault_cause(f.kind);
        let now = self.clock.now();
        let until = |ns: u64| (ns != 0).then(|| now.saturating_add(ns));
        match f.kind {
            k if k.is_irq() => self.faults.irq.push_back(Armed {
                fault: f,
                left: f.count,
                cause,
            }),
            k if k.is_record() => self.faults.rec.push_back(Armed {
                fault: f,
                left: f.count,
                cause,
            }),
            FaultKind::Stall => self.faults.stall = Some(until(f.arg)),
            FaultKind::Resume => self.faults.stall = None,
            FaultKind::LinkDown => self.faults.link_down = Some(until(f.arg)),
            FaultKind::LinkUp => self.faults.link_down = None,
            _ => self.remove_card(ctx),
        }
        self.kick += 1;
    }

    /// §14.3 surprise removal: no more DMA or messages, BAR2 all-ones.
    fn remove_card(&mut self, ctx: &Ctx) {
        self.faults.removed = true;
        self.faults.held.clear();
        self.halt_engine();
        let ones = vec![0xffu8; 1 << 16];
        let mut off = 0;
        while off < ctx.bar2.size() {
            let n = (ctx.bar2.size() - off).min(ones.len() as u64);
            ctx.bar2.write(off, &ones[..n as usize]);
            off += n;
        }
    }

    /// What an interrupt message for `cause` on `vec` becomes (§14.1).
    pub(crate) fn irq_fate(&mut self, cause: u32, vec: u16) -> IrqFate {
        if self.faults.quiet() {
            return IrqFate::Send;
        }
        if self.faults.unreachable() {
            let kind = if self.faults.removed {
                FaultKind::SurpriseRemoval
            } else {
                FaultKind::LinkDown
            };
            self.trace_fault(kind, "lost", Some(u64::from(vec)));
            return IrqFate::Withheld;
        }
        let Some(i) = self
            .faults
            .irq
            .iter()
            .position(|a| a.fault.arg2 == 0 || a.fault.arg2 == cause)
        else {
            return IrqFate::Send;
        };
        let f = self.faults.irq[i].fault;
        self.faults.irq[i].left -= 1;
        if self.faults.irq[i].left == 0 {
            self.faults.irq.remove(i);
        }
        let v = Some(u64::from(vec));
        match f.kind {
            FaultKind::DropIrq => {
                self.trace_fault(f.kind, "drop", v);
                IrqFate::Withheld
            }
            FaultKind::DupIrq => {
                self.trace_fault(f.kind, "dup", v);
                IrqFate::Twice
            }
            _ => {
                let at = self.clock.now().saturating_add(f.arg);
                self.trace_fault(f.kind, "hold", v);
                self.faults.held.push_back(Held { at, cause, vec });
                IrqFate::Withheld
            }
        }
    }

    /// Trace line for a stray-write record about to land at `at`.
    pub(crate) fn trace_stray(&mut self, at: u64) {
        self.trace_fault(FaultKind::StrayWrite, "stray", Some(at));
    }

    /// A trapped access that got no completion: in deterministic mode it
    /// costs [`LINK_DOWN_ACCESS_NS`] of VTIME (§14.3).
    pub(crate) fn no_completion(&mut self, ctx: &Ctx) {
        self.clock.advance(LINK_DOWN_ACCESS_NS);
        self.fault_tick(ctx);
    }

    /// Flips byte `pos` of the record just written at ring offset `slot`
    /// as fault `f` (fired by `cause`) says (§14.1). The 1-byte write is
    /// checked by the sanitizer (§16) like any other.
    pub(crate) fn corrupt_record(
        &mut self,
        view: &DmaView,
        f: &Fault,
        cause: Cause,
        slot: u64,
    ) -> Result<(), Refused> {
        let Some(ring) = self.engine.ring.as_ref() else {
            return Ok(());
        };
        let payload = u64::from(ring.record_size) - cardless_abi::record::RECORD_HEADER_SIZE as u64;
        let pos = match f.kind {
            FaultKind::CorruptHeader => f.arg,
            _ => cardless_abi::record::RECORD_HEADER_SIZE as u64 + f.arg % payload.max(1),
        };
        let mut iova = None;
        let _ = ring.for_each_piece(slot + pos, 1, |a, _, _| {
            iova = Some(a);
            Ok(())
        });
        let Some(iova) = iova else { return Ok(()) };
        let mut b = [0u8; 1];
        if view
            .for_each(iova, 1, false, |_, s| {
                s.copy_to(&mut b[..]);
            })
            .is_err()
        {
            return Ok(());
        }
        self.san
            .check_handed(iova, 1, "corrupt-fault byte", Some(cause))?;
        b[0] ^= f.arg2 as u8;
        if view
            .for_each(iova, 1, true, |_, s| s.copy_from(&b[..]))
            .is_ok()
        {
            let t = self.clock.now();
            if let Some(tr) = self.trace.as_mut() {
                tr.dma(t, true, iova, &b);
            }
            self.trace_fault(f.kind, "corrupt", Some(iova));
        }
        Ok(())
    }

    /// A debug window read (§14.4); `None` for a hole inside the window.
    pub(crate) fn dbg_read(&self, off: u64) -> Option<u32> {
        let d = &self.faults.dbg;
        Some(match off {
            DBG_ID => DBG_ID_VALUE,
            DBG_KIND => d.kind,
            DBG_TRIGGER => d.trigger,
            DBG_COUNT => d.count,
            DBG_WHEN_LO => d.when as u32,
            DBG_WHEN_HI => (d.when >> 32) as u32,
            DBG_ARG_LO => d.arg as u32,
            DBG_ARG_HI => (d.arg >> 32) as u32,
            DBG_ARG2 => d.arg2,
            DBG_CMD => 0,
            DBG_CMD_STATUS => d.status,
            DBG_SCHEDULED => self.faults.scheduled.len() as u32,
            DBG_FIRED => self.faults.fired,
            DBG_STATE => self.faults.state_bits(),
            _ => return None,
        })
    }

    /// A debug window write (§14.4); false for a hole or read-only register
    /// that is not one (RO registers ignore writes like BAR0's).
    pub(crate) fn dbg_write(&mut self, ctx: &Ctx, off: u64, v: u32) -> bool {
        let d = &mut self.faults.dbg;
        match off {
            DBG_ID | DBG_CMD_STATUS | DBG_SCHEDULED | DBG_FIRED | DBG_STATE => {}
            DBG_KIND => d.kind = v,
            DBG_TRIGGER => d.trigger = v,
            DBG_COUNT => d.count = v,
            DBG_WHEN_LO => d.when = (d.when & !0xffff_ffff) | u64::from(v),
            DBG_WHEN_HI => d.when = (d.when & 0xffff_ffff) | (u64::from(v) << 32),
            DBG_ARG_LO => d.arg = (d.arg & !0xffff_ffff) | u64::from(v),
            DBG_ARG_HI => d.arg = (d.arg & 0xffff_ffff) | (u64::from(v) << 32),
            DBG_ARG2 => d.arg2 = v,
            DBG_CMD => {
                self.faults.dbg.status = self.dbg_command(v);
                self.fault_tick(ctx);
            }
            _ => return false,
        }
        true
    }

    fn dbg_command(&mut self, cmd: u32) -> u32 {
        match cmd {
            DBG_CMD_CANCEL_ALL => {
                self.faults.scheduled.clear();
                DBG_ST_OK
            }
            DBG_CMD_SCHEDULE => {
                let d = self.faults.dbg;
                let Some(kind) = FaultKind::from_code(d.kind) else {
                    return DBG_ST_BAD_KIND;
                };
                let trigger = match d.trigger {
                    DBG_TRIG_VTIME => Trigger::At(d.when),
                    DBG_TRIG_RECORD => Trigger::Record(d.when),
                    _ => return DBG_ST_BAD_TRIGGER,
                };
                let mut f = Fault::new(kind);
                f.trigger = trigger;
                f.count = d.count.max(1);
                f.arg = d.arg;
                f.arg2 = match kind {
                    FaultKind::CorruptPayload | FaultKind::CorruptHeader if d.arg2 == 0 => 0xff,
                    FaultKind::CorruptPayload | FaultKind::CorruptHeader => d.arg2,
                    k if k.is_irq() => d.arg2,
                    _ => 0,
                };
                if f.validate().is_err() {
                    return DBG_ST_BAD_ARG;
                }
                if self.faults.scheduled.len() >= MAX_SCHEDULED_FAULTS as usize {
                    return DBG_ST_FULL;
                }
                self.faults.scheduled.push(f);
                self.trace_fault(kind, "schedule", None);
                DBG_ST_OK
            }
            _ => DBG_ST_BAD_CMD,
        }
    }

    /// Reset (§14.3): armed and held faults, stall and link-down end; a
    /// VMM reset also brings a removed card back. Scheduled faults stay.
    pub(crate) fn faults_reset(&mut self, vmm: bool) {
        let f = &mut self.faults;
        f.irq.clear();
        f.rec.clear();
        f.held.clear();
        f.stall = None;
        f.link_down = None;
        if vmm {
            f.removed = false;
        }
        f.dbg = DbgRegs::default();
    }
}
