//! The document: what `cardless-bench` writes, field for field, in the
//! order it writes them.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::fields::{count, is_errno_name, positive};

/// The accelerator the guest ran under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    Tcg,
    Kvm,
}

impl Accel {
    /// As written in tables: `TCG` or `KVM`.
    pub fn label(self) -> &'static str {
        match self {
            Accel::Tcg => "TCG",
            Accel::Kvm => "KVM",
        }
    }

    /// From its JSON name (`tcg`, `kvm`), as the harness passes it.
    pub fn from_name(name: &str) -> Option<Accel> {
        match name {
            "tcg" => Some(Accel::Tcg),
            "kvm" => Some(Accel::Kvm),
            _ => None,
        }
    }
}

/// A median with the smallest and largest of the runs behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// `(max - min) / median`: the width of the spread relative to the median.
    pub fn relative(&self) -> f64 {
        (self.max - self.min) / self.median
    }
}

/// First read of every page of a freshly mapped buffer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstTouch {
    pub strategy: String,
    #[serde(deserialize_with = "count")]
    pub bytes: u64,
    #[serde(deserialize_with = "count")]
    pub pages: u64,
    /// Runs behind the median.
    #[serde(deserialize_with = "count")]
    pub runs: u64,
    /// Total time of a run, ns.
    #[serde(deserialize_with = "positive")]
    pub median_ns: f64,
    #[serde(deserialize_with = "positive")]
    pub min_ns: f64,
    #[serde(deserialize_with = "positive")]
    pub max_ns: f64,
}

impl FirstTouch {
    /// Total time, ns.
    pub fn ns(&self) -> Spread {
        Spread {
            median: self.median_ns,
            min: self.min_ns,
            max: self.max_ns,
        }
    }
}

/// Sequential read of a populated mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeqRead {
    /// A strategy, or [`ANONYMOUS`](crate::ANONYMOUS) for the baseline.
    pub strategy: String,
    #[serde(deserialize_with = "count")]
    pub bytes: u64,
    #[serde(deserialize_with = "count")]
    pub runs: u64,
    #[serde(deserialize_with = "positive")]
    pub median_mib_s: f64,
    #[serde(deserialize_with = "positive")]
    pub min_mib_s: f64,
    #[serde(deserialize_with = "positive")]
    pub max_mib_s: f64,
}

impl SeqRead {
    /// MiB/s.
    pub fn mib_s(&self) -> Spread {
        Spread {
            median: self.median_mib_s,
            min: self.min_mib_s,
            max: self.max_mib_s,
        }
    }
}

/// What `write(O_DIRECT)` from a populated mapping did: `"works"`, or the
/// errno it failed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectIoResult {
    /// The whole buffer was written.
    Works,
    /// It failed with this errno (`EFAULT`, or `errno N` when unnamed).
    Fails(String),
}

impl Serialize for DirectIoResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DirectIoResult::Works => s.serialize_str("works"),
            DirectIoResult::Fails(errno) => s.serialize_str(errno),
        }
    }
}

impl<'de> Deserialize<'de> for DirectIoResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Result;
        impl Visitor<'_> for Result {
            type Value = DirectIoResult;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"works\" or an errno name (\"EFAULT\", \"errno 5\")")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<DirectIoResult, E> {
                match v {
                    "works" => Ok(DirectIoResult::Works),
                    e if is_errno_name(e) => Ok(DirectIoResult::Fails(e.to_string())),
                    other => Err(E::custom(format!(
                        "expected \"works\" or an errno name (\"EFAULT\", \"errno 5\"), found {other:?}"
                    ))),
                }
            }
        }
        d.deserialize_str(Result)
    }
}

/// Direct I/O from one strategy's mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectIo {
    pub strategy: String,
    #[serde(deserialize_with = "count")]
    pub bytes: u64,
    pub result: DirectIoResult,
}

/// Card -> ring -> verified by the user-space reader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Streaming {
    pub strategy: String,
    #[serde(deserialize_with = "count")]
    pub record_size: u64,
    #[serde(deserialize_with = "count")]
    pub records: u64,
    /// The ring's size (also the buffer memcpy copies).
    #[serde(deserialize_with = "count")]
    pub ring_bytes: u64,
    #[serde(deserialize_with = "count")]
    pub runs: u64,
    #[serde(deserialize_with = "positive")]
    pub median_records_per_s: f64,
    #[serde(deserialize_with = "positive")]
    pub min_records_per_s: f64,
    #[serde(deserialize_with = "positive")]
    pub max_records_per_s: f64,
    #[serde(deserialize_with = "positive")]
    pub median_bytes_per_s: f64,
    /// In-guest memcpy rate of the same buffer.
    #[serde(deserialize_with = "positive")]
    pub memcpy_bytes_per_s: f64,
}

impl Streaming {
    /// Verified records per second.
    pub fn records_per_s(&self) -> Spread {
        Spread {
            median: self.median_records_per_s,
            min: self.min_records_per_s,
            max: self.max_records_per_s,
        }
    }
}

/// Which register read a latency figure is, recognised from its free-text
/// `target` (see [`RegisterTarget::recognise`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RegisterTarget {
    /// A BAR0 read trapped to the vfio-user server.
    CardlessBar0,
    /// The same read on QEMU's built-in `edu` device.
    EduBar0,
    /// A read of the card's BAR2 through its user mapping.
    CardlessBar2,
}

impl RegisterTarget {
    pub const ALL: [RegisterTarget; 3] = [
        RegisterTarget::CardlessBar0,
        RegisterTarget::EduBar0,
        RegisterTarget::CardlessBar2,
    ];

    /// The figure key (`register_latency.KEY`).
    pub fn key(self) -> &'static str {
        match self {
            RegisterTarget::CardlessBar0 => "cardless_bar0",
            RegisterTarget::EduBar0 => "edu_bar0",
            RegisterTarget::CardlessBar2 => "cardless_bar2",
        }
    }

    /// A short label for plots.
    pub fn short(self) -> &'static str {
        match self {
            RegisterTarget::CardlessBar0 => "cardless BAR0 (trapped)",
            RegisterTarget::EduBar0 => "edu BAR0 (QEMU built-in)",
            RegisterTarget::CardlessBar2 => "cardless BAR2 (mapped)",
        }
    }

    /// Recognises a target text: it names `edu` or `cardless`, and `BAR0` or
    /// `BAR2` (case-insensitive), e.g. `"cardless BAR0 (trapped, vfio-user)"`.
    pub fn recognise(text: &str) -> Option<Self> {
        let t = text.to_ascii_lowercase();
        let bar0 = t.contains("bar0");
        let bar2 = t.contains("bar2");
        if t.contains("edu") && bar0 {
            Some(RegisterTarget::EduBar0)
        } else if t.contains("cardless") && bar0 && !bar2 {
            Some(RegisterTarget::CardlessBar0)
        } else if t.contains("cardless") && bar2 && !bar0 {
            Some(RegisterTarget::CardlessBar2)
        } else {
            None
        }
    }
}

/// One register read, ns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterLatency {
    /// Free text naming the register read (see [`RegisterTarget::recognise`]).
    pub target: String,
    #[serde(deserialize_with = "positive")]
    pub median_ns: f64,
    #[serde(deserialize_with = "positive")]
    pub p99_ns: f64,
    #[serde(deserialize_with = "count")]
    pub samples: u64,
}

impl RegisterLatency {
    /// Which read `target` names (always `Some` once validated).
    pub fn kind(&self) -> Option<RegisterTarget> {
        RegisterTarget::recognise(&self.target)
    }
}

/// Doorbell write -> data-ready interrupt -> user space woken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IrqRoundTrip {
    #[serde(deserialize_with = "positive")]
    pub median_us: f64,
    #[serde(deserialize_with = "positive")]
    pub p99_us: f64,
    #[serde(deserialize_with = "count")]
    pub samples: u64,
}

/// A figure the benchmark says it could not measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub figure: String,
    pub reason: String,
}

/// One benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bench {
    /// [`SCHEMA_VERSION`](crate::SCHEMA_VERSION).
    pub schema: u64,
    pub accel: Accel,
    /// `RELEASE debug|fast`.
    pub kernel: String,
    /// Free text; sample files say they are not measurements here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub first_touch: Vec<FirstTouch>,
    pub seq_read: Vec<SeqRead>,
    pub direct_io: Vec<DirectIo>,
    pub streaming: Vec<Streaming>,
    pub register_latency: Vec<RegisterLatency>,
    /// Absent when not measured (then named in `skipped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub irq_round_trip: Option<IrqRoundTrip>,
    pub skipped: Vec<Skipped>,
}
