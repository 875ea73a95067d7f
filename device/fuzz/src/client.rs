//! Input format of the `client_bytes` target: raw bytes a vfio-user client
//! sends, cut into chunks (one `sendmsg` each) so some can carry file
//! descriptors, as DMA_MAP and SET_IRQS need.
//!
//! ```text
//! flags u8   bit 0: send a valid VERSION first (gets past negotiation)
//! chunk*     ctl u8, len u16 LE, len bytes (fewer at the end of the input)
//!            ctl % 8: 0-3 no fd; 4 guest memory (sealed memfd); 5 eventfd;
//!            6 unsealed memfd; 7 two eventfds
//! ```
//!
//! The concatenated chunk bytes are the stream: message boundaries are
//! whatever the bytes say, so the server's framing is fuzzed as well.

use crate::Bytes;

/// Size of the sealed memfd a chunk can pass as guest memory.
pub const GUEST_SIZE: u64 = 64 * 1024;

/// File descriptors attached to a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fds {
    None,
    GuestMemory,
    EventFd,
    UnsealedMemfd,
    TwoEventFds,
}

impl Fds {
    fn from_ctl(ctl: u8) -> Fds {
        match ctl % 8 {
            4 => Fds::GuestMemory,
            5 => Fds::EventFd,
            6 => Fds::UnsealedMemfd,
            7 => Fds::TwoEventFds,
            _ => Fds::None,
        }
    }

    fn ctl(self) -> u8 {
        match self {
            Fds::None => 0,
            Fds::GuestMemory => 4,
            Fds::EventFd => 5,
            Fds::UnsealedMemfd => 6,
            Fds::TwoEventFds => 7,
        }
    }
}

/// One `sendmsg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk<'a> {
    pub fds: Fds,
    pub bytes: &'a [u8],
}

/// Decodes an input: (send VERSION first, chunks). Never fails.
pub fn decode(data: &[u8]) -> (bool, Vec<Chunk<'_>>) {
    let mut b = Bytes::new(data);
    let version_first = b.u8().is_some_and(|f| f & 1 != 0);
    let mut chunks = Vec::new();
    while !b.is_empty() {
        let Some(ctl) = b.u8() else { break };
        let Some(len) = b.u16() else { break };
        chunks.push(Chunk {
            fds: Fds::from_ctl(ctl),
            bytes: b.take_up_to(usize::from(len)),
        });
    }
    (version_first, chunks)
}

/// Builds inputs in the format [`decode`] reads (seeds).
#[derive(Default)]
pub struct Encoder {
    out: Vec<u8>,
}

impl Encoder {
    pub fn new(version_first: bool) -> Encoder {
        Encoder {
            out: vec![u8::from(version_first)],
        }
    }

    pub fn chunk(&mut self, fds: Fds, bytes: &[u8]) -> &mut Self {
        let len = u16::try_from(bytes.len()).expect("chunk of at most 64 KiB");
        self.out.push(fds.ctl());
        self.out.extend(len.to_le_bytes());
        self.out.extend(bytes);
        self
    }

    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

/// vfio-user message builders (libvfio-user's docs/vfio-user.rst layouts).
pub mod msg {
    pub const VERSION: u16 = 1;
    pub const DMA_MAP: u16 = 2;
    pub const DMA_UNMAP: u16 = 3;
    pub const DEVICE_GET_INFO: u16 = 4;
    pub const DEVICE_GET_REGION_INFO: u16 = 5;
    pub const DEVICE_GET_IRQ_INFO: u16 = 7;
    pub const DEVICE_SET_IRQS: u16 = 8;
    pub const REGION_READ: u16 = 9;
    pub const REGION_WRITE: u16 = 10;
    pub const DEVICE_RESET: u16 = 13;
    pub const FLAG_NO_REPLY: u32 = 0x10;

    /// A command message with a correct size field.
    pub fn command(id: u16, command: u16, flags: u32, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + body.len());
        out.extend(id.to_le_bytes());
        out.extend(command.to_le_bytes());
        out.extend((16 + body.len() as u32).to_le_bytes());
        out.extend(flags.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(body);
        out
    }

    /// VERSION 0.0 with the capabilities QEMU sends.
    pub fn version(id: u16) -> Vec<u8> {
        let mut body = vec![0, 0, 0, 0];
        body.extend(
            br#"{"capabilities":{"max_msg_fds":16,"max_data_xfer_size":1048576,"migration":{"pgsize":4096,"max_bitmap_size":134217728}}}"#,
        );
        body.push(0);
        command(id, VERSION, 0, &body)
    }

    pub fn u32s(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    pub fn device_info(id: u16) -> Vec<u8> {
        command(id, DEVICE_GET_INFO, 0, &u32s(&[16, 0, 0, 0]))
    }

    pub fn region_info(id: u16, index: u32, argsz: u32) -> Vec<u8> {
        let mut body = u32s(&[argsz, 0, index, 0]);
        body.extend([0u8; 16]);
        command(id, DEVICE_GET_REGION_INFO, 0, &body)
    }

    pub fn irq_info(id: u16, index: u32) -> Vec<u8> {
        command(id, DEVICE_GET_IRQ_INFO, 0, &u32s(&[16, 0, index, 0]))
    }

    /// SET_IRQS with eventfds (DATA_EVENTFD | ACTION_TRIGGER) or none.
    pub fn set_irqs(id: u16, flags: u32, index: u32, start: u32, count: u32) -> Vec<u8> {
        command(
            id,
            DEVICE_SET_IRQS,
            0,
            &u32s(&[20, flags, index, start, count]),
        )
    }

    pub fn dma_map(id: u16, flags: u32, offset: u64, iova: u64, size: u64) -> Vec<u8> {
        let mut body = u32s(&[32, flags]);
        body.extend(offset.to_le_bytes());
        body.extend(iova.to_le_bytes());
        body.extend(size.to_le_bytes());
        command(id, DMA_MAP, 0, &body)
    }

    pub fn dma_unmap(id: u16, flags: u32, iova: u64, size: u64) -> Vec<u8> {
        let mut body = u32s(&[24, flags]);
        body.extend(iova.to_le_bytes());
        body.extend(size.to_le_bytes());
        command(id, DMA_UNMAP, 0, &body)
    }

    pub fn region_read(id: u16, region: u32, offset: u64, count: u32) -> Vec<u8> {
        let mut body = offset.to_le_bytes().to_vec();
        body.extend(u32s(&[region, count]));
        command(id, REGION_READ, 0, &body)
    }

    pub fn region_write(id: u16, region: u32, offset: u64, data: &[u8], flags: u32) -> Vec<u8> {
        let mut body = offset.to_le_bytes().to_vec();
        body.extend(u32s(&[region, data.len() as u32]));
        body.extend(data);
        command(id, REGION_WRITE, flags, &body)
    }

    pub fn reset(id: u16) -> Vec<u8> {
        command(id, DEVICE_RESET, 0, &[])
    }
}
