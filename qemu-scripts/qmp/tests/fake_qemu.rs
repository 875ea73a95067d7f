//! The client against a fake QMP server on a socket: greeting, capability
//! negotiation, a command's return, an error, events while waiting.

use cardless_qmp::{Qmp, QmpError};
use serde_json::json;
use std::time::Duration;

mod common;
use common::{fake, finished};

#[test]
fn a_command_returns_its_reply_and_events_are_kept() {
    let (path, qemu) = fake("command", |recv, send| {
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
    finished(q, qemu);
}

#[test]
fn an_error_reply_is_an_error_with_qemus_words() {
    let (path, qemu) = fake("error", |recv, send| {
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
    finished(q, qemu);
}
