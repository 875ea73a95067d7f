//! Card model tests, driven through `bar_read`/`bar_write` like a driver
//! would, with a memfd as guest memory. Each test cites the SPEC section.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cardless_abi::record::*;
use cardless_abi::regs::*;

use super::{Card, CardConfig, IrqSink};
use crate::dma::tests::memfd;
use crate::dma::DmaSpace;

/// Guest RAM as the card sees it: one mapping at GUEST.
const GUEST: u64 = 0x10_0000;
const GUEST_SIZE: u64 = 4 << 20;
/// Where tests put the status block and the SG table.
const SB: u64 = GUEST;
const TABLE: u64 = GUEST + 0x1000;
const RING: u64 = GUEST + 0x10_0000;

#[derive(Default)]
struct Irqs(Mutex<Vec<u16>>);

impl IrqSink for Irqs {
    fn raise(&self, vector: u16) {
        self.0.lock().unwrap().push(vector);
    }
}

/// A trace sink the test can read.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buf {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

struct Rig {
    card: Card,
    dma: Arc<DmaSpace>,
    irqs: Arc<Irqs>,
    mem: File,
}

fn det() -> CardConfig {
    CardConfig {
        deterministic: true,
        seed: 0x5eed,
        ..CardConfig::default()
    }
}

/// A deterministic card with the fault debug window (§14.4).
fn det_with_window() -> CardConfig {
    CardConfig {
        debug_window: true,
        ..det()
    }
}

impl Rig {
    fn new(cfg: CardConfig) -> Rig {
        let dma = Arc::new(DmaSpace::new());
        let fd = memfd(GUEST_SIZE);
        let mem = File::from(fd.try_clone().unwrap());
        dma.map(GUEST, GUEST_SIZE, fd, 0, true).unwrap();
        let irqs = Arc::new(Irqs::default());
        let card = Card::new(cfg, dma.clone(), irqs.clone()).unwrap();
        Rig {
            card,
            dma,
            irqs,
            mem,
        }
    }

    fn w(&self, reg: u64, v: u32) {
        self.card.bar_write(BAR_REGS, reg, &v.to_le_bytes());
    }

    fn w64(&self, lo: u64, v: u64) {
        self.card.bar_write(BAR_REGS, lo, &v.to_le_bytes());
    }

    fn r(&self, reg: u64) -> u32 {
        let mut b = [0u8; 4];
        self.card.bar_read(BAR_REGS, reg, &mut b);
        u32::from_le_bytes(b)
    }

    fn mem(&self, iova: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.mem.read_exact_at(&mut v, iova - GUEST).unwrap();
        v
    }

    fn put(&self, iova: u64, data: &[u8]) {
        self.mem.write_all_at(data, iova - GUEST).unwrap();
    }

    fn irqs(&self) -> Vec<u16> {
        std::mem::take(&mut *self.irqs.0.lock().unwrap())
    }

    fn status_block(&self) -> StatusBlock {
        StatusBlock::from_bytes(&self.mem(SB, STATUS_BLOCK_SIZE).try_into().unwrap())
    }

    /// Contiguous ring at RING with the status block at SB, all causes unmasked.
    fn start_contig(&self, entries: u32, rs: u32, extra_ctrl: u32) {
        self.start_ring_at(RING, entries, rs, SB, extra_ctrl);
    }

    /// Contiguous ring at `ring` with the status block at `status`, all
    /// causes unmasked, enabled with write-back and `extra_ctrl`.
    fn start_ring_at(&self, ring: u64, entries: u32, rs: u32, status: u64, extra_ctrl: u32) {
        self.w64(RING_BASE_LO, ring);
        self.w(RING_ENTRIES, entries);
        self.w(RECORD_SIZE, rs);
        self.w64(STATUS_ADDR_LO, status);
        self.w(INT_MASK, INT_ALL);
        self.w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB | extra_ctrl);
    }

    /// Verifies the record in slot `slot` of a contiguous ring.
    fn record(&self, slot: u32, rs: u32) -> RecordHeader {
        let bytes = self.mem(RING + u64::from(slot * rs), rs as usize);
        verify_record(&bytes, 0x5eed).unwrap()
    }
}

/// SPEC §4.2: reset values, and CONTROL.RESET restores them (§9).
#[test]
fn reset_values() {
    let cfg = CardConfig {
        rate: Some(1234),
        record_size: 512,
        bar2_size: 1 << 16,
        ..det()
    };
    let rig = Rig::new(cfg);
    let expect = [
        (ID, ID_VALUE),
        (VERSION, VERSION_VALUE),
        (
            FEATURES,
            FEAT_SG | FEAT_COPY | FEAT_CHECKSUM | FEAT_STATUS_WB | FEAT_DETERMINISTIC,
        ),
        (SCRATCH, 0),
        (CONTROL, 0),
        (STATUS, 0),
        (INT_STATUS, 0),
        (INT_MASK, 0),
        (ERROR_CODE, 0),
        (BAR2_SIZE, 1 << 16),
        (RECORD_SIZE, 512),
        (RATE, 1234),
        (SEED_LO, 0x5eed),
        (SEED_HI, 0),
        (COAL_COUNT, 1),
        (PROD_IDX, 0),
    ];
    for (reg, v) in expect {
        assert_eq!(rig.r(reg), v, "reg {reg:#x}");
    }
    rig.w(SCRATCH, 0xdead_beef);
    rig.w(RATE, 5);
    rig.w(INT_MASK, 0xffff_ffff);
    assert_eq!(rig.r(SCRATCH), 0xdead_beef);
    assert_eq!(rig.r(INT_MASK), INT_ALL, "undefined mask bits read 0");
    rig.w(CONTROL, CTRL_RESET | CTRL_ENABLE);
    for (reg, v) in expect {
        assert_eq!(rig.r(reg), v, "after reset: reg {reg:#x}");
    }
    // Free-running card: no FEAT_DETERMINISTIC.
    let free = Rig::new(CardConfig::default());
    assert_eq!(free.r(FEATURES) & FEAT_DETERMINISTIC, 0);
    assert!(Card::new(
        CardConfig {
            bar2_size: 3 << 20,
            ..det()
        },
        free.dma.clone(),
        free.irqs.clone()
    )
    .is_err());
}

/// SPEC §4: every RW register reads back what was written (both halves of
/// the 64-bit ones, each with its own value), STEP and STEP_NS read 0, and
/// none of them reads as a hole (CNT_BAD_ACCESS stays). VTIME is taken past
/// 2^32 ns and the error address past 4 GiB, so their high halves count.
#[test]
fn registers_read_back_without_a_bad_access() {
    let rig = Rig::new(det());
    rig.w(STEP_NS, u32::MAX);
    rig.w(STEP_NS, u32::MAX);
    rig.w(RING_ENTRIES, 64);
    rig.w(SG_PAGES, 3);
    rig.w64(STATUS_ADDR_LO, 0x2_0000_1040);
    rig.w(COAL_NS, 777);
    rig.w64(SEED_LO, 0x3_0000_0007);
    rig.w(COPY_BAR_OFF, 0x40);
    rig.w(COPY_LEN, 0x10);
    rig.w64(COPY_HOST_LO, 0x4_0000_0080);
    rig.w(COPY_CTRL, COPY_OP_CHECKSUM);
    let bad = rig.r(CNT_BAD_ACCESS);
    let vtime = u64::from(rig.r(VTIME_LO)) | u64::from(rig.r(VTIME_HI)) << 32;
    assert_eq!(vtime, 2 * u64::from(u32::MAX), "VTIME after two STEP_NS");
    for (reg, want) in [
        (RING_ENTRIES, 64),
        (SG_PAGES, 3),
        (STATUS_ADDR_LO, 0x1040),
        (STATUS_ADDR_HI, 2),
        (CONS_IDX, 0),
        (COAL_NS, 777),
        (STEP, 0),
        (STEP_NS, 0),
        (SEED_LO, 7),
        (SEED_HI, 3),
        (COPY_BAR_OFF, 0x40),
        (COPY_LEN, 0x10),
        (COPY_HOST_LO, 0x80),
        (COPY_HOST_HI, 4),
        (COPY_CTRL, COPY_OP_CHECKSUM),
    ] {
        assert_eq!(rig.r(reg), want, "reg {reg:#x}");
    }
    assert_eq!(rig.r(CNT_BAD_ACCESS), bad, "a register read as a hole");
    // A ring outside guest memory, above 4 GiB: its first record fails, by address.
    rig.start_ring_at(0x5_0000_0000, 8, 256, SB, 0);
    rig.w(STEP, 1);
    assert_ne!(rig.r(ERROR_CODE), ERR_NONE);
    let addr = u64::from(rig.r(ERROR_ADDR_LO)) | u64::from(rig.r(ERROR_ADDR_HI)) << 32;
    assert_eq!(addr >> 32, 5, "ERROR_ADDR {addr:#x}");
    assert_eq!(rig.r(CNT_BAD_ACCESS), bad, "a register read as a hole");
}

/// SPEC §8: in deterministic mode each STEPped record advances VTIME by one
/// period, 1 s / RATE (DET_DEFAULT_PERIOD_NS with RATE 0), and records carry
/// that time.
#[test]
fn deterministic_time_advances_a_period_per_record() {
    let rig = Rig::new(det());
    rig.w(RATE, 1000);
    rig.start_contig(8, 64, 0);
    rig.w(STEP, 3);
    assert_eq!(rig.r(VTIME_LO), 3_000_000, "three records at 1000/s");
    assert_eq!(rig.record(2, 64).timestamp_ns, 2_000_000);
    rig.w(RATE, 0);
    rig.w(STEP, 2);
    assert_eq!(
        u64::from(rig.r(VTIME_LO)),
        3_000_000 + 2 * DET_DEFAULT_PERIOD_NS
    );
}

/// SPEC §8: STEP takes up to MAX_STEP records at once (a full ring stops
/// it early), and refuses more with ERR_BAD_STEP naming the count.
#[test]
fn step_takes_max_step_and_refuses_more() {
    let rig = Rig::new(det());
    rig.start_contig(8, 64, 0);
    rig.w(STEP, MAX_STEP);
    assert_eq!(rig.r(ERROR_CODE), ERR_NONE, "STEP of MAX_STEP");
    assert_eq!(rig.r(PROD_IDX), 8, "the ring filled");
    rig.w(STEP, MAX_STEP + 1);
    assert_eq!(rig.r(ERROR_CODE), ERR_BAD_STEP);
    assert_eq!(rig.r(ERROR_ADDR_LO), MAX_STEP + 1);
}

/// SPEC §5.3, §14.1: a STEP that moves no record (a stall holds the engine)
/// writes no status block: the guest's bytes there stay as they were.
#[test]
fn a_step_that_moves_nothing_writes_no_status_block() {
    let rig = Rig::new(det_with_window());
    rig.start_contig(8, 64, 0);
    rig.w(STEP, 1);
    schedule_now(&rig, FAULT_STALL, 0);
    rig.w(STEP, 1);
    let marker = vec![0xa5u8; STATUS_BLOCK_SIZE];
    rig.put(SB, &marker);
    rig.w(STEP, 1);
    assert_eq!(rig.r(PROD_IDX), 1, "stalled");
    assert_eq!(
        rig.mem(SB, STATUS_BLOCK_SIZE),
        marker,
        "a status block write-back while stalled"
    );
}

/// SPEC §4.1: holes and wrong widths read 0, writes ignored, both counted;
/// 8-byte accesses split into two registers.
#[test]
fn holes_and_widths() {
    let rig = Rig::new(det());
    let mut b2 = [0xffu8; 2];
    rig.card.bar_read(BAR_REGS, ID, &mut b2);
    assert_eq!(b2, [0, 0]);
    assert_eq!(rig.r(CNT_BAD_ACCESS), 1);
    assert_eq!(rig.r(0x030), 0); // hole
    assert_eq!(rig.r(CNT_BAD_ACCESS), 2);
    rig.w(0x030, 1);
    rig.card.bar_write(BAR_REGS, SCRATCH, &[1]);
    rig.card.bar_write(BAR_REGS, SCRATCH + 1, &[1, 2, 3, 4]);
    assert_eq!(rig.r(SCRATCH), 0);
    assert_eq!(rig.r(CNT_BAD_ACCESS), 5);
    assert_eq!(rig.r(0x2000), 0); // beyond BAR0
    rig.w64(RING_BASE_LO, 0x1122_3344_5566_7788);
    assert_eq!(rig.r(RING_BASE_LO), 0x5566_7788);
    assert_eq!(rig.r(RING_BASE_HI), 0x1122_3344);
    let mut b8 = [0u8; 8];
    rig.card.bar_read(BAR_REGS, RING_BASE_LO, &mut b8);
    assert_eq!(u64::from_le_bytes(b8), 0x1122_3344_5566_7788);
    rig.card.bar_read(BAR_REGS, RING_BASE_HI, &mut b8); // 8 bytes, not 8-aligned
    assert_eq!(b8, [0; 8]);
    // RO registers ignore writes without counting.
    let before = rig.r(CNT_BAD_ACCESS);
    rig.w(ID, 0);
    assert_eq!(rig.r(ID), ID_VALUE);
    assert_eq!(rig.r(CNT_BAD_ACCESS), before);
    // Other BARs: zeros.
    let mut b = [0xffu8; 4];
    rig.card.bar_read(4, 0, &mut b);
    assert_eq!(b, [0; 4]);
    rig.card.bar_read(9, u64::MAX, &mut b);
    assert_eq!(b, [0; 4]);
}

/// SPEC §4.1, §7: random accesses at every offset and width never panic.
#[test]
fn random_accesses_never_panic() {
    let rig = Rig::new(CardConfig {
        bar2_size: 1 << 12,
        ..det()
    });
    let mut x = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for off in (0..0x100u64).step_by(4) {
        for len in [1usize, 2, 4, 8] {
            let v = next();
            // Never reset here, so state accumulates.
            if off == CONTROL {
                continue;
            }
            rig.card.bar_write(BAR_REGS, off, &v.to_le_bytes()[..len]);
            rig.card.bar_read(BAR_REGS, off, &mut vec![0; len]);
        }
    }
    for _ in 0..20_000 {
        let r = next();
        let bar = [0u8, 0, 0, 2, 4, 1, 7][(r % 7) as usize];
        let off = match (r >> 8) % 4 {
            0 => ((r >> 16) % 0x100) & !3,
            1 => (r >> 16) % 0x2000,
            2 => u64::MAX - (r >> 16) % 16,
            _ => *ALL_REGS
                .get(((r >> 16) % ALL_REGS.len() as u64) as usize)
                .unwrap(),
        };
        let len = [4usize, 4, 4, 8, 1, 2, 3, 0, 16][((r >> 40) % 9) as usize];
        let mut v = next();
        // Keep guest-triggered work bounded: small STEPs, ring inside guest RAM mostly.
        if off == STEP {
            v %= 70_000;
        }
        if off == CONTROL && v & u64::from(CTRL_RESET) != 0 && next() % 8 != 0 {
            v &= !u64::from(CTRL_RESET);
        }
        if off == RING_BASE_LO && next() % 2 == 0 {
            v = RING;
        }
        let data = v.to_le_bytes().repeat(2);
        if r & (1 << 63) != 0 {
            rig.card.bar_write(bar, off, &data[..len]);
        } else {
            rig.card.bar_read(bar, off, &mut vec![0; len]);
        }
    }
    assert_eq!(rig.r(ID), ID_VALUE);
    rig.w(CONTROL, CTRL_RESET);
    assert_eq!(rig.r(STATUS), 0);
}

/// SPEC §7.2: events latch whatever the mask; a message per enabled event;
/// unmasking a latched cause sends it; W1C; irq_pending.
#[test]
fn interrupt_rules() {
    let rig = Rig::new(det());
    rig.w(COPY_CTRL, COPY_OP_CHECKSUM); // len 0: COPY_DONE event
    assert_eq!(rig.r(INT_STATUS), INT_COPY_DONE);
    assert!(rig.irqs().is_empty());
    assert!(!rig.card.irq_pending());
    rig.w(INT_MASK, INT_COPY_DONE);
    assert_eq!(rig.irqs(), vec![VEC_COPY_DONE]);
    assert!(rig.card.irq_pending());
    rig.w(COPY_CTRL, COPY_OP_CHECKSUM);
    assert_eq!(
        rig.irqs(),
        vec![VEC_COPY_DONE],
        "message even if already latched"
    );
    rig.w(INT_STATUS, INT_DATA_READY); // other bit: no effect
    assert_eq!(rig.r(INT_STATUS), INT_COPY_DONE);
    rig.w(INT_STATUS, INT_COPY_DONE);
    assert_eq!(rig.r(INT_STATUS), 0);
    assert!(!rig.card.irq_pending());
    assert_eq!(rig.r(CNT_IRQS), 2);
    assert!(rig.irqs().is_empty(), "W1C sends nothing");
}

/// SPEC §6.2, §5.1-§5.3, §5.6: contiguous ring, wrap-around, status block.
#[test]
fn contiguous_ring_wraps() {
    let rig = Rig::new(det());
    let rs = 256;
    rig.w(COAL_COUNT, 100);
    rig.start_contig(4, rs, 0);
    assert_eq!(rig.r(STATUS), STS_RUNNING);
    assert_eq!(rig.r(CONTROL), CTRL_ENABLE | CTRL_STATUS_WB);
    rig.w(STEP, 3);
    assert_eq!(rig.r(PROD_IDX), 3);
    for slot in 0..3 {
        let h = rig.record(slot, rs);
        assert_eq!(h.seq, u64::from(slot));
        assert_eq!(h.timestamp_ns, u64::from(slot) * DET_DEFAULT_PERIOD_NS);
        assert_eq!(h.payload_len, rs - 40);
        assert_eq!(h.flags, 0);
    }
    let sb = rig.status_block();
    assert_eq!((sb.prod_idx, sb.produced, sb.next_seq), (3, 3, 3));
    assert_eq!(sb.status, STS_RUNNING);
    rig.w(CONS_IDX, 3);
    rig.w(STEP, 4); // slots 3, 0, 1, 2
    assert_eq!(rig.r(PROD_IDX), 7);
    assert_eq!(rig.record(3, rs).seq, 3);
    assert_eq!(rig.record(0, rs).seq, 4);
    assert_eq!(rig.record(2, rs).seq, 6);
    assert_eq!(rig.r(STATUS), STS_RUNNING | STS_RING_FULL);
    // Nothing written past the ring.
    assert_eq!(rig.mem(RING + 4 * u64::from(rs), 64), vec![0; 64]);
    assert_eq!(rig.r(CNT_PRODUCED), 7);
    assert!(rig.status_block().generation >= 3);
    // Disable signals the pending records (§6.7).
    rig.irqs();
    rig.w(CONTROL, 0);
    assert_eq!(rig.irqs(), vec![VEC_DATA_READY]);
    assert_eq!(rig.r(STATUS) & STS_RUNNING, 0);
    assert_eq!(rig.status_block().status & STS_RUNNING, 0);
}

/// SPEC §5.5: SG page list, pages out of order, records straddling pages, wrap.
#[test]
fn sg_ring_straddles_pages() {
    let rig = Rig::new(det());
    let rs = 1000u32; // not a divisor of 4096: records straddle pages
    let entries = 9u32; // 9000 bytes -> 3 pages
    let pages = [GUEST + 0x30_0000, GUEST + 0x20_0000, GUEST + 0x28_0000];
    let table: Vec<u8> = pages.iter().flat_map(|p| p.to_le_bytes()).collect();
    rig.put(TABLE, &table);
    rig.w64(RING_BASE_LO, TABLE);
    rig.w(SG_PAGES, 3);
    rig.w(RING_ENTRIES, entries);
    rig.w(RECORD_SIZE, rs);
    rig.w(COAL_COUNT, 1000);
    rig.w(CONTROL, CTRL_ENABLE | CTRL_SG);
    rig.w(STEP, entries);
    rig.w(CONS_IDX, 5);
    rig.w(STEP, 5); // wraps over slots 0..4
    assert_eq!(rig.r(ERROR_CODE), 0);
    let ring: Vec<u8> = pages.iter().flat_map(|&p| rig.mem(p, 4096)).collect();
    for slot in 0..entries as usize {
        let h = verify_record(&ring[slot * rs as usize..][..rs as usize], 0x5eed).unwrap();
        let want = if slot < 5 {
            slot as u64 + 9
        } else {
            slot as u64
        };
        assert_eq!(h.seq, want, "slot {slot}");
    }
    // The unused tail of the last page is untouched.
    assert_eq!(ring[9000..], vec![0u8; 3 * 4096 - 9000]);
}

/// SPEC §6.4: drop policy drops, counts, flags the next record, one OVERFLOW.
#[test]
fn overflow_drop() {
    let rig = Rig::new(det());
    rig.w(COAL_COUNT, 100);
    rig.start_contig(4, 128, 0);
    rig.w(STEP, 7);
    assert_eq!(rig.r(PROD_IDX), 4);
    assert_eq!(rig.r(CNT_DROPPED), 3);
    assert_eq!(rig.irqs(), vec![VEC_OVERFLOW]);
    assert_ne!(rig.r(INT_STATUS) & INT_OVERFLOW, 0);
    assert_eq!(rig.status_block().dropped, 3);
    rig.w(CONS_IDX, 4);
    rig.w(STEP, 1);
    let h = rig.record(0, 128);
    assert_eq!(h.seq, 7);
    assert_eq!(h.flags, REC_FLAG_AFTER_DROP);
    assert_eq!(h.dropped_before, 3);
    assert!(rig.r(STATUS) & STS_RUNNING != 0);
}

/// SPEC §6.4, §6.1: stop policy stops, nothing dropped, enable resumes.
#[test]
fn overflow_stop_and_resume() {
    let rig = Rig::new(det());
    rig.w(COAL_COUNT, 100);
    rig.start_contig(4, 128, CTRL_OVF_STOP);
    rig.w(STEP, 6);
    assert_eq!(rig.r(PROD_IDX), 4);
    assert_eq!(rig.r(CNT_DROPPED), 0);
    assert_eq!(rig.r(STATUS), STS_OVERFLOW_STOPPED | STS_RING_FULL);
    assert_eq!(rig.r(CONTROL) & CTRL_ENABLE, 0);
    assert_eq!(rig.irqs(), vec![VEC_DATA_READY, VEC_OVERFLOW]);
    rig.w(STEP, 1); // ignored while stopped
    assert_eq!(rig.r(PROD_IDX), 4);
    rig.w(CONS_IDX, 2);
    rig.w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB | CTRL_OVF_STOP);
    assert_eq!(rig.r(STATUS), STS_RUNNING);
    rig.w(STEP, 2);
    assert_eq!(rig.r(PROD_IDX), 6);
    assert_eq!(rig.record(0, 128).seq, 4, "resume keeps seq");
    assert_eq!(rig.record(1, 128).flags, 0);
}

/// SPEC §6.4: disabling an overflow-stopped engine abandons the stream; the
/// next enable starts fresh on the newly programmed ring, never the old one.
#[test]
fn overflow_stop_then_disable_abandons_the_old_ring() {
    let rig = Rig::new(det());
    rig.start_contig(4, 128, CTRL_OVF_STOP);
    rig.w(STEP, 6);
    assert_eq!(rig.r(STATUS) & STS_OVERFLOW_STOPPED, STS_OVERFLOW_STOPPED);
    rig.w(CONTROL, 0);
    assert_eq!(rig.r(STATUS) & (STS_OVERFLOW_STOPPED | STS_RUNNING), 0);
    let old_first = rig.record(0, 128);
    // A new ring right after the old one: a resume would keep writing the old.
    rig.w(RING_BASE_LO, RING as u32 + 4 * 128);
    rig.w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB);
    assert_eq!(rig.r(STATUS), STS_RUNNING);
    assert_eq!(rig.r(PROD_IDX), 0, "fresh start");
    rig.w(STEP, 1);
    assert_eq!(
        rig.record(0, 128),
        old_first,
        "the old ring was written after it was abandoned"
    );
    assert_eq!(rig.record(4, 128).seq, 0, "the new ring starts at seq 0");
}

/// SPEC §6.6: count and virtual-time coalescing.
#[test]
fn coalescing() {
    let rig = Rig::new(det());
    rig.w(COAL_COUNT, 3);
    rig.start_contig(64, 64, 0);
    rig.w(STEP, 7);
    assert_eq!(rig.irqs(), vec![VEC_DATA_READY; 2]);
    // One record pending since t=6000; the time trigger fires at 6000+5000.
    rig.w(COAL_NS, 5000);
    rig.w(STEP_NS, 3999); // VTIME 7000 + 3999 < 11000
    assert!(rig.irqs().is_empty());
    rig.w(STEP_NS, 1);
    assert_eq!(rig.irqs(), vec![VEC_DATA_READY]);
    assert_eq!(rig.status_block().prod_idx, 7);
    // COAL_COUNT 0 acts as 1.
    rig.w(COAL_COUNT, 0);
    rig.w(STEP, 2);
    assert_eq!(rig.irqs(), vec![VEC_DATA_READY; 2]);
    // Time trigger checked after each record: period 1000 ns, COAL_NS 2500.
    rig.w(COAL_COUNT, 100);
    rig.w(COAL_NS, 2500);
    rig.w(STEP, 6);
    assert_eq!(rig.irqs(), vec![VEC_DATA_READY; 2]);
}

fn deterministic_script(rig: &Rig) {
    rig.w(COAL_COUNT, 3);
    rig.w(COAL_NS, 4000);
    rig.w(RATE, 250_000);
    rig.start_contig(16, 320, 0);
    for i in 0..10 {
        rig.w(STEP, 5 + i);
        rig.w(STEP_NS, 777);
        rig.w(CONS_IDX, rig.r(PROD_IDX).wrapping_sub(i % 4));
    }
    rig.w(SCRATCH, 1);
    rig.w64(COPY_HOST_LO, GUEST + 0x3f_0000);
    rig.w(COPY_LEN, 4096);
    rig.w(COPY_CTRL, COPY_OP_TO_HOST);
}

/// SPEC §8: same seed + same MMIO sequence = identical memory and interrupts.
#[test]
fn deterministic_replay() {
    let a = Rig::new(det());
    let b = Rig::new(det());
    a.card.bar2().write(0, b"same bar2");
    b.card.bar2().write(0, b"same bar2");
    deterministic_script(&a);
    deterministic_script(&b);
    let ia = a.irqs();
    assert!(ia.len() > 10);
    assert_eq!(ia, b.irqs());
    assert_eq!(
        a.mem(GUEST, GUEST_SIZE as usize),
        b.mem(GUEST, GUEST_SIZE as usize)
    );
    assert!(a.r(PROD_IDX) > 50);
    let c = Rig::new(CardConfig { seed: 1, ..det() });
    c.card.bar2().write(0, b"same bar2");
    deterministic_script(&c);
    assert_ne!(a.mem(RING, 320), c.mem(RING, 320));
}

/// SPEC §10: DMA to unmapped / partly mapped memory: error latched, engine
/// stopped, ERROR raised, no byte written.
#[test]
fn dma_faults() {
    let rig = Rig::new(det());
    let end = GUEST + GUEST_SIZE;
    // Ring whose second slot straddles the end of guest memory.
    rig.start_ring_at(end - 256 - 128, 4, 256, SB, 0);
    rig.w(STEP, 3);
    assert_eq!(rig.r(PROD_IDX), 1);
    assert_eq!(rig.r(ERROR_CODE), ERR_DMA_UNMAPPED);
    assert_eq!(
        u64::from(rig.r(ERROR_ADDR_LO)) | u64::from(rig.r(ERROR_ADDR_HI)) << 32,
        end
    );
    assert_eq!(rig.r(STATUS), STS_ERROR);
    assert_eq!(rig.r(CONTROL) & CTRL_ENABLE, 0);
    assert_eq!(rig.irqs(), vec![VEC_DATA_READY, VEC_ERROR]);
    assert_eq!(
        rig.mem(end - 128, 128),
        vec![0; 128],
        "partial record never written"
    );
    assert_eq!(rig.status_block().error_code, ERR_DMA_UNMAPPED);
    // Enable refused while the error is latched; clearing it allows it.
    rig.w64(RING_BASE_LO, RING);
    rig.w(CONTROL, CTRL_ENABLE);
    assert_eq!(rig.r(CONTROL) & CTRL_ENABLE, 0);
    rig.w(ERROR_CODE, 0);
    assert_eq!(rig.r(STATUS), 0);
    rig.w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB);
    assert_eq!(rig.r(STATUS), STS_RUNNING);
    // DMA_UNMAP is honoured at once.
    rig.w(STEP, 1);
    rig.dma.unmap(GUEST, GUEST_SIZE).unwrap();
    rig.w(STEP, 1);
    assert_eq!(rig.r(ERROR_CODE), ERR_DMA_UNMAPPED);
    assert_eq!(rig.r(PROD_IDX), 1);
    assert_eq!(rig.r(CNT_ERRORS), 3, "status block write failed too");
    // Address overflow.
    rig.w(CONTROL, CTRL_RESET);
    rig.w64(RING_BASE_LO, u64::MAX - 7);
    rig.w(RING_ENTRIES, 2);
    rig.w(CONTROL, CTRL_ENABLE);
    rig.w(STEP, 1);
    assert_eq!(rig.r(ERROR_CODE), ERR_DMA_OVERFLOW);
}

/// SPEC §6.1, §6.3, §8: programming errors are error codes, not allocations.
#[test]
fn validation_errors() {
    /// A register programming step, the error code it must latch, and ERROR_ADDR.
    type Case<'a> = (&'a dyn Fn(&Rig), u32, u64);
    let rig = Rig::new(det());
    let cases: [Case; 8] = [
        (&|r| r.w(RECORD_SIZE, 0), ERR_BAD_RECORD_SIZE, 0),
        (&|r| r.w(RECORD_SIZE, 100), ERR_BAD_RECORD_SIZE, 100),
        (&|r| r.w(RING_ENTRIES, 0), ERR_BAD_RING_SIZE, 0),
        (
            &|r| r.w(RING_ENTRIES, u32::MAX),
            ERR_BAD_RING_SIZE,
            u32::MAX as u64,
        ),
        (&|r| r.w(RING_ENTRIES, 1 << 20), ERR_BAD_RING_SIZE, 1 << 20), // 4 GiB ring
        (
            &|r| r.w64(RING_BASE_LO, RING + 4),
            ERR_BAD_ALIGNMENT,
            RING + 4,
        ),
        (
            &|r| {
                r.w(CONTROL, CTRL_SG);
                r.w(SG_PAGES, u32::MAX);
            },
            ERR_BAD_SG_COUNT,
            u32::MAX as u64,
        ),
        (
            &|r| {
                r.w(CONTROL, CTRL_SG);
                r.w64(RING_BASE_LO, TABLE);
                r.w(SG_PAGES, 1);
                r.w(RECORD_SIZE, 64);
                r.put(TABLE, &(GUEST + 12).to_le_bytes());
            },
            ERR_BAD_SG_ENTRY,
            GUEST + 12,
        ),
    ];
    for (i, (setup, code, addr)) in cases.iter().enumerate() {
        rig.w(CONTROL, CTRL_RESET);
        rig.w64(RING_BASE_LO, RING);
        rig.w(RING_ENTRIES, 8);
        setup(&rig);
        rig.w(INT_MASK, INT_ERROR);
        let ctrl = rig.r(CONTROL);
        rig.w(CONTROL, ctrl | CTRL_ENABLE);
        assert_eq!(rig.r(ERROR_CODE), *code, "case {i}");
        let ea = u64::from(rig.r(ERROR_ADDR_LO)) | u64::from(rig.r(ERROR_ADDR_HI)) << 32;
        assert_eq!(ea, *addr, "case {i}");
        assert_eq!(rig.r(STATUS) & STS_RUNNING, 0);
        assert_eq!(rig.irqs(), vec![VEC_ERROR], "case {i}");
    }
    // SG table unmapped.
    rig.w(CONTROL, CTRL_RESET);
    rig.w64(RING_BASE_LO, 0x1000);
    rig.w(RING_ENTRIES, 1);
    rig.w(SG_PAGES, 1);
    rig.w(CONTROL, CTRL_SG | CTRL_ENABLE);
    assert_eq!(rig.r(ERROR_CODE), ERR_DMA_UNMAPPED);
    // Bad CONS_IDX and STEP.
    rig.w(CONTROL, CTRL_RESET);
    rig.start_contig(8, 64, 0);
    rig.w(STEP, 2);
    rig.w(CONS_IDX, 3); // ahead of PROD_IDX
    assert_eq!(rig.r(ERROR_CODE), ERR_BAD_CONS_IDX);
    assert_eq!(rig.r(CONS_IDX), 0);
    rig.w(CONTROL, CTRL_RESET);
    rig.w(STEP, MAX_STEP + 1);
    assert_eq!(rig.r(ERROR_CODE), ERR_BAD_STEP);
}

/// SPEC §11, §3.1: copy engine both ways, BAR2 checksum, errors; trapped
/// BAR2 accesses see the same bytes as the mapping.
#[test]
fn copy_engine() {
    let rig = Rig::new(det());
    let bar2 = rig.card.bar2();
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    assert!(bar2.write(100, &data));
    // Trapped path sees the same bytes.
    let mut t = [0u8; 8];
    rig.card.bar_read(BAR_MEM, 100, &mut t);
    assert_eq!(t, data[..8]);
    rig.card.bar_write(BAR_MEM, 0, b"trapped!");
    let mut m = [0u8; 8];
    assert!(bar2.read(0, &mut m));
    assert_eq!(&m, b"trapped!");
    rig.card.bar_read(BAR_MEM, bar2.size() - 4, &mut t);
    assert_eq!(t, [0; 8], "out of range reads 0");
    assert_eq!(rig.r(CNT_BAD_ACCESS), 1);

    rig.w(INT_MASK, INT_ALL);
    rig.w(COPY_BAR_OFF, 100);
    rig.w(COPY_LEN, 5000);
    rig.w64(COPY_HOST_LO, GUEST + 0x2000);
    rig.w(COPY_CTRL, COPY_OP_TO_HOST);
    assert_eq!(rig.r(COPY_STATUS), 0);
    assert_eq!(rig.mem(GUEST + 0x2000, 5000), data);
    assert_eq!(rig.irqs(), vec![VEC_COPY_DONE]);
    rig.w(COPY_CTRL, COPY_OP_CHECKSUM);
    let sum = u64::from(rig.r(COPY_RESULT_LO)) | u64::from(rig.r(COPY_RESULT_HI)) << 32;
    assert_eq!(sum, checksum(&data));
    rig.put(GUEST + 0x9000, b"from host");
    rig.w64(COPY_HOST_LO, GUEST + 0x9000);
    rig.w(COPY_BAR_OFF, 0x800);
    rig.w(COPY_LEN, 9);
    rig.w(COPY_CTRL, COPY_OP_FROM_HOST);
    let mut h = [0u8; 9];
    assert!(bar2.read(0x800, &mut h));
    assert_eq!(&h, b"from host");
    assert_eq!(rig.r(CNT_COPIES), 3);
    rig.irqs();
    // Range error: nothing copied, error + COPY_DONE.
    rig.w(COPY_BAR_OFF, (bar2.size() - 4) as u32);
    rig.w(COPY_LEN, 8);
    rig.w(COPY_CTRL, COPY_OP_FROM_HOST);
    assert_eq!(rig.r(COPY_STATUS), ERR_COPY_RANGE);
    assert_eq!(rig.r(ERROR_CODE), ERR_COPY_RANGE);
    assert_eq!(rig.irqs(), vec![VEC_ERROR, VEC_COPY_DONE]);
    rig.w(ERROR_CODE, 0);
    // DMA fault: host range unmapped.
    rig.w(COPY_BAR_OFF, 0);
    rig.w64(COPY_HOST_LO, GUEST + GUEST_SIZE - 4);
    rig.w(COPY_CTRL, COPY_OP_TO_HOST);
    assert_eq!(rig.r(COPY_STATUS), ERR_DMA_UNMAPPED);
    rig.w(ERROR_CODE, 0);
    rig.w(COPY_CTRL, 3);
    assert_eq!(rig.r(COPY_STATUS), ERR_BAD_COPY_OP);
    assert_eq!(rig.mem(GUEST + GUEST_SIZE - 4, 4), vec![0; 4]);
}

fn wait_for(mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// SPEC §6.5: free-running engine: RATE 0 fills the ring and waits (no
/// drops), resumes on CONS_IDX; a finite rate produces and drops on time.
#[test]
fn free_running_engine() {
    let rig = Rig::new(CardConfig {
        seed: 0x5eed,
        ..CardConfig::default()
    });
    rig.w(COAL_COUNT, 8);
    rig.start_contig(32, 512, 0);
    assert!(wait_for(|| rig.r(PROD_IDX) == 32));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(rig.r(PROD_IDX), 32);
    assert_eq!(rig.r(CNT_DROPPED), 0);
    assert_eq!(rig.status_block().prod_idx, 32);
    rig.w(CONS_IDX, 32);
    assert!(wait_for(|| rig.r(PROD_IDX) == 64));
    for slot in 0..32 {
        assert_eq!(rig.record(slot, 512).seq, u64::from(slot) + 32);
    }
    assert!(rig.irqs().contains(&VEC_DATA_READY));
    // 2000 records/s into a 32-slot ring that nobody consumes: drops.
    rig.w(RATE, 2000);
    rig.w(CONS_IDX, 64);
    assert!(wait_for(|| rig.r(CNT_DROPPED) > 5));
    assert_eq!(rig.r(PROD_IDX), 96);
    rig.w(CONTROL, 0);
    rig.card.shutdown();
    rig.card.shutdown();
}

/// SPEC §12: the trace holds start, mmio, dma, irq, error and reset lines.
#[test]
fn trace_file() {
    let path = std::env::temp_dir().join(format!("cardless-trace-{}.jsonl", std::process::id()));
    let rig = Rig::new(CardConfig {
        trace: Some(path.clone()),
        ..det()
    });
    rig.start_contig(4, 64, 0);
    rig.w(STEP, 2);
    rig.w(STEP, MAX_STEP + 1);
    rig.w(CONTROL, CTRL_RESET);
    rig.card.shutdown();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).ok();
    for ev in ["start", "mmio", "dma", "irq", "error", "reset"] {
        assert!(
            text.contains(&format!("\"ev\":\"{ev}\"")),
            "no {ev} in trace"
        );
    }
    assert!(text
        .lines()
        .all(|l| l.starts_with("{\"t\":") && l.ends_with('}')));
    let rec = checksum(&rig.mem(RING, 64));
    assert!(text.contains(&format!("\"len\":64,\"hash\":\"{rec:#x}\"")));
}

/// Schedules, through the debug window, a stray write of the next record to `addr`.
fn stray_at(rig: &Rig, addr: u64) {
    schedule_now(rig, FAULT_STRAY_WRITE, addr);
}

/// Schedules, through the debug window, a fault of `kind` with argument
/// `arg`, due now (§14.4).
fn schedule_now(rig: &Rig, kind: u32, arg: u64) {
    rig.w(DBG_KIND, kind);
    rig.w(DBG_TRIGGER, DBG_TRIG_VTIME);
    rig.w(DBG_WHEN_LO, 0);
    rig.w64(DBG_ARG_LO, arg);
    rig.w(DBG_CMD, DBG_CMD_SCHEDULE);
    assert_eq!(rig.r(DBG_CMD_STATUS), DBG_ST_OK);
}

/// SPEC §14.4: without the debug window its offsets are holes: writes are
/// counted bad accesses and schedule nothing, the stream runs clean.
#[test]
fn without_the_debug_window_its_offsets_are_holes() {
    let rig = Rig::new(det());
    rig.start_contig(4, 256, 0);
    let bad = rig.r(CNT_BAD_ACCESS);
    rig.w(DBG_KIND, FAULT_STRAY_WRITE);
    rig.w(DBG_TRIGGER, DBG_TRIG_VTIME);
    rig.w(DBG_WHEN_LO, 0);
    rig.w64(DBG_ARG_LO, RING + 0x800);
    rig.w(DBG_CMD, DBG_CMD_SCHEDULE);
    assert_eq!(
        rig.r(CNT_BAD_ACCESS),
        bad + 6,
        "six writes to holes (one 8-byte access is two)"
    );
    rig.w(STEP, 1);
    assert_eq!(rig.r(ERROR_CODE), ERR_NONE, "no stray write was scheduled");
    assert_eq!(rig.r(PROD_IDX), 1);
}

/// SPEC §16.1: disable takes the ring back; the next enable hands only its
/// own ring, so a stray write into the old one is caught.
#[test]
fn disable_takes_the_ring_back() {
    let rig = Rig::new(det_with_window());
    rig.start_contig(4, 256, 0);
    rig.w(STEP, 2);
    rig.w(CONTROL, 0);
    let ring_b = RING + 0x10_0000;
    rig.w64(RING_BASE_LO, ring_b);
    rig.w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB);
    stray_at(&rig, RING + 0x800);
    rig.w(STEP, 1);
    assert_eq!(rig.r(ERROR_CODE), ERR_DMA_STRAY);
    assert_eq!(rig.mem(RING + 0x800, 256), vec![0; 256]);
    let r = rig.card.sanitizer_reports().pop().unwrap();
    assert!(
        r.message.contains(&format!("ring {ring_b:#x}..")),
        "the old ring is no longer the card's: {}",
        r.message
    );
    // Inside the current ring a stray record is the card's business: it lands.
    rig.w(ERROR_CODE, 0);
    rig.w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB);
    stray_at(&rig, ring_b + 0x200);
    rig.w(STEP, 1);
    assert_eq!(rig.r(ERROR_CODE), 0);
    assert_eq!(
        verify_record(&rig.mem(ring_b + 0x200, 256), 0x5eed)
            .unwrap()
            .seq,
        0
    );
    // Reset takes everything back.
    rig.w(CONTROL, CTRL_RESET);
    assert_eq!(rig.card.sanitizer_reports().len(), 1, "kept across reset");
}

/// SPEC §16.1: a status block switched on after enable is handed then,
/// unless it overlaps the ring (ERR_RING_OVERLAP).
#[test]
fn late_status_write_back() {
    let rig = Rig::new(det());
    rig.w64(RING_BASE_LO, RING);
    rig.w(RING_ENTRIES, 4);
    rig.w(RECORD_SIZE, 256);
    rig.w64(STATUS_ADDR_LO, SB);
    rig.w(INT_MASK, INT_ALL);
    rig.w(CONTROL, CTRL_ENABLE);
    rig.w(STEP, 1);
    rig.w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB);
    rig.w(STEP, 1);
    assert_eq!(rig.r(ERROR_CODE), 0);
    assert_eq!(rig.status_block().prod_idx, 2);
    // Again with the status block inside the ring.
    rig.w(CONTROL, CTRL_RESET);
    rig.w64(RING_BASE_LO, RING);
    rig.w(RING_ENTRIES, 4);
    rig.w(RECORD_SIZE, 256);
    rig.w64(STATUS_ADDR_LO, RING + 0x100);
    rig.w(INT_MASK, INT_ALL);
    rig.w(CONTROL, CTRL_ENABLE);
    rig.irqs();
    let before = rig.mem(RING + 0x100, 64);
    rig.w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB);
    assert_eq!(rig.r(ERROR_CODE), ERR_RING_OVERLAP);
    assert_eq!(rig.irqs(), vec![VEC_ERROR]);
    assert_eq!(rig.mem(RING + 0x100, 64), before, "no status block written");
}

/// SPEC §16.2: whatever the stray targets, no byte outside the ring and
/// the status block changes: guest memory is a canary.
#[test]
fn stray_writes_never_touch_memory_the_card_was_not_handed() {
    let rig = Rig::new(det_with_window());
    let canary = vec![0xa5u8; GUEST_SIZE as usize];
    rig.put(GUEST, &canary);
    let (entries, rs) = (8u32, 512u32);
    let ring_len = u64::from(entries * rs);
    let mut x = 0x1234_5678_9abc_def1u64;
    for round in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let target = match round % 3 {
            0 => GUEST + x % GUEST_SIZE,
            1 => RING
                .wrapping_add(x % (2 * ring_len))
                .wrapping_sub(ring_len / 2),
            _ => x,
        } & !7;
        rig.w(CONTROL, CTRL_RESET);
        rig.start_contig(entries, rs, 0);
        stray_at(&rig, target);
        rig.w(STEP, 2);
    }
    let after = rig.mem(GUEST, GUEST_SIZE as usize);
    let outside = |i: usize| {
        let a = GUEST + i as u64;
        !(RING..RING + ring_len).contains(&a) && !(SB..SB + 64).contains(&a)
    };
    let bad = (0..after.len()).find(|&i| outside(i) && after[i] != 0xa5);
    assert_eq!(bad.map(|i| GUEST + i as u64), None);
    let stray = rig
        .card
        .sanitizer_reports()
        .iter()
        .filter(|r| r.check == "stray")
        .count();
    assert!(stray > 10, "{stray} stray findings");
}

/// SPEC §5.3, §10: a status block the card cannot write is one error, not
/// one per retry: the ERROR signal that follows does not write it again.
#[test]
fn unreachable_status_block_is_one_error() {
    let rig = Rig::new(det());
    let nowhere = GUEST + GUEST_SIZE + 0x10_0000;
    rig.start_ring_at(RING, 16, 64, nowhere, 0);
    rig.w(STEP, 1);
    assert_eq!(rig.r(ERROR_CODE), ERR_DMA_UNMAPPED);
    assert_eq!(rig.r(CNT_ERRORS), 1, "errors counted for one failed write");
    let errors = rig.irqs().iter().filter(|&&v| v == VEC_ERROR).count();
    assert_eq!(errors, 1, "ERROR messages for one failed write");
}

/// SPEC §6.5: enabling a free-running card wakes its engine thread; no
/// other register access is needed for records to flow.
#[test]
fn enable_alone_wakes_the_engine_thread() {
    let rig = Rig::new(CardConfig {
        seed: 0x5eed,
        ..CardConfig::default()
    });
    rig.w(COAL_COUNT, 4);
    rig.w64(RING_BASE_LO, RING);
    rig.w(RING_ENTRIES, 16);
    rig.w(RECORD_SIZE, 256);
    rig.w64(STATUS_ADDR_LO, SB);
    // Let the engine thread go back to sleep on the idle card (generous: on
    // a loaded machine a thread may wait long for its next time slice).
    std::thread::sleep(Duration::from_millis(300));
    rig.w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB);
    // Only guest memory is read from here on, never a register.
    if !wait_for(|| rig.status_block().prod_idx == 16) {
        // Dropping the card would wait for the sleeping thread forever.
        std::mem::forget(rig);
        panic!("the engine thread slept through the enable");
    }
    assert_eq!(rig.record(15, 256).seq, 15);
}

/// Dropping a free-running card stops its engine thread, which lets go of
/// the card's state: the trace is flushed and the IRQ sink released.
#[test]
fn dropping_a_card_stops_its_engine_thread() {
    let buf = Buf::default();
    let irqs = Arc::new(Irqs::default());
    let card = Card::with_tracer(
        CardConfig::default(),
        Arc::new(DmaSpace::new()),
        irqs.clone(),
        crate::trace::Tracer::to_writer(Box::new(buf.clone())),
    )
    .unwrap();
    card.bar_write(BAR_REGS, SCRATCH, &7u32.to_le_bytes());
    assert!(buf.0.lock().unwrap().is_empty(), "buffered until flushed");
    drop(card);
    assert_eq!(
        Arc::strong_count(&irqs),
        1,
        "the engine thread still holds the card"
    );
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        text.lines().count(),
        2,
        "start and the SCRATCH write: {text}"
    );
}

/// SPEC §6.1, §16.1: an overlap with an SG ring names the SG page it hit
/// by its index in the table.
#[test]
fn overlap_names_the_sg_page() {
    let rig = Rig::new(det());
    let pages = [GUEST + 0x30_0000, GUEST + 0x20_0000, GUEST + 0x28_0000];
    let table: Vec<u8> = pages.iter().flat_map(|p| p.to_le_bytes()).collect();
    rig.put(TABLE, &table);
    rig.w64(RING_BASE_LO, TABLE);
    rig.w(SG_PAGES, 3);
    rig.w(RING_ENTRIES, 12);
    rig.w(RECORD_SIZE, 1024);
    rig.w64(STATUS_ADDR_LO, pages[2] + 0x40);
    rig.w(CONTROL, CTRL_ENABLE | CTRL_SG | CTRL_STATUS_WB);
    assert_eq!(rig.r(ERROR_CODE), ERR_RING_OVERLAP);
    let r = rig.card.sanitizer_reports().pop().unwrap();
    assert_eq!((r.check, r.addr), ("overlap", pages[2] + 0x40));
    assert!(r.message.contains("(SG page 2)"), "{}", r.message);
    assert!(!r.message.contains("SG page 0"), "{}", r.message);
}

/// SPEC §11, §15.1: a copy may end exactly at BAR2's end but not past it;
/// a host buffer spanning two DMA mappings is copied piece by piece both
/// ways, and its trace line carries the bytes moved; a checksum over
/// several chunks covers exactly its range.
#[test]
fn copy_engine_edges() {
    let buf = Buf::default();
    let dma = Arc::new(DmaSpace::new());
    let fd = memfd(GUEST_SIZE);
    let mem = File::from(fd.try_clone().unwrap());
    dma.map(GUEST, GUEST_SIZE, fd, 0, true).unwrap();
    // A second mapping right after the first: a host buffer may span both.
    let next = GUEST + GUEST_SIZE;
    dma.map(next, 1 << 16, memfd(1 << 16), 0, true).unwrap();
    let irqs = Arc::new(Irqs::default());
    let card = Card::with_tracer(
        det(),
        dma.clone(),
        irqs.clone(),
        crate::trace::Tracer::to_writer(Box::new(buf.clone())),
    )
    .unwrap();
    let rig = Rig {
        card,
        dma,
        irqs,
        mem,
    };
    let bar2 = rig.card.bar2();
    let size = bar2.size();
    // No period: every offset's bytes differ from every other's.
    let pattern: Vec<u8> = (0..size)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect();
    assert!(bar2.write(0, &pattern));
    let copy = |op: u32, off: u64, len: u32, host: u64| {
        rig.w(COPY_BAR_OFF, off as u32);
        rig.w(COPY_LEN, len);
        rig.w64(COPY_HOST_LO, host);
        rig.w(COPY_CTRL, op);
        let status = rig.r(COPY_STATUS);
        rig.w(ERROR_CODE, 0);
        status
    };
    // The last 16 bytes of BAR2: allowed; one more: refused.
    assert_eq!(copy(COPY_OP_TO_HOST, size - 16, 16, GUEST), ERR_NONE);
    assert_eq!(rig.mem(GUEST, 16), pattern[(size - 16) as usize..]);
    assert_eq!(copy(COPY_OP_TO_HOST, size - 16, 17, GUEST), ERR_COPY_RANGE);
    assert_eq!(copy(COPY_OP_CHECKSUM, size, 0, 0), ERR_NONE);
    // 8 KiB from BAR2 offset 0x1000 to a host buffer across both mappings.
    let host = next - 0x1000;
    assert_eq!(copy(COPY_OP_TO_HOST, 0x1000, 0x2000, host), ERR_NONE);
    let mut second = vec![0u8; 0x1000];
    rig.dma.read(next, &mut second).unwrap();
    assert_eq!(rig.mem(host, 0x1000), pattern[0x1000..0x2000]);
    assert_eq!(second, pattern[0x2000..0x3000]);
    let moved = &pattern[0x1000..0x3000];
    let line = format!(
        "\"addr\":\"{host:#x}\",\"len\":8192,\"hash\":\"{:#x}\"",
        checksum(moved)
    );
    rig.card.flush_trace();
    assert!(buf.text().contains(&line), "no dma line {line}");
    // And back, into BAR2 at 0x8000.
    rig.dma.write(next, &[0x5a; 0x1000]).unwrap();
    assert_eq!(copy(COPY_OP_FROM_HOST, 0x8000, 0x2000, host), ERR_NONE);
    let mut back = vec![0u8; 0x2000];
    assert!(bar2.read(0x8000, &mut back));
    assert_eq!(back[..0x1000], pattern[0x1000..0x2000]);
    assert_eq!(back[0x1000..], [0x5a; 0x1000]);
    // A checksum over several 4 KiB chunks, BAR2 busy right after it.
    assert_eq!(copy(COPY_OP_CHECKSUM, 0x10, 0x2345, 0), ERR_NONE);
    let sum = u64::from(rig.r(COPY_RESULT_LO)) | u64::from(rig.r(COPY_RESULT_HI)) << 32;
    let mut range = vec![0u8; 0x2345];
    assert!(bar2.read(0x10, &mut range));
    assert_eq!(sum, checksum(&range));
}

/// SPEC §10, §11: the copy engine reads host memory the guest mapped
/// read-only, and refuses to write it (ERR_DMA_READONLY, nothing written).
#[test]
fn copy_engine_reads_but_never_writes_a_read_only_mapping() {
    let rig = Rig::new(det());
    let ro = GUEST + GUEST_SIZE;
    let fd = memfd(1 << 16);
    let ro_mem = File::from(fd.try_clone().unwrap());
    rig.dma.map(ro, 1 << 16, fd, 0, false).unwrap();
    ro_mem.write_all_at(b"read-only host", 0).unwrap();
    let copy = |op: u32, off: u32, len: u32| {
        rig.w(COPY_BAR_OFF, off);
        rig.w(COPY_LEN, len);
        rig.w64(COPY_HOST_LO, ro);
        rig.w(COPY_CTRL, op);
        let status = rig.r(COPY_STATUS);
        rig.w(ERROR_CODE, 0);
        status
    };
    assert_eq!(copy(COPY_OP_FROM_HOST, 0x400, 14), ERR_NONE);
    let mut seen = [0u8; 14];
    assert!(rig.card.bar2().read(0x400, &mut seen));
    assert_eq!(&seen, b"read-only host");
    assert!(rig.card.bar2().write(0, &[0xee; 14]));
    assert_eq!(copy(COPY_OP_TO_HOST, 0, 14), ERR_DMA_READONLY);
    let mut after = [0u8; 14];
    ro_mem.read_exact_at(&mut after, 0).unwrap();
    assert_eq!(&after, b"read-only host", "nothing written");
}
