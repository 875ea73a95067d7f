//! Known kernel-internal reports that do not fail a run: a short, named
//! allow-list. Each entry matches one exact report shape (the locks, the
//! function, and no `cardless` frame anywhere in it), so a report that
//! involves the driver, or any other lock, still fails.

use crate::splat::Splat;

/// One report the kernel makes on its own, and why it is not counted.
pub struct Known {
    pub name: &'static str,
    pub why: &'static str,
    matches: fn(&[String]) -> bool,
}

pub const KNOWN: &[Known] = &[Known {
    name: "pciehp-unconfigure-lockdep",
    why: "7.2.13's pciehp takes &ctrl->reset_lock under pci_rescan_remove_lock in \
          pciehp_unconfigure_device when a slot is powered off (QMP device_del); \
          lockdep reports the inversion with no driver frame: a kernel-internal report",
    matches: pciehp_unconfigure_lockdep,
}];

/// The allow-list entry `splat` is, if any.
pub fn classify(splat: &Splat) -> Option<&'static Known> {
    KNOWN.iter().find(|known| (known.matches)(&splat.report))
}

/// The lock named on a lockdep line like
/// `ffff8880059f72d8 (&ctrl->reset_lock){.+.+}-{4:4}, at: ...` or
/// `-> #1 (pci_rescan_remove_lock){+.+.}-{4:4}:`.
fn lock_name(line: &str) -> Option<&str> {
    let start = line.find(" (")? + 2;
    let len = line[start..].find("){")?;
    Some(&line[start..start + len])
}

fn pciehp_unconfigure_lockdep(report: &[String]) -> bool {
    const LOCKS: [&str; 2] = ["pci_rescan_remove_lock", "&ctrl->reset_lock"];
    let Some(first) = report.first() else {
        return false;
    };
    if !first.contains("possible circular locking dependency") {
        return false;
    }
    if report
        .iter()
        .any(|line| line.to_ascii_lowercase().contains("cardless"))
    {
        return false;
    }
    // The lock wanted, the lock held, and each link of the chain: all of
    // them one of the two, and both present.
    let mut named = Vec::new();
    for (i, line) in report.iter().enumerate() {
        let next = report.get(i + 1).map(String::as_str).unwrap_or("");
        if line.contains("is trying to acquire lock:") || line.contains("is already holding lock:")
        {
            named.push(lock_name(next));
        }
        if line.trim_start().starts_with("-> #") {
            named.push(lock_name(line));
        }
    }
    let all_known = named
        .iter()
        .all(|lock| lock.is_some_and(|l| LOCKS.contains(&l)));
    let both = LOCKS.iter().all(|want| named.contains(&Some(*want)));
    let in_pciehp = report
        .iter()
        .any(|line| line.contains("pciehp_unconfigure_device+"));
    named.len() >= 4 && all_known && both && in_pciehp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::splat::find;

    /// The report as 7.2.13 printed it after a device_del (build/card-death).
    const PCIEHP: &str = include_str!("../testdata/pciehp-lockdep.txt");

    #[test]
    fn the_pciehp_report_is_one_known_report() {
        let splats = find(PCIEHP);
        assert_eq!(
            splats.len(),
            1,
            "one report, its Call Trace included: {splats:?}"
        );
        assert_eq!(splats[0].kind, "lockdep");
        let known = classify(&splats[0]).expect("recognised");
        assert_eq!(known.name, "pciehp-unconfigure-lockdep");
    }

    #[test]
    fn a_cardless_frame_makes_it_count() {
        // A driver frame in the stack backtrace, right after the last
        // pciehp_disable_slot (as if the driver's remove took the lock).
        let mut lines: Vec<&str> = PCIEHP.lines().collect();
        let at = lines
            .iter()
            .rposition(|l| l.contains("pciehp_disable_slot+"))
            .unwrap();
        lines.insert(at, "[   54.665300]  cardless_remove+0x10/0x20 [cardless]");
        let with_driver = lines.join("\n");
        assert_ne!(with_driver, PCIEHP, "the frame was inserted");
        let splats = find(&with_driver);
        assert_eq!(splats.len(), 1);
        assert!(classify(&splats[0]).is_none());
    }

    #[test]
    fn another_lock_makes_it_count() {
        let other = PCIEHP.replace(
            "(&ctrl->reset_lock){.+.+}-{4:4}, at:",
            "(&card->lock){.+.+}-{4:4}, at:",
        );
        assert_ne!(other, PCIEHP);
        assert!(classify(&find(&other)[0]).is_none());
        let chain = PCIEHP.replace("-> #1 (pci_rescan_remove_lock)", "-> #1 (&dev->mutex)");
        assert_ne!(chain, PCIEHP);
        assert!(classify(&find(&chain)[0]).is_none());
    }

    #[test]
    fn without_pciehp_unconfigure_device_it_counts() {
        let elsewhere = PCIEHP.replace(
            "pciehp_unconfigure_device+",
            "pci_stop_and_remove_bus_device+",
        );
        assert!(classify(&find(&elsewhere)[0]).is_none());
    }

    #[test]
    fn other_lockdep_reports_and_warnings_count() {
        let recursive = PCIEHP.replace(
            "possible circular locking dependency detected",
            "possible recursive locking detected",
        );
        assert!(classify(&find(&recursive)[0]).is_none());
        let warning = "[ 1.0] WARNING: CPU: 0 PID: 1 at drivers/pci/hotplug/pciehp_pci.c:1 pciehp_unconfigure_device+0x1\n[ 1.0] ---[ end trace 0 ]---\n";
        assert!(classify(&find(warning)[0]).is_none());
    }
}
