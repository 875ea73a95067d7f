//! Command-line arguments.

use crate::Options;
use std::path::PathBuf;

pub const USAGE: &str = "\
usage: cardless-bench-report --json BENCH.json --out-dir DIR [--guide docs/mapping-guide.md]

Reads the in-guest benchmark's JSON (schema 2), writes DIR/report.md and the
plots DIR/first_touch.svg, seq_read.svg, streaming.svg, latency.svg, and with
--guide replaces the generated blocks of that file (only when every figure was
measured): the tables between <!-- bench:begin --> and <!-- bench:end -->, and
the figures of each answer between <!-- bench-qN:begin --> and
<!-- bench-qN:end --> (N = 1..4).

Exit status: 0 every figure measured and written; 1 a figure is missing,
skipped or invalid (named on stderr; report and plots still written), or the
guide's markers are missing; 2 bad arguments, or the JSON cannot be read.";

/// Bad arguments: the message, to be printed with [`USAGE`].
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// What the arguments asked for: a run, or the usage text.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Run(Options),
    Help,
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let (mut json, mut out_dir, mut guide) = (None, None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let slot = match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--json" => &mut json,
            "--out-dir" => &mut out_dir,
            "--guide" => &mut guide,
            other => return Err(UsageError(format!("unknown argument {other:?}"))),
        };
        let value = it
            .next()
            .ok_or_else(|| UsageError(format!("{arg} needs a value")))?;
        if slot.replace(PathBuf::from(value)).is_some() {
            return Err(UsageError(format!("{arg} given twice")));
        }
    }
    Ok(Command::Run(Options {
        json: json.ok_or_else(|| UsageError("--json BENCH.json is required".into()))?,
        out_dir: out_dir.ok_or_else(|| UsageError("--out-dir DIR is required".into()))?,
        guide,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_all_options() {
        let c = parse(&args(&[
            "--json",
            "b.json",
            "--out-dir",
            "out",
            "--guide",
            "g.md",
        ]));
        assert_eq!(
            c,
            Ok(Command::Run(Options {
                json: "b.json".into(),
                out_dir: "out".into(),
                guide: Some("g.md".into()),
            }))
        );
    }

    #[test]
    fn refuses_bad_arguments() {
        assert!(parse(&args(&["--json", "b.json"])).is_err());
        assert!(parse(&args(&["--json"])).is_err());
        assert!(parse(&args(&["--bogus", "x"])).is_err());
        assert!(parse(&args(&["--json", "a", "--json", "b", "--out-dir", "o"])).is_err());
        assert_eq!(parse(&args(&["--help"])), Ok(Command::Help));
    }
}
