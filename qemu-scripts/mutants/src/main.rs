//! `make mutants` (`cardless-mutants`): plants each bug of the mutation
//! catalogue (guest-driver/mutants.toml) in the kernel module, runs the
//! guest suite (`make qemu-test`, stopping at the first failure), restores
//! the source, and reports which test or report caught each bug, and when
//! none did. The score is caught / cataloged; a bug QEMU cannot show is
//! listed with why, and never counts as caught.
#![forbid(unsafe_code)]

mod catalogue;
mod outcome;
mod plant;

use catalogue::{Mutant, RunKind};
use clap::Parser;
use outcome::Outcome;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Plants each cataloged driver bug and shows what catches it.
#[derive(Parser, Debug)]
#[command(name = "cardless-mutants", version)]
struct Cli {
    /// The catalogue.
    #[arg(long, default_value = "guest-driver/mutants.toml")]
    catalogue: PathBuf,
    /// Only these mutants (by id).
    #[arg(long = "only", value_name = "ID")]
    only: Vec<String>,
    /// A sample of N mutants, rotating daily through the catalogue (CI).
    #[arg(long, value_name = "N")]
    sample: Option<usize>,
    /// List the catalogue and exit.
    #[arg(long)]
    list: bool,
    /// Only check that each mutant builds (the module alone, seconds each).
    #[arg(long)]
    build_only: bool,
    /// Plant nothing: table the logs earlier runs left in build/mutants/logs
    /// (a campaign run in parts, or with an older runner).
    #[arg(long)]
    from_logs: bool,
    /// Skip the baseline runs of the unmutated module (when just done).
    #[arg(long)]
    no_baseline: bool,
    /// Seconds a guest run may take before it counts as hung.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
}

struct Row {
    mutant: Mutant,
    run: RunKind,
    outcome: Outcome,
    took: Duration,
}

fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// N consecutive entries starting at a place that moves every day.
fn daily_sample(all: Vec<Mutant>, n: usize) -> Vec<Mutant> {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as usize;
    let len = all.len();
    let n = n.min(len);
    let start = (days * n) % len.max(1);
    (0..n).map(|i| all[(start + i) % len].clone()).collect()
}

fn run_suite(
    repo: &Path,
    run: RunKind,
    log: &Path,
    timeout: u64,
) -> Result<(String, bool), String> {
    let out = Command::new("make")
        .arg("-s")
        .arg("qemu-test")
        .current_dir(repo)
        .env("FAILFAST", "1")
        .env("IOMMU", if run == RunKind::Iommu { "1" } else { "0" })
        .env("TIMEOUT", timeout.to_string())
        .env_remove("TESTS")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run make qemu-test: {e}"))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text.push_str(&outcome::status_line(out.status.success()));
    std::fs::write(log, &text).map_err(|e| format!("{}: {e}", log.display()))?;
    Ok((text, out.status.success()))
}

fn log_name(id: &str, run: RunKind) -> String {
    let run = if run == RunKind::Iommu {
        "iommu"
    } else {
        "plain"
    };
    format!("{id}-{run}.log")
}

/// Builds the module alone (against the cached kernel) into build/mutants/module.
fn build_module(repo: &Path, log: &Path) -> Result<bool, String> {
    let script = "source qemu-scripts/lib.sh && mkdir -p build/mutants/module && \
        kernel_make \"$(kernel_src_dir)\" O=\"$(kernel_dir)\" M=\"$PWD/guest-driver/module\" \
        MO=\"$PWD/build/mutants/module\" modules";
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(repo)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run the module build: {e}"))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    std::fs::write(log, &text).map_err(|e| format!("{}: {e}", log.display()))?;
    Ok(out.status.success())
}

fn cell(outcome: &Outcome) -> (&'static str, String) {
    match outcome {
        Outcome::Caught(by) => ("caught", by.clone()),
        Outcome::Missed => ("**missed**", "the run passed with the bug in".into()),
        Outcome::DidNotBuild => (
            "**no build**",
            "the module does not build with it: fix the entry".into(),
        ),
        Outcome::HarnessError(e) => ("**error**", e.clone()),
    }
}

fn report(rows: &[Row], unobservable: &[Mutant], total: usize) -> (String, bool) {
    let mut md = String::from("| # | bug | run | result | caught by (the first the verdict named) | time |\n|---:|---|---|---|---|---:|\n");
    for (i, r) in rows.iter().enumerate() {
        let (result, by) = cell(&r.outcome);
        md.push_str(&format!(
            "| {} | `{}`: {} | {} | {result} | {by} | {} s |\n",
            i + 1,
            r.mutant.id,
            r.mutant.bug,
            r.run.name(),
            r.took.as_secs()
        ));
    }
    // A bug counts as caught when every run it names caught it.
    let mut caught = 0;
    let mut judged = 0;
    let mut ids: Vec<&str> = rows.iter().map(|r| r.mutant.id.as_str()).collect();
    ids.dedup();
    for id in &ids {
        judged += 1;
        if rows
            .iter()
            .filter(|r| r.mutant.id == *id)
            .all(|r| matches!(r.outcome, Outcome::Caught(_)))
        {
            caught += 1;
        }
    }
    if !unobservable.is_empty() {
        md.push_str("\nNot observable under QEMU (cataloged, never counted as caught):\n\n| bug | why | what would observe it |\n|---|---|---|\n");
        for m in unobservable {
            md.push_str(&format!(
                "| `{}`: {} | {} | {} |\n",
                m.id, m.bug, m.why, m.would_observe
            ));
        }
    }
    let denominator = judged + unobservable.len();
    let pct = if denominator == 0 {
        0.0
    } else {
        100.0 * caught as f64 / denominator as f64
    };
    md.push_str(&format!(
        "\nScore: {caught} of {denominator} bugs caught ({pct:.0}%); {} of the catalogue's {total} run here.\n",
        judged
    ));
    (md, caught == judged)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let repo = repo_dir();
    let backups = repo.join("build/mutants/backup");
    match plant::recover(&repo, &backups) {
        Ok(files) => {
            for f in files {
                eprintln!("cardless-mutants: restored {f}, left planted by an interrupted run");
            }
        }
        Err(e) => {
            eprintln!("cardless-mutants: {e}");
            return ExitCode::FAILURE;
        }
    }
    let all = match catalogue::load(&repo.join(&cli.catalogue)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("cardless-mutants: {e}");
            return ExitCode::FAILURE;
        }
    };
    let total = all.len();
    if cli.list {
        for m in &all {
            let runs: Vec<_> = m.runs.iter().map(|r| r.name()).collect();
            println!("{:<36} {:<14} {}", m.id, runs.join(","), m.bug);
        }
        return ExitCode::SUCCESS;
    }
    let mut chosen: Vec<Mutant> = if cli.only.is_empty() {
        all
    } else {
        let unknown: Vec<_> = cli
            .only
            .iter()
            .filter(|id| !all.iter().any(|m| &m.id == *id))
            .collect();
        if !unknown.is_empty() {
            eprintln!(
                "cardless-mutants: no mutant {unknown:?} in the catalogue (--list shows them)"
            );
            return ExitCode::FAILURE;
        }
        all.into_iter()
            .filter(|m| cli.only.contains(&m.id))
            .collect()
    };
    if let Some(n) = cli.sample {
        chosen = daily_sample(chosen, n);
        let ids: Vec<_> = chosen.iter().map(|m| m.id.as_str()).collect();
        eprintln!(
            "cardless-mutants: a daily-rotating sample of {n} of {total}: {}",
            ids.join(", ")
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone());
    let _ = signal_hook::flag::register(signal_hook::consts::SIGTERM, stop.clone());
    let logs = repo.join("build/mutants/logs");
    let _ = std::fs::create_dir_all(&logs);
    if cli.build_only {
        let mut broken = 0;
        for m in &chosen {
            let planted = match plant::Planted::plant(&repo, m, &backups) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("cardless-mutants: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let log = logs.join(format!("{}-build.log", m.id));
            let built = build_module(&repo, &log);
            let restored = planted.restore();
            match (built, restored) {
                (Ok(true), Ok(())) => eprintln!("builds:         {}", m.id),
                (Ok(false), Ok(())) => {
                    broken += 1;
                    eprintln!("DOES NOT BUILD: {} (log {})", m.id, log.display());
                }
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("cardless-mutants: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        return if broken == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let (observable, unobservable): (Vec<Mutant>, Vec<Mutant>) =
        chosen.into_iter().partition(|m| m.observable);
    if cli.from_logs {
        let mut rows = Vec::new();
        for m in &observable {
            for &run in &m.runs {
                let log = logs.join(log_name(&m.id, run));
                let Ok(text) = std::fs::read_to_string(&log) else {
                    continue;
                };
                rows.push(Row {
                    mutant: m.clone(),
                    run,
                    outcome: outcome::classify(&text, outcome::passed(&text)),
                    took: outcome::total_time(&text).unwrap_or_default(),
                });
            }
        }
        let (md, all_caught) = report(&rows, &unobservable, total);
        let _ = std::fs::write(repo.join("build/mutants/report.md"), &md);
        println!("{md}");
        return if all_caught {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    // A catch means something only if the unmutated module passes the same run.
    let mut needed: Vec<RunKind> = observable
        .iter()
        .flat_map(|m| m.runs.iter().copied())
        .collect();
    needed.sort_by_key(|r| r.name());
    needed.dedup();
    if !cli.no_baseline {
        for &run in &needed {
            eprintln!("==> baseline: the unmutated module, {} run", run.name());
            let log = logs.join(format!(
                "baseline-{}.log",
                if run == RunKind::Iommu {
                    "iommu"
                } else {
                    "plain"
                }
            ));
            match run_suite(&repo, run, &log, cli.timeout) {
                Ok((_, true)) => eprintln!("    green"),
                Ok((text, false)) => {
                    eprintln!(
                        "cardless-mutants: the unmutated module fails the {} run ({}); fix that first (log {})",
                        run.name(),
                        cell(&outcome::classify(&text, false)).1,
                        log.display()
                    );
                    return ExitCode::FAILURE;
                }
                Err(e) => {
                    eprintln!("cardless-mutants: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let mut rows = Vec::new();
    let count: usize = observable.iter().map(|m| m.runs.len()).sum();
    for m in &observable {
        for &run in &m.runs {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            eprintln!(
                "==> mutant {}/{count}: {} ({}) — {}",
                rows.len() + 1,
                m.id,
                run.name(),
                m.bug
            );
            let planted = match plant::Planted::plant(&repo, m, &backups) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("cardless-mutants: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let start = Instant::now();
            let log = logs.join(log_name(&m.id, run));
            let result = run_suite(&repo, run, &log, cli.timeout);
            if let Err(e) = planted.restore() {
                eprintln!("cardless-mutants: {e}");
                return ExitCode::FAILURE;
            }
            let outcome = match result {
                Ok((text, ok)) => outcome::classify(&text, ok),
                Err(e) => Outcome::HarnessError(e),
            };
            let (result, by) = cell(&outcome);
            eprintln!(
                "    {result}: {by} ({} s; log {})",
                start.elapsed().as_secs(),
                log.display()
            );
            rows.push(Row {
                mutant: m.clone(),
                run,
                outcome,
                took: start.elapsed(),
            });
            // The table so far, so a long campaign that is cut short still has one.
            let (md, _) = report(&rows, &unobservable, total);
            let _ = std::fs::write(repo.join("build/mutants/report.md"), &md);
        }
    }
    if stop.load(Ordering::Relaxed) {
        eprintln!(
            "cardless-mutants: interrupted; the source is restored; the table covers what ran"
        );
    }
    let (md, all_caught) = report(&rows, &unobservable, total);
    let out = repo.join("build/mutants/report.md");
    let _ = std::fs::write(&out, &md);
    println!("{md}");
    eprintln!("cardless-mutants: table in {}", out.display());
    if all_caught && !stop.load(Ordering::Relaxed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
