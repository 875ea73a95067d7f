//! The free-running engine thread (SPEC §6.5): produces records on its own
//! schedule while enabled, sleeps on the condvar otherwise (an idle card
//! burns no CPU). Not started in deterministic mode.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::engine::Wait;
use super::inner::Inner;

pub(super) fn run(inner: &Inner) {
    let ctx = inner.ctx();
    let mut st = inner.lock();
    loop {
        if st.is_shut_down() {
            return;
        }
        let kick = st.kick();
        match st.free_run_tick(&ctx) {
            Wait::Now => {
                drop(st);
                // Let a waiting guest access in between batches.
                while inner.waiters.load(Ordering::Acquire) > 0 {
                    std::thread::yield_now();
                }
                st = inner.lock();
            }
            // A kick during the tick (our own CONS_IDX-free signals don't
            // count) means the plan is stale: go round again.
            _ if st.kick() != kick => {}
            Wait::Until(t) => {
                let d = t.saturating_duration_since(Instant::now());
                st = inner
                    .cv
                    .wait_timeout(st, d)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            Wait::Forever => {
                st = inner.cv.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}

/// A ring longer than one batch (`cargo mutants` survivors,
/// device/MUTANTS.md).
#[cfg(test)]
mod batch_tests;
