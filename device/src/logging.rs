//! The card server's log lines: `[SECONDS LEVEL target] message`, SECONDS
//! since the server started (as the trace's times are). The verdict reads
//! the level of each line (qemu-scripts/verdict/src/card.rs).

use std::io::Write;
use std::time::Instant;

/// Logs at `level` and above; RUST_LOG refines it per module.
pub fn init(level: log::LevelFilter) {
    let start = Instant::now();
    env_logger::Builder::new()
        .filter_level(level)
        .parse_default_env()
        .format(move |out, record| {
            writeln!(
                out,
                "[{:.3}s {:<5} {}] {}",
                start.elapsed().as_secs_f64(),
                record.level(),
                record.target(),
                record.args()
            )
        })
        .init();
}
