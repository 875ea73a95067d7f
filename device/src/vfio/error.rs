//! What can go wrong while serving a client, split by consequence:
//! a [`ProtocolError`] fails one message (error reply with an errno), a
//! [`ConnectionError`] ends the connection.

use std::io;

use rustix::io::Errno;

/// A message the server refuses. The client gets an error reply carrying
/// [`ProtocolError::errno`]; the connection stays up.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("{command} body is {got} bytes, needs {need}")]
    BodyTooShort {
        command: &'static str,
        got: usize,
        need: usize,
    },
    #[error("{command} body is {got} bytes, expected {expected}")]
    BodyLength {
        command: &'static str,
        got: usize,
        expected: usize,
    },
    #[error("command {0} is not supported")]
    Unsupported(&'static str),
    #[error("unknown command {0}")]
    UnknownCommand(u16),
    #[error("{command} must not carry file descriptors (got {count})")]
    UnexpectedFds { command: &'static str, count: usize },
    #[error("the ancillary data was truncated (more than the allowed number of fds?)")]
    FdsTruncated,
    #[error("{0} before VERSION negotiation")]
    NotNegotiated(&'static str),
    #[error("VERSION sent twice")]
    AlreadyNegotiated,
    #[error("client speaks vfio-user {major}.{minor}, we speak 0.x")]
    VersionMismatch { major: u16, minor: u16 },
    #[error("bad capabilities: {0}")]
    BadCapabilities(String),
    #[error("region index {0} does not exist")]
    NoSuchRegion(u32),
    #[error("access to region {region} at {offset:#x}+{count} is outside its {size:#x} bytes")]
    OutOfRegion {
        region: u32,
        offset: u64,
        count: u32,
        size: u64,
    },
    #[error("transfer of {0} bytes exceeds max_data_xfer_size")]
    TransferTooLarge(u32),
    #[error("argsz {argsz} is smaller than the {need} bytes of the structure")]
    ArgszTooSmall { argsz: u32, need: u32 },
    #[error("irq index {0} does not exist")]
    NoSuchIrqIndex(u32),
    #[error("irq range {start}+{count} exceeds the {available} interrupts of index {index}")]
    IrqRange {
        index: u32,
        start: u32,
        count: u32,
        available: u32,
    },
    #[error("SET_IRQS flags {0:#x} are invalid")]
    IrqFlags(u32),
    #[error("SET_IRQS carries {got} fds for {count} interrupts")]
    IrqFdCount { got: usize, count: u32 },
    #[error("fd passed for an interrupt is not an eventfd")]
    NotAnEventfd,
    #[error("DMA_MAP flags {0:#x} are invalid")]
    DmaFlags(u32),
    #[error("DMA range {iova:#x}+{size:#x} is empty or wraps around")]
    DmaRange { iova: u64, size: u64 },
    #[error("DMA_MAP carries {0} fds, at most 1 allowed")]
    DmaFdCount(usize),
    #[error("DMA_MAP fd is unusable: {0}")]
    DmaFd(String),
    #[error("DMA_MAP refused: {0}")]
    DmaFdNotSealed(String),
    #[error("the card refused the DMA request: {0}")]
    Dma(#[source] crate::dma::DmaError),
    #[error("DMA_UNMAP flags {0:#x} are invalid or unsupported")]
    DmaUnmapFlags(u32),
}

impl ProtocolError {
    /// The errno the client sees for this refusal.
    pub fn errno(&self) -> i32 {
        use ProtocolError::*;
        let errno = match self {
            Unsupported(_) | UnknownCommand(_) | DmaUnmapFlags(_) => Errno::NOTSUP,
            TransferTooLarge(_) => Errno::TOOBIG,
            VersionMismatch { .. } => Errno::NOTSUP,
            NotAnEventfd | DmaFd(_) => Errno::BADF,
            _ => Errno::INVAL,
        };
        errno.raw_os_error()
    }
}

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("socket error: {0}")]
    Io(#[from] io::Error),
    #[error("client closed the connection in the middle of a message")]
    Truncated,
    #[error("message declares {0} bytes, smaller than its own header")]
    MessageTooSmall(u32),
    #[error("message declares {size} bytes, more than the {max} we accept")]
    MessageTooLarge { size: u32, max: u32 },
    #[error("asked to stop")]
    Stopped,
}
