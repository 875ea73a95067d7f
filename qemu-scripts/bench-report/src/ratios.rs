//! The ratios the report states, each between figures measured side by side
//! in the same run (on a noisy shared machine only ratios travel):
//!
//! - first touch: each strategy against the cheapest per page, and in total
//!   against the fastest with a buffer of the same size;
//! - sequential read: each mapping against the anonymous buffer;
//! - streaming: verified bytes/s against memcpy of the same buffer;
//! - registers: trapped cardless BAR0 against QEMU's `edu` BAR0, and the
//!   mapped BAR2 against the trapped BAR0.

use crate::schema::{Bench, FirstTouch, RegisterTarget, SeqRead, Streaming, ANONYMOUS};

/// A first-touch figure with its ratios.
///
/// Buffers differ in size (strategies backed by one contiguous allocation are
/// smaller), so totals are compared only between buffers of the same size;
/// per-page times compare across sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstTouchRatio {
    pub strategy: String,
    /// `median_ns / pages`.
    pub per_page_ns: f64,
    /// Time per page over the smallest time per page of any strategy.
    pub vs_best_per_page: f64,
    /// Median total over the smallest median total among buffers of the same size.
    pub vs_best_same_size: f64,
}

/// Median time per page.
pub fn per_page_ns(e: &FirstTouch) -> f64 {
    e.ns().median / e.pages as f64
}

/// First-touch ratios, in the order of `entries`.
pub fn first_touch(entries: &[FirstTouch]) -> Vec<FirstTouchRatio> {
    let best_per_page = min(entries.iter().map(per_page_ns));
    entries
        .iter()
        .map(|e| {
            let best_total = min(entries
                .iter()
                .filter(|o| o.bytes == e.bytes)
                .map(|o| o.ns().median));
            FirstTouchRatio {
                strategy: e.strategy.clone(),
                per_page_ns: per_page_ns(e),
                vs_best_per_page: per_page_ns(e) / best_per_page,
                vs_best_same_size: e.ns().median / best_total,
            }
        })
        .collect()
}

/// The strategy with the smallest median time per page among those `keep` accepts.
pub fn best_per_page(
    entries: &[FirstTouch],
    keep: impl Fn(&FirstTouch) -> bool,
) -> Option<&FirstTouch> {
    entries
        .iter()
        .filter(|e| keep(e))
        .min_by(|a, b| per_page_ns(a).total_cmp(&per_page_ns(b)))
}

/// The strategy with the smallest median total among buffers of `bytes`.
pub fn best_total_at(entries: &[FirstTouch], bytes: u64) -> Option<&FirstTouch> {
    entries
        .iter()
        .filter(|e| e.bytes == bytes)
        .min_by(|a, b| a.ns().median.total_cmp(&b.ns().median))
}

fn min(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(f64::INFINITY, f64::min)
}

/// Sequential-read bandwidth over the anonymous baseline's; `None` when the
/// baseline was not measured.
pub fn seq_read_vs_anonymous(entries: &[SeqRead], e: &SeqRead) -> Option<f64> {
    let base = entries.iter().find(|b| b.strategy == ANONYMOUS)?;
    Some(e.mib_s().median / base.mib_s().median)
}

/// Verified streaming bytes/s over the memcpy rate of the same buffer.
pub fn streaming_vs_memcpy(e: &Streaming) -> f64 {
    e.median_bytes_per_s / e.memcpy_bytes_per_s
}

/// The register-latency ratios (medians).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegisterRatios {
    /// Trapped cardless BAR0 read over the `edu` BAR0 read.
    pub cardless_bar0_vs_edu_bar0: Option<f64>,
    /// Mapped BAR2 read over the trapped BAR0 read.
    pub cardless_bar2_vs_cardless_bar0: Option<f64>,
}

/// Register-latency ratios; a ratio is `None` when one side is missing.
pub fn registers(bench: &Bench) -> RegisterRatios {
    let median = |t: RegisterTarget| {
        bench
            .register_latency
            .iter()
            .find(|r| r.kind() == Some(t))
            .map(|r| r.median_ns)
    };
    let bar0 = median(RegisterTarget::CardlessBar0);
    let edu = median(RegisterTarget::EduBar0);
    let bar2 = median(RegisterTarget::CardlessBar2);
    RegisterRatios {
        cardless_bar0_vs_edu_bar0: bar0.zip(edu).map(|(a, b)| a / b),
        cardless_bar2_vs_cardless_bar0: bar2.zip(bar0).map(|(a, b)| a / b),
    }
}
