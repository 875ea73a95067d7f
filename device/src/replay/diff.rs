//! Explaining a divergence (SPEC §15.2): what was expected at an event,
//! what the replayed card did instead, down to the first differing byte
//! when the bytes are known.

use std::fmt;

use super::names::{cause_name, error_name, location};
use super::sim_mem::SimMemory;
use crate::trace::{Event, TraceLine};

/// Bytes shown around a difference.
const SHOW: usize = 16;

/// The first point where the replay differs from the recording.
#[derive(Debug, Clone)]
pub struct Divergence {
    /// Event number: the 1-based line of the recorded trace.
    pub event: usize,
    /// The address concerned (IOVA, BAR offset), if any.
    pub addr: Option<u64>,
    /// The recorded line.
    pub expected: String,
    /// The replayed line, or why there is none.
    pub actual: String,
    /// One sentence on the difference (values or bytes).
    pub detail: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "divergence at event {}: {}", self.event, self.detail)?;
        if let Some(a) = self.addr {
            writeln!(f, "  address:  {a:#x}")?;
        }
        writeln!(f, "  expected: {}", self.expected)?;
        write!(f, "  actual:   {}", self.actual)
    }
}

fn hex_bytes(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first differing position of two byte strings and a window of each.
fn byte_diff(exp: &[u8], act: &[u8], base: u64) -> Option<String> {
    let at = exp.iter().zip(act).position(|(a, b)| a != b)?;
    let end = |v: &[u8]| (at + SHOW).min(v.len());
    Some(format!(
        "first differing byte at {:#x} (byte {at}): expected {} , actual {}",
        base.wrapping_add(at as u64),
        hex_bytes(&exp[at..end(exp)]),
        hex_bytes(&act[at..end(act)])
    ))
}

/// Describes why `actual` is not `expected`; `mem` shows bytes the
/// replayed card wrote when the recording kept only their hash.
pub(crate) fn explain(
    expected: &TraceLine,
    actual: &TraceLine,
    mem: &SimMemory,
) -> (Option<u64>, String) {
    use Event::*;
    match (&expected.ev, &actual.ev) {
        (a, b) if a == b => (
            None,
            format!(
                "{} at VTIME {} ns expected, the replay has it at {} ns",
                a.name(),
                expected.t,
                actual.t
            ),
        ),
        (
            Mmio {
                write: w1,
                bar: b1,
                off: o1,
                len: l1,
                val: v1,
                hash: h1,
                ..
            },
            Mmio {
                write: w2,
                bar: b2,
                off: o2,
                len: l2,
                val: v2,
                hash: h2,
                ..
            },
        ) if (w1, b1, o1, l1) == (w2, b2, o2, l2) => {
            let show = |v: &Option<u64>, h: &Option<u64>| match (v, h) {
                (Some(v), _) => format!("{v:#x}"),
                (None, Some(h)) => format!("bytes with hash {h:#x}"),
                _ => "nothing".into(),
            };
            let dir = if *w1 { "write" } else { "read" };
            (
                Some(*o1),
                format!(
                    "mmio {dir} of {} returned {}, expected {}",
                    location(*b1, *o1),
                    show(v2, h2),
                    show(v1, h1)
                ),
            )
        }
        (
            Dma {
                write: w1,
                addr: a1,
                len: l1,
                hash: h1,
                data: d1,
            },
            Dma {
                write: w2,
                addr: a2,
                len: l2,
                hash: h2,
                data: d2,
            },
        ) if (w1, a1, l1) == (w2, a2, l2) => {
            let dir = if *w1 { "write" } else { "read" };
            let actual_bytes = d2.as_ref().map_or_else(
                || mem.read(*a2, (*l2).min(1 << 20) as usize),
                |d| d.to_vec(),
            );
            let bytes = match d1 {
                Some(exp) => byte_diff(exp, &actual_bytes, *a1)
                    .unwrap_or_else(|| "same bytes, different hash".into()),
                None => format!(
                    "expected hash {h1:#x}, actual hash {h2:#x}; actual bytes at {a2:#x}: {}",
                    hex_bytes(&actual_bytes[..actual_bytes.len().min(SHOW * 2)])
                ),
            };
            (
                Some(*a1),
                format!("dma {dir} of {l1} bytes at {a1:#x} differs: {bytes}"),
            )
        }
        (
            Bar2 {
                off,
                data: Some(exp),
                ..
            },
            Bar2 {
                data: Some(act), ..
            },
        ) => (
            Some(*off),
            format!(
                "BAR2 read by the card differs: {}",
                byte_diff(exp, act, *off).unwrap_or_default()
            ),
        ),
        (Irq { cause: c1, vec: v1 }, Irq { cause: c2, vec: v2 }) => (
            None,
            format!(
                "interrupt {} (vector {v2}) sent, expected {} (vector {v1})",
                cause_name(*c2),
                cause_name(*c1)
            ),
        ),
        (Error { code: c1, addr: a1 }, Error { code: c2, addr: a2 }) => (
            Some(*a1),
            format!(
                "error {} at {a2:#x}, expected {} at {a1:#x}",
                error_name(*c2),
                error_name(*c1)
            ),
        ),
        (
            Sanitizer {
                check: k1,
                addr: a1,
                msg: m1,
                ..
            },
            Sanitizer {
                check: k2,
                addr: a2,
                msg: m2,
                ..
            },
        ) => (
            Some(*a1),
            format!(
                "sanitizer finding {k2} at {a2:#x} (\"{m2}\"), expected {k1} at {a1:#x} (\"{m1}\")"
            ),
        ),
        (a, b) => (
            event_addr(a),
            format!(
                "expected a {} event, the replay produced a {} event",
                a.name(),
                b.name()
            ),
        ),
    }
}

/// The address an event is about, if any.
pub(crate) fn event_addr(ev: &Event) -> Option<u64> {
    match ev {
        Event::Mmio { off, .. } | Event::Bar2 { off, .. } => Some(*off),
        Event::Dma { addr, .. }
        | Event::DmaMap { addr, .. }
        | Event::DmaUnmap { addr, .. }
        | Event::Sanitizer { addr, .. }
        | Event::Error { addr, .. } => Some(*addr),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC §15.2: byte differences are located and shown.
    #[test]
    fn byte_diff_points_at_the_first_difference() {
        let d = byte_diff(&[1, 2, 3, 4], &[1, 2, 9, 4], 0x100).unwrap();
        assert!(
            d.contains("0x102 (byte 2)") && d.contains("03 04") && d.contains("09 04"),
            "{d}"
        );
        assert!(byte_diff(&[1], &[1], 0).is_none());
    }
}
