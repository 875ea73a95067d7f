//! `cardless-qmp --socket PATH COMMAND [ARGUMENTS-JSON]`: runs one QMP
//! command on a running QEMU and prints its reply (JSON); exits 1, saying
//! why, when QEMU refuses it. `--wait-event NAME` then waits for an event.
//! `--save FILE` stops the guest and saves it; `--restore FILE [--hot-add
//! JSON]...` loads a saved guest into a QEMU started with `-incoming defer`,
//! hot-adds the devices and lets it run (qemu-scripts/snapshot.sh).
#![forbid(unsafe_code)]

use cardless_qmp::{migration, Qmp};
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
    /// Stop the guest, save it to FILE (migration, mapped-ram) and quit QEMU.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["restore", "command"])]
    save: Option<PathBuf>,
    /// Load the guest saved in FILE into this QEMU (-incoming defer), then run it.
    #[arg(long, value_name = "FILE", conflicts_with = "command")]
    restore: Option<PathBuf>,
    /// With --restore: a device_add argument object (JSON) to hot-add before
    /// the guest runs; repeatable, added in order.
    #[arg(long, value_name = "JSON", requires = "restore")]
    hot_add: Vec<String>,
    /// The command (device_del, device_add, query-status, ...).
    #[arg(required_unless_present_any = ["save", "restore"])]
    command: Option<String>,
    /// Its arguments as a JSON object, e.g. '{"id": "card1"}'.
    arguments: Option<String>,
}

fn json_arg(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| format!("not JSON ({e}): {text}"))
}

/// --save or --restore, on a QEMU that may still be opening its socket.
fn migrate(cli: &Cli) -> Result<(), String> {
    let timeout = Duration::from_secs(cli.timeout);
    let mut qmp = Qmp::connect_when_ready(&cli.socket, timeout).map_err(|e| {
        format!(
            "{}: {e} (did QEMU start? see its log)",
            cli.socket.display()
        )
    })?;
    if let Some(file) = &cli.save {
        return migration::save(&mut qmp, file, timeout).map_err(|e| e.to_string());
    }
    let devices = cli
        .hot_add
        .iter()
        .map(|d| json_arg(d))
        .collect::<Result<Vec<_>, _>>()?;
    let file = cli.restore.as_ref().expect("clap: --save or --restore");
    migration::restore(&mut qmp, file, &devices, timeout).map_err(|e| e.to_string())
}

fn run(cli: &Cli) -> Result<(), String> {
    if cli.save.is_some() || cli.restore.is_some() {
        return migrate(cli);
    }
    let command = cli.command.as_deref().expect("clap: a command");
    let arguments = match &cli.arguments {
        None => serde_json::Value::Null,
        Some(text) => json_arg(text).map_err(|e| format!("the arguments are {e}"))?,
    };
    let mut qmp = Qmp::connect(&cli.socket, Duration::from_secs(cli.timeout)).map_err(|e| {
        format!(
            "{}: {e} (is QEMU running with -qmp on it?)",
            cli.socket.display()
        )
    })?;
    let reply = qmp
        .execute(command, arguments)
        .map_err(|e| format!("{command}: {e}"))?;
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
