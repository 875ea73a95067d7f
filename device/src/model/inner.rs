//! What the transport thread and the engine thread share: the card's state
//! behind its mutex, the condvar that wakes the engine thread, and what the
//! state needs from outside the lock.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::irq::IrqSink;
use super::shared_mem::SharedMem;
use super::state::{Ctx, State};
use crate::dma::DmaSpace;

pub(crate) struct Inner {
    pub state: Mutex<State>,
    /// Wakes the engine thread (enable, CONS_IDX, RATE, reset, shutdown).
    pub cv: Condvar,
    pub bar2: SharedMem,
    pub dma: Arc<DmaSpace>,
    pub irq: Arc<dyn IrqSink>,
    /// `INT_STATUS & INT_MASK`, for lock-free `irq_pending`.
    pub pending: AtomicU32,
    /// Guest-side callers waiting for the lock; the engine thread yields to them.
    pub waiters: AtomicU32,
}

impl Inner {
    pub(crate) fn ctx(&self) -> Ctx<'_> {
        Ctx {
            dma: &self.dma,
            irq: &*self.irq,
            bar2: &self.bar2,
            pending: &self.pending,
        }
    }

    /// The lock, taken on behalf of the guest (the engine thread lets it in).
    fn lock_for_guest(&self) -> MutexGuard<'_, State> {
        self.waiters.fetch_add(1, Ordering::AcqRel);
        let g = self.lock();
        self.waiters.fetch_sub(1, Ordering::AcqRel);
        g
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take the card down with poisoning.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the state, then wakes the engine thread if it must re-plan.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State, &Ctx) -> R) -> R {
        let ctx = self.ctx();
        let mut st = self.lock_for_guest();
        let kick = st.kick();
        let r = f(&mut st, &ctx);
        if st.kick() != kick {
            self.cv.notify_all();
        }
        r
    }
}
