//! What a sanitizer finding names as its cause (SPEC §16.3): the guest
//! action being handled, numbered in arrival order, or the fault that
//! fired, at the VTIME it fired (`cargo mutants` survivors,
//! device/MUTANTS.md).

use super::*;

fn write(val: u64) -> What {
    What::Write {
        bar: 0,
        off: CONTROL,
        val,
    }
}

/// Each guest action gets the next number; the finding made while it is
/// handled names it, its trace event and its VTIME.
#[test]
fn findings_name_the_action_being_handled_by_its_number() {
    let mut san = Sanitizer::default();
    san.note_action(write(1), Some(10), 100);
    san.note_action(write(9), Some(11), 250);
    san.note_action(What::VmmReset, None, 300);
    san.note_action(write(2), Some(14), 400);
    assert_eq!(
        san.during(),
        Cause {
            what: write(2),
            action: 4,
            event: Some(14),
            t: 400,
        }
    );
    let Err(refused) = san.check_handed(0x1000, 8, "record", None) else {
        panic!("nothing is handed: the write must be refused");
    };
    let finding = refused.finding.expect("a stray write is explained");
    assert_eq!(finding.cause, Some(san.during()));
    assert!(
        finding
            .msg
            .contains("write 0x2 (guest action 4, trace event 14, VTIME 400 ns)"),
        "{}",
        finding.msg
    );
}

/// A fault that fires later than the last guest action is named with its
/// own trace event and VTIME, and the number of the action it came during.
#[test]
fn a_fault_cause_is_stamped_when_it_fires() {
    let mut san = Sanitizer::default();
    san.note_action(write(1), Some(3), 100);
    san.note_action(write(9), Some(7), 200);
    let cause = san.fault_cause(FaultKind::StrayWrite, Some(12), 5_000);
    assert_eq!(
        cause,
        Cause {
            what: What::Fault(FaultKind::StrayWrite),
            action: 2,
            event: Some(12),
            t: 5_000,
        }
    );
    assert_eq!(
        cause.to_string(),
        "the stray-write fault firing (guest action 2, trace event 12, VTIME 5000 ns)"
    );
}
