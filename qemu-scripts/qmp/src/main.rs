//! `cardless-qmp --socket PATH COMMAND [ARGUMENTS-JSON]`: runs one QMP
//! command on a running QEMU and prints its reply (JSON); exits 1, saying
//! why, when QEMU refuses it. `--wait-event NAME` then waits for an event.
#![forbid(unsafe_code)]

use cardless_qmp::Qmp;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Runs one command on QEMU's monitor (QMP).
#[derive(Parser, Debug)]
#[command(name = "cardless-qmp", version)]
struct Cli {
    /// QEMU's QMP socket (run-qemu.sh writes its path to LOG_DIR/qmp.path).
    #[arg(long)]
    socket: PathBuf,
    /// Seconds to wait for QEMU's replies and events.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// After the command, wait for this event (e.g. DEVICE_DELETED).
    #[arg(long, value_name = "NAME")]
    wait_event: Option<String>,
    /// The command (device_del, device_add, query-status, ...).
    command: String,
    /// Its arguments as a JSON object, e.g. '{"id": "card1"}'.
    arguments: Option<String>,
}

fn run(cli: &Cli) -> Result<(), String> {
    let arguments = match &cli.arguments {
        None => serde_json::Value::Null,
        Some(text) => serde_json::from_str(text)
            .map_err(|e| format!("the arguments are not JSON ({e}): {text}"))?,
    };
    let mut qmp = Qmp::connect(&cli.socket, Duration::from_secs(cli.timeout)).map_err(|e| {
        format!(
            "{}: {e} (is QEMU running with -qmp on it?)",
            cli.socket.display()
        )
    })?;
    let reply = qmp
        .execute(&cli.command, arguments)
        .map_err(|e| format!("{}: {e}", cli.command))?;
    println!("{reply}");
    if let Some(event) = &cli.wait_event {
        let data = qmp
            .wait_event(event)
            .map_err(|e| format!("waiting for {event}: {e}"))?;
        println!("{{\"event\":\"{event}\",\"data\":{data}}}");
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cardless-qmp: {e}");
            ExitCode::FAILURE
        }
    }
}
