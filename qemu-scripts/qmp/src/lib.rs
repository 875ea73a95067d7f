//! A small QMP client: connect to QEMU's monitor socket, negotiate
//! capabilities, run commands, wait for events. Enough for the harness
//! (device_del of a card, device_add after a restore, migration).
#![forbid(unsafe_code)]

pub mod migration;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// What went wrong talking to QEMU.
#[derive(Debug)]
pub enum QmpError {
    Io(std::io::Error),
    /// QEMU sent something that is not a QMP message.
    Protocol(String),
    /// QEMU answered the command with an error.
    Command {
        class: String,
        desc: String,
    },
}

impl std::fmt::Display for QmpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QmpError::Io(e) => write!(f, "QMP socket: {e}"),
            QmpError::Protocol(m) => write!(f, "QMP protocol: {m}"),
            QmpError::Command { class, desc } => {
                write!(f, "QEMU refused the command: {class}: {desc}")
            }
        }
    }
}

impl From<std::io::Error> for QmpError {
    fn from(e: std::io::Error) -> Self {
        QmpError::Io(e)
    }
}

/// A negotiated QMP connection.
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// Events seen while waiting for replies, oldest first.
    pub events: Vec<Value>,
}

impl Qmp {
    /// Connects and leaves capabilities negotiation mode.
    pub fn connect(socket: &Path, timeout: Duration) -> Result<Qmp, QmpError> {
        let stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(timeout))?;
        let writer = stream.try_clone()?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
            events: Vec::new(),
        };
        let greeting = qmp.read()?;
        if greeting.get("QMP").is_none() {
            return Err(QmpError::Protocol(format!("no QMP greeting: {greeting}")));
        }
        qmp.execute("qmp_capabilities", Value::Null)?;
        Ok(qmp)
    }

    /// Like `connect`, but waits up to `timeout` for QEMU to open the
    /// socket (a QEMU started a moment ago).
    pub fn connect_when_ready(socket: &Path, timeout: Duration) -> Result<Qmp, QmpError> {
        let start = Instant::now();
        loop {
            match Qmp::connect(socket, timeout) {
                Err(QmpError::Io(e))
                    if start.elapsed() < timeout
                        && matches!(
                            e.kind(),
                            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                        ) =>
                {
                    std::thread::sleep(Duration::from_millis(20))
                }
                other => return other,
            }
        }
    }

    fn read(&mut self) -> Result<Value, QmpError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(QmpError::Protocol("QEMU closed the monitor socket".into()));
        }
        serde_json::from_str(&line).map_err(|e| QmpError::Protocol(format!("{e}: {line:?}")))
    }

    /// Runs `command` with `arguments` (`Value::Null`: none); its `return`.
    pub fn execute(&mut self, command: &str, arguments: Value) -> Result<Value, QmpError> {
        let mut msg = json!({ "execute": command });
        if !arguments.is_null() {
            msg["arguments"] = arguments;
        }
        writeln!(self.writer, "{msg}")?;
        loop {
            let reply = self.read()?;
            if let Some(ret) = reply.get("return") {
                return Ok(ret.clone());
            }
            if let Some(err) = reply.get("error") {
                return Err(QmpError::Command {
                    class: err["class"].as_str().unwrap_or("?").to_string(),
                    desc: err["desc"].as_str().unwrap_or("?").to_string(),
                });
            }
            if reply.get("event").is_some() {
                self.events.push(reply);
            }
        }
    }

    /// Waits for event `name` (one already seen counts); its `data`.
    pub fn wait_event(&mut self, name: &str) -> Result<Value, QmpError> {
        if let Some(pos) = self.events.iter().position(|e| e["event"] == name) {
            return Ok(self.events.remove(pos)["data"].clone());
        }
        loop {
            let msg = self.read()?;
            if msg["event"] == name {
                return Ok(msg["data"].clone());
            }
            if msg.get("event").is_some() {
                self.events.push(msg);
            }
        }
    }
}
