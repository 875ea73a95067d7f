//! The copy engine (SPEC §11): a doorbell that copies between BAR2 and host
//! memory or checksums a BAR2 range, synchronously, then raises COPY_DONE.

use cardless_abi::record::{checksum_finish, weighted_sum};
use cardless_abi::regs::*;

use super::owner::Span;
use super::sanitizer::Refused;
use super::state::{Ctx, State};
use crate::dma::DmaView;

/// Chunk for checksumming BAR2 without allocating the whole range.
const CSUM_CHUNK: usize = 4096;

impl State {
    /// A COPY_CTRL write.
    pub(crate) fn copy_doorbell(&mut self, ctx: &Ctx, ctrl: u32) {
        let view = ctx.dma.view();
        let r = self.regs;
        let (off, len, host) = (
            u64::from(r.copy_bar_off),
            u64::from(r.copy_len),
            r.copy_host,
        );
        let op = ctrl & COPY_OP_MASK;
        let result = if op > COPY_OP_CHECKSUM {
            Err(Refused::code(ERR_BAD_COPY_OP, u64::from(ctrl)))
        } else if off + len > ctx.bar2.size() {
            // u32 + u32 cannot overflow u64.
            Err(Refused::code(ERR_COPY_RANGE, off))
        } else {
            // §16: the host buffer is the card's for the length of the copy.
            let by = self.san.during;
            self.san.own.hand_copy(Some(Span::new(host, len)), by);
            let r = match op {
                COPY_OP_TO_HOST => self.copy_to_host(ctx, &view, off, len, host),
                COPY_OP_FROM_HOST => self.copy_from_host(ctx, &view, off, len, host),
                _ => {
                    self.trace_bar2(ctx, off, len);
                    self.regs.copy_result = bar2_checksum(ctx, off, len);
                    Ok(())
                }
            };
            self.san.own.hand_copy(None, by);
            r
        };
        self.cnt.copies = self.cnt.copies.wrapping_add(1);
        match result {
            Ok(()) => self.regs.copy_status = ERR_NONE,
            Err(r) => {
                self.regs.copy_status = r.code;
                self.fail_refused(ctx, &view, r);
            }
        }
        self.signal(ctx, &view, INT_COPY_DONE);
    }

    fn copy_to_host(
        &mut self,
        ctx: &Ctx,
        view: &DmaView,
        off: u64,
        len: u64,
        host: u64,
    ) -> Result<(), Refused> {
        self.san.check_write(view, host, len, "copy-engine", None)?;
        view.for_each(host, len, true, |p, dst| {
            if let Some(src) = ctx.bar2.slice(off + p as u64, dst.len() as u64) {
                src.copy_to_volatile_slice(dst);
            }
        })
        .map_err(|e| self.san.dma_error(&e))?;
        self.trace_bar2(ctx, off, len);
        self.trace_dma(view, true, host, len);
        Ok(())
    }

    fn copy_from_host(
        &mut self,
        ctx: &Ctx,
        view: &DmaView,
        off: u64,
        len: u64,
        host: u64,
    ) -> Result<(), Refused> {
        view.for_each(host, len, false, |p, src| {
            if let Some(dst) = ctx.bar2.slice(off + p as u64, src.len() as u64) {
                src.copy_to_volatile_slice(dst);
            }
        })
        .map_err(|e| self.san.dma_error(&e))?;
        self.trace_dma(view, false, host, len);
        Ok(())
    }

    /// A trace line for a DMA the copy engine made (bytes read back).
    fn trace_dma(&mut self, view: &DmaView, write: bool, addr: u64, len: u64) {
        if self.trace.is_none() {
            return;
        }
        let mut buf = vec![0u8; len as usize];
        let _ = view.for_each(addr, len, false, |p, s| {
            s.copy_to(&mut buf[p..p + s.len()]);
        });
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.dma(t, write, addr, &buf);
        }
    }

    /// A trace line for BAR2 bytes the copy engine read (SPEC §15.1): the
    /// guest may have written them through its mapping, unseen by the card.
    fn trace_bar2(&mut self, ctx: &Ctx, off: u64, len: u64) {
        if self.trace.is_none() {
            return;
        }
        let mut buf = vec![0u8; len as usize];
        ctx.bar2.read(off, &mut buf);
        let t = self.clock.now();
        if let Some(tr) = self.trace.as_mut() {
            tr.bar2_read(t, off, &buf);
        }
    }
}

/// §5.4 checksum of BAR2[off..off+len] (range already checked), in chunks.
fn bar2_checksum(ctx: &Ctx, off: u64, len: u64) -> u64 {
    let mut acc = 0u64;
    let mut buf = [0u8; CSUM_CHUNK];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(CSUM_CHUNK as u64) as usize;
        if !ctx.bar2.read(off + done, &mut buf[..n]) {
            break;
        }
        acc = acc.wrapping_add(weighted_sum(&buf[..n], done / 8));
        done += n as u64;
    }
    checksum_finish(acc, len)
}
