//! Finding the cards in sysfs.

use std::path::PathBuf;

/// One card as sysfs shows it.
pub struct PciCard {
    pub sysfs: PathBuf,
}

fn read_hex(path: PathBuf) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    u32::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()
}

/// Whether card 0's DMA goes through an IOMMU (it has an IOMMU group).
pub fn card0_behind_iommu() -> bool {
    cards()
        .first()
        .is_some_and(|c| c.sysfs.join("iommu_group").exists())
}

/// Every PCI function with the card's vendor and device IDs, in bus order.
pub fn cards() -> Vec<PciCard> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/sys/bus/pci/devices") else {
        return found;
    };
    for entry in dir.flatten() {
        let p = entry.path();
        let vendor = read_hex(p.join("vendor"));
        let device = read_hex(p.join("device"));
        if vendor == Some(cardless_abi::regs::PCI_VENDOR_ID as u32)
            && device == Some(cardless_abi::regs::PCI_DEVICE_ID as u32)
        {
            found.push(PciCard { sysfs: p });
        }
    }
    found.sort_by(|a, b| a.sysfs.cmp(&b.sysfs));
    found
}

impl PciCard {
    /// The name of the driver bound to this function, if any.
    pub fn driver(&self) -> Option<String> {
        let link = std::fs::read_link(self.sysfs.join("driver")).ok()?;
        Some(link.file_name()?.to_string_lossy().into_owned())
    }

    pub fn read_hex(&self, attr: &str) -> Option<u32> {
        read_hex(self.sysfs.join(attr))
    }
}
