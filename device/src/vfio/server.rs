//! The server loop: one connection at a time, one message at a time.
//! Framing problems that leave the stream unparseable end the connection;
//! everything else gets an error reply with an errno and the loop goes on.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use cardless_abi::regs;
use rustix::io::Errno;
use vfio_bindings::bindings::vfio::{
    VFIO_DEVICE_FLAGS_PCI, VFIO_DEVICE_FLAGS_RESET, VFIO_REGION_INFO_FLAG_CAPS,
};

use super::backend::CardBackend;
use super::bodies::{DeviceInfo, IrqInfo, IrqSet, RegionAccess, RegionInfo};
use super::config_space::ConfigSpace;
use super::dma_map;
use super::error::{ConnectionError, ProtocolError};
use super::irq::{IrqTable, SetIrqs, NUM_IRQ_INDICES};
use super::regions::{sparse_mmap_capability, BadBar2Size, RegionKind, RegionTable, NUM_REGIONS};
use super::socket::{AdaptiveSocket, PollPolicy, StopSignal};
use super::version;
use super::wire::{command, read_body, Header, HEADER_SIZE, MAX_DATA_XFER, MAX_MSG_FDS};
use zerocopy::IntoBytes;

/// Size of a body layout, as the `argsz` a client must give for it.
fn argsz_of<T>() -> u32 {
    size_of::<T>() as u32
}

/// `argsz` must cover the structure the client sent.
fn check_argsz<T>(argsz: u32) -> Result<(), ProtocolError> {
    let need = argsz_of::<T>();
    if argsz < need {
        return Err(ProtocolError::ArgszTooSmall { argsz, need });
    }
    Ok(())
}

/// A vfio-user server for one card.
pub struct Server<C: CardBackend> {
    card: Arc<C>,
    irqs: Arc<IrqTable>,
    regions: RegionTable,
    config: ConfigSpace,
    policy: PollPolicy,
    stop: Option<Arc<StopSignal>>,
    /// Whether the last connection got past VERSION.
    last_negotiated: bool,
}

/// Per-connection state.
struct Session {
    negotiated: bool,
}

impl<C: CardBackend> Server<C> {
    /// `irqs` must be the table the card raises its interrupts through.
    pub fn new(card: Arc<C>, irqs: Arc<IrqTable>, policy: PollPolicy) -> Result<Self, BadBar2Size> {
        let regions = RegionTable::new(card.bar2_size())?;
        let config = ConfigSpace::new(regions.bar_sizes());
        Ok(Server {
            card,
            irqs,
            regions,
            config,
            policy,
            stop: None,
            last_negotiated: false,
        })
    }

    /// A card with MSI and INTx only: no MSI-X capability, no BAR4.
    pub fn without_msix(mut self) -> Self {
        self.regions = self.regions.without_msix();
        self.config = ConfigSpace::with_msix(self.regions.bar_sizes(), false);
        self
    }

    /// Lets `stop` end [`Server::serve`] from another thread or a signal.
    pub fn with_stop(mut self, stop: Arc<StopSignal>) -> Self {
        self.stop = Some(stop);
        self
    }

    pub fn card(&self) -> &Arc<C> {
        &self.card
    }

    /// Serves one client until it disconnects (`Ok`), the stop signal fires
    /// (`Err(Stopped)`), or the stream can no longer be trusted. Whatever
    /// the ending, the client's DMA mappings and eventfds are dropped.
    pub fn serve(&mut self, stream: UnixStream) -> Result<(), ConnectionError> {
        let mut session = Session { negotiated: false };
        let result = self.serve_messages(stream, &mut session);
        self.last_negotiated = session.negotiated;
        self.card.dma_unmap_all();
        self.irqs.release_all();
        match &result {
            Ok(()) if !session.negotiated => log::debug!("connection closed before VERSION"),
            Ok(()) => log::info!("client disconnected"),
            Err(ConnectionError::Stopped) => log::info!("stopping: connection closed"),
            Err(error) => log::warn!("connection dropped: {error}"),
        }
        result
    }

    /// Whether the client of the last [`Server::serve`] negotiated a
    /// version, i.e. was a real client rather than a probe.
    pub fn negotiated(&self) -> bool {
        self.last_negotiated
    }

    fn serve_messages(
        &mut self,
        stream: UnixStream,
        session: &mut Session,
    ) -> Result<(), ConnectionError> {
        let mut socket = AdaptiveSocket::new(stream, self.policy, self.stop.clone())?;
        let mut body = Vec::new();
        let mut out = Vec::with_capacity(4096);
        loop {
            let mut header_bytes = [0u8; HEADER_SIZE];
            let mut fds = Vec::new();
            if !socket.recv_exact(&mut header_bytes, &mut fds)? {
                return Ok(());
            }
            let header = Header::decode(&header_bytes);
            let size = self.check_size(&mut socket, &header)?;
            body.resize(size - HEADER_SIZE, 0);
            if !body.is_empty() && !socket.recv_exact(&mut body, &mut fds)? {
                return Err(ConnectionError::Truncated);
            }
            let fds_truncated = socket.take_fds_truncated();
            if !header.is_command() {
                // We send no commands, so no reply can be expected by us.
                log::warn!(
                    "ignoring a non-command message ({} #{}, flags {:#x})",
                    command::name(header.command()),
                    header.message_id(),
                    header.flags()
                );
                socket.message_done();
                continue;
            }
            out.clear();
            out.extend_from_slice(&[0; HEADER_SIZE]);
            let result = if fds_truncated || fds.len() > MAX_MSG_FDS {
                Err(ProtocolError::FdsTruncated)
            } else {
                self.dispatch(session, &header, &body, fds, &mut out)
            };
            match result {
                Ok(fd) if !header.no_reply() => {
                    let reply = header.reply(out.len() as u32, 0);
                    out[..HEADER_SIZE].copy_from_slice(&reply.encode());
                    socket.send(&out, fd.as_ref().map(|fd| fd.as_fd()))?;
                }
                Ok(_) => {}
                Err(error) => {
                    log::warn!(
                        "{} #{} refused: {error}",
                        command::name(header.command()),
                        header.message_id()
                    );
                    // A NO_REPLY sender does not read replies: QEMU would
                    // take one as a stray message.
                    if !header.no_reply() {
                        let reply = header.reply(HEADER_SIZE as u32, error.errno());
                        socket.send(&reply.encode(), None)?;
                    }
                }
            }
            socket.message_done();
        }
    }

    /// A size we cannot frame or will not buffer ends the connection: the
    /// rest of the stream cannot be parsed. Too large gets an E2BIG reply first.
    fn check_size(
        &self,
        socket: &mut AdaptiveSocket,
        header: &Header,
    ) -> Result<usize, ConnectionError> {
        let size = header.framed_size();
        if let Err(ConnectionError::MessageTooLarge { .. }) = size {
            if header.is_command() && !header.no_reply() {
                let reply = header.reply(HEADER_SIZE as u32, Errno::TOOBIG.raw_os_error());
                socket.send(&reply.encode(), None)?;
            }
        }
        size
    }

    /// Runs one command. The reply body is appended to `out` (which holds a
    /// header placeholder); the returned fd, if any, travels with the reply.
    fn dispatch(
        &mut self,
        session: &mut Session,
        header: &Header,
        body: &[u8],
        fds: Vec<OwnedFd>,
        out: &mut Vec<u8>,
    ) -> Result<Option<OwnedFd>, ProtocolError> {
        let name = command::name(header.command());
        log::trace!(
            "{name} #{} size {}",
            header.message_id(),
            header.message_size()
        );
        let takes_fds = matches!(
            header.command(),
            command::DMA_MAP | command::DEVICE_SET_IRQS
        );
        if !takes_fds && !fds.is_empty() {
            // Dropping `fds` closes them.
            return Err(ProtocolError::UnexpectedFds {
                command: name,
                count: fds.len(),
            });
        }
        if header.command() == command::VERSION {
            if session.negotiated {
                return Err(ProtocolError::AlreadyNegotiated);
            }
            let caps = version::parse(body)?;
            log::info!(
                "client speaks vfio-user {}.{} (max_msg_fds {}, max_data_xfer_size {})",
                caps.major,
                caps.minor,
                caps.max_msg_fds,
                caps.max_data_xfer_size
            );
            out.extend_from_slice(&version::reply_body());
            session.negotiated = true;
            return Ok(None);
        }
        if !session.negotiated {
            return Err(ProtocolError::NotNegotiated(name));
        }
        match header.command() {
            command::DEVICE_GET_INFO => self.device_info(body, out).map(|()| None),
            command::DEVICE_GET_REGION_INFO => self.region_info(body, out),
            command::DEVICE_GET_IRQ_INFO => self.irq_info(body, out).map(|()| None),
            command::DEVICE_SET_IRQS => self.set_irqs(body, fds).map(|()| None),
            command::REGION_READ => self.region_read(body, out).map(|()| None),
            command::REGION_WRITE => self.region_write(body, out).map(|()| None),
            command::DMA_MAP => dma_map::map(&*self.card, body, fds).map(|()| None),
            command::DMA_UNMAP => {
                out.extend_from_slice(&dma_map::unmap(&*self.card, body)?);
                Ok(None)
            }
            command::DEVICE_RESET => {
                log::info!("device reset");
                self.card.reset();
                self.config.reset();
                Ok(None)
            }
            command::DEVICE_GET_REGION_IO_FDS
            | command::DMA_READ
            | command::DMA_WRITE
            | command::DIRTY_PAGES
            | command::REGION_WRITE_MULTI => Err(ProtocolError::Unsupported(name)),
            other => Err(ProtocolError::UnknownCommand(other)),
        }
    }

    fn device_info(&self, body: &[u8], out: &mut Vec<u8>) -> Result<(), ProtocolError> {
        let (request, _) = read_body::<DeviceInfo>(command::DEVICE_GET_INFO, body)?;
        check_argsz::<DeviceInfo>(request.argsz.get())?;
        let reply = DeviceInfo {
            argsz: argsz_of::<DeviceInfo>().into(),
            flags: (VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET).into(),
            num_regions: NUM_REGIONS.into(),
            num_irqs: NUM_IRQ_INDICES.into(),
        };
        out.extend_from_slice(reply.as_bytes());
        Ok(())
    }

    /// Region info; BAR2 also gets its sparse-mmap capability and memfd, but
    /// only once the client's argsz has room for the capability (the first
    /// reply tells it how much room to ask for).
    fn region_info(
        &self,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<OwnedFd>, ProtocolError> {
        let (request, _) = read_body::<RegionInfo>(command::DEVICE_GET_REGION_INFO, body)?;
        let (argsz, index) = (request.argsz.get(), request.index.get());
        check_argsz::<RegionInfo>(argsz)?;
        let info = self.regions.info(index)?;
        let caps = info
            .mmap_area
            .map(|(offset, size)| sparse_mmap_capability(offset, size));
        let caps = caps.as_ref().map_or(&[][..], |cap| cap.as_bytes());
        let full_argsz = argsz_of::<RegionInfo>() + caps.len() as u32;
        let send_caps = !caps.is_empty() && argsz >= full_argsz;
        let reply = RegionInfo {
            argsz: full_argsz.into(),
            flags: (info.flags
                | if send_caps {
                    VFIO_REGION_INFO_FLAG_CAPS
                } else {
                    0
                })
            .into(),
            index: index.into(),
            cap_offset: if send_caps {
                argsz_of::<RegionInfo>()
            } else {
                0
            }
            .into(),
            size: info.size.into(),
            // BAR2 starts at the memfd's start.
            offset: 0.into(),
        };
        out.extend_from_slice(reply.as_bytes());
        let mut fd = None;
        if send_caps {
            out.extend_from_slice(caps);
            let dup = self.card.bar2_fd().try_clone_to_owned();
            fd = Some(dup.map_err(|error| ProtocolError::DmaFd(error.to_string()))?);
        }
        Ok(fd)
    }

    fn irq_info(&self, body: &[u8], out: &mut Vec<u8>) -> Result<(), ProtocolError> {
        let (request, _) = read_body::<IrqInfo>(command::DEVICE_GET_IRQ_INFO, body)?;
        check_argsz::<IrqInfo>(request.argsz.get())?;
        let index = request.index.get();
        let (flags, count) = self.irqs.info(index)?;
        let reply = IrqInfo {
            argsz: argsz_of::<IrqInfo>().into(),
            flags: flags.into(),
            index: index.into(),
            count: count.into(),
        };
        out.extend_from_slice(reply.as_bytes());
        Ok(())
    }

    fn set_irqs(&self, body: &[u8], fds: Vec<OwnedFd>) -> Result<(), ProtocolError> {
        let (head, bools) = read_body::<IrqSet>(command::DEVICE_SET_IRQS, body)?;
        check_argsz::<IrqSet>(head.argsz.get())?;
        let request = SetIrqs {
            flags: head.flags.get(),
            index: head.index.get(),
            start: head.start.get(),
            count: head.count.get(),
            bools,
        };
        log::debug!(
            "SET_IRQS index {} start {} count {} flags {:#x} fds {}",
            request.index,
            request.start,
            request.count,
            request.flags,
            fds.len()
        );
        let card = &self.card;
        self.irqs.set(&request, fds, || card.irq_pending())
    }

    /// Checks the offset, region and count of a region access.
    fn check_access(&self, access: &RegionAccess) -> Result<RegionKind, ProtocolError> {
        let count = access.count.get();
        if count > MAX_DATA_XFER {
            return Err(ProtocolError::TransferTooLarge(count));
        }
        self.regions
            .check_access(access.region.get(), access.offset.get(), count)
    }

    fn region_read(&self, body: &[u8], out: &mut Vec<u8>) -> Result<(), ProtocolError> {
        if body.len() != size_of::<RegionAccess>() {
            return Err(ProtocolError::BodyLength {
                command: "REGION_READ",
                got: body.len(),
                expected: size_of::<RegionAccess>(),
            });
        }
        let (access, _) = read_body::<RegionAccess>(command::REGION_READ, body)?;
        let kind = self.check_access(access)?;
        let (offset, count) = (access.offset.get(), access.count.get() as usize);
        // The reply echoes the access, then its data.
        out.extend_from_slice(access.as_bytes());
        let start = out.len();
        out.resize(start + count, 0);
        let data = &mut out[start..];
        match kind {
            RegionKind::Registers => self.card.bar_read(regs::BAR_REGS, offset, data),
            RegionKind::Memory => self.card.bar_read(regs::BAR_MEM, offset, data),
            // QEMU emulates the MSI-X table and asks us only for the PBA;
            // no vector is ever held pending here, so both read as zero.
            RegionKind::Msix => data.fill(0),
            RegionKind::Config => {
                self.config.read(offset, data);
            }
        }
        Ok(())
    }

    fn region_write(&mut self, body: &[u8], out: &mut Vec<u8>) -> Result<(), ProtocolError> {
        let (access, data) = read_body::<RegionAccess>(command::REGION_WRITE, body)?;
        let kind = self.check_access(access)?;
        let (offset, count) = (access.offset.get(), access.count.get() as usize);
        if data.len() != count {
            return Err(ProtocolError::BodyLength {
                command: "REGION_WRITE",
                got: body.len(),
                expected: size_of::<RegionAccess>() + count,
            });
        }
        match kind {
            RegionKind::Registers => {
                self.card.bar_write(regs::BAR_REGS, offset, data);
                // SPEC §13: with INTx the level follows every register write
                // (an INT_MASK write can assert it without a new event).
                let card = &self.card;
                self.irqs.reevaluate_intx(|| card.irq_pending());
            }
            RegionKind::Memory => self.card.bar_write(regs::BAR_MEM, offset, data),
            RegionKind::Msix => {}
            RegionKind::Config => {
                self.config.write(offset, data);
            }
        }
        // The reply echoes the access.
        out.extend_from_slice(access.as_bytes());
        Ok(())
    }
}
