//! PCI identity and BAR0 register map of the cardless streaming card.
//! The document is `device/SPEC.md`; this file is its code form.

/// PCI vendor ID (QEMU's historic "experimental" vendor, as used by `edu`).
pub const PCI_VENDOR_ID: u16 = 0x1234;
/// PCI device ID of the streaming card.
pub const PCI_DEVICE_ID: u16 = 0xca7d;
