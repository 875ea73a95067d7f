//! Whole vfio-user messages as the link moves them: header, body and the
//! file descriptors that came with them, read with the server's own
//! receive code and sent with every fd attached to the first byte.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use rustix::net::{sendmsg, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};

use cardless_device::vfio::socket::AdaptiveSocket;
use cardless_device::vfio::wire::{Header, HEADER_SIZE, MAX_MSG_FDS};
use cardless_device::vfio::ConnectionError;

/// One message, exactly as it arrived.
pub struct Message {
    pub header: Header,
    /// The whole message, header included.
    pub bytes: Vec<u8>,
    pub fds: Vec<OwnedFd>,
    /// The kernel dropped fds: the message cannot be passed on faithfully.
    pub fds_truncated: bool,
}

impl Message {
    pub fn body(&self) -> &[u8] {
        &self.bytes[HEADER_SIZE..]
    }
}

/// Reads the next message. `Ok(None)`: the peer closed between messages.
/// A size that cannot be framed is an error: the rest of the stream is
/// unparseable.
pub fn read(socket: &mut AdaptiveSocket) -> Result<Option<Message>, ConnectionError> {
    let mut head = [0u8; HEADER_SIZE];
    let mut fds = Vec::new();
    if !socket.recv_exact(&mut head, &mut fds)? {
        return Ok(None);
    }
    let header = Header::decode(&head);
    let mut bytes = vec![0u8; header.framed_size()?];
    bytes[..HEADER_SIZE].copy_from_slice(&head);
    if bytes.len() > HEADER_SIZE && !socket.recv_exact(&mut bytes[HEADER_SIZE..], &mut fds)? {
        return Err(ConnectionError::Truncated);
    }
    socket.message_done();
    let fds_truncated = socket.take_fds_truncated() || fds.len() > MAX_MSG_FDS;
    Ok(Some(Message {
        header,
        bytes,
        fds,
        fds_truncated,
    }))
}

/// Sends all of `bytes` with `fds` attached to the first byte. The stream
/// may be non-blocking (it shares its file description with an
/// [`AdaptiveSocket`]): a full socket buffer waits in `poll`.
pub fn send(stream: &UnixStream, bytes: &[u8], fds: &[OwnedFd]) -> io::Result<()> {
    let borrowed: Vec<_> = fds.iter().map(|fd| fd.as_fd()).collect();
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_MSG_FDS))];
    let mut sent = 0;
    let mut first = true;
    while sent < bytes.len() {
        let mut control = SendAncillaryBuffer::new(&mut space);
        let attach = first && !borrowed.is_empty();
        if attach
            && (borrowed.len() > MAX_MSG_FDS
                || !control.push(SendAncillaryMessage::ScmRights(&borrowed)))
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} fds exceed the {MAX_MSG_FDS} a message may carry",
                    borrowed.len()
                ),
            ));
        }
        // NOSIGNAL: a peer that went away is an error to handle, not SIGPIPE.
        match sendmsg(
            stream,
            &[io::IoSlice::new(&bytes[sent..])],
            &mut control,
            SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
        ) {
            Ok(count) => {
                sent += count;
                first = false;
            }
            Err(Errno::AGAIN) => {
                let mut wait = [PollFd::new(stream, PollFlags::OUT)];
                match poll(&mut wait, None) {
                    Ok(_) | Err(Errno::INTR) => {}
                    Err(error) => return Err(error.into()),
                }
            }
            Err(Errno::INTR) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}
