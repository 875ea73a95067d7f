//! What the cards say about a run: their logs (a panic or an error-level
//! line is a failure of the card or of the harness) and their traces (every
//! error the card latched and every DMA sanitizer finding, each attributed
//! to the test case that was running, SPEC §12, §16).
//!
//! Attribution: before each case the guest's runner writes
//! `SCRATCH = CASE_MARKER | serial` on every card (serial = the case's
//! position in the run, from 1). Events after that write belong to that case.

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

fn hex(v: &serde_json::Value) -> Option<u64> {
    let s = v.as_str()?;
    u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

/// Reads card `card`'s trace. A card whose server was killed on purpose
/// (`killed`) may end in a cut line; any other unreadable line is a problem.
pub fn read_trace(card: u32, text: &str, killed: bool) -> TraceFindings {
    let mut found = TraceFindings::default();
    let mut case = 0usize;
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let ev: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) if killed && i + 1 == lines.len() => {
                let _ = e;
                break;
            }
            Err(e) => {
                found.problem = Some(format!("line {} is not a trace event ({e})", i + 1));
                break;
            }
        };
        let t = ev["t"].as_u64().unwrap_or(0);
        match ev["ev"].as_str().unwrap_or("") {
            "mmio" if ev["dir"] == "w" && ev["bar"] == 0 => {
                let is_scratch = hex(&ev["off"]) == Some(cardless_abi::regs::SCRATCH);
                if let (true, Some(val)) = (is_scratch, hex(&ev["val"])) {
                    // Only the next serials count: a test writing SCRATCH
                    // with random values must not move the attribution back.
                    if val & 0xffff_0000 == CASE_MARKER && (val & 0xffff) as usize > case {
                        case = (val & 0xffff) as usize;
                    }
                }
            }
            "error" => {
                let code = ev["code"].as_u64().unwrap_or(u64::MAX);
                let name = cardless_abi::regs::error_name(code as u32)
                    .map(|n| n.trim_start_matches("ERR_").to_string())
                    .unwrap_or_else(|| format!("code {code}"));
                found.events.push(CardEvent {
                    subject: Subject::CardError { card, name },
                    case,
                    detail: format!(
                        "at VTIME {t} ns, address {}",
                        ev["addr"].as_str().unwrap_or("?")
                    ),
                });
            }
            "sanitizer" => {
                found.events.push(CardEvent {
                    subject: Subject::Sanitizer {
                        card,
                        check: ev["check"].as_str().unwrap_or("?").to_string(),
                    },
                    case,
                    detail: format!("at VTIME {t} ns: {}", ev["msg"].as_str().unwrap_or("")),
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

/// env_logger's default format: `[TIMESTAMP LEVEL target] message`.
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

    const TRACE: &str = r#"{"t":0,"ev":"start","version":2}
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
        // The stale marker (serial 1 again) did not move the attribution back.
        assert_eq!(f.events[1].case, 2);
        assert!(matches!(f.events[1].subject, Subject::Sanitizer { .. }));
    }

    #[test]
    fn a_cut_last_line_is_a_problem_unless_the_card_was_killed() {
        let cut = format!("{TRACE}{{\"t\":6,\"ev\":\"err");
        assert!(read_trace(0, &cut, false).problem.is_some());
        let killed = read_trace(0, &cut, true);
        assert!(killed.problem.is_none());
        assert_eq!(killed.events.len(), 2);
    }

    #[test]
    fn panics_and_error_lines_fail_a_card_log() {
        let log = "[2026-12-01T12:00:00Z INFO  cardless_device] listening\n\
                   [2026-12-01T12:00:01Z WARN  cardless_device::vfio] connection dropped: EOF\n\
                   [2026-12-01T12:00:02Z ERROR cardless_device] connection ended: bad header\n\
                   thread 'engine' panicked at device/src/model/engine.rs:10:5:\n";
        let f = log_failures(log);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].contains("connection ended"));
        assert!(f[1].contains("panicked"));
    }
}
