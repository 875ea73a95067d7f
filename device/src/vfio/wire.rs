//! Message framing: the 16-byte vfio-user header, little-endian body
//! decoding that fails instead of panicking, and reply encoding.
//!
//! Layouts follow libvfio-user's `docs/vfio-user.rst` (QEMU's
//! `hw/vfio-user/protocol.h` is the same). Every multi-byte field is
//! little-endian; only x86-64 and other little-endian hosts speak it.

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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Header {
    pub message_id: u16,
    pub command: u16,
    /// Size of the whole message, header included.
    pub message_size: u32,
    pub flags: u32,
    /// errno of an error reply, 0 otherwise.
    pub error: u32,
}

impl Header {
    pub fn decode(bytes: &[u8; HEADER_SIZE]) -> Header {
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        Header {
            message_id: u16_at(0),
            command: u16_at(2),
            message_size: u32_at(4),
            flags: u32_at(8),
            error: u32_at(12),
        }
    }

    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut out = [0u8; HEADER_SIZE];
        out[0..2].copy_from_slice(&self.message_id.to_le_bytes());
        out[2..4].copy_from_slice(&self.command.to_le_bytes());
        out[4..8].copy_from_slice(&self.message_size.to_le_bytes());
        out[8..12].copy_from_slice(&self.flags.to_le_bytes());
        out[12..16].copy_from_slice(&self.error.to_le_bytes());
        out
    }

    pub fn is_command(&self) -> bool {
        self.flags & flags::TYPE_MASK == flags::COMMAND
    }

    pub fn no_reply(&self) -> bool {
        self.flags & flags::NO_REPLY != 0
    }

    /// The header of the reply to this command: same id and command,
    /// `message_size` bytes, the ERROR flag and `errno` when it is not 0.
    pub fn reply(&self, message_size: u32, errno: i32) -> Header {
        let mut reply_flags = flags::REPLY;
        if errno != 0 {
            reply_flags |= flags::ERROR;
        }
        Header {
            message_id: self.message_id,
            command: self.command,
            message_size,
            flags: reply_flags,
            error: errno as u32,
        }
    }

    /// The whole message's size, if it can be framed (at least a header)
    /// and buffered (at most [`MAX_MESSAGE_SIZE`]); otherwise the rest of
    /// the stream cannot be parsed.
    pub fn framed_size(&self) -> Result<usize, ConnectionError> {
        if (self.message_size as usize) < HEADER_SIZE {
            return Err(ConnectionError::MessageTooSmall(self.message_size));
        }
        if self.message_size > MAX_MESSAGE_SIZE {
            return Err(ConnectionError::MessageTooLarge {
                size: self.message_size,
                max: MAX_MESSAGE_SIZE,
            });
        }
        Ok(self.message_size as usize)
    }
}

/// Reads little-endian fields from a received body; running past its end is
/// an error naming the command, never a panic.
pub struct BodyReader<'a> {
    command: u16,
    body: &'a [u8],
    at: usize,
}

impl<'a> BodyReader<'a> {
    pub fn new(command: u16, body: &'a [u8]) -> Self {
        BodyReader {
            command,
            body,
            at: 0,
        }
    }

    /// Fails unless the body holds at least `need` bytes in total; lets a
    /// handler reject a short body before it decodes anything.
    pub fn require(&self, need: usize) -> Result<(), ProtocolError> {
        if self.body.len() < need {
            return Err(ProtocolError::BodyTooShort {
                command: command::name(self.command),
                got: self.body.len(),
                need,
            });
        }
        Ok(())
    }

    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8], ProtocolError> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.body.len());
        let Some(end) = end else {
            return Err(ProtocolError::BodyTooShort {
                command: command::name(self.command),
                got: self.body.len(),
                need: self.at.saturating_add(len),
            });
        };
        let out = &self.body[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ProtocolError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub fn u16(&mut self) -> Result<u16, ProtocolError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, ProtocolError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, ProtocolError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.body[self.at.min(self.body.len())..];
        self.at = self.body.len();
        out
    }
}

/// Builds a reply body (without the header) field by field.
#[derive(Default)]
pub struct BodyWriter(pub Vec<u8>);

impl BodyWriter {
    pub fn with_capacity(capacity: usize) -> Self {
        BodyWriter(Vec::with_capacity(capacity))
    }
    pub fn u16(&mut self, value: u16) -> &mut Self {
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }
    pub fn u32(&mut self, value: u32) -> &mut Self {
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }
    pub fn u64(&mut self, value: u64) -> &mut Self {
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }
    pub fn bytes(&mut self, value: &[u8]) -> &mut Self {
        self.0.extend_from_slice(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let header = Header {
            message_id: 0x1234,
            command: command::REGION_READ,
            message_size: 32,
            flags: flags::REPLY | flags::ERROR,
            error: 22,
        };
        assert_eq!(Header::decode(&header.encode()), header);
    }

    #[test]
    fn reader_refuses_to_run_past_the_body() {
        let mut reader = BodyReader::new(command::DMA_MAP, &[1, 0, 0, 0, 2]);
        assert_eq!(reader.u32().ok(), Some(1));
        assert!(matches!(
            reader.u32(),
            Err(ProtocolError::BodyTooShort {
                got: 5,
                need: 8,
                ..
            })
        ));
        assert!(reader.bytes(usize::MAX).is_err());
    }
}
