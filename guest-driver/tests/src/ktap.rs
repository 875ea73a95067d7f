//! A small KTAP (kernel selftest format) runner: suites of named cases, each
//! a function returning `Ok` or an error that says what went wrong.
//!
//! Before each case the runner tells the host's verdict which case is
//! running: a `cardless-tests: case N SUITE.CASE` line in the kernel log,
//! and `SCRATCH = 0xCA5E0000 | N` on every card (the card's trace records
//! it), so every kernel report, card error and sanitizer finding is
//! attributed to the case that caused it. A case that provokes one on
//! purpose declares it with [`expect`].

use std::io::Write;

/// A case's verdict: `Err` carries the reason printed after `#`.
pub type CaseResult = Result<(), String>;

/// A case: a name and the function that runs it.
pub struct Case {
    pub name: &'static str,
    pub run: fn() -> CaseResult,
}

/// A named group of cases, printed as a KTAP subtest.
pub struct Suite {
    pub name: &'static str,
    /// One line for `--help`: what the suite shows.
    pub about: &'static str,
    pub cases: &'static [Case],
}

/// A case that cannot run in this configuration skips, naming what it
/// needs (`iommu`, `cards>=2`, `debug-kernel`, `host-unplug`, `host-kill`,
/// `debug-window`, `zoo-module`...). The host's verdict accepts the skip only
/// when the run's configuration indeed lacks that need.
pub fn skip(need: &str, why: impl Into<String>) -> CaseResult {
    Err(format!("SKIP [needs:{need}] {}", why.into()))
}

/// How many reports a case provokes on purpose (see [`expect`]).
#[derive(Clone, Copy, Debug)]
pub enum Count {
    Exactly(usize),
    AtLeast(usize),
    Any,
}

/// What a case provokes on purpose.
pub enum Report<'a> {
    /// Card `card` latches this error (SPEC §10 name, e.g. `ERR_DMA_UNMAPPED`).
    CardError(u32, &'a str),
    /// Card `card`'s DMA sanitizer reports this check (SPEC §16.3).
    Sanitizer(u32, &'a str),
    /// The kernel prints a report of this kind (`WARNING`, `PAT`...).
    Kernel(&'a str),
}

/// Declares a report the running case provokes on purpose: the host's
/// verdict then requires it (as many as `count` says) instead of failing.
pub fn expect(report: Report<'_>, count: Count) {
    let what = match report {
        Report::CardError(card, name) => format!("card={card} error={name}"),
        Report::Sanitizer(card, check) => format!("card={card} sanitizer={check}"),
        Report::Kernel(kind) => format!("kernel={kind}"),
    };
    let count = match count {
        Count::Exactly(n) => n.to_string(),
        Count::AtLeast(n) => format!("{n}+"),
        Count::Any => "any".into(),
    };
    println!("    # cardless-expect: {what} count={count}");
}

/// How the runner behaves.
#[derive(Default)]
pub struct Options {
    /// Stop after the first failing case (the mutation runner: the first
    /// catch is the answer, the rest of the suite is time).
    pub fail_fast: bool,
    /// Called before each case with its serial (from 1) and `suite.case`.
    pub on_case_start: Option<fn(usize, &str)>,
}

/// The cases `filter` selects, by suite; an error names a filter word that
/// selects nothing (a typo must not turn into a green run of nothing).
pub fn select<'a>(
    suites: &'a [Suite],
    filter: &[String],
) -> Result<Vec<(&'a Suite, Vec<&'a Case>)>, String> {
    // A word selects the suites whose names contain it; "suite.case" one case.
    let matches = |f: &str, suite: &str, case: &str| match f.split_once('.') {
        Some((s, c)) => suite == s && case == c,
        None => suite.contains(f),
    };
    for f in filter {
        let hit = suites
            .iter()
            .any(|s| s.cases.iter().any(|c| matches(f, s.name, c.name)));
        if !hit {
            return Err(format!(
                "'{f}' names no suite or suite.case (cardless-tests --help lists them)"
            ));
        }
    }
    Ok(suites
        .iter()
        .map(|s| {
            let cases = s
                .cases
                .iter()
                .filter(|c| filter.is_empty() || filter.iter().any(|f| matches(f, s.name, c.name)))
                .collect::<Vec<_>>();
            (s, cases)
        })
        .filter(|(_, cases)| !cases.is_empty())
        .collect())
}

/// Runs the selected cases, printing KTAP; true when none failed.
pub fn run(chosen: &[(&Suite, Vec<&Case>)], options: &Options) -> bool {
    let out = &mut std::io::stdout();
    let _ = writeln!(out, "KTAP version 1\n1..{}", chosen.len());
    let mut all_ok = true;
    let mut serial = 0;
    for (si, (suite, cases)) in chosen.iter().enumerate() {
        let _ = writeln!(
            out,
            "    KTAP version 1\n    # Subtest: {}\n    1..{}",
            suite.name,
            cases.len()
        );
        let mut suite_ok = true;
        for (ci, case) in cases.iter().enumerate() {
            if options.fail_fast && !all_ok {
                break;
            }
            serial += 1;
            let _ = out.flush();
            if let Some(hook) = options.on_case_start {
                hook(serial, &format!("{}.{}", suite.name, case.name));
            }
            match (case.run)() {
                Ok(()) => {
                    let _ = writeln!(out, "    ok {} {}", ci + 1, case.name);
                }
                Err(why) if why.starts_with("SKIP") => {
                    let _ = writeln!(out, "    ok {} {} # {}", ci + 1, case.name, why);
                }
                Err(why) => {
                    suite_ok = false;
                    all_ok = false;
                    for line in why.lines().skip(1) {
                        let _ = writeln!(out, "    # {line}");
                    }
                    let first = why.lines().next().unwrap_or("failed");
                    let _ = writeln!(out, "    not ok {} {} # {}", ci + 1, case.name, first);
                }
            }
        }
        let _ = writeln!(
            out,
            "{} {} {}",
            if suite_ok { "ok" } else { "not ok" },
            si + 1,
            suite.name
        );
    }
    let _ = out.flush();
    all_ok
}

/// `check!(cond, "format", args)` returns an error with the message when the
/// condition is false.
#[macro_export]
macro_rules! check {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

/// `check_eq!(actual, expected, "what")` returns an error naming both values.
#[macro_export]
macro_rules! check_eq {
    ($actual:expr, $expected:expr, $what:expr) => {{
        let (a, e) = ($actual, $expected);
        if a != e {
            return Err(format!("{}: got {:#x?}, expected {:#x?}", $what, a, e));
        }
    }};
}

/// `cases![f, g]`: the cases named after their functions.
#[macro_export]
macro_rules! cases {
    ($($f:ident),* $(,)?) => {
        &[$($crate::ktap::Case { name: stringify!($f), run: $f }),*]
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass() -> CaseResult {
        Ok(())
    }
    const SUITES: &[Suite] = &[
        Suite {
            name: "driver_core",
            about: "",
            cases: cases![pass],
        },
        Suite {
            name: "dma_buffers",
            about: "",
            cases: &[Case {
                name: "other",
                run: pass,
            }],
        },
    ];

    #[test]
    fn words_select_suites_and_dotted_names_select_cases() {
        let all = select(SUITES, &[]).unwrap();
        assert_eq!(all.len(), 2);
        let one = select(SUITES, &["dma".into()]).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].0.name, "dma_buffers");
        let case = select(SUITES, &["driver_core.pass".into()]).unwrap();
        assert_eq!(case[0].1.len(), 1);
    }

    #[test]
    fn a_word_that_selects_nothing_is_an_error() {
        let e = match select(SUITES, &["dma".into(), "dirver_core".into()]) {
            Err(e) => e,
            Ok(_) => panic!("a misspelt suite name selected something"),
        };
        assert!(e.contains("dirver_core"));
        assert!(select(SUITES, &["driver_core.nope".into()]).is_err());
    }

    #[test]
    fn skips_carry_their_need() {
        assert_eq!(
            skip("iommu", "no IOMMU").unwrap_err(),
            "SKIP [needs:iommu] no IOMMU"
        );
    }
}
