//! `cardless-verdict --results FILE --console FILE`: prints every failed test
//! by name, every kernel report in the console log, and a closing line
//! `N passed, N failed, N skipped`. Exits 1 when anything failed, when the
//! guest did not finish, or when the kernel reported a bug.

mod known;
mod ktap;
mod splat;

use std::process::ExitCode;

const EXIT_MARKER: &str = "cardless-guest-exit:";

fn read(path: &str) -> String {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            eprintln!(
                "verdict: cannot read {path}: {e} (did the guest start? see the logs beside it)"
            );
            String::new()
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let mut results = None;
    let mut console = None;
    let mut i = 1;
    while i + 1 < args.len() {
        match args[i].as_str() {
            "--results" => results = Some(args[i + 1].clone()),
            "--console" => console = Some(args[i + 1].clone()),
            other => {
                eprintln!("verdict: unknown argument {other}");
                return ExitCode::from(2);
            }
        }
        i += 2;
    }
    let (Some(results), Some(console)) = (results, console) else {
        eprintln!("usage: cardless-verdict --results RESULTS.log --console CONSOLE.log");
        return ExitCode::from(2);
    };
    let results_text = read(&results);
    let console_text = read(&console);

    let report = ktap::parse(&results_text);
    let (mut passed, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    for t in &report.tests {
        match &t.outcome {
            ktap::Outcome::Pass => passed += 1,
            ktap::Outcome::Skip(_) => skipped += 1,
            ktap::Outcome::Fail(why) => {
                failed += 1;
                println!(
                    "FAIL {}{}",
                    t.name,
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(": {why}")
                    }
                );
                for d in t.diagnostics.iter().rev().take(8).rev() {
                    println!("    {d}");
                }
            }
        }
    }
    for (planned, seen) in &report.short_plans {
        failed += 1;
        println!("FAIL suite_complete: {planned} results planned, {seen} reported (the suite stopped early; see {console})");
    }
    // The guest's own exit line: absent means it hung, crashed or timed out.
    match results_text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(EXIT_MARKER))
    {
        None => {
            failed += 1;
            println!("FAIL guest_finished: the guest never reported its exit (hang, panic or timeout; see {console})");
        }
        Some(code) if code.trim() != "0" && failed == 0 => {
            failed += 1;
            println!("FAIL guest_exit_status: the guest suite exited with status {} but reported no failing test", code.trim());
        }
        Some(_) => {}
    }
    if report.tests.is_empty() {
        failed += 1;
        println!("FAIL tests_ran: no test result in {results}");
    }
    let (allowed, splats): (Vec<_>, Vec<_>) = splat::find(&console_text)
        .into_iter()
        .partition(|s| known::classify(s).is_some());
    for s in &allowed {
        let known = known::classify(s).expect("partitioned on it");
        println!(
            "known kernel report {} at line {} of {console}, not counted: {}",
            known.name, s.line_no, known.why
        );
    }
    if !splats.is_empty() {
        failed += 1;
        println!(
            "FAIL kernel_log_clean: {} kernel report(s) in {console}:",
            splats.len()
        );
        for s in &splats {
            println!("  {} at line {}:", s.kind, s.line_no);
            for l in &s.excerpt {
                println!("    {l}");
            }
        }
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
