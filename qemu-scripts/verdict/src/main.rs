//! `cardless-verdict`: judges one guest run. It prints every failed test by
//! name, every kernel report, card error, sanitizer finding, panic or
//! error-level line of a card that no test declared, every skip the run's
//! configuration does not explain and every case that never ran, then a
//! closing line `N passed, N failed, N skipped`. Exits 1 when anything failed.
#![forbid(unsafe_code)]

mod card;
mod config;
mod console;
mod expect;
mod judge;
mod known;
mod ktap;
mod splat;

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Judges one guest run from the files it left behind.
#[derive(Parser, Debug)]
#[command(name = "cardless-verdict", version)]
struct Cli {
    /// The guest's results port: KTAP, or any output, then `cardless-guest-exit: N`.
    #[arg(long, value_name = "FILE")]
    results: PathBuf,
    /// The guest's kernel console log.
    #[arg(long, value_name = "FILE")]
    console: PathBuf,
    /// A log of card N's server or of its link (repeatable).
    #[arg(long = "card-log", value_name = "N=FILE")]
    card_logs: Vec<String>,
    /// Card N's trace (SPEC §12): its errors and sanitizer findings (repeatable).
    #[arg(long = "card-trace", value_name = "N=FILE")]
    card_traces: Vec<String>,
    /// Card N's server was killed on purpose: its trace may end mid-line.
    #[arg(long = "killed-card", value_name = "N")]
    killed: Vec<u32>,
    /// The `suite.case` names the run asked for, one a line: each must report.
    #[arg(long = "expect-cases", value_name = "FILE")]
    expect_cases: Option<PathBuf>,
    /// A fact about the run that explains skips (iommu=1, cards=2, kernel=debug, host=unplug,kill).
    #[arg(long = "config", value_name = "KEY=VALUE")]
    config: Vec<String>,
}

fn read(path: &std::path::Path) -> judge::Text {
    judge::Text {
        path: path.display().to_string(),
        text: std::fs::read(path)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned()),
    }
}

/// `N=FILE` -> (N, FILE).
fn indexed(arg: &str, flag: &str) -> Result<(u32, PathBuf), String> {
    let (n, file) = arg.split_once('=').ok_or_else(|| {
        format!("{flag} {arg}: expected N=FILE (e.g. 0=build/qemu-test/device0.log)")
    })?;
    let n = n
        .parse()
        .map_err(|_| format!("{flag} {arg}: '{n}' is not a card index"))?;
    Ok((n, PathBuf::from(file)))
}

fn inputs(cli: &Cli) -> Result<judge::Inputs, String> {
    let mut cards: Vec<judge::CardInput> = Vec::new();
    let mut card = |n: u32| -> usize {
        if let Some(i) = cards.iter().position(|c| c.index == n) {
            return i;
        }
        cards.push(judge::CardInput {
            index: n,
            logs: Vec::new(),
            trace: None,
            killed: cli.killed.contains(&n),
        });
        cards.len() - 1
    };
    let mut logs = Vec::new();
    for arg in &cli.card_logs {
        logs.push(indexed(arg, "--card-log")?);
    }
    let mut traces = Vec::new();
    for arg in &cli.card_traces {
        traces.push(indexed(arg, "--card-trace")?);
    }
    let mut slots: Vec<(usize, PathBuf, bool)> = Vec::new();
    for (n, path) in logs {
        slots.push((card(n), path, false));
    }
    for (n, path) in traces {
        slots.push((card(n), path, true));
    }
    for (i, path, is_trace) in slots {
        let text = read(&path);
        if is_trace {
            cards[i].trace = Some(text);
        } else {
            cards[i].logs.push(text);
        }
    }
    let expected_cases = match &cli.expect_cases {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--expect-cases {}: {e}", path.display()))?;
            Some(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
            )
        }
    };
    Ok(judge::Inputs {
        results: read(&cli.results),
        console: read(&cli.console),
        cards,
        expected_cases,
        config: config::RunConfig::parse(&cli.config)?,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let inputs = match inputs(&cli) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("cardless-verdict: {e}");
            return ExitCode::from(2);
        }
    };
    let verdict = judge::judge(&inputs);
    for line in &verdict.lines {
        println!("{line}");
    }
    if verdict.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests;
