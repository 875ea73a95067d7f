//! Every message body the server reads or writes, as a declared layout
//! (libvfio-user's `docs/vfio-user.rst`, which reuses the kernel's vfio
//! structures): `#[repr(C)]`, little-endian fields, no padding (zerocopy's
//! derives refuse a layout with any). A body is read with
//! [`read_body`](super::wire::read_body), which checks its length first,
//! and written with `as_bytes()`. What follows a layout (region data,
//! SET_IRQS bools, the VERSION capabilities string) is the body's rest.

use vfio_bindings::bindings::vfio::{
    vfio_irq_info, vfio_irq_set, vfio_region_info, vfio_region_info_cap_sparse_mmap,
    vfio_region_sparse_mmap_area,
};
use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// VERSION, both ways: then an optional NUL-terminated JSON object.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Version {
    pub major: U16,
    pub minor: U16,
}

/// DEVICE_GET_INFO, both ways (`struct vfio_device_info` up to `num_irqs`:
/// vfio-user has no device capabilities).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct DeviceInfo {
    pub argsz: U32,
    pub flags: U32,
    pub num_regions: U32,
    pub num_irqs: U32,
}

/// DEVICE_GET_REGION_INFO, both ways (`struct vfio_region_info`); a
/// reply's capability chain follows it, `cap_offset` bytes from its start.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct RegionInfo {
    pub argsz: U32,
    pub flags: U32,
    pub index: U32,
    pub cap_offset: U32,
    pub size: U64,
    /// Offset of the region in the fd that comes with the reply.
    pub offset: U64,
}

/// `VFIO_REGION_INFO_CAP_SPARSE_MMAP` with its one area
/// (`struct vfio_region_info_cap_sparse_mmap` + one
/// `struct vfio_region_sparse_mmap_area`).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct SparseMmapCap {
    pub id: U16,
    pub version: U16,
    /// Offset of the next capability; 0 ends the chain.
    pub next: U32,
    pub nr_areas: U32,
    pub reserved: U32,
    pub offset: U64,
    pub size: U64,
}

/// DEVICE_GET_IRQ_INFO, both ways (`struct vfio_irq_info`).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct IrqInfo {
    pub argsz: U32,
    pub flags: U32,
    pub index: U32,
    pub count: U32,
}

/// DEVICE_SET_IRQS (`struct vfio_irq_set`); `count` bools follow for
/// DATA_BOOL (eventfds travel as fds).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct IrqSet {
    pub argsz: U32,
    pub flags: U32,
    pub index: U32,
    pub start: U32,
    pub count: U32,
}

/// REGION_READ and REGION_WRITE, both ways: the access, then its `count`
/// data bytes (a read's reply, a write's request).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct RegionAccess {
    pub offset: U64,
    pub region: U32,
    pub count: U32,
}

/// DMA_MAP (`struct vfio_user_dma_map`).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct DmaMap {
    pub argsz: U32,
    pub flags: U32,
    /// Offset of the mapping in the fd that comes with the message.
    pub offset: U64,
    pub address: U64,
    pub size: U64,
}

/// DMA_UNMAP, both ways (`struct vfio_user_dma_unmap` without a dirty
/// bitmap, which this server does not support).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct DmaUnmap {
    pub argsz: U32,
    pub flags: U32,
    pub address: U64,
    pub size: U64,
}

// The kernel's structures these mirror, as vfio-bindings declares them.
const _: () = {
    assert!(size_of::<RegionInfo>() == size_of::<vfio_region_info>());
    assert!(size_of::<IrqInfo>() == size_of::<vfio_irq_info>());
    assert!(size_of::<IrqSet>() == size_of::<vfio_irq_set>());
    assert!(
        size_of::<SparseMmapCap>()
            == size_of::<vfio_region_info_cap_sparse_mmap>()
                + size_of::<vfio_region_sparse_mmap_area>()
    );
    assert!(size_of::<DeviceInfo>() == 16);
    assert!(size_of::<RegionAccess>() == 16);
    assert!(size_of::<DmaMap>() == 32);
    assert!(size_of::<DmaUnmap>() == 24);
};
