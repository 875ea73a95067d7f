//! The plan line parser (SPEC §14.2). Every error says which key or value
//! is wrong and what would be accepted.

use std::fmt;

use cardless_abi::regs::*;

use super::{Fault, FaultKind, Trigger, ALL_KINDS};

/// A plan file error: line number (1-based; 0 = the plan as a whole) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// 1-based line, 0 for the whole plan.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "fault plan: {}", self.msg)
        } else {
            write!(f, "fault plan line {}: {}", self.line, self.msg)
        }
    }
}

impl std::error::Error for PlanError {}

/// A number: decimal, or hex with `0x`; `_` separators allowed.
pub fn number(text: &str) -> Result<u64, String> {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let parsed = match clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => clean.parse::<u64>(),
    };
    parsed.map_err(|_| format!("'{text}' is not a number (decimal or 0x hex)"))
}

/// A virtual duration or time: a number with an optional unit ns, us, ms, s.
fn duration(text: &str) -> Result<u64, String> {
    let (digits, scale) = [
        ("ns", 1),
        ("us", 1_000),
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
    ]
    .into_iter()
    .find_map(|(unit, scale)| text.strip_suffix(unit).map(|d| (d, scale)))
    .unwrap_or((text, 1));
    number(digits)?
        .checked_mul(scale)
        .ok_or_else(|| format!("'{text}' is too large"))
}

fn cause(text: &str) -> Result<u32, String> {
    Ok(match text {
        "any" => 0,
        "data-ready" => INT_DATA_READY,
        "error" => INT_ERROR,
        "copy-done" => INT_COPY_DONE,
        "overflow" => INT_OVERFLOW,
        _ => {
            return Err(format!(
                "cause '{text}' unknown: use data-ready, error, copy-done, overflow or any"
            ))
        }
    })
}

/// Parses one line; `Ok(None)` for a blank or comment line.
pub(crate) fn line(text: &str) -> Result<Option<Fault>, String> {
    let text = text.split('#').next().unwrap_or("").trim();
    let mut words = text.split_whitespace();
    let Some(name) = words.next() else {
        return Ok(None);
    };
    let kind = FaultKind::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = ALL_KINDS.iter().map(|k| k.name()).collect();
        format!("unknown fault '{name}': one of {}", names.join(", "))
    })?;
    let mut fault = Fault::new(kind);
    let mut have_trigger = false;
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("'{word}' is not key=value"))?;
        let allowed = allowed_keys(kind);
        if !allowed.contains(&key) {
            return Err(format!(
                "{} takes no '{key}' (it takes: {})",
                kind.name(),
                allowed.join(", ")
            ));
        }
        match key {
            "at" | "rec" if have_trigger => {
                return Err("give one trigger: at=TIME or rec=N, not both".into())
            }
            "at" => {
                fault.trigger = Trigger::At(duration(value)?);
                have_trigger = true;
            }
            "rec" => {
                fault.trigger = Trigger::Record(number(value)?);
                have_trigger = true;
            }
            "count" => {
                fault.count = u32::try_from(number(value)?)
                    .map_err(|_| format!("count={value} does not fit 32 bits"))?;
            }
            "ns" => fault.arg = duration(value)?,
            "byte" | "addr" => fault.arg = number(value)?,
            "cause" => fault.arg2 = cause(value)?,
            "xor" => {
                fault.arg2 = u32::try_from(number(value)?)
                    .map_err(|_| format!("xor={value} must be in 0x1..=0xff"))?;
            }
            other => return Err(format!("key '{other}' is not handled")),
        }
    }
    fault.validate()?;
    Ok(Some(fault))
}

/// Keys a kind accepts.
fn allowed_keys(kind: FaultKind) -> Vec<&'static str> {
    let mut keys = vec!["at", "rec"];
    if kind.is_counted() {
        keys.push("count");
    }
    if let Some(k) = kind.arg_key() {
        keys.push(k);
    }
    if kind.is_irq() {
        keys.push("cause");
    }
    if matches!(kind, FaultKind::CorruptPayload | FaultKind::CorruptHeader) {
        keys.push("xor");
    }
    keys
}
