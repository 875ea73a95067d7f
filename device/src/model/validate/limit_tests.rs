//! The ring size limits of SPEC §6.1 at their edges (`cargo mutants`
//! survivors, device/MUTANTS.md): the entries limit is checked on its own,
//! not only through the byte limit (a ring of 64-byte records reaches the
//! entries limit at 64 MiB, far below the byte limit).

use super::*;
use crate::dma::DmaSpace;

/// Validates a contiguous ring of `entries` records of `rs` bytes.
fn contiguous(entries: u32, rs: u32) -> Result<(), (u32, u64)> {
    let regs = Regs {
        ring_base: 0x10_0000,
        ring_entries: entries,
        record_size: rs,
        ..Regs::default()
    };
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
