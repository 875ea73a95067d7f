//! The engine thread keeps producing batch after batch on its own (SPEC
//! §6.5): a ring longer than one batch fills with no guest access at all
//! (`cargo mutants` survivors, device/MUTANTS.md: every other test's ring
//! fills in one batch, so the thread never went round for the next).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cardless_abi::record::{verify_record, StatusBlock, STATUS_BLOCK_SIZE};
use cardless_abi::regs::*;

use crate::dma::tests::memfd;
use crate::dma::DmaSpace;
use crate::model::{Card, CardConfig, IrqSink};

const GUEST: u64 = 0x10_0000;
const GUEST_SIZE: u64 = 1 << 20;
const SB: u64 = GUEST;
const RING: u64 = GUEST + 0x1000;
const SEED: u64 = 0x5eed;

struct NoIrqs;

impl IrqSink for NoIrqs {
    fn raise(&self, _vector: u16) {}
}

/// RATE 0 (as fast as possible) into a ring of four batches that nobody
/// consumes: the thread produces them all, then waits (no drops). Only
/// guest memory is read while it runs, never a register (a register access
/// lets the thread through its yield loop).
#[test]
fn a_ring_of_several_batches_fills_without_guest_accesses() {
    let dma = Arc::new(DmaSpace::new());
    let fd = memfd(GUEST_SIZE);
    let mem = File::from(fd.try_clone().unwrap());
    dma.map(GUEST, GUEST_SIZE, fd, 0, true).unwrap();
    let card = Card::new(
        CardConfig {
            seed: SEED,
            ..CardConfig::default()
        },
        dma,
        Arc::new(NoIrqs),
    )
    .unwrap();
    let w = |reg: u64, v: u32| card.bar_write(BAR_REGS, reg, &v.to_le_bytes());
    let (entries, rs) = (4 * ENGINE_BATCH, 64u32);
    w(RING_BASE_LO, RING as u32);
    w(RING_BASE_LO + 4, (RING >> 32) as u32);
    w(RING_ENTRIES, entries);
    w(RECORD_SIZE, rs);
    w(STATUS_ADDR_LO, SB as u32);
    w(STATUS_ADDR_LO + 4, (SB >> 32) as u32);
    w(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB);
    let prod_idx = || {
        let mut b = [0u8; STATUS_BLOCK_SIZE];
        mem.read_exact_at(&mut b, SB - GUEST).unwrap();
        StatusBlock::from_bytes(&b).prod_idx
    };
    let t = Instant::now();
    while prod_idx() != entries && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(1));
    }
    if prod_idx() != entries {
        let at = prod_idx();
        // Dropping the card would wait for the stuck thread forever.
        std::mem::forget(card);
        panic!("the engine thread stopped at {at} of {entries} records");
    }
    let mut bytes = vec![0u8; rs as usize];
    mem.read_exact_at(&mut bytes, RING + u64::from((entries - 1) * rs) - GUEST)
        .unwrap();
    assert_eq!(
        verify_record(&bytes, SEED).unwrap().seq,
        u64::from(entries - 1)
    );
    let mut b = [0u8; 4];
    card.bar_read(BAR_REGS, CNT_DROPPED, &mut b);
    assert_eq!(
        u32::from_le_bytes(b),
        0,
        "a full ring waits, it does not drop"
    );
}
