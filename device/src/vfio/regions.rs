//! The region table: which vfio region index is what, its size and flags,
//! the sparse-mmap capability of BAR2, and the bounds check every
//! REGION_READ/REGION_WRITE passes before it reaches the card.

use cardless_abi::regs;
use vfio_bindings::bindings::vfio::{
    VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_BAR2_REGION_INDEX, VFIO_PCI_BAR4_REGION_INDEX,
    VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_NUM_REGIONS, VFIO_REGION_INFO_CAP_SPARSE_MMAP,
    VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE,
};

use super::bodies::SparseMmapCap;
use super::config_space::{BarSizes, CONFIG_SPACE_SIZE};
use super::error::ProtocolError;

/// Number of regions a vfio PCI device reports (BAR0-5, ROM, config, VGA).
pub const NUM_REGIONS: u32 = VFIO_PCI_NUM_REGIONS;

/// What a region index stands for on this card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    /// BAR0: trapped registers, handled by the card model.
    Registers,
    /// BAR2: on-board memory, the card's memfd; mmappable, also trapped.
    Memory,
    /// BAR4: the MSI-X table and PBA (QEMU emulates the table itself).
    Msix,
    /// PCI configuration space.
    Config,
}

/// DEVICE_GET_REGION_INFO fields of one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionInfo {
    pub flags: u32,
    pub size: u64,
    /// The one mmappable area (offset, size), announced as a sparse-mmap
    /// capability: QEMU mmaps a region only when it sees one.
    pub mmap_area: Option<(u64, u64)>,
}

/// Refusal to build the table from the card's BAR2 size.
#[derive(Debug, thiserror::Error)]
#[error("BAR2 size {0:#x} must be a power of two of at least 4 KiB")]
pub struct BadBar2Size(pub u64);

#[derive(Debug, Clone, Copy)]
pub struct RegionTable {
    bars: BarSizes,
}

impl RegionTable {
    pub fn new(bar2_size: u64) -> Result<RegionTable, BadBar2Size> {
        // The BAR sizing protocol only works for powers of two, and QEMU
        // maps whole pages.
        if !bar2_size.is_power_of_two() || bar2_size < 4096 {
            return Err(BadBar2Size(bar2_size));
        }
        Ok(RegionTable {
            bars: BarSizes {
                bar0: regs::BAR0_SIZE,
                bar2: bar2_size,
                bar4: regs::BAR4_SIZE,
            },
        })
    }

    /// The same table without BAR4 (a card without MSI-X): size 0, so
    /// QEMU sees no BAR and accesses are refused.
    pub fn without_msix(mut self) -> RegionTable {
        self.bars.bar4 = 0;
        self
    }

    pub fn bar_sizes(&self) -> BarSizes {
        self.bars
    }

    pub fn kind(&self, index: u32) -> Option<RegionKind> {
        match index {
            VFIO_PCI_BAR0_REGION_INDEX => Some(RegionKind::Registers),
            VFIO_PCI_BAR2_REGION_INDEX => Some(RegionKind::Memory),
            VFIO_PCI_BAR4_REGION_INDEX => Some(RegionKind::Msix),
            VFIO_PCI_CONFIG_REGION_INDEX => Some(RegionKind::Config),
            _ => None,
        }
    }

    /// Info of any index below [`NUM_REGIONS`]; the ones the card does not
    /// implement (BAR1, BAR3 = upper half of BAR2, BAR5, ROM, VGA) have size 0.
    pub fn info(&self, index: u32) -> Result<RegionInfo, ProtocolError> {
        if index >= NUM_REGIONS {
            return Err(ProtocolError::NoSuchRegion(index));
        }
        let read_write = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
        Ok(match self.kind(index) {
            Some(RegionKind::Registers) => RegionInfo {
                flags: read_write,
                size: self.bars.bar0,
                mmap_area: None,
            },
            Some(RegionKind::Memory) => RegionInfo {
                flags: read_write | VFIO_REGION_INFO_FLAG_MMAP,
                size: self.bars.bar2,
                mmap_area: Some((0, self.bars.bar2)),
            },
            Some(RegionKind::Msix) => RegionInfo {
                flags: read_write,
                size: self.bars.bar4,
                mmap_area: None,
            },
            Some(RegionKind::Config) => RegionInfo {
                flags: read_write,
                size: CONFIG_SPACE_SIZE as u64,
                mmap_area: None,
            },
            None => RegionInfo {
                flags: 0,
                size: 0,
                mmap_area: None,
            },
        })
    }

    /// Checks a REGION_READ/REGION_WRITE before any byte moves: the region
    /// exists, and `offset..offset+count` lies inside it.
    pub fn check_access(
        &self,
        region: u32,
        offset: u64,
        count: u32,
    ) -> Result<RegionKind, ProtocolError> {
        let info = self.info(region)?;
        let kind = self
            .kind(region)
            .ok_or(ProtocolError::NoSuchRegion(region))?;
        let end = offset.checked_add(u64::from(count));
        if count == 0 || end.is_none_or(|end| end > info.size) {
            return Err(ProtocolError::OutOfRegion {
                region,
                offset,
                count,
                size: info.size,
            });
        }
        Ok(kind)
    }
}

/// A `VFIO_REGION_INFO_CAP_SPARSE_MMAP` capability holding one area, as
/// the last (only) entry of a region's capability chain.
pub fn sparse_mmap_capability(offset: u64, size: u64) -> SparseMmapCap {
    SparseMmapCap {
        id: (VFIO_REGION_INFO_CAP_SPARSE_MMAP as u16).into(),
        version: 1.into(),
        next: 0.into(),
        nr_areas: 1.into(),
        reserved: 0.into(),
        offset: offset.into(),
        size: size.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar2_must_be_a_power_of_two() {
        assert!(RegionTable::new(3 << 20).is_err());
        assert!(RegionTable::new(1024).is_err());
        assert!(RegionTable::new(1 << 20).is_ok());
    }

    #[test]
    fn accesses_are_bounds_checked() {
        let table = RegionTable::new(1 << 20).unwrap();
        assert_eq!(
            table
                .check_access(VFIO_PCI_BAR0_REGION_INDEX, 0xffc, 4)
                .ok(),
            Some(RegionKind::Registers)
        );
        assert!(table
            .check_access(VFIO_PCI_BAR0_REGION_INDEX, 0xffd, 4)
            .is_err());
        assert!(table
            .check_access(VFIO_PCI_BAR0_REGION_INDEX, u64::MAX, 4)
            .is_err());
        assert!(table
            .check_access(VFIO_PCI_BAR0_REGION_INDEX, 0, 0)
            .is_err());
        assert!(table.check_access(1, 0, 4).is_err());
        assert!(table.check_access(9, 0, 4).is_err());
        assert!(table.check_access(u32::MAX, 0, 4).is_err());
    }
}
