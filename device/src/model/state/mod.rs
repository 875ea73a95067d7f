//! The register file: the card's state behind its mutex. It owns the
//! parts (streaming engine, fault injection, DMA sanitizer, interrupt
//! registers, clock, trace), decodes what the transport does to the card,
//! and applies what the parts return: interrupts, counters, latched
//! errors, findings and trace lines. The parts never call back into it,
//! so a record's path runs one way: register file → part → register file.
//!
//! Its files are layers, each calling only the ones below it:
//! - `regfile`: BAR accesses, BAR0 registers and their side effects, reset,
//!   DMA map/unmap (SPEC §4, §9, §11, §15.1);
//! - `stream`: the streaming engine driven (enable, STEP, the free-running
//!   tick; §6, §8);
//! - `effects`: what the parts' results become (interrupts and the status
//!   block, errors, findings, fault firings; §5.3, §7, §10, §14, §16);
//! - this file: the state itself.

mod effects;
mod regfile;
mod stream;

use std::sync::atomic::AtomicU32;

use cardless_abi::regs::*;

use super::clock::Clock;
use super::config::{CardConfig, Defaults};
use super::engine::Engine;
use super::fault::Faults;
use super::irq::{Interrupts, IrqSink};
use super::regs::{Counters, Regs};
use super::sanitizer::{Sanitizer, SanitizerReport};
use super::shared_mem::SharedMem;
use crate::dma::DmaSpace;
use crate::trace::{StartInfo, Tracer};

/// What the state needs from outside the lock.
pub(crate) struct Ctx<'a> {
    pub dma: &'a DmaSpace,
    pub irq: &'a dyn IrqSink,
    pub bar2: &'a SharedMem,
    /// Mirror of `INT_STATUS & INT_MASK`, readable without the lock.
    pub pending: &'a AtomicU32,
}

/// The card's state.
pub(crate) struct State {
    defaults: Defaults,
    regs: Regs,
    irq: Interrupts,
    error_code: u32,
    error_addr: u64,
    cnt: Counters,
    engine: Engine,
    clock: Clock,
    trace: Option<Tracer>,
    /// Fault injection (SPEC §14).
    faults: Faults,
    /// DMA sanitizer: what the driver handed to the card (SPEC §16).
    san: Sanitizer,
    /// Set by `Card::shutdown`; the engine thread exits.
    shutdown: bool,
    /// Bumped whenever the engine thread must re-plan (enable, CONS_IDX, RATE...).
    kick: u64,
}

impl State {
    pub(crate) fn new(cfg: &CardConfig, trace: Option<Tracer>) -> Self {
        let defaults = Defaults::from_config(cfg);
        let mut s = State {
            defaults,
            regs: Regs::default(),
            irq: Interrupts::default(),
            error_code: 0,
            error_addr: 0,
            cnt: Counters::default(),
            engine: Engine::default(),
            clock: Clock::new(defaults.deterministic),
            trace,
            faults: Faults::new(cfg.debug_window, &cfg.faults),
            san: Sanitizer::default(),
            shutdown: false,
            kick: 0,
        };
        s.load_reset_values();
        if let Some(t) = s.trace.as_mut() {
            t.start(&StartInfo {
                seed: defaults.seed,
                deterministic: defaults.deterministic,
                bar2_size: defaults.bar2_size,
                record_size: defaults.record_size,
                rate: defaults.rate,
                debug_window: defaults.debug_window,
                faults: cfg.faults.lines(),
            });
        }
        s
    }

    fn load_reset_values(&mut self) {
        let d = self.defaults;
        self.regs = Regs {
            coal_count: 1,
            rate: d.rate,
            seed: d.seed,
            record_size: d.record_size,
            ..Regs::default()
        };
        self.irq = Interrupts::default();
        self.error_code = 0;
        self.error_addr = 0;
        self.cnt = Counters::default();
        self.engine = Engine::default();
        self.clock.reset();
    }

    /// Bumped whenever the engine thread must re-plan.
    pub(crate) fn kick(&self) -> u64 {
        self.kick
    }

    /// Whether `Card::shutdown` asked the engine thread to exit.
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shutdown
    }

    /// Asks the engine thread to exit.
    pub(crate) fn shut_down(&mut self) {
        self.shutdown = true;
        self.kick += 1;
    }

    /// Pushes buffered trace lines out.
    pub(crate) fn flush_trace(&mut self) {
        if let Some(tr) = self.trace.as_mut() {
            tr.flush();
        }
    }

    /// The DMA sanitizer's findings so far, oldest first.
    pub(crate) fn sanitizer_reports(&self) -> Vec<SanitizerReport> {
        self.san.reports()
    }

    /// STATUS (§4.2).
    fn status(&self) -> u32 {
        let mut s = 0;
        if self.engine.is_running() {
            s |= STS_RUNNING;
        }
        if self.error_code != 0 {
            s |= STS_ERROR;
        }
        if self.engine.is_overflow_stopped() {
            s |= STS_OVERFLOW_STOPPED;
        }
        if self.engine.ring_full() {
            s |= STS_RING_FULL;
        }
        s
    }
}
