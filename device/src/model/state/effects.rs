//! What the parts' results become (the register file's bottom layer):
//! interrupt causes latched, written back in the status block and sent
//! through the fault plan (SPEC §5.3, §7, §14.1); errors latched (§10);
//! sanitizer findings reported (§16); scheduled faults fired at check
//! points (§14.2, §14.3); and the trace lines of all of them (§12).

use std::sync::atomic::Ordering;

use cardless_abi::record::StatusBlock;
use cardless_abi::regs::*;

use super::{Ctx, State};
use crate::dma::DmaView;
use crate::fault::{Fault, FaultKind};
use crate::model::fault::{FaultLine, IrqFate};
use crate::model::owner::{Role, What};
use crate::model::sanitizer::{Finding, Refused};

impl State {
    /// Keeps the lock-free `irq_pending` mirror current.
    pub(super) fn sync_pending(&self, ctx: &Ctx) {
        ctx.pending.store(self.irq.level(), Ordering::Release);
    }

    /// A guest or VMM action arrives (its trace line, if any, is written):
    /// it is what later findings name as their cause.
    pub(super) fn note_action(&mut self, what: What) {
        let event = match what {
            // A read's line comes after the read (SPEC §12).
            What::Read { .. } => None,
            _ => self.trace.as_ref().map(|t| t.last_event()),
        };
        self.san.note_action(what, event, self.clock.now());
    }

    /// A fault's trace line (§14.5).
    pub(super) fn trace_fault(&mut self, (kind, act, arg): FaultLine) {
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.fault(t, kind.name(), act, arg);
        }
    }

    /// A DMA's trace line, with the bytes moved.
    pub(super) fn trace_dma(&mut self, t: u64, write: bool, addr: u64, bytes: &[u8]) {
        if let Some(tr) = self.trace.as_mut() {
            tr.dma(t, write, addr, bytes);
        }
    }

    /// An interrupt event: latch the cause, write the status block, send
    /// the message (§7.2). A failing status block write becomes an error too.
    pub(super) fn signal(&mut self, ctx: &Ctx, view: &DmaView, cause: u32) {
        self.irq.latch(cause);
        self.sync_pending(ctx);
        let sb = self.write_status_block(view);
        self.send(ctx, cause);
        if let Err(r) = sb {
            self.latch_error(r);
            self.irq.latch(INT_ERROR);
            self.sync_pending(ctx);
            self.send(ctx, INT_ERROR);
        }
    }

    /// Sends one message for `cause` if INT_MASK enables it (§7.2), as the
    /// fault plan has it (§14.1).
    pub(super) fn send(&mut self, ctx: &Ctx, cause: u32) {
        let Some(vec) = self.irq.message_for(cause) else {
            return;
        };
        let (fate, line) = self.faults.irq_fate(cause, vec, self.clock.now());
        if let Some(line) = line {
            self.trace_fault(line);
        }
        match fate {
            IrqFate::Send => self.deliver(ctx, cause, vec),
            IrqFate::Twice => {
                self.deliver(ctx, cause, vec);
                self.deliver(ctx, cause, vec);
            }
            IrqFate::Withheld => {}
        }
    }

    /// Sends one message now: counted, traced, raised.
    fn deliver(&mut self, ctx: &Ctx, cause: u32, vec: u16) {
        self.cnt.irqs = self.cnt.irqs.wrapping_add(1);
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.irq(t, cause, vec);
        }
        ctx.irq.raise(vec);
    }

    /// §10 for a refusal: count, latch, stop, report the finding, then
    /// signal pending records and ERROR.
    pub(super) fn fail(&mut self, ctx: &Ctx, view: &DmaView, r: Refused) {
        self.latch_error(r);
        self.raise_error(ctx, view);
    }

    /// §10 steps 1-3 without any DMA or message: count, latch, stop; and
    /// the sanitizer's finding behind it, if any, reported.
    fn latch_error(&mut self, r: Refused) {
        self.cnt.errors = self.cnt.errors.wrapping_add(1);
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.error(t, r.code, r.addr);
        }
        if self.error_code == ERR_NONE {
            self.error_code = r.code;
            self.error_addr = r.addr;
        }
        self.halt_engine();
        self.kick += 1;
        if let Some(f) = r.finding {
            self.report(*f);
        }
    }

    /// §10 step 4: pending records are signalled, then ERROR.
    fn raise_error(&mut self, ctx: &Ctx, view: &DmaView) {
        if self.engine.take_pending() {
            self.signal(ctx, view, INT_DATA_READY);
        }
        self.signal(ctx, view, INT_ERROR);
    }

    /// Traces, logs and keeps a sanitizer finding.
    fn report(&mut self, f: Finding) {
        let t = self.clock.now();
        let r = self.san.keep(f);
        log::warn!("DMA sanitizer ({}): {}", r.check, r.message);
        if let Some(tr) = self.trace.as_mut() {
            tr.sanitizer(t, r.check, r.addr, r.len, r.cause, &r.message);
        }
    }

    /// Stops without DMA (errors, removal, abandoning an overflow-stopped
    /// stream) and takes the ring back (§16).
    pub(super) fn halt_engine(&mut self) {
        self.engine.stop();
        self.san.take_back(Role::Ring);
        self.san.take_back(Role::SgTable);
    }

    /// §5.3: writes the status block if CONTROL.STATUS_WB is set and the
    /// engine latched an address; checked by the sanitizer (§16) first.
    pub(super) fn write_status_block(&mut self, view: &DmaView) -> Result<(), Refused> {
        let Some(addr) = self.engine.status_addr() else {
            return Ok(());
        };
        if self.faults.unreachable() {
            return Ok(());
        }
        if self.regs.control & CTRL_STATUS_WB == 0 {
            return Ok(());
        }
        // A lost write still counts: the card sent it (§14.1), so the next
        // block that lands shows the gap in `generation`.
        let generation = self.engine.next_status_gen();
        if self.faults.take_status_lost() {
            self.trace_fault((FaultKind::StatusLost, "lost", Some(addr)));
            return Ok(());
        }
        let sb = StatusBlock {
            prod_idx: self.engine.prod(),
            status: self.status(),
            produced: self.cnt.produced,
            dropped: self.cnt.dropped,
            next_seq: self.engine.next_seq(),
            vtime_ns: self.clock.now(),
            error_code: self.error_code,
            int_status: self.irq.status(),
            error_addr: self.error_addr,
            generation,
        };
        let bytes = sb.to_bytes();
        let len = bytes.len() as u64;
        let written = self
            .san
            .check_write(view, addr, len, "status block", None)
            .and_then(|()| {
                view.for_each(addr, len, true, |pos, s| {
                    s.copy_from(&bytes[pos..pos + s.len()]);
                })
                .map_err(|e| self.san.dma_error(&e))
            });
        if let Err(refused) = written {
            // One failure, one error: the ERROR signal that follows must not
            // retry the same write. No write-back until the next enable.
            self.engine.forget_status_addr();
            return Err(refused);
        }
        self.trace_dma(self.clock.now(), true, addr, &bytes);
        Ok(())
    }

    /// A check point (§14.2): fires due faults, releases held messages,
    /// ends timed stalls and link-downs.
    pub(super) fn fault_tick(&mut self, ctx: &Ctx) {
        if self.faults.quiet() {
            return;
        }
        let now = self.clock.now();
        let produced = self.cnt.produced;
        while let Some(f) = self.faults.take_due(now, produced) {
            self.fire(ctx, f);
        }
        while let Some(h) = self.faults.take_released(now) {
            let vec = Some(u64::from(h.vec));
            self.trace_fault((FaultKind::DelayIrq, "release", vec));
            if self.faults.unreachable() {
                self.trace_fault((FaultKind::DelayIrq, "lost", vec));
            } else {
                self.deliver(ctx, h.cause, h.vec);
            }
        }
        if self.faults.end_stall(now) {
            self.trace_fault((FaultKind::Stall, "end", None));
            self.kick += 1;
        }
        if self.faults.end_link_down(now) {
            self.trace_fault((FaultKind::LinkDown, "end", None));
            self.kick += 1;
        }
    }

    /// A scheduled fault's trigger was met. Its cause (for sanitizer
    /// reports) is its `fire` trace line.
    fn fire(&mut self, ctx: &Ctx, f: Fault) {
        self.trace_fault((f.kind, "fire", None));
        let now = self.clock.now();
        let event = self.trace.as_ref().map(|t| t.last_event());
        let cause = self.san.fault_cause(f.kind, event, now);
        if self.faults.fire(f, cause, now) {
            self.remove_card(ctx);
        }
        self.kick += 1;
    }

    /// §14.3 surprise removal: no more DMA or messages, BAR2 all-ones.
    fn remove_card(&mut self, ctx: &Ctx) {
        self.halt_engine();
        let ones = vec![0xffu8; 1 << 16];
        let mut off = 0;
        while off < ctx.bar2.size() {
            let n = (ctx.bar2.size() - off).min(ones.len() as u64);
            ctx.bar2.write(off, &ones[..n as usize]);
            off += n;
        }
    }

    /// A trapped access that got no completion: in deterministic mode it
    /// costs [`LINK_DOWN_ACCESS_NS`] of VTIME (§14.3).
    pub(super) fn no_completion(&mut self, ctx: &Ctx) {
        self.clock.advance(LINK_DOWN_ACCESS_NS);
        self.fault_tick(ctx);
    }
}
