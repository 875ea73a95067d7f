//! `cardless-device link`: a vfio-user relay between QEMU and a card's
//! server that outlives the server.
//!
//! QEMU 11.1's vfio-user client aborts when its server's socket dies while
//! the guest drives the card, so the guest never gets to see a card die.
//! The link holds QEMU's connection instead: while the server lives it
//! passes every message both ways unchanged, file descriptors included
//! (DMA_MAP's guest memory, SET_IRQS' eventfds, BAR2's memfd in region
//! info replies); once the server is gone it answers like a PCIe fabric
//! whose endpoint vanished ([`fabric`]).
//!
//! - [`frame`]: whole messages with their fds, read and sent;
//! - [`relay`]: the two directions and the commands in flight;
//! - [`fabric`]: the answers of a vanished endpoint.

mod fabric;
mod frame;
mod relay;

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;

use cardless_device::vfio::socket::accept;
use cardless_device::vfio::{ConnectionError, PollPolicy, StopSignal};

/// Connects to the server at `server` first (so a wrong path fails at
/// once), then waits for QEMU on `listener` and relays until QEMU leaves
/// or `stop` fires.
pub fn run(
    listener: &UnixListener,
    server: &Path,
    policy: PollPolicy,
    stop: Arc<StopSignal>,
) -> Result<(), String> {
    let to_server = UnixStream::connect(server).map_err(|error| {
        format!(
            "cannot connect to the card's server at {}: {error} (start cardless-device --socket {} first)",
            server.display(),
            server.display()
        )
    })?;
    let qemu = match accept(listener, Some(&stop)) {
        Ok(Some(stream)) => stream,
        Ok(None) => {
            log::info!("signal received before QEMU connected");
            return Ok(());
        }
        Err(error) => return Err(format!("cannot accept QEMU's connection: {error}")),
    };
    log::info!("QEMU connected; relaying to {}", server.display());
    match relay::run(qemu, to_server, policy, stop) {
        Ok(()) | Err(ConnectionError::Stopped) => Ok(()),
        Err(error) => Err(format!("QEMU's connection ended: {error}")),
    }
}
