//! Command-line arguments (clap): `--json BENCH.json --out-dir DIR
//! [--guide FILE]`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

use crate::Options;

/// What the tool does, for `--help`.
const ABOUT: &str = "\
Reads the in-guest benchmark's JSON (schema 2), writes DIR/report.md and the
plots DIR/first_touch.svg, seq_read.svg, streaming.svg, latency.svg, and with
--guide replaces the generated blocks of that file (only when every figure was
measured): the tables between <!-- bench:begin --> and <!-- bench:end -->, and
the figures of each answer between <!-- bench-qN:begin --> and
<!-- bench-qN:end --> (N = 1..4).";

/// The exit statuses, after the options in `--help`.
const EXIT_STATUS: &str = "\
Exit status: 0 every figure measured and written; 1 a figure is missing,
skipped or invalid (named on stderr; report and plots still written), or the
guide's markers are missing; 2 bad arguments, or the JSON cannot be read.";

#[derive(Debug, Parser)]
#[command(
    name = "cardless-bench-report",
    about = "Turns the guest benchmark's JSON into a report, plots and the mapping guide's tables",
    long_about = ABOUT,
    after_help = EXIT_STATUS
)]
struct Args {
    /// The benchmark's JSON, as `make qemu-bench` copies it out of the guest.
    #[arg(long, value_name = "BENCH.json")]
    json: PathBuf,
    /// Where report.md and the plots are written (created if missing).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    /// A guide whose generated blocks to replace, e.g. docs/mapping-guide.md.
    #[arg(long, value_name = "FILE")]
    guide: Option<PathBuf>,
}

/// Parses the whole command line (program name first). `Err` is clap's:
/// `--help` text (exit 0) or a usage error naming the argument (exit 2);
/// `Error::exit` prints it where it belongs.
pub fn parse<I, T>(args: I) -> Result<Options, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args = Args::try_parse_from(args)?;
    Ok(Options {
        json: args.json,
        out_dir: args.out_dir,
        guide: args.guide,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse_args(a: &[&str]) -> Result<Options, ErrorKind> {
        parse(std::iter::once("cardless-bench-report").chain(a.iter().copied()))
            .map_err(|e| e.kind())
    }

    #[test]
    fn parses_all_options() {
        let c = parse_args(&["--json", "b.json", "--out-dir", "out", "--guide", "g.md"]);
        assert_eq!(
            c,
            Ok(Options {
                json: "b.json".into(),
                out_dir: "out".into(),
                guide: Some("g.md".into()),
            })
        );
    }

    #[test]
    fn refuses_bad_arguments() {
        use ErrorKind::*;
        assert_eq!(
            parse_args(&["--json", "b.json"]),
            Err(MissingRequiredArgument)
        );
        assert_eq!(parse_args(&["--json"]), Err(InvalidValue));
        assert_eq!(parse_args(&["--bogus", "x"]), Err(UnknownArgument));
        assert_eq!(
            parse_args(&["--json", "a", "--json", "b", "--out-dir", "o"]),
            Err(ArgumentConflict)
        );
        assert_eq!(
            parse_args(&["--json", "a", "--out-dir", "o", "extra"]),
            Err(UnknownArgument)
        );
        assert_eq!(parse_args(&["--help"]), Err(DisplayHelp));
    }
}
