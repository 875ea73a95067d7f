//! The checks of SPEC §6.1 at their edges (`cargo mutants` survivors,
//! device/MUTANTS.md): the entries limit is checked on its own, not only
//! through the byte limit (a ring of 64-byte records reaches the entries
//! limit at 64 MiB, far below the byte limit); the SG page count limit;
//! the status block's alignment and overlap only when it is written back;
//! the table entry an unmapped SG page is named by.

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

/// A ring of four smallest records at 1 MiB, with CONTROL `control` and
/// the status block at `status_addr`.
fn four_record_ring(control: u32, status_addr: u64) -> Regs {
    Regs {
        control,
        ring_base: 0x10_0000,
        ring_entries: 4,
        record_size: MIN_RECORD_SIZE,
        status_addr,
        ..Regs::default()
    }
}

/// §6.1: STATUS_ADDR must be 8-byte aligned only when CTRL_STATUS_WB has
/// the card write the status block there.
#[test]
fn the_status_address_is_checked_only_with_write_back() {
    let ring = |control| four_record_ring(control, 0x20_0004);
    assert_eq!(validate(ring(0)), Ok(()));
    assert_eq!(validate(ring(CTRL_OVF_STOP)), Ok(()));
    assert_eq!(
        validate(ring(CTRL_STATUS_WB)),
        Err((ERR_BAD_ALIGNMENT, 0x20_0004))
    );
}

/// §6.1: the status block is an area that must not overlap the ring only
/// when the card writes it back.
#[test]
fn the_status_block_overlaps_the_ring_only_with_write_back() {
    let ring = |control| four_record_ring(control, 0x10_0040);
    assert_eq!(validate(ring(CTRL_OVF_STOP)), Ok(()));
    assert_eq!(
        validate(ring(CTRL_STATUS_WB)),
        Err((ERR_RING_OVERLAP, 0x10_0040))
    );
}

/// §16.3: an SG page outside mapped memory is reported with its index and
/// the IOVA of its table entry.
#[test]
fn an_unmapped_sg_page_is_named_by_its_table_entry() {
    let (table, pages) = (0x10_0000, 0x20_0000);
    let dma = DmaSpace::new();
    dma.map(table, 0x1000, memfd(0x1000), 0, true).unwrap();
    dma.map(pages, 0x2000, memfd(0x2000), 0, true).unwrap();
    let entries = [pages, pages + 0x1000, 0x40_0000];
    let bytes: Vec<u8> = entries.iter().flat_map(|e| e.to_le_bytes()).collect();
    let view = dma.view();
    view.for_each(table, bytes.len() as u64, true, |p, s| {
        s.copy_from(&bytes[p..p + s.len()]);
    })
    .unwrap();
    let regs = Regs {
        control: CTRL_SG,
        ring_base: table,
        ring_entries: 3 * 4096 / 64,
        record_size: 64,
        sg_pages: 3,
        ..Regs::default()
    };
    let Err(refused) = validate_ring(&regs, &view, &Sanitizer::default()).result else {
        panic!("page 2 is not mapped");
    };
    assert_eq!((refused.code, refused.addr), (ERR_BAD_SG_ENTRY, 0x40_0000));
    let msg = refused.finding.expect("explained").msg;
    assert!(
        msg.contains("SG page 2 (0x400000, table entry at 0x100010)"),
        "{msg}"
    );
}
