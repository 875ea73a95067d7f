//! The card enumerates with the spec's identity and the driver binds to it (SPEC §1).

use crate::ktap::{CaseResult, Suite};
use crate::{cases, check, check_eq, pci};
use cardless_abi::regs;

fn card_is_present() -> CaseResult {
    check!(
        !pci::cards().is_empty(),
        "no PCI function {:04x}:{:04x} in /sys/bus/pci/devices",
        regs::PCI_VENDOR_ID,
        regs::PCI_DEVICE_ID
    );
    Ok(())
}

fn class_matches_spec() -> CaseResult {
    for card in pci::cards() {
        check_eq!(
            card.read_hex("class"),
            Some(regs::PCI_CLASS_CODE),
            format!("class of {}", card.sysfs.display())
        );
        check_eq!(
            card.read_hex("subsystem_vendor"),
            Some(regs::PCI_SUBSYSTEM_VENDOR_ID as u32),
            "subsystem vendor"
        );
    }
    Ok(())
}

fn driver_is_bound() -> CaseResult {
    for card in pci::cards() {
        let driver = card.driver();
        check_eq!(
            driver.as_deref(),
            Some("cardless"),
            format!("driver of {}", card.sysfs.display())
        );
    }
    Ok(())
}

pub const SUITE: Suite = Suite {
    name: "enumeration",
    about: "the card enumerates with the spec's identity and the driver binds",
    cases: cases![card_is_present, class_matches_spec, driver_is_bound],
};
