//! VERSION negotiation: check the client's version and capabilities JSON,
//! answer with ours.

use super::error::ProtocolError;
use zerocopy::IntoBytes;

use super::bodies::Version;
use super::wire::{command, read_body, MAX_DATA_XFER, MAX_MSG_FDS};

/// The protocol version spoken: 0.0 is what QEMU 11.1 requires of a server
/// (it refuses a higher minor).
pub const MAJOR: u16 = 0;
pub const MINOR: u16 = 0;

/// Most DMA mappings the server keeps (`max_dma_maps`), enforced by the
/// card's DMA space.
pub const MAX_DMA_MAPS: u32 = crate::dma::MAX_MAPS as u32;

/// What the client told us about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientCaps {
    pub major: u16,
    pub minor: u16,
    /// Most fds the client accepts in one message (spec default 1).
    pub max_msg_fds: u64,
    /// Largest data transfer the client accepts (spec default 1 MiB).
    pub max_data_xfer_size: u64,
}

/// Decodes a VERSION command body: major, minor, then an optional
/// NUL-terminated JSON object.
pub fn parse(body: &[u8]) -> Result<ClientCaps, ProtocolError> {
    let (version, json) = read_body::<Version>(command::VERSION, body)?;
    let (major, minor) = (version.major.get(), version.minor.get());
    if major != MAJOR {
        return Err(ProtocolError::VersionMismatch { major, minor });
    }
    let mut caps = ClientCaps {
        major,
        minor,
        max_msg_fds: 1,
        max_data_xfer_size: u64::from(MAX_DATA_XFER),
    };
    if json.is_empty() {
        return Ok(caps);
    }
    let Some((0, text)) = json.split_last() else {
        return Err(ProtocolError::BadCapabilities(
            "capabilities string is not NUL-terminated".into(),
        ));
    };
    let value: serde_json::Value = serde_json::from_slice(text)
        .map_err(|error| ProtocolError::BadCapabilities(error.to_string()))?;
    let Some(object) = value.as_object() else {
        return Err(ProtocolError::BadCapabilities("not a JSON object".into()));
    };
    if let Some(capabilities) = object.get("capabilities") {
        let field = |name: &str| capabilities.get(name).and_then(serde_json::Value::as_u64);
        if let Some(fds) = field("max_msg_fds") {
            caps.max_msg_fds = fds;
        }
        if let Some(size) = field("max_data_xfer_size") {
            caps.max_data_xfer_size = size;
        }
    }
    Ok(caps)
}

/// The VERSION reply body: our version and capabilities.
pub fn reply_body() -> Vec<u8> {
    let capabilities = serde_json::json!({
        "capabilities": {
            "max_msg_fds": MAX_MSG_FDS,
            "max_data_xfer_size": MAX_DATA_XFER,
            "pgsizes": 4096,
            "max_dma_maps": MAX_DMA_MAPS,
        }
    });
    let version = Version {
        major: MAJOR.into(),
        minor: MINOR.into(),
    };
    let mut body = version.as_bytes().to_vec();
    body.extend_from_slice(capabilities.to_string().as_bytes());
    body.push(0);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(major: u16, minor: u16, json: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&major.to_le_bytes());
        out.extend_from_slice(&minor.to_le_bytes());
        out.extend_from_slice(json);
        out
    }

    #[test]
    fn accepts_qemu_style_capabilities() {
        let json =
            br#"{"capabilities":{"max_msg_fds":16,"max_data_xfer_size":1048576,"pgsizes":4096}}"#;
        let mut message = body(0, 0, json);
        message.push(0);
        let caps = parse(&message).unwrap();
        assert_eq!(caps.max_msg_fds, 16);
    }

    #[test]
    fn refuses_garbage() {
        assert!(parse(&[0]).is_err());
        assert!(parse(&body(1, 0, b"")).is_err());
        assert!(parse(&body(0, 0, b"{}")).is_err(), "no NUL");
        assert!(parse(&body(0, 0, b"[1,2]\0")).is_err());
        assert!(parse(&body(0, 0, b"{\0")).is_err());
        assert!(parse(&body(0, 0, b"")).is_ok());
    }
}
