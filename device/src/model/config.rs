//! How a card is built (the device's command line) and the reset values
//! that come from it.

use std::io;
use std::path::PathBuf;

use cardless_abi::regs::{
    BAR2_DEFAULT_SIZE, BAR2_MAX_SIZE, BAR2_MIN_SIZE, DEFAULT_RECORD_SIZE, MAX_RECORD_SIZE,
    MIN_RECORD_SIZE, RECORD_ALIGN,
};

use crate::fault::FaultPlan;

/// How the card is built (the device's command line).
#[derive(Clone, Debug)]
pub struct CardConfig {
    /// Reset value of SEED (payload PRNG, SPEC §5.2).
    pub seed: u64,
    /// BAR2 size in bytes: a power of two in 4 KiB..=1 GiB.
    pub bar2_size: u64,
    /// Reset value of RATE in records/s; `None` = unlimited (SPEC §6.5).
    pub rate: Option<u64>,
    /// Deterministic mode (SPEC §8): no engine thread, records only on STEP.
    pub deterministic: bool,
    /// Trace file (SPEC §12).
    pub trace: Option<PathBuf>,
    /// Reset value of RECORD_SIZE.
    pub record_size: u32,
    /// Faults to inject (SPEC §14).
    pub faults: FaultPlan,
    /// Whether BAR0 has the fault-injection debug window (SPEC §14.4).
    pub debug_window: bool,
}

impl Default for CardConfig {
    fn default() -> Self {
        CardConfig {
            seed: 0,
            bar2_size: BAR2_DEFAULT_SIZE,
            rate: None,
            deterministic: false,
            trace: None,
            record_size: DEFAULT_RECORD_SIZE,
            faults: FaultPlan::default(),
            debug_window: false,
        }
    }
}

impl CardConfig {
    /// Rejects values the card cannot be built with.
    pub(crate) fn validate(&self) -> io::Result<()> {
        let bad = |m: String| Err(io::Error::new(io::ErrorKind::InvalidInput, m));
        let b = self.bar2_size;
        if !b.is_power_of_two() || !(BAR2_MIN_SIZE..=BAR2_MAX_SIZE).contains(&b) {
            return bad(format!(
                "BAR2 size {b:#x} must be a power of two in {BAR2_MIN_SIZE:#x}..={BAR2_MAX_SIZE:#x}"
            ));
        }
        let r = self.record_size;
        if !(MIN_RECORD_SIZE..=MAX_RECORD_SIZE).contains(&r) || !r.is_multiple_of(RECORD_ALIGN) {
            return bad(format!(
                "record size {r} must be a multiple of {RECORD_ALIGN} in {MIN_RECORD_SIZE}..={MAX_RECORD_SIZE}"
            ));
        }
        Ok(())
    }
}

/// Reset values that come from the command line.
#[derive(Clone, Copy)]
pub(crate) struct Defaults {
    pub seed: u64,
    pub rate: u32,
    pub record_size: u32,
    pub bar2_size: u64,
    pub deterministic: bool,
    pub debug_window: bool,
}

impl Defaults {
    pub(crate) fn from_config(cfg: &CardConfig) -> Self {
        Defaults {
            seed: cfg.seed,
            rate: cfg.rate.map_or(0, |r| u32::try_from(r).unwrap_or(u32::MAX)),
            record_size: cfg.record_size,
            bar2_size: cfg.bar2_size,
            deterministic: cfg.deterministic,
            debug_window: cfg.debug_window,
        }
    }
}
