//! A KTAP (kernel selftest format) reader: test results, nested subtests,
//! plans and SKIP directives. Only leaf tests are counted; a suite's own
//! result line is its summary.

/// The outcome of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// One leaf test, named by its path through the suites ("suite.test").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    pub name: String,
    pub outcome: Outcome,
    /// Diagnostic lines ("# ...") printed just before the result.
    pub diagnostics: Vec<String>,
}

/// Everything read from a KTAP stream.
#[derive(Debug, Default)]
pub struct Report {
    pub tests: Vec<TestResult>,
    /// Top-level plans that promised more results than arrived: (planned, seen).
    pub short_plans: Vec<(usize, usize)>,
}

struct Level {
    indent: usize,
    planned: Option<usize>,
    seen: usize,
    /// Suite name, known only when its result line comes; subtests are
    /// collected here and renamed then.
    pending: Vec<TestResult>,
    had_subtests: bool,
}

impl Level {
    fn new(indent: usize) -> Self {
        Level {
            indent,
            planned: None,
            seen: 0,
            pending: Vec::new(),
            had_subtests: false,
        }
    }
}

fn parse_result(line: &str) -> Option<(bool, String, Option<String>)> {
    // A bare "not ok" is still a failure: a result is never lost to bad formatting.
    let (ok, rest) = if let Some(r) = line.strip_prefix("not ok") {
        (false, r)
    } else if let Some(r) = line.strip_prefix("ok") {
        (true, r)
    } else {
        return None;
    };
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    let rest = rest.trim_start();
    let rest = rest
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start();
    let rest = rest.strip_prefix("- ").unwrap_or(rest);
    let (name, directive) = match rest.split_once(" # ") {
        Some((n, d)) => (n.trim(), Some(d.trim().to_string())),
        None => match rest.strip_suffix(" #") {
            Some(n) => (n.trim(), None),
            None => (rest.trim(), None),
        },
    };
    Some((ok, name.to_string(), directive))
}

/// Reads a KTAP stream. Lines that are not KTAP (a program's stray output,
/// kernel messages) are kept as diagnostics of the next result.
pub fn parse(text: &str) -> Report {
    let mut report = Report::default();
    let mut stack = vec![Level::new(0)];
    let mut diags: Vec<String> = Vec::new();

    for raw in text.lines() {
        let raw = raw.trim_end_matches('\r');
        let indent = raw.len() - raw.trim_start().len();
        let line = raw.trim_start();
        if line.is_empty() {
            continue;
        }
        if line.starts_with("KTAP version") || line.starts_with("TAP version") {
            if indent > stack.last().map_or(0, |l| l.indent) {
                stack.push(Level::new(indent));
            }
            continue;
        }
        if let Some(plan) = line.strip_prefix("1..") {
            if indent > stack.last().map_or(0, |l| l.indent) {
                stack.push(Level::new(indent));
            }
            if let Some(level) = stack.last_mut() {
                level.planned = plan.trim().parse().ok();
            }
            continue;
        }
        let Some((ok, name, directive)) = parse_result(line) else {
            diags.push(line.trim_start_matches("# ").to_string());
            continue;
        };
        // A result at a shallower indent closes the deeper levels: they were
        // this test's subtests.
        let mut children: Vec<TestResult> = Vec::new();
        while stack.len() > 1 && stack.last().is_some_and(|l| l.indent > indent) {
            if let Some(done) = stack.pop() {
                check_plan(&done, &mut report, false);
                children.extend(done.pending);
            }
        }
        let Some(level) = stack.last_mut() else { break };
        level.seen += 1;
        let skip = directive
            .as_deref()
            .is_some_and(|d| d.to_ascii_uppercase().starts_with("SKIP"));
        if children.is_empty() {
            let outcome = if skip {
                Outcome::Skip(directive.unwrap_or_default())
            } else if ok {
                Outcome::Pass
            } else {
                Outcome::Fail(directive.unwrap_or_default())
            };
            level.pending.push(TestResult {
                name,
                outcome,
                diagnostics: std::mem::take(&mut diags),
            });
        } else {
            level.had_subtests = true;
            for mut child in children {
                child.name = format!("{name}.{}", child.name);
                level.pending.push(child);
            }
            // A suite that failed with all of its subtests passing still fails.
            if !ok
                && !skip
                && !level
                    .pending
                    .iter()
                    .any(|t| matches!(t.outcome, Outcome::Fail(_)))
            {
                level.pending.push(TestResult {
                    name,
                    outcome: Outcome::Fail(directive.unwrap_or_else(|| "suite failed".into())),
                    diagnostics: std::mem::take(&mut diags),
                });
            }
            diags.clear();
        }
    }
    while let Some(level) = stack.pop() {
        let top = stack.is_empty();
        check_plan(&level, &mut report, top);
        match stack.last_mut() {
            // An unfinished nested suite: its results still count.
            Some(parent) => parent.pending.extend(level.pending),
            None => report.tests.extend(level.pending),
        }
    }
    report
}

fn check_plan(level: &Level, report: &mut Report, _top: bool) {
    if let Some(planned) = level.planned {
        if level.seen < planned {
            report.short_plans.push((planned, level.seen));
        }
    }
    let _ = level.had_subtests;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_results_with_skip_and_failure() {
        let r = parse("KTAP version 1\n1..3\nok 1 a\n# expected 1 got 2\nnot ok 2 b # bytes differ\nok 3 c # SKIP no card\n");
        assert_eq!(r.tests.len(), 3);
        assert_eq!(r.tests[0].outcome, Outcome::Pass);
        assert_eq!(r.tests[1].outcome, Outcome::Fail("bytes differ".into()));
        assert_eq!(r.tests[1].diagnostics, vec!["expected 1 got 2".to_string()]);
        assert!(matches!(r.tests[2].outcome, Outcome::Skip(_)));
        assert!(r.short_plans.is_empty());
    }

    #[test]
    fn nested_suites_are_named_by_path_and_only_leaves_count() {
        let text = "KTAP version 1\n1..2\n    KTAP version 1\n    1..2\n    ok 1 id\n    not ok 2 scratch\nnot ok 1 core\n    1..1\n    ok 1 ring\nok 2 dma\n";
        let r = parse(text);
        let names: Vec<_> = r.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["core.id", "core.scratch", "dma.ring"]);
        assert!(matches!(r.tests[1].outcome, Outcome::Fail(_)));
    }

    #[test]
    fn a_plan_left_short_is_reported() {
        let r = parse("KTAP version 1\n1..5\nok 1 a\nok 2 b\n");
        assert_eq!(r.short_plans, vec![(5, 2)]);
    }

    #[test]
    fn a_failed_suite_whose_subtests_passed_still_fails() {
        let r = parse("1..1\n    1..1\n    ok 1 x\nnot ok 1 s # teardown failed\n");
        assert!(r
            .tests
            .iter()
            .any(|t| t.name == "s" && matches!(t.outcome, Outcome::Fail(_))));
    }

    #[test]
    fn stray_lines_do_not_break_parsing() {
        let r = parse("garbage\n\x1b[0m\nok 1 a\nnot ok\n");
        assert_eq!(r.tests.len(), 2);
    }
}
