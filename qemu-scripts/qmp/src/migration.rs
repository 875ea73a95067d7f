//! Boot once, restore many (qemu-scripts/snapshot.sh): save a stopped guest
//! to a file and load it into a QEMU started with `-incoming defer`, using
//! the `mapped-ram` capability: each RAM page sits at a fixed offset of the
//! file, so a load is a read per RAM block instead of a parse of a stream.

use crate::{Qmp, QmpError};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// How often `query-migrate` is asked while a migration runs.
const POLL: Duration = Duration::from_millis(20);

fn capabilities() -> Value {
    json!({"capabilities": [{"capability": "mapped-ram", "state": true}]})
}

fn file_uri(path: &Path) -> Result<String, QmpError> {
    let text = path
        .to_str()
        .filter(|t| t.starts_with('/') && !t.contains(','))
        .ok_or_else(|| {
            QmpError::Protocol(format!(
                "{}: a migration file needs an absolute path without commas",
                path.display()
            ))
        })?;
    Ok(format!("file:{text}"))
}

/// Polls `query-migrate` until the migration completed; QEMU's reason when
/// it failed.
fn wait_for_migration(qmp: &mut Qmp, what: &str, limit: Duration) -> Result<Value, QmpError> {
    let start = Instant::now();
    loop {
        let info = qmp.execute("query-migrate", Value::Null)?;
        match info["status"].as_str() {
            Some("completed") => return Ok(info),
            Some(status @ ("failed" | "cancelled")) => {
                return Err(QmpError::Protocol(format!(
                    "{what} {status}: {}",
                    info["error-desc"]
                        .as_str()
                        .unwrap_or("QEMU gave no reason; see its log")
                )))
            }
            _ if start.elapsed() > limit => {
                return Err(QmpError::Protocol(format!(
                    "{what} did not finish within {} s",
                    limit.as_secs()
                )))
            }
            _ => std::thread::sleep(POLL),
        }
    }
}

/// Stops the guest, writes it to `path` and quits QEMU.
pub fn save(qmp: &mut Qmp, path: &Path, limit: Duration) -> Result<(), QmpError> {
    let uri = file_uri(path)?;
    qmp.execute("stop", Value::Null)?;
    qmp.execute("migrate-set-capabilities", capabilities())?;
    qmp.execute("migrate", json!({ "uri": uri }))?;
    wait_for_migration(
        qmp,
        &format!("saving the guest to {}", path.display()),
        limit,
    )?;
    qmp.execute("quit", Value::Null)?;
    Ok(())
}

/// Loads `path` into this QEMU (started with `-incoming defer` and the
/// saved guest's machine options), hot-adds each of `devices` (device_add
/// arguments) while the guest is still stopped, then lets it run.
pub fn restore(
    qmp: &mut Qmp,
    path: &Path,
    devices: &[Value],
    limit: Duration,
) -> Result<(), QmpError> {
    let uri = file_uri(path)?;
    qmp.execute("migrate-set-capabilities", capabilities())?;
    qmp.execute("migrate-incoming", json!({ "uri": uri }))?;
    wait_for_migration(
        qmp,
        &format!("loading the saved guest {}", path.display()),
        limit,
    )?;
    for device in devices {
        qmp.execute("device_add", device.clone()).map_err(|e| {
            QmpError::Protocol(format!(
                "hot-adding {} after the restore: {e}",
                device["id"].as_str().unwrap_or("a device")
            ))
        })?;
    }
    qmp.execute("cont", Value::Null)?;
    Ok(())
}
