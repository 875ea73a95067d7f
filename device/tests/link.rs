//! `cardless-device link`: the relay between QEMU and a card's server that
//! outlives the server. A `vfio_user::Client` stands in for QEMU; the
//! link runs as the real binary, so a panic shows as a dead process.

mod common;

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cardless_abi::regs;
use common::*;
use rustix::io::Errno;

const REGION_READ: u16 = 9;
const REGION_WRITE: u16 = 10;
const DMA_UNMAP: u16 = 3;
const DEVICE_GET_INFO: u16 = 4;

/// A `cardless-device link` process, killed when dropped.
struct Link {
    child: Child,
    path: PathBuf,
}

impl Link {
    fn start(server: &Path) -> Link {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        // A fresh name each time: a killed link leaves its socket file.
        let path =
            server.with_file_name(format!("link{}.sock", NEXT.fetch_add(1, Ordering::SeqCst)));
        let child = Command::new(env!("CARGO_BIN_EXE_cardless-device"))
            .args(["link", "--listen"])
            .arg(&path)
            .arg("--server")
            .arg(server)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cardless-device link");
        wait_for_socket(&path);
        Link { child, path }
    }

    fn client(&self) -> vfio_user::Client {
        vfio_user::Client::new(&self.path).expect("the vfio_user client connects through the link")
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the link to exit; returns (success, stderr).
    fn exit(mut self) -> (bool, String) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the link did not exit");
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stderr = String::new();
        use std::io::Read;
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status.success(), stderr)
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_socket(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A card server in its own process, so that it can be SIGKILLed; killed
/// when dropped (a failing test leaves no process behind).
struct ServerProcess(Child);

impl ServerProcess {
    fn sigkill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_server(socket: &Path) -> ServerProcess {
    let child = Command::new(env!("CARGO_BIN_EXE_cardless-device"))
        .args(["--deterministic", "--log-level", "warn", "--socket"])
        .arg(socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start cardless-device");
    let server = ServerProcess(child);
    wait_for_socket(socket);
    server
}

/// Everything a client learns about the card without changing it.
fn identity(client: &mut vfio_user::Client) -> Vec<String> {
    let mut out = Vec::new();
    for index in 0..9 {
        let region = client.region(index).unwrap();
        out.push(format!(
            "region {index}: size {:#x} flags {:#x} areas {:?} fd {}",
            region.size,
            region.flags,
            region
                .sparse_areas
                .iter()
                .map(|a| (a.offset, a.size))
                .collect::<Vec<_>>(),
            region.file_offset.is_some()
        ));
    }
    for index in 0..5 {
        let info = client.get_irq_info(index).unwrap();
        out.push(format!(
            "irq {index}: {} flags {:#x}",
            info.count, info.flags
        ));
    }
    let mut config = vec![0u8; 4096];
    client.region_read(REGION_CONFIG, 0, &mut config).unwrap();
    out.push(format!("config {config:?}"));
    out.push(format!("id {:#x}", read32(client, REGION_BAR0, regs::ID)));
    out
}

#[test]
fn relay_is_transparent_fds_included() {
    let direct = TestServer::start();
    let behind = TestServer::start();
    let link = Link::start(&behind.path);
    assert_eq!(
        identity(&mut link.client()),
        identity(&mut direct.client()),
        "the card looks the same through the link"
    );
    // The first client's departure closed the server's connection too.
    assert_eq!(behind.next_ending(), Ok(()));
    drop(link);

    let link = Link::start(&behind.path);
    let mut client = link.client();
    // DMA_MAP carries guest memory's fd, SET_IRQS the eventfds: the card
    // can only DMA into the first and signal the second if both got through.
    let iova = 0x1_0000_0000u64;
    let guest = GuestMemory::mapped(&mut client, iova, 1 << 20);
    let vectors = common::wire_msix(&mut client);
    write32(
        &mut client,
        REGION_BAR0,
        regs::INT_MASK,
        regs::INT_COPY_DONE,
    );
    let pattern: Vec<u8> = (0..256u32).map(|i| (i * 13 + 1) as u8).collect();
    client.region_write(REGION_BAR2, 0x100, &pattern).unwrap();
    assert_eq!(
        copy_to_host(&mut client, 0x100, iova + 0x2000, pattern.len() as u32),
        regs::ERR_NONE
    );
    let mut landed = vec![0u8; pattern.len()];
    guest.read(0x2000, &mut landed);
    assert_eq!(landed, pattern, "the card DMA'd through the relayed fd");
    assert_eq!(
        vectors[usize::from(regs::VEC_COPY_DONE)].wait(),
        1,
        "COPY_DONE through the relayed eventfd"
    );
    client.dma_unmap(iova, guest.len as u64).unwrap();
    drop(client);
    assert_eq!(behind.next_ending(), Ok(()));
}

#[test]
fn server_errors_pass_through_unchanged() {
    let direct = TestServer::start();
    let behind = TestServer::start();
    let link = Link::start(&behind.path);
    let errnos = |path: &Path| {
        let mut raw = RawClient::negotiated(path);
        [
            raw.expect_error(&message(
                1,
                REGION_READ,
                &region_access(0, 0x10_0000, 4, &[]),
            )),
            raw.expect_error(&message(2, 14, &[])),
            raw.expect_error(&message(3, 0x7777, &[])),
            raw.expect_error(&message(4, DEVICE_GET_INFO, &[1])),
        ]
    };
    let expected = errnos(&direct.path);
    assert_eq!(errnos(&link.path), expected);
    assert!(expected.iter().all(|&errno| errno != 0));
}

#[test]
fn server_sigkill_leaves_a_card_that_reads_all_ones() {
    let dir = tempdir();
    let socket = dir.join("card.sock");
    let mut server = spawn_server(&socket);
    let mut link = Link::start(&socket);
    let mut client = link.client();
    let id = read32(&mut client, REGION_BAR0, regs::ID);
    assert_ne!(id, 0xffff_ffff, "the live card answers");
    let guest = GuestMemory::mapped(&mut client, 0x10000, 1 << 16);

    server.sigkill();

    // What a guest sees of a card that fell off the bus.
    assert_eq!(read32(&mut client, REGION_BAR0, regs::ID), 0xffff_ffff);
    let mut config = vec![0u8; 256];
    client.region_read(REGION_CONFIG, 0, &mut config).unwrap();
    assert!(
        config.iter().all(|&b| b == 0xff),
        "config space is all-ones"
    );
    let mut big = vec![0u8; 64 * 1024];
    client.region_read(REGION_BAR2, 0, &mut big).unwrap();
    assert!(big.iter().all(|&b| b == 0xff));
    // Teardown succeeds doing nothing.
    write32(&mut client, REGION_BAR0, regs::INT_MASK, 0);
    client.dma_unmap(0x10000, guest.len as u64).unwrap();
    client
        .dma_map(0, 0x20000, guest.len as u64, guest.fd.as_raw_fd())
        .unwrap();
    unwire_msix(&mut client);
    client.reset().unwrap();
    // (Questions about the device get ENODEV: see the raw-message tests;
    // the vfio_user client reads a fixed-size reply even after an error.)
    assert!(link.alive(), "the link survives its server");

    drop(client);
    let (success, stderr) = link.exit();
    assert!(success, "the link exits cleanly when QEMU leaves: {stderr}");
    assert!(stderr.contains("server is gone"), "it says why: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dead_card_answers_over_raw_messages() {
    let dir = tempdir();
    let socket = dir.join("card.sock");
    let mut server = spawn_server(&socket);
    let link = Link::start(&socket);
    let mut raw = RawClient::negotiated(&link.path);
    server.sigkill();

    raw.send(&message(5, REGION_READ, &region_access(0, 0x10, 8, &[])));
    let (header, body) = raw.recv().unwrap();
    assert_eq!((header.id, header.flags, header.error), (5, FLAG_REPLY, 0));
    assert_eq!(&body[..16], &region_access(0, 0x10, 8, &[])[..]);
    assert_eq!(&body[16..], &[0xff; 8]);

    raw.send(&message(
        6,
        REGION_WRITE,
        &region_access(0, 0x20, 4, &[1, 2, 3, 4]),
    ));
    let (header, body) = raw.recv().unwrap();
    assert_eq!((header.id, header.error), (6, 0));
    assert_eq!(body, region_access(0, 0x20, 4, &[]));

    let unmap: Vec<u8> = [24u32.to_le_bytes(), 0u32.to_le_bytes()]
        .concat()
        .into_iter()
        .chain(0x1000u64.to_le_bytes())
        .chain(0x2000u64.to_le_bytes())
        .collect();
    raw.send(&message(7, DMA_UNMAP, &unmap));
    let (header, body) = raw.recv().unwrap();
    assert_eq!((header.id, header.error, body), (7, 0, unmap));

    assert_eq!(
        raw.expect_error(&message(8, DEVICE_GET_INFO, &[16, 0, 0, 0])),
        Errno::NODEV.raw_os_error() as u32
    );
    drop(raw);
    assert!(link.exit().0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_input_gets_errors_never_a_crash() {
    let dir = tempdir();
    let socket = dir.join("card.sock");
    let mut server = spawn_server(&socket);
    let mut link = Link::start(&socket);
    let mut raw = RawClient::negotiated(&link.path);
    server.sigkill();

    // Short bodies, an impossible size, an unknown command, fds where
    // none belong: each refused with its errno, the link carries on.
    assert_eq!(
        raw.expect_error(&message(1, REGION_READ, &[1, 2, 3])),
        Errno::INVAL.raw_os_error() as u32
    );
    assert_eq!(
        raw.expect_error(&message(
            2,
            REGION_READ,
            &region_access(0, 0, u32::MAX, &[])
        )),
        Errno::TOOBIG.raw_os_error() as u32
    );
    assert_eq!(
        raw.expect_error(&message(3, REGION_WRITE, &[0; 15])),
        Errno::INVAL.raw_os_error() as u32
    );
    assert_eq!(
        raw.expect_error(&message(4, DMA_UNMAP, &[0; 23])),
        Errno::INVAL.raw_os_error() as u32
    );
    assert_eq!(
        raw.expect_error(&message(5, 0xffff, &[0; 100])),
        Errno::NODEV.raw_os_error() as u32
    );
    let eventfd = EventFd::new();
    use std::os::fd::AsFd;
    raw.send_with_fds(
        &message(6, DEVICE_GET_INFO, &[0; 16]),
        &[eventfd.0.as_fd(), eventfd.0.as_fd()],
    );
    let (header, _) = raw.recv().unwrap();
    assert_eq!(
        (header.id, header.error),
        (6, Errno::NODEV.raw_os_error() as u32)
    );
    // A reply-type message and a NO_REPLY command get no answer: the next
    // reply is for the next command.
    raw.send(&header_bytes(9, REGION_READ, 16, FLAG_REPLY));
    let mut no_reply = message(10, REGION_READ, &region_access(0, 0, 4, &[]));
    no_reply[8] = FLAG_NO_REPLY as u8;
    raw.send(&no_reply);
    raw.send(&message(11, REGION_READ, &region_access(0, 0, 4, &[])));
    let (header, body) = raw.recv().unwrap();
    assert_eq!((header.id, &body[16..]), (11, &[0xffu8; 4][..]));
    assert!(link.alive());

    // A size that cannot be framed ends QEMU's connection, not the process
    // by a panic.
    raw.send(&header_bytes(12, REGION_READ, 3, 0));
    assert!(raw.closed(), "the link closes a stream it cannot parse");
    let (_, stderr) = link.exit();
    assert!(stderr.contains("cannot be parsed"), "it says why: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fake server that takes one command and dies without replying: the
/// command left in flight is answered by the link.
#[test]
fn a_command_in_flight_when_the_server_dies_is_answered() {
    let dir = tempdir();
    let socket = dir.join("fake.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let fake = std::thread::spawn(move || {
        use std::io::Read;
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = [0u8; 16];
        stream.read_exact(&mut head).unwrap();
        let size = u32::from_le_bytes(head[4..8].try_into().unwrap()) as usize;
        let mut body = vec![0u8; size - 16];
        stream.read_exact(&mut body).unwrap();
        // and dies without replying
    });
    let link = Link::start(&socket);
    let mut raw = RawClient::connect(&link.path);
    raw.send(&message(42, REGION_READ, &region_access(2, 0x80, 16, &[])));
    let (header, body) = raw.recv().expect("the link answers for the dead server");
    assert_eq!((header.id, header.flags, header.error), (42, FLAG_REPLY, 0));
    assert_eq!(&body[16..], &[0xff; 16]);
    fake.join().unwrap();
    drop(raw);
    assert!(link.exit().0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server that sends garbage is as good as dead: the link says so and
/// answers in its place.
#[test]
fn garbage_from_the_server_counts_as_its_death() {
    let dir = tempdir();
    let socket = dir.join("liar.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let liar = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = [0u8; 16];
        stream.read_exact(&mut head).unwrap();
        stream
            .write_all(&header_bytes(0, 1, 2, FLAG_REPLY))
            .unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest); // until the link closes us
    });
    let link = Link::start(&socket);
    let mut raw = RawClient::connect(&link.path);
    raw.send(&message(1, REGION_READ, &region_access(0, 0, 4, &[])));
    let (header, body) = raw.recv().unwrap();
    assert_eq!(
        (header.id, header.error, &body[16..]),
        (1, 0, &[0xffu8; 4][..])
    );
    liar.join().unwrap();
    drop(raw);
    let (success, stderr) = link.exit();
    assert!(success && stderr.contains("server is gone"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
