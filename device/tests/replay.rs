//! Record and replay (SPEC §15): a run recorded through the vfio-user
//! transport with the `vfio_user` crate's `Client` replays without a VMM;
//! a tampered event is reported at that event; unusable traces are refused
//! with a reason, never a panic; the CLI's exit codes and the timeline.

mod common;

use std::path::Path;
use std::process::Command;

use cardless_abi::regs::*;
use cardless_device::fault::FaultPlan;
use cardless_device::model::CardConfig;
use cardless_device::replay::{replay_text, Outcome};
use common::*;

const IOVA: u64 = 0x1_0000_0000;
const GUEST: usize = 1 << 20;
const TABLE: u64 = IOVA + 0x1000;
const SB: u64 = IOVA;
const RS: u32 = 512;
const ENTRIES: u32 = 8;

/// Records a run through the transport: SG ring, records, consumer
/// updates, copies both ways, BAR2 written through its mapping (unseen by
/// the card), a fault, DMA_UNMAP, disconnect. Returns the trace text.
fn record(dir: &Path) -> String {
    let path = dir.join("run.jsonl");
    let server = TestServer::with_config(CardConfig {
        deterministic: true,
        seed: 0xfeed,
        trace: Some(path.clone()),
        faults: FaultPlan::parse("dup-irq rec=2\ncorrupt-payload rec=5").unwrap(),
        debug_window: true,
        ..CardConfig::default()
    });
    {
        let mut c = server.client();
        let guest = GuestMemory::mapped(&mut c, IOVA, GUEST);
        // SG table: 1 page per 8 records of 512 bytes; pages out of order.
        let pages = [IOVA + 0x9000, IOVA + 0x4000];
        for (i, p) in pages.iter().enumerate() {
            guest.write(0x1000 + 8 * i, &p.to_le_bytes());
        }
        let w = |c: &mut vfio_user::Client, reg, v| write32(c, REGION_BAR0, reg, v);
        w(&mut c, RING_BASE_LO, TABLE as u32);
        w(&mut c, RING_BASE_HI, (TABLE >> 32) as u32);
        w(&mut c, RING_ENTRIES, ENTRIES);
        w(&mut c, RECORD_SIZE, RS);
        w(&mut c, SG_PAGES, 2);
        w(&mut c, STATUS_ADDR_LO, SB as u32);
        w(&mut c, STATUS_ADDR_HI, (SB >> 32) as u32);
        w(&mut c, INT_MASK, INT_ALL);
        w(&mut c, CONTROL, CTRL_ENABLE | CTRL_SG | CTRL_STATUS_WB);
        for _ in 0..4 {
            w(&mut c, STEP, 3);
            let prod = read32(&mut c, REGION_BAR0, PROD_IDX);
            w(&mut c, CONS_IDX, prod);
        }
        // The guest writes host memory (CPU) and BAR2 (mapping): the card
        // sees neither until it DMAs / copies.
        guest.write(0x20000, b"host bytes the copy engine reads");
        let bar2 = map_shared(server.card.card().bar2().fd(), 4096);
        for (i, b) in b"mapped BAR2 bytes".iter().enumerate() {
            // SAFETY: inside the 4 KiB mapping.
            unsafe { bar2.as_ptr().add(0x300 + i).write_volatile(*b) };
        }
        let copy = |c: &mut vfio_user::Client, off, host: u64, op| {
            w(c, COPY_BAR_OFF, off);
            w(c, COPY_LEN, 32);
            w(c, COPY_HOST_LO, host as u32);
            w(c, COPY_HOST_HI, (host >> 32) as u32);
            w(c, COPY_CTRL, op);
        };
        copy(&mut c, 0x100, IOVA + 0x20000, COPY_OP_FROM_HOST);
        copy(&mut c, 0x300, IOVA + 0x30000, COPY_OP_TO_HOST);
        copy(&mut c, 0x300, 0, COPY_OP_CHECKSUM);
        read32(&mut c, REGION_BAR0, COPY_RESULT_LO);
        let mut b2 = [0u8; 16];
        c.region_read(REGION_BAR2, 0x300, &mut b2).unwrap();
        c.region_write(REGION_BAR2, 0x800, &[7u8; 24]).unwrap();
        c.dma_unmap(IOVA, GUEST as u64).unwrap();
        w(&mut c, STEP, 1); // faults: the ring is gone
        read32(&mut c, REGION_BAR0, ERROR_CODE);
        read32(&mut c, REGION_BAR0, VTIME_LO);
        // SAFETY: unmapping the mapping made above.
        unsafe { rustix::mm::munmap(bar2.as_ptr().cast(), 4096).unwrap() };
    }
    assert_eq!(server.next_ending(), Ok(()));
    server.card.card().shutdown();
    std::fs::read_to_string(path).unwrap()
}

fn diverged(text: &str) -> cardless_device::replay::Divergence {
    match replay_text(text).unwrap() {
        Outcome::Diverged(d) => d,
        Outcome::Match(n) => panic!("expected a divergence, {n} events matched"),
    }
}

/// Replaces line `i` (0-based) of `text` with `f(line)`.
fn tamper(text: &str, i: usize, f: impl Fn(&str) -> String) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[i] = f(&lines[i]);
    lines.join("\n")
}

fn find(text: &str, pred: impl Fn(&str) -> bool) -> usize {
    text.lines().position(pred).expect("line in trace")
}

/// SPEC §15.2: a recorded transport run replays event for event.
#[test]
fn recorded_run_replays_and_tampering_is_located() {
    let dir = tempdir();
    let text = record(&dir);
    if let Ok(keep) = std::env::var("CARDLESS_KEEP_TRACE") {
        std::fs::write(keep, &text).unwrap();
    }
    for ev in [
        "dma_map",
        "dma_unmap",
        "dma_unmap_all",
        "bar2",
        "fault",
        "error",
    ] {
        assert!(
            text.contains(&format!("\"ev\":\"{ev}\"")),
            "no {ev} in trace"
        );
    }
    let n = text.lines().count();
    match replay_text(&text).unwrap() {
        Outcome::Match(m) => assert_eq!(m, n),
        Outcome::Diverged(d) => panic!("{d}"),
    }

    // A register value the card returned.
    let i = find(&text, |l| {
        l.contains("\"dir\":\"r\"") && l.contains("\"off\":\"0x60\"")
    });
    let d = diverged(&tamper(&text, i, |l| {
        l.replace("\"val\":\"0x3\"", "\"val\":\"0x4\"")
    }));
    assert_eq!(d.event, i + 1);
    assert!(
        d.detail.contains("PROD_IDX") && d.detail.contains("0x3") && d.detail.contains("0x4"),
        "{d}"
    );

    // A record's hash.
    let i = find(&text, |l| {
        l.contains("\"ev\":\"dma\"") && l.contains(&format!("\"len\":{RS},"))
    });
    let d = diverged(&tamper(&text, i, |l| {
        let at = l.find("\"hash\":\"").unwrap() + 8;
        let end = at + l[at..].find('"').unwrap();
        format!("{}0x1234{}", &l[..at], &l[end..])
    }));
    assert_eq!(d.event, i + 1);
    assert!(
        d.detail.contains("expected hash") && d.addr.is_some(),
        "{d}"
    );

    // A status block byte: the first differing byte is shown.
    let sb = format!("\"addr\":\"{SB:#x}\"");
    let i = find(&text, |l| {
        l.contains("\"dir\":\"w\"") && l.contains(&sb) && l.contains("\"len\":64")
    });
    let d = diverged(&tamper(&text, i, |l| {
        let at = l.find("\"data\":\"").unwrap() + 8;
        let mut s = l.to_owned();
        s.replace_range(at..at + 2, "ee");
        s
    }));
    assert_eq!((d.event, d.addr), (i + 1, Some(SB)));
    assert!(
        d.detail
            .contains("first differing byte at 0x100000000 (byte 0)"),
        "{d}"
    );

    // A guest action: STEP 3 -> STEP 2. The card then does less: the first
    // output after it differs.
    let i = find(&text, |l| {
        l.contains("\"off\":\"0x74\"") && l.contains("\"val\":\"0x3\"")
    });
    let d = diverged(&tamper(&text, i, |l| {
        l.replace("\"val\":\"0x3\"", "\"val\":\"0x2\"")
    }));
    assert!(d.event > i + 1, "{d}");

    // A recorded interrupt removed: the replay sends it where the trace
    // goes on with something else. An event the replay never produces.
    let mut cut: Vec<&str> = text.lines().collect();
    let i = cut
        .iter()
        .rposition(|l| l.contains("\"ev\":\"irq\""))
        .unwrap();
    cut.remove(i);
    let d = diverged(&cut.join("\n"));
    assert_eq!(d.event, i + 1);
    assert!(d.detail.contains("produced a irq event"), "{d}");
    let d = diverged(&format!(
        "{}\n{{\"t\":1,\"ev\":\"irq\",\"cause\":\"0x1\",\"vec\":0}}",
        text.trim_end()
    ));
    assert_eq!(d.event, n + 1);
    assert!(d.detail.contains("did not happen"), "{d}");

    // The CLI: exit 0 on a match, 1 with the event on a divergence.
    let good = dir.join("good.jsonl");
    std::fs::write(&good, &text).unwrap();
    let out = cli(&["replay", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{n} events")));
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, tamper(&text, 5, |l| l.replace("\"t\":0", "\"t\":7"))).unwrap();
    let out = cli(&["replay", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("divergence at event 6"));

    // The timeline of the same run: JSON and PNG.
    let json = dir.join("t.json");
    let png = dir.join("t.png");
    let out = cli(&[
        "timeline",
        good.to_str().unwrap(),
        "-o",
        json.to_str().unwrap(),
        "--png",
        png.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(v["traceEvents"].as_array().unwrap().len() > n / 2);
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
    if let Ok(keep) = std::env::var("CARDLESS_KEEP_TIMELINE") {
        std::fs::copy(&png, keep).unwrap();
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cardless-device"))
        .args(args)
        .output()
        .expect("run cardless-device")
}

const START: &str = r#"{"t":0,"ev":"start","version":2,"seed":"0x0","deterministic":true,"bar2_size":"0x1000","record_size":64,"rate":0,"debug_window":false,"faults":[]}"#;

/// SPEC §15.2: traces that cannot be replayed are refused with a reason;
/// hostile values are divergences, never panics.
#[test]
fn unusable_traces_are_refused() {
    let unusable = |text: &str, want: &str| match replay_text(text) {
        Err(e) => assert!(e.to_string().contains(want), "{e}"),
        other => panic!("{text}: {other:?}"),
    };
    unusable("", "first line is not a \"start\"");
    unusable("garbage", "not JSON");
    unusable(r#"{"t":0,"ev":"irq","cause":"0x1","vec":0}"#, "\"start\"");
    unusable(
        &START.replace("\"version\":2", "\"version\":1"),
        "version 1",
    );
    unusable(
        &START.replace("\"deterministic\":true", "\"deterministic\":false"),
        "free-running",
    );
    unusable(
        &START.replace("\"faults\":[]", "\"faults\":[\"explode\"]"),
        "unknown fault",
    );
    unusable(&START.replace("\"0x1000\"", "\"0x1001\""), "power of two");
    for hostile in [
        r#"{"t":0,"ev":"dma_map","addr":"0x0","size":"0xffffffffffffffff","writable":true}"#,
        r#"{"t":0,"ev":"dma_map","addr":"0x1","size":"0x1000","writable":true}"#,
        r#"{"t":0,"ev":"dma_unmap","addr":"0x0","size":"0x1000"}"#,
        r#"{"t":0,"ev":"mmio","dir":"r","bar":0,"off":"0x0","len":99999999999,"hash":"0x0"}"#,
        r#"{"t":0,"ev":"mmio","dir":"w","bar":2,"off":"0x0","len":16,"hash":"0x0"}"#,
    ] {
        let d = diverged(&format!("{START}\n{hostile}"));
        assert_eq!(d.event, 2, "{hostile}: {d}");
    }
    // The CLI says why and exits 2.
    let dir = tempdir();
    let p = dir.join("x.jsonl");
    std::fs::write(&p, "garbage").unwrap();
    let out = cli(&["replay", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("trace line 1"));
    let out = cli(&["replay", dir.join("missing").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

/// The serving command line is unchanged, and plans are checked up front.
#[test]
fn serve_cli_checks_fault_plans() {
    let out = cli(&["--socket", "/nonexistent/dir/s", "--fault", "explode"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown fault 'explode'"));
    let out = cli(&["--socket", "/x", "--fault-plan", "/nonexistent/plan"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read fault plan"));
    let out = cli(&[]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--socket"));
}
