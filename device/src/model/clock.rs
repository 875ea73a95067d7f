//! The card's clock (VTIME, SPEC §8): a counter moved only by the guest in
//! deterministic mode, wall-clock ns since reset otherwise.

use std::time::Instant;

pub(crate) enum Clock {
    /// Deterministic mode: advanced by STEP / STEP_NS only.
    Virtual { ns: u64 },
    /// Free-running mode: wall time since `base`.
    Wall { base: Instant },
}

impl Clock {
    pub(crate) fn new(deterministic: bool) -> Self {
        if deterministic {
            Clock::Virtual { ns: 0 }
        } else {
            Clock::Wall {
                base: Instant::now(),
            }
        }
    }

    /// Current VTIME in ns.
    pub(crate) fn now(&self) -> u64 {
        match self {
            Clock::Virtual { ns } => *ns,
            Clock::Wall { base } => u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX),
        }
    }

    /// Moves a virtual clock forward (saturating); a wall clock ignores it.
    pub(crate) fn advance(&mut self, by: u64) {
        if let Clock::Virtual { ns } = self {
            *ns = ns.saturating_add(by);
        }
    }

    /// Back to 0.
    pub(crate) fn reset(&mut self) {
        *self = Clock::new(self.is_virtual());
    }

    pub(crate) fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual { .. })
    }

    /// The wall instant at which VTIME will read `t` (free-running timers).
    pub(crate) fn instant_at(&self, t: u64) -> Option<Instant> {
        match self {
            Clock::Virtual { .. } => None,
            Clock::Wall { base } => base.checked_add(std::time::Duration::from_nanos(t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC §8: the virtual clock moves only when told, saturates, resets to 0.
    #[test]
    fn virtual_clock() {
        let mut c = Clock::new(true);
        assert_eq!(c.now(), 0);
        c.advance(5);
        c.advance(u64::MAX);
        assert_eq!(c.now(), u64::MAX);
        c.reset();
        assert_eq!(c.now(), 0);
        assert!(c.instant_at(10).is_none());
        let mut w = Clock::new(false);
        w.advance(1 << 40);
        assert!(w.now() < 1 << 40);
    }
}
