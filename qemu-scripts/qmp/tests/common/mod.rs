//! A fake QEMU for the client's tests: a QMP server on a Unix socket that
//! greets, negotiates capabilities, then runs a test's script.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;

pub type Script = fn(&mut dyn FnMut() -> Value, &mut dyn FnMut(Value));

/// A fake QEMU on a socket running `script`; join the handle (after dropping
/// the client) to know it saw every command it expected.
pub fn fake(name: &str, script: Script) -> (std::path::PathBuf, std::thread::JoinHandle<()>) {
    let dir = std::env::temp_dir().join(format!("qmp-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("qmp.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut recv = || {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            serde_json::from_str::<Value>(&line).unwrap_or(Value::Null)
        };
        let mut send = |v: Value| {
            let _ = writeln!(writer, "{v}");
        };
        send(json!({"QMP": {"version": {}, "capabilities": []}}));
        assert_eq!(recv()["execute"], "qmp_capabilities");
        send(json!({"return": {}}));
        script(&mut recv, &mut send);
    });
    (path, handle)
}

/// Drops the client, then fails the test if the fake QEMU's script failed.
pub fn finished(q: cardless_qmp::Qmp, fake: std::thread::JoinHandle<()>) {
    drop(q);
    fake.join()
        .expect("the fake QEMU did not see the commands it expected");
}
