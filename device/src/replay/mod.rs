//! Record and replay (SPEC §15): re-runs the card model against the guest
//! actions of a trace, without a VMM, and finds the first event where the
//! replayed card does something else than the recorded one.
//!
//! - [`sim_mem`]: guest memory (memfds at the recorded IOVAs);
//! - [`diff`]: explaining a divergence;
//! - [`names`]: register, cause and error names.

pub mod diff;
pub mod names;
pub mod sim_mem;

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use crate::dma::DmaSpace;
use crate::fault::FaultPlan;
use crate::model::{Card, CardConfig, IrqSink};
use crate::trace::{
    parse_line, parse_trace, Event, ParseError, ResetSource, TraceLine, Tracer, TRACE_VERSION,
};

pub use diff::Divergence;
use sim_mem::SimMemory;

/// Longest trapped access replay performs (QEMU traps at most 8 bytes).
pub const MAX_MMIO_LEN: u64 = 16 << 20;

/// Why a trace cannot be replayed at all.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The trace is not readable.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The trace is readable but cannot be replayed; says what to do.
    #[error("cannot replay: {0}")]
    Unusable(String),
    /// The card could not be built.
    #[error("cannot build the card for replay: {0}")]
    Card(#[from] io::Error),
}

/// The result of a replay.
#[derive(Debug)]
pub enum Outcome {
    /// Every recorded event was reproduced; the number of events.
    Match(usize),
    /// The first difference.
    Diverged(Divergence),
}

/// Interrupts go nowhere: the replayed card traces them itself.
struct NoIrq;

impl IrqSink for NoIrq {
    fn raise(&self, _vector: u16) {}
}

/// The replayed card's trace, shared with the replayer.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Replays a trace file's text.
pub fn replay_text(text: &str) -> Result<Outcome, ReplayError> {
    replay(&parse_trace(text)?)
}

/// The card configuration a `start` line describes.
fn config_of(first: Option<&TraceLine>) -> Result<CardConfig, ReplayError> {
    let bad = |m: String| ReplayError::Unusable(m);
    let Some(TraceLine {
        ev: Event::Start { version, info },
        ..
    }) = first
    else {
        return Err(bad("the first line is not a \"start\" event".into()));
    };
    if *version != TRACE_VERSION {
        return Err(bad(format!(
            "trace format version {version}, this replayer reads version {TRACE_VERSION}: \
             record the run again with this cardless-device"
        )));
    }
    if !info.deterministic {
        return Err(bad(
            "the run was free-running (records on wall-clock time); only runs recorded \
             with --deterministic can be replayed"
                .into(),
        ));
    }
    let mut faults = FaultPlan::default();
    for line in &info.faults {
        faults
            .faults
            .push(FaultPlan::parse_one(line).map_err(|e| bad(format!("fault '{line}': {e}")))?);
    }
    Ok(CardConfig {
        seed: info.seed,
        bar2_size: info.bar2_size,
        rate: (info.rate != 0).then_some(u64::from(info.rate)),
        deterministic: true,
        trace: None,
        record_size: info.record_size,
        faults,
        debug_window: info.debug_window,
    })
}

/// Replays parsed trace lines (SPEC §15.2).
pub fn replay(lines: &[TraceLine]) -> Result<Outcome, ReplayError> {
    let cfg = config_of(lines.first())?;
    let buf = SharedBuf::default();
    let tracer = Tracer::to_writer(Box::new(buf.clone()));
    let dma = Arc::new(DmaSpace::new());
    let card = Card::with_tracer(cfg, dma, Arc::new(NoIrq), tracer)?;
    let mut r = Replayer {
        lines,
        card,
        buf,
        mem: SimMemory::default(),
        next: 0,
        produced: 0,
    };
    let out = r.run();
    r.card.shutdown();
    out
}

struct Replayer<'a> {
    lines: &'a [TraceLine],
    card: Card,
    buf: SharedBuf,
    mem: SimMemory,
    /// Index of the next recorded line to compare.
    next: usize,
    /// Lines the replayed card produced so far.
    produced: usize,
}

impl Replayer<'_> {
    fn run(&mut self) -> Result<Outcome, ReplayError> {
        let actions: Vec<usize> = (0..self.lines.len())
            .filter(|&i| self.lines[i].ev.is_action())
            .collect();
        if let Some(d) = self.compare_new()? {
            return Ok(Outcome::Diverged(d));
        }
        let mut prev = 0;
        for (k, &i) in actions.iter().enumerate() {
            let until = actions.get(k + 1).copied().unwrap_or(self.lines.len());
            self.preload(prev, until, i);
            if let Some(d) = self.perform(i) {
                return Ok(Outcome::Diverged(d));
            }
            if let Some(d) = self.compare_new()? {
                return Ok(Outcome::Diverged(d));
            }
            prev = i;
        }
        match self.lines.get(self.next) {
            Some(exp) => Ok(Outcome::Diverged(Divergence {
                event: exp.number,
                addr: diff::event_addr(&exp.ev),
                expected: exp.raw.clone(),
                actual: "(nothing: the replayed card did not produce it)".into(),
                detail: format!(
                    "the recorded {} event did not happen in the replay",
                    exp.ev.name()
                ),
            })),
            None => Ok(Outcome::Match(self.lines.len())),
        }
    }

    /// Puts what the guest had written into memory and BAR2 before action
    /// `at`: the bytes of recorded DMA reads and card BAR2 reads between
    /// the previous action and the next one, and the value of a BAR2 read.
    fn preload(&self, from: usize, until: usize, at: usize) {
        for l in &self.lines[from..until] {
            match &l.ev {
                Event::Dma {
                    write: false,
                    addr,
                    data: Some(d),
                    ..
                } => self.mem.load(*addr, d),
                Event::Bar2 {
                    off, data: Some(d), ..
                } => {
                    self.card.bar2().write(*off, d);
                }
                _ => {}
            }
        }
        if let Event::Mmio {
            write: false,
            bar: 2,
            off,
            len,
            val,
            data,
            ..
        } = &self.lines[at].ev
        {
            let bytes = match (val, data) {
                (_, Some(d)) => d.to_vec(),
                (Some(v), None) => v.to_le_bytes()[..(*len).min(8) as usize].to_vec(),
                _ => return,
            };
            self.card.bar2().write(*off, &bytes);
        }
    }

    /// Performs recorded action `i`; a divergence if the replayed VMM side
    /// cannot (a mapping the recorded run got refused here).
    fn perform(&mut self, i: usize) -> Option<Divergence> {
        let line = &self.lines[i];
        let refused = |why: String| Divergence {
            event: line.number,
            addr: diff::event_addr(&line.ev),
            expected: line.raw.clone(),
            actual: format!("(refused: {why})"),
            detail: format!("the replay could not perform this {}", line.ev.name()),
        };
        match &line.ev {
            Event::Mmio {
                write,
                bar,
                off,
                len,
                val,
                data,
                ..
            } => {
                if *len > MAX_MMIO_LEN {
                    return Some(refused(format!(
                        "an access of {len} bytes is beyond the replayer's {MAX_MMIO_LEN}"
                    )));
                }
                if *write {
                    let bytes = match (data, val) {
                        (Some(d), _) => d.to_vec(),
                        (None, Some(v)) if *len <= 8 => v.to_le_bytes()[..*len as usize].to_vec(),
                        _ => return Some(refused("the write's bytes were not recorded".into())),
                    };
                    self.card.bar_write(*bar, *off, &bytes);
                } else {
                    let mut b = vec![0u8; *len as usize];
                    self.card.bar_read(*bar, *off, &mut b);
                }
            }
            Event::DmaMap {
                addr,
                size,
                writable,
            } => {
                let fd = match self.mem.map(*addr, *size) {
                    Ok(fd) => fd,
                    Err(e) => return Some(refused(e)),
                };
                if let Err(e) = self.card.dma_map(*addr, *size, fd, 0, *writable) {
                    self.mem.unmap(*addr, *size);
                    return Some(refused(e.to_string()));
                }
            }
            Event::DmaUnmap { addr, size } => {
                if let Err(e) = self.card.dma_unmap(*addr, *size) {
                    return Some(refused(e.to_string()));
                }
                self.mem.unmap(*addr, *size);
            }
            Event::DmaUnmapAll => {
                self.card.dma_unmap_all();
                self.mem.clear();
            }
            Event::Reset {
                src: ResetSource::Vmm,
            } => self.card.reset(),
            _ => {}
        }
        None
    }

    /// Compares the lines the replayed card wrote since the last call with
    /// the recorded ones.
    fn compare_new(&mut self) -> Result<Option<Divergence>, ReplayError> {
        self.card.flush_trace();
        let text = {
            let mut b = self.buf.0.lock().unwrap_or_else(|e| e.into_inner());
            String::from_utf8_lossy(&std::mem::take(&mut *b)).into_owned()
        };
        for raw in text.lines() {
            self.produced += 1;
            let actual = parse_line(self.produced, raw).map_err(|e| {
                ReplayError::Unusable(format!("the replayed card wrote an unreadable line: {e}"))
            })?;
            let Some(expected) = self.lines.get(self.next) else {
                return Ok(Some(Divergence {
                    event: self.lines.len() + 1,
                    addr: diff::event_addr(&actual.ev),
                    expected: "(nothing: the recording ends here)".into(),
                    actual: raw.to_owned(),
                    detail: format!("the replay produced an extra {} event", actual.ev.name()),
                }));
            };
            if !expected.same(&actual) {
                let (addr, detail) = diff::explain(expected, &actual, &self.mem);
                return Ok(Some(Divergence {
                    event: expected.number,
                    addr,
                    expected: expected.raw.clone(),
                    actual: raw.to_owned(),
                    detail,
                }));
            }
            self.next += 1;
        }
        Ok(None)
    }
}
