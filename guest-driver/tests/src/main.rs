//! `cardless-tests [FILTER...]`: the driver's test suite, run inside the
//! guest. Prints KTAP on stdout; exits 1 when a case failed.

use cardless_guest_tests::{
    card, cases, check, check_eq, cmdline, debug_window, kmsg, ktap, live_buffers, memtype, pci,
    scratch, stream_reader, wait,
};
mod dma_checks;
mod driver_core_guards;
mod hostile_limits;
mod soak;
mod suite_card_death;
mod suite_dma;
mod suite_driver_core;
mod suite_enumeration;
mod suite_faults;
mod suite_hostile;
mod suite_kernel_health;
mod suite_leaks;
mod suite_zoo;

use clap::{CommandFactory, FromArgMatches, Parser};
use ktap::{CaseResult, Suite};

fn deliberate_failure() -> CaseResult {
    Err("this case fails on purpose: the harness must report it".into())
}

fn deliberate_unexplained_skip() -> CaseResult {
    ktap::skip(
        "moon",
        "this case skips on purpose for a need no run has: the harness must fail it",
    )
}

/// A DMA the driver never handed to the card: the card's sanitizer must
/// refuse it, and with no declaration the harness must fail the run.
fn deliberate_sanitizer_finding() -> CaseResult {
    suite_faults::provoke_stray_write()
}

/// `make harness-selftest`: cases that must each turn the verdict red.
const HARNESS_SELFTEST: Suite = Suite {
    name: "harness_selftest",
    about: "cases that must fail the run (make harness-selftest)",
    cases: cases![
        deliberate_failure,
        deliberate_unexplained_skip,
        deliberate_sanitizer_finding
    ],
};

/// The default run, in order. kernel_health unloads the module; card_death
/// kills the cards (the host plays its half); leaks scans last, so every
/// path, death included, is leak-checked.
const SUITES: &[Suite] = &[
    suite_enumeration::SUITE,
    suite_driver_core::SUITE,
    suite_dma::SUITE,
    suite_hostile::SUITE,
    suite_faults::SUITE,
    suite_kernel_health::SUITE,
    suite_card_death::SUITE,
    suite_leaks::SUITE,
];

/// Run on their own: the zoo needs the zoo build of the module (make zoo-test).
const SEPARATE: &[Suite] = &[suite_zoo::SUITE, HARNESS_SELFTEST];

/// The driver's test suite for the cardless card (KTAP on stdout).
#[derive(Parser, Debug)]
#[command(name = "cardless-tests", version)]
struct Cli {
    /// Suites (a word contained in the name) or `suite.case`; default: the whole default run.
    filter: Vec<String>,
    /// Print the `suite.case` names the filter selects, one a line, and exit.
    #[arg(long)]
    list: bool,
    /// Stop at the first failing case (also: /etc/cardless-failfast exists).
    #[arg(long)]
    fail_fast: bool,
    /// Run the harness's must-fail cases (make harness-selftest).
    #[arg(long)]
    harness_selftest: bool,
}

fn help_text() -> String {
    let mut s = String::from("Suites and cases (default run, in order):\n");
    let list = |suites: &[Suite], s: &mut String| {
        for suite in suites {
            s.push_str(&format!("  {:<16} {}\n", suite.name, suite.about));
            for case in suite.cases {
                s.push_str(&format!("      {}.{}\n", suite.name, case.name));
            }
        }
    };
    list(SUITES, &mut s);
    s.push_str("Run only when named:\n");
    list(SEPARATE, &mut s);
    s
}

/// Tells the host's verdict which case runs now (see ktap.rs).
fn mark_case(serial: usize, name: &str) {
    let _ = std::fs::write(
        "/dev/kmsg",
        format!("cardless-tests: case {serial} {name}\n"),
    );
    for index in 0..8 {
        if std::path::Path::new(&format!("/dev/cardless{index}")).exists() {
            if let Ok(c) = card::Card::open(index) {
                let _ = c.reg_write(
                    cardless_abi::regs::SCRATCH,
                    0xca5e_0000 | (serial as u32 & 0xffff),
                );
            }
        }
    }
}

fn main() {
    let matches = Cli::command().after_help(help_text()).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let suites: &[Suite] = if cli.harness_selftest {
        &[HARNESS_SELFTEST]
    } else if cli.filter.iter().any(|f| f.starts_with("zoo")) {
        SEPARATE
    } else {
        SUITES
    };
    let chosen = match ktap::select(suites, &cli.filter) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cardless-tests: {e}");
            std::process::exit(2);
        }
    };
    if cli.list {
        for (suite, cases) in &chosen {
            for case in cases {
                println!("{}.{}", suite.name, case.name);
            }
        }
        return;
    }
    let options = ktap::Options {
        fail_fast: cli.fail_fast || std::path::Path::new("/etc/cardless-failfast").exists(),
        on_case_start: Some(mark_case),
    };
    let ok = ktap::run(&chosen, &options);
    std::process::exit(if ok { 0 } else { 1 });
}
