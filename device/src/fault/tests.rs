//! Plan parsing (SPEC §14.2).

use super::*;

/// SPEC §14.2: every kind's canonical line parses back to the same fault.
#[test]
fn canonical_lines_round_trip() {
    for kind in ALL_KINDS {
        let mut f = Fault::new(kind);
        f.trigger = Trigger::Record(7);
        if kind.is_counted() {
            f.count = 3;
        }
        if kind.is_irq() {
            f.arg2 = INT_OVERFLOW;
        }
        let line = f.to_string();
        assert_eq!(FaultPlan::parse_one(&line), Ok(f), "{line}");
        assert_eq!(FaultKind::from_code(kind.code()), Some(kind));
    }
}

/// SPEC §14.2: units, hex, comments, blank lines, defaults.
#[test]
fn plan_file_syntax() {
    let plan = FaultPlan::parse(
        "# a plan\n\n drop-irq at=2us cause=data-ready count=2 # two\n\
         corrupt-header rec=0x10\nstray-write rec=3 addr=0x20_0000\nlink-down at=1ms ns=5us\n",
    )
    .unwrap();
    let f = &plan.faults;
    assert_eq!(f.len(), 4);
    assert_eq!(f[0].trigger, Trigger::At(2000));
    assert_eq!((f[0].count, f[0].arg2), (2, INT_DATA_READY));
    assert_eq!(f[1].trigger, Trigger::Record(16));
    assert_eq!((f[1].arg, f[1].arg2), (DEFAULT_HEADER_BYTE, 0xff));
    assert_eq!(f[2].arg, 0x20_0000);
    assert_eq!((f[3].trigger, f[3].arg), (Trigger::At(1_000_000), 5000));
    assert_eq!(FaultPlan::parse(&plan.lines().join("\n")), Ok(plan));
}

/// SPEC §14.1: `status-lost` takes a trigger and a `count` of write-backs,
/// nothing else, and is code 12 in the debug window.
#[test]
fn status_lost_takes_a_count_of_write_backs() {
    let f = FaultPlan::parse_one("status-lost rec=5 count=3").unwrap();
    assert_eq!(f.kind, FaultKind::StatusLost);
    assert_eq!(
        (f.trigger, f.count, f.arg, f.arg2),
        (Trigger::Record(5), 3, 0, 0)
    );
    assert_eq!(f.to_string(), "status-lost rec=5 count=3");
    assert_eq!(FaultKind::from_code(12), Some(FaultKind::StatusLost));
    assert_eq!(FaultPlan::parse_one("status-lost").unwrap().count, 1);
    for (line, want) in [
        (
            "status-lost ns=5",
            "takes no 'ns' (it takes: at, rec, count)",
        ),
        ("status-lost cause=error", "takes no 'cause'"),
        ("status-lost count=0", "at least 1"),
    ] {
        let e = FaultPlan::parse_one(line).unwrap_err();
        assert!(e.contains(want), "{line}: {e}");
    }
}

/// SPEC §14.2: errors name the line and what would be accepted.
#[test]
fn plan_errors_are_explained() {
    let e = FaultPlan::parse("stall\nexplode at=1\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.msg.contains("unknown fault 'explode'") && e.msg.contains("drop-irq"));
    for (line, want) in [
        ("stall count=2", "takes no 'count'"),
        ("drop-irq at=1 rec=2", "one trigger"),
        ("drop-irq cause=sometimes", "data-ready"),
        ("corrupt-header byte=40", "outside"),
        ("corrupt-payload xor=0", "0x1..=0xff"),
        ("drop-irq count=0", "at least 1"),
        ("stall ns=1parsec", "not a number"),
        ("stall ns=99999999999999s", "too large"),
        ("stall ns", "key=value"),
        ("", "empty fault"),
    ] {
        let e = FaultPlan::parse_one(line).unwrap_err();
        assert!(e.contains(want), "{line}: {e}");
    }
    let many = "resume\n".repeat(MAX_SCHEDULED_FAULTS as usize + 1);
    assert!(FaultPlan::parse(&many).unwrap_err().msg.contains("at most"));
}

/// SPEC §14.1, §14.2: every cause filter has a name that parses back, and
/// an irq fault's filter is one defined cause or any.
#[test]
fn every_cause_filter_round_trips() {
    for cause in [0, INT_DATA_READY, INT_ERROR, INT_COPY_DONE, INT_OVERFLOW] {
        let mut f = Fault::new(FaultKind::DelayIrq);
        f.arg2 = cause;
        f.validate().unwrap();
        let line = f.to_string();
        assert!(!line.contains("invalid"), "{line}");
        assert_eq!(FaultPlan::parse_one(&line), Ok(f), "{line}");
    }
    for bad in [INT_DATA_READY | INT_ERROR, 1 << 7] {
        let mut f = Fault::new(FaultKind::DropIrq);
        f.arg2 = bad;
        let e = f.validate().unwrap_err();
        assert!(e.contains("not one interrupt cause"), "{e}");
        assert_eq!(cause_name(bad), "invalid");
    }
}

/// SPEC §14.2: a plan holds at most MAX_SCHEDULED_FAULTS faults, however it
/// is put together; exactly that many is fine.
#[test]
fn plan_size_limit_holds_for_files_and_extensions() {
    let full = "resume\n".repeat(MAX_SCHEDULED_FAULTS as usize);
    let mut plan = FaultPlan::parse(&full).unwrap();
    assert_eq!(plan.faults.len(), MAX_SCHEDULED_FAULTS as usize);
    let e = plan.extend(FaultPlan::parse("stall").unwrap()).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(e.msg.contains("at most"), "{e}");
    let mut half = FaultPlan::parse("stall\nresume").unwrap();
    half.extend(FaultPlan::parse("link-down").unwrap()).unwrap();
    assert_eq!(half.faults.len(), 3);
}

/// Plan errors read "fault plan line N: ..." (N = 0: the plan as a whole).
#[test]
fn plan_errors_say_where() {
    let e = FaultPlan::parse("stall\nexplode").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("fault plan line 2: unknown fault"),
        "{e}"
    );
    let many = "resume\n".repeat(MAX_SCHEDULED_FAULTS as usize + 1);
    let e = FaultPlan::parse(&many).unwrap_err();
    assert!(e.to_string().starts_with("fault plan: "), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("at most {MAX_SCHEDULED_FAULTS}")),
        "{e}"
    );
}
