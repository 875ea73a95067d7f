//! A misbehaving client at the protocol level (issue 8): malformed sizes,
//! short bodies, bad indices and offsets, lying DMA fds, fds where none
//! belong. Each gets an error reply with an errno or a closed connection;
//! the server thread never panics and the next client is served.

mod common;

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use cardless_abi::regs;
use common::*;
use rustix::io::Errno;
use vfio_bindings::bindings::vfio::*;

const VERSION: u16 = 1;
const DMA_MAP: u16 = 2;
const DMA_UNMAP: u16 = 3;
const GET_REGION_INFO: u16 = 5;
const GET_IRQ_INFO: u16 = 7;
const SET_IRQS: u16 = 8;
const REGION_READ: u16 = 9;
const REGION_WRITE: u16 = 10;

const EINVAL: u32 = Errno::INVAL.raw_os_error() as u32;
const E2BIG: u32 = Errno::TOOBIG.raw_os_error() as u32;
const EBADF: u32 = Errno::BADF.raw_os_error() as u32;
const ENOTSUP: u32 = Errno::NOTSUP.raw_os_error() as u32;

/// The server is alive and a well-behaved client gets real answers.
fn assert_serves(server: &TestServer) {
    assert!(server.alive(), "server thread still running");
    let mut client = server.client();
    assert_eq!(read32(&mut client, REGION_BAR0, regs::ID), regs::ID_VALUE);
}

fn dma_map_body(flags: u32, offset: u64, iova: u64, size: u64) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&32u32.to_le_bytes());
    body.extend_from_slice(&flags.to_le_bytes());
    body.extend_from_slice(&offset.to_le_bytes());
    body.extend_from_slice(&iova.to_le_bytes());
    body.extend_from_slice(&size.to_le_bytes());
    body
}

fn set_irqs_body(flags: u32, index: u32, start: u32, count: u32) -> Vec<u8> {
    [20, flags, index, start, count]
        .iter()
        .flat_map(|v: &u32| v.to_le_bytes())
        .collect()
}

/// A pipe whose write end we send; EOF on the read end proves the server
/// closed its copy.
fn pipe_probe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK)
        .unwrap()
}

fn reader_sees_eof(read_end: &std::os::fd::OwnedFd) -> bool {
    let mut byte = [0u8; 1];
    matches!(rustix::io::read(read_end, &mut byte), Ok(0))
}

#[test]
fn huge_declared_size_gets_e2big_and_a_closed_connection() {
    let server = TestServer::start();
    let mut raw = RawClient::negotiated(&server.path);
    raw.send(&header_bytes(1, REGION_WRITE, u32::MAX, 0));
    let (header, _) = raw.recv().unwrap();
    assert_eq!(header.error, E2BIG);
    assert!(raw.closed());
    assert!(server.next_ending().is_err());
    drop(raw);
    assert_serves(&server);
}

#[test]
fn size_smaller_than_the_header_closes_the_connection() {
    let server = TestServer::start();
    let mut raw = RawClient::negotiated(&server.path);
    raw.send(&header_bytes(1, REGION_READ, 8, 0));
    assert!(raw.closed());
    assert!(server.next_ending().is_err());
    drop(raw);
    assert_serves(&server);
}

#[test]
fn body_shorter_than_declared_then_hangup() {
    let server = TestServer::start();
    let mut raw = RawClient::negotiated(&server.path);
    let mut message = header_bytes(1, REGION_WRITE, 16 + 16 + 4096, 0);
    message.extend_from_slice(&region_access(REGION_BAR2, 0, 4096, &[1; 100]));
    raw.send(&message);
    drop(raw);
    assert!(server.next_ending().is_err(), "truncated message reported");
    assert_serves(&server);
}

#[test]
fn refused_messages_leave_the_connection_usable() {
    let server = TestServer::start();
    let mut raw = RawClient::negotiated(&server.path);

    // Unknown command with a body: ENOTSUP, body consumed.
    assert_eq!(raw.expect_error(&message(1, 99, &[0xab; 100])), ENOTSUP);
    assert_eq!(raw.expect_error(&message(2, 0, &[])), ENOTSUP);
    // DMA_READ/WRITE go server to client; REGION_WRITE_MULTI not offered.
    assert_eq!(raw.expect_error(&message(3, 11, &[0; 16])), ENOTSUP);
    assert_eq!(raw.expect_error(&message(4, 15, &[0; 8])), ENOTSUP);
    // VERSION again.
    assert_eq!(
        raw.expect_error(&message(5, VERSION, &[0, 0, 0, 0])),
        EINVAL
    );

    // Region indices out of range, absent regions.
    for region in [1, 3, 9, 100, u32::MAX] {
        let body = region_access(region, 0, 4, &[]);
        assert_eq!(raw.expect_error(&message(6, REGION_READ, &body)), EINVAL);
    }
    let mut info = vec![0u8; 32];
    info[0..4].copy_from_slice(&32u32.to_le_bytes());
    info[8..12].copy_from_slice(&9u32.to_le_bytes());
    assert_eq!(
        raw.expect_error(&message(7, GET_REGION_INFO, &info)),
        EINVAL
    );
    assert_eq!(
        raw.expect_error(&message(7, GET_REGION_INFO, &info[..8])),
        EINVAL
    );

    // Reads beyond a region's end, wrapping offsets, oversized transfers.
    let beyond = [
        (REGION_BAR0, regs::BAR0_SIZE - 2, 4),
        (REGION_BAR0, u64::MAX - 1, 4),
        (REGION_CONFIG, 4096, 1),
        (REGION_BAR2, regs::BAR2_DEFAULT_SIZE, 8),
        (REGION_BAR0, 0, 0),
    ];
    for (region, offset, count) in beyond {
        let body = region_access(region, offset, count, &[]);
        assert_eq!(raw.expect_error(&message(8, REGION_READ, &body)), EINVAL);
    }
    let body = region_access(REGION_BAR2, 0, 64 << 20, &[]);
    assert_eq!(raw.expect_error(&message(9, REGION_READ, &body)), E2BIG);
    // REGION_READ with a trailing payload, REGION_WRITE whose count lies.
    let body = region_access(REGION_BAR0, 0, 4, &[1, 2, 3, 4]);
    assert_eq!(raw.expect_error(&message(10, REGION_READ, &body)), EINVAL);
    let body = region_access(REGION_BAR0, regs::SCRATCH, 8, &[1, 2, 3, 4]);
    assert_eq!(raw.expect_error(&message(11, REGION_WRITE, &body)), EINVAL);

    // IRQ indices and ranges.
    let mut irq_info = vec![0u8; 16];
    irq_info[0..4].copy_from_slice(&16u32.to_le_bytes());
    irq_info[8..12].copy_from_slice(&5u32.to_le_bytes());
    assert_eq!(
        raw.expect_error(&message(12, GET_IRQ_INFO, &irq_info)),
        EINVAL
    );
    let trigger = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
    for (index, start, count) in [(7, 0, 1), (2, u32::MAX, 2), (2, 3, 2), (0, 0, 2)] {
        let body = set_irqs_body(trigger, index, start, count);
        assert_eq!(raw.expect_error(&message(13, SET_IRQS, &body)), EINVAL);
    }
    let two_data_types = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL;
    let body = set_irqs_body(two_data_types | VFIO_IRQ_SET_ACTION_TRIGGER, 2, 0, 1);
    assert_eq!(raw.expect_error(&message(14, SET_IRQS, &body)), EINVAL);
    let body = set_irqs_body(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, 2, 0, 1);
    assert_eq!(raw.expect_error(&message(15, SET_IRQS, &body)), EINVAL);

    // DMA: zero size, wrapping range, unknown flags, short body, bad unmap.
    for body in [
        dma_map_body(3, 0, 0x1000, 0),
        dma_map_body(3, 0, u64::MAX - 0xfff, 0x2000),
        dma_map_body(0x80 | 3, 0, 0x1000, 0x1000),
    ] {
        assert_eq!(raw.expect_error(&message(16, DMA_MAP, &body)), EINVAL);
    }
    assert_eq!(raw.expect_error(&message(17, DMA_MAP, &[0; 12])), EINVAL);
    let mut unmap = Vec::new();
    unmap.extend_from_slice(&24u32.to_le_bytes());
    unmap.extend_from_slice(&VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP.to_le_bytes());
    unmap.extend_from_slice(&[0; 16]);
    assert_eq!(raw.expect_error(&message(18, DMA_UNMAP, &unmap)), ENOTSUP);

    // Every body the server reads as a declared layout, one byte short of
    // it: refused, with nothing read past the body's end.
    let get_device_info = 4;
    for (command, layout) in [
        (get_device_info, 16),
        (GET_REGION_INFO, 32),
        (GET_IRQ_INFO, 16),
        (SET_IRQS, 20),
        (REGION_READ, 16),
        (REGION_WRITE, 16),
        (DMA_MAP, 32),
        (DMA_UNMAP, 24),
    ] {
        let short = vec![0xff; layout - 1];
        let errno = raw.expect_error(&message(20, command, &short));
        assert_eq!(errno, EINVAL, "command {command}");
    }
    // Whole bodies whose argsz claims less than the structure: refused.
    for (command, layout) in [
        (get_device_info, 16),
        (GET_REGION_INFO, 32),
        (GET_IRQ_INFO, 16),
        (SET_IRQS, 20),
        (DMA_MAP, 32),
        (DMA_UNMAP, 24),
    ] {
        let mut body = vec![0u8; layout];
        body[..4].copy_from_slice(&(layout as u32 - 1).to_le_bytes());
        let errno = raw.expect_error(&message(21, command, &body));
        assert_eq!(errno, EINVAL, "argsz of command {command}");
    }
    // A REGION_WRITE carrying more bytes than its count.
    let body = region_access(REGION_BAR0, regs::SCRATCH, 4, &[1; 8]);
    assert_eq!(raw.expect_error(&message(22, REGION_WRITE, &body)), EINVAL);

    // Through all of that the connection kept its framing.
    raw.send(&message(
        19,
        REGION_READ,
        &region_access(REGION_BAR0, regs::ID, 4, &[]),
    ));
    let (header, body) = raw.recv().unwrap();
    assert_eq!((header.id, header.flags), (19, FLAG_REPLY));
    assert_eq!(&body[16..], &regs::ID_VALUE.to_le_bytes());
    drop(raw);
    assert_serves(&server);
}

#[test]
fn commands_before_version_are_refused() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server.path);
    let body = region_access(REGION_BAR0, 0, 4, &[]);
    assert_eq!(raw.expect_error(&message(1, REGION_READ, &body)), EINVAL);
    // Bad versions: wrong major, garbage capabilities.
    assert_eq!(
        raw.expect_error(&message(2, VERSION, &[1, 0, 0, 0])),
        ENOTSUP
    );
    let mut garbage = vec![0, 0, 0, 0];
    garbage.extend_from_slice(b"{not json\0");
    assert_eq!(raw.expect_error(&message(3, VERSION, &garbage)), EINVAL);
    assert_eq!(raw.expect_error(&message(4, VERSION, &[0, 0])), EINVAL);
    drop(raw);
    assert_serves(&server);
}

#[test]
fn no_reply_and_reply_typed_messages_get_no_answer() {
    let server = TestServer::start();
    let mut raw = RawClient::negotiated(&server.path);
    // A bad NO_REPLY command: logged, not answered (QEMU would not expect it).
    let mut bad = header_bytes(1, REGION_READ, 16 + 16, FLAG_NO_REPLY);
    bad.extend_from_slice(&region_access(42, 0, 4, &[]));
    raw.send(&bad);
    // A posted write is applied without a reply.
    let mut posted = header_bytes(2, REGION_WRITE, 16 + 16 + 4, FLAG_NO_REPLY);
    posted.extend_from_slice(&region_access(REGION_BAR0, regs::SCRATCH, 4, &[7, 0, 0, 0]));
    raw.send(&posted);
    // A "reply" from the client: ignored.
    raw.send(&header_bytes(3, REGION_READ, 16, FLAG_REPLY));
    raw.send(&message(
        4,
        REGION_READ,
        &region_access(REGION_BAR0, regs::SCRATCH, 4, &[]),
    ));
    let (header, body) = raw.recv().unwrap();
    assert_eq!(header.id, 4, "the first answer is to message 4");
    assert_eq!(&body[16..], &[7, 0, 0, 0]);
}

#[test]
fn lying_and_unexpected_fds_are_refused_and_closed() {
    let server = TestServer::start();
    let mut raw = RawClient::negotiated(&server.path);

    // An fd on a command that takes none: refused, and the server's copy
    // is closed (the pipe reports EOF once ours is gone too).
    let (read_end, write_end) = pipe_probe();
    let body = region_access(REGION_BAR0, 0, 4, &[]);
    raw.send_with_fds(&message(1, REGION_READ, &body), &[write_end.as_fd()]);
    assert_eq!(raw.recv().unwrap().0.error, EINVAL);
    drop(write_end);
    assert!(
        reader_sees_eof(&read_end),
        "server closed the unexpected fd"
    );

    // DMA_MAP whose fd is smaller than the mapping it claims: refused
    // before anything is mapped (no SIGBUS later).
    let small = GuestMemory::new(4096);
    let body = dma_map_body(3, 0, 0x10_0000, 1 << 20);
    raw.send_with_fds(&message(2, DMA_MAP, &body), &[small.fd.as_fd()]);
    assert_eq!(raw.recv().unwrap().0.error, EBADF);
    let body = dma_map_body(3, 4096, 0x10_0000, 4096);
    raw.send_with_fds(&message(3, DMA_MAP, &body), &[small.fd.as_fd()]);
    assert_eq!(raw.recv().unwrap().0.error, EBADF, "offset past the end");
    // ... whose fd is not a file, or that carries two fds.
    let event = EventFd::new();
    let body = dma_map_body(3, 0, 0x10_0000, 4096);
    raw.send_with_fds(&message(4, DMA_MAP, &body), &[event.0.as_fd()]);
    assert_eq!(raw.recv().unwrap().0.error, EBADF);
    raw.send_with_fds(
        &message(5, DMA_MAP, &body),
        &[small.fd.as_fd(), small.fd.as_fd()],
    );
    assert_eq!(raw.recv().unwrap().0.error, EINVAL);

    // SET_IRQS with something that is not an eventfd, or too few fds.
    let (read_end, write_end) = pipe_probe();
    let eventfd_trigger = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    let body = set_irqs_body(eventfd_trigger, 0, 0, 1);
    raw.send_with_fds(&message(6, SET_IRQS, &body), &[write_end.as_fd()]);
    assert_eq!(raw.recv().unwrap().0.error, EBADF);
    drop(write_end);
    assert!(reader_sees_eof(&read_end));
    let body = set_irqs_body(eventfd_trigger, 2, 0, 3);
    raw.send_with_fds(&message(7, SET_IRQS, &body), &[event.0.as_fd()]);
    assert_eq!(raw.recv().unwrap().0.error, EINVAL);

    // More fds than any message may carry.
    let many: Vec<EventFd> = (0..20).map(|_| EventFd::new()).collect();
    let borrowed: Vec<BorrowedFd<'_>> = many.iter().map(|fd| fd.0.as_fd()).collect();
    let body = set_irqs_body(eventfd_trigger, 2, 0, 4);
    raw.send_with_fds(&message(8, SET_IRQS, &body), &borrowed);
    assert_eq!(raw.recv().unwrap().0.error, EINVAL);

    // A correct DMA_MAP still works on this connection.
    let guest = GuestMemory::new(1 << 16);
    let body = dma_map_body(3, 0, 0x10_0000, 1 << 16);
    raw.send_with_fds(&message(9, DMA_MAP, &body), &[guest.fd.as_fd()]);
    let (header, _) = raw.recv().unwrap();
    assert_eq!((header.id, header.flags), (9, FLAG_REPLY));
    let _ = small.fd.as_raw_fd();
    drop(raw);
    assert_serves(&server);
}

/// Seeded garbage: random commands, sizes, flags and bodies, each on a
/// fresh connection after version negotiation. Nothing may panic or hang.
#[test]
fn random_garbage_never_takes_the_server_down() {
    let server = TestServer::start();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..200 {
        let mut raw = RawClient::negotiated(&server.path);
        for _ in 0..8 {
            let command = (next() % 17) as u16;
            let body_len = (next() % 80) as usize;
            let body: Vec<u8> = (0..body_len).map(|_| next() as u8).collect();
            let flags = if next() % 4 == 0 {
                next() as u32 & 0x3f
            } else {
                0
            };
            // Mostly honest sizes, so the framing survives and deeper code runs.
            let size = if next() % 8 == 0 {
                next() as u32 % 256
            } else {
                16 + body_len as u32
            };
            let mut bytes = header_bytes(next() as u16, command, size, flags);
            bytes.extend_from_slice(&body);
            use std::io::Write;
            if raw.stream.write_all(&bytes).is_err() {
                break;
            }
        }
        drop(raw);
    }
    assert_serves(&server);
}
