//! REGION_READ reply latency of the vfio-user server, next to bare
//! Unix-socket echo servers, all in one run (issue 3, "Register access
//! latency").
//!
//! Three servers answer the same blocking client pattern as the `vfio_user`
//! crate's `Client::region_read` (write a 32-byte request, read a 32-byte
//! reply header, read the 4 data bytes):
//!
//! - `echo, both block`: a plain blocking echo server;
//! - `echo, adaptive`: an echo server on the transport's `AdaptiveSocket`
//!   with the server's polling policy;
//! - `vfio server`: the card's server reading BAR0 `ID` through a real
//!   `vfio_user::Client`;
//! - `vfio via link`: the same through `cardless-device link` (the relay
//!   `make qemu-test` puts in front of the card it kills).
//!
//! The three alternate in batches so that changes in machine load hit them
//! alike. Goal: `vfio server` within 1.2x of `echo, adaptive`.
//! Run: `cargo bench -p cardless-device --bench reply_latency [-- ITERATIONS [SPIN_US]]`.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use cardless_abi::regs;
use cardless_device::model::CardConfig;
use cardless_device::vfio::socket::AdaptiveSocket;
use cardless_device::vfio::{CardPort, PollPolicy, Server};

const REQUEST: usize = 32;
const REPLY_HEADER: usize = 32;
const REPLY_DATA: usize = 4;
const WARMUP: usize = 2_000;
const BATCHES: usize = 10;

/// One server under test and the client that times it.
trait Peer {
    fn round_trip(&mut self);
}

/// The client side of the echo servers: the syscalls of `Client::region_read`.
struct EchoClient {
    stream: UnixStream,
}

impl Peer for EchoClient {
    fn round_trip(&mut self) {
        let mut header = [0u8; REPLY_HEADER];
        let mut data = [0u8; REPLY_DATA];
        self.stream.write_all(&[0u8; REQUEST]).unwrap();
        self.stream.read_exact(&mut header).unwrap();
        self.stream.read_exact(&mut data).unwrap();
    }
}

struct VfioClient(vfio_user::Client);

impl Peer for VfioClient {
    fn round_trip(&mut self) {
        let mut data = [0u8; 4];
        self.0
            .region_read(regs::BAR_REGS.into(), regs::ID, &mut data)
            .unwrap();
        debug_assert_eq!(u32::from_le_bytes(data), regs::ID_VALUE);
    }
}

fn listen(dir: &Path, name: &str) -> (UnixListener, PathBuf) {
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    (UnixListener::bind(&path).unwrap(), path)
}

fn blocking_echo(dir: &Path) -> (EchoClient, JoinHandle<()>) {
    let (listener, path) = listen(dir, "blocking.sock");
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; REQUEST];
        let reply = [0u8; REPLY_HEADER + REPLY_DATA];
        while stream.read_exact(&mut request).is_ok() {
            if stream.write_all(&reply).is_err() {
                break;
            }
        }
    });
    let stream = UnixStream::connect(path).unwrap();
    (EchoClient { stream }, server)
}

fn adaptive_echo(dir: &Path, policy: PollPolicy) -> (EchoClient, JoinHandle<()>) {
    let (listener, path) = listen(dir, "adaptive.sock");
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut socket = AdaptiveSocket::new(stream, policy, None).unwrap();
        let mut request = [0u8; REQUEST];
        let reply = [0u8; REPLY_HEADER + REPLY_DATA];
        let mut fds = Vec::new();
        while let Ok(true) = socket.recv_exact(&mut request, &mut fds) {
            if socket.send(&reply, None).is_err() {
                break;
            }
            socket.message_done();
        }
    });
    let stream = UnixStream::connect(path).unwrap();
    (EchoClient { stream }, server)
}

fn vfio_server(dir: &Path, policy: PollPolicy) -> (VfioClient, JoinHandle<()>) {
    let (listener, path) = listen(dir, "vfio.sock");
    serve_card(listener, policy, &path)
}

/// A second card server, reached through a `cardless-device link` process.
fn vfio_via_link(
    dir: &Path,
    policy: PollPolicy,
) -> (VfioClient, JoinHandle<()>, std::process::Child) {
    let (listener, server_path) = listen(dir, "vfio-behind.sock");
    let link_path = dir.join("link.sock");
    let link = std::process::Command::new(env!("CARGO_BIN_EXE_cardless-device"))
        .args(["link", "--listen"])
        .arg(&link_path)
        .arg("--server")
        .arg(&server_path)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start cardless-device link");
    // The link's socket appears once it listens (it binds, then renames).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !link_path.exists() {
        assert!(Instant::now() < deadline, "the link did not start");
        thread::sleep(Duration::from_millis(5));
    }
    let (client, thread) = serve_card(listener, policy, &link_path);
    (client, thread, link)
}

/// Serves one connection of a fresh card on `listener`; the client
/// connects to `connect_to` (the listener's path, or a relay in front of it).
fn serve_card(
    listener: UnixListener,
    policy: PollPolicy,
    connect_to: &Path,
) -> (VfioClient, JoinHandle<()>) {
    let config = CardConfig {
        deterministic: true,
        ..CardConfig::default()
    };
    let (card, irqs) = CardPort::build(config).expect("build the card");
    let mut server = Server::new(card.clone(), irqs, policy).unwrap();
    let thread = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let _ = server.serve(stream);
        card.card().shutdown();
    });
    let client = vfio_user::Client::new(connect_to).expect("vfio-user client");
    (VfioClient(client), thread)
}

struct Stats {
    median: Duration,
    p99: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    Stats {
        median: samples[samples.len() / 2],
        p99: samples[samples.len() * 99 / 100],
    }
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn main() {
    // `cargo bench` passes `--bench`; bare numbers set iterations and spin.
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let iterations = numbers.first().map_or(20_000, |&n| n as usize);
    let policy = numbers.get(1).map_or(PollPolicy::default(), |&us| {
        PollPolicy::spinning(Duration::from_micros(us))
    });
    let dir = std::env::temp_dir().join(format!("cardless-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let (blocking, blocking_thread) = blocking_echo(&dir);
    let (adaptive, adaptive_thread) = adaptive_echo(&dir, policy);
    let (vfio, vfio_thread) = vfio_server(&dir, policy);
    let (linked, linked_thread, mut link) = vfio_via_link(&dir, policy);
    let mut peers: Vec<(&str, Box<dyn Peer>, Vec<Duration>)> = vec![
        ("echo, both block", Box::new(blocking), Vec::new()),
        ("echo, adaptive", Box::new(adaptive), Vec::new()),
        ("vfio server", Box::new(vfio), Vec::new()),
        ("vfio via link", Box::new(linked), Vec::new()),
    ];
    for (_, peer, _) in &mut peers {
        for _ in 0..WARMUP {
            peer.round_trip();
        }
    }
    let batch = iterations.div_ceil(BATCHES);
    for _ in 0..BATCHES {
        for (_, peer, samples) in &mut peers {
            for _ in 0..batch {
                let start = Instant::now();
                peer.round_trip();
                samples.push(start.elapsed());
            }
        }
    }
    let results: Vec<(&str, Stats)> = peers
        .into_iter()
        .map(|(name, peer, samples)| {
            drop(peer); // closes the connection: the server thread ends
            (name, stats(samples))
        })
        .collect();
    let _ = link.kill();
    let _ = link.wait();
    for thread in [blocking_thread, adaptive_thread, vfio_thread, linked_thread] {
        thread.join().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "REGION_READ round trip, {} iterations each, spin window {} us",
        batch * BATCHES,
        policy.spin.as_micros()
    );
    println!("{:<18} {:>10} {:>10}", "server", "median us", "p99 us");
    for (name, stats) in &results {
        println!(
            "{name:<18} {:>10.1} {:>10.1}",
            micros(stats.median),
            micros(stats.p99)
        );
    }
    let median = |index: usize| micros(results[index].1.median);
    println!(
        "vfio server / adaptive echo: {:.2}x (goal <= 1.2x); adaptive / blocking echo: {:.2}x",
        median(2) / median(1),
        median(1) / median(0)
    );
    println!(
        "vfio via link / vfio server: {:.2}x (+{:.1} us per round trip)",
        median(3) / median(2),
        median(3) - median(2)
    );
}
