//! The copy engine (SPEC §11): copies between BAR2 and host memory or
//! checksums a BAR2 range, synchronously. A function of the COPY_*
//! registers, the DMA view, BAR2 and the sanitizer; it returns the result
//! and the trace lines, and the register file latches COPY_STATUS and
//! raises COPY_DONE.

use cardless_abi::record::{checksum_finish, weighted_sum};
use cardless_abi::regs::*;

use super::owner::Span;
use super::sanitizer::{Refused, Sanitizer};
use super::shared_mem::SharedMem;
use crate::dma::DmaView;

/// Chunk for checksumming BAR2 without allocating the whole range.
const CSUM_CHUNK: usize = 4096;

/// One COPY_CTRL doorbell's request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CopyRequest {
    /// COPY_CTRL as written.
    pub ctrl: u32,
    pub bar_off: u64,
    pub len: u64,
    pub host: u64,
}

impl CopyRequest {
    /// The host buffer the card is handed for the copy (§16).
    pub(crate) fn host_span(&self) -> Span {
        Span::new(self.host, self.len)
    }

    /// Checks the operation and the BAR2 range (§11): an error to latch, or
    /// the operation to run.
    pub(crate) fn check(&self, bar2_size: u64) -> Result<u32, Refused> {
        let op = self.ctrl & COPY_OP_MASK;
        if op > COPY_OP_CHECKSUM {
            return Err(Refused::code(ERR_BAD_COPY_OP, u64::from(self.ctrl)));
        }
        // bar_off and len come from u32 registers: the sum cannot overflow.
        if self.bar_off + self.len > bar2_size {
            return Err(Refused::code(ERR_COPY_RANGE, self.bar_off));
        }
        Ok(op)
    }
}

/// A trace line of a copy (SPEC §15.1), with the bytes moved.
pub(crate) enum CopyLine {
    /// The card read BAR2 (the guest may have written it through its mapping).
    Bar2 { off: u64, bytes: Vec<u8> },
    /// A DMA the copy engine made.
    Dma {
        write: bool,
        addr: u64,
        bytes: Vec<u8>,
    },
}

/// What a copy did.
pub(crate) struct CopyDone {
    /// The checksum (COPY_RESULT) for a checksum, `None` for a copy; or
    /// the error to latch.
    pub result: Result<Option<u64>, Refused>,
    /// Trace lines, in order (only when tracing).
    pub lines: Vec<CopyLine>,
}

/// Runs checked operation `op` of `req`. The host buffer must be handed
/// to the card in `san` for the copy's length.
pub(crate) fn run(
    op: u32,
    req: &CopyRequest,
    view: &DmaView,
    bar2: &SharedMem,
    san: &Sanitizer,
    tracing: bool,
) -> CopyDone {
    let mut lines = Vec::new();
    let (off, len, host) = (req.bar_off, req.len, req.host);
    let result = match op {
        COPY_OP_TO_HOST => copy_with_host(view, bar2, san, off, len, host, true).map(|()| {
            if tracing {
                lines.push(bar2_line(bar2, off, len));
                lines.push(dma_line(view, true, host, len));
            }
            None
        }),
        COPY_OP_FROM_HOST => copy_with_host(view, bar2, san, off, len, host, false).map(|()| {
            if tracing {
                lines.push(dma_line(view, false, host, len));
            }
            None
        }),
        _ => {
            if tracing {
                lines.push(bar2_line(bar2, off, len));
            }
            Ok(Some(bar2_checksum(bar2, off, len)))
        }
    };
    CopyDone { result, lines }
}

/// Copies `len` bytes between BAR2 at `off` and host memory at `host`:
/// into host memory when `to_host` (a DMA write, which the sanitizer checks
/// first), out of it otherwise.
fn copy_with_host(
    view: &DmaView,
    bar2: &SharedMem,
    san: &Sanitizer,
    off: u64,
    len: u64,
    host: u64,
    to_host: bool,
) -> Result<(), Refused> {
    if to_host {
        san.check_write(view, host, len, "copy-engine", None)?;
    }
    view.for_each(host, len, to_host, |p, host_part| {
        if let Some(bar_part) = bar2.slice(off + p as u64, host_part.len() as u64) {
            if to_host {
                bar_part.copy_to_volatile_slice(host_part);
            } else {
                host_part.copy_to_volatile_slice(bar_part);
            }
        }
    })
    .map_err(|e| san.dma_error(&e))
}

/// The trace line of a DMA the copy engine made (bytes read back).
fn dma_line(view: &DmaView, write: bool, addr: u64, len: u64) -> CopyLine {
    let mut bytes = vec![0u8; len as usize];
    let _ = view.for_each(addr, len, false, |p, s| {
        s.copy_to(&mut bytes[p..p + s.len()]);
    });
    CopyLine::Dma { write, addr, bytes }
}

/// The trace line of BAR2 bytes the copy engine read (SPEC §15.1).
fn bar2_line(bar2: &SharedMem, off: u64, len: u64) -> CopyLine {
    let mut bytes = vec![0u8; len as usize];
    bar2.read(off, &mut bytes);
    CopyLine::Bar2 { off, bytes }
}

/// §5.4 checksum of BAR2[off..off+len] (range already checked), in chunks.
fn bar2_checksum(bar2: &SharedMem, off: u64, len: u64) -> u64 {
    let mut acc = 0u64;
    let mut buf = [0u8; CSUM_CHUNK];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(CSUM_CHUNK as u64) as usize;
        if !bar2.read(off + done, &mut buf[..n]) {
            break;
        }
        acc = acc.wrapping_add(weighted_sum(&buf[..n], done / 8));
        done += n as u64;
    }
    checksum_finish(acc, len)
}
