//! Streaming engine throughput into a memfd (guest RAM stand-in), next to a
//! plain memcpy of the same bytes into the same memory, in the same process.
//!
//! The engine is driven like a driver would in deterministic mode: CONS_IDX
//! = PROD_IDX (consume everything), then STEP one ring's worth. The memcpy
//! baseline copies a ring's worth of (the same) record bytes per lap with
//! one `copy_nonoverlapping`, the fastest way to put those bytes there.
//!
//! Run: `cargo bench -p cardless-device --bench engine_throughput`

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cardless_abi::regs::*;
use cardless_device::dma::DmaSpace;
use cardless_device::model::{sealed_memfd, Card, CardConfig, IrqSink};
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};

const IOVA: u64 = 1 << 32;
/// Ring size: bigger than the L2 cache, so both sides stream to memory.
const RING_BYTES: u64 = 8 << 20;
const RUN: Duration = Duration::from_millis(1500);

struct NoIrq;
impl IrqSink for NoIrq {
    fn raise(&self, _: u16) {}
}

/// Sealed like QEMU's memory-backend-memfd: the card refuses fds that could shrink.
fn memfd(size: u64) -> OwnedFd {
    sealed_memfd(c"bench", size).expect("memfd_create")
}

fn w(card: &Card, reg: u64, v: u32) {
    card.bar_write(BAR_REGS, reg, &v.to_le_bytes());
}

fn r(card: &Card, reg: u64) -> u32 {
    let mut b = [0u8; 4];
    card.bar_read(BAR_REGS, reg, &mut b);
    u32::from_le_bytes(b)
}

/// Returns (records/s, bytes/s) of the engine.
fn engine(rs: u32, fd: &OwnedFd) -> (f64, f64) {
    let dma = Arc::new(DmaSpace::new());
    dma.map(IOVA, RING_BYTES + 4096, fd.try_clone().unwrap(), 0, true)
        .unwrap();
    let cfg = CardConfig {
        deterministic: true,
        seed: 42,
        record_size: rs,
        ..CardConfig::default()
    };
    let card = Card::new(cfg, dma, Arc::new(NoIrq)).unwrap();
    let entries = (RING_BYTES / u64::from(rs)) as u32;
    card.bar_write(BAR_REGS, RING_BASE_LO, &(IOVA + 4096).to_le_bytes());
    card.bar_write(BAR_REGS, STATUS_ADDR_LO, &IOVA.to_le_bytes());
    w(&card, RING_ENTRIES, entries);
    w(&card, COAL_COUNT, 1024);
    w(&card, INT_MASK, INT_ALL);
    w(&card, CONTROL, CTRL_ENABLE | CTRL_STATUS_WB);
    let step = entries.min(MAX_STEP);
    // Warm up one lap (page faults on first touch are not the engine's cost).
    for _ in 0..entries.div_ceil(step) {
        w(&card, CONS_IDX, r(&card, PROD_IDX));
        w(&card, STEP, step);
    }
    let start_idx = r(&card, PROD_IDX);
    let t = Instant::now();
    while t.elapsed() < RUN {
        w(&card, CONS_IDX, r(&card, PROD_IDX));
        w(&card, STEP, step);
    }
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(r(&card, ERROR_CODE), 0);
    let n = f64::from(r(&card, PROD_IDX).wrapping_sub(start_idx));
    (n / secs, n * f64::from(rs) / secs)
}

/// Bytes/s of a plain memcpy of the ring's bytes into the same memfd.
fn memcpy(fd: &OwnedFd) -> f64 {
    let len = (RING_BYTES + 4096) as usize;
    // SAFETY: a fresh shared mapping of our memfd, unmapped below.
    let p = unsafe {
        mmap(
            std::ptr::null_mut(),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED,
            fd,
            0,
        )
    }
    .expect("mmap of the ring's memfd");
    let dst = p.cast::<u8>().wrapping_add(4096);
    // The same bytes the engine wrote: the ring as it is now.
    let mut src = vec![0u8; RING_BYTES as usize];
    // SAFETY: dst is valid for RING_BYTES bytes; src is ours.
    unsafe { std::ptr::copy_nonoverlapping(dst, src.as_mut_ptr(), src.len()) };
    let mut laps = 0u64;
    let t = Instant::now();
    while t.elapsed() < RUN {
        // SAFETY: as above.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
        std::hint::black_box(dst);
        laps += 1;
    }
    let secs = t.elapsed().as_secs_f64();
    // SAFETY: unmapping what we mapped.
    unsafe { munmap(p, len) }.expect("munmap");
    (laps * RING_BYTES) as f64 / secs
}

fn main() {
    println!(
        "{:>8} {:>14} {:>12} {:>12} {:>7}",
        "record", "records/s", "engine GB/s", "memcpy GB/s", "ratio"
    );
    for rs in [64u32, 512, 4096, 65536] {
        let fd = memfd(RING_BYTES + 4096);
        let (recs, bytes) = engine(rs, &fd);
        let copy = memcpy(&fd);
        println!(
            "{:>7}B {:>14.0} {:>12.2} {:>12.2} {:>7.2}",
            rs,
            recs,
            bytes / 1e9,
            copy / 1e9,
            bytes / copy
        );
    }
}
