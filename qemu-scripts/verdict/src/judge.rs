//! The verdict on one guest run, from everything the run left behind.
//! Every check adds `FAIL name: why` lines; the run passes only with none.

use std::collections::BTreeMap;

use crate::card::{self, CardEvent};
use crate::config::{self, RunConfig};
use crate::console;
use crate::expect::{self, Expectation, Subject};
use crate::known;
use crate::ktap::{self, Outcome};
use crate::splat;

pub const EXIT_MARKER: &str = "cardless-guest-exit:";

/// A file's path and its text (`None`: it could not be read).
pub struct Text {
    pub path: String,
    pub text: Option<String>,
}

/// What one card left behind.
pub struct CardInput {
    pub index: u32,
    /// The server's log and its link's, if any.
    pub logs: Vec<Text>,
    pub trace: Option<Text>,
    /// Its server was SIGKILLed on purpose (card death): the trace may be cut.
    pub killed: bool,
}

pub struct Inputs {
    pub results: Text,
    pub console: Text,
    pub cards: Vec<CardInput>,
    /// `suite.case` names the run was asked for (`cardless-tests --list`).
    pub expected_cases: Option<Vec<String>>,
    pub config: RunConfig,
}

#[derive(Debug, Default)]
pub struct Verdict {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub lines: Vec<String>,
}

impl Verdict {
    fn fail(&mut self, name: &str, why: impl AsRef<str>) {
        self.failed += 1;
        self.lines.push(format!("FAIL {name}: {}", why.as_ref()));
    }
    fn detail(&mut self, line: impl AsRef<str>) {
        self.lines.push(format!("    {}", line.as_ref()));
    }
    fn note(&mut self, line: impl AsRef<str>) {
        self.lines.push(line.as_ref().to_string());
    }
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

/// One observed thing that needs a declaration: a card event or a kernel report.
struct Observed {
    subject: Subject,
    case: usize,
    detail: Vec<String>,
}

pub fn judge(inputs: &Inputs) -> Verdict {
    let mut v = Verdict::default();
    let results = readable(&mut v, "results_readable", &inputs.results);
    let console_text = readable(&mut v, "console_readable", &inputs.console);
    let report = ktap::parse(&results);
    let exit = results
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(EXIT_MARKER))
        .map(|c| c.trim().to_string());

    if report.tests.is_empty() && report.short_plans.is_empty() {
        judge_exit_status(&mut v, &results, &inputs.results.path, exit.as_deref());
    } else {
        judge_ktap(&mut v, &report, &inputs.config);
        for (planned, seen) in &report.short_plans {
            v.fail(
                "suite_complete",
                format!(
                    "{planned} results planned, {seen} reported (the suite stopped early; see {})",
                    inputs.console.path
                ),
            );
        }
        match exit.as_deref() {
            None => v.fail(
                "guest_finished",
                format!(
                    "the guest never reported its exit (hang, panic or timeout; see {})",
                    inputs.console.path
                ),
            ),
            Some(code) if code != "0" && v.failed == 0 => v.fail(
                "guest_exit_status",
                format!("the guest suite exited with status {code} but reported no failing test"),
            ),
            Some(_) => {}
        }
    }
    if let Some(expected) = &inputs.expected_cases {
        judge_expected(&mut v, &report, expected);
    }
    if inputs.console.text.is_some() && !console::is_complete(&console_text) {
        v.fail(
            "console_complete",
            format!(
                "{} ends before the guest powered off ('{}' missing): the log was cut, so kernel reports may be missing",
                inputs.console.path,
                console::POWER_OFF
            ),
        );
    }

    // Who was running when: serial -> case name.
    let marks = console::case_marks(&console_text);
    let mut case_names: BTreeMap<usize, String> = report
        .tests
        .iter()
        .enumerate()
        .map(|(i, t)| (i + 1, t.name.clone()))
        .collect();
    for m in &marks {
        case_names.insert(m.serial, m.name.clone());
    }

    let mut observed = kernel_reports(&mut v, &console_text, &inputs.console.path, &marks);
    for card in &inputs.cards {
        judge_card_logs(&mut v, card);
        observed.extend(card_events(&mut v, card));
    }
    judge_declarations(&mut v, &report, &case_names, observed);
    v.lines.push(format!(
        "{} passed, {} failed, {} skipped",
        v.passed, v.failed, v.skipped
    ));
    v
}

fn readable(v: &mut Verdict, name: &str, t: &Text) -> String {
    match &t.text {
        Some(s) => s.clone(),
        None => {
            v.fail(
                name,
                format!(
                    "cannot read {} (did the guest start? see the logs beside it)",
                    t.path
                ),
            );
            String::new()
        }
    }
}

/// A guest command that prints no KTAP (a user's `tests/run`): its exit status.
fn judge_exit_status(v: &mut Verdict, results: &str, path: &str, exit: Option<&str>) {
    match exit {
        Some("0") => v.passed += 1,
        Some(code) => {
            v.fail("guest_test", format!("the test command exited with status {code} (its output: {path})"));
            let tail: Vec<&str> = results
                .lines()
                .filter(|l| !l.starts_with(EXIT_MARKER))
                .collect();
            for line in tail.iter().rev().take(15).rev() {
                v.detail(line);
            }
        }
        None => v.fail(
            "guest_finished",
            format!("the guest never reported its exit and printed no test result (hang, panic or timeout; see {path})"),
        ),
    }
}

/// A racing case's diagnostic with the soak factor it raced with
/// (guest-driver/tests/src/soak.rs).
const SOAK_PREFIX: &str = "cardless-soak: ";

fn judge_ktap(v: &mut Verdict, report: &ktap::Report, config: &RunConfig) {
    for t in &report.tests {
        judge_soak(v, t, config);
        match &t.outcome {
            Outcome::Pass => v.passed += 1,
            Outcome::Skip(why) => match config::unexplained_skip(config, why) {
                None => {
                    v.skipped += 1;
                    v.note(format!(
                        "skip {}: {why} (the run's configuration explains it)",
                        t.name
                    ));
                }
                Some(problem) => {
                    v.fail(
                        &t.name,
                        format!("skipped ({why}), not explained: {problem}"),
                    );
                }
            },
            Outcome::Fail(why) => {
                if why.is_empty() {
                    v.fail(&t.name, "failed");
                } else {
                    v.fail(&t.name, why);
                }
                let diags: Vec<&String> = t
                    .diagnostics
                    .iter()
                    .filter(|d| !d.starts_with(expect::PREFIX) && !d.starts_with("Subtest:"))
                    .collect();
                for d in diags.iter().rev().take(8).rev() {
                    v.detail(d);
                }
            }
        }
    }
}

/// A racing case must have raced as long as the run asked (SOAK=N): a soak
/// that never reached the guest would pass as a short race.
fn judge_soak(v: &mut Verdict, t: &ktap::TestResult, config: &RunConfig) {
    let Some(want) = config.soak() else { return };
    for d in &t.diagnostics {
        if let Some(got) = d.strip_prefix(SOAK_PREFIX) {
            if got.trim().parse::<u64>().ok() != Some(want) {
                v.fail(
                    "soak_applied",
                    format!(
                        "{} raced with soak factor {}, but the run asked for SOAK={want}: \
                         the factor did not reach the guest (/etc/cardless-soak)",
                        t.name,
                        got.trim()
                    ),
                );
            }
        }
    }
}

fn judge_expected(v: &mut Verdict, report: &ktap::Report, expected: &[String]) {
    let missing: Vec<&String> = expected
        .iter()
        .filter(|name| !report.tests.iter().any(|t| &t.name == *name))
        .collect();
    if !missing.is_empty() {
        v.fail(
            "guest_ran_everything",
            format!(
                "{} of the {} cases this run asked for never reported a result",
                missing.len(),
                expected.len()
            ),
        );
        for name in missing.iter().take(20) {
            v.detail(name);
        }
    }
}

fn kernel_reports(
    v: &mut Verdict,
    console_text: &str,
    path: &str,
    marks: &[console::CaseMark],
) -> Vec<Observed> {
    let mut observed = Vec::new();
    for s in splat::find(console_text) {
        if let Some(k) = known::classify(&s) {
            v.note(format!(
                "known kernel report {} at line {} of {path}, not counted: {}",
                k.name, s.line_no, k.why
            ));
            continue;
        }
        let mut detail = vec![format!("{} at line {} of {path}:", s.kind, s.line_no)];
        detail.extend(s.excerpt.iter().map(|l| format!("    {l}")));
        observed.push(Observed {
            subject: Subject::Kernel {
                kind: s.kind.to_string(),
            },
            case: console::case_at(marks, s.line_no),
            detail,
        });
    }
    observed
}

fn judge_card_logs(v: &mut Verdict, card: &CardInput) {
    for log in &card.logs {
        let Some(text) = &log.text else {
            v.fail(
                "card_log_readable",
                format!("cannot read card {}'s log {}", card.index, log.path),
            );
            continue;
        };
        let bad = card::log_failures(text);
        if !bad.is_empty() {
            v.fail(
                "card_log_clean",
                format!(
                    "card {} logged {} panic/error line(s) in {}",
                    card.index,
                    bad.len(),
                    log.path
                ),
            );
            for line in bad.iter().take(10) {
                v.detail(line);
            }
        }
    }
}

fn card_events(v: &mut Verdict, card: &CardInput) -> Vec<Observed> {
    let Some(trace) = &card.trace else {
        return Vec::new();
    };
    let Some(text) = &trace.text else {
        v.fail(
            "card_trace_readable",
            format!("cannot read card {}'s trace {}: its errors and sanitizer findings cannot be judged", card.index, trace.path),
        );
        return Vec::new();
    };
    let found = card::read_trace(card.index, text, card.killed);
    if let Some(problem) = found.problem {
        v.fail(
            "card_trace_readable",
            format!("card {}'s trace {}: {problem}", card.index, trace.path),
        );
    }
    found
        .events
        .into_iter()
        .map(
            |CardEvent {
                 subject,
                 case,
                 detail,
             }| Observed {
                detail: vec![format!("{subject} {detail} (trace {})", trace.path)],
                subject,
                case,
            },
        )
        .collect()
}

/// Every observed report must be declared by the case it happened in, and
/// every declaration must be met.
fn judge_declarations(
    v: &mut Verdict,
    report: &ktap::Report,
    case_names: &BTreeMap<usize, String>,
    observed: Vec<Observed>,
) {
    let name_of = |serial: usize| -> String {
        if serial == 0 {
            "(before the first test case: boot and module load)".to_string()
        } else {
            case_names
                .get(&serial)
                .cloned()
                .unwrap_or_else(|| format!("(case #{serial})"))
        }
    };
    // Declarations by case name.
    let mut declared: BTreeMap<String, Vec<Expectation>> = BTreeMap::new();
    for t in &report.tests {
        for d in &t.diagnostics {
            match expect::parse(d) {
                None => {}
                Some(Ok(e)) => declared.entry(t.name.clone()).or_default().push(e),
                Some(Err(why)) => v.fail(&t.name, why),
            }
        }
    }
    // Observations by (case, subject).
    let mut seen: BTreeMap<(String, Subject), Vec<Observed>> = BTreeMap::new();
    for o in observed {
        seen.entry((name_of(o.case), o.subject.clone()))
            .or_default()
            .push(o);
    }
    for ((case, subject), items) in &seen {
        let declaration = declared
            .get(case)
            .and_then(|ds| ds.iter().find(|d| d.subject.covers(subject)));
        if declaration.is_none() {
            let check = match subject {
                Subject::Kernel { .. } => "kernel_log_clean",
                Subject::CardError { .. } => "card_errors_declared",
                Subject::Sanitizer { .. } => "card_sanitizer_clean",
            };
            v.fail(
                check,
                format!(
                    "{} {subject} during {case}, which declared none",
                    items.len()
                ),
            );
            for o in items.iter().take(3) {
                for line in o.detail.iter().take(14) {
                    v.detail(line);
                }
            }
        }
    }
    for (case, decls) in &declared {
        for d in decls {
            let n: usize = seen
                .iter()
                .filter(|((c, s), _)| c == case && d.subject.covers(s))
                .map(|(_, items)| items.len())
                .sum();
            if d.count.admits(n) {
                v.note(format!(
                    "declared by {case}: {} {} (saw {n})",
                    d.count, d.subject
                ));
            } else {
                v.fail(
                    "declared_reports",
                    format!("{case} declared {} {}, the run saw {n}", d.count, d.subject),
                );
            }
        }
    }
}
