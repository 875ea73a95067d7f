//! `cardless-bench-report --json BENCH.json --out-dir DIR [--guide FILE]`:
//! see `--help` ([`cardless_bench_report::cli`]).
#![forbid(unsafe_code)]

use cardless_bench_report::{cli, run, GuideOutcome};
use std::process::ExitCode;

const ME: &str = "cardless-bench-report";

fn main() -> ExitCode {
    // --help prints and exits 0; bad arguments print the usage and exit 2.
    let opts = cli::parse(std::env::args_os()).unwrap_or_else(|e| e.exit());
    let outcome = match run(&opts) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{ME}: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", outcome.tables);
    for path in &outcome.written {
        eprintln!("{ME}: wrote {}", path.display());
    }
    let guide = opts.guide.as_ref().map(|p| p.display().to_string());
    match (&outcome.guide, &guide) {
        (GuideOutcome::Updated, Some(g)) => {
            eprintln!("{ME}: regenerated the generated blocks of {g}")
        }
        (GuideOutcome::Unchanged, Some(g)) => eprintln!("{ME}: {g} already holds this text"),
        (GuideOutcome::KeptIncomplete, Some(g)) => {
            eprintln!("{ME}: {g} left as it was: not every figure was measured")
        }
        (GuideOutcome::Failed(e), _) => eprintln!("{ME}: {e}"),
        _ => {}
    }
    if !outcome.problems.is_empty() {
        for p in &outcome.problems {
            eprintln!("{ME}: {p}");
        }
        let names: Vec<&str> = outcome.problems.iter().map(|p| p.figure()).collect();
        eprintln!(
            "{ME}: FAILED: {} figure(s) not measured or invalid: {}",
            names.len(),
            names.join(", ")
        );
    }
    if outcome.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
