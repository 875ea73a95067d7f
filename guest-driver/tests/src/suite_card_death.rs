//! The guest survives the card dying (issue 8). The last suite of every
//! two-card `make qemu-test`, whose host half (qemu-scripts/qemu-test.sh)
//! watches for the `card-death:` lines below: it hot-unplugs card 1
//! through QEMU's monitor, then SIGKILLs card 0's server while the card
//! streams. Card 0 sits behind a `cardless-device link`, which keeps QEMU's
//! socket when the server dies and answers like a fabric whose card
//! vanished (QEMU 11.1 aborts when the socket itself dies). Each case skips
//! unless the host's half does its step (/etc/cardless-card-death): it
//! would wait for a death that never comes. Card 1 has no MSI-X: QEMU 11.1
//! aborts when it finalizes the hot-unplug of a vfio-user device with MSI-X.

use crate::card::{Card, Errno};
use crate::ktap::{self, CaseResult, Suite};
use crate::pci::{self, HotplugSlot};
use crate::stream_reader::params;
use crate::{cases, check, check_eq};
use cardless_uapi::ioctl as uapi;
use std::io::Write;
use std::time::{Duration, Instant};

/// Written into the initramfs by qemu-test.sh when it plays the host's
/// half: the steps it takes ("kill", "unplug kill").
const HOST_HALF: &str = "/etc/cardless-card-death";

/// `Some(skip)` unless the host's half does `step`.
fn host_skips(step: &str) -> Option<CaseResult> {
    let steps = std::fs::read_to_string(HOST_HALF).unwrap_or_default();
    if steps.split_whitespace().any(|s| s == step) {
        return None;
    }
    Some(ktap::skip(
        &format!("host-{step}"),
        format!("the host does not {step} a card in this run (two-card make qemu-test does both)"),
    ))
}

fn say(line: &str) {
    println!("    # card-death: {line}");
    let _ = std::io::stdout().flush();
}

/// SIGKILL of the server mid-stream: waits fail (ENODEV) instead of hanging,
/// registers read all-ones, the buffer mapping stays readable RAM.
fn server_killed_mid_stream() -> CaseResult {
    if let Some(skipped) = host_skips("kill") {
        return skipped;
    }
    let card = Card::open(0)?;
    let (buf, map) = card.mapped_buffer(256 * 1024, uapi::STRATEGY_PAGES)?;
    let bar0 = card.map_bar0(4096)?;
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

/// QMP device_del of card 1 (its slot then powered off without pciehp's
/// five-second wait) while a file, a BAR mapping and a buffer of
/// every strategy are open, mapped and streaming: the node goes, the open
/// file answers ENODEV, every mapping SIGBUS (the fault handler's untouched
/// pages too), and the DMA-API debugger finds no mapping left behind.
fn hot_unplug_with_live_buffers() -> CaseResult {
    if let Some(skipped) = host_skips("unplug") {
        return skipped;
    }
    let live = crate::live_buffers::LiveBuffers::set_up(1)?;
    let bar0 = live.card.map_bar0(4096)?;
    let location = live
        .card
        .info()
        .map_err(|e| format!("IOC_INFO: {e}"))?
        .pci_location;
    let slot = HotplugSlot::of(&pci::address_of(location))?;
    say("unplug card 1 now");
    let start = Instant::now();
    // The host's device_del presses the slot's attention button; pciehp
    // would wait five seconds for a change of mind. The removal itself is
    // the same either way: power the slot off as soon as the press shows.
    while !slot.power_indicator_blinks()? {
        check!(
            start.elapsed() < Duration::from_secs(120),
            "card 1's slot shows no attention-button press 120 s after the unplug request"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    if !slot.power_off()? {
        say("pciehp powered the slot off before the test did");
    }
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
    match live.card.version() {
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
    live.check_gone()
}

pub const SUITE: Suite = Suite {
    name: "card_death",
    about: "hot-unplug of card 1 and SIGKILL of card 0's server, with everything live",
    cases: cases![hot_unplug_with_live_buffers, server_killed_mid_stream],
};
