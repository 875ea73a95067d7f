//! Fault plans (SPEC §14): what goes wrong and when.
//!
//! A fault is a kind, a trigger (virtual time or record number) and a few
//! arguments. Plans come from a plan file (`--fault-plan`), `--fault`
//! arguments (one line each) or the debug window (§14.4); the card model
//! (`model/fault.rs`) fires and applies them. This module only describes
//! and parses them, so it has no dependency on the model.
//!
//! Line format (SPEC §14.2): `KIND [at=TIME | rec=N] [count=N] [key=value...]`,
//! `#` starts a comment.

mod parse;

use std::fmt;

use cardless_abi::regs::*;

pub use parse::{number as parse_number, PlanError};

/// What goes wrong (SPEC §14.1). The discriminants are the `FAULT_*` codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// Interrupt messages not sent.
    DropIrq,
    /// Interrupt messages sent twice.
    DupIrq,
    /// Interrupt messages held for some virtual time.
    DelayIrq,
    /// A payload byte of a record flipped after the write.
    CorruptPayload,
    /// A header byte of a record flipped after the write.
    CorruptHeader,
    /// The engine stops producing while it reads as running.
    Stall,
    /// Ends a stall.
    Resume,
    /// A record written outside its slot.
    StrayWrite,
    /// The card disappears.
    SurpriseRemoval,
    /// The link goes down.
    LinkDown,
    /// The link comes back.
    LinkUp,
    /// Status block write-backs lost.
    StatusLost,
}

/// Every kind, in code order.
pub const ALL_KINDS: [FaultKind; 12] = [
    FaultKind::DropIrq,
    FaultKind::DupIrq,
    FaultKind::DelayIrq,
    FaultKind::CorruptPayload,
    FaultKind::CorruptHeader,
    FaultKind::Stall,
    FaultKind::Resume,
    FaultKind::StrayWrite,
    FaultKind::SurpriseRemoval,
    FaultKind::LinkDown,
    FaultKind::LinkUp,
    FaultKind::StatusLost,
];

impl FaultKind {
    /// The `FAULT_*` code (DBG_KIND).
    pub fn code(self) -> u32 {
        match self {
            FaultKind::DropIrq => FAULT_DROP_IRQ,
            FaultKind::DupIrq => FAULT_DUP_IRQ,
            FaultKind::DelayIrq => FAULT_DELAY_IRQ,
            FaultKind::CorruptPayload => FAULT_CORRUPT_PAYLOAD,
            FaultKind::CorruptHeader => FAULT_CORRUPT_HEADER,
            FaultKind::Stall => FAULT_STALL,
            FaultKind::Resume => FAULT_RESUME,
            FaultKind::StrayWrite => FAULT_STRAY_WRITE,
            FaultKind::SurpriseRemoval => FAULT_SURPRISE_REMOVAL,
            FaultKind::LinkDown => FAULT_LINK_DOWN,
            FaultKind::LinkUp => FAULT_LINK_UP,
            FaultKind::StatusLost => FAULT_STATUS_LOST,
        }
    }

    /// The kind of a `FAULT_*` code.
    pub fn from_code(code: u32) -> Option<Self> {
        ALL_KINDS.into_iter().find(|k| k.code() == code)
    }

    /// The name used in plan files and traces.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::DropIrq => "drop-irq",
            FaultKind::DupIrq => "dup-irq",
            FaultKind::DelayIrq => "delay-irq",
            FaultKind::CorruptPayload => "corrupt-payload",
            FaultKind::CorruptHeader => "corrupt-header",
            FaultKind::Stall => "stall",
            FaultKind::Resume => "resume",
            FaultKind::StrayWrite => "stray-write",
            FaultKind::SurpriseRemoval => "surprise-removal",
            FaultKind::LinkDown => "link-down",
            FaultKind::LinkUp => "link-up",
            FaultKind::StatusLost => "status-lost",
        }
    }

    /// The kind called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        ALL_KINDS.into_iter().find(|k| k.name() == name)
    }

    /// Acts on interrupt messages (`count`, `cause`).
    pub fn is_irq(self) -> bool {
        matches!(
            self,
            FaultKind::DropIrq | FaultKind::DupIrq | FaultKind::DelayIrq
        )
    }

    /// Acts on records (`count`).
    pub fn is_record(self) -> bool {
        matches!(
            self,
            FaultKind::CorruptPayload | FaultKind::CorruptHeader | FaultKind::StrayWrite
        )
    }

    /// Acts on status block write-backs (`count`).
    pub fn is_status(self) -> bool {
        self == FaultKind::StatusLost
    }

    /// Takes a `count`: acts on the next `count` messages, records or
    /// write-backs.
    pub fn is_counted(self) -> bool {
        self.is_irq() || self.is_record() || self.is_status()
    }

    /// The plan-file key naming `Fault::arg` for this kind, if it has one.
    pub fn arg_key(self) -> Option<&'static str> {
        match self {
            FaultKind::DelayIrq | FaultKind::Stall | FaultKind::LinkDown => Some("ns"),
            FaultKind::CorruptPayload | FaultKind::CorruptHeader => Some("byte"),
            FaultKind::StrayWrite => Some("addr"),
            _ => None,
        }
    }
}

/// When a scheduled fault fires (SPEC §14.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// At the first check point where VTIME >= this many ns.
    At(u64),
    /// At the first check point where CNT_PRODUCED (64-bit) >= this record number.
    Record(u64),
}

/// One scheduled fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// What goes wrong.
    pub kind: FaultKind,
    /// When.
    pub trigger: Trigger,
    /// Messages, records or write-backs hit (counted kinds), at least 1.
    pub count: u32,
    /// ns (delay-irq, stall, link-down), byte offset (corrupt-*), IOVA (stray-write).
    pub arg: u64,
    /// Cause filter (irq kinds, 0 = any) or XOR mask 1..=255 (corrupt-*).
    pub arg2: u32,
}

impl Fault {
    /// A fault of `kind` at VTIME 0 with default arguments.
    pub fn new(kind: FaultKind) -> Self {
        let arg = match kind {
            FaultKind::CorruptHeader => DEFAULT_HEADER_BYTE,
            _ => 0,
        };
        let arg2 = match kind {
            FaultKind::CorruptPayload | FaultKind::CorruptHeader => 0xff,
            _ => 0,
        };
        Fault {
            kind,
            trigger: Trigger::At(0),
            count: 1,
            arg,
            arg2,
        }
    }

    /// Checks the arguments (SPEC §14.1): header byte < 40, XOR mask
    /// 1..=255, cause filter 0 or one defined cause, count >= 1.
    pub fn validate(&self) -> Result<(), String> {
        if self.count == 0 {
            return Err("count must be at least 1".into());
        }
        match self.kind {
            FaultKind::CorruptHeader if self.arg >= HEADER_BYTES => Err(format!(
                "byte={} is outside the {HEADER_BYTES}-byte record header",
                self.arg
            )),
            FaultKind::CorruptPayload | FaultKind::CorruptHeader
                if !(1..=0xff).contains(&self.arg2) =>
            {
                Err(format!("xor={:#x} must be in 0x1..=0xff", self.arg2))
            }
            k if k.is_irq() && self.arg2 != 0 && int_vector(self.arg2).is_none() => Err(format!(
                "cause={:#x} is not one interrupt cause (data-ready, error, copy-done, overflow or any)",
                self.arg2
            )),
            _ => Ok(()),
        }
    }
}

/// Header byte a `corrupt-header` flips by default: the low byte of `seq`.
pub const DEFAULT_HEADER_BYTE: u64 = 8;
const HEADER_BYTES: u64 = cardless_abi::record::RECORD_HEADER_SIZE as u64;

/// Name of an interrupt cause filter in plan files.
pub fn cause_name(cause: u32) -> &'static str {
    match cause {
        0 => "any",
        INT_DATA_READY => "data-ready",
        INT_ERROR => "error",
        INT_COPY_DONE => "copy-done",
        INT_OVERFLOW => "overflow",
        _ => "invalid",
    }
}

/// Canonical line form: parses back to the same fault.
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind.name())?;
        match self.trigger {
            Trigger::At(t) => write!(f, " at={t}")?,
            Trigger::Record(n) => write!(f, " rec={n}")?,
        }
        if self.kind.is_counted() {
            write!(f, " count={}", self.count)?;
        }
        match self.kind.arg_key() {
            Some("addr") => write!(f, " addr={:#x}", self.arg)?,
            Some(key) => write!(f, " {key}={}", self.arg)?,
            None => {}
        }
        if self.kind.is_irq() {
            write!(f, " cause={}", cause_name(self.arg2))?;
        }
        if matches!(
            self.kind,
            FaultKind::CorruptPayload | FaultKind::CorruptHeader
        ) {
            write!(f, " xor={:#x}", self.arg2)?;
        }
        Ok(())
    }
}

/// An ordered list of faults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// In the order given; ties fire in this order.
    pub faults: Vec<Fault>,
}

impl FaultPlan {
    /// Parses a plan file's text (one fault a line, `#` comments).
    pub fn parse(text: &str) -> Result<Self, PlanError> {
        let mut faults = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if let Some(f) = parse::line(line).map_err(|msg| PlanError { line: i + 1, msg })? {
                faults.push(f);
            }
        }
        let plan = FaultPlan { faults };
        plan.check_size()?;
        Ok(plan)
    }

    /// Parses one `--fault` argument.
    pub fn parse_one(spec: &str) -> Result<Fault, String> {
        parse::line(spec)?.ok_or_else(|| "empty fault (expected e.g. 'drop-irq rec=3')".into())
    }

    /// Appends `other`'s faults.
    pub fn extend(&mut self, other: FaultPlan) -> Result<(), PlanError> {
        self.faults.extend(other.faults);
        self.check_size()
    }

    fn check_size(&self) -> Result<(), PlanError> {
        if self.faults.len() > MAX_SCHEDULED_FAULTS as usize {
            return Err(PlanError {
                line: 0,
                msg: format!(
                    "{} faults: at most {MAX_SCHEDULED_FAULTS} can be scheduled",
                    self.faults.len()
                ),
            });
        }
        Ok(())
    }

    /// The canonical lines (for the trace's `start` line).
    pub fn lines(&self) -> Vec<String> {
        self.faults.iter().map(ToString::to_string).collect()
    }
}

#[cfg(test)]
mod tests;
