//! What a DMA_UNMAP takes away and what the reports then say (SPEC §16),
//! at the edges: an unmap over two roles, an unmap of exactly a handed
//! range, a long revocation history, an empty span handed.

use super::tests::cause;
use super::*;

fn unmap(addr: u64, size: u64, action: u64) -> Cause {
    Cause {
        what: What::DmaUnmap { addr, size },
        action,
        event: Some(action + 100),
        t: 0,
    }
}

/// One DMA_UNMAP under the ring and the status block revokes each under
/// its own name and hand-over, not one merged range.
#[test]
fn an_unmap_over_two_roles_revokes_each_by_name() {
    let mut o = Ownership::default();
    o.hand(Role::Ring, [(Span::new(0x1000, 0x1000), None)], cause(1));
    o.hand(Role::StatusBlock, [(Span::new(0x3000, 64), None)], cause(2));
    o.unmapped(Span::new(0, 0x10000), unmap(0, 0x10000, 3));
    let status = o.explain_miss(0x3000, 8);
    assert!(
        status.contains("it was the status block 0x3000..0x3040 handed by")
            && status.contains("guest action 2,"),
        "{status}"
    );
    let ring = o.explain_miss(0x1800, 8);
    assert!(
        ring.contains("it was the ring 0x1000..0x2000 handed by")
            && ring.contains("guest action 1,"),
        "{ring}"
    );
    assert!(
        o.explain_miss(0x2800, 8).contains("nothing is handed"),
        "the gap between them was never handed"
    );
}

/// An unmap of exactly a handed range leaves nothing of it: no empty
/// remnant is held or named as the nearest range.
#[test]
fn an_unmap_of_exactly_the_range_leaves_nothing() {
    let mut o = Ownership::default();
    o.hand(Role::StatusBlock, [(Span::new(0x8000, 64), None)], cause(1));
    o.unmapped(Span::new(0x8000, 64), unmap(0x8000, 64, 2));
    assert!(!o.holds(Role::StatusBlock));
    let why = o.explain_miss(0x8100, 8);
    assert!(why.contains("nothing is handed"), "{why}");
}

/// The last REVOKED_HISTORY revocations explain later stray writes; older
/// ones are forgotten.
#[test]
fn revocations_are_remembered_up_to_the_history() {
    let mut o = Ownership::default();
    let n = REVOKED_HISTORY as u64 + 1;
    for i in 0..n {
        let at = 0x10000 * (i + 1);
        o.hand(Role::Ring, [(Span::new(at, 0x1000), None)], cause(2 * i));
        o.unmapped(Span::new(at, 0x1000), unmap(at, 0x1000, 2 * i + 1));
    }
    assert!(o.revoked_at(0x10000).is_none(), "the oldest is forgotten");
    for i in 1..n {
        let at = 0x10000 * (i + 1);
        let (what, unmapped) = o
            .revoked_at(at + 0x800)
            .unwrap_or_else(|| panic!("revocation {i} of {n} forgotten"));
        assert!(what.contains(&format!("{:#x}..", at)), "{what}");
        assert_eq!(unmapped.action, 2 * i + 1);
    }
}

/// An empty span is not handed. The card can ask for one: a status block
/// latched at IOVA 2^64 − 1 (its alignment is checked only when
/// CTRL_STATUS_WB is set at enable) and handed when STATUS_WB is turned on
/// later saturates to `[2^64 − 1, 2^64 − 1)`.
#[test]
fn an_empty_span_is_not_handed() {
    let mut o = Ownership::default();
    o.hand(Role::Ring, [(Span::new(0x1000, 0x1000), None)], cause(1));
    o.hand(
        Role::StatusBlock,
        [(Span::new(u64::MAX, 64), None)],
        cause(2),
    );
    assert!(!o.holds(Role::StatusBlock));
    let why = o.explain_miss(u64::MAX - 0x100, 8);
    assert!(why.contains("ring 0x1000..0x2000"), "{why}");
}
