//! What the transport does to the card (the register file's top layer):
//! trapped BAR accesses (SPEC §3, §4.1; all-ones while unreachable,
//! §14.3), each BAR0 register's read and write side effects (§4.2), the
//! copy engine's doorbell (§11), reset (§9) and DMA map/unmap events
//! (§15.1, §16).

use cardless_abi::regs::*;

use super::{Ctx, State};
use crate::model::copy::{self, CopyLine, CopyRequest};
use crate::model::fault::DbgWrite;
use crate::model::owner::{Span, What};
use crate::model::regs::{set_hi, set_lo};

impl State {
    /// A trapped read of `data.len()` bytes at `offset` of BAR `bar`.
    pub(crate) fn mmio_read(&mut self, ctx: &Ctx, bar: u8, offset: u64, data: &mut [u8]) {
        self.note_action(What::Read { bar, off: offset });
        self.fault_tick(ctx);
        if self.faults.unreachable() && !self.faults.is_window(bar, offset) {
            data.fill(0xff);
            self.no_completion(ctx);
        } else {
            match bar {
                BAR_REGS => self.bar0_read(offset, data),
                BAR_MEM => {
                    if !ctx.bar2.read(offset, data) {
                        data.fill(0);
                        self.count_bad_access();
                    }
                }
                _ => data.fill(0),
            }
        }
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.mmio(t, false, bar, offset, data);
        }
    }

    /// A trapped write of `data` at `offset` of BAR `bar`.
    pub(crate) fn mmio_write(&mut self, ctx: &Ctx, bar: u8, offset: u64, data: &[u8]) {
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.mmio(t, true, bar, offset, data);
        }
        let mut val = [0u8; 8];
        let n = data.len().min(8);
        val[..n].copy_from_slice(&data[..n]);
        self.note_action(What::Write {
            bar,
            off: offset,
            val: u64::from_le_bytes(val),
        });
        self.fault_tick(ctx);
        if self.faults.unreachable() && !self.faults.is_window(bar, offset) {
            return self.no_completion(ctx);
        }
        match bar {
            BAR_REGS => self.bar0_write(ctx, offset, data),
            BAR_MEM if !ctx.bar2.write(offset, data) => self.count_bad_access(),
            _ => {}
        }
    }

    /// The VMM's device reset (SPEC §9); also ends a surprise removal (§14.3).
    pub(crate) fn vmm_reset(&mut self, ctx: &Ctx) {
        self.reset(ctx, true);
        self.note_action(What::VmmReset);
    }

    /// The VMM mapped `[iova, iova + size)` for DMA (already in the DMA space).
    pub(crate) fn dma_mapped(&mut self, iova: u64, size: u64, writable: bool) {
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.dma_map(t, iova, size, writable);
        }
        self.note_action(What::DmaMap { addr: iova, size });
    }

    /// The VMM unmapped `[iova, iova + size)`: whatever the driver had handed
    /// to the card there is taken away (§16).
    pub(crate) fn dma_unmapped(&mut self, iova: u64, size: u64) {
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.dma_unmap(t, iova, size);
        }
        self.note_action(What::DmaUnmap { addr: iova, size });
        self.san.unmapped(Span::new(iova, size));
    }

    /// Every mapping removed (DMA_UNMAP ALL, disconnect).
    pub(crate) fn dma_unmapped_all(&mut self) {
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.dma_unmap_all(t);
        }
        self.note_action(What::UnmapAll);
        self.san.unmapped(Span {
            start: 0,
            end: u64::MAX,
        });
    }

    fn count_bad_access(&mut self) {
        self.cnt.bad_access = self.cnt.bad_access.wrapping_add(1);
    }

    /// SPEC §9: everything back to reset values, engine stopped, no DMA.
    /// `vmm`: a VFIO device reset (also ends a surprise removal, §14.3)
    /// rather than CONTROL.RESET.
    fn reset(&mut self, ctx: &Ctx, vmm: bool) {
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.reset(t, if vmm { "vmm" } else { "reg" });
        }
        self.load_reset_values();
        self.san.reset();
        self.faults.reset(vmm);
        self.sync_pending(ctx);
        self.kick += 1;
    }

    fn features(&self) -> u32 {
        let det = if self.defaults.deterministic {
            FEAT_DETERMINISTIC
        } else {
            0
        };
        let dbg = if self.faults.has_window() {
            FEAT_DEBUG
        } else {
            0
        };
        FEAT_SG | FEAT_COPY | FEAT_CHECKSUM | FEAT_STATUS_WB | det | dbg
    }

    /// A BAR0 access of any offset and length (SPEC §4.1).
    fn bar0_read(&mut self, offset: u64, data: &mut [u8]) {
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
            _ => self.count_bad_access(),
        }
    }

    /// A BAR0 write of any offset and length (SPEC §4.1).
    fn bar0_write(&mut self, ctx: &Ctx, offset: u64, data: &[u8]) {
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
            _ => self.count_bad_access(),
        }
    }

    fn read32_counted(&mut self, off: u64) -> u32 {
        self.read32(off).unwrap_or_else(|| {
            self.count_bad_access();
            0
        })
    }

    fn write32_counted(&mut self, ctx: &Ctx, off: u64, v: u32) {
        if !self.write32(ctx, off, v) {
            self.count_bad_access();
        }
    }

    /// Reads one register; `None` for a hole.
    fn read32(&mut self, off: u64) -> Option<u32> {
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
            INT_STATUS => self.irq.status(),
            INT_MASK => self.irq.mask(),
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
            PROD_IDX => self.engine.prod(),
            CONS_IDX => self.engine.cons(),
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
            o if self.faults.is_window(BAR_REGS, o) => return self.faults.dbg_read(o),
            _ => return None,
        })
    }

    /// Writes one register; false for a hole.
    fn write32(&mut self, ctx: &Ctx, off: u64, v: u32) -> bool {
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
                self.irq.acknowledge(v);
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

    /// §7.2: enabling a cause that is already latched sends it once.
    fn write_int_mask(&mut self, ctx: &Ctx, v: u32) {
        let newly = self.irq.set_mask(v);
        for bit in [INT_DATA_READY, INT_ERROR, INT_COPY_DONE, INT_OVERFLOW] {
            if newly & bit != 0 {
                self.send(ctx, bit);
            }
        }
        self.sync_pending(ctx);
    }

    /// A debug window write (§14.4); false for a hole.
    fn dbg_write(&mut self, ctx: &Ctx, off: u64, v: u32) -> bool {
        match self.faults.dbg_write(off, v) {
            DbgWrite::Hole => false,
            DbgWrite::Done => true,
            DbgWrite::Command { scheduled } => {
                if let Some(kind) = scheduled {
                    self.trace_fault((kind, "schedule", None));
                }
                self.fault_tick(ctx);
                true
            }
        }
    }

    /// A COPY_CTRL write (§11): the copy runs now, then COPY_DONE.
    fn copy_doorbell(&mut self, ctx: &Ctx, ctrl: u32) {
        let view = ctx.dma.view();
        let r = self.regs;
        let req = CopyRequest {
            ctrl,
            bar_off: u64::from(r.copy_bar_off),
            len: u64::from(r.copy_len),
            host: r.copy_host,
        };
        let result = req.check(ctx.bar2.size()).and_then(|op| {
            // §16: the host buffer is the card's for the length of the copy.
            self.san.hand_copy(Some(req.host_span()));
            let tracing = self.trace.is_some();
            let done = copy::run(op, &req, &view, ctx.bar2, &self.san, tracing);
            self.san.hand_copy(None);
            self.trace_copy(done.lines);
            if let Ok(Some(sum)) = done.result {
                self.regs.copy_result = sum;
            }
            done.result
        });
        self.cnt.copies = self.cnt.copies.wrapping_add(1);
        match result {
            Ok(_) => self.regs.copy_status = ERR_NONE,
            Err(r) => {
                self.regs.copy_status = r.code;
                self.fail(ctx, &view, r);
            }
        }
        self.signal(ctx, &view, INT_COPY_DONE);
    }

    fn trace_copy(&mut self, lines: Vec<CopyLine>) {
        let t = self.clock.now();
        let Some(tr) = self.trace.as_mut() else {
            return;
        };
        for line in lines {
            match line {
                CopyLine::Bar2 { off, bytes } => tr.bar2_read(t, off, &bytes),
                CopyLine::Dma { write, addr, bytes } => tr.dma(t, write, addr, &bytes),
            }
        }
    }
}
