//! What one guest run made of a planted bug, read from its output.

/// How a planted bug fared in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The run went red: the first thing the verdict named.
    Caught(String),
    /// The run passed with the bug in.
    Missed,
    /// The module did not build with it (a bad catalogue entry).
    DidNotBuild,
    /// The harness itself failed before judging (set-up, QEMU).
    HarnessError(String),
}

/// Reads the output of `make qemu-test` and its exit status.
pub fn classify(output: &str, success: bool) -> Outcome {
    if output.contains("the kernel module did not build") {
        return Outcome::DidNotBuild;
    }
    if success {
        return Outcome::Missed;
    }
    // The most telling line: a test case or a report first, the run's
    // bookkeeping (a suite cut short, a guest that never finished) last,
    // since those only follow from what went wrong.
    let fails = output.lines().filter_map(|l| l.strip_prefix("FAIL "));
    match fails.min_by_key(|l| BOOKKEEPING.iter().any(|b| l.starts_with(b))) {
        Some(first) => Outcome::Caught(shorten(first)),
        None => Outcome::HarnessError(
            output
                .lines()
                .rev()
                .find(|l| l.starts_with("error:"))
                .unwrap_or("no verdict; see the log")
                .to_string(),
        ),
    }
}

/// The line a run's log ends with: how `make qemu-test` exited.
pub fn status_line(success: bool) -> String {
    format!("{STATUS}{}\n", if success { "passed" } else { "failed" })
}

const STATUS: &str = "cardless-mutants: make qemu-test ";

/// Whether the run a log holds passed: its status line, or for a log
/// written without one, a closing "N passed, 0 failed" and no FAIL line.
pub fn passed(log: &str) -> bool {
    if let Some(l) = log.lines().rev().find_map(|l| l.strip_prefix(STATUS)) {
        return l == "passed";
    }
    !log.lines().any(|l| l.starts_with("FAIL "))
        && log.lines().any(|l| {
            l.contains(" passed, 0 failed") && l.split_whitespace().nth(1) == Some("passed,")
        })
}

/// The run's wall time, from the harness's timing summary ("  N.NN  total").
pub fn total_time(log: &str) -> Option<std::time::Duration> {
    log.lines().rev().find_map(|l| {
        let mut words = l.split_whitespace();
        let secs: f64 = words.next()?.parse().ok()?;
        (words.next()? == "total").then(|| std::time::Duration::from_secs_f64(secs))
    })
}

/// Verdict checks that only say the run was cut short or incomplete.
const BOOKKEEPING: [&str; 4] = [
    "suite_complete:",
    "guest_finished:",
    "guest_ran_everything:",
    "console_complete:",
];

/// `name: why` with the why cut to fit a table cell.
fn shorten(line: &str) -> String {
    const MAX: usize = 110;
    let line = line.replace('|', "\\|");
    if line.chars().count() <= MAX {
        return line;
    }
    let cut: String = line.chars().take(MAX).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_fail_line_names_the_catch() {
        let out = "==> verdict\nFAIL dma_buffers.x: mmap succeeded\n    detail\nFAIL kernel_log_clean: 1 WARNING\n3 passed, 2 failed, 0 skipped\n";
        assert_eq!(
            classify(out, false),
            Outcome::Caught("dma_buffers.x: mmap succeeded".into())
        );
        let oops = "FAIL suite_complete: 30 planned, 23 reported\nFAIL guest_finished: never reported\nFAIL kernel_log_clean: 1 kernel BUG during x\n";
        assert_eq!(
            classify(oops, false),
            Outcome::Caught("kernel_log_clean: 1 kernel BUG during x".into())
        );
        assert_eq!(
            classify("70 passed, 0 failed, 0 skipped\n", true),
            Outcome::Missed
        );
        assert_eq!(
            classify("error: the kernel module did not build (log: x)\n", false),
            Outcome::DidNotBuild
        );
        assert!(matches!(
            classify("error: QEMU exited\n", false),
            Outcome::HarnessError(_)
        ));
    }

    #[test]
    fn a_log_says_whether_its_run_passed_and_how_long_it_took() {
        assert!(passed("74 passed, 0 failed, 0 skipped\n"));
        assert!(!passed("FAIL x: y\n74 passed, 0 failed, 0 skipped\n"));
        assert!(!passed("70 passed, 4 failed, 0 skipped\n"));
        assert!(!passed(&format!(
            "74 passed, 0 failed, 0 skipped\n{}",
            status_line(false)
        )));
        assert!(passed(&status_line(true)));
        assert_eq!(
            total_time("      5.39  host   verdict\n     666.34  total\n"),
            Some(std::time::Duration::from_secs_f64(666.34))
        );
        assert_eq!(total_time("no summary\n"), None);
    }
}
