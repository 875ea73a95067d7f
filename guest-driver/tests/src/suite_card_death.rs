//! The guest survives the card dying (issue 8), driven by the host's
//! `qemu-scripts/card-death-test.sh`, which watches for the `card-death:`
//! lines below: it kills card 0's server with SIGKILL while the card
//! streams (after it hot-unplugged card 1 through QEMU's monitor: QEMU
//! 11.1 aborts when a server dies mid-stream, so that comes last). Only run when
//! named (`cardless-tests card_death`): without the host's part it would wait.

use crate::card::{Card, Errno};
use crate::ktap::{CaseResult, Suite};
use crate::stream_reader::params;
use crate::{cases, check, check_eq};
use cardless_uapi::ioctl as uapi;
use std::io::Write;
use std::time::{Duration, Instant};

fn say(line: &str) {
    println!("    # card-death: {line}");
    let _ = std::io::stdout().flush();
}

/// SIGKILL of the server mid-stream: waits fail (ENODEV) instead of hanging,
/// registers read all-ones, the buffer mapping stays readable RAM.
fn server_killed_mid_stream() -> CaseResult {
    let card = Card::open(0)?;
    let buf = card
        .buf_alloc(256 * 1024, uapi::STRATEGY_PAGES)
        .map_err(|e| format!("alloc: {e}"))?;
    let map = card
        .map(buf.id as u64, 256 * 1024, libc::PROT_READ, libc::MAP_SHARED)
        .map_err(|e| format!("mmap: {e}"))?;
    let bar0 = card
        .map_shared(uapi::MMAP_PGOFF_BAR0, 4096)
        .map_err(|e| format!("mmap BAR0: {e}"))?;
    let mut p = params(buf.id, 9);
    p.rate = 2000;
    card.stream_start(&p)
        .map_err(|e| format!("STREAM_START: {e}"))?;
    let first = card
        .stream_wait(0, 5000)
        .map_err(|e| format!("first record: {e}"))?;
    say("streaming (kill card 0's server now)");
    let start = Instant::now();
    let mut cons = 0u32;
    let mut prod = first;
    let outcome = loop {
        if start.elapsed() > Duration::from_secs(120) {
            break Err(
                "no error two minutes after the server was to be killed: is the host side running?"
                    .to_string(),
            );
        }
        cons = prod;
        let _ = card.stream_consume(cons);
        match card.stream_wait(cons, 1000) {
            Ok(p) => prod = p,
            Err(Errno(libc::ENODEV)) | Err(Errno(libc::EIO)) => break Ok(()),
            Err(Errno(libc::ETIMEDOUT)) => continue,
            Err(other) => break Err(format!("STREAM_WAIT after the kill: {other}")),
        }
    };
    outcome?;
    say(&format!(
        "wait failed {} ms after streaming began; consumer at {cons}",
        start.elapsed().as_millis()
    ));
    check_eq!(
        bar0.read32(0),
        0xffff_ffff,
        "BAR0 read through the mapping of a dead card"
    );
    let _ = map.bytes()[0]; // RAM: still readable
    let _ = card.stream_stop();
    Ok(())
}

/// QMP device_del of card 1 while a file and mappings are open: the node
/// goes, the open file answers ENODEV, touching its BAR mapping is SIGBUS.
fn hot_unplug_with_open_mapping() -> CaseResult {
    let card = Card::open(1)?;
    let bar0 = card
        .map_shared(uapi::MMAP_PGOFF_BAR0, 4096)
        .map_err(|e| format!("mmap BAR0: {e}"))?;
    say("unplug card 1 now");
    let start = Instant::now();
    while std::path::Path::new("/dev/cardless1").exists() {
        check!(
            start.elapsed() < Duration::from_secs(120),
            "/dev/cardless1 still there 120 s after the unplug request"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    say(&format!(
        "card 1 gone after {} ms",
        start.elapsed().as_millis()
    ));
    match card.version() {
        Err(Errno(libc::ENODEV)) => {}
        other => {
            return Err(format!(
                "IOC_VERSION on a file of the unplugged card: got {other:?}, expected ENODEV"
            ))
        }
    }
    check_eq!(
        bar0.signal_of_touch(),
        Some(libc::SIGBUS),
        "signal of a touch of the unplugged card's BAR mapping"
    );
    Ok(())
}

pub const SUITE: Suite = Suite {
    name: "card_death",
    cases: cases![hot_unplug_with_open_mapping, server_killed_mid_stream],
};
