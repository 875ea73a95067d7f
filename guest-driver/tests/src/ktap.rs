//! A tiny KTAP (kernel selftest format) runner: suites of named cases, each a
//! function returning `Ok` or an error that says what went wrong.

use std::io::Write;

/// A test case's verdict: `Err` carries the reason printed after `#`.
pub type CaseResult = Result<(), String>;

/// A case: a name and the function that runs it.
pub struct Case {
    pub name: &'static str,
    pub run: fn() -> CaseResult,
}

/// A named group of cases, printed as a KTAP subtest.
pub struct Suite {
    pub name: &'static str,
    pub cases: &'static [Case],
}

/// A case that cannot run here (e.g. only one card attached) returns this
/// reason prefixed with "SKIP".
pub fn skip(why: impl Into<String>) -> CaseResult {
    Err(format!("SKIP {}", why.into()))
}

/// Runs the suites whose names match `filter` (all when empty); returns
/// true when every case passed or skipped.
pub fn run(suites: &[Suite], filter: &[String]) -> bool {
    // A filter word selects the suites whose names contain it; "suite.case"
    // selects one case.
    let wanted = |suite: &str, case: &str| {
        filter.is_empty()
            || filter.iter().any(|f| match f.split_once('.') {
                Some((s, c)) => suite == s && case == c,
                None => suite.contains(f.as_str()),
            })
    };
    let chosen: Vec<(&Suite, Vec<&Case>)> = suites
        .iter()
        .map(|s| {
            (
                s,
                s.cases
                    .iter()
                    .filter(|c| wanted(s.name, c.name))
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, cases)| !cases.is_empty())
        .collect();
    let out = &mut std::io::stdout();
    let _ = writeln!(out, "KTAP version 1\n1..{}", chosen.len());
    let mut all_ok = true;
    for (si, (suite, cases)) in chosen.iter().enumerate() {
        let _ = writeln!(
            out,
            "    KTAP version 1\n    # Subtest: {}\n    1..{}",
            suite.name,
            cases.len()
        );
        let mut suite_ok = true;
        for (ci, case) in cases.iter().enumerate() {
            let _ = out.flush();
            match (case.run)() {
                Ok(()) => {
                    let _ = writeln!(out, "    ok {} {}", ci + 1, case.name);
                }
                Err(why) if why.starts_with("SKIP") => {
                    let _ = writeln!(out, "    ok {} {} # {}", ci + 1, case.name, why);
                }
                Err(why) => {
                    suite_ok = false;
                    for line in why.lines().skip(1) {
                        let _ = writeln!(out, "    # {line}");
                    }
                    let first = why.lines().next().unwrap_or("failed");
                    let _ = writeln!(out, "    not ok {} {} # {}", ci + 1, case.name, first);
                }
            }
        }
        all_ok &= suite_ok;
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
