//! Message framing: the 16-byte vfio-user header as a declared layout,
//! the one bounds-checked way a body's layout is read ([`read_body`]), and
//! the protocol's limits and codes. The bodies are in [`super::bodies`].
//!
//! Layouts follow libvfio-user's `docs/vfio-user.rst` (QEMU's
//! `hw/vfio-user/protocol.h` is the same). Every multi-byte field is
//! little-endian, and declared so (zerocopy's `little_endian` types), so
//! the layouts read the same on any host.

use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::error::{ConnectionError, ProtocolError};

/// Size of the header every message starts with.
pub const HEADER_SIZE: usize = 16;

/// Largest payload of a REGION_READ/REGION_WRITE we accept and advertise
/// (`max_data_xfer_size`): QEMU's default.
pub const MAX_DATA_XFER: u32 = 1 << 20;

/// Largest message we accept: a REGION_WRITE of [`MAX_DATA_XFER`] bytes plus
/// its headers, with room for a VERSION message's capabilities string.
pub const MAX_MESSAGE_SIZE: u32 = MAX_DATA_XFER + 4096;

/// Most file descriptors one message may carry (`max_msg_fds`; QEMU's
/// upper bound, also what it chunks SET_IRQS eventfds to).
pub const MAX_MSG_FDS: usize = 16;

/// Bits of the header's `flags` word.
pub mod flags {
    /// Mask of the message type field.
    pub const TYPE_MASK: u32 = 0xf;
    /// Type: a command.
    pub const COMMAND: u32 = 0x0;
    /// Type: a reply.
    pub const REPLY: u32 = 0x1;
    /// The sender does not want a reply.
    pub const NO_REPLY: u32 = 0x10;
    /// The reply reports an error in the `error` field.
    pub const ERROR: u32 = 0x20;
}

/// Command codes. The `vfio_user` crate's `Command` enum lacks
/// REGION_WRITE_MULTI, so the loop dispatches on these numbers.
pub mod command {
    pub const VERSION: u16 = 1;
    pub const DMA_MAP: u16 = 2;
    pub const DMA_UNMAP: u16 = 3;
    pub const DEVICE_GET_INFO: u16 = 4;
    pub const DEVICE_GET_REGION_INFO: u16 = 5;
    pub const DEVICE_GET_REGION_IO_FDS: u16 = 6;
    pub const DEVICE_GET_IRQ_INFO: u16 = 7;
    pub const DEVICE_SET_IRQS: u16 = 8;
    pub const REGION_READ: u16 = 9;
    pub const REGION_WRITE: u16 = 10;
    pub const DMA_READ: u16 = 11;
    pub const DMA_WRITE: u16 = 12;
    pub const DEVICE_RESET: u16 = 13;
    pub const DIRTY_PAGES: u16 = 14;
    pub const REGION_WRITE_MULTI: u16 = 15;

    /// Name of a command code for logs.
    pub fn name(code: u16) -> &'static str {
        match code {
            VERSION => "VERSION",
            DMA_MAP => "DMA_MAP",
            DMA_UNMAP => "DMA_UNMAP",
            DEVICE_GET_INFO => "DEVICE_GET_INFO",
            DEVICE_GET_REGION_INFO => "DEVICE_GET_REGION_INFO",
            DEVICE_GET_REGION_IO_FDS => "DEVICE_GET_REGION_IO_FDS",
            DEVICE_GET_IRQ_INFO => "DEVICE_GET_IRQ_INFO",
            DEVICE_SET_IRQS => "DEVICE_SET_IRQS",
            REGION_READ => "REGION_READ",
            REGION_WRITE => "REGION_WRITE",
            DMA_READ => "DMA_READ",
            DMA_WRITE => "DMA_WRITE",
            DEVICE_RESET => "DEVICE_RESET",
            DIRTY_PAGES => "DIRTY_PAGES",
            REGION_WRITE_MULTI => "REGION_WRITE_MULTI",
            _ => "unknown",
        }
    }
}

/// The header every message starts with.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Unaligned,
)]
#[repr(C)]
pub struct Header {
    pub message_id: U16,
    pub command: U16,
    /// Size of the whole message, header included.
    pub message_size: U32,
    pub flags: U32,
    /// errno of an error reply, 0 otherwise.
    pub error: U32,
}

const _: () = assert!(size_of::<Header>() == HEADER_SIZE);

impl Header {
    pub fn new(message_id: u16, command: u16, message_size: u32, flags: u32, error: u32) -> Self {
        Header {
            message_id: message_id.into(),
            command: command.into(),
            message_size: message_size.into(),
            flags: flags.into(),
            error: error.into(),
        }
    }

    pub fn decode(bytes: &[u8; HEADER_SIZE]) -> Header {
        zerocopy::transmute!(*bytes)
    }

    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        zerocopy::transmute!(*self)
    }

    pub fn message_id(&self) -> u16 {
        self.message_id.get()
    }

    pub fn command(&self) -> u16 {
        self.command.get()
    }

    pub fn message_size(&self) -> u32 {
        self.message_size.get()
    }

    pub fn flags(&self) -> u32 {
        self.flags.get()
    }

    pub fn is_command(&self) -> bool {
        self.flags() & flags::TYPE_MASK == flags::COMMAND
    }

    pub fn no_reply(&self) -> bool {
        self.flags() & flags::NO_REPLY != 0
    }

    /// The header of the reply to this command: same id and command,
    /// `message_size` bytes, the ERROR flag and `errno` when it is not 0.
    pub fn reply(&self, message_size: u32, errno: i32) -> Header {
        let mut reply_flags = flags::REPLY;
        if errno != 0 {
            reply_flags |= flags::ERROR;
        }
        Header::new(
            self.message_id(),
            self.command(),
            message_size,
            reply_flags,
            errno as u32,
        )
    }

    /// The whole message's size, if it can be framed (at least a header)
    /// and buffered (at most [`MAX_MESSAGE_SIZE`]); otherwise the rest of
    /// the stream cannot be parsed.
    pub fn framed_size(&self) -> Result<usize, ConnectionError> {
        let size = self.message_size();
        if (size as usize) < HEADER_SIZE {
            return Err(ConnectionError::MessageTooSmall(size));
        }
        if size > MAX_MESSAGE_SIZE {
            return Err(ConnectionError::MessageTooLarge {
                size,
                max: MAX_MESSAGE_SIZE,
            });
        }
        Ok(size as usize)
    }
}

/// Reads the declared layout `T` at the start of the body of a `command`
/// message; what follows it (data, a capability string) comes back too.
/// A body shorter than `T` is refused, naming the command: nothing is read
/// past a body's end, and the layouts are byte-aligned, so no other failure
/// exists.
pub fn read_body<T>(command: u16, body: &[u8]) -> Result<(&T, &[u8]), ProtocolError>
where
    T: FromBytes + KnownLayout + Immutable + Unaligned,
{
    T::ref_from_prefix(body).map_err(|_| ProtocolError::BodyTooShort {
        command: command::name(command),
        got: body.len(),
        need: size_of::<T>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfio::bodies::DmaMap;

    #[test]
    fn header_round_trips_little_endian() {
        let header = Header::new(
            0x1234,
            command::REGION_READ,
            32,
            flags::REPLY | flags::ERROR,
            22,
        );
        let bytes = header.encode();
        assert_eq!(bytes[..4], [0x34, 0x12, 9, 0]);
        assert_eq!(bytes[12], 22);
        assert_eq!(Header::decode(&bytes), header);
        assert_eq!(header.message_id(), 0x1234);
    }

    #[test]
    fn bodies_shorter_than_their_layout_are_refused() {
        let body = [1u8; 33];
        let (map, rest) = read_body::<DmaMap>(command::DMA_MAP, &body).unwrap();
        assert_eq!(map.argsz.get(), 0x0101_0101);
        assert_eq!(rest, [1]);
        assert!(matches!(
            read_body::<DmaMap>(command::DMA_MAP, &body[..31]),
            Err(ProtocolError::BodyTooShort {
                command: "DMA_MAP",
                got: 31,
                need: 32,
            })
        ));
    }
}
