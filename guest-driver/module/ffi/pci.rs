// SPDX-License-Identifier: GPL-2.0
//! PCI facts and resources the `kernel` crate does not give: a BAR mapped
//! write-combining in the kernel, a device's location and interrupt mode, a
//! device ID for a vendor it has no constant for, the DMA mask.

use super::c_helpers::{cardless_dma_set_seg_boundary, cardless_pci_domain_nr, raw_dev, raw_pci};
use core::ffi::c_int;
use kernel::ffi::c_ulong;
use kernel::{bindings, device, error::to_result, pci, prelude::*, sync::aref::ARef};

/// A write-combining kernel mapping of a whole BAR (`pci_iomap_wc`), unmapped
/// and released on drop.
pub(crate) struct WcBar {
    pdev: ARef<pci::Device>,
    bar: c_int,
    addr: *mut core::ffi::c_void,
    len: usize,
}

// SAFETY: the mapping is plain MMIO usable from any thread; `pdev` is a counted
// reference, only used to unmap, which any thread may do.
unsafe impl Send for WcBar {}
// SAFETY: all accessors take `&self` and only do MMIO copies.
unsafe impl Sync for WcBar {}

impl WcBar {
    /// Requests BAR `bar` of a bound device and maps it write-combining. (Not
    /// through `iomap_region`: that maps it uncached first, and x86 PAT refuses
    /// a second mapping of the same range with another caching mode.) Keep it
    /// in a `Devres`: it must go before the device is unbound.
    pub(crate) fn new(
        pdev: &pci::Device<device::Bound>,
        bar: u32,
        name: &'static CStr,
    ) -> Result<Self> {
        let len = pdev.resource_len(bar)? as usize;
        if len == 0 {
            return Err(ENODEV);
        }
        let raw = raw_pci(pdev);
        // SAFETY: `raw` is a bound PCI device; the BAR index was checked by `resource_len`.
        to_result(unsafe { bindings::pci_request_region(raw, bar as c_int, name.as_char_ptr()) })?;
        // SAFETY: as above; the region is now ours.
        let addr = unsafe { bindings::pci_iomap_wc(raw, bar as c_int, 0) };
        if addr.is_null() {
            // SAFETY: requested just above.
            unsafe { bindings::pci_release_region(raw, bar as c_int) };
            return Err(ENOMEM);
        }
        let pdev: &pci::Device = pdev;
        Ok(WcBar {
            pdev: pdev.into(),
            bar: bar as c_int,
            addr,
            len,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Copies BAR bytes at `offset` into `out`; EINVAL if out of range.
    pub(crate) fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        let end = offset.checked_add(out.len()).ok_or(EINVAL)?;
        if end > self.len {
            return Err(EINVAL);
        }
        // SAFETY: `addr + offset .. + out.len()` lies in the mapped BAR (checked above).
        unsafe {
            bindings::memcpy_fromio(
                out.as_mut_ptr().cast(),
                self.addr.add(offset).cast(),
                out.len(),
            )
        };
        Ok(())
    }

    /// Copies `data` into the BAR at `offset`; EINVAL if out of range.
    pub(crate) fn write(&self, offset: usize, data: &[u8]) -> Result {
        let end = offset.checked_add(data.len()).ok_or(EINVAL)?;
        if end > self.len {
            return Err(EINVAL);
        }
        // SAFETY: `addr + offset .. + data.len()` lies in the mapped BAR (checked above).
        unsafe {
            bindings::memcpy_toio(
                self.addr.add(offset).cast(),
                data.as_ptr().cast(),
                data.len(),
            )
        };
        Ok(())
    }
}

impl Drop for WcBar {
    fn drop(&mut self) {
        let raw = raw_pci(&self.pdev);
        // SAFETY: `addr` came from `pci_iomap_wc` on this device and the region from
        // `pci_request_region`; each is undone once.
        unsafe {
            bindings::pci_iounmap(raw, self.addr);
            bindings::pci_release_region(raw, self.bar);
        }
    }
}

/// `domain << 16 | bus << 8 | devfn` of a PCI device.
pub(crate) fn location(pdev: &pci::Device<impl device::DeviceContext>) -> u32 {
    let raw = raw_pci(pdev);
    // SAFETY: `raw` is a valid pci_dev; `bus` is set for every enumerated device.
    unsafe {
        let bus = (*raw).bus;
        let domain = cardless_pci_domain_nr(bus) as u32;
        (domain << 16) | (u32::from((*bus).number) << 8) | (*raw).devfn
    }
}

/// How a device's interrupts are delivered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum IrqMode {
    Intx,
    Msi,
    Msix,
}

/// Which interrupt mechanism `pci_alloc_irq_vectors` chose.
pub(crate) fn irq_mode(pdev: &pci::Device<device::Bound>) -> IrqMode {
    let raw = raw_pci(pdev);
    // SAFETY: a bound device; the bit fields are set by the MSI core.
    let (msix, msi) = unsafe { ((*raw).msix_enabled() != 0, (*raw).msi_enabled() != 0) };
    match (msix, msi) {
        (true, _) => IrqMode::Msix,
        (false, true) => IrqMode::Msi,
        (false, false) => IrqMode::Intx,
    }
}

/// `PCI_DEVICE(vendor, device)` for a vendor the kernel crate has no `Vendor`
/// constant for (`pci::Vendor::from_raw` is private).
pub(crate) const fn device_id(vendor: u16, device: u16) -> pci::DeviceId {
    let raw = bindings::pci_device_id {
        vendor: vendor as u32,
        device: device as u32,
        subvendor: !0,
        subdevice: !0,
        class: 0,
        class_mask: 0,
        driver_data: 0,
        override_only: 0,
    };
    // SAFETY: `pci::DeviceId` is `#[repr(transparent)]` over `bindings::pci_device_id`
    // (documented in rust/kernel/pci.rs) and adds no invariant beyond a valid value,
    // which `raw` is: the same fields `DeviceId::from_id` fills.
    unsafe { core::mem::transmute::<bindings::pci_device_id, pci::DeviceId>(raw) }
}

/// Sets a 64-bit DMA mask and lifts the DMA layer's segment limits. Only
/// from probe, before any DMA memory of the device is allocated or mapped
/// (the `Core` context says so).
///
/// The card reads one address per page from its page table (SPEC §5.5):
/// it has no notion of a segment, so a scatterlist may join any run of
/// adjacent pages. The defaults (64 KiB segments, none across a 4 GiB
/// line) would make the DMA-API checks report the long runs that
/// `sg_alloc_table_from_pages_segment`, which knows no boundary, builds.
pub(crate) fn set_dma_limits(pdev: &pci::Device<device::Core<'_>>) -> Result {
    use kernel::dma::Device as _;
    // SAFETY: the `Core` context is probe's: the device lock is held and this
    // driver has not allocated or mapped DMA memory for the device yet, so
    // nothing runs concurrently with this or the next two.
    unsafe { pdev.dma_set_mask_and_coherent(kernel::dma::DmaMask::new::<64>()) }?;
    // SAFETY: as for the mask.
    unsafe { pdev.dma_set_max_seg_size(u32::MAX) };
    let dev: &device::Device = pdev.as_ref();
    // SAFETY: as for the mask; a PCI device has DMA parameters (the PCI core sets
    // them up before probe), which is all the helper writes.
    unsafe { cardless_dma_set_seg_boundary(raw_dev(dev), c_ulong::MAX) };
    Ok(())
}
