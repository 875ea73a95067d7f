//! Saving and restoring a guest against a fake QMP server: the commands in
//! QEMU's order, the mapped-ram capability, polling until the migration
//! completed, QEMU's reason when it failed, and devices hot-added in order
//! before the guest runs.

use cardless_qmp::{migration, Qmp, QmpError};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Duration;

mod common;
use common::{fake, finished};

fn expect(recv: &mut dyn FnMut() -> Value, command: &str) -> Value {
    let msg = recv();
    assert_eq!(
        msg["execute"], command,
        "QEMU expected {command}, got {msg}"
    );
    msg["arguments"].clone()
}

fn expect_mapped_ram(recv: &mut dyn FnMut() -> Value, send: &mut dyn FnMut(Value)) {
    let args = expect(recv, "migrate-set-capabilities");
    assert_eq!(
        args,
        json!({"capabilities": [{"capability": "mapped-ram", "state": true}]})
    );
    send(json!({"return": {}}));
}

const LIMIT: Duration = Duration::from_secs(5);

#[test]
fn save_stops_the_guest_migrates_to_the_file_waits_and_quits() {
    let (path, qemu) = fake("save", |recv, send| {
        expect(recv, "stop");
        send(json!({"return": {}}));
        expect_mapped_ram(recv, send);
        assert_eq!(expect(recv, "migrate")["uri"], "file:/saved/guest.mig");
        send(json!({"return": {}}));
        expect(recv, "query-migrate");
        send(json!({"return": {"status": "active"}}));
        expect(recv, "query-migrate");
        send(json!({"return": {"status": "completed"}}));
        expect(recv, "quit");
        send(json!({"return": {}}));
    });
    let mut q = Qmp::connect(&path, LIMIT).unwrap();
    migration::save(&mut q, Path::new("/saved/guest.mig"), LIMIT).unwrap();
    finished(q, qemu);
}

#[test]
fn a_failed_save_says_qemus_reason() {
    let (path, qemu) = fake("save-fails", |recv, send| {
        expect(recv, "stop");
        send(json!({"return": {}}));
        expect_mapped_ram(recv, send);
        expect(recv, "migrate");
        send(json!({"return": {}}));
        expect(recv, "query-migrate");
        send(json!({"return": {"status": "failed", "error-desc": "disk full"}}));
    });
    let mut q = Qmp::connect(&path, LIMIT).unwrap();
    let err = migration::save(&mut q, Path::new("/saved/guest.mig"), LIMIT).unwrap_err();
    assert!(err.to_string().contains("failed: disk full"), "{err}");
    finished(q, qemu);
}

#[test]
fn restore_loads_then_hot_adds_in_order_then_runs() {
    let (path, qemu) = fake("restore", |recv, send| {
        expect_mapped_ram(recv, send);
        assert_eq!(
            expect(recv, "migrate-incoming")["uri"],
            "file:/saved/guest.mig"
        );
        send(json!({"return": {}}));
        expect(recv, "query-migrate");
        send(json!({"return": {"status": "completed"}}));
        assert_eq!(expect(recv, "device_add")["id"], "card0");
        send(json!({"return": {}}));
        assert_eq!(expect(recv, "device_add")["id"], "disk");
        send(json!({"return": {}}));
        expect(recv, "cont");
        send(json!({"return": {}}));
    });
    let mut q = Qmp::connect(&path, LIMIT).unwrap();
    let devices = [
        json!({"driver": "x", "id": "card0"}),
        json!({"driver": "y", "id": "disk"}),
    ];
    migration::restore(&mut q, Path::new("/saved/guest.mig"), &devices, LIMIT).unwrap();
    finished(q, qemu);
}

#[test]
fn a_refused_hot_add_names_the_device_and_the_guest_never_runs() {
    let (path, qemu) = fake("restore-refused", |recv, send| {
        expect_mapped_ram(recv, send);
        expect(recv, "migrate-incoming");
        send(json!({"return": {}}));
        expect(recv, "query-migrate");
        send(json!({"return": {"status": "completed"}}));
        expect(recv, "device_add");
        send(json!({"error": {"class": "GenericError", "desc": "Bus 'rp0' not found"}}));
        // No cont may follow: the next message would be one.
        let next = recv();
        assert_ne!(
            next["execute"], "cont",
            "the guest was let run after a failed hot-add"
        );
    });
    let mut q = Qmp::connect(&path, LIMIT).unwrap();
    let err = migration::restore(
        &mut q,
        Path::new("/saved/guest.mig"),
        &[json!({"id": "card0"})],
        LIMIT,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("card0") && err.to_string().contains("Bus 'rp0' not found"),
        "{err}"
    );
    finished(q, qemu);
}

#[test]
fn a_relative_or_comma_path_is_refused_before_qemu_sees_it() {
    let (path, qemu) = fake("bad-path", |recv, _send| {
        let _ = recv();
    });
    let mut q = Qmp::connect(&path, LIMIT).unwrap();
    for bad in ["guest.mig", "/a,b/guest.mig"] {
        match migration::restore(&mut q, Path::new(bad), &[], LIMIT) {
            Err(QmpError::Protocol(m)) => assert!(m.contains("absolute path"), "{m}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    finished(q, qemu);
}

#[test]
fn connect_when_ready_waits_for_the_socket() {
    let dir = std::env::temp_dir().join(format!("qmp-late-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("qmp.sock");
    let late = path.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let listener = UnixListener::bind(&late).unwrap();
        let (stream, _) = listener.accept().unwrap();
        let mut writer = stream.try_clone().unwrap();
        writeln!(writer, "{}", json!({"QMP": {}})).unwrap();
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).unwrap();
        writeln!(writer, "{}", json!({"return": {}})).unwrap();
    });
    assert!(Qmp::connect(&path, LIMIT).is_err(), "no socket yet");
    Qmp::connect_when_ready(&path, LIMIT).unwrap();
}
