//! What the cards say about a run: their logs (a panic or an error-level
//! line is a failure of the card or of the harness) and their traces (every
//! error the card latched and every DMA sanitizer finding, each attributed
//! to the test case that was running, SPEC §12, §16).
//!
//! Attribution: before each case the guest's runner writes
//! `SCRATCH = CASE_MARKER | serial` on every card (serial = the case's
//! position in the run, from 1). Events after that write belong to that case.

use cardless_abi::regs;
use cardless_trace::{parse_line, Event};

use crate::expect::Subject;

/// The high half of a case marker written to SCRATCH.
pub const CASE_MARKER: u64 = 0xca5e_0000;

/// One card event that must be declared by the case it happened in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardEvent {
    pub subject: Subject,
    /// Serial of the case that was running (0: before the first case).
    pub case: usize,
    /// The card's own words: VTIME, address, message.
    pub detail: String,
}

/// Everything read from one card's trace.
#[derive(Debug, Default)]
pub struct TraceFindings {
    pub events: Vec<CardEvent>,
    /// Why the trace could not be read completely, if so.
    pub problem: Option<String>,
}

/// Reads card `card`'s trace through the device's own declaration of its
/// lines (`cardless-trace`), so a line the card wrote always reads, and a
/// damaged one is named. A card whose server was killed on purpose
/// (`killed`) may end in a line cut mid-write (no newline after it); any
/// other unreadable line is a problem, and reading stops there.
pub fn read_trace(card: u32, text: &str, killed: bool) -> TraceFindings {
    let mut found = TraceFindings::default();
    let mut case = 0usize;
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        if line.trim().is_empty() {
            continue;
        }
        let line = match parse_line(i + 1, line) {
            Ok(line) => line,
            Err(_) if killed && lines.peek().is_none() && !text.ends_with('\n') => break,
            Err(e) => {
                found.problem = Some(format!("{e}, so the events after it are not judged"));
                break;
            }
        };
        let t = line.t;
        match line.ev {
            // A case marker. Only the next serials count: a test writing
            // SCRATCH with random values must not move the attribution back.
            Event::Mmio {
                write: true,
                bar: regs::BAR_REGS,
                off: regs::SCRATCH,
                val: Some(val),
                ..
            } if val & 0xffff_0000 == CASE_MARKER && (val & 0xffff) as usize > case => {
                case = (val & 0xffff) as usize;
            }
            Event::Error { code, addr } => {
                let name = regs::error_name(code)
                    .map(|n| n.trim_start_matches("ERR_").to_string())
                    .unwrap_or_else(|| format!("code {code}"));
                found.events.push(CardEvent {
                    subject: Subject::CardError { card, name },
                    case,
                    detail: format!("at VTIME {t} ns, address {addr:#x}"),
                });
            }
            Event::Sanitizer { check, msg, .. } => {
                found.events.push(CardEvent {
                    subject: Subject::Sanitizer {
                        card,
                        check: check.into_owned(),
                    },
                    case,
                    detail: format!("at VTIME {t} ns: {msg}"),
                });
            }
            _ => {}
        }
    }
    found
}

/// Lines of a card's (or its link's) log that say the card itself failed:
/// a Rust panic, or an error-level line.
pub fn log_failures(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("panicked at") || is_error_level(l))
        .map(|l| l.trim().to_string())
        .collect()
}

/// The card server's format (device/src/logging.rs): `[SECONDS LEVEL target] message`.
fn is_error_level(line: &str) -> bool {
    let Some(rest) = line.trim_start().strip_prefix('[') else {
        return false;
    };
    let head = rest.split(']').next().unwrap_or("");
    head.split_whitespace().any(|w| w == "ERROR")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = r#"{"t":0,"ev":"start","version":2,"seed":"0x1","deterministic":false,"bar2_size":"0x100000","record_size":64,"rate":0,"debug_window":true,"faults":[]}
{"t":1,"ev":"mmio","dir":"w","bar":0,"off":"0xc","len":4,"val":"0xca5e0001"}
{"t":2,"ev":"error","code":12,"addr":"0x3"}
{"t":3,"ev":"mmio","dir":"w","bar":0,"off":"0xc","len":4,"val":"0xca5e0002"}
{"t":4,"ev":"mmio","dir":"w","bar":0,"off":"0xc","len":4,"val":"0xca5e0001"}
{"t":5,"ev":"sanitizer","check":"stray","addr":"0x1000","len":64,"msg":"why"}
"#;

    #[test]
    fn events_belong_to_the_case_marked_before_them() {
        let f = read_trace(0, TRACE, false);
        assert!(f.problem.is_none());
        assert_eq!(f.events.len(), 2);
        assert_eq!(
            f.events[0].subject,
            Subject::CardError {
                card: 0,
                name: "BAD_COPY_OP".into()
            }
        );
        assert_eq!(f.events[0].case, 1);
        assert_eq!(f.events[0].detail, "at VTIME 2 ns, address 0x3");
        assert_eq!(f.events[1].detail, "at VTIME 5 ns: why");
        // The stale marker (serial 1 again) did not move the attribution back.
        assert_eq!(f.events[1].case, 2);
        assert!(matches!(f.events[1].subject, Subject::Sanitizer { .. }));
    }

    #[test]
    fn only_a_marker_written_to_bar0_scratch_starts_a_case() {
        let marker = |dir: &str, bar: u8, off: &str| {
            format!(
                "{{\"t\":1,\"ev\":\"mmio\",\"dir\":\"{dir}\",\"bar\":{bar},\"off\":\"{off}\",\"len\":4,\"val\":\"0xca5e0007\"}}\n"
            )
        };
        let error = "{\"t\":2,\"ev\":\"error\",\"code\":12,\"addr\":\"0x3\"}\n";
        for (not_a_marker, why) in [
            (marker("r", 0, "0xc"), "a read of SCRATCH"),
            (marker("w", 2, "0xc"), "a write to BAR2"),
            (marker("w", 0, "0x10"), "a write to another register"),
        ] {
            let f = read_trace(0, &format!("{not_a_marker}{error}"), false);
            assert!(f.problem.is_none(), "{why}: {:?}", f.problem);
            assert_eq!(f.events[0].case, 0, "{why} moved the attribution");
        }
        let f = read_trace(0, &format!("{}{error}", marker("w", 0, "0xc")), false);
        assert_eq!(f.events[0].case, 7);
    }

    #[test]
    fn a_cut_last_line_is_a_problem_unless_the_card_was_killed() {
        let cut = format!("{TRACE}{{\"t\":6,\"ev\":\"err");
        let problem = read_trace(0, &cut, false).problem.unwrap();
        assert!(problem.starts_with("trace line 7: not JSON"), "{problem}");
        let killed = read_trace(0, &cut, true);
        assert!(killed.problem.is_none());
        assert_eq!(killed.events.len(), 2);
        // Only the last line can be cut, and a cut line has no newline: a
        // damaged line elsewhere, or a whole line that breaks §12, is a
        // problem even on a killed card.
        let damaged = TRACE.replacen("\"code\":12", "\"code\":", 1);
        let problem = read_trace(0, &damaged, true).problem.unwrap();
        assert!(problem.starts_with("trace line 3"), "{problem}");
        let damaged_and_cut = format!("{damaged}{{\"t\":6,\"ev\":\"err");
        let problem = read_trace(0, &damaged_and_cut, true).problem.unwrap();
        assert!(problem.starts_with("trace line 3"), "{problem}");
        let broken = format!("{TRACE}{{\"t\":6,\"ev\":\"error\",\"code\":1}}\n");
        let problem = read_trace(0, &broken, true).problem.unwrap();
        assert!(problem.contains("missing field `addr`"), "{problem}");
    }

    #[test]
    fn panics_and_error_lines_fail_a_card_log() {
        let log = "[0.001s INFO  cardless_device] listening\n\
                   [0.002s WARN  cardless_device::vfio] connection dropped: EOF\n\
                   [0.003s ERROR cardless_device] connection ended: bad header\n\
                   thread 'engine' panicked at device/src/model/engine.rs:10:5:\n";
        let f = log_failures(log);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].contains("connection ended"));
        assert!(f[1].contains("panicked"));
    }
}
