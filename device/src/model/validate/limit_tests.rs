//! The checks of SPEC §6.1 at their edges (`cargo mutants` survivors,
//! device/MUTANTS.md): the entries limit is checked on its own, not only
//! through the byte limit (a ring of 64-byte records reaches the entries
//! limit at 64 MiB, far below the byte limit); the SG page count limit;
//! the status block's alignment only when it is written back.

use super::*;
use crate::dma::tests::memfd;
use crate::dma::DmaSpace;

/// Validates a contiguous ring of `entries` records of `rs` bytes.
fn contiguous(entries: u32, rs: u32) -> Result<(), (u32, u64)> {
    validate(Regs {
        ring_base: 0x10_0000,
        ring_entries: entries,
        record_size: rs,
        ..Regs::default()
    })
}

/// Validates `regs` against no DMA mappings.
fn validate(regs: Regs) -> Result<(), (u32, u64)> {
    let dma = DmaSpace::new();
    let checked = validate_ring(&regs, &dma.view(), &Sanitizer::default());
    checked.result.map(|_| ()).map_err(|r| (r.code, r.addr))
}

#[test]
fn ring_entries_up_to_the_limit_and_not_one_more() {
    assert_eq!(contiguous(MAX_RING_ENTRIES, MIN_RECORD_SIZE), Ok(()));
    assert_eq!(
        contiguous(MAX_RING_ENTRIES + 1, MIN_RECORD_SIZE),
        Err((ERR_BAD_RING_SIZE, u64::from(MAX_RING_ENTRIES) + 1))
    );
}

#[test]
fn ring_bytes_up_to_the_limit_and_not_one_record_more() {
    let rs = (MAX_RING_BYTES / u64::from(MAX_RING_ENTRIES)) as u32;
    assert_eq!(contiguous(MAX_RING_ENTRIES, rs), Ok(()));
    assert_eq!(
        contiguous(MAX_RING_ENTRIES, rs + RECORD_ALIGN),
        Err((ERR_BAD_RING_SIZE, u64::from(MAX_RING_ENTRIES)))
    );
}

/// SG_PAGES up to MAX_SG_PAGES is accepted (the table is read: here its
/// zero entries then point at unmapped page 0), one more is a count error.
#[test]
fn sg_pages_up_to_the_limit_and_not_one_more() {
    let table = 0x10_0000;
    let len = u64::from(MAX_SG_PAGES) * SG_ENTRY_SIZE;
    let dma = DmaSpace::new();
    dma.map(table, len, memfd(len), 0, false).unwrap();
    let sg = |n: u32| {
        let regs = Regs {
            control: CTRL_SG,
            ring_base: table,
            ring_entries: 1,
            record_size: MIN_RECORD_SIZE,
            sg_pages: n,
            ..Regs::default()
        };
        let checked = validate_ring(&regs, &dma.view(), &Sanitizer::default());
        checked.result.map(|_| ()).map_err(|r| (r.code, r.addr))
    };
    assert_eq!(sg(MAX_SG_PAGES), Err((ERR_BAD_SG_ENTRY, 0)));
    assert_eq!(
        sg(MAX_SG_PAGES + 1),
        Err((ERR_BAD_SG_COUNT, u64::from(MAX_SG_PAGES) + 1))
    );
}

/// §6.1: STATUS_ADDR must be 8-byte aligned only when CTRL_STATUS_WB has
/// the card write the status block there.
#[test]
fn the_status_address_is_checked_only_with_write_back() {
    let ring = |control: u32| Regs {
        control,
        ring_base: 0x10_0000,
        ring_entries: 4,
        record_size: MIN_RECORD_SIZE,
        status_addr: 0x20_0004,
        ..Regs::default()
    };
    assert_eq!(validate(ring(0)), Ok(()));
    assert_eq!(validate(ring(CTRL_OVF_STOP)), Ok(()));
    assert_eq!(
        validate(ring(CTRL_STATUS_WB)),
        Err((ERR_BAD_ALIGNMENT, 0x20_0004))
    );
}
