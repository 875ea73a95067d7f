// SPDX-License-Identifier: GPL-2.0
//! The driver's only `unsafe` code: small safe wrappers around kernel calls
//! the `kernel` crate has no abstraction for yet (7.2): PFN remapping with a
//! chosen caching mode, a write-combining kernel mapping of a BAR, the VMA
//! fault hook, zapping user mappings at unbind, module references.

use core::ffi::{c_int, c_ulong};
use kernel::sync::Arc;
use kernel::{
    bindings, error::to_result, fs::File, mm::virt::VmaNew, page::PAGE_SIZE, pci, prelude::*,
    ThisModule,
};

// The bindgen types of a few kernel structs contain zero-sized members.
#[allow(improper_ctypes)]
extern "C" {
    fn cardless_pci_domain_nr(bus: *mut bindings::pci_bus) -> c_int;
    fn cardless_pgprot_noncached(prot: bindings::pgprot_t) -> bindings::pgprot_t;
    fn cardless_io_remap_pfn_range(
        vma: *mut bindings::vm_area_struct,
        addr: c_ulong,
        pfn: c_ulong,
        size: c_ulong,
        prot: bindings::pgprot_t,
    ) -> c_int;
}

/// How the CPU may cache a user mapping of device memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Caching {
    /// Registers: every access reaches the device, in order (UC).
    Uncached,
    /// Device memory: stores may be combined and posted (WC).
    WriteCombining,
    /// Bug zoo only: whatever the VMA has (write-back), wrong for registers.
    #[cfg(cardless_zoo)]
    Default,
}

fn raw_pci(pdev: &pci::Device<impl kernel::device::DeviceContext>) -> *mut bindings::pci_dev {
    // `pci::Device` is `#[repr(transparent)]` over `Opaque<bindings::pci_dev>`; its own
    // `as_raw` is private. A pointer cast gives the same address.
    core::ptr::from_ref(pdev).cast_mut().cast()
}

/// Maps the physical range `phys .. phys + vma length` (MMIO, no `struct page`)
/// into the whole of `vma` with `caching`. Sets `VM_IO | VM_PFNMAP |
/// VM_DONTEXPAND | VM_DONTDUMP` (done by `remap_pfn_range` itself).
pub(crate) fn io_remap_whole_vma(vma: &VmaNew, phys: u64, caching: Caching) -> Result {
    let len = vma.end() - vma.start();
    if phys % PAGE_SIZE as u64 != 0 || len == 0 {
        return Err(EINVAL);
    }
    let raw = vma.as_ptr();
    // SAFETY: `raw` is the VMA under construction that `VmaNew` wraps; mmap holds the
    // mmap write lock, so nothing else reads or writes `vm_page_prot` concurrently.
    let prot = unsafe { (*raw).vm_page_prot };
    let prot = match caching {
        // SAFETY: a pure function of its argument.
        Caching::Uncached => unsafe { cardless_pgprot_noncached(prot) },
        // SAFETY: a pure function of its argument.
        Caching::WriteCombining => unsafe { bindings::pgprot_writecombine(prot) },
        #[cfg(cardless_zoo)]
        Caching::Default => prot,
    };
    // SAFETY: as above; the new protection must be visible in the VMA so later
    // faults and mprotect see the same caching mode.
    unsafe { (*raw).vm_page_prot = prot };
    // SAFETY: `raw` is a VMA being set up under the mmap lock; the range is exactly
    // the VMA. The caller guarantees `phys` is device memory it owns (a BAR) that
    // stays reserved while the mapping exists or is zapped first (see `zap_mapping`).
    to_result(unsafe {
        cardless_io_remap_pfn_range(
            raw,
            vma.start() as c_ulong,
            (phys >> bindings::PAGE_SHIFT) as c_ulong,
            len as c_ulong,
            prot,
        )
    })
}

/// A vm_operations whose fault handler refuses: after `zap_mapping` removed a
/// card's PFNs, a touch of the old mapping gets SIGBUS instead of whatever now
/// sits at that physical address. (Without vm_ops the VMA would look anonymous
/// and a fault would silently map zero pages.)
struct SyncVmOps(bindings::vm_operations_struct);
// SAFETY: the table is immutable after construction.
unsafe impl Sync for SyncVmOps {}

unsafe extern "C" fn sigbus_fault(_vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t
}

static SIGBUS_VM_OPS: SyncVmOps = SyncVmOps(bindings::vm_operations_struct {
    fault: Some(sigbus_fault),
    // SAFETY: all-zeroes is a valid vm_operations_struct (every hook absent).
    ..unsafe { core::mem::zeroed() }
});

/// Gives `vma` the fault handler that answers SIGBUS (see `SIGBUS_VM_OPS`).
pub(crate) fn set_sigbus_on_fault(vma: &VmaNew) {
    // SAFETY: the VMA is under construction under the mmap write lock; `vm_ops`
    // points to a static that lives as long as the module, and the module cannot
    // go away while a mapping exists (the VMA holds the file, the file holds a
    // module reference, see `ModuleRef`).
    unsafe { (*vma.as_ptr()).vm_ops = &SIGBUS_VM_OPS.0 };
}

/// The page-cache mapping (`struct address_space`) a file's mmaps are linked
/// into: remembered at open so unbind can zap every user mapping of the card.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct MappingKey(usize);

impl MappingKey {
    pub(crate) fn of(file: &File) -> Self {
        // SAFETY: `file` is a valid open file; `f_mapping` is set before open returns
        // and not changed by this driver.
        MappingKey(unsafe { (*file.as_ptr()).f_mapping } as usize)
    }
}

/// Removes every user PTE of `key`'s mappings: later touches fault (SIGBUS).
///
/// The caller must hold the lock under which files register and unregister
/// their `MappingKey`, with the key still registered: then an open file pins
/// the inode and so the address space.
pub(crate) fn zap_mapping(key: MappingKey) {
    // SAFETY: by the caller's contract the address space is alive (an open file
    // holds its inode). `unmap_mapping_range` with holelen 0 means "to the end".
    unsafe { bindings::unmap_mapping_range(key.0 as *mut bindings::address_space, 0, 0, 1) };
}

/// A reference on this module, held by every open file: `rmmod` is refused
/// (EBUSY) while a file or a mapping (which holds its file) exists.
pub(crate) struct ModuleRef(&'static ThisModule);

impl ModuleRef {
    pub(crate) fn get(module: &'static ThisModule) -> Result<Self> {
        // SAFETY: `module` is this module's own descriptor, valid while its code runs.
        if unsafe { bindings::try_module_get(module.as_ptr()) } {
            Ok(ModuleRef(module))
        } else {
            // The module is being unloaded.
            Err(ENODEV)
        }
    }
}

impl Drop for ModuleRef {
    fn drop(&mut self) {
        // SAFETY: we took exactly one reference in `get`.
        unsafe { bindings::module_put(self.0.as_ptr()) };
    }
}

/// A write-combining kernel mapping of a whole BAR (`pci_iomap_wc`), unmapped on drop.
pub(crate) struct WcBar {
    pdev: *mut bindings::pci_dev,
    bar: c_int,
    addr: *mut core::ffi::c_void,
    len: usize,
}

// SAFETY: the mapping is plain MMIO usable from any thread; `pdev` is only used
// to unmap, which any thread may do.
unsafe impl Send for WcBar {}
// SAFETY: all accessors take `&self` and only do MMIO copies.
unsafe impl Sync for WcBar {}

impl WcBar {
    /// Requests BAR `bar` of a bound device and maps it write-combining. (Not
    /// through `iomap_region`: that maps it uncached first, and x86 PAT refuses
    /// a second mapping of the same range with another caching mode.) Dropped
    /// at unbind with the driver data.
    pub(crate) fn new(
        pdev: &pci::Device<kernel::device::Bound>,
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
        Ok(WcBar {
            pdev: raw,
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
        // SAFETY: `addr` came from `pci_iomap_wc` on `pdev` and the region from
        // `pci_request_region`; each is undone once.
        unsafe {
            bindings::pci_iounmap(self.pdev, self.addr);
            bindings::pci_release_region(self.pdev, self.bar);
        }
    }
}

/// `domain << 16 | bus << 8 | devfn` of a PCI device.
pub(crate) fn pci_location(pdev: &pci::Device<impl kernel::device::DeviceContext>) -> u32 {
    let raw = raw_pci(pdev);
    // SAFETY: `raw` is a valid pci_dev; `bus` is set for every enumerated device.
    unsafe {
        let bus = (*raw).bus;
        let domain = cardless_pci_domain_nr(bus) as u32;
        (domain << 16) | (((*bus).number as u32) << 8) | (*raw).devfn
    }
}

/// The mmap page offset (`vm_pgoff`) user space asked for.
pub(crate) fn vma_pgoff(vma: &VmaNew) -> u64 {
    // SAFETY: the VMA under construction is valid and locked (VmaNew invariant).
    unsafe { (*vma.as_ptr()).vm_pgoff as u64 }
}

/// Finds the `CardNode` that embeds a misc device registration (container_of).
pub(crate) fn card_node_of(
    misc: &kernel::miscdevice::MiscDeviceRegistration<crate::chardev::CardFile>,
) -> &crate::chardev::CardNode {
    let ptr = core::ptr::from_ref(misc);
    // SAFETY: every `MiscDeviceRegistration<CardFile>` this driver registers is the
    // `misc` field of a pinned `CardNode` (it is only created in `CardNode::new`), and
    // the registration lives exactly as long as its node, so the node outlives `misc`.
    unsafe { &*kernel::container_of!(ptr, crate::chardev::CardNode, misc) }
}

// SAFETY: `#[repr(C)]` structs of integers without padding (their layout tests
// in cardless-uapi check the sizes): every byte pattern is a valid value and
// none has uninitialised bytes.
unsafe impl kernel::transmute::FromBytes for crate::uapi::RegAccess {}
// SAFETY: as above.
unsafe impl kernel::transmute::AsBytes for crate::uapi::RegAccess {}
// SAFETY: as above.
unsafe impl kernel::transmute::AsBytes for crate::uapi::Version {}
// SAFETY: as above.
unsafe impl kernel::transmute::AsBytes for crate::uapi::CardInfo {}

/// One requested interrupt line of a PCI vector, freed on drop.
///
/// The kernel crate's `pci::Device::alloc_irq_vectors` gives only the first
/// and the last vector of a range (`IrqVector` has no public constructor), and
/// the card has one MSI-X vector per cause: this wrapper requests vector `i`.
pub(crate) struct IrqLine {
    irq: u32,
    cookie: *const crate::irq::CardIrq,
}

// SAFETY: the cookie is an `Arc<CardIrq>` (Send + Sync) owned by this value.
unsafe impl Send for IrqLine {}
// SAFETY: `&IrqLine` exposes nothing.
unsafe impl Sync for IrqLine {}

unsafe extern "C" fn irq_trampoline(
    _irq: c_int,
    cookie: *mut core::ffi::c_void,
) -> bindings::irqreturn_t {
    // SAFETY: `cookie` is the `Arc<CardIrq>` pointer registered with this handler; it
    // stays alive until `free_irq` has returned (see `IrqLine::drop`).
    let handler = unsafe { &*cookie.cast::<crate::irq::CardIrq>() };
    match handler.handle() {
        crate::irq::Handled::NotOurs => bindings::irqreturn_IRQ_NONE,
        crate::irq::Handled::Done => bindings::irqreturn_IRQ_HANDLED,
        crate::irq::Handled::WakeThread => bindings::irqreturn_IRQ_WAKE_THREAD,
    }
}

unsafe extern "C" fn irq_thread_trampoline(
    _irq: c_int,
    cookie: *mut core::ffi::c_void,
) -> bindings::irqreturn_t {
    // SAFETY: as in `irq_trampoline`; `free_irq` also waits for the thread.
    let handler = unsafe { &*cookie.cast::<crate::irq::CardIrq>() };
    handler.thread();
    bindings::irqreturn_IRQ_HANDLED
}

impl IrqLine {
    /// The Linux IRQ number of vector `vector`, or `None` past the allocated ones.
    pub(crate) fn vector_irq(
        pdev: &pci::Device<kernel::device::Bound>,
        vector: u32,
    ) -> Option<u32> {
        // SAFETY: a bound device; `pci_irq_vector` validates the index.
        let irq = unsafe { bindings::pci_irq_vector(raw_pci(pdev), vector) };
        u32::try_from(irq).ok()
    }

    pub(crate) fn request(
        irq: u32,
        shared_line: bool,
        handler: Arc<crate::irq::CardIrq>,
        name: &'static CStr,
    ) -> Result<Self> {
        let cookie = Arc::into_raw(handler);
        let flags = if shared_line {
            bindings::IRQF_SHARED
        } else {
            0
        };
        // SAFETY: the trampolines only dereference `cookie`, valid until `free_irq`.
        let ret = unsafe {
            bindings::request_threaded_irq(
                irq,
                Some(irq_trampoline),
                Some(irq_thread_trampoline),
                flags as _,
                name.as_char_ptr(),
                cookie.cast_mut().cast(),
            )
        };
        if ret != 0 {
            // SAFETY: not registered, so this is the only owner again.
            drop(unsafe { Arc::from_raw(cookie) });
            return Err(Error::from_errno(ret));
        }
        Ok(IrqLine { irq, cookie })
    }
}

impl Drop for IrqLine {
    fn drop(&mut self) {
        // SAFETY: registered in `request` with this cookie; `free_irq` waits for a
        // running handler to finish, after which nothing uses the cookie.
        unsafe { bindings::free_irq(self.irq, self.cookie.cast_mut().cast()) };
        // SAFETY: the reference `request` leaked into the registration.
        drop(unsafe { Arc::from_raw(self.cookie) });
    }
}

/// Which interrupt mechanism `pci_alloc_irq_vectors` chose.
pub(crate) fn irq_mode(pdev: &pci::Device<kernel::device::Bound>) -> u32 {
    let raw = raw_pci(pdev);
    // SAFETY: a bound device; the bit fields are set by the MSI core.
    let (msix, msi) = unsafe { ((*raw).msix_enabled() != 0, (*raw).msi_enabled() != 0) };
    if msix {
        crate::uapi::IRQ_MODE_MSIX
    } else if msi {
        crate::uapi::IRQ_MODE_MSI
    } else {
        crate::uapi::IRQ_MODE_INTX
    }
}

/// `PCI_DEVICE(vendor, device)` for a vendor the kernel crate has no `Vendor`
/// constant for (the card uses QEMU's experimental vendor 0x1234, and
/// `pci::Vendor::from_raw` is private).
pub(crate) const fn pci_device_id(vendor: u16, device: u16) -> pci::DeviceId {
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

pub(crate) mod dma_mem;
pub(crate) mod vma;
// SAFETY: as above.
unsafe impl kernel::transmute::FromBytes for crate::uapi::BufAlloc {}
// SAFETY: as above.
unsafe impl kernel::transmute::AsBytes for crate::uapi::BufAlloc {}
// SAFETY: as above.
unsafe impl kernel::transmute::FromBytes for crate::uapi::StreamStart {}
// SAFETY: as above.
unsafe impl kernel::transmute::FromBytes for crate::uapi::StreamWait {}
// SAFETY: as above.
unsafe impl kernel::transmute::AsBytes for crate::uapi::StreamWait {}
// SAFETY: as above.
unsafe impl kernel::transmute::AsBytes for crate::uapi::StreamCounters {}
// SAFETY: as above.
unsafe impl kernel::transmute::FromBytes for crate::uapi::CopyRequest {}
