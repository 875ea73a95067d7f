//! The `cardless-device` binary: socket handling, shutdown on signal and on
//! the VMM's disconnect (issue 3, item 8).

mod common;

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use cardless_abi::regs;
use cardless_device::trace::Event;
use common::*;

fn spawn(socket: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cardless-device"))
        .args(["--deterministic", "--log-level", "warn", "--socket"])
        .arg(socket)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cardless-device")
}

fn wait_for_socket(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(Instant::now() < deadline, "socket never appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "cardless-device did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn terminate(child: &Child) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
}

#[test]
fn live_socket_is_never_taken_and_the_owner_keeps_serving() {
    let dir = tempdir();
    let socket = dir.join("card.sock");
    let mut first = spawn(&socket);
    wait_for_socket(&socket);

    let second = Command::new(env!("CARGO_BIN_EXE_cardless-device"))
        .arg("--socket")
        .arg(&socket)
        .output()
        .unwrap();
    assert!(!second.status.success());
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(message.contains("already exists"), "{message}");

    // The second one's probe did not end the first one.
    let mut client = vfio_user::Client::new(&socket).expect("first still serves");
    assert_eq!(read32(&mut client, REGION_BAR0, regs::ID), regs::ID_VALUE);
    drop(client);
    // The VMM leaving ends the server, which removes its socket.
    assert!(wait_exit(&mut first).success());
    assert!(!socket.exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sigterm_shuts_down_cleanly_with_or_without_a_client() {
    let dir = tempdir();
    let socket = dir.join("card.sock");
    let mut idle = spawn(&socket);
    wait_for_socket(&socket);
    terminate(&idle);
    assert!(wait_exit(&mut idle).success());
    assert!(!socket.exists(), "socket removed");

    let mut busy = spawn(&socket);
    wait_for_socket(&socket);
    let mut client = vfio_user::Client::new(&socket).unwrap();
    assert_eq!(read32(&mut client, REGION_BAR0, regs::ID), regs::ID_VALUE);
    terminate(&busy);
    assert!(wait_exit(&mut busy).success());
    assert!(!socket.exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn stale_socket_is_replaced() {
    let dir = tempdir();
    let socket = dir.join("card.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists(), "a socket file nobody listens on");
    let mut server = spawn(&socket);
    let mut client = loop {
        if let Ok(client) = vfio_user::Client::new(&socket) {
            break client;
        }
        assert!(server.try_wait().unwrap().is_none(), "server died");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(read32(&mut client, REGION_BAR0, regs::ID), regs::ID_VALUE);
    drop(client);
    assert!(wait_exit(&mut server).success());
    let _ = std::fs::remove_dir_all(dir);
}

/// SPEC §12: a card killed without a shutdown (the harness SIGKILLs one in
/// its card-death suite) still leaves the lines it traced more than
/// `MAX_LINE_AGE` before in its trace file: here the case marker a guest
/// writes and the register read after it.
#[test]
fn a_sigkilled_card_leaves_its_recent_lines_in_the_trace() {
    let dir = tempdir();
    let socket = dir.join("card.sock");
    let trace = dir.join("card.trace");
    let mut card = Command::new(env!("CARGO_BIN_EXE_cardless-device"))
        .args(["--deterministic", "--log-level", "warn", "--socket"])
        .arg(&socket)
        .arg("--trace")
        .arg(&trace)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cardless-device");
    wait_for_socket(&socket);
    let mut client = vfio_user::Client::new(&socket).unwrap();
    // A quiet spell first, so the lines below wait for a flush of their
    // own rather than riding along with the start line's.
    std::thread::sleep(cardless_device::trace::MAX_LINE_AGE * 3);
    let marker = 0xca5e_0003;
    write32(&mut client, REGION_BAR0, regs::SCRATCH, marker);
    assert_eq!(read32(&mut client, REGION_BAR0, regs::SCRATCH), marker);
    // The bound, with room for a loaded machine's scheduler.
    std::thread::sleep(cardless_device::trace::MAX_LINE_AGE * 10);
    card.kill().expect("SIGKILL the card");
    assert!(!wait_exit(&mut card).success());

    let text = std::fs::read_to_string(&trace).unwrap();
    let lines = cardless_device::trace::parse_trace(&text)
        .unwrap_or_else(|e| panic!("the killed card's trace does not read: {e}\n{text}"));
    let scratch = |write: bool| {
        lines.iter().any(|l| {
            matches!(l.ev, Event::Mmio { write: w, bar: 0, off, val: Some(v), .. }
                if w == write && off == regs::SCRATCH && v == u64::from(marker))
        })
    };
    assert!(
        matches!(lines.first().map(|l| &l.ev), Some(Event::Start { .. })),
        "{text}"
    );
    assert!(
        scratch(true),
        "the marker write is not in the trace:\n{text}"
    );
    assert!(
        scratch(false),
        "the read after it is not in the trace:\n{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
