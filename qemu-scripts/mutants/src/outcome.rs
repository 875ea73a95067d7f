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
    match output.lines().find_map(|l| l.strip_prefix("FAIL ")) {
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
}
