//! The DMA sanitizer (SPEC §16) through the vfio-user protocol: a card
//! served on a real socket, driven by the `vfio_user` crate's client with
//! a sealed memfd as guest RAM, tracing to a file. Stray writes into
//! mapped memory the driver never handed are refused and explained, a DMA
//! after DMA_UNMAP names the unmap, overlapping rings are refused at
//! enable; reports and traces are identical run to run, and replay.

mod common;

use std::os::fd::AsFd;
use std::path::PathBuf;

use cardless_abi::regs::*;
use cardless_device::fault::FaultPlan;
use cardless_device::model::{CardConfig, SanitizerReport};
use cardless_device::replay::{replay_text, Outcome};
use common::*;

/// Guest RAM at this IOVA: status block, then the ring, then free memory.
const IOVA: u64 = 0x4000_0000;
const RAM: usize = 1 << 20;
const SB: u64 = IOVA;
const RING: u64 = IOVA + 0x1000;
const ENTRIES: u32 = 8;
const RS: u32 = 256;
const RING_END: u64 = RING + (ENTRIES * RS) as u64;
/// A second mapping, for rings the driver frees.
const IOVA2: u64 = 0x8000_0000;
const RAM2: usize = 64 << 10;

/// A served card, its client, guest RAM, MSI-X eventfds and trace file.
struct Rig {
    server: TestServer,
    client: vfio_user::Client,
    ram: GuestMemory,
    vectors: Vec<EventFd>,
    trace: PathBuf,
    _dir: PathBuf,
}

impl Rig {
    fn new(plan: &str) -> Rig {
        Rig::with(CardConfig {
            deterministic: true,
            faults: FaultPlan::parse(plan).expect("test plan parses"),
            ..CardConfig::default()
        })
    }

    /// A card of `config` (its seed and trace file are the rig's).
    fn with(config: CardConfig) -> Rig {
        let dir = tempdir();
        let trace = dir.join("trace.jsonl");
        let server = TestServer::with_config(CardConfig {
            seed: 0x5eed,
            trace: Some(trace.clone()),
            ..config
        });
        let mut client = server.client();
        let ram = GuestMemory::mapped(&mut client, IOVA, RAM);
        let vectors = common::wire_msix(&mut client);
        Rig {
            server,
            client,
            ram,
            vectors,
            trace,
            _dir: dir,
        }
    }

    fn w(&mut self, reg: u64, v: u32) {
        write32(&mut self.client, REGION_BAR0, reg, v);
    }

    fn w64(&mut self, lo: u64, v: u64) {
        self.w(lo, v as u32);
        self.w(lo + 4, (v >> 32) as u32);
    }

    fn r(&mut self, reg: u64) -> u32 {
        read32(&mut self.client, REGION_BAR0, reg)
    }

    fn error_addr(&mut self) -> u64 {
        u64::from(self.r(ERROR_ADDR_LO)) | u64::from(self.r(ERROR_ADDR_HI)) << 32
    }

    fn mem(&self, iova: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.ram.read((iova - IOVA) as usize, &mut v);
        v
    }

    /// Programs a contiguous ring at `ring` (status block at SB) and enables.
    fn start(&mut self, ring: u64, ctrl: u32) {
        self.w64(RING_BASE_LO, ring);
        self.w(RING_ENTRIES, ENTRIES);
        self.w(RECORD_SIZE, RS);
        self.w64(STATUS_ADDR_LO, SB);
        self.w(INT_MASK, INT_ALL);
        self.w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB | ctrl);
    }

    /// Maps fresh memory at IOVA2 (as a guest IOMMU maps a new ring); the
    /// memory stays as long as the returned value.
    fn map_at_iova2(&mut self) -> GuestMemory {
        GuestMemory::mapped(&mut self.client, IOVA2, RAM2)
    }

    /// The ERROR vector fired since the last call.
    fn error_irq(&self) -> bool {
        self.vectors[usize::from(VEC_ERROR)].take() != 0
    }

    fn reports(&self) -> Vec<SanitizerReport> {
        self.server.card.card().sanitizer_reports()
    }

    fn trace_text(&self) -> String {
        self.server.card.card().flush_trace();
        std::fs::read_to_string(&self.trace).expect("trace file")
    }

    /// Trace line `n` (1-based event number).
    fn event(&self, n: u64) -> String {
        let text = self.trace_text();
        text.lines().nth(n as usize - 1).unwrap_or("").to_owned()
    }
}

fn replays(trace: &str) {
    match replay_text(trace).unwrap() {
        Outcome::Match(n) => assert!(n > 10, "{n} events"),
        Outcome::Diverged(d) => panic!("replay diverged: {d}"),
    }
}

/// What a stray-write run leaves: reports, trace, the bytes around the ring.
fn stray_run() -> (Vec<SanitizerReport>, String, Vec<u8>) {
    let target = IOVA + 0x4_0000;
    let mut rig = Rig::new(&format!("stray-write rec=2 addr={target:#x}"));
    rig.ram.write(0x4_0000, &[0x5a; RS as usize]);
    rig.start(RING, 0);
    rig.w(STEP, 4);
    assert_eq!(rig.r(ERROR_CODE), ERR_DMA_STRAY);
    assert_eq!(rig.error_addr(), target);
    assert_eq!(rig.r(PROD_IDX), 2, "records 0 and 1 landed, 2 was refused");
    assert_eq!(rig.r(STATUS) & STS_RUNNING, 0, "the engine stopped");
    assert!(rig.error_irq(), "ERROR raised");
    assert_eq!(
        rig.mem(target, RS as usize),
        vec![0x5a; RS as usize],
        "not one byte written"
    );
    assert_eq!(
        rig.mem(RING + 2 * u64::from(RS), 8),
        [0; 8],
        "nor in slot 2"
    );
    let reports = rig.reports();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    let r = &reports[0];
    assert_eq!((r.check, r.addr, r.len), ("stray", target, u64::from(RS)));
    // The report names the range, the handed range it missed and the cause.
    for want in [
        format!("at {target:#x}"),
        "stray-write fault firing".into(),
        format!("the ring {RING:#x}..{RING_END:#x}"),
        "BAR0+0x10 (CONTROL) write 0x9".into(),
    ] {
        assert!(r.message.contains(&want), "{want}: {}", r.message);
    }
    let cause = rig.event(r.cause.expect("traced"));
    assert!(
        cause.contains("\"kind\":\"stray-write\",\"act\":\"fire\""),
        "{cause}"
    );
    let trace = rig.trace_text();
    assert!(trace.contains(&format!(
        "\"ev\":\"error\",\"code\":{ERR_DMA_STRAY},\"addr\":\"{target:#x}\""
    )));
    assert!(trace.contains("\"ev\":\"sanitizer\",\"check\":\"stray\""));
    let around = rig.mem(IOVA, 0x8_0000);
    (reports, trace, around)
}

/// SPEC §16.2, §14.6: a stray write into mapped memory outside the ring is
/// refused and explained, identically on every run, and replays.
#[test]
fn stray_write_into_mapped_memory_is_caught() {
    let first = stray_run();
    let second = stray_run();
    assert_eq!(first.0, second.0, "same reports");
    assert!(first.1 == second.1, "bit-identical traces");
    assert!(first.2 == second.2, "bit-identical guest memory");
    replays(&first.1);
}

/// SPEC §16.2: the default stray target (right after the ring) is mapped
/// here but was never handed: caught too.
#[test]
fn default_stray_target_after_the_ring_is_caught() {
    let mut rig = Rig::new("stray-write rec=0");
    rig.start(RING, 0);
    rig.w(STEP, 1);
    assert_eq!(rig.r(ERROR_CODE), ERR_DMA_STRAY);
    assert_eq!(rig.error_addr(), RING_END);
    assert_eq!(rig.mem(RING_END, RS as usize), vec![0; RS as usize]);
    let r = &rig.reports()[0];
    assert!(
        r.message.contains("starts 0x0 bytes after its end"),
        "{}",
        r.message
    );
}

/// SPEC §16.4: the driver frees the ring (DMA_UNMAP, as a guest IOMMU
/// does) without stopping the card: the next record is ERR_DMA_UNMAPPED
/// and the report names the DMA_UNMAP, its range and trace event.
#[test]
fn dma_after_unmap_of_the_ring_names_the_unmap() {
    let mut rig = Rig::new("");
    let _ring2 = rig.map_at_iova2();
    rig.start(IOVA2, 0);
    rig.w(STEP, 2);
    assert_eq!(rig.r(ERROR_CODE), 0);
    rig.client.dma_unmap(IOVA2, RAM2 as u64).unwrap();
    rig.w(STEP, 1);
    let slot2 = IOVA2 + 2 * u64::from(RS);
    assert_eq!(
        rig.r(ERROR_CODE),
        ERR_DMA_UNMAPPED,
        "register semantics kept"
    );
    assert_eq!(rig.error_addr(), slot2);
    assert!(rig.error_irq());
    let r = rig.reports().pop().expect("a report");
    assert_eq!((r.check, r.addr), ("unmapped", slot2));
    for want in [
        format!("DMA_UNMAP {IOVA2:#x}+{:#x}", RAM2),
        "the ring".into(),
        "without stopping the card".into(),
        "BAR0+0x74 (STEP) write 0x1".into(),
    ] {
        assert!(r.message.contains(&want), "{want}: {}", r.message);
    }
    let unmap = rig.event(r.cause.expect("traced"));
    assert!(unmap.contains("\"ev\":\"dma_unmap\""), "{unmap}");
    assert!(
        unmap.contains(&format!("\"addr\":\"{IOVA2:#x}\"")),
        "{unmap}"
    );
    replays(&rig.trace_text());
}

/// SPEC §16.4, §12: a finding on the free-running engine's own time names
/// the guest's last action; when that is a read, whose trace line comes
/// after it, the finding names no trace event (never the event before the
/// read, which is some other action's).
#[test]
fn a_finding_after_a_read_names_no_earlier_trace_event() {
    let mut rig = Rig::with(CardConfig {
        rate: Some(5),
        ..CardConfig::default()
    });
    let _ring2 = rig.map_at_iova2();
    rig.start(IOVA2, 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while rig.r(PROD_IDX) < 1 {
        assert!(std::time::Instant::now() < deadline, "no record in 20 s");
    }
    // The next record (200 ms away) goes to an unmapped ring; the guest
    // reads all along, so a read is its last action by then.
    rig.client.dma_unmap(IOVA2, RAM2 as u64).unwrap();
    while rig.r(ERROR_CODE) == ERR_NONE {
        assert!(std::time::Instant::now() < deadline, "no error in 20 s");
    }
    let r = rig.reports().pop().expect("a report");
    // "DMA to ... during the BAR0+0x20 (ERROR_CODE) read (guest action N, VTIME T ns): ..."
    let during = r.message.split(" during ").nth(1).unwrap_or_default();
    let during = during.split("):").next().unwrap_or_default();
    assert!(during.contains(" read (guest action "), "{}", r.message);
    assert!(!during.contains("trace event"), "{}", r.message);
}

/// SPEC §16.4: an IOVA never mapped is reported as such, not as unmapped.
#[test]
fn never_mapped_is_not_unmapped() {
    let mut rig = Rig::new("");
    rig.start(IOVA2, 0);
    rig.w(STEP, 1);
    assert_eq!(rig.r(ERROR_CODE), ERR_DMA_UNMAPPED);
    let r = rig.reports().pop().expect("a report");
    assert_eq!(r.cause, None);
    assert!(r.message.contains("never mapped"), "{}", r.message);
}

/// SPEC §16.3: the IOVA is mapped again (the IOMMU reused it for other
/// memory) after the driver freed the ring: the card's write is stray, and
/// the report says which DMA_UNMAP took the ring away.
#[test]
fn ring_freed_and_iova_reused_is_stray() {
    let mut rig = Rig::new("");
    let _ring2 = rig.map_at_iova2();
    rig.start(IOVA2, 0);
    rig.w(STEP, 1);
    rig.client.dma_unmap(IOVA2, RAM2 as u64).unwrap();
    let other = rig.map_at_iova2();
    rig.w(STEP, 1);
    assert_eq!(rig.r(ERROR_CODE), ERR_DMA_STRAY);
    let mut b = vec![0u8; RS as usize];
    other.read(RS as usize, &mut b);
    assert!(b.iter().all(|&x| x == 0), "the new memory is untouched");
    let r = rig.reports().pop().expect("a report");
    assert!(
        r.message.contains("taken away by DMA_UNMAP"),
        "{}",
        r.message
    );
    replays(&rig.trace_text());
}

/// SPEC §6.1, §16.1: overlapping areas and SG pages outside mapped memory
/// are refused at enable with the error interrupt.
#[test]
fn overlaps_and_unmapped_pages_are_refused_at_enable() {
    let mut rig = Rig::new("");
    // The status block inside the ring.
    rig.w64(STATUS_ADDR_LO, RING + 0x100);
    rig.w64(RING_BASE_LO, RING);
    rig.w(RING_ENTRIES, ENTRIES);
    rig.w(RECORD_SIZE, RS);
    rig.w(INT_MASK, INT_ALL);
    rig.w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB);
    assert_eq!(rig.r(ERROR_CODE), ERR_RING_OVERLAP);
    assert_eq!(rig.error_addr(), RING + 0x100);
    assert_eq!(rig.r(STATUS) & STS_RUNNING, 0);
    assert!(rig.error_irq());
    let r = rig.reports().pop().unwrap();
    assert_eq!(r.check, "overlap");
    assert!(r.message.contains("status block"), "{}", r.message);

    // SG: page table at TABLE; cases of entries.
    let table = IOVA + 0x2_0000;
    let page = |i: u64| IOVA + 0x3_0000 + i * 0x1000;
    let cases: [(&[u64], u32, u64, &str); 4] = [
        (
            &[page(0), page(1), page(0)],
            ERR_RING_OVERLAP,
            page(0),
            "overlap",
        ),
        (
            &[page(0), table, page(2)],
            ERR_RING_OVERLAP,
            table,
            "overlap",
        ),
        (
            &[page(0), IOVA2, page(2)],
            ERR_BAD_SG_ENTRY,
            IOVA2,
            "sg-unmapped",
        ),
        (&[page(0), page(1), page(2)], ERR_NONE, 0, ""),
    ];
    for (entries, code, addr, check) in cases {
        rig.w(CONTROL, CTRL_RESET);
        let bytes: Vec<u8> = entries.iter().flat_map(|e| e.to_le_bytes()).collect();
        rig.ram.write((table - IOVA) as usize, &bytes);
        rig.w64(RING_BASE_LO, table);
        rig.w(SG_PAGES, entries.len() as u32);
        rig.w(RING_ENTRIES, 3 * 4096 / RS);
        rig.w(RECORD_SIZE, RS);
        rig.w64(STATUS_ADDR_LO, SB);
        rig.w(INT_MASK, INT_ALL);
        let before = rig.reports().len();
        rig.w(CONTROL, CTRL_ENABLE | CTRL_SG | CTRL_STATUS_WB);
        assert_eq!(rig.r(ERROR_CODE), code, "{entries:x?}");
        if code == ERR_NONE {
            rig.w(STEP, 3 * 4096 / RS);
            assert_eq!(rig.r(ERROR_CODE), ERR_NONE, "a good page list streams");
            continue;
        }
        assert_eq!(rig.error_addr(), addr, "{entries:x?}");
        assert!(rig.error_irq());
        let reports = rig.reports();
        assert_eq!(reports.len(), before + 1);
        assert_eq!(reports[before].check, check);
    }
    replays(&rig.trace_text());
}

/// The card keeps serving after hostile programming with the sanitizer in
/// the way: random rings, status blocks and stray targets never panic it.
#[test]
fn hostile_programming_never_panics() {
    let mut rig = Rig::new("");
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let picks = [0, IOVA, RING, RING_END - 8, u64::MAX - 7, IOVA2];
    for _ in 0..200 {
        rig.w(CONTROL, CTRL_RESET);
        let base = picks[(next() % 6) as usize].wrapping_add(next() % 3 * 8);
        rig.w64(RING_BASE_LO, base);
        rig.w64(STATUS_ADDR_LO, picks[(next() % 6) as usize]);
        rig.w(RING_ENTRIES, (next() % 70) as u32);
        rig.w(RECORD_SIZE, 64 << (next() % 4));
        rig.w(SG_PAGES, (next() % 5) as u32);
        rig.ram.write(0x2_0000, &next().to_le_bytes());
        let sg = if next() % 2 == 0 { CTRL_SG } else { 0 };
        rig.w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB | sg);
        rig.w(STEP, (next() % 5) as u32);
        rig.w(CONTROL, if next() % 2 == 0 { CTRL_STATUS_WB } else { 0 });
    }
    assert_eq!(rig.r(ID), ID_VALUE);
    assert!(rig.server.alive());
    let _ = rig.ram.fd.as_fd();
}
