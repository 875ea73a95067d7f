//! `cardless-device`: the cardless streaming card as a vfio-user server.
//!
//! Listens on a Unix socket, serves one VMM (QEMU's `vfio-user-pci`) and
//! exits when it disconnects or on SIGINT/SIGTERM, removing the socket.
//! Subcommands work on traces without a VMM: `replay TRACE` re-runs the
//! card against a recorded run (SPEC §15.2), `timeline TRACE -o OUT.json
//! [--png OUT.png]` exports it for a trace viewer (SPEC §15.3), and `link
//! --listen SOCK --server SOCK` relays a VMM to a server and outlives it
//! (device/src/link).

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cardless_abi::regs;
use cardless_device::fault::FaultPlan;
use cardless_device::model::CardConfig;
use cardless_device::replay;
use cardless_device::timeline::{self, Axis, Timeline};
use cardless_device::vfio::socket::accept;
use cardless_device::vfio::{CardPort, ConnectionError, PollPolicy, Server, StopSignal};
use clap::Parser;

mod link;
mod logging;

#[derive(Debug, Parser)]
#[command(
    name = "cardless-device",
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
/// The cardless streaming card, emulated as a vfio-user server.
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Unix socket to listen on (QEMU: -device '{"driver":"vfio-user-pci",
    /// "socket":{"path":PATH,"type":"unix"}}').
    #[arg(long, value_name = "PATH", required = true)]
    socket: Option<PathBuf>,
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
    /// Record everything that crosses the card's boundary to FILE (SPEC
    /// §12, §15): replay it with `cardless-device replay FILE`.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Faults to inject, one a line (SPEC §14.2), e.g. "drop-irq rec=3".
    #[arg(long, value_name = "FILE")]
    fault_plan: Option<PathBuf>,
    /// One fault to inject (repeatable), same syntax as a plan line.
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<String>,
    /// Add the fault-injection debug window to BAR0 (SPEC §14.4).
    #[arg(long)]
    debug_window: bool,
    /// Offer MSI and INTx only: no MSI-X capability, no BAR4 (SPEC §2).
    /// QEMU 11.1 aborts when it finalizes an unplugged vfio-user device
    /// that has MSI-X, so a card meant for device_del needs this.
    #[arg(long)]
    no_msix: bool,
    /// error, warn, info, debug or trace (RUST_LOG refines it per module).
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: log::LevelFilter,
    /// How long to keep polling the socket after each message, in
    /// microseconds (0 = always block; trades idle-burst CPU for latency).
    #[arg(long, value_name = "US", default_value_t = PollPolicy::DEFAULT_SPIN.as_micros() as u64)]
    poll_us: u64,
}

/// Work on a recorded trace instead of serving a VMM.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Re-run the card against a recorded run's guest actions (no VMM) and
    /// report the first divergence. Exit 0: match; 1: divergence; 2: the
    /// trace cannot be replayed.
    Replay {
        /// A trace written with --deterministic --trace FILE.
        trace: PathBuf,
    },
    /// Export a trace as Chrome/Perfetto trace-event JSON (open it in
    /// chrome://tracing or ui.perfetto.dev), and optionally as a PNG.
    Timeline {
        /// A trace written with --trace FILE.
        trace: PathBuf,
        /// Where to write the JSON.
        #[arg(short = 'o', long = "output", value_name = "OUT.json")]
        output: PathBuf,
        /// Also render a PNG timeline here.
        #[arg(long, value_name = "OUT.png")]
        png: Option<PathBuf>,
        /// Horizontal axis: the card's virtual time, or the event number
        /// (spreads events that share a VTIME).
        #[arg(long, value_enum, default_value = "vtime")]
        axis: Axis,
    },
    /// Relay a VMM to a card's server and keep the VMM's connection when
    /// the server dies, answering like a PCIe fabric whose endpoint
    /// vanished (reads all-ones, writes dropped). Point QEMU at --listen.
    Link {
        /// Unix socket to listen on for QEMU.
        #[arg(long, value_name = "PATH")]
        listen: PathBuf,
        /// The card server's socket (cardless-device --socket PATH).
        #[arg(long, value_name = "PATH")]
        server: PathBuf,
        /// As the server's --poll-us (0 = always block).
        #[arg(long, value_name = "US", default_value_t = 0)]
        poll_us: u64,
    },
}

impl Command {
    fn run(self) -> ExitCode {
        match self {
            Command::Replay { trace } => replay_command(&trace),
            Command::Timeline {
                trace,
                output,
                png,
                axis,
            } => match timeline_command(&trace, &output, png.as_deref(), axis) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("cardless-device timeline: {e}");
                    ExitCode::from(2)
                }
            },
            Command::Link {
                listen,
                server,
                poll_us,
            } => match link_command(&listen, &server, poll_us) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("cardless-device link: {e}");
                    ExitCode::FAILURE
                }
            },
        }
    }
}

fn replay_command(trace: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(trace) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "cardless-device replay: cannot read {}: {e}",
                trace.display()
            );
            return ExitCode::from(2);
        }
    };
    match replay::replay_text(&text) {
        Ok(replay::Outcome::Match(n)) => {
            println!("replay: {} matches: {n} events reproduced", trace.display());
            ExitCode::SUCCESS
        }
        Ok(replay::Outcome::Diverged(d)) => {
            println!("replay: {}: {d}", trace.display());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("cardless-device replay: {}: {e}", trace.display());
            ExitCode::from(2)
        }
    }
}

fn timeline_command(
    trace: &Path,
    output: &Path,
    png: Option<&Path>,
    axis: Axis,
) -> Result<(), String> {
    let text = std::fs::read_to_string(trace)
        .map_err(|e| format!("cannot read {}: {e}", trace.display()))?;
    let lines = cardless_device::trace::parse_trace(&text)
        .map_err(|e| format!("{}: {e}", trace.display()))?;
    let tl = Timeline::build(&lines, axis);
    let name = trace.file_name().map_or_else(
        || trace.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let json = timeline::chrome::to_json(&tl, &name);
    std::fs::write(output, json.to_string())
        .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    println!(
        "timeline: {} ({} events) -> {}",
        trace.display(),
        lines.len(),
        output.display()
    );
    if let Some(png) = png {
        let title = format!("cardless timeline: {name}, {} events", lines.len());
        timeline::render::write_png(&tl, &title, png)
            .map_err(|e| format!("cannot write {}: {e}", png.display()))?;
        println!("timeline: PNG -> {}", png.display());
    }
    Ok(())
}

fn link_command(listen: &Path, server: &Path, poll_us: u64) -> Result<(), String> {
    let stop = StopSignal::new().map_err(|e| e.to_string())?;
    install_signal_handlers(&stop).map_err(|e| e.to_string())?;
    let (listener, _socket_file) = bind(listen).map_err(|e| e.to_string())?;
    log::info!(
        "cardless-device link listening on {} for {}",
        listen.display(),
        server.display()
    );
    let policy = PollPolicy::spinning(Duration::from_micros(poll_us));
    let result = link::run(&listener, server, policy, stop);
    log::info!("cardless-device link exiting");
    result
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
    #[error("{0}")]
    Plan(String),
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

/// Listens on `path`. A socket nobody listens on is stale and is replaced; a
/// live one, or anything that is not a socket, is left alone.
fn bind(path: &Path) -> Result<(UnixListener, SocketFile), MainError> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(MainError::NotASocket(path.to_owned()));
        }
        // Someone accepting connections means a live server: never steal it.
        // (A cardless-device ignores connections that close before VERSION.)
        match UnixStream::connect(path) {
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => log::info!(
                "replacing stale socket {} (nobody listening)",
                path.display()
            ),
            _ => return Err(MainError::SocketTaken(path.to_owned())),
        }
    }
    // Listen under a temporary name, then rename: the socket file appears
    // only once it accepts connections, so a client that waits for the file
    // (QEMU via run-qemu.sh, the tests) never meets ECONNREFUSED between
    // bind and listen. The name is short: socket paths are limited to 108 bytes.
    let temporary = path.with_file_name(format!(".{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let listener = UnixListener::bind(&temporary).map_err(|source| MainError::Bind {
        path: path.to_owned(),
        source,
    })?;
    if let Err(source) = std::fs::rename(&temporary, path) {
        let _ = std::fs::remove_file(&temporary);
        return Err(MainError::Bind {
            path: path.to_owned(),
            source,
        });
    }
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

/// `--fault-plan` and `--fault` together, plan file first.
fn fault_plan(cli: &Cli) -> Result<FaultPlan, MainError> {
    let mut plan = match &cli.fault_plan {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                MainError::Plan(format!("cannot read fault plan {}: {e}", path.display()))
            })?;
            FaultPlan::parse(&text)
                .map_err(|e| MainError::Plan(format!("{}: {e}", path.display())))?
        }
        None => FaultPlan::default(),
    };
    for spec in &cli.faults {
        let fault = FaultPlan::parse_one(spec)
            .map_err(|e| MainError::Plan(format!("--fault '{spec}': {e}")))?;
        plan.extend(FaultPlan {
            faults: vec![fault],
        })
        .map_err(|e| MainError::Plan(e.to_string()))?;
    }
    Ok(plan)
}

fn run(cli: Cli) -> Result<(), MainError> {
    let faults = fault_plan(&cli)?;
    if !faults.faults.is_empty() && !cli.deterministic {
        log::warn!(
            "faults in free-running mode fire on wall-clock VTIME: not reproducible (use --deterministic)"
        );
    }
    let Some(socket) = cli.socket.clone() else {
        return Err(MainError::Plan("--socket PATH is required".into()));
    };
    let config = CardConfig {
        seed: cli.seed,
        bar2_size: cli.bar2_size,
        rate: cli.rate.0,
        record_size: cli.record_size,
        deterministic: cli.deterministic,
        trace: cli.trace.clone(),
        faults,
        debug_window: cli.debug_window,
    };
    let stop = StopSignal::new()?;
    install_signal_handlers(&stop)?;
    let (listener, _socket_file) = bind(&socket)?;
    let (card, irqs) = CardPort::build(config).map_err(MainError::Card)?;
    let policy = PollPolicy::spinning(Duration::from_micros(cli.poll_us));
    let mut server = Server::new(card.clone(), irqs, policy)
        .map_err(|error| MainError::Config(error.to_string()))?
        .with_stop(stop.clone());
    if cli.no_msix {
        server = server.without_msix();
    }
    log::info!(
        "cardless-device listening on {} (BAR2 {} KiB, seed {}, {})",
        socket.display(),
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
    logging::init(cli.log_level);
    if let Some(command) = cli.command {
        return command.run();
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cardless-device: {error}");
            ExitCode::FAILURE
        }
    }
}
