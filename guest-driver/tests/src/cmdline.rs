//! The run's kernel command line: `/proc/cmdline` after a cold boot; after a
//! restore of a saved guest (qemu-scripts/snapshot.sh), whose command line
//! was fixed when it was saved, the one the host gave this run on its disk.

/// Where a restored guest finds its run's command line.
const RUN_CMDLINE: &str = "/etc/cardless-cmdline";

/// Whether the run turned MSI off for every device (`IRQ=intx`: pci=nomsi),
/// so the cards interrupt through INTx.
pub fn msi_disabled() -> bool {
    words().iter().any(|w| w == "pci=nomsi")
}

pub fn words() -> Vec<String> {
    let text = std::fs::read_to_string(RUN_CMDLINE)
        .or_else(|_| std::fs::read_to_string("/proc/cmdline"))
        .unwrap_or_default();
    text.split_whitespace().map(str::to_string).collect()
}
