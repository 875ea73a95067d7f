//! Fault injection in the card (SPEC §14): scheduled faults fire at check
//! points, armed ones act on interrupt messages and records, and the card
//! can be stalled, unplugged or cut off. Also the debug window registers
//! (§14.4). Everything here is driven by VTIME and CNT_PRODUCED only, so
//! the same seed, plan and guest actions give the same faults (§14.6).
//!
//! [`Faults`] owns the fault state and takes VTIME, CNT_PRODUCED and a
//! firing's cause as arguments; each call returns what happened (a fault
//! due, a held message released, a fault line to trace, the card removed).
//! The register file applies that: it traces, delivers, halts the engine.
//! Record faults are applied by the engine (`engine.rs`), lost status
//! block write-backs by the register file (`state/effects.rs`).

use std::collections::VecDeque;

use cardless_abi::regs::*;

use super::owner::Cause;
use super::regs::{set_hi, set_lo};
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Held {
    /// VTIME at which it is released.
    pub at: u64,
    pub cause: u32,
    pub vec: u16,
}

/// What happens to one interrupt message (§14.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IrqFate {
    /// Sent normally.
    Send,
    /// Sent twice.
    Twice,
    /// Not sent now (dropped, held or lost).
    Withheld,
}

/// A fault's trace line (SPEC §14.5): its kind, what it did, its argument.
pub(crate) type FaultLine = (FaultKind, &'static str, Option<u64>);

/// What a debug window write did (§14.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DbgWrite {
    /// No register there.
    Hole,
    /// A register was written (or a read-only one ignored it).
    Done,
    /// DBG_CMD ran, and a check point is due. `scheduled`: the kind of the
    /// fault it scheduled, if it did (a `schedule` trace line).
    Command { scheduled: Option<FaultKind> },
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
    window: bool,
    scheduled: Vec<Fault>,
    irq: VecDeque<Armed>,
    rec: VecDeque<Armed>,
    held: VecDeque<Held>,
    /// Status block write-backs still to lose (`status-lost`, §14.1).
    status_lost: u32,
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

    /// Nothing scheduled, armed, held or in effect: the fast path. Lost
    /// write-backs to come do not count: the write-back asks for them
    /// itself, no check point or timer is needed.
    pub(crate) fn quiet(&self) -> bool {
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

    /// Whether the debug window exists (FEATURES.DEBUG).
    pub(crate) fn has_window(&self) -> bool {
        self.window
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

    /// The record fault the next record written gets, if one is armed
    /// (§14.1), with its firing.
    pub(crate) fn next_record_fault(&self) -> Option<(&Fault, &Cause)> {
        self.rec.front().map(|a| (&a.fault, &a.cause))
    }

    /// A record was written with [`Self::next_record_fault`]'s fault.
    pub(crate) fn record_fault_used(&mut self) {
        if let Some(a) = self.rec.front_mut() {
            a.left -= 1;
            if a.left == 0 {
                self.rec.pop_front();
            }
        }
    }

    /// True (and counts it) if the status block write-back the card is
    /// about to make is lost (`status-lost`, §14.1).
    pub(crate) fn take_status_lost(&mut self) -> bool {
        let lost = self.status_lost > 0;
        if lost {
            self.status_lost -= 1;
        }
        lost
    }

    /// The first scheduled fault whose trigger is met at VTIME `now` with
    /// `produced` records (§14.2), taken off the schedule. Ties fire in
    /// plan order.
    pub(crate) fn take_due(&mut self, now: u64, produced: u64) -> Option<Fault> {
        let i = self.scheduled.iter().position(|f| match f.trigger {
            Trigger::At(t) => now >= t,
            Trigger::Record(n) => produced >= n,
        })?;
        Some(self.scheduled.remove(i))
    }

    /// Fault `f` fires at VTIME `now`; `cause` is its firing (for
    /// sanitizer reports). True if it removes the card (§14.3): the caller
    /// then halts the engine and fills BAR2 with ones.
    pub(crate) fn fire(&mut self, f: Fault, cause: Cause, now: u64) -> bool {
        self.fired = self.fired.wrapping_add(1);
        let until = |ns: u64| (ns != 0).then(|| now.saturating_add(ns));
        match f.kind {
            k if k.is_irq() => self.irq.push_back(Armed {
                fault: f,
                left: f.count,
                cause,
            }),
            k if k.is_record() => self.rec.push_back(Armed {
                fault: f,
                left: f.count,
                cause,
            }),
            FaultKind::Stall => self.stall = Some(until(f.arg)),
            FaultKind::Resume => self.stall = None,
            FaultKind::LinkDown => self.link_down = Some(until(f.arg)),
            FaultKind::LinkUp => self.link_down = None,
            FaultKind::StatusLost => self.status_lost = self.status_lost.saturating_add(f.count),
            _ => {
                self.removed = true;
                self.held.clear();
                return true;
            }
        }
        false
    }

    /// The oldest held message due by `now`, taken off the queue.
    pub(crate) fn take_released(&mut self, now: u64) -> Option<Held> {
        if self.held.front()?.at > now {
            return None;
        }
        self.held.pop_front()
    }

    /// Ends a timed stall due by `now`; true if it ended.
    pub(crate) fn end_stall(&mut self, now: u64) -> bool {
        let due = matches!(self.stall, Some(Some(until)) if now >= until);
        if due {
            self.stall = None;
        }
        due
    }

    /// Ends a timed link-down due by `now`; true if it ended.
    pub(crate) fn end_link_down(&mut self, now: u64) -> bool {
        let due = matches!(self.link_down, Some(Some(until)) if now >= until);
        if due {
            self.link_down = None;
        }
        due
    }

    /// What an interrupt message for `cause` on `vec` at VTIME `now`
    /// becomes (§14.1), and the fault line to trace before acting on it.
    pub(crate) fn irq_fate(
        &mut self,
        cause: u32,
        vec: u16,
        now: u64,
    ) -> (IrqFate, Option<FaultLine>) {
        if self.quiet() {
            return (IrqFate::Send, None);
        }
        let v = Some(u64::from(vec));
        if self.unreachable() {
            let kind = if self.removed {
                FaultKind::SurpriseRemoval
            } else {
                FaultKind::LinkDown
            };
            return (IrqFate::Withheld, Some((kind, "lost", v)));
        }
        let Some(i) = self
            .irq
            .iter()
            .position(|a| a.fault.arg2 == 0 || a.fault.arg2 == cause)
        else {
            return (IrqFate::Send, None);
        };
        let f = self.irq[i].fault;
        self.irq[i].left -= 1;
        if self.irq[i].left == 0 {
            self.irq.remove(i);
        }
        match f.kind {
            FaultKind::DropIrq => (IrqFate::Withheld, Some((f.kind, "drop", v))),
            FaultKind::DupIrq => (IrqFate::Twice, Some((f.kind, "dup", v))),
            _ => {
                let at = now.saturating_add(f.arg);
                self.held.push_back(Held { at, cause, vec });
                (IrqFate::Withheld, Some((f.kind, "hold", v)))
            }
        }
    }

    /// A debug window read (§14.4); `None` for a hole inside the window.
    pub(crate) fn dbg_read(&self, off: u64) -> Option<u32> {
        let d = &self.dbg;
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
            DBG_SCHEDULED => self.scheduled.len() as u32,
            DBG_FIRED => self.fired,
            DBG_STATE => self.state_bits(),
            _ => return None,
        })
    }

    /// A debug window write (§14.4). Read-only registers ignore writes,
    /// like BAR0's.
    pub(crate) fn dbg_write(&mut self, off: u64, v: u32) -> DbgWrite {
        let d = &mut self.dbg;
        match off {
            DBG_ID | DBG_CMD_STATUS | DBG_SCHEDULED | DBG_FIRED | DBG_STATE => {}
            DBG_KIND => d.kind = v,
            DBG_TRIGGER => d.trigger = v,
            DBG_COUNT => d.count = v,
            DBG_WHEN_LO => set_lo(&mut d.when, v),
            DBG_WHEN_HI => set_hi(&mut d.when, v),
            DBG_ARG_LO => set_lo(&mut d.arg, v),
            DBG_ARG_HI => set_hi(&mut d.arg, v),
            DBG_ARG2 => d.arg2 = v,
            DBG_CMD => {
                let (status, scheduled) = self.dbg_command(v);
                self.dbg.status = status;
                return DbgWrite::Command { scheduled };
            }
            _ => return DbgWrite::Hole,
        }
        DbgWrite::Done
    }

    /// Runs DBG_CMD `cmd`: its DBG_CMD_STATUS, and the kind it scheduled.
    fn dbg_command(&mut self, cmd: u32) -> (u32, Option<FaultKind>) {
        match cmd {
            DBG_CMD_CANCEL_ALL => {
                self.scheduled.clear();
                (DBG_ST_OK, None)
            }
            DBG_CMD_SCHEDULE => match self.dbg_fault() {
                Err(status) => (status, None),
                Ok(_) if self.scheduled.len() >= MAX_SCHEDULED_FAULTS as usize => {
                    (DBG_ST_FULL, None)
                }
                Ok(f) => {
                    self.scheduled.push(f);
                    (DBG_ST_OK, Some(f.kind))
                }
            },
            _ => (DBG_ST_BAD_CMD, None),
        }
    }

    /// The fault the debug window's registers describe, or the
    /// DBG_CMD_STATUS that says what is wrong with them.
    fn dbg_fault(&self) -> Result<Fault, u32> {
        let d = self.dbg;
        let kind = FaultKind::from_code(d.kind).ok_or(DBG_ST_BAD_KIND)?;
        let trigger = match d.trigger {
            DBG_TRIG_VTIME => Trigger::At(d.when),
            DBG_TRIG_RECORD => Trigger::Record(d.when),
            _ => return Err(DBG_ST_BAD_TRIGGER),
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
        f.validate().map_err(|_| DBG_ST_BAD_ARG)?;
        Ok(f)
    }

    /// Reset (§14.3): armed and held faults, stall and link-down end; a
    /// VMM reset also brings a removed card back. Scheduled faults stay.
    pub(crate) fn reset(&mut self, vmm: bool) {
        self.irq.clear();
        self.rec.clear();
        self.held.clear();
        self.status_lost = 0;
        self.stall = None;
        self.link_down = None;
        if vmm {
            self.removed = false;
        }
        self.dbg = DbgRegs::default();
    }
}

#[cfg(test)]
mod tests;
