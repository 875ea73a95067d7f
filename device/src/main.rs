//! `cardless-device`: the cardless streaming card as a vfio-user server.
//!
//! Listens on a Unix socket, serves one VMM (QEMU's `vfio-user-pci`) and
//! exits when it disconnects or on SIGINT/SIGTERM, removing the socket.

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cardless_abi::regs;
use cardless_device::model::CardConfig;
use cardless_device::vfio::socket::accept;
use cardless_device::vfio::{CardPort, ConnectionError, PollPolicy, Server, StopSignal};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "cardless-device", version, about)]
/// The cardless streaming card, emulated as a vfio-user server.
struct Cli {
    /// Unix socket to listen on (QEMU: -device '{"driver":"vfio-user-pci",
    /// "socket":{"path":PATH,"type":"unix"}}').
    #[arg(long, value_name = "PATH")]
    socket: PathBuf,
    /// Seed of the payload PRNG and of the deterministic schedule.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Records per second, or "unlimited".
    #[arg(long, value_name = "RECORDS_PER_S|unlimited", default_value = "unlimited", value_parser = parse_rate)]
    rate: Rate,
    /// Bytes per ring slot, header included (reset value of RECORD_SIZE).
    #[arg(long, value_name = "B", default_value_t = regs::DEFAULT_RECORD_SIZE)]
    record_size: u32,
    /// Size of BAR2 (on-board memory), a power of two; accepts K/M/G suffixes.
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_size)]
    bar2_size: u64,
    /// Advance only on guest action (STEP registers), never on wall time.
    #[arg(long)]
    deterministic: bool,
    /// Record every MMIO access, DMA and interrupt to FILE.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// error, warn, info, debug or trace (RUST_LOG refines it per module).
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: log::LevelFilter,
    /// How long to keep polling the socket after each message, in
    /// microseconds (0 = always block; trades idle-burst CPU for latency).
    #[arg(long, value_name = "US", default_value_t = PollPolicy::DEFAULT_SPIN.as_micros() as u64)]
    poll_us: u64,
}

/// `--rate`: records per second, `None` = unlimited.
#[derive(Debug, Clone, Copy)]
struct Rate(Option<u64>);

fn parse_rate(text: &str) -> Result<Rate, String> {
    if text.eq_ignore_ascii_case("unlimited") {
        return Ok(Rate(None));
    }
    match text.parse::<u64>() {
        Ok(0) | Err(_) => Err(format!(
            "'{text}' is neither a positive number of records per second nor 'unlimited'"
        )),
        Ok(rate) => Ok(Rate(Some(rate))),
    }
}

fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, shift) = match text.char_indices().last() {
        Some((at, 'K' | 'k')) => (&text[..at], 10),
        Some((at, 'M' | 'm')) => (&text[..at], 20),
        Some((at, 'G' | 'g')) => (&text[..at], 30),
        _ => (text, 0),
    };
    let value = match digits.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse::<u64>(),
    }
    .map_err(|_| format!("'{text}' is not a size (e.g. 1048576, 0x100000, 1M)"))?;
    value
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("'{text}' is too large"))
}

#[derive(Debug, thiserror::Error)]
enum MainError {
    #[error(
        "socket {0} already exists: another cardless-device running? \
         remove it or choose another --socket"
    )]
    SocketTaken(PathBuf),
    #[error("{0} exists and is not a socket; refusing to replace it")]
    NotASocket(PathBuf),
    #[error("cannot listen on {path}: {source}")]
    Bind { path: PathBuf, source: io::Error },
    #[error("cannot create the card: {0}")]
    Card(io::Error),
    #[error("invalid card configuration: {0}")]
    Config(String),
    #[error("cannot set up signal handling: {0}")]
    Signals(io::Error),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Removes the socket file when the server goes away.
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_file(&self.0) {
            log::warn!("cannot remove {}: {error}", self.0.display());
        }
    }
}

/// Binds `path`. A socket nobody listens on is stale and is replaced; a
/// live one, or anything that is not a socket, is left alone.
fn bind(path: &Path) -> Result<(UnixListener, SocketFile), MainError> {
    match UnixListener::bind(path) {
        Ok(listener) => return Ok((listener, SocketFile(path.to_owned()))),
        Err(error) if error.kind() != io::ErrorKind::AddrInUse => {
            return Err(MainError::Bind {
                path: path.to_owned(),
                source: error,
            })
        }
        Err(_) => {}
    }
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_socket());
    if !is_socket {
        return Err(MainError::NotASocket(path.to_owned()));
    }
    // Someone accepting connections means a live server: never steal it.
    // (A cardless-device ignores connections that close before VERSION.)
    match UnixStream::connect(path) {
        Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {}
        _ => return Err(MainError::SocketTaken(path.to_owned())),
    }
    log::info!(
        "replacing stale socket {} (nobody listening)",
        path.display()
    );
    std::fs::remove_file(path)?;
    let listener = UnixListener::bind(path).map_err(|source| MainError::Bind {
        path: path.to_owned(),
        source,
    })?;
    Ok((listener, SocketFile(path.to_owned())))
}

/// SIGINT/SIGTERM trigger `stop`; a second one kills the process the
/// default way (in case shutdown hangs).
fn install_signal_handlers(stop: &Arc<StopSignal>) -> Result<(), MainError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let signalled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 1, signalled.clone())
            .map_err(MainError::Signals)?;
        signal_hook::flag::register(signal, signalled.clone()).map_err(MainError::Signals)?;
        let stop = stop.clone();
        // SAFETY: the handler only does an atomic store and a write(2)
        // (StopSignal::trigger), both async-signal-safe.
        unsafe { signal_hook::low_level::register(signal, move || stop.trigger()) }
            .map_err(MainError::Signals)?;
    }
    Ok(())
}

fn run(cli: Cli) -> Result<(), MainError> {
    let config = CardConfig {
        seed: cli.seed,
        bar2_size: cli.bar2_size,
        rate: cli.rate.0,
        record_size: cli.record_size,
        deterministic: cli.deterministic,
        trace: cli.trace.clone(),
    };
    let stop = StopSignal::new()?;
    install_signal_handlers(&stop)?;
    let (listener, _socket_file) = bind(&cli.socket)?;
    let (card, irqs) = CardPort::build(config).map_err(MainError::Card)?;
    let policy = PollPolicy::spinning(Duration::from_micros(cli.poll_us));
    let mut server = Server::new(card.clone(), irqs, policy)
        .map_err(|error| MainError::Config(error.to_string()))?
        .with_stop(stop.clone());
    log::info!(
        "cardless-device listening on {} (BAR2 {} KiB, seed {}, {})",
        cli.socket.display(),
        cli.bar2_size >> 10,
        cli.seed,
        if cli.deterministic {
            "deterministic"
        } else {
            "free-running"
        }
    );
    let result = loop {
        let Some(stream) = accept(&listener, Some(&stop))? else {
            log::info!("signal received before a client connected");
            break Ok(());
        };
        let outcome = server.serve(stream);
        if !server.negotiated() {
            // A probe (another cardless-device checking the socket) or a
            // client that left before VERSION: keep waiting for the VMM.
            if matches!(outcome, Err(ConnectionError::Stopped)) {
                break Ok(());
            }
            continue;
        }
        break match outcome {
            Ok(()) | Err(ConnectionError::Stopped) => Ok(()),
            Err(error) => {
                log::error!("connection ended: {error}");
                Ok(())
            }
        };
    };
    card.card().shutdown();
    log::info!("cardless-device exiting");
    result
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::new()
        .filter_level(cli.log_level)
        .parse_default_env()
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cardless-device: {error}");
            ExitCode::FAILURE
        }
    }
}
