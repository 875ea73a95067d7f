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
//!   `vfio_user::Client`.
//!
//! Goal: `vfio server` within 1.2x of `echo, adaptive`.
//! Run: `cargo bench -p cardless-device --bench reply_latency [-- ITERATIONS]`.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use cardless_abi::regs;
use cardless_device::model::CardConfig;
use cardless_device::vfio::socket::AdaptiveSocket;
use cardless_device::vfio::{CardPort, PollPolicy, Server};

const REQUEST: usize = 32;
const REPLY_HEADER: usize = 32;
const REPLY_DATA: usize = 4;
const WARMUP: usize = 2_000;

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

fn socket_path(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

/// The client side of the echo benchmarks: the same syscalls as
/// `Client::region_read`.
fn echo_client(path: &Path, iterations: usize) -> Vec<Duration> {
    let mut stream = UnixStream::connect(path).expect("connect to echo server");
    let request = [0u8; REQUEST];
    let mut header = [0u8; REPLY_HEADER];
    let mut data = [0u8; REPLY_DATA];
    let mut samples = Vec::with_capacity(iterations);
    for round in 0..WARMUP + iterations {
        let start = Instant::now();
        stream.write_all(&request).unwrap();
        stream.read_exact(&mut header).unwrap();
        stream.read_exact(&mut data).unwrap();
        if round >= WARMUP {
            samples.push(start.elapsed());
        }
    }
    samples
}

fn blocking_echo(dir: &Path, iterations: usize) -> Stats {
    let path = socket_path(dir, "blocking.sock");
    let listener = UnixListener::bind(&path).unwrap();
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
    let samples = echo_client(&path, iterations);
    server.join().unwrap();
    stats(samples)
}

fn adaptive_echo(dir: &Path, iterations: usize, policy: PollPolicy) -> Stats {
    let path = socket_path(dir, "adaptive.sock");
    let listener = UnixListener::bind(&path).unwrap();
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
    let samples = echo_client(&path, iterations);
    server.join().unwrap();
    stats(samples)
}

fn vfio_server(dir: &Path, iterations: usize, policy: PollPolicy) -> Stats {
    let path = socket_path(dir, "vfio.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let config = CardConfig {
        deterministic: true,
        ..CardConfig::default()
    };
    let (card, irqs) = CardPort::build(config).expect("build the card");
    let mut server = Server::new(card.clone(), irqs, policy).unwrap();
    let thread = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let _ = server.serve(stream);
    });
    let mut client = vfio_user::Client::new(&path).expect("vfio-user client");
    let mut data = [0u8; 4];
    let mut samples = Vec::with_capacity(iterations);
    for round in 0..WARMUP + iterations {
        let start = Instant::now();
        client
            .region_read(regs::BAR_REGS.into(), regs::ID, &mut data)
            .unwrap();
        if round >= WARMUP {
            samples.push(start.elapsed());
        }
    }
    assert_eq!(u32::from_le_bytes(data), regs::ID_VALUE);
    drop(client);
    thread.join().unwrap();
    card.card().shutdown();
    stats(samples)
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn main() {
    // `cargo bench` passes `--bench`; a bare number sets the iterations.
    let iterations = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<usize>().ok())
        .unwrap_or(20_000);
    let policy = PollPolicy::default();
    let dir = std::env::temp_dir().join(format!("cardless-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let blocking = blocking_echo(&dir, iterations);
    let adaptive = adaptive_echo(&dir, iterations, policy);
    let vfio = vfio_server(&dir, iterations, policy);
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "REGION_READ round trip, {iterations} iterations, spin window {} us",
        policy.spin.as_micros()
    );
    println!("{:<22} {:>10} {:>10}", "server", "median us", "p99 us");
    for (name, stats) in [
        ("echo, both block", &blocking),
        ("echo, adaptive", &adaptive),
        ("vfio server", &vfio),
    ] {
        println!(
            "{name:<22} {:>10.1} {:>10.1}",
            micros(stats.median),
            micros(stats.p99)
        );
    }
    let ratio = micros(vfio.median) / micros(adaptive.median);
    println!(
        "vfio server / adaptive echo (median): {ratio:.2}x (goal <= 1.2x); \
         adaptive / blocking echo: {:.2}x",
        micros(adaptive.median) / micros(blocking.median)
    );
}
