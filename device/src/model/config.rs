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

#[cfg(test)]
mod tests {
    use super::*;

    /// The command line's BAR2 and record sizes are checked one by one:
    /// each rule refuses on its own, with a message naming the rule.
    #[test]
    fn bad_sizes_are_refused_each_for_its_own_reason() {
        let ok = CardConfig::default();
        ok.validate().unwrap();
        let bar2 = |bar2_size| CardConfig {
            bar2_size,
            ..CardConfig::default()
        };
        let rec = |record_size| CardConfig {
            record_size,
            ..CardConfig::default()
        };
        for (cfg, what) in [
            (bar2(3 << 20), "power of two"),
            (bar2(BAR2_MIN_SIZE / 2), "power of two"),
            (bar2(BAR2_MAX_SIZE * 2), "power of two"),
            (rec(MIN_RECORD_SIZE + 4), "multiple of"),
            (rec(MIN_RECORD_SIZE - RECORD_ALIGN), "multiple of"),
            (rec(MAX_RECORD_SIZE + RECORD_ALIGN), "multiple of"),
        ] {
            let e = cfg.validate().expect_err(what);
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
            assert!(e.to_string().contains(what), "{e}");
        }
        for cfg in [
            bar2(BAR2_MIN_SIZE),
            bar2(BAR2_MAX_SIZE),
            rec(MIN_RECORD_SIZE),
            rec(MAX_RECORD_SIZE),
        ] {
            cfg.validate().unwrap();
        }
    }

    /// RATE's reset value: unlimited is 0, and a rate past u32 saturates.
    #[test]
    fn defaults_from_the_command_line() {
        let d = Defaults::from_config(&CardConfig {
            rate: Some(u64::MAX),
            seed: 9,
            ..CardConfig::default()
        });
        assert_eq!((d.rate, d.seed), (u32::MAX, 9));
        assert_eq!(Defaults::from_config(&CardConfig::default()).rate, 0);
        let d = Defaults::from_config(&CardConfig {
            rate: Some(1234),
            ..CardConfig::default()
        });
        assert_eq!(d.rate, 1234);
    }
}
