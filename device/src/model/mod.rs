//! The card model: registers, streaming engine, copy engine, interrupts,
//! fault injection, DMA sanitizer, clock and trace, behind one mutex.
//! Transport-independent: a VMM-side transport calls `bar_read`/`bar_write`/
//! `reset`/`dma_map` and gets interrupts through an [`IrqSink`]. The
//! behaviour is `device/SPEC.md`.
//!
//! The model is made of parts that own their state, take their inputs as
//! arguments and return what they did; none of them knows the others or
//! the register file:
//! - `engine`: the streaming engine (§6) and writing records (`ring`);
//! - `fault`: fault injection (§14);
//! - `sanitizer` (with `owner`): the DMA sanitizer (§16);
//! - `irq`: INT_STATUS / INT_MASK (§7);
//! - `copy`: the copy engine (§11); `validate`/`areas`: ring validation (§6.1);
//! - `clock`, `regs`, `config`, `shared_mem`: plain state.
//!
//! `state` is the register file: it owns the parts, decodes what the
//! transport does and applies the parts' results (interrupts, counters,
//! errors, findings, trace lines). `inner` and `runner` share it with the
//! free-running engine thread; this file is the [`Card`] API. Imports run
//! one way, down this list (`device/tests/model_layers.rs` checks it).

mod areas;
mod clock;
mod config;
mod copy;
mod engine;
mod fault;
mod inner;
mod irq;
mod owner;
mod regs;
mod ring;
mod runner;
mod sanitizer;
mod shared_mem;
mod state;
mod validate;

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

pub use config::CardConfig;
pub use irq::IrqSink;
pub use sanitizer::SanitizerReport;
pub use shared_mem::{sealed_memfd, SharedMem};

use crate::dma::{DmaError, DmaSpace};
use crate::trace::Tracer;
use inner::Inner;
use state::State;

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
        self.inner
            .with(|st, ctx| st.mmio_read(ctx, bar, offset, data))
    }

    /// A trapped write of `data` at `offset` of PCI BAR `bar`.
    pub fn bar_write(&self, bar: u8, offset: u64, data: &[u8]) {
        self.inner
            .with(|st, ctx| st.mmio_write(ctx, bar, offset, data))
    }

    /// Device reset (SPEC §9); also ends a surprise removal (§14.3).
    pub fn reset(&self) {
        self.inner.with(|st, ctx| st.vmm_reset(ctx))
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
            st.dma_mapped(iova, size, writable);
            Ok(())
        })
    }

    /// DMA_UNMAP of `[iova, iova + size)`, traced. Whatever the driver had
    /// handed to the card there is taken away (SPEC §16).
    pub fn dma_unmap(&self, iova: u64, size: u64) -> Result<(), DmaError> {
        self.inner.with(|st, ctx| {
            ctx.dma.unmap(iova, size)?;
            st.dma_unmapped(iova, size);
            Ok(())
        })
    }

    /// Every mapping removed (DMA_UNMAP ALL, disconnect), traced.
    pub fn dma_unmap_all(&self) {
        self.inner.with(|st, ctx| {
            ctx.dma.unmap_all();
            st.dma_unmapped_all();
        })
    }

    /// The DMA sanitizer's findings so far (SPEC §16), oldest first; at
    /// most the last 64.
    pub fn sanitizer_reports(&self) -> Vec<SanitizerReport> {
        self.inner.lock().sanitizer_reports()
    }

    /// Pushes buffered trace lines out (replay reads them after each action).
    pub fn flush_trace(&self) {
        self.inner.lock().flush_trace();
    }

    /// `(INT_STATUS & INT_MASK) != 0`: the INTx level. Takes no lock.
    pub fn irq_pending(&self) -> bool {
        self.inner.pending.load(Ordering::Acquire) != 0
    }

    /// Stops the engine thread and flushes the trace. Idempotent.
    pub fn shutdown(&self) {
        self.inner.with(|st, _| st.shut_down());
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            if h.join().is_err() {
                log::error!("card engine thread panicked");
            }
        }
        self.inner.lock().flush_trace();
    }
}

impl Drop for Card {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests;
