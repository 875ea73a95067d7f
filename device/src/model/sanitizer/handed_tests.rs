//! What the sanitizer holds as handed to the card (SPEC §16.1): the SG
//! page table it read the ring from, and nothing at all after a reset
//! (`cargo mutants` survivors, device/MUTANTS.md).

use super::*;

fn enable() -> What {
    What::Write {
        bar: 0,
        off: CONTROL,
        val: u64::from(CTRL_ENABLE | CTRL_SG),
    }
}

/// The SG page table a ring was read from is a clash for a status block
/// handed late, and a stray write into it is named as a hit on the table
/// (the card only reads it).
#[test]
fn the_sg_table_clashes_and_is_named() {
    let mut san = Sanitizer::default();
    san.note_action(enable(), Some(5), 10);
    let page = Span::new(0x10_0000, 0x1000);
    let table = Span::new(0x2_0000, 0x18);
    san.hand(Role::Ring, [(page, Some(0))]);
    san.hand_table(table);
    assert_eq!(
        san.clash(Span::new(0x2_0010, 64)),
        Some((Role::SgTable, table))
    );
    let Err(refused) = san.check_handed(0x2_0008, 8, "status block", None) else {
        panic!("the table is not a write target");
    };
    let msg = refused.finding.expect("explained").msg;
    assert!(
        msg.contains("it hits the SG page table 0x20000..0x20018 (handed by the BAR0+0x10"),
        "{msg}"
    );
}

/// After a reset nothing is handed: a DMA_UNMAP that follows (the driver
/// freeing the ring it stopped) takes nothing away from the card, and a
/// later DMA there is "never handed", not "freed while the card used it".
#[test]
fn after_a_reset_an_unmap_revokes_nothing() {
    let mut san = Sanitizer::default();
    san.note_action(enable(), Some(5), 10);
    let ring = Span::new(0x10_0000, 0x1000);
    san.hand(Role::Ring, [(ring, None)]);
    san.hand_table(Span::new(0x2_0000, 0x18));
    san.note_action(What::VmmReset, None, 20);
    san.reset();
    assert!(!san.holds(Role::Ring));
    assert_eq!(san.clash(Span::new(0x2_0000, 0x1_0000)), None);
    san.note_action(
        What::DmaUnmap {
            addr: ring.start,
            size: 0x1000,
        },
        Some(9),
        30,
    );
    san.unmapped(ring);
    let msg = san
        .dma_error(&DmaError::Unmapped { iova: 0x10_0100 })
        .finding
        .expect("explained")
        .msg;
    assert!(
        msg.contains("which removed 0x100000..0x101000") && !msg.contains("took away"),
        "{msg}"
    );
}
