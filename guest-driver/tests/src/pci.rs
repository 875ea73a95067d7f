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

/// `CardInfo::pci_location` (`domain << 16 | bus << 8 | devfn`) as sysfs
/// spells a function's address: `0000:02:00.0`.
pub fn address_of(location: u32) -> String {
    format!(
        "{:04x}:{:02x}:{:02x}.{:x}",
        location >> 16,
        (location >> 8) & 0xff,
        (location >> 3) & 0x1f,
        location & 7
    )
}

/// The PCIe hotplug slot (pciehp's) a function sits in.
pub struct HotplugSlot {
    /// `/sys/bus/pci/slots/NAME`: its `power` file powers the slot off.
    dir: PathBuf,
    /// The downstream port above the slot: its Slot Control register shows
    /// the indicators pciehp drives.
    port: PathBuf,
}

/// Offset of the PCI Express capability in a function's config space.
fn pcie_capability(config: &[u8]) -> Option<usize> {
    const PCI_CAP_ID_EXP: u8 = 0x10;
    let mut at = usize::from(*config.get(0x34)? & 0xfc);
    // A capability list is at most 48 entries long: a loop ends here.
    for _ in 0..48 {
        if at == 0 {
            return None;
        }
        if *config.get(at)? == PCI_CAP_ID_EXP {
            return Some(at);
        }
        at = usize::from(*config.get(at + 1)? & 0xfc);
    }
    None
}

impl HotplugSlot {
    /// The slot of the function at `address` (`0000:02:00.0`).
    pub fn of(address: &str) -> Result<HotplugSlot, String> {
        let device = std::fs::canonicalize(format!("/sys/bus/pci/devices/{address}"))
            .map_err(|e| format!("{address} in sysfs: {e}"))?;
        let port = device
            .parent()
            .ok_or_else(|| format!("{address} has no port above it"))?
            .to_path_buf();
        let slot_address = address.rsplit_once('.').map_or(address, |(slot, _)| slot);
        let slots = std::fs::read_dir("/sys/bus/pci/slots")
            .map_err(|e| format!("/sys/bus/pci/slots: {e} (a kernel without PCI hotplug?)"))?;
        for entry in slots.flatten() {
            let shown = std::fs::read_to_string(entry.path().join("address")).unwrap_or_default();
            if shown.trim() == slot_address {
                return Ok(HotplugSlot {
                    dir: entry.path(),
                    port,
                });
            }
        }
        Err(format!(
            "no hotplug slot in /sys/bus/pci/slots has address {slot_address}"
        ))
    }

    /// Whether the slot's power indicator blinks (Slot Control's Power
    /// Indicator Control is 10b): pciehp does that for the five seconds
    /// after an attention-button press (QMP `device_del`) before it powers
    /// the slot off, the window a person has to cancel the removal.
    pub fn power_indicator_blinks(&self) -> Result<bool, String> {
        let path = self.port.join("config");
        let config = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let cap = pcie_capability(&config)
            .ok_or_else(|| format!("{}: no PCI Express capability", path.display()))?;
        const SLOT_CONTROL: usize = 0x18;
        let at = cap + SLOT_CONTROL;
        let control = config
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or_else(|| format!("{}: Slot Control past the end", path.display()))?;
        Ok((control >> 8) & 0b11 == 0b10)
    }

    /// Powers the slot off now, as pciehp does when the button's five
    /// seconds run out: the function's driver is unbound and the function
    /// removed before this returns. `Ok(false)`: pciehp had powered it off
    /// already (its five seconds ran out first: ENODEV).
    pub fn power_off(&self) -> Result<bool, String> {
        let path = self.dir.join("power");
        match std::fs::write(&path, "0") {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(false),
            Err(e) => Err(format!("write 0 to {}: {e}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_spelled_as_sysfs_does() {
        assert_eq!(address_of(2 << 8), "0000:02:00.0");
        assert_eq!(
            address_of(1 << 16 | 0x1f << 8 | 0x1f << 3 | 7),
            "0001:1f:1f.7"
        );
    }

    #[test]
    fn the_express_capability_is_found_along_the_list() {
        let mut config = vec![0u8; 256];
        config[0x34] = 0x40;
        config[0x40] = 0x01; // power management, next at 0x60
        config[0x41] = 0x60;
        config[0x60] = 0x10;
        assert_eq!(pcie_capability(&config), Some(0x60));
        config[0x60] = 0x05; // MSI, end of the list
        assert_eq!(pcie_capability(&config), None);
        config[0x61] = 0x40; // a loop
        assert_eq!(pcie_capability(&config), None);
    }
}
