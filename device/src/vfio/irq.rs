//! Interrupt delivery: the eventfds the client hands over with SET_IRQS,
//! per vfio IRQ index, and the INTx level/mask state.
//!
//! The card raises a vector number (its MSI-X vector). With MSI-X enabled
//! (any MSI-X trigger eventfd set) that vector's eventfd is signalled; with
//! MSI enabled, the one MSI message; otherwise all vectors share INTx, which
//! follows vfio's level semantics (SPEC §7, §13):
//! signalling auto-masks the line, the client unmasks it at EOI, and an
//! unmask while the card still has a cause pending signals again.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Mutex;

use vfio_bindings::bindings::vfio::{
    VFIO_IRQ_INFO_AUTOMASKED, VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_INFO_MASKABLE,
    VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_TYPE_MASK,
    VFIO_IRQ_SET_ACTION_UNMASK, VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_DATA_EVENTFD,
    VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_DATA_TYPE_MASK, VFIO_PCI_ERR_IRQ_INDEX,
    VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_NUM_IRQS,
    VFIO_PCI_REQ_IRQ_INDEX,
};

use super::error::ProtocolError;

/// Number of IRQ indices a vfio PCI device reports.
pub const NUM_IRQ_INDICES: u32 = VFIO_PCI_NUM_IRQS;

/// A decoded DEVICE_SET_IRQS request.
#[derive(Debug, Clone)]
pub struct SetIrqs<'a> {
    pub flags: u32,
    pub index: u32,
    pub start: u32,
    pub count: u32,
    /// The `count` bools of a DATA_BOOL request (empty otherwise).
    pub bools: &'a [u8],
}

/// An eventfd received from the client.
#[derive(Debug)]
struct EventFd(File);

impl EventFd {
    /// Accepts only real eventfds: writing 8 bytes to anything else (a full
    /// pipe, say) could block or do harm.
    fn new(fd: OwnedFd) -> Result<EventFd, ProtocolError> {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .map_err(|_| ProtocolError::NotAnEventfd)?;
        if link.as_os_str() != "anon_inode:[eventfd]" {
            return Err(ProtocolError::NotAnEventfd);
        }
        Ok(EventFd(File::from(fd)))
    }

    fn signal(&self) {
        // The only failure is a counter at its maximum: already signalled.
        if let Err(error) = (&self.0).write_all(&1u64.to_ne_bytes()) {
            log::debug!("eventfd signal failed: {error}");
        }
    }
}

#[derive(Debug, Default)]
struct IrqState {
    intx: Option<EventFd>,
    /// INTx is masked: set by delivery (auto-mask) and ACTION_MASK.
    intx_masked: bool,
    msix: Vec<Option<EventFd>>,
    msi: Option<EventFd>,
    err: Option<EventFd>,
    req: Option<EventFd>,
}

impl IrqState {
    fn msix_enabled(&self) -> bool {
        self.msix.iter().any(Option::is_some)
    }

    /// Signals INTx unless it is masked, and masks it (vfio auto-mask).
    fn fire_intx(&mut self) {
        if let Some(fd) = &self.intx {
            if !self.intx_masked {
                self.intx_masked = true;
                fd.signal();
            }
        }
    }
}

/// The interrupt table shared by the server thread (SET_IRQS) and the card's
/// threads (raise).
#[derive(Debug)]
pub struct IrqTable {
    msix_vectors: u16,
    state: Mutex<IrqState>,
}

impl IrqTable {
    pub fn new(msix_vectors: u16) -> IrqTable {
        let state = IrqState {
            msix: (0..msix_vectors).map(|_| None).collect(),
            ..IrqState::default()
        };
        IrqTable {
            msix_vectors,
            state: Mutex::new(state),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, IrqState> {
        // A panic elsewhere must not take interrupt delivery down with it.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Delivers the card's interrupt `vector` the way the client set up.
    pub fn raise(&self, vector: u16) {
        let mut state = self.state();
        if state.msix_enabled() {
            match state.msix.get(usize::from(vector)).and_then(Option::as_ref) {
                Some(fd) => fd.signal(),
                None => log::debug!("MSI-X vector {vector} has no eventfd; dropped"),
            }
        } else if let Some(fd) = &state.msi {
            fd.signal();
        } else {
            state.fire_intx();
        }
    }

    /// Whether interrupts go out on INTx (no MSI-X or MSI eventfd set, an
    /// INTx one set).
    pub fn intx_active(&self) -> bool {
        let state = self.state();
        !state.msix_enabled() && state.msi.is_none() && state.intx.is_some()
    }

    /// Re-evaluates the INTx level after a register write: signals (and
    /// auto-masks) if the line is unmasked and the card has a cause pending.
    /// `card_pending` runs without the table locked.
    pub fn reevaluate_intx(&self, card_pending: impl FnOnce() -> bool) {
        if self.intx_active() && !self.state().intx_masked && card_pending() {
            let mut state = self.state();
            if !state.msix_enabled() && state.msi.is_none() {
                state.fire_intx();
            }
        }
    }

    /// (flags, count) of DEVICE_GET_IRQ_INFO for `index`.
    pub fn info(&self, index: u32) -> Result<(u32, u32), ProtocolError> {
        Ok(match index {
            VFIO_PCI_INTX_IRQ_INDEX => (
                VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED,
                1,
            ),
            // One MSI message (SPEC §2).
            VFIO_PCI_MSI_IRQ_INDEX => (VFIO_IRQ_INFO_EVENTFD, 1),
            VFIO_PCI_MSIX_IRQ_INDEX => (VFIO_IRQ_INFO_EVENTFD, u32::from(self.msix_vectors)),
            VFIO_PCI_ERR_IRQ_INDEX | VFIO_PCI_REQ_IRQ_INDEX => (VFIO_IRQ_INFO_EVENTFD, 1),
            _ => return Err(ProtocolError::NoSuchIrqIndex(index)),
        })
    }

    /// Applies DEVICE_SET_IRQS. `card_pending` is asked after an INTx unmask
    /// whether the card still has a cause pending (level semantics); it is
    /// called without the table locked, as the card may be raising.
    pub fn set(
        &self,
        request: &SetIrqs<'_>,
        fds: Vec<OwnedFd>,
        card_pending: impl FnOnce() -> bool,
    ) -> Result<(), ProtocolError> {
        let (_, available) = self.info(request.index)?;
        let data = request.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
        let action = request.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
        let known = VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK;
        if request.flags & !known != 0 || data.count_ones() != 1 || action.count_ones() != 1 {
            return Err(ProtocolError::IrqFlags(request.flags));
        }
        let end = request.start.checked_add(request.count);
        if end.is_none_or(|end| end > available) {
            return Err(ProtocolError::IrqRange {
                index: request.index,
                start: request.start,
                count: request.count,
                available,
            });
        }
        if data != VFIO_IRQ_SET_DATA_EVENTFD && !fds.is_empty() {
            return Err(ProtocolError::IrqFdCount {
                got: fds.len(),
                count: 0,
            });
        }
        if data == VFIO_IRQ_SET_DATA_BOOL && request.bools.len() != request.count as usize {
            return Err(ProtocolError::BodyLength {
                command: "DEVICE_SET_IRQS",
                got: request.bools.len(),
                expected: request.count as usize,
            });
        }
        match action {
            VFIO_IRQ_SET_ACTION_TRIGGER => self.trigger(request, data, fds),
            VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK => self.mask(
                request,
                data,
                action == VFIO_IRQ_SET_ACTION_MASK,
                card_pending,
            ),
            _ => Err(ProtocolError::IrqFlags(request.flags)),
        }
    }

    fn trigger(
        &self,
        request: &SetIrqs<'_>,
        data: u32,
        fds: Vec<OwnedFd>,
    ) -> Result<(), ProtocolError> {
        let (start, count) = (request.start as usize, request.count as usize);
        match data {
            // Assign (one fd per interrupt) or, with no fds at all, release
            // the range; count 0 releases the whole index.
            VFIO_IRQ_SET_DATA_EVENTFD => {
                if !fds.is_empty() && fds.len() != count {
                    return Err(ProtocolError::IrqFdCount {
                        got: fds.len(),
                        count: request.count,
                    });
                }
                // Validate every fd before changing anything.
                let eventfds = fds
                    .into_iter()
                    .map(EventFd::new)
                    .collect::<Result<Vec<_>, _>>()?;
                let mut state = self.state();
                if count == 0 {
                    Self::release_index(&mut state, request.index);
                    return Ok(());
                }
                let mut new = eventfds.into_iter();
                for slot in start..start + count {
                    let fd = new.next();
                    *Self::slot(&mut state, request.index, slot) = fd;
                }
                if request.index == VFIO_PCI_INTX_IRQ_INDEX && state.intx.is_none() {
                    state.intx_masked = false;
                }
                Ok(())
            }
            VFIO_IRQ_SET_DATA_NONE if count == 0 => {
                Self::release_index(&mut self.state(), request.index);
                Ok(())
            }
            // Loopback: fire the interrupts as if the card had.
            _ => {
                let mut state = self.state();
                for slot in start..start + count {
                    let wanted = data == VFIO_IRQ_SET_DATA_NONE || request.bools[slot - start] != 0;
                    if !wanted {
                        continue;
                    }
                    if request.index == VFIO_PCI_INTX_IRQ_INDEX {
                        state.fire_intx();
                    } else if let Some(fd) = Self::slot(&mut state, request.index, slot) {
                        fd.signal();
                    }
                }
                Ok(())
            }
        }
    }

    fn mask(
        &self,
        request: &SetIrqs<'_>,
        data: u32,
        mask: bool,
        card_pending: impl FnOnce() -> bool,
    ) -> Result<(), ProtocolError> {
        // Only INTx is maskable (GET_IRQ_INFO says so); an eventfd-driven
        // unmask (KVM resamplefd) is not implemented and QEMU falls back.
        if request.index != VFIO_PCI_INTX_IRQ_INDEX || data == VFIO_IRQ_SET_DATA_EVENTFD {
            return Err(ProtocolError::IrqFlags(request.flags));
        }
        if request.count == 0 || (data == VFIO_IRQ_SET_DATA_BOOL && request.bools[0] == 0) {
            return Ok(());
        }
        if mask {
            self.state().intx_masked = true;
            return Ok(());
        }
        // Unmask first, then ask the card: a raise in between is delivered
        // by the card's own path, and one before it is caught here.
        self.state().intx_masked = false;
        if card_pending() {
            self.state().fire_intx();
        }
        Ok(())
    }

    fn slot(state: &mut IrqState, index: u32, slot: usize) -> &mut Option<EventFd> {
        match index {
            VFIO_PCI_INTX_IRQ_INDEX => &mut state.intx,
            VFIO_PCI_MSIX_IRQ_INDEX => &mut state.msix[slot],
            VFIO_PCI_MSI_IRQ_INDEX => &mut state.msi,
            VFIO_PCI_ERR_IRQ_INDEX => &mut state.err,
            _ => &mut state.req,
        }
    }

    fn release_index(state: &mut IrqState, index: u32) {
        match index {
            VFIO_PCI_INTX_IRQ_INDEX => {
                state.intx = None;
                state.intx_masked = false;
            }
            VFIO_PCI_MSIX_IRQ_INDEX => state.msix.iter_mut().for_each(|slot| *slot = None),
            VFIO_PCI_MSI_IRQ_INDEX => state.msi = None,
            VFIO_PCI_ERR_IRQ_INDEX => state.err = None,
            VFIO_PCI_REQ_IRQ_INDEX => state.req = None,
            _ => {}
        }
    }

    /// Drops every eventfd (the client is gone).
    pub fn release_all(&self) {
        let mut state = self.state();
        for index in 0..NUM_IRQ_INDICES {
            Self::release_index(&mut state, index);
        }
    }
}
