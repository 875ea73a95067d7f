//! The DMA sanitizer (SPEC §16): every DMA write the card makes must land in
//! a range the driver handed to the card and has not taken back. A write
//! outside is refused (`ERR_DMA_STRAY`), and every refusal — stray writes,
//! DMA to unmapped IOVAs, rings refused at enable — is explained: which
//! range, which handed range it missed, and which guest action (trace event)
//! or fault caused it. Findings go to the trace (`sanitizer` lines), the log
//! and [`SanitizerReport`]s.

use std::collections::VecDeque;

use cardless_abi::regs::*;

use super::owner::{Cause, Ownership, What};
use super::state::State;
use crate::dma::{DmaError, DmaView};

/// Findings kept for [`super::Card::sanitizer_reports`].
const MAX_REPORTS: usize = 64;

/// One sanitizer finding, as the trace's `sanitizer` line has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SanitizerReport {
    /// `stray`, `unmapped`, `overlap` or `sg-unmapped` (SPEC §16.3).
    pub check: &'static str,
    /// First IOVA concerned.
    pub addr: u64,
    /// Bytes concerned.
    pub len: u64,
    /// Trace event number of the guest action or fault behind it, if traced.
    pub cause: Option<u64>,
    /// The explanation.
    pub message: String,
}

/// A finding before it is reported.
pub(crate) struct Finding {
    pub check: &'static str,
    pub addr: u64,
    pub len: u64,
    pub cause: Option<Cause>,
    pub msg: String,
}

/// An error to latch (SPEC §10) and, for the sanitizer's cases, why.
pub(crate) struct Refused {
    pub code: u32,
    pub addr: u64,
    /// Boxed: refusals travel in `Result`s on the record path.
    pub finding: Option<Box<Finding>>,
}

impl Refused {
    /// A plain error code without a finding.
    pub(crate) fn code(code: u32, addr: u64) -> Refused {
        Refused {
            code,
            addr,
            finding: None,
        }
    }
}

/// The sanitizer's state in the card.
#[derive(Default)]
pub(crate) struct Sanitizer {
    pub own: Ownership,
    /// The guest action being handled (or the last one).
    pub during: Cause,
    actions: u64,
    reports: VecDeque<SanitizerReport>,
}

impl Sanitizer {
    /// Checks a DMA write of `len` bytes at `iova`: mapped writable first
    /// (SPEC §10 codes), then handed (§16). `dma` names the write for the
    /// report; `cause` is the fault behind it, if any.
    pub(crate) fn check_write(
        &self,
        view: &DmaView,
        iova: u64,
        len: u64,
        dma: &str,
        cause: Option<Cause>,
    ) -> Result<(), Refused> {
        view.check(iova, len, true)
            .map_err(|e| self.dma_error(&e))?;
        self.check_handed(iova, len, dma, cause)
    }

    /// The ownership half of [`Self::check_write`].
    pub(crate) fn check_handed(
        &self,
        iova: u64,
        len: u64,
        dma: &str,
        cause: Option<Cause>,
    ) -> Result<(), Refused> {
        if len == 0 || self.own.covers(iova, len) {
            return Ok(());
        }
        let by = cause.unwrap_or(self.during);
        let msg = format!(
            "{dma}: DMA write of {len:#x} bytes at {iova:#x} is outside every range the driver \
             handed to the card: {}; caused by {by}; nothing was written",
            self.own.explain_miss(iova, len)
        );
        Err(Refused {
            code: ERR_DMA_STRAY,
            addr: iova,
            finding: Some(Box::new(Finding {
                check: "stray",
                addr: iova,
                len,
                cause: Some(by),
                msg,
            })),
        })
    }

    /// A failed DMA as an error; an access to an unmapped IOVA says which
    /// DMA_UNMAP took it away, or that it never was mapped.
    pub(crate) fn dma_error(&self, e: &DmaError) -> Refused {
        let (code, addr) = e.fault();
        let DmaError::Unmapped { iova } = *e else {
            return Refused::code(code, addr);
        };
        let (cause, msg) = match self.own.unmap_of(iova) {
            Some((span, unmap)) => {
                let took = match self.own.revoked_at(iova) {
                    Some((what, _)) => format!(
                        "took away {what} while the card still used it: the driver freed \
                         it without stopping the card"
                    ),
                    None => format!("removed {span}"),
                };
                (
                    Some(unmap),
                    format!(
                        "DMA to {iova:#x} during {}: unmapped since {unmap}, which {took}",
                        self.during
                    ),
                )
            }
            None => (
                None,
                format!(
                    "DMA to {iova:#x} during {}: never mapped (no DMA_UNMAP the card saw \
                     covered it)",
                    self.during
                ),
            ),
        };
        Refused {
            code,
            addr,
            finding: Some(Box::new(Finding {
                check: "unmapped",
                addr: iova,
                len: 1,
                cause,
                msg,
            })),
        }
    }
}

impl State {
    /// A guest or VMM action arrives (its trace line, if any, is written):
    /// it is what later findings name as their cause.
    pub(crate) fn note_action(&mut self, what: What) {
        self.san.actions += 1;
        let event = match what {
            // A read's line comes after the read (SPEC §12).
            What::Read { .. } => None,
            _ => self.trace.as_ref().map(|t| t.last_event()),
        };
        self.san.during = Cause {
            what,
            action: self.san.actions,
            event,
            t: self.clock.now(),
        };
    }

    /// A fault that just fired (its `fire` line is the last traced).
    pub(crate) fn fault_cause(&self, kind: crate::fault::FaultKind) -> Cause {
        Cause {
            what: What::Fault(kind),
            event: self.trace.as_ref().map(|t| t.last_event()),
            t: self.clock.now(),
            ..self.san.during
        }
    }

    /// Traces, logs and keeps a finding.
    pub(crate) fn report(&mut self, f: Finding) {
        let t = self.clock.now();
        let cause = f.cause.and_then(|c| c.event);
        if let Some(tr) = self.trace.as_mut() {
            tr.sanitizer(t, f.check, f.addr, f.len, cause, &f.msg);
        }
        log::warn!("DMA sanitizer ({}): {}", f.check, f.msg);
        let r = &mut self.san.reports;
        if r.len() == MAX_REPORTS {
            r.pop_front();
        }
        r.push_back(SanitizerReport {
            check: f.check,
            addr: f.addr,
            len: f.len,
            cause,
            message: f.msg,
        });
    }

    /// The findings so far, oldest first (at most the last 64).
    pub(crate) fn sanitizer_reports(&self) -> Vec<SanitizerReport> {
        self.san.reports.iter().cloned().collect()
    }

    /// §10 for a refusal: count, latch, stop, report the finding, raise ERROR.
    pub(crate) fn fail_refused(&mut self, ctx: &super::state::Ctx, view: &DmaView, r: Refused) {
        self.fail_quiet(r.code, r.addr);
        if let Some(f) = r.finding {
            self.report(*f);
        }
        self.raise_error(ctx, view);
    }

    /// `fail_quiet` plus the report, for paths that raise ERROR themselves.
    pub(crate) fn fail_refused_quiet(&mut self, r: Refused) {
        self.fail_quiet(r.code, r.addr);
        if let Some(f) = r.finding {
            self.report(*f);
        }
    }
}
