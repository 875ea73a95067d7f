//! Fault state on its own (SPEC §14): no card, no trace. VTIME,
//! CNT_PRODUCED and causes go in; what each call returns is checked.

use super::*;

fn plan(text: &str) -> FaultPlan {
    FaultPlan::parse(text).unwrap()
}

fn faults(text: &str) -> Faults {
    Faults::new(false, &plan(text))
}

/// Fires every fault due at `now` with `produced` records, as a check
/// point does; returns their kinds and whether one removed the card.
fn tick(f: &mut Faults, now: u64, produced: u64) -> (Vec<FaultKind>, bool) {
    let mut kinds = Vec::new();
    let mut removed = false;
    while let Some(fault) = f.take_due(now, produced) {
        kinds.push(fault.kind);
        removed |= f.fire(fault, Cause::default(), now);
    }
    (kinds, removed)
}

/// SPEC §14.2: nothing scheduled, armed or in effect is the quiet fast
/// path, and a free-running card then needs no timer.
#[test]
fn an_empty_plan_is_quiet() {
    let mut f = faults("");
    assert!(f.quiet() && !f.wants_timer());
    assert!(!f.unreachable() && !f.engine_paused() && !f.removed);
    assert_eq!(f.irq_fate(INT_ERROR, VEC_ERROR, 0), (IrqFate::Send, None));
    assert_eq!(f.next_record_fault(), None);
    let f = faults("stall at=10");
    assert!(!f.quiet() && f.wants_timer());
}

/// SPEC §14.2: a fault fires at the first check point where its trigger
/// is met (VTIME or CNT_PRODUCED), ties in plan order, once.
#[test]
fn triggers_fire_once_in_plan_order() {
    let mut f = faults("resume at=100\nlink-up rec=3\nresume at=50\nlink-up rec=2");
    assert_eq!(tick(&mut f, 49, 1), (vec![], false));
    assert_eq!(
        tick(&mut f, 100, 1).0,
        [FaultKind::Resume, FaultKind::Resume]
    );
    assert_eq!(tick(&mut f, 100, 2).0, [FaultKind::LinkUp]);
    assert_eq!(tick(&mut f, 1000, 9).0, [FaultKind::LinkUp]);
    assert_eq!(tick(&mut f, u64::MAX, u64::MAX), (vec![], false));
    assert_eq!(f.dbg_read(DBG_FIRED), Some(4));
    assert!(f.quiet(), "everything fired, nothing in effect");
}

/// SPEC §14.1, §14.3: stall pauses the engine until its time or a resume;
/// link-down makes the card unreachable until its time or a link-up;
/// surprise removal until a VMM reset.
#[test]
fn stall_link_down_and_removal_last_as_long_as_they_should() {
    let mut f = faults("stall at=10 ns=100\nlink-down at=20 ns=5");
    tick(&mut f, 20, 0);
    assert!(f.engine_paused() && f.unreachable());
    assert_eq!(
        f.dbg_read(DBG_STATE),
        Some(DBG_STATE_STALLED | DBG_STATE_LINK_DOWN)
    );
    assert!(!f.end_link_down(24) && f.end_link_down(25));
    assert!(!f.end_link_down(1000), "ended once");
    assert!(!f.unreachable() && f.engine_paused());
    // Times count from the check point that fired the fault (VTIME 20).
    assert!(!f.end_stall(119) && f.end_stall(120));
    assert!(!f.engine_paused() && f.quiet());
    // Without a time (ns=0) they last until resume / link-up.
    let mut f = faults("stall\nlink-down\nresume at=7\nlink-up at=8");
    tick(&mut f, 0, 0);
    assert!(!f.end_stall(u64::MAX) && !f.end_link_down(u64::MAX));
    tick(&mut f, 7, 0);
    assert_eq!(
        f.dbg_read(DBG_STATE),
        Some(DBG_STATE_LINK_DOWN),
        "resumed, link still down"
    );
    tick(&mut f, 8, 0);
    assert!(!f.unreachable() && !f.engine_paused());
    // Removal: held messages are lost, only a VMM reset brings it back.
    let mut f = faults("delay-irq ns=1000\nsurprise-removal at=5");
    tick(&mut f, 0, 0);
    let (fate, _) = f.irq_fate(INT_DATA_READY, VEC_DATA_READY, 0);
    assert_eq!(fate, IrqFate::Withheld);
    assert_eq!(f.dbg_read(DBG_STATE), Some(DBG_STATE_IRQ_HELD));
    assert_eq!(tick(&mut f, 5, 0), (vec![FaultKind::SurpriseRemoval], true));
    assert!(f.removed && f.unreachable() && f.engine_paused());
    assert_eq!(
        f.take_released(u64::MAX),
        None,
        "held messages died with the card"
    );
    assert_eq!(f.dbg_read(DBG_STATE), Some(DBG_STATE_REMOVED));
    f.reset(false);
    assert!(f.removed, "CONTROL.RESET does not bring the card back");
    f.reset(true);
    assert!(!f.removed && !f.unreachable());
}

/// SPEC §14.1: drop, dup and delay act on the next `count` messages whose
/// cause matches; held messages come back in order at their time; an
/// unreachable card loses messages.
#[test]
fn interrupt_faults_act_on_matching_messages() {
    let mut f = faults("drop-irq count=2 cause=error\ndup-irq cause=any\ndelay-irq ns=50 count=2");
    tick(&mut f, 0, 0);
    let v = |vec: u16| Some(u64::from(vec));
    assert_eq!(
        f.irq_fate(INT_ERROR, VEC_ERROR, 0),
        (
            IrqFate::Withheld,
            Some((FaultKind::DropIrq, "drop", v(VEC_ERROR)))
        )
    );
    assert_eq!(
        f.irq_fate(INT_DATA_READY, VEC_DATA_READY, 0),
        (
            IrqFate::Twice,
            Some((FaultKind::DupIrq, "dup", v(VEC_DATA_READY)))
        )
    );
    assert_eq!(
        f.irq_fate(INT_ERROR, VEC_ERROR, 0).0,
        IrqFate::Withheld,
        "second drop"
    );
    for (t, cause, vec) in [
        (10, INT_COPY_DONE, VEC_COPY_DONE),
        (20, INT_ERROR, VEC_ERROR),
    ] {
        assert_eq!(
            f.irq_fate(cause, vec, t),
            (
                IrqFate::Withheld,
                Some((FaultKind::DelayIrq, "hold", v(vec)))
            )
        );
    }
    assert_eq!(
        f.irq_fate(INT_OVERFLOW, VEC_OVERFLOW, 30),
        (IrqFate::Send, None)
    );
    assert_eq!(f.take_released(59), None);
    let first = Held {
        at: 60,
        cause: INT_COPY_DONE,
        vec: VEC_COPY_DONE,
    };
    assert_eq!(f.take_released(60), Some(first));
    assert_eq!(f.take_released(69), None);
    assert_eq!(f.take_released(1000).map(|h| h.cause), Some(INT_ERROR));
    assert!(f.quiet());
    let mut f = faults("link-down");
    tick(&mut f, 0, 0);
    assert_eq!(
        f.irq_fate(INT_ERROR, VEC_ERROR, 0),
        (
            IrqFate::Withheld,
            Some((FaultKind::LinkDown, "lost", v(VEC_ERROR)))
        )
    );
}

/// SPEC §14.1: a record fault applies to the next `count` records
/// written, oldest fault first, with the cause of its firing.
#[test]
fn record_faults_apply_to_the_next_records() {
    let mut f = faults("corrupt-payload count=2\nstray-write rec=1 addr=0x1000");
    let cause = Cause {
        action: 42,
        ..Cause::default()
    };
    while let Some(fault) = f.take_due(0, 0) {
        f.fire(fault, cause, 0);
    }
    for _ in 0..2 {
        let (fault, c) = f.next_record_fault().unwrap();
        assert_eq!((fault.kind, c.action), (FaultKind::CorruptPayload, 42));
        f.record_fault_used();
    }
    assert_eq!(f.next_record_fault(), None);
    f.record_fault_used();
    while let Some(fault) = f.take_due(0, 1) {
        f.fire(fault, cause, 0);
    }
    let (fault, _) = f.next_record_fault().unwrap();
    assert_eq!((fault.kind, fault.arg), (FaultKind::StrayWrite, 0x1000));
    f.record_fault_used();
    assert!(f.quiet());
    // Reset drops armed faults but keeps scheduled ones.
    let mut f = faults("corrupt-header\nstall at=99");
    tick(&mut f, 0, 0);
    f.reset(false);
    assert_eq!(f.next_record_fault(), None);
    assert_eq!(f.dbg_read(DBG_SCHEDULED), Some(1));
}

/// SPEC §14.1, §14.3: `status-lost` loses exactly the next `count`
/// write-backs (two firings add up) and a reset forgets the rest. Armed,
/// it needs no check point: a free-running card keeps no timer for it.
#[test]
fn status_lost_counts_write_backs() {
    let mut f = faults("status-lost count=2\nstatus-lost count=3\nstatus-lost rec=1");
    let lose_all = |f: &mut Faults| {
        std::iter::from_fn(|| f.take_status_lost().then_some(()))
            .take(100)
            .count()
    };
    assert_eq!(lose_all(&mut f), 0, "nothing fired yet");
    tick(&mut f, 0, 0);
    assert_eq!(lose_all(&mut f), 5, "count=2 and count=3 add up");
    assert_eq!(tick(&mut f, 0, 1).0, [FaultKind::StatusLost]);
    assert!(f.quiet() && !f.wants_timer());
    assert_eq!(lose_all(&mut f), 1, "count defaults to 1");
    let mut f = faults("status-lost count=5");
    tick(&mut f, 0, 0);
    assert!(f.take_status_lost());
    f.reset(false);
    assert_eq!(lose_all(&mut f), 0, "reset forgets armed faults");
}

/// SPEC §14.4: the debug window schedules a fault from its registers,
/// says what is wrong with bad ones, and cancels.
#[test]
fn debug_window_commands() {
    let mut f = Faults::new(true, &FaultPlan::default());
    assert!(f.has_window() && f.is_window(BAR_REGS, DBG_BASE));
    assert!(!f.is_window(BAR_MEM, DBG_BASE) && !f.is_window(BAR_REGS, DBG_END));
    assert!(!Faults::default().is_window(BAR_REGS, DBG_BASE));
    let w = |f: &mut Faults, reg, v| f.dbg_write(reg, v);
    let cmd = |f: &mut Faults, c| {
        let r = f.dbg_write(DBG_CMD, c);
        (r, f.dbg_read(DBG_CMD_STATUS).unwrap())
    };
    assert_eq!(f.dbg_read(DBG_ID), Some(DBG_ID_VALUE));
    // Every programming register reads back what was written.
    let regs = [
        (DBG_KIND, 0x11),
        (DBG_TRIGGER, 0x22),
        (DBG_COUNT, 0x33),
        (DBG_WHEN_LO, 0x4444_0001),
        (DBG_WHEN_HI, 0x5555_0002),
        (DBG_ARG_LO, 0x6666_0003),
        (DBG_ARG_HI, 0x7777_0004),
        (DBG_ARG2, 0x88),
    ];
    for (reg, v) in regs {
        assert_eq!(w(&mut f, reg, v), DbgWrite::Done);
    }
    for (reg, v) in regs {
        assert_eq!(f.dbg_read(reg), Some(v), "register {reg:#x}");
    }
    assert_eq!(f.dbg_read(DBG_CMD), Some(0), "DBG_CMD reads 0");
    for reg in [DBG_ID, DBG_CMD_STATUS, DBG_SCHEDULED, DBG_FIRED, DBG_STATE] {
        assert_eq!(
            w(&mut f, reg, 0x99),
            DbgWrite::Done,
            "RO {reg:#x} ignores writes"
        );
    }
    assert_eq!(f.dbg_read(DBG_ID), Some(DBG_ID_VALUE));
    assert_eq!(f.dbg_read(DBG_SCHEDULED), Some(0));
    w(&mut f, DBG_COUNT, 0);
    w(&mut f, DBG_ARG2, 0);
    assert_eq!(w(&mut f, DBG_KIND, 99), DbgWrite::Done);
    let bad = |s| (DbgWrite::Command { scheduled: None }, s);
    assert_eq!(cmd(&mut f, DBG_CMD_SCHEDULE), bad(DBG_ST_BAD_KIND));
    w(&mut f, DBG_KIND, FAULT_CORRUPT_HEADER);
    w(&mut f, DBG_TRIGGER, 7);
    assert_eq!(cmd(&mut f, DBG_CMD_SCHEDULE), bad(DBG_ST_BAD_TRIGGER));
    w(&mut f, DBG_TRIGGER, DBG_TRIG_RECORD);
    w(&mut f, DBG_WHEN_LO, 5);
    w(&mut f, DBG_WHEN_HI, 1);
    w(&mut f, DBG_ARG_LO, 40);
    assert_eq!(cmd(&mut f, DBG_CMD_SCHEDULE), bad(DBG_ST_BAD_ARG));
    w(&mut f, DBG_ARG_LO, 3);
    w(&mut f, DBG_ARG_HI, 0);
    assert_eq!(
        cmd(&mut f, DBG_CMD_SCHEDULE),
        (
            DbgWrite::Command {
                scheduled: Some(FaultKind::CorruptHeader)
            },
            DBG_ST_OK
        )
    );
    assert_eq!(f.dbg_read(DBG_WHEN_HI), Some(1));
    assert_eq!(f.dbg_read(DBG_SCHEDULED), Some(1));
    // It fires at record 2^32 + 5 with the window's arguments (XOR 0 → 0xff).
    assert_eq!(f.take_due(u64::MAX, (1 << 32) + 4), None);
    let fault = f.take_due(0, (1 << 32) + 5).unwrap();
    assert_eq!((fault.arg, fault.arg2, fault.count), (3, 0xff, 1));
    // The XOR mask of a corrupt fault and the cause filter of an irq
    // fault come from DBG_ARG2; a bad filter is refused.
    w(&mut f, DBG_TRIGGER, DBG_TRIG_VTIME);
    for (kind, arg2, want) in [
        (FAULT_CORRUPT_PAYLOAD, 0x42, Some(0x42)),
        (FAULT_DROP_IRQ, INT_ERROR, Some(INT_ERROR)),
        (FAULT_DUP_IRQ, 0, Some(0)),
        (FAULT_DELAY_IRQ, INT_ERROR | INT_OVERFLOW, None),
    ] {
        w(&mut f, DBG_KIND, kind);
        w(&mut f, DBG_ARG2, arg2);
        w(&mut f, DBG_ARG_LO, 0);
        let (_, status) = cmd(&mut f, DBG_CMD_SCHEDULE);
        let got = f.take_due(u64::MAX, 0).map(|fault| fault.arg2);
        assert_eq!(
            (status == DBG_ST_OK, got),
            (want.is_some(), want),
            "kind {kind}"
        );
    }
    w(&mut f, DBG_KIND, FAULT_CORRUPT_HEADER);
    w(&mut f, DBG_TRIGGER, DBG_TRIG_RECORD);
    w(&mut f, DBG_ARG_LO, 3);
    w(&mut f, DBG_ARG2, 0);
    for _ in 0..MAX_SCHEDULED_FAULTS {
        assert_eq!(cmd(&mut f, DBG_CMD_SCHEDULE).1, DBG_ST_OK);
    }
    assert_eq!(cmd(&mut f, DBG_CMD_SCHEDULE), bad(DBG_ST_FULL));
    assert_eq!(cmd(&mut f, 77), bad(DBG_ST_BAD_CMD));
    assert_eq!(cmd(&mut f, DBG_CMD_CANCEL_ALL), bad(DBG_ST_OK));
    assert_eq!(f.dbg_read(DBG_SCHEDULED), Some(0));
    // Read-only registers ignore writes; holes are holes.
    assert_eq!(w(&mut f, DBG_FIRED, 9), DbgWrite::Done);
    assert_eq!(f.dbg_read(DBG_FIRED), Some(0));
    assert_eq!(w(&mut f, DBG_END - 4, 1), DbgWrite::Hole);
    assert_eq!(f.dbg_read(DBG_END - 4), None);
    f.reset(false);
    assert_eq!(f.dbg_read(DBG_KIND), Some(0), "reset clears the window");
}
