//! The card model: registers, streaming engine, copy engine, interrupts,
//! clock and trace, behind one mutex. Transport-independent: a VMM-side
//! transport calls `bar_read`/`bar_write`/`reset` and gets interrupts through
//! an [`IrqSink`]. The behaviour is `device/SPEC.md`.

mod areas;
mod clock;
mod copy;
mod engine;
mod fault;
mod irq;
mod owner;
mod ring;
mod runner;
mod sanitizer;
mod shared_mem;
mod state;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use cardless_abi::regs::{
    BAR2_DEFAULT_SIZE, BAR2_MAX_SIZE, BAR2_MIN_SIZE, BAR_MEM, BAR_REGS, DEFAULT_RECORD_SIZE,
    MAX_RECORD_SIZE, MIN_RECORD_SIZE, RECORD_ALIGN,
};

pub use sanitizer::SanitizerReport;
pub use shared_mem::{sealed_memfd, SharedMem};

use crate::dma::{DmaError, DmaSpace};
use crate::fault::FaultPlan;
use crate::trace::Tracer;
use owner::{Span, What};
use state::{Ctx, State};

/// Where the card's interrupt messages go.
pub trait IrqSink: Send + Sync {
    /// One message (an edge) on MSI-X vector `vector` (SPEC §7). Called
    /// with the card's lock held: it must not call back into the [`Card`],
    /// except [`Card::irq_pending`], which takes no lock.
    fn raise(&self, vector: u16);
}

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
    fn validate(&self) -> io::Result<()> {
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

/// Everything the transport thread and the engine thread share.
pub(crate) struct Inner {
    state: Mutex<State>,
    /// Wakes the engine thread (enable, CONS_IDX, RATE, reset, shutdown).
    cv: Condvar,
    bar2: SharedMem,
    dma: Arc<DmaSpace>,
    irq: Arc<dyn IrqSink>,
    /// `INT_STATUS & INT_MASK`, for lock-free `irq_pending`.
    pending: AtomicU32,
    /// Guest-side callers waiting for the lock; the engine thread yields to them.
    waiters: AtomicU32,
}

impl Inner {
    fn ctx(&self) -> Ctx<'_> {
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

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take the card down with poisoning.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the state, then wakes the engine thread if it must re-plan.
    fn with<R>(&self, f: impl FnOnce(&mut State, &Ctx) -> R) -> R {
        let ctx = self.ctx();
        let mut st = self.lock_for_guest();
        let kick = st.kick;
        let r = f(&mut st, &ctx);
        if st.kick != kick {
            self.cv.notify_all();
        }
        r
    }
}

/// The emulated card.
pub struct Card {
    inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Card {
    /// Builds the card (and its BAR2 memory; and its engine thread unless deterministic).
    pub fn new(cfg: CardConfig, dma: Arc<DmaSpace>, irq: Arc<dyn IrqSink>) -> io::Result<Card> {
        cfg.validate()?;
        let trace = cfg.trace.as_deref().map(Tracer::create).transpose()?;
        Self::build(cfg, dma, irq, trace)
    }

    /// Like [`Card::new`], tracing to `tracer` instead of `cfg.trace`
    /// (replay, tests).
    pub fn with_tracer(
        cfg: CardConfig,
        dma: Arc<DmaSpace>,
        irq: Arc<dyn IrqSink>,
        tracer: Tracer,
    ) -> io::Result<Card> {
        cfg.validate()?;
        Self::build(cfg, dma, irq, Some(tracer))
    }

    fn build(
        cfg: CardConfig,
        dma: Arc<DmaSpace>,
        irq: Arc<dyn IrqSink>,
        trace: Option<Tracer>,
    ) -> io::Result<Card> {
        let bar2 = SharedMem::new(cfg.bar2_size)?;
        let inner = Arc::new(Inner {
            state: Mutex::new(State::new(&cfg, trace)),
            cv: Condvar::new(),
            bar2,
            dma,
            irq,
            pending: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
        });
        let thread = if cfg.deterministic {
            None
        } else {
            let i = inner.clone();
            Some(
                std::thread::Builder::new()
                    .name("cardless-engine".into())
                    .spawn(move || runner::run(&i))?,
            )
        };
        Ok(Card {
            inner,
            thread: Mutex::new(thread),
        })
    }

    /// The on-board memory behind BAR2.
    pub fn bar2(&self) -> &SharedMem {
        &self.inner.bar2
    }

    /// A trapped read of `data.len()` bytes at `offset` of PCI BAR `bar`.
    /// Never panics; holes and bad widths per SPEC §3, §4.1; all-ones
    /// while removed or the link is down (§14.3).
    pub fn bar_read(&self, bar: u8, offset: u64, data: &mut [u8]) {
        self.inner.with(|st, ctx| {
            st.note_action(What::Read { bar, off: offset });
            st.fault_tick(ctx);
            if st.faults.unreachable() && !st.faults.is_window(bar, offset) {
                data.fill(0xff);
                st.no_completion(ctx);
            } else {
                match bar {
                    BAR_REGS => st.bar0_read(offset, data),
                    BAR_MEM => {
                        if !ctx.bar2.read(offset, data) {
                            data.fill(0);
                            st.cnt.bad_access = st.cnt.bad_access.wrapping_add(1);
                        }
                    }
                    _ => data.fill(0),
                }
            }
            let t = st.clock.now();
            if let Some(tr) = st.trace.as_mut() {
                tr.mmio(t, false, bar, offset, data);
            }
        })
    }

    /// A trapped write of `data` at `offset` of PCI BAR `bar`.
    pub fn bar_write(&self, bar: u8, offset: u64, data: &[u8]) {
        self.inner.with(|st, ctx| {
            let t = st.clock.now();
            if let Some(tr) = st.trace.as_mut() {
                tr.mmio(t, true, bar, offset, data);
            }
            let mut val = [0u8; 8];
            let n = data.len().min(8);
            val[..n].copy_from_slice(&data[..n]);
            st.note_action(What::Write {
                bar,
                off: offset,
                val: u64::from_le_bytes(val),
            });
            st.fault_tick(ctx);
            if st.faults.unreachable() && !st.faults.is_window(bar, offset) {
                return st.no_completion(ctx);
            }
            match bar {
                BAR_REGS => st.bar0_write(ctx, offset, data),
                BAR_MEM if !ctx.bar2.write(offset, data) => {
                    st.cnt.bad_access = st.cnt.bad_access.wrapping_add(1);
                }
                _ => {}
            }
        })
    }

    /// Device reset (SPEC §9); also ends a surprise removal (§14.3).
    pub fn reset(&self) {
        self.inner.with(|st, ctx| {
            st.reset(ctx, true);
            st.note_action(What::VmmReset);
        })
    }

    /// DMA_MAP: maps `fd` at `iova` in the card's DMA space and traces it
    /// (SPEC §15.1). Under the card's lock, so the trace order is exact.
    pub fn dma_map(
        &self,
        iova: u64,
        size: u64,
        fd: std::os::fd::OwnedFd,
        file_offset: u64,
        writable: bool,
    ) -> Result<(), DmaError> {
        self.inner.with(|st, ctx| {
            ctx.dma.map(iova, size, fd, file_offset, writable)?;
            let t = st.clock.now();
            if let Some(tr) = st.trace.as_mut() {
                tr.dma_map(t, iova, size, writable);
            }
            st.note_action(What::DmaMap { addr: iova, size });
            Ok(())
        })
    }

    /// DMA_UNMAP of `[iova, iova + size)`, traced. Whatever the driver had
    /// handed to the card there is taken away (SPEC §16).
    pub fn dma_unmap(&self, iova: u64, size: u64) -> Result<(), DmaError> {
        self.inner.with(|st, ctx| {
            ctx.dma.unmap(iova, size)?;
            let t = st.clock.now();
            if let Some(tr) = st.trace.as_mut() {
                tr.dma_unmap(t, iova, size);
            }
            st.note_action(What::DmaUnmap { addr: iova, size });
            let by = st.san.during;
            st.san.own.unmapped(Span::new(iova, size), by);
            Ok(())
        })
    }

    /// Every mapping removed (DMA_UNMAP ALL, disconnect), traced.
    pub fn dma_unmap_all(&self) {
        self.inner.with(|st, ctx| {
            ctx.dma.unmap_all();
            let t = st.clock.now();
            if let Some(tr) = st.trace.as_mut() {
                tr.dma_unmap_all(t);
            }
            st.note_action(What::UnmapAll);
            let by = st.san.during;
            st.san.own.unmapped(
                Span {
                    start: 0,
                    end: u64::MAX,
                },
                by,
            );
        })
    }

    /// The DMA sanitizer's findings so far (SPEC §16), oldest first; at
    /// most the last 64.
    pub fn sanitizer_reports(&self) -> Vec<SanitizerReport> {
        self.inner.lock().sanitizer_reports()
    }

    /// Pushes buffered trace lines out (replay reads them after each action).
    pub fn flush_trace(&self) {
        if let Some(tr) = self.inner.lock().trace.as_mut() {
            tr.flush();
        }
    }

    /// `(INT_STATUS & INT_MASK) != 0`: the INTx level. Takes no lock.
    pub fn irq_pending(&self) -> bool {
        self.inner.pending.load(Ordering::Acquire) != 0
    }

    /// Stops the engine thread and flushes the trace. Idempotent.
    pub fn shutdown(&self) {
        self.inner.with(|st, _| {
            st.shutdown = true;
            st.kick += 1;
        });
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            if h.join().is_err() {
                log::error!("card engine thread panicked");
            }
        }
        if let Some(tr) = self.inner.lock().trace.as_mut() {
            tr.flush();
        }
    }
}

impl Drop for Card {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests;
