//! Test harness: the card's vfio-user server on a real Unix socket in a
//! thread, guest memory as a memfd, and raw message helpers for speaking
//! the protocol without the `vfio_user` crate's `Client`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use cardless_device::model::CardConfig;
use cardless_device::vfio::socket::accept;
use cardless_device::vfio::{CardPort, ConnectionError, PollPolicy, Server, StopSignal};
use rustix::net::{sendmsg, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};

pub const REGION_BAR0: u32 = 0;
pub const REGION_BAR2: u32 = 2;
pub const REGION_BAR4: u32 = 4;
pub const REGION_CONFIG: u32 = 7;

/// A server thread serving one connection after another until dropped.
pub struct TestServer {
    pub path: PathBuf,
    pub card: Arc<CardPort>,
    dir: PathBuf,
    stop: Arc<StopSignal>,
    /// How each connection ended, in order.
    pub endings: mpsc::Receiver<Result<(), String>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::with_config(CardConfig {
            deterministic: true,
            ..CardConfig::default()
        })
    }

    pub fn with_config(config: CardConfig) -> TestServer {
        let _ = env_logger::builder().is_test(true).try_init();
        let dir = tempdir();
        let path = dir.join("card.sock");
        let listener = UnixListener::bind(&path).expect("bind test socket");
        let (card, irqs) = CardPort::build(config).expect("build the card");
        let stop = StopSignal::new().unwrap();
        let mut server = Server::new(card.clone(), irqs, PollPolicy::default())
            .unwrap()
            .with_stop(stop.clone());
        let (tx, endings) = mpsc::channel();
        let thread_stop = stop.clone();
        let thread = std::thread::spawn(move || {
            while let Ok(Some(stream)) = accept(&listener, Some(&thread_stop)) {
                let ending = match server.serve(stream) {
                    Ok(()) => Ok(()),
                    Err(ConnectionError::Stopped) => return,
                    Err(error) => Err(error.to_string()),
                };
                let _ = tx.send(ending);
            }
        });
        TestServer {
            path,
            card,
            dir,
            stop,
            endings,
            thread: Some(thread),
        }
    }

    pub fn client(&self) -> vfio_user::Client {
        vfio_user::Client::new(&self.path).expect("vfio_user client connects")
    }

    /// Waits for the current connection to end and reports how.
    pub fn next_ending(&self) -> Result<(), String> {
        self.endings
            .recv_timeout(Duration::from_secs(10))
            .expect("the server ends the connection")
    }

    /// Whether the server thread is alive (it never panics).
    pub fn alive(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.trigger();
        if let Some(thread) = self.thread.take() {
            let joined = thread.join();
            if !std::thread::panicking() {
                joined.expect("server thread must not panic");
            }
        }
        self.card.card().shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "cardless-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Guest RAM: a sealed memfd, mapped here so the test can look at what the card did.
pub struct GuestMemory {
    pub fd: OwnedFd,
    ptr: NonNull<u8>,
    pub len: usize,
}

// SAFETY: the mapping is plain shared memory owned by this struct.
unsafe impl Send for GuestMemory {}

impl GuestMemory {
    pub fn new(len: usize) -> GuestMemory {
        use rustix::fs::{MemfdFlags, SealFlags};
        let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
        let fd = rustix::fs::memfd_create("guest-ram", flags).unwrap();
        rustix::fs::ftruncate(&fd, len as u64).unwrap();
        // Sealed as QEMU's memory-backend-memfd seals it (seal=on, the
        // default): the card refuses fds that could shrink (SPEC §13).
        let seals = SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL;
        rustix::fs::fcntl_add_seals(&fd, seals).unwrap();
        let ptr = map_shared(fd.as_fd(), len);
        GuestMemory { fd, ptr, len }
    }

    /// Guest RAM of `len` bytes that `client` DMA_MAPs at `iova`, as QEMU
    /// maps the guest's RAM for the card.
    pub fn mapped(client: &mut vfio_user::Client, iova: u64, len: usize) -> GuestMemory {
        use std::os::fd::AsRawFd;
        let memory = GuestMemory::new(len);
        client
            .dma_map(0, iova, len as u64, memory.fd.as_raw_fd())
            .unwrap();
        memory
    }

    pub fn read(&self, offset: usize, out: &mut [u8]) {
        assert!(offset + out.len() <= self.len);
        for (i, byte) in out.iter_mut().enumerate() {
            // SAFETY: in bounds of our mapping (asserted above); volatile
            // because the card writes it behind the compiler's back.
            *byte = unsafe { self.ptr.as_ptr().add(offset + i).read_volatile() };
        }
    }

    pub fn write(&self, offset: usize, data: &[u8]) {
        assert!(offset + data.len() <= self.len);
        for (i, byte) in data.iter().enumerate() {
            // SAFETY: in bounds of our mapping.
            unsafe { self.ptr.as_ptr().add(offset + i).write_volatile(*byte) };
        }
    }
}

impl Drop for GuestMemory {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping made in `new`.
        unsafe {
            let _ = rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// Maps `len` bytes of `fd` shared, read/write.
pub fn map_shared(fd: BorrowedFd<'_>, len: usize) -> NonNull<u8> {
    use rustix::mm::{mmap, MapFlags, ProtFlags};
    // SAFETY: a fresh shared mapping of a file we were handed; nothing else
    // aliases it in this process.
    let ptr = unsafe {
        mmap(
            std::ptr::null_mut(),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED,
            fd,
            0,
        )
    }
    .expect("mmap");
    NonNull::new(ptr.cast()).unwrap()
}

/// An eventfd the test can pass to SET_IRQS and poll.
pub struct EventFd(pub OwnedFd);

impl EventFd {
    pub fn new() -> EventFd {
        use rustix::event::{eventfd, EventfdFlags};
        EventFd(eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC).unwrap())
    }

    /// The counter, reset to 0 (0 if it was not signalled).
    pub fn take(&self) -> u64 {
        let mut buf = [0u8; 8];
        match rustix::io::read(&self.0, &mut buf) {
            Ok(8) => u64::from_le_bytes(buf),
            _ => 0,
        }
    }

    /// The counter once it is non-zero (reset to 0), or 0 after a second.
    pub fn wait(&self) -> u64 {
        for _ in 0..1000 {
            let count = self.take();
            if count != 0 {
                return count;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        0
    }
}

/// One eventfd for each of the first `count` interrupts of IRQ index
/// `index`, wired with SET_IRQS (trigger): what QEMU does when the guest
/// enables INTx, MSI or MSI-X.
pub fn wire(client: &mut vfio_user::Client, index: u32, count: u32) -> Vec<EventFd> {
    use std::os::fd::AsRawFd;
    use vfio_bindings::bindings::vfio::{VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD};
    let fds: Vec<EventFd> = (0..count).map(|_| EventFd::new()).collect();
    let raw: Vec<i32> = fds.iter().map(|fd| fd.0.as_raw_fd()).collect();
    client
        .set_irqs(
            index,
            VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
            0,
            count,
            &raw,
        )
        .unwrap();
    fds
}

/// One eventfd per MSI-X vector of the card, wired (see `wire`).
pub fn wire_msix(client: &mut vfio_user::Client) -> Vec<EventFd> {
    use vfio_bindings::bindings::vfio::VFIO_PCI_MSIX_IRQ_INDEX;
    wire(
        client,
        VFIO_PCI_MSIX_IRQ_INDEX,
        cardless_abi::regs::MSIX_VECTORS.into(),
    )
}

/// SET_IRQS trigger with no data on MSI-X: count 0 unwires every vector;
/// otherwise it fires vectors `start..start + count` (loopback).
pub fn msix_trigger_no_data(client: &mut vfio_user::Client, start: u32, count: u32) {
    use vfio_bindings::bindings::vfio::{
        VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_NONE, VFIO_PCI_MSIX_IRQ_INDEX,
    };
    client
        .set_irqs(
            VFIO_PCI_MSIX_IRQ_INDEX,
            VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
            start,
            count,
            &[],
        )
        .unwrap();
}

/// MSI-X off, every vector unwired.
pub fn unwire_msix(client: &mut vfio_user::Client) {
    msix_trigger_no_data(client, 0, 0);
}

// ---------------------------------------------------------------------------
// Raw protocol
// ---------------------------------------------------------------------------

pub const FLAG_REPLY: u32 = 1;
pub const FLAG_NO_REPLY: u32 = 0x10;
pub const FLAG_ERROR: u32 = 0x20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub command: u16,
    pub size: u32,
    pub flags: u32,
    pub error: u32,
}

pub fn header_bytes(id: u16, command: u16, size: u32, flags: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out
}

/// A command with a correct size field.
pub fn message(id: u16, command: u16, body: &[u8]) -> Vec<u8> {
    let mut out = header_bytes(id, command, 16 + body.len() as u32, 0);
    out.extend_from_slice(body);
    out
}

/// A raw connection that has negotiated the version.
pub struct RawClient {
    pub stream: UnixStream,
}

impl RawClient {
    pub fn connect(path: &Path) -> RawClient {
        let stream = UnixStream::connect(path).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        RawClient { stream }
    }

    pub fn negotiated(path: &Path) -> RawClient {
        let mut client = RawClient::connect(path);
        let mut body = vec![0, 0, 0, 0];
        body.extend_from_slice(b"{\"capabilities\":{\"max_msg_fds\":8}}\0");
        client.send(&message(0, 1, &body));
        let (header, _) = client.recv().expect("version reply");
        assert_eq!(header.flags & FLAG_ERROR, 0, "version accepted");
        client
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    pub fn send_with_fds(&mut self, bytes: &[u8], fds: &[BorrowedFd<'_>]) {
        let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        assert!(control.push(SendAncillaryMessage::ScmRights(fds)));
        let sent = sendmsg(
            &self.stream,
            &[std::io::IoSlice::new(bytes)],
            &mut control,
            SendFlags::empty(),
        )
        .unwrap();
        assert_eq!(sent, bytes.len());
    }

    /// The next reply, or `None` if the server closed the connection.
    pub fn recv(&mut self) -> Option<(Header, Vec<u8>)> {
        let mut raw = [0u8; 16];
        if self.stream.read_exact(&mut raw).is_err() {
            return None;
        }
        let u32_at = |at: usize| u32::from_le_bytes(raw[at..at + 4].try_into().unwrap());
        let header = Header {
            id: u16::from_le_bytes([raw[0], raw[1]]),
            command: u16::from_le_bytes([raw[2], raw[3]]),
            size: u32_at(4),
            flags: u32_at(8),
            error: u32_at(12),
        };
        let mut body = vec![0u8; header.size.saturating_sub(16) as usize];
        self.stream.read_exact(&mut body).ok()?;
        Some((header, body))
    }

    /// Sends `bytes` and expects an error reply; returns its errno.
    pub fn expect_error(&mut self, bytes: &[u8]) -> u32 {
        self.send(bytes);
        let (header, _) = self.recv().expect("an error reply");
        assert_eq!(
            header.flags & (FLAG_REPLY | FLAG_ERROR),
            FLAG_REPLY | FLAG_ERROR,
            "error reply expected, got {header:?}"
        );
        header.error
    }

    /// Whether the server has closed the connection (reads EOF).
    pub fn closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0))
    }
}

/// REGION_READ/REGION_WRITE body.
pub fn region_access(region: u32, offset: u64, count: u32, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&offset.to_le_bytes());
    body.extend_from_slice(&region.to_le_bytes());
    body.extend_from_slice(&count.to_le_bytes());
    body.extend_from_slice(data);
    body
}

pub fn read32(client: &mut vfio_user::Client, region: u32, offset: u64) -> u32 {
    let mut data = [0u8; 4];
    client.region_read(region, offset, &mut data).unwrap();
    u32::from_le_bytes(data)
}

pub fn write32(client: &mut vfio_user::Client, region: u32, offset: u64, value: u32) {
    client
        .region_write(region, offset, &value.to_le_bytes())
        .unwrap();
}

/// One copy-engine command, BAR2 `bar_off` → host `iova`, `len` bytes
/// (SPEC §11); returns COPY_STATUS.
pub fn copy_to_host(client: &mut vfio_user::Client, bar_off: u32, iova: u64, len: u32) -> u32 {
    use cardless_abi::regs;
    let mut w = |reg, value| write32(client, REGION_BAR0, reg, value);
    w(regs::COPY_BAR_OFF, bar_off);
    w(regs::COPY_LEN, len);
    w(regs::COPY_HOST_LO, iova as u32);
    w(regs::COPY_HOST_HI, (iova >> 32) as u32);
    w(regs::COPY_CTRL, regs::COPY_OP_TO_HOST);
    read32(client, REGION_BAR0, regs::COPY_STATUS)
}
