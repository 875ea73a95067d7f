//! Last of every run: kmemleak finds nothing the run leaked, card death and
//! the module's unload and reload included.

use crate::ktap::{skip, CaseResult, Suite};
use crate::{cases, check};
use std::time::{Duration, Instant};

/// kmemleak reports an unreferenced object only if it was allocated at least
/// MSECS_MIN_AGE (5 s, mm/kmemleak.c) before the scan started, plus a margin
/// for the guest's clock against jiffies.
const REPORTABLE_AGE: Duration = Duration::from_millis(5000 + 250);

fn kmemleak_finds_nothing() -> CaseResult {
    let ctl = "/sys/kernel/debug/kmemleak";
    if !std::path::Path::new(ctl).exists() {
        return skip("debug-kernel", "kernel without kmemleak (KERNEL=fast)");
    }
    // Everything the run leaked is allocated by now.
    let tests_ended = Instant::now();
    let scan = || std::fs::write(ctl, "scan").map_err(|e| format!("kmemleak scan: {e}"));
    // Two scans: the first records each object's checksum, and one that
    // changed since the last scan is not reported. The second starts only
    // once the last test's objects are old enough to be reported: else a
    // leak of the run's last second would go unseen.
    let first = Instant::now();
    scan()?;
    let first = first.elapsed();
    if let Some(rest) = REPORTABLE_AGE.checked_sub(tests_ended.elapsed()) {
        std::thread::sleep(rest);
    }
    let second = Instant::now();
    scan()?;
    println!(
        "    # kmemleak scans took {:.2} s and {:.2} s",
        first.as_secs_f64(),
        second.elapsed().as_secs_f64()
    );
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
