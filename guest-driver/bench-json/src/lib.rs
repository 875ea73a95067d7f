//! The benchmark's result file (schema version 2), declared once: the
//! in-guest `cardless-bench` serializes a [`Bench`], the host's
//! `cardless-bench-report` reads it back into the same types.
//!
//! - [`types`]: the document, one serde type per figure;
//! - `fields`: the rules of single fields (counts at least 1, times and
//!   rates greater than 0, the `O_DIRECT` result), applied while reading;
//! - [`rules`]: the rules between fields ([`Entry::validate`]) and between
//!   entries (each figure once, every figure present or skipped):
//!   [`Bench::validate`].
//!
//! Figures are named `SECTION.KEY`, the names the benchmark uses in its
//! `"skipped"` list too:
//!
//! | figure | required |
//! | --- | --- |
//! | `first_touch.STRATEGY` | every strategy |
//! | `seq_read.STRATEGY`, `seq_read.anonymous` | every strategy and the baseline |
//! | `direct_io.STRATEGY` | every strategy |
//! | `streaming.STRATEGY.RECORD_SIZE` | every strategy, at every record size any entry uses |
//! | `register_latency.cardless_bar0`, `.edu_bar0`, `.cardless_bar2` | all three |
//! | `irq_round_trip` | yes |
//!
//! A skipped name covers every figure it is a prefix of (at a `.`): skipping
//! `streaming.pages` covers `streaming.pages.64`.
#![forbid(unsafe_code)]

mod fields;
pub mod rules;
pub mod types;

pub use rules::{required_figures, Checker, Entry, FieldError, Problem, Unreadable};
pub use types::*;

/// The schema version written and read.
pub const SCHEMA_VERSION: u64 = 2;

/// The driver's buffer strategies, in the driver's order.
pub const STRATEGIES: [&str; cardless_uapi::ioctl::STRATEGY_COUNT as usize] =
    cardless_uapi::ioctl::STRATEGY_NAMES;

/// The sequential-read baseline: a plain anonymous buffer in the same process.
pub const ANONYMOUS: &str = "anonymous";
