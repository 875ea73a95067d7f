//! Interrupt causes, the status block write-back that precedes them, and the
//! error path (SPEC §5.3, §7, §10).

use cardless_abi::record::StatusBlock;
use cardless_abi::regs::*;

use super::fault::IrqFate;
use super::sanitizer::Refused;
use super::state::{Ctx, State};
use crate::dma::DmaView;

impl State {
    /// Sends one message for `cause` if INT_MASK enables it (§7.2).
    fn send(&mut self, ctx: &Ctx, cause: u32) {
        if self.int_mask & cause == 0 {
            return;
        }
        let Some(vec) = int_vector(cause) else { return };
        match self.irq_fate(cause, vec) {
            IrqFate::Send => self.deliver(ctx, cause, vec),
            IrqFate::Twice => {
                self.deliver(ctx, cause, vec);
                self.deliver(ctx, cause, vec);
            }
            IrqFate::Withheld => {}
        }
    }

    /// Sends one message now: counted, traced, raised.
    pub(crate) fn deliver(&mut self, ctx: &Ctx, cause: u32, vec: u16) {
        self.cnt.irqs = self.cnt.irqs.wrapping_add(1);
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.irq(t, cause, vec);
        }
        ctx.irq.raise(vec);
    }

    /// An interrupt event: latch the cause, write the status block, send
    /// the message (§7.2). A failing status block write becomes an error too.
    pub(crate) fn signal(&mut self, ctx: &Ctx, view: &DmaView, cause: u32) {
        self.int_status |= cause;
        self.sync_pending(ctx);
        let sb = self.write_status_block(view);
        self.send(ctx, cause);
        if let Err(r) = sb {
            self.fail_refused_quiet(r);
            self.int_status |= INT_ERROR;
            self.sync_pending(ctx);
            self.send(ctx, INT_ERROR);
        }
    }

    /// §7.2: enabling a cause that is already latched sends it once.
    pub(crate) fn write_int_mask(&mut self, ctx: &Ctx, v: u32) {
        let old = self.int_mask;
        self.int_mask = v & INT_ALL;
        let newly = self.int_mask & !old & self.int_status;
        for bit in [INT_DATA_READY, INT_ERROR, INT_COPY_DONE, INT_OVERFLOW] {
            if newly & bit != 0 {
                self.send(ctx, bit);
            }
        }
        self.sync_pending(ctx);
    }

    /// §10 steps 1-3 without any DMA or message: count, latch, stop.
    pub(crate) fn fail_quiet(&mut self, code: u32, addr: u64) {
        self.cnt.errors = self.cnt.errors.wrapping_add(1);
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.error(t, code, addr);
        }
        if self.error_code == ERR_NONE {
            self.error_code = code;
            self.error_addr = addr;
        }
        self.halt_engine();
        self.kick += 1;
    }

    /// §10: an error. Pending records are signalled, then ERROR.
    pub(crate) fn fail(&mut self, ctx: &Ctx, view: &DmaView, code: u32, addr: u64) {
        self.fail_quiet(code, addr);
        self.raise_error(ctx, view);
    }

    /// §10 step 4 after `fail_quiet`: pending records are signalled, then ERROR.
    pub(crate) fn raise_error(&mut self, ctx: &Ctx, view: &DmaView) {
        if self.engine.take_pending() {
            self.signal(ctx, view, INT_DATA_READY);
        }
        self.signal(ctx, view, INT_ERROR);
    }

    /// §5.3: writes the status block if CONTROL.STATUS_WB is set and the
    /// engine latched an address; checked by the sanitizer (§16) first.
    pub(crate) fn write_status_block(&mut self, view: &DmaView) -> Result<(), Refused> {
        let Some(addr) = self.engine.status_addr else {
            return Ok(());
        };
        if self.faults.unreachable() {
            return Ok(());
        }
        if self.regs.control & CTRL_STATUS_WB == 0 {
            return Ok(());
        }
        self.engine.status_gen = self.engine.status_gen.wrapping_add(1);
        let sb = StatusBlock {
            prod_idx: self.engine.prod,
            status: self.status(),
            produced: self.cnt.produced,
            dropped: self.cnt.dropped,
            next_seq: self.engine.next_seq,
            vtime_ns: self.clock.now(),
            error_code: self.error_code,
            int_status: self.int_status,
            error_addr: self.error_addr,
            generation: self.engine.status_gen,
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
            self.engine.status_addr = None;
            return Err(refused);
        }
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.dma(t, true, addr, &bytes);
        }
        Ok(())
    }
}
