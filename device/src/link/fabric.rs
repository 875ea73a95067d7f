//! What the link answers once the card's server is gone: a PCIe fabric
//! whose endpoint vanished. Reads complete with all-ones (what a read of
//! an absent device returns on real hardware, and what drivers test for),
//! writes and the housekeeping commands a VMM sends while tearing a device
//! down succeed doing nothing, and everything else fails with ENODEV.

use cardless_device::vfio::bodies::{DmaUnmap, RegionAccess};
use cardless_device::vfio::wire::{command, read_body, Header, HEADER_SIZE, MAX_DATA_XFER};
use rustix::io::Errno;
use zerocopy::IntoBytes;

/// Why the link refused a command: the errno of the error reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub errno: i32,
    pub why: String,
}

impl Refusal {
    fn new(errno: i32, why: impl Into<String>) -> Refusal {
        Refusal {
            errno,
            why: why.into(),
        }
    }
}

/// The reply body a vanished endpoint gives `command`, or the refusal.
/// Only the first [`ANSWER_NEEDS`] bytes of `body` are looked at.
pub fn answer(code: u16, body: &[u8]) -> Result<Vec<u8>, Refusal> {
    let name = command::name(code);
    let malformed = |error: cardless_device::vfio::ProtocolError| {
        Refusal::new(
            Errno::INVAL.raw_os_error(),
            format!("malformed {name}: {error}"),
        )
    };
    match code {
        command::REGION_READ => {
            let (access, _) = read_body::<RegionAccess>(code, body).map_err(malformed)?;
            let count = access.count.get();
            if count > MAX_DATA_XFER {
                return Err(Refusal::new(
                    Errno::TOOBIG.raw_os_error(),
                    format!(
                        "REGION_READ of {count} bytes exceeds max_data_xfer_size {MAX_DATA_XFER}"
                    ),
                ));
            }
            let mut reply = access.as_bytes().to_vec();
            reply.resize(reply.len() + count as usize, 0xff);
            Ok(reply)
        }
        command::REGION_WRITE => {
            let (access, _) = read_body::<RegionAccess>(code, body).map_err(malformed)?;
            Ok(access.as_bytes().to_vec())
        }
        command::DMA_UNMAP => {
            let (echoed, _) = read_body::<DmaUnmap>(code, body).map_err(malformed)?;
            Ok(echoed.as_bytes().to_vec())
        }
        command::DMA_MAP | command::DEVICE_SET_IRQS | command::DEVICE_RESET => Ok(Vec::new()),
        _ => Err(Refusal::new(
            Errno::NODEV.raw_os_error(),
            format!("{name} ({code}): the card's server is gone"),
        )),
    }
}

/// How many leading body bytes [`answer`] may need: what the link keeps of
/// a command it passed on, in case the server dies before replying.
pub const ANSWER_NEEDS: usize = size_of::<DmaUnmap>();

/// The whole reply message to `request` for `result`.
pub fn reply(request: &Header, result: &Result<Vec<u8>, Refusal>) -> Vec<u8> {
    let (body, error) = match result {
        Ok(body) => (body.as_slice(), 0),
        Err(refusal) => (&[][..], refusal.errno),
    };
    let header = request.reply((HEADER_SIZE + body.len()) as u32, error);
    let mut out = Vec::with_capacity(HEADER_SIZE + body.len());
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardless_device::vfio::wire::flags;

    fn access(offset: u64, region: u32, count: u32) -> Vec<u8> {
        let mut body = offset.to_le_bytes().to_vec();
        body.extend_from_slice(&region.to_le_bytes());
        body.extend_from_slice(&count.to_le_bytes());
        body
    }

    #[test]
    fn reads_are_all_ones_of_the_requested_count() {
        let reply = answer(command::REGION_READ, &access(0x40, 0, 4)).unwrap();
        assert_eq!(&reply[..16], &access(0x40, 0, 4)[..]);
        assert_eq!(&reply[16..], &[0xff; 4]);
        let big = answer(command::REGION_READ, &access(0, 7, 4096)).unwrap();
        assert_eq!(big.len(), 16 + 4096);
        assert!(big[16..].iter().all(|&b| b == 0xff));
    }

    #[test]
    fn huge_or_short_reads_are_refused_not_allocated() {
        let huge = answer(command::REGION_READ, &access(0, 0, u32::MAX)).unwrap_err();
        assert_eq!(huge.errno, Errno::TOOBIG.raw_os_error());
        let short = answer(command::REGION_READ, &[1, 2, 3]).unwrap_err();
        assert_eq!(short.errno, Errno::INVAL.raw_os_error());
        assert!(short.why.contains("REGION_READ"), "{}", short.why);
    }

    #[test]
    fn writes_and_teardown_commands_succeed() {
        let mut write = access(8, 0, 4);
        write.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(
            answer(command::REGION_WRITE, &write).unwrap(),
            access(8, 0, 4)
        );
        let unmap: Vec<u8> = (0..24).collect();
        assert_eq!(answer(command::DMA_UNMAP, &unmap).unwrap(), unmap);
        for code in [
            command::DMA_MAP,
            command::DEVICE_SET_IRQS,
            command::DEVICE_RESET,
        ] {
            assert_eq!(answer(code, &[]).unwrap(), Vec::<u8>::new(), "{code}");
        }
        assert_eq!(
            answer(command::DMA_UNMAP, &[0; 8]).unwrap_err().errno,
            Errno::INVAL.raw_os_error()
        );
    }

    #[test]
    fn everything_else_is_enodev() {
        for code in [
            command::VERSION,
            command::DEVICE_GET_INFO,
            command::DEVICE_GET_REGION_INFO,
            command::DEVICE_GET_IRQ_INFO,
            command::DMA_READ,
            command::REGION_WRITE_MULTI,
            0,
            999,
        ] {
            assert_eq!(
                answer(code, &[0; 64]).unwrap_err().errno,
                Errno::NODEV.raw_os_error()
            );
        }
    }

    #[test]
    fn replies_carry_the_request_id_and_the_errno() {
        let request = Header::new(77, command::DEVICE_GET_INFO, 32, flags::COMMAND, 0);
        let refused = reply(
            &request,
            &Err(Refusal::new(Errno::NODEV.raw_os_error(), "gone")),
        );
        let header = Header::decode(refused[..16].try_into().unwrap());
        assert_eq!(
            (
                header.message_id(),
                header.message_size(),
                header.error.get()
            ),
            (77, 16, Errno::NODEV.raw_os_error() as u32)
        );
        assert_eq!(header.flags(), flags::REPLY | flags::ERROR);
        let ok = reply(&request, &Ok(vec![9; 5]));
        let header = Header::decode(ok[..16].try_into().unwrap());
        assert_eq!((header.message_size(), header.flags()), (21, flags::REPLY));
    }
}
