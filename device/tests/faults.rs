//! Fault injection (SPEC §14), driven through the card model like a driver
//! would, with a sealed memfd as guest memory. For every fault kind: the
//! fault does what §14.1 says, two runs with the same seed, plan and guest
//! actions are identical bit for bit (guest memory, BAR2, interrupt
//! sequence, register values, trace; §14.6), and the recorded run replays
//! without divergence (§15.2).

mod common;

use std::io::Write;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

use cardless_abi::record::{
    verify_record, RecordError, StatusBlock, RECORD_HEADER_SIZE, STATUS_BLOCK_SIZE,
};
use cardless_abi::regs::*;
use cardless_device::dma::DmaSpace;
use cardless_device::fault::FaultPlan;
use cardless_device::model::{Card, CardConfig, IrqSink};
use cardless_device::replay::{replay_text, Outcome};
use cardless_device::trace::Tracer;
use common::GuestMemory;

const GUEST: u64 = 0x10_0000;
const GUEST_SIZE: usize = 1 << 20;
const SB: u64 = GUEST;
const RING: u64 = GUEST + 0x1000;
const ENTRIES: u32 = 16;
const RS: u32 = 256;
const SEED: u64 = 0x5eed;
const BAR2: u64 = 1 << 16;

#[derive(Default)]
struct Irqs(Mutex<Vec<u16>>);

impl IrqSink for Irqs {
    fn raise(&self, vector: u16) {
        self.0.lock().unwrap().push(vector);
    }
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Rig {
    card: Card,
    guest: GuestMemory,
    irqs: Arc<Irqs>,
    trace: Buf,
    /// Every register value the script read, in order.
    reads: Mutex<Vec<u32>>,
}

/// Everything observable about a run.
#[derive(Debug, PartialEq, Eq)]
struct Outcome1 {
    guest: Vec<u8>,
    bar2: Vec<u8>,
    irqs: Vec<u16>,
    reads: Vec<u32>,
    trace: String,
}

impl Rig {
    fn new(plan: &str, debug_window: bool) -> Rig {
        Rig::with(plan, debug_window, true)
    }

    /// A card whose engine thread runs on its own (SPEC §6.5) in real time.
    fn free_running(plan: &str) -> Rig {
        Rig::with(plan, false, false)
    }

    fn with(plan: &str, debug_window: bool, deterministic: bool) -> Rig {
        let faults = FaultPlan::parse(plan).expect("test plan parses");
        let dma = Arc::new(DmaSpace::new());
        let guest = GuestMemory::new(GUEST_SIZE);
        let irqs = Arc::new(Irqs::default());
        let trace = Buf::default();
        let cfg = CardConfig {
            deterministic,
            seed: SEED,
            bar2_size: BAR2,
            faults,
            debug_window,
            ..CardConfig::default()
        };
        let card = Card::with_tracer(
            cfg,
            dma,
            irqs.clone(),
            Tracer::to_writer(Box::new(trace.clone())),
        )
        .unwrap();
        let fd = guest.fd.as_fd().try_clone_to_owned().unwrap();
        card.dma_map(GUEST, GUEST_SIZE as u64, fd, 0, true).unwrap();
        Rig {
            card,
            guest,
            irqs,
            trace,
            reads: Mutex::new(Vec::new()),
        }
    }

    fn w(&self, reg: u64, v: u32) {
        self.card.bar_write(BAR_REGS, reg, &v.to_le_bytes());
    }

    fn r(&self, reg: u64) -> u32 {
        let mut b = [0u8; 4];
        self.card.bar_read(BAR_REGS, reg, &mut b);
        let v = u32::from_le_bytes(b);
        self.reads.lock().unwrap().push(v);
        v
    }

    fn mem(&self, iova: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.guest.read((iova - GUEST) as usize, &mut v);
        v
    }

    fn slot(&self, i: u32) -> Result<u64, RecordError> {
        verify_record(&self.mem(RING + u64::from(i * RS), RS as usize), SEED).map(|h| h.seq)
    }

    fn irq_count(&self) -> usize {
        self.irqs.0.lock().unwrap().len()
    }

    /// A contiguous ring of `entries` records at RING, the status block at
    /// SB, enabled with write-back (INT_MASK and the rest as written before).
    fn enable_ring(&self, entries: u32) {
        self.w(RING_BASE_LO, RING as u32);
        self.w(RING_ENTRIES, entries);
        self.w(RECORD_SIZE, RS);
        self.w(STATUS_ADDR_LO, SB as u32);
        self.w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB);
    }

    /// The standard guest script: start a ring, step, consume, copy.
    fn drive(&self) {
        self.w(RING_BASE_LO, RING as u32);
        self.w(RING_BASE_HI, 0);
        self.w(RING_ENTRIES, ENTRIES);
        self.w(RECORD_SIZE, RS);
        self.w(STATUS_ADDR_LO, SB as u32);
        self.w(INT_MASK, INT_ALL);
        self.w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB);
        for _ in 0..6 {
            self.w(STEP, 3);
            let prod = self.r(PROD_IDX);
            self.w(CONS_IDX, prod);
            let st = self.r(INT_STATUS);
            self.w(INT_STATUS, st);
        }
        self.card
            .bar_write(BAR_MEM, 0x100, b"written through a trapped BAR2 access");
        self.w(COPY_BAR_OFF, 0x100);
        self.w(COPY_LEN, 64);
        self.w(COPY_HOST_LO, (GUEST + 0x8000) as u32);
        self.w(COPY_HOST_HI, 0);
        self.w(COPY_CTRL, COPY_OP_TO_HOST);
        for reg in [STATUS, CNT_PRODUCED, CNT_IRQS, ERROR_CODE, VTIME_LO] {
            self.r(reg);
        }
    }

    fn finish(self) -> Outcome1 {
        self.card.shutdown();
        let mut bar2 = vec![0; BAR2 as usize];
        assert!(self.card.bar2().read(0, &mut bar2));
        Outcome1 {
            guest: self.mem(GUEST, GUEST_SIZE),
            bar2,
            irqs: self.irqs.0.lock().unwrap().clone(),
            reads: self.reads.lock().unwrap().clone(),
            trace: String::from_utf8(self.trace.0.lock().unwrap().clone()).unwrap(),
        }
    }
}

/// SPEC §14.1, §6.5: a held interrupt message is released on time by the
/// card's own clock, even when the engine has nothing else to do (its ring
/// is full) and the guest only waits for the message, touching no register.
#[test]
fn a_held_message_is_released_while_the_engine_idles() {
    let rig = Rig::free_running("delay-irq rec=0 ns=20000000 count=4");
    rig.w(INT_MASK, INT_ALL);
    rig.enable_ring(4);
    let start = std::time::Instant::now();
    let deadline = start + std::time::Duration::from_secs(5);
    while rig.irq_count() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the held DATA_READY never came (20 ms hold, 5 s waited)"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // Every message of the 4-record ring was held (count=4): none is early.
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(20),
        "released early"
    );
    rig.card.shutdown();
}

/// SPEC §5.3, §6.5: a free-running engine woken before its next record is
/// due (a guest write that makes it plan again) moves nothing and writes no
/// status block: the guest's bytes there stay until the next record.
#[test]
fn an_early_wake_up_writes_no_status_block() {
    let rig = Rig::free_running("");
    rig.w(RATE, 2);
    rig.enable_ring(4);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while rig.r(PROD_IDX) < 1 {
        assert!(std::time::Instant::now() < deadline, "no record in 5 s");
    }
    // The next record is 500 ms away; its write-back is done by now.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let marker = [0xa5u8; STATUS_BLOCK_SIZE];
    rig.guest.write((SB - GUEST) as usize, &marker);
    for _ in 0..5 {
        rig.w(COAL_COUNT, 1); // makes the engine thread plan again
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(rig.r(PROD_IDX), 1, "no record due yet");
    assert_eq!(
        rig.mem(SB, STATUS_BLOCK_SIZE),
        marker,
        "a status block write-back with nothing moved"
    );
    rig.card.shutdown();
}

/// Runs the standard script under `plan`.
fn run(plan: &str) -> (Rig, Outcome1) {
    let rig = Rig::new(plan, false);
    rig.drive();
    let probe = Rig::new(plan, false);
    probe.drive();
    (probe, rig.finish())
}

/// What a fault must have done: (a rig that ran it, its outcome, the
/// outcome without faults).
type Check = fn(&Rig, &Outcome1, &Outcome1);

/// One plan per fault kind (SPEC §14.1), with what it must do.
fn plans() -> Vec<(&'static str, Check)> {
    vec![
        ("drop-irq rec=4 cause=data-ready", |_, o, base| {
            assert_eq!(o.irqs.len() + 1, base.irqs.len());
            assert!(o.trace.contains("\"act\":\"drop\""));
        }),
        ("dup-irq rec=4 count=2", |_, o, base| {
            assert_eq!(o.irqs.len(), base.irqs.len() + 2);
        }),
        ("delay-irq rec=4 ns=2500", |_, o, base| {
            assert_eq!(o.irqs.len(), base.irqs.len(), "held message released later");
            let hold = o.trace.find("\"act\":\"hold\"").unwrap();
            let release = o.trace.find("\"act\":\"release\"").unwrap();
            assert!(hold < release);
        }),
        ("corrupt-payload rec=2 byte=8 xor=0x40", |rig, _, _| {
            assert!(matches!(rig.slot(2), Err(RecordError::Checksum)));
            assert_eq!(rig.slot(3), Ok(3));
        }),
        ("corrupt-header rec=5", |rig, _, _| {
            assert!(rig.slot(5).is_err(), "seq byte flipped");
            assert_eq!(rig.slot(4), Ok(4));
        }),
        ("stall at=4000 ns=5000", |_, o, base| {
            // 5 us of VTIME = 5 record periods produce nothing.
            assert_eq!(o.reads[13], base.reads[13] - 5, "CNT_PRODUCED");
            assert_eq!(
                o.reads[12] & STS_RUNNING,
                STS_RUNNING,
                "still reads as running"
            );
        }),
        ("stall rec=6\nresume at=12000", |_, o, base| {
            assert!(o.reads[13] < base.reads[13]);
            assert!(o.trace.contains("\"kind\":\"resume\",\"act\":\"fire\""));
        }),
        ("stray-write rec=3", |rig, o, _| {
            assert_eq!(
                rig.mem(RING + 3 * u64::from(RS), 8),
                [0; 8],
                "slot 3 never written"
            );
            // Mapped but never handed to the card: the sanitizer (§16)
            // refuses it, nothing lands after the ring.
            let end = RING + u64::from(ENTRIES * RS);
            assert!(o.trace.contains(&format!("\"arg\":\"{end:#x}\"")));
            assert_eq!(rig.mem(end, RS as usize), vec![0; RS as usize]);
            assert!(o.trace.contains(&format!(
                "\"ev\":\"error\",\"code\":{ERR_DMA_STRAY},\"addr\":\"{end:#x}\""
            )));
            assert!(o.trace.contains("\"ev\":\"sanitizer\",\"check\":\"stray\""));
            assert_eq!(rig.r(ERROR_CODE), ERR_DMA_STRAY);
        }),
        ("stray-write rec=1 addr=0x4000_0000", |_, o, _| {
            // Outside every mapping: the card still never touches it (§10).
            assert!(o
                .trace
                .contains("\"ev\":\"error\",\"code\":1,\"addr\":\"0x40000000\""));
        }),
        ("surprise-removal rec=5", |_, o, base| {
            assert!(
                o.reads.iter().skip(2).all(|&v| v == u32::MAX),
                "{:x?}",
                o.reads
            );
            assert!(o.bar2.iter().all(|&b| b == 0xff), "BAR2 all-ones");
            assert!(o.irqs.len() < base.irqs.len());
            // No DMA after the removal.
            let removed = o.trace.find("\"kind\":\"surprise-removal\"").unwrap();
            assert!(!o.trace[removed..].contains("\"ev\":\"dma\""));
        }),
        ("link-down rec=5 ns=120000", |_, o, base| {
            // Three completion timeouts (50 us each) bring it back.
            let ones = o.reads.iter().filter(|&&v| v == u32::MAX).count();
            assert!((1..=3).contains(&ones), "{:x?}", o.reads);
            assert_ne!(*o.reads.last().unwrap(), u32::MAX, "link back up");
            assert!(o.reads[13] < base.reads[13]);
        }),
        ("status-lost rec=4 count=2", |_, o, base| {
            // Records, registers and interrupts as without the fault.
            assert_eq!(o.reads, base.reads);
            assert_eq!(o.irqs, base.irqs);
            let lost = o.trace.matches("\"kind\":\"status-lost\",\"act\":\"lost\"");
            assert_eq!(lost.count(), 2);
        }),
        ("link-down rec=7\nlink-up at=300000", |_, o, _| {
            assert!(o.trace.contains("\"kind\":\"link-up\",\"act\":\"fire\""));
            assert_ne!(*o.reads.last().unwrap(), u32::MAX);
        }),
    ]
}

/// SPEC §14.1, §14.6, §15.2: each kind acts, reproduces bit for bit, replays.
#[test]
fn every_fault_kind_acts_reproduces_and_replays() {
    let (_, base) = run("");
    for (plan, check) in plans() {
        let (probe, first) = run(plan);
        let (_, second) = run(plan);
        assert!(first == second, "{plan}: two runs differ");
        assert!(
            first.trace.contains("\"ev\":\"fault\""),
            "{plan}: no fault in trace"
        );
        check(&probe, &first, &base);
        match replay_text(&first.trace).unwrap() {
            Outcome::Match(n) => assert!(n > 50, "{plan}: {n} events"),
            Outcome::Diverged(d) => panic!("{plan}: replay diverged: {d}"),
        }
    }
}

/// The status block in guest memory.
fn status_block(rig: &Rig) -> StatusBlock {
    StatusBlock::from_bytes(&rig.mem(SB, STATUS_BLOCK_SIZE).try_into().unwrap())
}

/// A stream whose only write-backs are the enable's and one per `STEP`
/// (DATA_READY coalesced away): after each of `steps` single-record STEPs,
/// the status block and PROD_IDX.
fn step_write_backs(rig: &Rig, steps: usize) -> Vec<(StatusBlock, u32)> {
    rig.w(COAL_COUNT, 1000);
    rig.w(INT_MASK, INT_ALL);
    rig.enable_ring(ENTRIES);
    (0..steps)
        .map(|_| {
            rig.w(STEP, 1);
            (status_block(rig), rig.r(PROD_IDX))
        })
        .collect()
}

/// SPEC §5.3, §14.1: `status-lost count=3` from record 2 on: the status
/// block keeps its old contents for exactly three write-backs, while
/// records, PROD_IDX and interrupts go on as without the fault; the fourth
/// write-back lands, identical to the fault-free run's (the lost ones
/// counted in `generation`). No error.
#[test]
fn lost_status_write_backs_keep_the_old_block_then_catch_up() {
    let clean = step_write_backs(&Rig::new("", false), 7);
    let rig = Rig::new("status-lost rec=2 count=3", false);
    let lossy = step_write_backs(&rig, 7);
    for (i, ((sb, prod), (clean_sb, clean_prod))) in lossy.iter().zip(&clean).enumerate() {
        assert_eq!(prod, clean_prod, "PROD_IDX after STEP {i}");
        assert_eq!(rig.slot(i as u32), Ok(i as u64), "record {i}");
        let want = if (2..5).contains(&i) {
            &clean[1].0
        } else {
            clean_sb
        };
        assert_eq!(sb, want, "status block after STEP {i}");
    }
    assert_eq!(lossy[5].0.generation, 7, "enable + 6 STEPs, 3 of them lost");
    assert_eq!((rig.r(ERROR_CODE), rig.r(CNT_ERRORS)), (0, 0));
    let o = rig.finish();
    let lost = o.trace.matches("\"kind\":\"status-lost\",\"act\":\"lost\"");
    assert_eq!(lost.count(), 3);
    assert!(o
        .trace
        .contains(&format!("\"act\":\"lost\",\"arg\":\"{SB:#x}\"")));
}

/// SPEC §14.4: `status-lost` through the debug window: DBG_COUNT write-backs
/// lost (the enable's, then one STEP's), the next one lands.
#[test]
fn status_lost_from_the_debug_window() {
    let rig = Rig::new("", true);
    rig.w(DBG_KIND, FAULT_STATUS_LOST);
    rig.w(DBG_COUNT, 2);
    rig.w(DBG_CMD, DBG_CMD_SCHEDULE);
    assert_eq!(rig.r(DBG_CMD_STATUS), DBG_ST_OK);
    assert_eq!(rig.r(DBG_FIRED), 1);
    let steps = step_write_backs(&rig, 2);
    assert_eq!(
        steps[0].0,
        StatusBlock::default(),
        "enable's and STEP 0's lost"
    );
    assert_eq!((steps[1].0.prod_idx, steps[1].0.generation), (2, 3));
}

/// SPEC §14.4: the debug window schedules faults, reports them, stays
/// reachable while the link is down; without --debug-window it is a hole.
#[test]
fn debug_window() {
    let rig = Rig::new("", true);
    assert_ne!(rig.r(FEATURES) & FEAT_DEBUG, 0);
    assert_eq!(rig.r(DBG_ID), DBG_ID_VALUE);
    // A bad kind, a bad trigger, a bad command, a bad argument.
    rig.w(DBG_KIND, 99);
    rig.w(DBG_CMD, DBG_CMD_SCHEDULE);
    assert_eq!(rig.r(DBG_CMD_STATUS), DBG_ST_BAD_KIND);
    rig.w(DBG_KIND, FAULT_CORRUPT_HEADER);
    rig.w(DBG_TRIGGER, 7);
    rig.w(DBG_CMD, DBG_CMD_SCHEDULE);
    assert_eq!(rig.r(DBG_CMD_STATUS), DBG_ST_BAD_TRIGGER);
    rig.w(DBG_TRIGGER, DBG_TRIG_RECORD);
    rig.w(DBG_ARG_LO, 40);
    rig.w(DBG_CMD, DBG_CMD_SCHEDULE);
    assert_eq!(rig.r(DBG_CMD_STATUS), DBG_ST_BAD_ARG);
    rig.w(DBG_CMD, 77);
    assert_eq!(rig.r(DBG_CMD_STATUS), DBG_ST_BAD_CMD);
    // Schedule a header corruption of record 2 and a drop of the next IRQ.
    rig.w(DBG_ARG_LO, 0);
    rig.w(DBG_WHEN_LO, 2);
    rig.w(DBG_CMD, DBG_CMD_SCHEDULE);
    assert_eq!(rig.r(DBG_CMD_STATUS), DBG_ST_OK);
    assert_eq!(rig.r(DBG_SCHEDULED), 1);
    rig.w(DBG_KIND, FAULT_DROP_IRQ);
    rig.w(DBG_TRIGGER, DBG_TRIG_VTIME);
    rig.w(DBG_WHEN_LO, 0);
    rig.w(DBG_CMD, DBG_CMD_SCHEDULE);
    assert_eq!(rig.r(DBG_FIRED), 1, "at VTIME 0: fires at once");
    rig.drive();
    assert!(matches!(rig.slot(2), Err(RecordError::Magic)));
    assert_eq!(rig.r(DBG_FIRED), 2);
    // Link down through the window; registers read all-ones, the window not.
    rig.w(DBG_KIND, FAULT_LINK_DOWN);
    rig.w(DBG_ARG_LO, 0);
    rig.w(DBG_CMD, DBG_CMD_SCHEDULE);
    assert_eq!(rig.r(ID), u32::MAX);
    assert_eq!(rig.r(DBG_STATE), DBG_STATE_LINK_DOWN);
    rig.w(DBG_KIND, FAULT_LINK_UP);
    rig.w(DBG_CMD, DBG_CMD_SCHEDULE);
    assert_eq!(rig.r(ID), ID_VALUE);
    // Cancel: scheduled faults that did not fire are gone.
    rig.w(DBG_TRIGGER, DBG_TRIG_RECORD);
    rig.w(DBG_WHEN_LO, 1000);
    rig.w(DBG_CMD, DBG_CMD_SCHEDULE);
    assert_eq!(rig.r(DBG_SCHEDULED), 1);
    rig.w(DBG_CMD, DBG_CMD_CANCEL_ALL);
    assert_eq!(rig.r(DBG_SCHEDULED), 0);
    let o = rig.finish();
    assert!(matches!(replay_text(&o.trace).unwrap(), Outcome::Match(_)));

    let plain = Rig::new("", false);
    assert_eq!(plain.r(FEATURES) & FEAT_DEBUG, 0);
    assert_eq!(plain.r(DBG_ID), 0, "a hole without --debug-window");
    assert_eq!(plain.r(CNT_BAD_ACCESS), 1);
}

/// SPEC §14.3: a VFIO device reset brings a removed card back; CONTROL
/// writes cannot reach it; BAR2 stays all-ones.
#[test]
fn removal_until_vmm_reset() {
    let rig = Rig::new("surprise-removal at=0", false);
    assert_eq!(rig.r(ID), u32::MAX);
    rig.w(CONTROL, CTRL_RESET);
    assert_eq!(rig.r(ID), u32::MAX);
    let mut b = [0u8; 8];
    rig.card.bar_read(BAR_MEM, 0, &mut b);
    assert_eq!(b, [0xff; 8]);
    rig.card.reset();
    assert_eq!(rig.r(ID), ID_VALUE);
    rig.card.bar_read(BAR_MEM, 0, &mut b);
    assert_eq!(b, [0xff; 8], "BAR2 keeps what removal left");
    rig.drive();
    assert_eq!(rig.slot(2), Ok(2));
    assert!(rig.irq_count() > 0);
}

/// SPEC §14.1: a payload corruption hits the byte asked for, modulo the
/// payload length, and only that byte.
#[test]
fn corruption_is_one_byte() {
    let (clean, _) = run("");
    let (hit, _) = run(&format!(
        "corrupt-payload rec=2 byte={} xor=0x1",
        RS * 3 + 5
    ));
    let a = clean.mem(RING + 2 * u64::from(RS), RS as usize);
    let b = hit.mem(RING + 2 * u64::from(RS), RS as usize);
    let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    let payload = (RS as usize) - RECORD_HEADER_SIZE;
    assert_eq!(diff, [RECORD_HEADER_SIZE + (RS as usize * 3 + 5) % payload]);
    assert_eq!(a[diff[0]] ^ b[diff[0]], 1);
}
