//! The streaming engine on its own (SPEC §6, §14.1, §16): no card, no
//! register file, no trace. Guest memory is a memfd in a DMA space, the
//! sanitizer is handed what each test says, and every outcome is what the
//! engine returns.

use std::fs::File;
use std::os::unix::fs::FileExt;

use cardless_abi::record::*;
use cardless_abi::regs::*;

use super::*;
use crate::dma::tests::memfd;
use crate::dma::DmaSpace;
use crate::model::areas::ring_pieces;
use crate::model::owner::{Role, Span};
use crate::model::ring::Layout;

const GUEST: u64 = 0x10_0000;
const GUEST_SIZE: u64 = 1 << 20;
const RING: u64 = GUEST + 0x1000;
const SEED: u64 = 0x5eed;

struct Rig {
    dma: DmaSpace,
    mem: File,
    san: Sanitizer,
    engine: Engine,
}

impl Rig {
    /// A running engine on a contiguous ring at RING, handed to the card.
    fn new(entries: u32, record_size: u32) -> Rig {
        let dma = DmaSpace::new();
        let fd = memfd(GUEST_SIZE);
        let mem = File::from(fd.try_clone().unwrap());
        dma.map(GUEST, GUEST_SIZE, fd, 0, true).unwrap();
        let ring = ring(RING, entries, record_size);
        let mut san = Sanitizer::default();
        san.hand(Role::Ring, ring_pieces(&ring));
        let mut engine = Engine::default();
        engine.start(ring, SEED, GUEST, 0);
        Rig {
            dma,
            mem,
            san,
            engine,
        }
    }

    fn produce(&mut self, input: &RecordInput) -> Outcome {
        let view = self.dma.view();
        self.engine.produce(&view, &self.san, input)
    }

    /// Produces one record at `now` with COAL_COUNT `coal` and expects
    /// it written; returns whether DATA_READY is due.
    fn write(&mut self, now: u64, coal: u32) -> bool {
        match self.produce(&input(now, coal)) {
            Outcome::Record(Record {
                stray: None,
                corrupted: None,
                result: Ok(data_ready),
            }) => data_ready,
            o => panic!("expected a record written, got {}", describe(&o)),
        }
    }

    fn mem(&self, iova: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.mem.read_exact_at(&mut v, iova - GUEST).unwrap();
        v
    }

    fn record(&self, slot: u64, rs: u32) -> RecordHeader {
        verify_record(&self.mem(RING + slot * u64::from(rs), rs as usize), SEED).unwrap()
    }
}

fn ring(base: u64, entries: u32, record_size: u32) -> Ring {
    Ring {
        layout: Layout::Contig { base },
        entries,
        record_size,
    }
}

fn input(now: u64, coal_count: u32) -> RecordInput<'static> {
    RecordInput {
        now,
        paused: false,
        wait_if_full: false,
        overflow_stop: false,
        coal_count,
        fault: None,
        tracing: false,
    }
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Stopped => "Stopped".into(),
        Outcome::Stalled => "Stalled".into(),
        Outcome::Full => "Full".into(),
        Outcome::OverflowStopped { flush } => format!("OverflowStopped {{ flush: {flush} }}"),
        Outcome::Dropped { first } => format!("Dropped {{ first: {first} }}"),
        Outcome::Record(r) => format!(
            "Record {{ stray: {:?}, corrupted: {}, result: {:?} }}",
            r.stray,
            r.corrupted.is_some(),
            r.result.as_ref().map_err(|e| (e.code, e.addr))
        ),
    }
}

fn refused(o: Outcome) -> Refused {
    match o {
        Outcome::Record(Record { result: Err(r), .. }) => r,
        o => panic!("expected a refused record, got {}", describe(&o)),
    }
}

/// SPEC §6.2, §5.1, §6.6: records land in their slots in order, verify
/// with the seed, carry their VTIME; DATA_READY is due every COAL_COUNT
/// records (0 counts as 1); the ring wraps.
#[test]
fn records_fill_slots_and_data_ready_follows_the_count() {
    let mut rig = Rig::new(4, 128);
    let due: Vec<bool> = (0..3).map(|t| rig.write(1000 * t, 2)).collect();
    assert_eq!(due, [false, true, false]);
    assert_eq!((rig.engine.prod(), rig.engine.next_seq()), (3, 3));
    for slot in 0..3 {
        let h = rig.record(slot, 128);
        assert_eq!((h.seq, h.timestamp_ns, h.flags), (slot, 1000 * slot, 0));
        assert_eq!(h.payload_len, 128 - RECORD_HEADER_SIZE as u32);
    }
    assert_eq!(
        rig.mem(RING + 3 * 128, 128),
        vec![0; 128],
        "slot 3 untouched"
    );
    assert!(rig.write(0, 0), "COAL_COUNT 0 acts as 1");
    rig.engine.set_cons(4).unwrap();
    rig.write(0, 1);
    assert_eq!(rig.record(0, 128).seq, 4, "slot 0 again after the wrap");
    assert_eq!(
        rig.mem(RING + 4 * 128, 64),
        vec![0; 64],
        "nothing past the ring"
    );
}

/// SPEC §6.4 (drop): a full ring drops records, OVERFLOW once per
/// episode, and the next record says how many were dropped before it.
#[test]
fn full_ring_drops_and_the_next_record_tells() {
    let mut rig = Rig::new(2, 64);
    rig.write(0, 100);
    rig.write(0, 100);
    assert!(rig.engine.ring_full());
    let wait = RecordInput {
        wait_if_full: true,
        ..input(0, 100)
    };
    assert!(matches!(rig.produce(&wait), Outcome::Full));
    assert_eq!(rig.engine.next_seq(), 2, "waiting drops nothing");
    for first in [true, false, false] {
        match rig.produce(&input(0, 100)) {
            Outcome::Dropped { first: f } => assert_eq!(f, first),
            o => panic!("expected a drop, got {}", describe(&o)),
        }
    }
    assert_eq!((rig.engine.prod(), rig.engine.next_seq()), (2, 5));
    rig.engine.set_cons(2).unwrap();
    assert!(!rig.engine.ring_full());
    rig.write(0, 100);
    let h = rig.record(0, 64);
    assert_eq!(
        (h.seq, h.flags, h.dropped_before),
        (5, REC_FLAG_AFTER_DROP, 3)
    );
    rig.write(0, 100);
    let h = rig.record(1, 64);
    assert_eq!((h.seq, h.flags, h.dropped_before), (6, 0, 0));
    assert!(
        matches!(
            rig.produce(&input(0, 100)),
            Outcome::Dropped { first: true }
        ),
        "a written record ends the episode"
    );
}

/// SPEC §6.4 (stop): a full ring with OVF_STOP stops the engine, DATA_READY
/// first if records wait for it; resume goes on where it stopped.
#[test]
fn overflow_stop_stops_and_resume_goes_on() {
    let mut rig = Rig::new(2, 64);
    rig.write(0, 100);
    rig.write(0, 100);
    let stop = RecordInput {
        overflow_stop: true,
        ..input(0, 100)
    };
    assert!(matches!(
        rig.produce(&stop),
        Outcome::OverflowStopped { flush: true }
    ));
    assert!(rig.engine.is_overflow_stopped() && !rig.engine.is_running());
    assert!(rig.engine.ring_full(), "still full while overflow-stopped");
    assert!(matches!(rig.produce(&stop), Outcome::Stopped));
    rig.engine.set_cons(1).unwrap();
    rig.engine.resume(0);
    assert!(rig.engine.is_running());
    assert!(rig.write(0, 1));
    assert_eq!(rig.record(0, 64).seq, 2, "resume keeps the sequence");
    assert!(matches!(
        rig.produce(&stop),
        Outcome::OverflowStopped { flush: false }
    ));
    // A stopped engine has no ring to be full (STATUS.RING_FULL clears at
    // disable even though PROD_IDX - CONS_IDX stays a ring's worth).
    rig.engine.stop();
    assert!(!rig.engine.ring_full());
}

/// SPEC §6.1, §14.1: nothing is written by a stopped or paused engine.
#[test]
fn stopped_or_paused_engine_writes_nothing() {
    let mut rig = Rig::new(4, 64);
    let paused = RecordInput {
        paused: true,
        ..input(0, 1)
    };
    assert!(matches!(rig.produce(&paused), Outcome::Stalled));
    rig.engine.stop();
    assert!(matches!(rig.produce(&input(0, 1)), Outcome::Stopped));
    assert!(!rig.engine.ring_full());
    let mut fresh = Engine::default();
    let view = rig.dma.view();
    assert!(matches!(
        fresh.produce(&view, &rig.san, &input(0, 1)),
        Outcome::Stopped
    ));
    drop(view);
    assert_eq!(rig.engine.prod(), 0);
    assert_eq!(rig.mem(RING, 256), vec![0; 256]);
}

/// SPEC §6.3: while a stream runs, CONS_IDX may trail PROD_IDX by at most
/// a ring; a stopped engine takes any value.
#[test]
fn cons_idx_more_than_a_ring_behind_is_refused() {
    let mut rig = Rig::new(4, 64);
    for _ in 0..3 {
        rig.write(0, 100);
    }
    rig.engine.set_cons(3).unwrap();
    rig.engine.set_cons(0u32.wrapping_sub(1)).unwrap(); // 4 behind: allowed
    let r = rig.engine.set_cons(0u32.wrapping_sub(2)).unwrap_err();
    assert_eq!(
        (r.code, r.addr),
        (ERR_BAD_CONS_IDX, u64::from(u32::MAX - 1))
    );
    assert_eq!(rig.engine.cons(), u32::MAX, "a refused value is not taken");
    rig.engine.stop();
    rig.engine.set_cons(12345).unwrap();
    assert_eq!(rig.engine.cons(), 12345);
}

/// SPEC §16, §10: a slot the driver did not hand is refused before a byte
/// moves; an unmapped one is a DMA error. PROD_IDX does not move.
#[test]
fn refused_slots_write_nothing() {
    let mut rig = Rig::new(4, 64);
    rig.san.take_back(Role::Ring);
    rig.san.hand(Role::Ring, [(Span::new(RING, 100), None)]);
    rig.write(0, 1);
    let r = refused(rig.produce(&input(0, 1)));
    assert_eq!((r.code, r.addr), (ERR_DMA_STRAY, RING + 64));
    assert_eq!(r.finding.expect("a stray finding").check, "stray");
    assert_eq!(rig.mem(RING + 64, 64), vec![0; 64]);
    assert_eq!(rig.engine.prod(), 1);

    let mut far = Rig::new(4, 64);
    far.engine.forget();
    let base = GUEST + GUEST_SIZE - 64;
    far.san.hand(Role::Ring, [(Span::new(base, 256), None)]);
    far.engine.start(ring(base, 4, 64), SEED, GUEST, 0);
    far.write(0, 1);
    let r = refused(far.produce(&input(0, 1)));
    assert_eq!((r.code, r.addr), (ERR_DMA_UNMAPPED, GUEST + GUEST_SIZE));
    assert_eq!(r.finding.expect("an unmapped finding").check, "unmapped");
    assert_eq!(far.engine.prod(), 1);
}

/// SPEC §14.1 stray-write: the whole record goes to the fault's address
/// (default: right after the ring), checked like any DMA write.
#[test]
fn stray_write_fault_sends_the_record_elsewhere() {
    let mut rig = Rig::new(2, 64);
    let cause = Cause::default();
    let mut fault = Fault::new(FaultKind::StrayWrite);
    let default_target = RecordInput {
        fault: Some((&fault, &cause)),
        ..input(0, 1)
    };
    let out = rig.produce(&default_target);
    let Outcome::Record(rec) = out else {
        panic!("expected a record, got {}", describe(&out))
    };
    assert_eq!(rec.stray, Some(RING + 2 * 64));
    let r = rec.result.expect_err("not handed: refused");
    assert_eq!((r.code, r.addr), (ERR_DMA_STRAY, RING + 128));
    assert_eq!(rig.mem(RING, 192), vec![0; 192]);

    let target = GUEST + 0x8000;
    rig.san
        .hand(Role::StatusBlock, [(Span::new(target, 64), None)]);
    fault.arg = target;
    let handed_target = RecordInput {
        fault: Some((&fault, &cause)),
        ..input(0, 1)
    };
    let out = rig.produce(&handed_target);
    let Outcome::Record(rec) = out else {
        panic!("expected a record, got {}", describe(&out))
    };
    assert_eq!((rec.stray, rec.result.ok()), (Some(target), Some(true)));
    let h = verify_record(&rig.mem(target, 64), SEED).unwrap();
    assert_eq!(h.seq, 0, "the refused record did not count");
    assert_eq!(rig.mem(RING, 64), vec![0; 64], "its slot stays empty");
    assert_eq!(
        rig.engine.prod(),
        1,
        "the engine believes it wrote the slot"
    );
}

/// SPEC §14.1 corrupt-*: one byte flipped after the write; the bytes kept
/// for the trace are the record as written, before the flip.
#[test]
fn corrupt_fault_flips_one_byte_after_the_trace_copy() {
    let mut rig = Rig::new(2, 64);
    let cause = Cause::default();
    let mut fault = Fault::new(FaultKind::CorruptPayload);
    fault.arg = 27; // payload byte 27 % 24 = 3
    fault.arg2 = 0x81;
    let corrupt = RecordInput {
        fault: Some((&fault, &cause)),
        tracing: true,
        ..input(0, 1)
    };
    let out = rig.produce(&corrupt);
    let Outcome::Record(rec) = out else {
        panic!("expected a record, got {}", describe(&out))
    };
    let c = rec.corrupted.expect("a byte flipped");
    let at = RING + RECORD_HEADER_SIZE as u64 + 3;
    assert_eq!((c.kind, c.iova), (FaultKind::CorruptPayload, at));
    assert_eq!(rig.mem(at, 1), [c.byte]);
    let mut traced = Vec::new();
    rig.engine
        .drain_written(|a, b| traced.push((a, b.to_vec())));
    assert_eq!(traced.len(), 1);
    assert_eq!(traced[0].0, RING);
    verify_record(&traced[0].1, SEED).expect("traced before the flip");
    assert_eq!(traced[0].1[43] ^ 0x81, c.byte);
    assert!(verify_record(&rig.mem(RING, 64), SEED).is_err());
    rig.engine.drain_written(|_, _| panic!("drained twice"));

    fault.kind = FaultKind::CorruptHeader;
    fault.arg = 8;
    let header = RecordInput {
        fault: Some((&fault, &cause)),
        ..input(0, 1)
    };
    let Outcome::Record(rec) = rig.produce(&header) else {
        panic!("expected a record")
    };
    assert_eq!(rec.corrupted.map(|c| c.iova), Some(RING + 64 + 8));
    assert_eq!(rig.mem(RING + 64 + 8, 1), [1 ^ 0x81], "seq 1's low byte");
}

/// SPEC §6.6 time trigger: due once the oldest pending record has waited
/// COAL_NS; 0 turns it off; nothing pending, nothing due.
#[test]
fn coalescing_by_time() {
    let mut rig = Rig::new(8, 64);
    assert_eq!(rig.engine.coalesce_deadline(5000), None);
    rig.write(1000, 100);
    rig.write(3000, 100);
    assert_eq!(rig.engine.coalesce_deadline(5000), Some(6000));
    assert_eq!(rig.engine.coalesce_deadline(0), None);
    assert!(!rig.engine.coalesce_due(5999, 5000));
    assert!(!rig.engine.coalesce_due(1 << 40, 0));
    assert!(rig.engine.coalesce_due(6000, 5000));
    assert!(!rig.engine.coalesce_due(9000, 5000), "signalled once");
    assert_eq!(rig.engine.coalesce_deadline(5000), None);
    rig.write(9000, 100);
    assert_eq!(rig.engine.coalesce_deadline(10), Some(9010));
    assert!(rig.engine.take_pending());
    assert!(!rig.engine.take_pending());
}

/// SPEC §6.5: the free-running schedule: a batch at unlimited rate, else
/// the records due since the schedule started; it restarts when it lags
/// by more than a batch.
#[test]
fn free_running_schedule() {
    let rig = Rig::new(8, 64);
    assert_eq!(Engine::default().due(0, 0), None, "no ring, nothing due");
    assert_eq!(rig.engine.due(0, 0), Some((ENGINE_BATCH, false)));
    let mut big = Rig::new(8, 64 << 10);
    assert_eq!(big.engine.due(0, 0), Some((4, false)), "256 KiB a batch");
    big.engine.restart_schedule(1_000_000);
    assert_eq!(big.engine.due(1_000_000, 1000), Some((0, false)));
    assert_eq!(big.engine.due(3_500_000, 1000), Some((2, false)));
    assert_eq!(big.engine.next_due_at(1000), 2_000_000);
    big.engine.scheduled_one();
    big.engine.scheduled_one();
    assert_eq!(big.engine.due(3_500_000, 1000), Some((0, false)));
    assert_eq!(big.engine.next_due_at(1000), 4_000_000);
    assert_eq!(big.engine.next_due_at(3), 1_000_000 + 1_000_000_000);
    // Two records produced; lagging means more than a batch behind.
    let behind = |n: u64| 1_000_000 + (2 + n) * 1_000_000;
    let batch = u64::from(ENGINE_BATCH);
    assert_eq!(big.engine.due(behind(batch), 1000), Some((4, false)));
    assert_eq!(big.engine.due(behind(batch + 1), 1000), Some((4, true)));
}

/// SPEC §5.3: the status block generation counts on across a fresh
/// enable; reset (a new engine) starts it over. Its address is the one
/// latched at start until forgotten.
#[test]
fn status_block_generation_and_address() {
    let mut rig = Rig::new(2, 64);
    assert_eq!(rig.engine.status_addr(), Some(GUEST));
    assert_eq!(rig.engine.next_status_gen(), 1);
    assert_eq!(rig.engine.next_status_gen(), 2);
    rig.engine.forget_status_addr();
    assert_eq!(rig.engine.status_addr(), None);
    rig.write(0, 1);
    rig.engine.forget();
    assert_eq!(rig.engine.next_status_gen(), 3);
    assert_eq!((rig.engine.prod(), rig.engine.status_addr()), (0, None));
    assert!(!rig.engine.is_running());
    assert_eq!(Engine::default().next_status_gen(), 1);
}

/// SPEC §5.5, §15.1: a record straddling two SG pages is written in two
/// pieces; the bytes kept for the trace are each piece's, in order.
#[test]
fn traced_pieces_are_the_record_as_written() {
    let mut rig = Rig::new(4, 64);
    let pages = vec![GUEST + 0x8000, GUEST + 0x4000];
    let sg = Ring {
        layout: Layout::Sg {
            pages: pages.clone(),
        },
        entries: 8,
        record_size: 1000,
    };
    rig.san.hand(Role::Ring, ring_pieces(&sg));
    rig.engine.forget();
    rig.engine.start(sg, SEED, GUEST, 0);
    let traced = RecordInput {
        tracing: true,
        ..input(0, 100)
    };
    let mut pieces = Vec::new();
    for _ in 0..5 {
        assert!(matches!(rig.produce(&traced), Outcome::Record(_)));
        pieces.clear();
        rig.engine
            .drain_written(|a, b| pieces.push((a, b.to_vec())));
    }
    // Slot 4 is ring bytes 4000..5000: 96 in page 0, 904 in page 1.
    let addrs: Vec<(u64, usize)> = pieces.iter().map(|(a, b)| (*a, b.len())).collect();
    assert_eq!(addrs, [(pages[0] + 4000, 96), (pages[1], 904)]);
    for (a, b) in &pieces {
        assert_eq!(&rig.mem(*a, b.len()), b, "piece at {a:#x}");
    }
    let whole: Vec<u8> = pieces.into_iter().flat_map(|(_, b)| b).collect();
    assert_eq!(verify_record(&whole, SEED).unwrap().seq, 4);
}
