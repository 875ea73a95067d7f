//! The card's PCI configuration space (vfio region 7): identity from
//! `cardless_abi::regs`, BARs with real sizing semantics, a PCI Express
//! endpoint capability, MSI-X and MSI capabilities, INTx pin A (SPEC §1-§3).
//!
//! The space is 4 KiB (PCIe extended config) because QEMU treats a 256-byte
//! config region as conventional PCI and hides the Express capability. The
//! extended list at 0x100 is empty (header 0). Writes only change the bits
//! a real device implements; the rest keep their value, like QEMU's own
//! `wmask` model. QEMU emulates the BARs and the MSI-X capability on top of
//! this; the semantics here are for other clients and for tests.

use cardless_abi::regs;

/// Size of the config region: PCIe extended configuration space.
pub const CONFIG_SPACE_SIZE: usize = 4096;
/// Offset of the PCI Express capability.
pub const PCIE_CAP_OFFSET: usize = 0x40;
/// Length of a version-2 PCI Express capability.
pub const PCIE_CAP_SIZE: usize = 0x3c;
/// Offset of the MSI-X capability.
pub const MSIX_CAP_OFFSET: usize = 0x80;
/// Offset of the MSI capability (64-bit, one message).
pub const MSI_CAP_OFFSET: usize = 0x90;

// Standard header offsets and values (PCI Local Bus spec, PCIe spec §7).
const VENDOR_ID: usize = 0x00;
const DEVICE_ID: usize = 0x02;
const COMMAND: usize = 0x04;
const STATUS: usize = 0x06;
const REVISION_ID: usize = 0x08;
const CLASS_PROG: usize = 0x09;
const CACHE_LINE_SIZE: usize = 0x0c;
const HEADER_TYPE: usize = 0x0e;
const BAR_BASE: usize = 0x10;
const SUBSYSTEM_VENDOR_ID: usize = 0x2c;
const SUBSYSTEM_ID: usize = 0x2e;
const CAPABILITIES_POINTER: usize = 0x34;
const INTERRUPT_LINE: usize = 0x3c;
const INTERRUPT_PIN: usize = 0x3d;

/// Command bits the card implements: memory space, bus master, parity
/// error response, SERR#, INTx disable. No I/O BARs, so no I/O space bit.
const COMMAND_WRITABLE: u16 = (1 << 1) | (1 << 2) | (1 << 6) | (1 << 8) | (1 << 10);
const STATUS_CAP_LIST: u16 = 1 << 4;
const INTX_PIN_A: u8 = 1;

const BAR_MEM_64: u32 = 0b10 << 1;
const BAR_MEM_PREFETCH: u32 = 1 << 3;

const CAP_ID_PCIE: u8 = 0x10;
const CAP_ID_MSIX: u8 = 0x11;
const CAP_ID_MSI: u8 = 0x05;

/// Sizes of the card's memory BARs, as the region table reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarSizes {
    pub bar0: u64,
    pub bar2: u64,
    pub bar4: u64,
}

/// Config space bytes plus, per byte, which bits a write may change.
pub struct ConfigSpace {
    bytes: Box<[u8; CONFIG_SPACE_SIZE]>,
    writable: Box<[u8; CONFIG_SPACE_SIZE]>,
    reset_image: Box<[u8; CONFIG_SPACE_SIZE]>,
}

impl ConfigSpace {
    /// Builds the space. Each BAR size must be a power of two (checked by
    /// the region table before this is called).
    pub fn new(bars: BarSizes) -> ConfigSpace {
        Self::with_msix(bars, true)
    }

    /// The space with or without the MSI-X capability (`--no-msix`; a BAR
    /// of size 0 is absent).
    pub fn with_msix(bars: BarSizes, msix: bool) -> ConfigSpace {
        let mut space = ConfigSpace {
            bytes: Box::new([0; CONFIG_SPACE_SIZE]),
            writable: Box::new([0; CONFIG_SPACE_SIZE]),
            reset_image: Box::new([0; CONFIG_SPACE_SIZE]),
        };
        space.build_header(bars);
        let after_pcie = if msix {
            space.build_msix_capability();
            MSIX_CAP_OFFSET
        } else {
            MSI_CAP_OFFSET
        };
        space.build_pcie_capability(after_pcie as u8);
        space.build_msi_capability();
        *space.reset_image = *space.bytes;
        space
    }

    fn build_header(&mut self, bars: BarSizes) {
        self.set16(VENDOR_ID, regs::PCI_VENDOR_ID, 0);
        self.set16(DEVICE_ID, regs::PCI_DEVICE_ID, 0);
        self.set16(COMMAND, 0, COMMAND_WRITABLE);
        self.set16(STATUS, STATUS_CAP_LIST, 0);
        self.set8(REVISION_ID, regs::PCI_REVISION_ID, 0);
        let class = regs::PCI_CLASS_CODE.to_le_bytes();
        self.bytes[CLASS_PROG..CLASS_PROG + 3].copy_from_slice(&class[..3]);
        self.set8(CACHE_LINE_SIZE, 0, 0xff);
        self.set8(HEADER_TYPE, 0, 0);
        self.memory_bar32(regs::BAR_REGS, bars.bar0);
        self.memory_bar64_prefetchable(regs::BAR_MEM, bars.bar2);
        self.memory_bar32(regs::BAR_MSIX, bars.bar4);
        self.set16(SUBSYSTEM_VENDOR_ID, regs::PCI_SUBSYSTEM_VENDOR_ID, 0);
        self.set16(SUBSYSTEM_ID, regs::PCI_SUBSYSTEM_ID, 0);
        self.set8(CAPABILITIES_POINTER, PCIE_CAP_OFFSET as u8, 0);
        self.set8(INTERRUPT_LINE, 0, 0xff);
        self.set8(INTERRUPT_PIN, INTX_PIN_A, 0);
    }

    /// A 32-bit non-prefetchable memory BAR: the address bits above the
    /// size are writable, so writing all-ones reads back the size mask.
    fn memory_bar32(&mut self, bar: u8, size: u64) {
        if size == 0 {
            return; // no such BAR: reads 0, ignores writes
        }
        let at = BAR_BASE + 4 * bar as usize;
        let mask = !(size.saturating_sub(1) as u32) & !0xf;
        self.set32(at, 0, mask);
    }

    fn memory_bar64_prefetchable(&mut self, bar: u8, size: u64) {
        let at = BAR_BASE + 4 * bar as usize;
        let mask = !size.saturating_sub(1) & !0xf;
        self.set32(at, BAR_MEM_64 | BAR_MEM_PREFETCH, mask as u32);
        self.set32(at + 4, 0, (mask >> 32) as u32);
    }

    /// Version-2 PCI Express capability of an endpoint on a x1 2.5 GT/s link.
    fn build_pcie_capability(&mut self, next: u8) {
        let cap = PCIE_CAP_OFFSET;
        self.set8(cap, CAP_ID_PCIE, 0);
        self.set8(cap + 1, next, 0);
        // Capability version 2, device/port type 0 = PCI Express endpoint.
        self.set16(cap + 0x02, 0x0002, 0);
        // Device capabilities: max payload 256 bytes, role-based error reporting.
        self.set32(cap + 0x04, 0x0000_8001, 0);
        // Device control: relaxed ordering, no snoop, max read request 512.
        self.set16(cap + 0x08, 0x2810, 0x7fff);
        // Link capabilities: 2.5 GT/s, x1. Link status: the same, trained.
        self.set32(cap + 0x0c, 0x0000_0011, 0);
        self.set16(cap + 0x10, 0, 0x0fff);
        self.set16(cap + 0x12, 0x0011, 0);
        // Device control 2: completion timeout value and disable.
        self.set16(cap + 0x28, 0, 0x001f);
        // Link capabilities 2: 2.5 GT/s supported. Link control 2: target 2.5 GT/s.
        self.set32(cap + 0x2c, 0x0000_0002, 0);
        self.set16(cap + 0x30, 0x0001, 0x000f);
    }

    /// MSI-X capability: `MSIX_VECTORS` entries, table and PBA in BAR4.
    fn build_msix_capability(&mut self) {
        let cap = MSIX_CAP_OFFSET;
        self.set8(cap, CAP_ID_MSIX, 0);
        self.set8(cap + 1, MSI_CAP_OFFSET as u8, 0);
        // Message control: table size N-1 (RO); function mask and enable (RW).
        self.set16(cap + 0x02, regs::MSIX_VECTORS - 1, 0xc000);
        self.set32(
            cap + 0x04,
            regs::MSIX_TABLE_OFFSET | regs::BAR_MSIX as u32,
            0,
        );
        self.set32(cap + 0x08, regs::MSIX_PBA_OFFSET | regs::BAR_MSIX as u32, 0);
    }

    /// MSI capability: 64-bit address, one message (SPEC §2), no
    /// per-vector masking.
    fn build_msi_capability(&mut self) {
        let cap = MSI_CAP_OFFSET;
        self.set8(cap, CAP_ID_MSI, 0);
        self.set8(cap + 1, 0, 0);
        // Message control: 64-bit capable (RO), one message requested (RO);
        // enable and multiple-message-enable (RW).
        self.set16(cap + 0x02, 1 << 7, 0x0071);
        self.set32(cap + 0x04, 0, 0xffff_fffc);
        self.set32(cap + 0x08, 0, 0xffff_ffff);
        self.set16(cap + 0x0c, 0, 0xffff);
    }

    fn set8(&mut self, at: usize, value: u8, writable: u8) {
        self.bytes[at] = value;
        self.writable[at] = writable;
    }

    fn set16(&mut self, at: usize, value: u16, writable: u16) {
        self.bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
        self.writable[at..at + 2].copy_from_slice(&writable.to_le_bytes());
    }

    fn set32(&mut self, at: usize, value: u32, writable: u32) {
        self.bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
        self.writable[at..at + 4].copy_from_slice(&writable.to_le_bytes());
    }

    /// Copies `out.len()` bytes from `offset`. Returns false (and leaves
    /// `out` alone) if the range is not inside the space.
    pub fn read(&self, offset: u64, out: &mut [u8]) -> bool {
        match range(offset, out.len()) {
            Some(range) => {
                out.copy_from_slice(&self.bytes[range]);
                true
            }
            None => false,
        }
    }

    /// Applies a write: only writable bits change. Returns false if the
    /// range is not inside the space.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> bool {
        let Some(range) = range(offset, data.len()) else {
            return false;
        };
        for (at, &value) in range.zip(data) {
            let mask = self.writable[at];
            self.bytes[at] = (self.bytes[at] & !mask) | (value & mask);
        }
        true
    }

    /// Back to the power-on state (function-level reset).
    pub fn reset(&mut self) {
        *self.bytes = *self.reset_image;
    }

    /// Little-endian u16 at `at`, for logs and tests.
    pub fn read16(&self, at: usize) -> u16 {
        let mut out = [0u8; 2];
        self.read(at as u64, &mut out);
        u16::from_le_bytes(out)
    }
}

fn range(offset: u64, len: usize) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(len)?;
    (end <= CONFIG_SPACE_SIZE).then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> ConfigSpace {
        ConfigSpace::new(BarSizes {
            bar0: regs::BAR0_SIZE,
            bar2: 1 << 20,
            bar4: regs::BAR4_SIZE,
        })
    }

    fn read32(space: &ConfigSpace, at: u64) -> u32 {
        let mut out = [0u8; 4];
        assert!(space.read(at, &mut out));
        u32::from_le_bytes(out)
    }

    #[test]
    fn bars_report_their_size_when_written_all_ones() {
        let mut space = space();
        for at in (0x10..0x28).step_by(4) {
            space.write(at, &u32::MAX.to_le_bytes());
        }
        assert_eq!(read32(&space, 0x10), 0xffff_f000);
        assert_eq!(read32(&space, 0x14), 0);
        assert_eq!(read32(&space, 0x18), 0xfff0_000c);
        assert_eq!(read32(&space, 0x1c), 0xffff_ffff);
        assert_eq!(read32(&space, 0x20), 0xffff_f000);
        assert_eq!(read32(&space, 0x24), 0);
    }

    #[test]
    fn read_only_fields_keep_their_value() {
        let mut space = space();
        space.write(0, &[0xff; 64]);
        assert_eq!(space.read16(VENDOR_ID), regs::PCI_VENDOR_ID);
        assert_eq!(space.read16(DEVICE_ID), regs::PCI_DEVICE_ID);
        assert_eq!(space.read16(COMMAND), COMMAND_WRITABLE);
        assert_eq!(space.read16(STATUS), STATUS_CAP_LIST);
        space.reset();
        assert_eq!(space.read16(COMMAND), 0);
    }

    /// Walks the capability list: (id, offset) in order.
    fn capabilities(space: &ConfigSpace) -> Vec<(u8, usize)> {
        let mut caps = Vec::new();
        let mut at = space.bytes[CAPABILITIES_POINTER] as usize;
        while at != 0 && caps.len() < 16 {
            caps.push((space.bytes[at], at));
            at = space.bytes[at + 1] as usize;
        }
        caps
    }

    #[test]
    fn without_msix_the_list_skips_it_and_bar4_is_absent() {
        assert_eq!(
            capabilities(&space()),
            [
                (CAP_ID_PCIE, PCIE_CAP_OFFSET),
                (CAP_ID_MSIX, MSIX_CAP_OFFSET),
                (CAP_ID_MSI, MSI_CAP_OFFSET)
            ]
        );
        let mut plain = ConfigSpace::with_msix(
            BarSizes {
                bar0: regs::BAR0_SIZE,
                bar2: 1 << 20,
                bar4: 0,
            },
            false,
        );
        assert_eq!(
            capabilities(&plain),
            [(CAP_ID_PCIE, PCIE_CAP_OFFSET), (CAP_ID_MSI, MSI_CAP_OFFSET)]
        );
        plain.write(0x20, &u32::MAX.to_le_bytes());
        assert_eq!(read32(&plain, 0x20), 0, "BAR4 sizes as absent");
    }

    #[test]
    fn out_of_range_accesses_are_refused() {
        let mut space = space();
        let mut out = [0u8; 4];
        assert!(!space.read(4094, &mut out));
        assert!(!space.read(u64::MAX, &mut out));
        assert!(!space.write(4093, &[0; 4]));
        assert!(space.read(4092, &mut out));
    }
}
