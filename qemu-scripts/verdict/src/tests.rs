//! The verdict end to end: each kind of evidence turns a clean run red.

use crate::config::RunConfig;
use crate::judge::{judge, CardInput, Inputs, Text, Verdict};

const RESULTS: &str = "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: core\n    1..2\n    ok 1 a\n    # cardless-expect: card=0 error=BAD_COPY_OP count=1\n    ok 2 b\nok 1 core\ncardless-guest-exit: 0\n";
const CONSOLE: &str = "[ 0.1] Linux version 7.2.13\n[ 1.0] cardless-tests: case 1 core.a\n[ 2.0] cardless-tests: case 2 core.b\n[ 3.0] reboot: Power down\n";
const TRACE: &str = "{\"t\":0,\"ev\":\"start\",\"version\":2,\"seed\":\"0x1\",\"deterministic\":false,\"bar2_size\":\"0x100000\",\"record_size\":64,\"rate\":0,\"debug_window\":true,\"faults\":[]}\n{\"t\":1,\"ev\":\"mmio\",\"dir\":\"w\",\"bar\":0,\"off\":\"0xc\",\"len\":4,\"val\":\"0xca5e0001\"}\n{\"t\":2,\"ev\":\"mmio\",\"dir\":\"w\",\"bar\":0,\"off\":\"0xc\",\"len\":4,\"val\":\"0xca5e0002\"}\n{\"t\":3,\"ev\":\"error\",\"code\":12,\"addr\":\"0x3\"}\n";
const LOG: &str = "[0.001s INFO  cardless_device] listening\n";

fn text(path: &str, s: &str) -> Text {
    Text {
        path: path.into(),
        text: Some(s.into()),
    }
}

struct Run {
    results: String,
    console: Option<String>,
    trace: String,
    log: String,
    expected: Option<Vec<String>>,
    config: Vec<String>,
}

impl Default for Run {
    fn default() -> Self {
        Run {
            results: RESULTS.into(),
            console: Some(CONSOLE.into()),
            trace: TRACE.into(),
            log: LOG.into(),
            expected: Some(vec!["core.a".into(), "core.b".into()]),
            config: vec!["iommu=0".into(), "cards=1".into()],
        }
    }
}

impl Run {
    fn judge(&self) -> Verdict {
        judge(&Inputs {
            results: text("results.log", &self.results),
            console: Text {
                path: "console.log".into(),
                text: self.console.clone(),
            },
            cards: vec![CardInput {
                index: 0,
                logs: vec![text("device0.log", &self.log)],
                trace: Some(text("card0.trace", &self.trace)),
                killed: false,
            }],
            expected_cases: self.expected.clone(),
            config: RunConfig::parse(&self.config).unwrap(),
        })
    }
}

fn fails_naming(v: &Verdict, name: &str) {
    assert!(!v.ok(), "should fail: {:#?}", v.lines);
    assert!(
        v.lines
            .iter()
            .any(|l| l.starts_with(&format!("FAIL {name}"))),
        "no 'FAIL {name}' in {:#?}",
        v.lines
    );
}

#[test]
fn a_clean_run_passes_with_its_declared_card_error() {
    let v = Run::default().judge();
    assert!(v.ok(), "{:#?}", v.lines);
    assert_eq!((v.passed, v.failed, v.skipped), (2, 0, 0));
    assert_eq!(v.lines.last().unwrap(), "2 passed, 0 failed, 0 skipped");
}

#[test]
fn an_unreadable_console_fails() {
    let v = Run {
        console: None,
        ..Default::default()
    }
    .judge();
    fails_naming(&v, "console_readable");
}

#[test]
fn a_cut_console_fails() {
    let cut = CONSOLE.replace("reboot: Power down", "");
    let v = Run {
        console: Some(cut),
        ..Default::default()
    }
    .judge();
    fails_naming(&v, "console_complete");
}

#[test]
fn a_panic_or_error_line_in_a_card_log_fails() {
    let v = Run {
        log: format!("{LOG}thread 'engine' panicked at src/x.rs:1:1:\n"),
        ..Default::default()
    }
    .judge();
    fails_naming(&v, "card_log_clean");
    let v = Run {
        log: format!("{LOG}[0.002s ERROR cardless_device] oops\n"),
        ..Default::default()
    }
    .judge();
    fails_naming(&v, "card_log_clean");
}

#[test]
fn an_undeclared_sanitizer_finding_fails() {
    let trace = format!("{TRACE}{{\"t\":4,\"ev\":\"sanitizer\",\"check\":\"stray\",\"addr\":\"0x1\",\"len\":1,\"msg\":\"m\"}}\n");
    let v = Run {
        trace,
        ..Default::default()
    }
    .judge();
    fails_naming(&v, "card_sanitizer_clean");
    assert!(
        v.lines.iter().any(|l| l.contains("during core.b")),
        "{:#?}",
        v.lines
    );
}

#[test]
fn a_card_error_in_another_case_than_the_declaring_one_fails_twice() {
    // The error happens in core.a; core.b declared it.
    let trace = TRACE.replace(
        "{\"t\":2,\"ev\":\"mmio\",\"dir\":\"w\",\"bar\":0,\"off\":\"0xc\",\"len\":4,\"val\":\"0xca5e0002\"}\n{\"t\":3,\"ev\":\"error\",\"code\":12,\"addr\":\"0x3\"}\n",
        "{\"t\":3,\"ev\":\"error\",\"code\":12,\"addr\":\"0x3\"}\n",
    );
    let v = Run {
        trace,
        ..Default::default()
    }
    .judge();
    fails_naming(&v, "card_errors_declared");
    fails_naming(&v, "declared_reports");
}

#[test]
fn a_declared_report_that_never_came_fails() {
    let v = Run {
        trace: TRACE.lines().take(3).collect::<Vec<_>>().join("\n"),
        ..Default::default()
    }
    .judge();
    fails_naming(&v, "declared_reports");
}

#[test]
fn an_unexplained_skip_fails_and_an_explained_one_counts_as_skipped() {
    let skipping = RESULTS.replace("ok 1 a", "ok 1 a # SKIP [needs:iommu] no IOMMU");
    let v = Run {
        results: skipping.clone(),
        ..Default::default()
    }
    .judge();
    assert!(v.ok(), "{:#?}", v.lines);
    assert_eq!(v.skipped, 1);
    let v = Run {
        results: skipping,
        config: vec!["iommu=1".into()],
        ..Default::default()
    }
    .judge();
    fails_naming(&v, "core.a");
    let bare = RESULTS.replace("ok 1 a", "ok 1 a # SKIP not today");
    fails_naming(
        &Run {
            results: bare,
            ..Default::default()
        }
        .judge(),
        "core.a",
    );
}

#[test]
fn a_race_that_did_not_soak_as_long_as_the_run_asked_fails() {
    let raced = |factor: u32| {
        RESULTS.replace(
            "    ok 1 a",
            &format!("    # cardless-soak: {factor}\n    ok 1 a"),
        )
    };
    let with_soak = |results: String, soak: &str| Run {
        results,
        config: vec!["iommu=0".into(), "cards=1".into(), format!("soak={soak}")],
        ..Default::default()
    };
    assert!(with_soak(raced(6), "6").judge().ok());
    fails_naming(&with_soak(raced(1), "6").judge(), "soak_applied");
    // A run that says nothing of a soak is not judged on it.
    let v = Run {
        results: raced(1),
        ..Default::default()
    }
    .judge();
    assert!(v.ok(), "{:#?}", v.lines);
}

#[test]
fn a_case_that_never_ran_fails() {
    let v = Run {
        expected: Some(vec!["core.a".into(), "core.b".into(), "dma.c".into()]),
        ..Default::default()
    }
    .judge();
    fails_naming(&v, "guest_ran_everything");
}

#[test]
fn a_kernel_warning_fails_unless_its_case_declared_it() {
    let console = CONSOLE.replace(
        "[ 3.0]",
        "[ 2.5] WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1\n[ 2.6] ---[ end trace 0 ]---\n[ 3.0]",
    );
    let v = Run {
        console: Some(console.clone()),
        ..Default::default()
    }
    .judge();
    fails_naming(&v, "kernel_log_clean");
    assert!(
        v.lines.iter().any(|l| l.contains("during core.b")),
        "{:#?}",
        v.lines
    );
    let declaring = RESULTS.replace(
        "    ok 2 b",
        "    # cardless-expect: kernel=WARNING\n    ok 2 b",
    );
    let v = Run {
        console: Some(console),
        results: declaring,
        ..Default::default()
    }
    .judge();
    assert!(v.ok(), "{:#?}", v.lines);
}

#[test]
fn a_failed_test_fails_and_is_named() {
    let failing = RESULTS.replace(
        "    ok 2 b",
        "    # bytes differ at 0x40\n    not ok 2 b # record 3 is wrong",
    );
    let v = Run {
        results: failing,
        ..Default::default()
    }
    .judge();
    fails_naming(&v, "core.b: record 3 is wrong");
    assert!(v.lines.iter().any(|l| l.contains("bytes differ at 0x40")));
}

#[test]
fn a_command_without_ktap_is_judged_by_its_exit_status() {
    let ok = "hello\ncardless-guest-exit: 0\n".to_string();
    let v = Run {
        results: ok,
        expected: None,
        trace: String::new(),
        ..Default::default()
    }
    .judge();
    assert!(v.ok(), "{:#?}", v.lines);
    assert_eq!(v.passed, 1);
    let bad = "assertion failed: x == 3\ncardless-guest-exit: 2\n".to_string();
    let v = Run {
        results: bad,
        expected: None,
        trace: String::new(),
        ..Default::default()
    }
    .judge();
    fails_naming(&v, "guest_test");
    assert!(v.lines.iter().any(|l| l.contains("assertion failed")));
}

#[test]
fn a_guest_that_never_exited_fails() {
    let v = Run {
        results: RESULTS.replace("cardless-guest-exit: 0\n", ""),
        ..Default::default()
    }
    .judge();
    fails_naming(&v, "guest_finished");
}
