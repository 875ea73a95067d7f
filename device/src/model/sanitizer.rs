//! The DMA sanitizer (SPEC §16): every DMA write the card makes must land in
//! a range the driver handed to the card and has not taken back. A write
//! outside is refused (`ERR_DMA_STRAY`), and every refusal — stray writes,
//! DMA to unmapped IOVAs, rings refused at enable — is explained: which
//! range, which handed range it missed, and which guest action (trace event)
//! or fault caused it. The register file traces and logs each finding
//! (`sanitizer` lines); the last ones are kept as [`SanitizerReport`]s.

use std::collections::VecDeque;

use cardless_abi::regs::*;

use super::owner::{Cause, Ownership, Role, Span, What};
use crate::dma::{DmaError, DmaView};
use crate::fault::FaultKind;

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
#[derive(Debug)]
pub(crate) struct Finding {
    pub check: &'static str,
    pub addr: u64,
    pub len: u64,
    pub cause: Option<Cause>,
    pub msg: String,
}

/// An error to latch (SPEC §10) and, for the sanitizer's cases, why.
#[derive(Debug)]
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
    /// What the driver handed to the card and took back.
    own: Ownership,
    /// The guest action being handled (or the last one).
    during: Cause,
    actions: u64,
    reports: VecDeque<SanitizerReport>,
}

impl Sanitizer {
    /// A guest or VMM action arrives: it is what later findings name as
    /// their cause. `event` is its trace line's number, if it has one yet
    /// (a read's line comes after the read, SPEC §12).
    pub(crate) fn note_action(&mut self, what: What, event: Option<u64>, now: u64) {
        self.actions += 1;
        self.during = Cause {
            what,
            action: self.actions,
            event,
            t: now,
        };
    }

    /// The guest action being handled (or the last one).
    pub(crate) fn during(&self) -> Cause {
        self.during
    }

    /// The cause of a fault that just fired: its `fire` line is trace
    /// event `event`.
    pub(crate) fn fault_cause(&self, kind: FaultKind, event: Option<u64>, now: u64) -> Cause {
        Cause {
            what: What::Fault(kind),
            event,
            t: now,
            ..self.during
        }
    }

    /// Keeps a finding (the last [`MAX_REPORTS`]) and returns it as reported.
    pub(crate) fn keep(&mut self, f: Finding) -> &SanitizerReport {
        if self.reports.len() == MAX_REPORTS {
            self.reports.pop_front();
        }
        self.reports.push_back(SanitizerReport {
            check: f.check,
            addr: f.addr,
            len: f.len,
            cause: f.cause.and_then(|c| c.event),
            message: f.msg,
        });
        self.reports.back().expect("just pushed")
    }

    /// The findings so far, oldest first (at most the last 64).
    pub(crate) fn reports(&self) -> Vec<SanitizerReport> {
        self.reports.iter().cloned().collect()
    }

    /// Hands `spans` (each with its SG page index) to the card as `role`,
    /// by the current action.
    pub(crate) fn hand(
        &mut self,
        role: Role,
        spans: impl IntoIterator<Item = (Span, Option<u32>)>,
    ) {
        self.own.hand(role, spans, self.during);
    }

    /// Records the SG page table the ring was read from.
    pub(crate) fn hand_table(&mut self, span: Span) {
        self.own.hand_table(span, self.during);
    }

    /// The copy engine's host buffer, for the length of one copy.
    pub(crate) fn hand_copy(&mut self, span: Option<Span>) {
        self.own.hand_copy(span, self.during);
    }

    /// The card gives `role` back.
    pub(crate) fn take_back(&mut self, role: Role) {
        self.own.take_back(role);
    }

    /// Whether anything of `role` is handed.
    pub(crate) fn holds(&self, role: Role) -> bool {
        self.own.holds(role)
    }

    /// A handed range or the SG table that `w` overlaps, if any.
    pub(crate) fn clash(&self, w: Span) -> Option<(Role, Span)> {
        self.own.clash(w)
    }

    /// Whether a write of `[iova, iova + len)` stays inside what is handed.
    pub(crate) fn covers(&self, iova: u64, len: u64) -> bool {
        self.own.covers(iova, len)
    }

    /// A DMA_UNMAP of `span` by the current action takes away what lies under it.
    pub(crate) fn unmapped(&mut self, span: Span) {
        self.own.unmapped(span, self.during);
    }

    /// Reset (SPEC §9): nothing is handed any more.
    pub(crate) fn reset(&mut self) {
        self.own.reset();
    }

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

/// What findings name as their cause (`cargo mutants` survivors,
/// device/MUTANTS.md).
#[cfg(test)]
mod cause_tests;

/// What is handed: the SG table, nothing after a reset (`cargo mutants`
/// survivors, device/MUTANTS.md).
#[cfg(test)]
mod handed_tests;
