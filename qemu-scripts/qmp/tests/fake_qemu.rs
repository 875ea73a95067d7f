//! The client against a fake QMP server on a socket: greeting, capability
//! negotiation, a command's return, an error, events while waiting.

use cardless_qmp::{Qmp, QmpError};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::time::Duration;

fn fake(script: fn(&mut dyn FnMut() -> Value, &mut dyn FnMut(Value))) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("qmp-test-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("qmp.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut recv = || {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            serde_json::from_str::<Value>(&line).unwrap()
        };
        let mut send = |v: Value| writeln!(writer, "{v}").unwrap();
        send(json!({"QMP": {"version": {}, "capabilities": []}}));
        assert_eq!(recv()["execute"], "qmp_capabilities");
        send(json!({"return": {}}));
        script(&mut recv, &mut send);
    });
    path
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[test]
fn a_command_returns_its_reply_and_events_are_kept() {
    let path = fake(|recv, send| {
        let cmd = recv();
        assert_eq!(cmd["execute"], "device_del");
        assert_eq!(cmd["arguments"]["id"], "card1");
        send(json!({"event": "SOMETHING", "data": {}}));
        send(json!({"return": {}}));
        send(json!({"event": "DEVICE_DELETED", "data": {"device": "card1"}}));
    });
    let mut q = Qmp::connect(&path, Duration::from_secs(5)).unwrap();
    assert_eq!(
        q.execute("device_del", json!({"id": "card1"})).unwrap(),
        json!({})
    );
    assert_eq!(q.events.len(), 1);
    assert_eq!(q.wait_event("DEVICE_DELETED").unwrap()["device"], "card1");
}

#[test]
fn an_error_reply_is_an_error_with_qemus_words() {
    let path = fake(|recv, send| {
        let _ = recv();
        send(json!({"error": {"class": "DeviceNotFound", "desc": "Device 'card9' not found"}}));
    });
    let mut q = Qmp::connect(&path, Duration::from_secs(5)).unwrap();
    match q.execute("device_del", json!({"id": "card9"})) {
        Err(QmpError::Command { class, desc }) => {
            assert_eq!(class, "DeviceNotFound");
            assert!(desc.contains("card9"));
        }
        other => panic!("{other:?}"),
    }
}
