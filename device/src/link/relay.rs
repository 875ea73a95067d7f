//! The relay: QEMU's messages to the server and the server's to QEMU, one
//! thread per direction, fds included. Each command QEMU sends is
//! remembered until its reply comes back, so that when the server dies the
//! link can answer the ones it left hanging; after that it answers every
//! command itself ([`fabric`]) and keeps QEMU's connection open.

use std::collections::HashMap;
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, MutexGuard};

use cardless_device::vfio::socket::AdaptiveSocket;
use cardless_device::vfio::wire::{command, Header};
use cardless_device::vfio::{ConnectionError, PollPolicy, StopSignal};
use rustix::io::Errno;

use super::fabric::{self, Refusal};
use super::frame;

/// A command passed to the server and not answered yet.
struct Pending {
    header: Header,
    /// The head of its body: enough for [`fabric::answer`].
    body_head: Vec<u8>,
}

#[derive(Default)]
struct State {
    server_alive: bool,
    qemu_gone: bool,
    pending: HashMap<u16, Pending>,
    /// Commands answered by the link itself, for the log.
    answered: u64,
}

struct Shared {
    /// Writes to QEMU come from both threads; one whole message at a time.
    to_qemu: Mutex<UnixStream>,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means the other thread panicked; the state is
        // still consistent (every update is a single assignment or insert).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send_to_qemu(&self, bytes: &[u8], fds: &[std::os::fd::OwnedFd]) -> std::io::Result<()> {
        let stream = self.to_qemu.lock().unwrap_or_else(|e| e.into_inner());
        frame::send(&stream, bytes, fds)
    }

    /// The server is gone: from now on the link answers, starting with
    /// the commands the server left unanswered.
    fn server_gone(&self, why: &str) {
        let orphans: Vec<Pending> = {
            let mut state = self.state();
            if !state.server_alive {
                return;
            }
            state.server_alive = false;
            if state.qemu_gone {
                log::debug!("server connection ended after QEMU left: {why}");
                return;
            }
            log::warn!(
                "the card's server is gone ({why}); answering QEMU as a PCIe fabric whose \
                 endpoint vanished: reads all-ones, writes dropped, {} command(s) in flight",
                state.pending.len()
            );
            state.pending.drain().map(|(_, p)| p).collect()
        };
        for orphan in orphans {
            self.answer(&orphan.header, &orphan.body_head);
        }
    }

    /// Answers one command from QEMU in the server's place.
    fn answer(&self, header: &Header, body: &[u8]) {
        let name = command::name(header.command());
        if !header.is_command() {
            log::debug!(
                "dropping QEMU's reply {name} #{} (the server that asked is gone)",
                header.message_id()
            );
            return;
        }
        let result = fabric::answer(header.command(), body);
        let count = {
            let mut state = self.state();
            state.answered += 1;
            state.answered
        };
        match &result {
            Ok(_) => log::debug!("{name} #{} answered by the link", header.message_id()),
            Err(Refusal { errno, why }) => {
                log::info!(
                    "{name} #{} refused with errno {errno}: {why}",
                    header.message_id()
                )
            }
        }
        if count == 1 || count.is_power_of_two() {
            log::info!("{count} command(s) answered in the server's place so far");
        }
        if header.no_reply() {
            return;
        }
        if let Err(error) = self.send_to_qemu(&fabric::reply(header, &result), &[]) {
            log::warn!(
                "cannot answer QEMU's {name} #{}: {error}",
                header.message_id()
            );
        }
    }
}

/// Relays between `qemu` and `server` until QEMU disconnects or `stop`
/// fires. Returns how QEMU's side ended.
pub fn run(
    qemu: UnixStream,
    server: UnixStream,
    policy: PollPolicy,
    stop: Arc<StopSignal>,
) -> Result<(), ConnectionError> {
    let shared = Arc::new(Shared {
        to_qemu: Mutex::new(qemu.try_clone()?),
        state: Mutex::new(State {
            server_alive: true,
            ..State::default()
        }),
    });
    let to_server = server.try_clone()?;
    let from_server = AdaptiveSocket::new(server, policy, Some(stop.clone()))?;
    let mut from_qemu = AdaptiveSocket::new(qemu, policy, Some(stop))?;

    let back = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("server-to-qemu".into())
            .spawn(move || server_to_qemu(&shared, from_server))?
    };
    let ending = qemu_to_server(&shared, &mut from_qemu, &to_server);
    shared.state().qemu_gone = true;
    // The server serves one VMM: closing its side lets it exit, and ends
    // the other thread's read.
    let _ = to_server.shutdown(Shutdown::Both);
    if back.join().is_err() {
        log::error!("the server-to-QEMU thread panicked");
    }
    ending
}

fn qemu_to_server(
    shared: &Shared,
    from_qemu: &mut AdaptiveSocket,
    to_server: &UnixStream,
) -> Result<(), ConnectionError> {
    loop {
        let message = match frame::read(from_qemu) {
            Ok(Some(message)) => message,
            Ok(None) => {
                log::info!("QEMU disconnected");
                return Ok(());
            }
            Err(ConnectionError::Stopped) => return Err(ConnectionError::Stopped),
            Err(error) => {
                log::error!("QEMU's stream cannot be parsed any more, closing it: {error}");
                return Err(error);
            }
        };
        let header = message.header;
        if message.fds_truncated {
            log::warn!(
                "{} #{} from QEMU lost file descriptors in transit; refusing it",
                command::name(header.command()),
                header.message_id()
            );
            if header.is_command() && !header.no_reply() {
                let refusal = Err(Refusal {
                    errno: Errno::INVAL.raw_os_error(),
                    why: "fds truncated".into(),
                });
                if let Err(error) = shared.send_to_qemu(&fabric::reply(&header, &refusal), &[]) {
                    log::warn!("cannot answer QEMU: {error}");
                }
            }
            continue;
        }
        let expects_reply = header.is_command() && !header.no_reply();
        {
            let mut state = shared.state();
            if state.server_alive && expects_reply {
                let head = &message.body()[..message.body().len().min(fabric::ANSWER_NEEDS)];
                state.pending.insert(
                    header.message_id(),
                    Pending {
                        header,
                        body_head: head.to_vec(),
                    },
                );
            }
            if !state.server_alive {
                drop(state);
                shared.answer(&header, message.body());
                continue;
            }
        }
        if let Err(error) = frame::send(to_server, &message.bytes, &message.fds) {
            let _ = to_server.shutdown(Shutdown::Both);
            shared.server_gone(&format!(
                "sending {} #{} failed: {error}",
                command::name(header.command()),
                header.message_id()
            ));
        }
    }
}

fn server_to_qemu(shared: &Shared, mut from_server: AdaptiveSocket) {
    loop {
        let message = match frame::read(&mut from_server) {
            Ok(Some(message)) => message,
            Ok(None) => return shared.server_gone("it closed the connection"),
            Err(ConnectionError::Stopped) => return,
            Err(error) => {
                // Garbage from the server counts as its death: its stream
                // cannot be followed any more.
                let _ = from_server.stream().shutdown(Shutdown::Both);
                return shared.server_gone(&error.to_string());
            }
        };
        let header = message.header;
        let forward = {
            let mut state = shared.state();
            if !header.is_command() {
                state.pending.remove(&header.message_id());
            }
            state.server_alive
        };
        if !forward {
            continue;
        }
        if let Err(error) = shared.send_to_qemu(&message.bytes, &message.fds) {
            log::warn!(
                "cannot pass the server's {} #{} to QEMU: {error}",
                command::name(header.command()),
                header.message_id()
            );
            return;
        }
    }
}
