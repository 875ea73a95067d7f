// SPDX-License-Identifier: GPL-2.0
//! The declarations of `helpers.c` (one-line C wrappers of static inlines and
//! macros, the kernel's own `rust/helpers/` pattern) and of the few exported
//! functions the generated bindings lack, plus the pointer casts every
//! wrapper shares.

use kernel::ffi::{c_int, c_ulong, c_void};
use kernel::{bindings, device, pci};

// The bindgen types of a few kernel structs contain zero-sized members.
#[allow(improper_ctypes)]
extern "C" {
    pub(super) fn cardless_pgprot_noncached(prot: bindings::pgprot_t) -> bindings::pgprot_t;
    pub(super) fn cardless_io_remap_pfn_range(
        vma: *mut bindings::vm_area_struct,
        addr: c_ulong,
        pfn: c_ulong,
        size: c_ulong,
        prot: bindings::pgprot_t,
    ) -> c_int;
    pub(super) fn cardless_pci_domain_nr(bus: *mut bindings::pci_bus) -> c_int;
    pub(super) fn cardless_get_page(page: *mut bindings::page);
    pub(super) fn cardless_vmalloc_user(size: c_ulong) -> *mut c_void;
    pub(super) fn cardless_dma_mapping_error(
        dev: *mut bindings::device,
        addr: bindings::dma_addr_t,
    ) -> c_int;
    pub(super) fn cardless_dma_set_seg_boundary(dev: *mut bindings::device, mask: c_ulong);
    // The bug zoo's wrong ways (test build only).
    #[cfg(cardless_zoo)]
    pub(super) fn cardless_pfn_valid(pfn: c_ulong) -> c_int;
    #[cfg(cardless_zoo)]
    pub(super) fn cardless_get_free_pages(gfp: bindings::gfp_t, order: u32) -> c_ulong;
    #[cfg(cardless_zoo)]
    pub(super) fn cardless_virt_to_page(addr: *const c_void) -> *mut bindings::page;
    #[cfg(cardless_zoo)]
    pub(super) fn cardless_virt_to_phys(addr: *const c_void) -> bindings::phys_addr_t;
    pub(super) fn remap_vmalloc_range(
        vma: *mut bindings::vm_area_struct,
        addr: *mut c_void,
        pgoff: c_ulong,
    ) -> c_int;
    pub(super) fn vfree(addr: *const c_void);
}

/// The C `struct pci_dev` of a PCI device.
pub(super) fn raw_pci(pdev: &pci::Device<impl device::DeviceContext>) -> *mut bindings::pci_dev {
    // `pci::Device` is `#[repr(transparent)]` over `Opaque<bindings::pci_dev>`; its own
    // `as_raw` is private. A pointer cast gives the same address.
    core::ptr::from_ref(pdev).cast_mut().cast()
}

/// The C `struct device` of a device.
pub(super) fn raw_dev(dev: &device::Device<impl device::DeviceContext>) -> *mut bindings::device {
    // `device::Device` is `#[repr(transparent)]` over `Opaque<bindings::device>`.
    core::ptr::from_ref(dev).cast_mut().cast()
}
