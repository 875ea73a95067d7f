//! Last of every run: kmemleak finds nothing the run leaked, card death and
//! the module's unload and reload included.

use crate::ktap::{skip, CaseResult, Suite};
use crate::{cases, check};

fn kmemleak_finds_nothing() -> CaseResult {
    let ctl = "/sys/kernel/debug/kmemleak";
    if !std::path::Path::new(ctl).exists() {
        return skip("debug-kernel", "kernel without kmemleak (KERNEL=fast)");
    }
    // Two scans: an object must look unreferenced in both to be reported.
    for _ in 0..2 {
        std::fs::write(ctl, "scan").map_err(|e| format!("kmemleak scan: {e}"))?;
    }
    let report = std::fs::read_to_string(ctl).map_err(|e| format!("read {ctl}: {e}"))?;
    check!(
        report.trim().is_empty(),
        "kmemleak reports leaks:\n{}",
        report.lines().take(40).collect::<Vec<_>>().join("\n")
    );
    Ok(())
}

pub const SUITE: Suite = Suite {
    name: "leaks",
    about: "kmemleak after everything else, card death included",
    cases: cases![kmemleak_finds_nothing],
};
