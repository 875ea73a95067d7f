//! `cardless-tests [SUITE...]`: the driver's test suite, run inside the guest.
//! Prints KTAP on stdout; exits 1 when a case failed.
//! `--harness-selftest` runs a suite that must fail, so the host harness can
//! prove it notices failures.

use cardless_guest_tests::{card, cases, check, check_eq, cmdline, kmsg, ktap, pci, stream_reader};
mod suite_card_death;
mod suite_dma;
mod suite_driver_core;
mod suite_enumeration;
mod suite_hostile;
mod suite_kernel_health;
mod suite_zoo;

use ktap::{Case, CaseResult, Suite};

fn deliberate_failure() -> CaseResult {
    Err("this case fails on purpose: the harness must report it".into())
}

const HARNESS_SELFTEST: Suite = Suite {
    name: "harness_selftest",
    cases: &[Case {
        name: "deliberate_failure",
        run: deliberate_failure,
    }],
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ok = if args.iter().any(|a| a == "--harness-selftest") {
        ktap::run(&[HARNESS_SELFTEST], &[])
    } else if args.iter().any(|a| a.starts_with("zoo")) {
        // Needs the zoo build of the module (make zoo-test): never in the default run.
        ktap::run(&[suite_zoo::SUITE], &args)
    } else {
        ktap::run(
            &[
                suite_enumeration::SUITE,
                suite_driver_core::SUITE,
                suite_dma::SUITE,
                suite_hostile::SUITE,
                suite_kernel_health::SUITE,
                // Last: the cards do not come back (the host's half is in qemu-test.sh).
                suite_card_death::SUITE,
            ],
            &args,
        )
    };
    std::process::exit(if ok { 0 } else { 1 });
}
