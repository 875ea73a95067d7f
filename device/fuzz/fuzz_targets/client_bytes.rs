//! Raw client bytes into the device's own vfio-user server loop
//! (`cardless_device::vfio::Server::serve`), in process, over a Unix
//! socketpair, with a real card model (deterministic mode) behind it.
//!
//! A client thread sends the chunks (some with fds), reads every reply so
//! the server never blocks on a full socket, then half-closes. Whatever the
//! bytes, `serve` must return (libFuzzer's -timeout catches a hang), without
//! a panic or a signal, and every fd the client passed must be closed again
//! by the time the connection is over (fd-count check).

#![no_main]

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use cardless_abi::regs::BAR2_MIN_SIZE;
use cardless_device::model::CardConfig;
use cardless_device::vfio::{CardPort, PollPolicy, Server};
use cardless_device_fuzz::client::{decode, msg, Chunk, Fds, GUEST_SIZE};
use cardless_device_fuzz::{eventfd, memfd, open_fds};
use libfuzzer_sys::fuzz_target;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};

/// Reads whatever replies are there (closing any fd that came with them);
/// false once the server has closed its end.
fn drain(stream: &UnixStream, flags: RecvFlags) -> bool {
    let mut buf = [0u8; 16384];
    let mut cmsg = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
    loop {
        let mut control = RecvAncillaryBuffer::new(&mut cmsg);
        let result = recvmsg(
            stream,
            &mut [IoSliceMut::new(&mut buf)],
            &mut control,
            flags | RecvFlags::CMSG_CLOEXEC,
        );
        for message in control.drain() {
            if let RecvAncillaryMessage::ScmRights(fds) = message {
                fds.for_each(drop);
            }
        }
        match result {
            Ok(r) if r.bytes == 0 => return false,
            Ok(_) => {}
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => return true,
            Err(_) => return false,
        }
    }
}

fn make_fds(kind: Fds, guest: &OwnedFd) -> Vec<OwnedFd> {
    match kind {
        Fds::None => Vec::new(),
        Fds::GuestMemory => vec![guest.try_clone().expect("dup")],
        Fds::EventFd => vec![eventfd()],
        Fds::UnsealedMemfd => vec![memfd("unsealed", GUEST_SIZE, false)],
        Fds::TwoEventFds => vec![eventfd(), eventfd()],
    }
}

/// Sends `bytes` (fds with the first byte) while draining replies; false
/// once the server has gone.
fn send_chunk(stream: &UnixStream, bytes: &[u8], fds: &[OwnedFd]) -> bool {
    let borrowed: Vec<BorrowedFd<'_>> = fds.iter().map(|fd| fd.as_fd()).collect();
    let mut sent = 0;
    while sent < bytes.len() {
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if sent == 0 && !borrowed.is_empty() {
            control.push(SendAncillaryMessage::ScmRights(&borrowed));
        }
        match sendmsg(
            stream,
            &[IoSlice::new(&bytes[sent..])],
            &mut control,
            SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
        ) {
            Ok(n) => sent += n,
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => {
                let mut pfd = [PollFd::new(stream, PollFlags::IN | PollFlags::OUT)];
                match poll(&mut pfd, None) {
                    Ok(_) | Err(Errno::INTR) => {}
                    Err(_) => return false,
                }
            }
            Err(_) => return false,
        }
        if !drain(stream, RecvFlags::DONTWAIT) {
            return false;
        }
    }
    true
}

/// The client side: every chunk, then half-close and read to the end.
fn client(stream: UnixStream, version_first: bool, chunks: Vec<(Fds, Vec<u8>)>) {
    let guest = memfd("guest-ram", GUEST_SIZE, true);
    let mut alive = true;
    if version_first {
        alive = send_chunk(&stream, &msg::version(0), &[]);
    }
    for (kind, bytes) in &chunks {
        if !alive {
            break;
        }
        let fds = make_fds(*kind, &guest);
        alive = send_chunk(&stream, bytes, &fds);
    }
    let _ = stream.shutdown(Shutdown::Write);
    // Blocking from here: read until the server closes its end.
    if stream.set_nonblocking(false).is_ok() {
        while drain(&stream, RecvFlags::empty()) {}
    }
}

fuzz_target!(|data: &[u8]| {
    let (version_first, chunks) = decode(data);
    let chunks: Vec<(Fds, Vec<u8>)> = chunks
        .into_iter()
        .map(|Chunk { fds, bytes }| (fds, bytes.to_vec()))
        .collect();
    let fds_before = open_fds();
    {
        let config = CardConfig {
            deterministic: true,
            bar2_size: 16 * BAR2_MIN_SIZE,
            debug_window: true,
            ..CardConfig::default()
        };
        let (card, irqs) = CardPort::build(config).expect("card");
        let mut server = Server::new(card, irqs, PollPolicy::blocking()).expect("server");
        let (ours, theirs) = UnixStream::pair().expect("socketpair");
        theirs.set_nonblocking(true).expect("nonblocking");
        let peer = std::thread::spawn(move || client(theirs, version_first, chunks));
        // Any ending is fine (disconnect, framing error): only returning counts.
        let _ = server.serve(ours);
        peer.join().expect("client thread");
        server.card().card().shutdown();
    }
    let fds_after = open_fds();
    assert_eq!(
        fds_before, fds_after,
        "file descriptors leaked by a connection ({fds_before} open before, {fds_after} after)"
    );
});
