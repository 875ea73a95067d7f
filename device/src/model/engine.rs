//! The streaming engine (SPEC §6): its run state, producer and consumer
//! indices, coalescing, overflow, the free-running schedule, and writing
//! one record (with an armed record fault, §14.1) into the ring.
//!
//! The engine owns its state and nothing else. Everything it needs from
//! the rest of the card comes in as arguments (the DMA view, the
//! sanitizer's ownership set, registers, VTIME, the next record fault),
//! and it returns what it did ([`Outcome`]): which interrupt causes are
//! due, the error to latch, the fault's effects, the bytes written for the
//! trace. The register file (`state/`) applies those; the engine never
//! calls back into it.

use std::time::Instant;

use cardless_abi::record::*;
use cardless_abi::regs::*;

use super::owner::Cause;
use super::ring::{PayloadBuf, RecordBytes, Ring, SlotError};
use super::sanitizer::{Refused, Sanitizer};
use crate::dma::DmaView;
use crate::fault::{Fault, FaultKind};

#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
enum Run {
    #[default]
    Stopped,
    Running,
    OverflowStopped,
}

/// What the free-running engine thread should do next (§6.5).
pub(crate) enum Wait {
    Now,
    Until(Instant),
    Forever,
}

/// What producing one record needs besides the engine's own state.
pub(crate) struct RecordInput<'a> {
    /// VTIME stamped into the record.
    pub now: u64,
    /// A fault pauses the engine (stall, link down, removal; §14.1).
    pub paused: bool,
    /// Ring full: answer [`Outcome::Full`] instead of overflowing (a
    /// free-running card at unlimited rate waits for the driver).
    pub wait_if_full: bool,
    /// CONTROL.OVF_STOP (§6.4).
    pub overflow_stop: bool,
    /// COAL_COUNT (§6.6); 0 acts as 1.
    pub coal_count: u32,
    /// The armed record fault (and its firing) that the next written
    /// record gets, if any. Producing a [`Outcome::Record`] uses it up.
    pub fault: Option<(&'a Fault, &'a Cause)>,
    /// Keep the bytes written for the trace ([`Engine::drain_written`]).
    pub tracing: bool,
}

/// What producing one due record did (§6.2, §6.4).
pub(crate) enum Outcome {
    /// Not running (or no ring): nothing happened.
    Stopped,
    /// Running but paused by a fault: the record is not due yet.
    Stalled,
    /// Ring full and the caller asked to wait.
    Full,
    /// Ring full with OVF_STOP: the engine stopped. DATA_READY is due
    /// first if `flush` (records were waiting for it), then OVERFLOW.
    OverflowStopped { flush: bool },
    /// Ring full: the record was dropped (CNT_DROPPED counts it). OVERFLOW
    /// is due if it is the `first` drop since the last record written.
    Dropped { first: bool },
    /// A record was written, or refused before a byte moved.
    Record(Record),
}

/// A record's write (§6.2), with the record fault's effects (§14.1).
pub(crate) struct Record {
    /// A stray-write fault sent the whole record to this IOVA.
    pub stray: Option<u64>,
    /// A corrupt fault flipped this byte after the write.
    pub corrupted: Option<Corrupted>,
    /// `Ok(data_ready)`: committed (PROD_IDX moved, CNT_PRODUCED is to
    /// count it), DATA_READY due if `data_ready`. `Err`: the error to
    /// latch (§10, §16); PROD_IDX did not move.
    pub result: Result<bool, Refused>,
}

/// A byte a corrupt fault flipped in guest memory.
pub(crate) struct Corrupted {
    pub kind: FaultKind,
    pub iova: u64,
    /// The byte's new value.
    pub byte: u8,
}

/// Engine state; everything here is forgotten by reset.
#[derive(Default)]
pub(crate) struct Engine {
    run: Run,
    ring: Option<Ring>,
    prod: u32,
    cons: u32,
    next_seq: u64,
    seed: u64,
    /// Latched STATUS_ADDR while the engine may write the status block.
    status_addr: Option<u64>,
    status_gen: u64,
    pending: u32,
    oldest_pending: u64,
    drops_since: u32,
    after_drop: bool,
    in_overflow: bool,
    sched_t0: u64,
    sched_k: u64,
    /// Payload generation scratch, reused by every record.
    payload: PayloadBuf,
    /// The pieces of the last record written and their bytes, read back
    /// (only when tracing).
    pieces: Vec<(u64, u64)>,
    written: Vec<u8>,
}

impl Engine {
    pub(crate) fn is_running(&self) -> bool {
        self.run == Run::Running
    }

    pub(crate) fn is_overflow_stopped(&self) -> bool {
        self.run == Run::OverflowStopped
    }

    /// PROD_IDX.
    pub(crate) fn prod(&self) -> u32 {
        self.prod
    }

    /// CONS_IDX.
    pub(crate) fn cons(&self) -> u32 {
        self.cons
    }

    /// The sequence number the next record gets.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// STATUS.RING_FULL: a ring is latched, the engine not stopped, and
    /// every slot holds a record the driver has not consumed.
    pub(crate) fn ring_full(&self) -> bool {
        match &self.ring {
            Some(r) if self.run != Run::Stopped => self.prod.wrapping_sub(self.cons) >= r.entries,
            _ => false,
        }
    }

    /// A fresh start (enable of a stopped engine): the previous run is
    /// forgotten, only the status block generation counts on.
    pub(crate) fn forget(&mut self) {
        *self = Engine {
            status_gen: self.status_gen,
            ..Engine::default()
        };
    }

    /// Starts on a validated ring (§6.1).
    pub(crate) fn start(&mut self, ring: Ring, seed: u64, status_addr: u64, now: u64) {
        self.ring = Some(ring);
        self.seed = seed;
        self.status_addr = Some(status_addr);
        self.run = Run::Running;
        self.restart_schedule(now);
    }

    /// Enable of an overflow-stopped engine: goes on where it stopped (§6.4).
    pub(crate) fn resume(&mut self, now: u64) {
        self.run = Run::Running;
        self.restart_schedule(now);
    }

    /// Stops (disable, errors, removal): no more records.
    pub(crate) fn stop(&mut self) {
        self.run = Run::Stopped;
    }

    /// True (and clears) if records are waiting for DATA_READY.
    pub(crate) fn take_pending(&mut self) -> bool {
        std::mem::take(&mut self.pending) > 0
    }

    /// Where the status block goes, while the engine may write it (§5.3).
    pub(crate) fn status_addr(&self) -> Option<u64> {
        self.status_addr
    }

    /// No more status block write-back until the next enable.
    pub(crate) fn forget_status_addr(&mut self) {
        self.status_addr = None;
    }

    /// The generation of the next status block write (§5.3).
    pub(crate) fn next_status_gen(&mut self) -> u64 {
        self.status_gen = self.status_gen.wrapping_add(1);
        self.status_gen
    }

    /// The free-running schedule starts over at `now` (§6.5).
    pub(crate) fn restart_schedule(&mut self, now: u64) {
        self.sched_t0 = now;
        self.sched_k = 0;
    }

    /// A CONS_IDX write (§6.3): while a stream runs, more than a ring's
    /// worth behind PROD_IDX is refused (ERR_BAD_CONS_IDX) and not taken.
    pub(crate) fn set_cons(&mut self, v: u32) -> Result<(), Refused> {
        if let (Some(r), true) = (&self.ring, self.run != Run::Stopped) {
            if self.prod.wrapping_sub(v) > r.entries {
                return Err(Refused::code(ERR_BAD_CONS_IDX, u64::from(v)));
            }
        }
        self.cons = v;
        Ok(())
    }

    /// §6.6 time trigger: true (and the pending records are signalled) if
    /// the oldest pending record has waited `coal_ns` (0 = off) by `now`.
    pub(crate) fn coalesce_due(&mut self, now: u64, coal_ns: u32) -> bool {
        let coal = u64::from(coal_ns);
        if coal != 0 && self.pending > 0 && now.saturating_sub(self.oldest_pending) >= coal {
            self.pending = 0;
            return true;
        }
        false
    }

    /// VTIME at which the §6.6 time trigger fires, if armed.
    pub(crate) fn coalesce_deadline(&self, coal_ns: u32) -> Option<u64> {
        let coal = u64::from(coal_ns);
        (coal != 0 && self.pending > 0).then(|| self.oldest_pending.saturating_add(coal))
    }

    /// Records the free-running engine may produce now at `rate` records/s
    /// (0 = unlimited: a batch), and whether the schedule lags by more than
    /// a batch (then it restarts rather than catching up). `None` without
    /// a ring.
    pub(crate) fn due(&self, now: u64, rate: u32) -> Option<(u32, bool)> {
        let rs = self.ring.as_ref()?.record_size;
        let batch = ENGINE_BATCH.min(((256 << 10) / rs).max(1));
        if rate == 0 {
            return Some((batch, false));
        }
        let elapsed = u128::from(now.saturating_sub(self.sched_t0));
        let due = u64::try_from(elapsed * u128::from(rate) / 1_000_000_000).unwrap_or(u64::MAX);
        let behind = due.saturating_sub(self.sched_k);
        Some((
            behind.min(u64::from(batch)) as u32,
            behind > u64::from(ENGINE_BATCH),
        ))
    }

    /// One scheduled record was produced or dropped.
    pub(crate) fn scheduled_one(&mut self) {
        self.sched_k += 1;
    }

    /// VTIME at which the next scheduled record is due at `rate` (> 0).
    pub(crate) fn next_due_at(&self, rate: u32) -> u64 {
        let k = u128::from(self.sched_k) + 1;
        let at = (k * 1_000_000_000).div_ceil(u128::from(rate.max(1)));
        self.sched_t0
            .saturating_add(u64::try_from(at).unwrap_or(u64::MAX))
    }

    /// One due record (§6.2, §6.4), stamped `input.now`. Every DMA write is
    /// checked (mappings, then §16 ownership in `san`) before a byte moves.
    pub(crate) fn produce(
        &mut self,
        view: &DmaView,
        san: &Sanitizer,
        input: &RecordInput,
    ) -> Outcome {
        let entries = match (&self.ring, self.run) {
            (Some(r), Run::Running) => r.entries,
            _ => return Outcome::Stopped,
        };
        if input.paused {
            return Outcome::Stalled;
        }
        if self.prod.wrapping_sub(self.cons) >= entries {
            return self.overflow(input);
        }
        let Some(mut record) = self.write(view, san, input) else {
            return Outcome::Stopped;
        };
        if record.result.is_ok() {
            record.result = Ok(self.commit(input.now, input.coal_count));
        }
        Outcome::Record(record)
    }

    /// The ring is full (§6.4).
    fn overflow(&mut self, input: &RecordInput) -> Outcome {
        if input.wait_if_full {
            return Outcome::Full;
        }
        if input.overflow_stop {
            self.run = Run::OverflowStopped;
            return Outcome::OverflowStopped {
                flush: self.take_pending(),
            };
        }
        self.next_seq = self.next_seq.wrapping_add(1);
        self.drops_since = self.drops_since.saturating_add(1);
        self.after_drop = true;
        Outcome::Dropped {
            first: !std::mem::replace(&mut self.in_overflow, true),
        }
    }

    /// Writes the record of PROD_IDX into its slot (or where a stray-write
    /// fault sends it), then applies a corrupt fault. `result` is `Ok`
    /// when the record is ready to commit; `None` without a ring.
    fn write(&mut self, view: &DmaView, san: &Sanitizer, input: &RecordInput) -> Option<Record> {
        let record_size = self.ring.as_ref()?.record_size;
        let mut h = RecordHeader {
            magic: RECORD_MAGIC,
            header_len: RECORD_HEADER_SIZE as u16,
            flags: if self.after_drop {
                REC_FLAG_AFTER_DROP
            } else {
                0
            },
            seq: self.next_seq,
            timestamp_ns: input.now,
            payload_len: record_size - RECORD_HEADER_SIZE as u32,
            dropped_before: self.drops_since,
            checksum: 0,
        };
        h.checksum = record_checksum(&h, self.seed);
        let header = h.to_bytes();
        let mut bytes = RecordBytes {
            header: &header,
            key: payload_key(self.seed, h.seq),
            buf: &mut self.payload,
        };
        let ring = self.ring.as_ref()?;
        let pieces = &mut self.pieces;
        let prod = self.prod;
        let tracing = input.tracing;
        let slot = ring.slot_offset(prod);
        let len = u64::from(record_size);
        // §14.1 stray-write: the whole record lands at another IOVA.
        let stray = match input.fault {
            Some((f, &cause)) if f.kind == FaultKind::StrayWrite => {
                Some((if f.arg == 0 { ring.end_iova() } else { f.arg }, cause))
            }
            _ => None,
        };
        let written = match stray {
            Some((at, cause)) => san
                .check_write(view, at, len, "stray-write record", Some(cause))
                .and_then(|()| {
                    ring.write_record_at(view, at, &mut bytes)
                        .map_err(|e| san.dma_error(&e))
                })
                .inspect(|_| {
                    if tracing {
                        pieces.push((at, len));
                    }
                }),
            None => ring
                .write_record(
                    view,
                    prod,
                    &mut bytes,
                    |a, n| san.covers(a, n),
                    |a, n| {
                        if tracing {
                            pieces.push((a, n));
                        }
                    },
                )
                .map_err(|e| match e {
                    SlotError::Dma(e) => san.dma_error(&e),
                    SlotError::NotHanded { iova, len } => san
                        .check_handed(iova, len, "record", None)
                        .err()
                        .unwrap_or(Refused::code(ERR_DMA_STRAY, iova)),
                }),
        };
        let mut record = Record {
            stray: stray.map(|(at, _)| at),
            corrupted: None,
            result: Ok(false),
        };
        if let Err(r) = written {
            self.pieces.clear();
            record.result = Err(r);
            return Some(record);
        }
        if tracing {
            self.read_back(view);
        }
        if let Some((f, &cause)) = input.fault.filter(|(f, _)| f.kind != FaultKind::StrayWrite) {
            match self.corrupt(view, san, f, cause, slot) {
                Ok(c) => record.corrupted = c,
                Err(r) => record.result = Err(r),
            }
        }
        Some(record)
    }

    /// The record is in the ring: PROD_IDX moves (§6.2). True if DATA_READY
    /// is due by count (§6.6).
    fn commit(&mut self, now: u64, coal_count: u32) -> bool {
        self.prod = self.prod.wrapping_add(1);
        self.next_seq = self.next_seq.wrapping_add(1);
        self.drops_since = 0;
        self.after_drop = false;
        self.in_overflow = false;
        if self.pending == 0 {
            self.oldest_pending = now;
        }
        self.pending += 1;
        if self.pending >= coal_count.max(1) {
            self.pending = 0;
            return true;
        }
        false
    }

    /// Reads the pieces just written back (for the trace), before a
    /// corrupt fault changes them.
    fn read_back(&mut self, view: &DmaView) {
        self.written.clear();
        for &(a, n) in &self.pieces {
            let at = self.written.len();
            self.written.resize(at + n as usize, 0);
            let buf = &mut self.written[at..];
            let _ = view.for_each(a, n, false, |p, s| {
                s.copy_to(&mut buf[p..p + s.len()]);
            });
        }
    }

    /// Hands each piece of the last record written, with its bytes as
    /// written, to `f` (for the trace), and forgets them.
    pub(crate) fn drain_written(&mut self, mut f: impl FnMut(u64, &[u8])) {
        let mut at = 0;
        for &(a, n) in &self.pieces {
            let n = n as usize;
            f(a, &self.written[at..at + n]);
            at += n;
        }
        self.pieces.clear();
    }

    /// Flips byte `pos` of the record just written at ring offset `slot`
    /// as fault `f` (fired by `cause`) says (§14.1). The 1-byte write is
    /// checked by the sanitizer (§16) like any other.
    fn corrupt(
        &self,
        view: &DmaView,
        san: &Sanitizer,
        f: &Fault,
        cause: Cause,
        slot: u64,
    ) -> Result<Option<Corrupted>, Refused> {
        let Some(ring) = self.ring.as_ref() else {
            return Ok(None);
        };
        let payload = u64::from(ring.record_size) - RECORD_HEADER_SIZE as u64;
        let pos = match f.kind {
            FaultKind::CorruptHeader => f.arg,
            _ => RECORD_HEADER_SIZE as u64 + f.arg % payload.max(1),
        };
        let mut iova = None;
        let _ = ring.for_each_piece(slot + pos, 1, |a, _, _| {
            iova = Some(a);
            Ok(())
        });
        let Some(iova) = iova else { return Ok(None) };
        let mut b = [0u8; 1];
        if view
            .for_each(iova, 1, false, |_, s| {
                s.copy_to(&mut b[..]);
            })
            .is_err()
        {
            return Ok(None);
        }
        san.check_handed(iova, 1, "corrupt-fault byte", Some(cause))?;
        b[0] ^= f.arg2 as u8;
        let flipped = view
            .for_each(iova, 1, true, |_, s| s.copy_from(&b[..]))
            .is_ok();
        Ok(flipped.then_some(Corrupted {
            kind: f.kind,
            iova,
            byte: b[0],
        }))
    }
}

#[cfg(test)]
mod tests;
