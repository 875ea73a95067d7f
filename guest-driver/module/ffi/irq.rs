// SPDX-License-Identifier: GPL-2.0
//! One requested interrupt line of a PCI vector, with a hard handler and an
//! interrupt thread. (The `kernel` crate's `pci::Device::alloc_irq_vectors`
//! gives only the first and the last vector of a range, and `IrqVector` has
//! no public constructor; a card with one MSI-X vector per cause needs
//! vector `i`.)

use super::c_helpers::raw_pci;
use core::ffi::c_int;
use kernel::{bindings, device, pci, prelude::*, sync::Arc};

/// What the hard handler found.
pub(crate) enum IrqReturn {
    /// Not this device's interrupt (a shared line).
    NotOurs,
    Handled,
    /// Handled; run the interrupt thread (work that may sleep).
    WakeThread,
}

/// The two halves of an interrupt handler.
pub(crate) trait IrqHandler: Send + Sync + 'static {
    /// Hard-IRQ context: must not sleep.
    fn handle(&self) -> IrqReturn;
    /// The interrupt thread, after `handle` asked for it: may sleep.
    fn thread(&self);
}

/// The Linux IRQ number of vector `vector`, or `None` past the allocated ones.
pub(crate) fn vector_irq(pdev: &pci::Device<device::Bound>, vector: u32) -> Option<u32> {
    // SAFETY: a bound device; `pci_irq_vector` validates the index.
    let irq = unsafe { bindings::pci_irq_vector(raw_pci(pdev), vector) };
    u32::try_from(irq).ok()
}

/// A requested interrupt line, freed on drop. It owns one reference on its
/// handler, which the C side holds as the cookie.
pub(crate) struct IrqLine<H: IrqHandler> {
    irq: u32,
    cookie: *const H,
}

// SAFETY: the cookie is an `Arc<H>` (H: Send + Sync) owned by this value.
unsafe impl<H: IrqHandler> Send for IrqLine<H> {}
// SAFETY: `&IrqLine` exposes nothing.
unsafe impl<H: IrqHandler> Sync for IrqLine<H> {}

/// The hard-interrupt half the kernel calls.
///
/// # Safety
/// `cookie` is the `Arc<H>` pointer `IrqLine::request` registered.
unsafe extern "C" fn hard_half<H: IrqHandler>(
    _irq: c_int,
    cookie: *mut core::ffi::c_void,
) -> bindings::irqreturn_t {
    // SAFETY: `cookie` is the `Arc<H>` pointer `IrqLine::request` registered with
    // this handler; it stays alive until `free_irq` has returned (see `Drop`).
    let handler = unsafe { &*cookie.cast::<H>() };
    match handler.handle() {
        IrqReturn::NotOurs => bindings::irqreturn_IRQ_NONE,
        IrqReturn::Handled => bindings::irqreturn_IRQ_HANDLED,
        IrqReturn::WakeThread => bindings::irqreturn_IRQ_WAKE_THREAD,
    }
}

/// The threaded half the kernel runs after `hard_half` asked for it.
///
/// # Safety
/// As for `hard_half`.
unsafe extern "C" fn thread_half<H: IrqHandler>(
    _irq: c_int,
    cookie: *mut core::ffi::c_void,
) -> bindings::irqreturn_t {
    // SAFETY: as in `hard_half`; `free_irq` also waits for the thread.
    let handler = unsafe { &*cookie.cast::<H>() };
    handler.thread();
    bindings::irqreturn_IRQ_HANDLED
}

impl<H: IrqHandler> IrqLine<H> {
    /// Requests `irq` (from `vector_irq`) for `handler`; `shared_line`: INTx,
    /// which other devices may share.
    pub(crate) fn request(
        irq: u32,
        shared_line: bool,
        handler: Arc<H>,
        name: &'static CStr,
    ) -> Result<Self> {
        let cookie = Arc::into_raw(handler);
        let flags = if shared_line {
            bindings::IRQF_SHARED
        } else {
            0
        };
        // SAFETY: the two halves only dereference `cookie`, valid until `free_irq`.
        let ret = unsafe {
            bindings::request_threaded_irq(
                irq,
                Some(hard_half::<H>),
                Some(thread_half::<H>),
                flags as kernel::ffi::c_ulong,
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

impl<H: IrqHandler> Drop for IrqLine<H> {
    fn drop(&mut self) {
        // SAFETY: registered in `request` with this cookie; `free_irq` waits for a
        // running handler and thread to finish, after which nothing uses the cookie.
        unsafe { bindings::free_irq(self.irq, self.cookie.cast_mut().cast()) };
        // SAFETY: the reference `request` leaked into the registration.
        drop(unsafe { Arc::from_raw(self.cookie) });
    }
}
