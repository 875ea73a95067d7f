//! The benchmark JSON (schema version 2, written by the in-guest benchmark):
//! its types, and a parser that checks every field and says which one is
//! wrong.
//!
//! Parsing never stops at the first problem: every entry that is valid is
//! kept (so a report can still be written), and every missing, skipped or
//! invalid figure is returned as a [`Problem`] naming it.
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

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The schema version this tool reads.
pub const SCHEMA_VERSION: u64 = 2;

/// The driver's buffer strategies, in the driver's order.
pub const STRATEGIES: [&str; cardless_uapi::ioctl::STRATEGY_COUNT as usize] =
    cardless_uapi::ioctl::STRATEGY_NAMES;

/// The sequential-read baseline: a plain anonymous buffer in the same process.
pub const ANONYMOUS: &str = "anonymous";

/// The accelerator the guest ran under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq)]
pub struct FirstTouch {
    pub strategy: String,
    pub bytes: u64,
    pub pages: u64,
    /// Runs behind the median.
    pub runs: u64,
    /// Total time, ns.
    pub ns: Spread,
}

/// Sequential read of a populated mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct SeqRead {
    pub strategy: String,
    pub bytes: u64,
    pub runs: u64,
    pub mib_s: Spread,
}

/// Card -> ring -> verified by the user-space reader.
#[derive(Debug, Clone, PartialEq)]
pub struct Streaming {
    pub strategy: String,
    pub record_size: u64,
    pub records: u64,
    /// The ring's size (also the buffer memcpy copies).
    pub ring_bytes: u64,
    pub runs: u64,
    pub records_per_s: Spread,
    pub median_bytes_per_s: f64,
    /// In-guest memcpy rate of the same buffer.
    pub memcpy_bytes_per_s: f64,
}

/// What `write(O_DIRECT)` from a populated mapping did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectIoResult {
    /// The whole buffer was written.
    Works,
    /// It failed with this errno (`EFAULT`, or `errno N` when unnamed).
    Fails(String),
}

/// Direct I/O from one strategy's mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectIo {
    pub strategy: String,
    pub bytes: u64,
    pub result: DirectIoResult,
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
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterLatency {
    /// As the benchmark wrote it.
    pub target: String,
    pub kind: RegisterTarget,
    pub median_ns: f64,
    pub p99_ns: f64,
    pub samples: u64,
}

/// Doorbell write -> data-ready interrupt -> user space woken.
#[derive(Debug, Clone, PartialEq)]
pub struct IrqRoundTrip {
    pub median_us: f64,
    pub p99_us: f64,
    pub samples: u64,
}

/// A figure the benchmark says it could not measure.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub figure: String,
    pub reason: String,
}

/// Everything valid in one benchmark JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Bench {
    pub accel: Accel,
    pub kernel: String,
    /// Free text; sample files say they are not measurements here.
    pub note: Option<String>,
    pub first_touch: Vec<FirstTouch>,
    pub seq_read: Vec<SeqRead>,
    pub direct_io: Vec<DirectIo>,
    pub streaming: Vec<Streaming>,
    pub register_latency: Vec<RegisterLatency>,
    pub irq_round_trip: Option<IrqRoundTrip>,
    pub skipped: Vec<Skipped>,
}

/// A figure that cannot be reported as measured.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("{figure}: not measured (no entry in the JSON, and not listed in \"skipped\"): the benchmark must measure it or list it in \"skipped\" with a reason")]
    Missing { figure: String },
    #[error("{figure}: skipped by the benchmark: {reason}")]
    Skipped { figure: String, reason: String },
    #[error("{path}: {what}")]
    Invalid {
        /// The figure, when the entry said which one it is.
        figure: Option<String>,
        /// Where in the JSON, e.g. `first_touch[2].median_ns`.
        path: String,
        what: String,
    },
}

impl Problem {
    /// The figure's name, or the JSON path when the entry is unidentifiable.
    pub fn figure(&self) -> &str {
        match self {
            Problem::Missing { figure } | Problem::Skipped { figure, .. } => figure,
            Problem::Invalid {
                figure: Some(f), ..
            } => f,
            Problem::Invalid { path, .. } => path,
        }
    }
}

/// The file cannot be read as a benchmark at all (nothing can be reported).
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("not valid JSON: {0} (is it the file the guest benchmark wrote, copied whole?)")]
    Json(#[from] serde_json::Error),
    #[error("the top level is not a JSON object")]
    NotObject,
    #[error("{0}")]
    Header(String),
}

/// Parses and checks a benchmark JSON: the valid figures, and every problem.
pub fn parse(text: &str) -> Result<(Bench, Vec<Problem>), SchemaError> {
    let value: Value = serde_json::from_str(text)?;
    let root = value.as_object().ok_or(SchemaError::NotObject)?;
    let mut p = Parser::default();
    let bench = p.bench(root)?;
    let mut problems = p.problems;
    problems.extend(completeness(&bench, &p.seen));
    Ok((bench, problems))
}

/// Collects problems and the figures that had an entry (valid or not).
#[derive(Default)]
struct Parser {
    problems: Vec<Problem>,
    seen: BTreeSet<String>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Typed access to one JSON object, with its path for messages. Each getter
/// returns `Err(message)` naming the field.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    fn field(&self, key: &str) -> Result<&'a Value, (String, String)> {
        self.map
            .get(key)
            .ok_or_else(|| (self.at(key), "missing".to_string()))
    }

    fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn string(&self, key: &str) -> Result<&'a str, (String, String)> {
        let v = self.field(key)?;
        v.as_str().ok_or_else(|| {
            (
                self.at(key),
                format!("expected a string, found {}", type_name(v)),
            )
        })
    }

    fn uint(&self, key: &str) -> Result<u64, (String, String)> {
        let v = self.field(key)?;
        v.as_u64().ok_or_else(|| {
            (
                self.at(key),
                format!("expected a non-negative integer, found {v}"),
            )
        })
    }

    /// An integer of at least 1.
    fn count(&self, key: &str) -> Result<u64, (String, String)> {
        match self.uint(key)? {
            0 => Err((self.at(key), "must be at least 1, found 0".to_string())),
            n => Ok(n),
        }
    }

    /// A finite number greater than 0 (a time or a rate).
    fn positive(&self, key: &str) -> Result<f64, (String, String)> {
        let v = self.field(key)?;
        match v.as_f64() {
            Some(x) if x.is_finite() && x > 0.0 => Ok(x),
            Some(x) => Err((
                self.at(key),
                format!("must be a number greater than 0, found {x} (a figure that could not be measured belongs in \"skipped\")"),
            )),
            None => Err((
                self.at(key),
                format!("expected a number, found {}", type_name(v)),
            )),
        }
    }

    /// `median_X`, `min_X`, `max_X` with min <= median <= max.
    fn spread(&self, suffix: &str) -> Result<Spread, (String, String)> {
        let median = self.positive(&format!("median_{suffix}"))?;
        let min = self.positive(&format!("min_{suffix}"))?;
        let max = self.positive(&format!("max_{suffix}"))?;
        if !(min <= median && median <= max) {
            return Err((
                self.at(&format!("median_{suffix}")),
                format!("expected min_{suffix} <= median_{suffix} <= max_{suffix}, found {min} / {median} / {max}"),
            ));
        }
        Ok(Spread { median, min, max })
    }
}

type FieldResult<T> = Result<T, (String, String)>;

impl Parser {
    fn invalid(&mut self, figure: Option<String>, (path, what): (String, String)) {
        self.problems.push(Problem::Invalid { figure, path, what });
    }

    /// A required top-level field that the rest cannot do without.
    fn header<T>(r: FieldResult<T>) -> Result<T, SchemaError> {
        r.map_err(|(path, what)| SchemaError::Header(format!("{path}: {what}")))
    }

    fn bench(&mut self, root: &Map<String, Value>) -> Result<Bench, SchemaError> {
        let top = Obj {
            map: root,
            path: String::new(),
        };
        let schema = Self::header(top.uint("schema"))?;
        if schema != SCHEMA_VERSION {
            return Err(SchemaError::Header(format!(
                "schema: this tool reads version {SCHEMA_VERSION}, the file is version {schema} (update cardless-bench-report with the benchmark)"
            )));
        }
        let accel = match Self::header(top.string("accel"))? {
            "tcg" => Accel::Tcg,
            "kvm" => Accel::Kvm,
            other => {
                return Err(SchemaError::Header(format!(
                    "accel: expected \"tcg\" or \"kvm\", found {other:?}"
                )))
            }
        };
        let kernel = Self::header(top.string("kernel"))?.to_string();
        let note = match root.get("note") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                return Err(SchemaError::Header(format!(
                    "note: expected a string, found {}",
                    type_name(v)
                )))
            }
        };
        let skipped = self.skipped(&top);
        let first_touch = self.section(&top, "first_touch", Self::first_touch);
        let seq_read = self.section(&top, "seq_read", Self::seq_read);
        let direct_io = self.section(&top, "direct_io", Self::direct_io);
        let streaming = self.section(&top, "streaming", Self::streaming);
        let register_latency = self.section(&top, "register_latency", Self::register_latency);
        let irq_round_trip = self.irq(&top);
        Ok(Bench {
            accel,
            kernel,
            note,
            first_touch,
            seq_read,
            direct_io,
            streaming,
            register_latency,
            irq_round_trip,
            skipped,
        })
    }

    fn skipped(&mut self, top: &Obj) -> Vec<Skipped> {
        let list = match top.field("skipped") {
            Ok(Value::Array(list)) => list,
            Ok(v) => {
                let what = format!("expected an array, found {}", type_name(v));
                self.invalid(None, (top.at("skipped"), what));
                return Vec::new();
            }
            Err((path, _)) => {
                let what = "missing (write \"skipped\": [] when every figure was measured)";
                self.invalid(None, (path, what.to_string()));
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (i, v) in list.iter().enumerate() {
            let path = format!("skipped[{i}]");
            let Some(map) = v.as_object() else {
                let what = format!(
                    "expected {{\"figure\": ..., \"reason\": ...}}, found {}",
                    type_name(v)
                );
                self.invalid(None, (path, what));
                continue;
            };
            let o = Obj { map, path };
            match (o.string("figure"), o.string("reason")) {
                (Ok(figure), Ok(reason)) => out.push(Skipped {
                    figure: figure.to_string(),
                    reason: reason.to_string(),
                }),
                (Err(e), _) => self.invalid(None, e),
                (Ok(figure), Err(e)) => self.invalid(Some(figure.to_string()), e),
            }
        }
        out
    }

    /// Parses an array section entry by entry with `entry`, which returns the
    /// figure's name (if the entry names it) and the entry or its problem.
    fn section<T>(
        &mut self,
        top: &Obj,
        key: &str,
        entry: fn(&Obj) -> (Option<String>, FieldResult<T>),
    ) -> Vec<T> {
        let list = match top.field(key) {
            Ok(Value::Array(list)) => list,
            // Absent: every figure of the section is reported missing (or skipped).
            Err(_) => return Vec::new(),
            Ok(v) => {
                let what = format!("expected an array, found {}", type_name(v));
                self.invalid(Some(key.to_string()), (top.at(key), what));
                self.seen.insert(key.to_string());
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (i, v) in list.iter().enumerate() {
            let path = format!("{key}[{i}]");
            let Some(map) = v.as_object() else {
                let what = format!("expected an object, found {}", type_name(v));
                self.invalid(None, (path, what));
                continue;
            };
            let (figure, result) = entry(&Obj { map, path });
            if let Some(f) = &figure {
                if !self.seen.insert(f.clone()) {
                    let what = format!("{f} appears twice (one entry per figure)");
                    self.invalid(Some(f.clone()), (format!("{key}[{i}]"), what));
                    continue;
                }
            }
            match result {
                Ok(t) => out.push(t),
                Err(e) => self.invalid(figure, e),
            }
        }
        out
    }

    /// The strategy of an entry, checked against `allowed`.
    fn strategy<'a>(o: &Obj<'a>, allowed: &[&str]) -> FieldResult<&'a str> {
        let s = o.string("strategy")?;
        if allowed.contains(&s) {
            Ok(s)
        } else {
            Err((
                o.at("strategy"),
                format!(
                    "unknown strategy {s:?} (expected one of {})",
                    allowed.join(", ")
                ),
            ))
        }
    }

    fn first_touch(o: &Obj) -> (Option<String>, FieldResult<FirstTouch>) {
        let strategy = match Self::strategy(o, &STRATEGIES) {
            Ok(s) => s,
            Err(e) => return (None, Err(e)),
        };
        let entry = (|| {
            Ok(FirstTouch {
                strategy: strategy.to_string(),
                bytes: o.count("bytes")?,
                pages: o.count("pages")?,
                runs: o.count("runs")?,
                ns: o.spread("ns")?,
            })
        })();
        (Some(format!("first_touch.{strategy}")), entry)
    }

    fn seq_read(o: &Obj) -> (Option<String>, FieldResult<SeqRead>) {
        let mut allowed = STRATEGIES.to_vec();
        allowed.push(ANONYMOUS);
        let strategy = match Self::strategy(o, &allowed) {
            Ok(s) => s,
            Err(e) => return (None, Err(e)),
        };
        let entry = (|| {
            Ok(SeqRead {
                strategy: strategy.to_string(),
                bytes: o.count("bytes")?,
                runs: o.count("runs")?,
                mib_s: o.spread("mib_s")?,
            })
        })();
        (Some(format!("seq_read.{strategy}")), entry)
    }

    fn direct_io(o: &Obj) -> (Option<String>, FieldResult<DirectIo>) {
        let strategy = match Self::strategy(o, &STRATEGIES) {
            Ok(s) => s,
            Err(e) => return (None, Err(e)),
        };
        let entry = (|| {
            let result = match o.string("result")? {
                "works" => DirectIoResult::Works,
                e if is_errno_name(e) => DirectIoResult::Fails(e.to_string()),
                other => {
                    return Err((
                        o.at("result"),
                        format!("expected \"works\" or an errno name (\"EFAULT\", \"errno 5\"), found {other:?}"),
                    ))
                }
            };
            Ok(DirectIo {
                strategy: strategy.to_string(),
                bytes: o.count("bytes")?,
                result,
            })
        })();
        (Some(format!("direct_io.{strategy}")), entry)
    }

    fn streaming(o: &Obj) -> (Option<String>, FieldResult<Streaming>) {
        let (strategy, record_size) = match (Self::strategy(o, &STRATEGIES), o.count("record_size"))
        {
            (Ok(s), Ok(r)) => (s, r),
            (Err(e), _) | (_, Err(e)) => return (None, Err(e)),
        };
        let entry = (|| {
            Ok(Streaming {
                strategy: strategy.to_string(),
                record_size,
                records: o.count("records")?,
                ring_bytes: o.count("ring_bytes")?,
                runs: o.count("runs")?,
                records_per_s: o.spread("records_per_s")?,
                median_bytes_per_s: o.positive("median_bytes_per_s")?,
                memcpy_bytes_per_s: o.positive("memcpy_bytes_per_s")?,
            })
        })();
        (Some(format!("streaming.{strategy}.{record_size}")), entry)
    }

    fn register_latency(o: &Obj) -> (Option<String>, FieldResult<RegisterLatency>) {
        let target = match o.string("target") {
            Ok(t) => t,
            Err(e) => return (None, Err(e)),
        };
        let Some(kind) = RegisterTarget::recognise(target) else {
            let what = format!(
                "target {target:?} names none of cardless BAR0, edu BAR0, cardless BAR2 (it must contain \"cardless\" or \"edu\", and \"BAR0\" or \"BAR2\")"
            );
            return (None, Err((o.at("target"), what)));
        };
        let entry = (|| {
            let median_ns = o.positive("median_ns")?;
            let p99_ns = o.positive("p99_ns")?;
            if p99_ns < median_ns {
                return Err((
                    o.at("p99_ns"),
                    format!("p99_ns {p99_ns} is below median_ns {median_ns}"),
                ));
            }
            Ok(RegisterLatency {
                target: target.to_string(),
                kind,
                median_ns,
                p99_ns,
                samples: o.count("samples")?,
            })
        })();
        (Some(format!("register_latency.{}", kind.key())), entry)
    }

    fn irq(&mut self, top: &Obj) -> Option<IrqRoundTrip> {
        const KEY: &str = "irq_round_trip";
        let v = top.field(KEY).ok()?;
        self.seen.insert(KEY.to_string());
        let Some(map) = v.as_object() else {
            let what = format!("expected an object, found {}", type_name(v));
            self.invalid(Some(KEY.to_string()), (top.at(KEY), what));
            return None;
        };
        let o = Obj {
            map,
            path: KEY.to_string(),
        };
        let entry = (|| {
            let median_us = o.positive("median_us")?;
            let p99_us = o.positive("p99_us")?;
            if p99_us < median_us {
                return Err((
                    o.at("p99_us"),
                    format!("p99_us {p99_us} is below median_us {median_us}"),
                ));
            }
            Ok(IrqRoundTrip {
                median_us,
                p99_us,
                samples: o.count("samples")?,
            })
        })();
        match entry {
            Ok(irq) => Some(irq),
            Err(e) => {
                self.invalid(Some(KEY.to_string()), e);
                None
            }
        }
    }
}

/// Every figure a complete run has, given the record sizes the run used.
pub fn required_figures(bench: &Bench) -> Vec<String> {
    let mut out = Vec::new();
    for s in STRATEGIES {
        out.push(format!("first_touch.{s}"));
    }
    out.push(format!("seq_read.{ANONYMOUS}"));
    for s in STRATEGIES {
        out.push(format!("seq_read.{s}"));
    }
    for s in STRATEGIES {
        out.push(format!("direct_io.{s}"));
    }
    let sizes: BTreeSet<u64> = bench.streaming.iter().map(|s| s.record_size).collect();
    for s in STRATEGIES {
        if sizes.is_empty() {
            out.push(format!("streaming.{s}"));
        }
        for size in &sizes {
            out.push(format!("streaming.{s}.{size}"));
        }
    }
    for t in RegisterTarget::ALL {
        out.push(format!("register_latency.{}", t.key()));
    }
    out.push("irq_round_trip".to_string());
    out
}

/// `EFAULT`-style (E and capitals or digits) or `errno N`.
fn is_errno_name(s: &str) -> bool {
    let symbolic = s.len() > 1
        && s.starts_with('E')
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let numeric = s
        .strip_prefix("errno ")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    symbolic || numeric
}

/// Whether skipping `name` covers `figure` (equal, or a prefix at a `.`).
fn covers(name: &str, figure: &str) -> bool {
    figure == name
        || figure
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// Whether an entry seen for some figure counts for `figure` (a streaming
/// section seen under another name still counts as present).
fn seen_covers(seen: &BTreeSet<String>, figure: &str) -> bool {
    seen.iter().any(|s| covers(s, figure) || covers(figure, s))
}

/// The skipped figures, and the required figures with no entry.
fn completeness(bench: &Bench, seen: &BTreeSet<String>) -> Vec<Problem> {
    let mut out: Vec<Problem> = bench
        .skipped
        .iter()
        .map(|s| Problem::Skipped {
            figure: s.figure.clone(),
            reason: s.reason.clone(),
        })
        .collect();
    for figure in required_figures(bench) {
        if seen_covers(seen, &figure) {
            continue;
        }
        if bench.skipped.iter().any(|s| covers(&s.figure, &figure)) {
            continue;
        }
        out.push(Problem::Missing { figure });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_register_targets() {
        let r = RegisterTarget::recognise;
        assert_eq!(
            r("cardless BAR0 (trapped, vfio-user)"),
            Some(RegisterTarget::CardlessBar0)
        );
        assert_eq!(r("edu BAR0 (QEMU built-in)"), Some(RegisterTarget::EduBar0));
        assert_eq!(
            r("cardless BAR2 (mapped)"),
            Some(RegisterTarget::CardlessBar2)
        );
        assert_eq!(r("something else"), None);
    }

    #[test]
    fn errno_names() {
        assert!(is_errno_name("EFAULT"));
        assert!(is_errno_name("errno 121"));
        assert!(!is_errno_name("E"));
        assert!(!is_errno_name("efault"));
        assert!(!is_errno_name("errno "));
        assert!(!is_errno_name("failed"));
    }

    #[test]
    fn skip_names_cover_at_dots() {
        assert!(covers("streaming.pages", "streaming.pages.64"));
        assert!(covers("streaming", "streaming.pages.64"));
        assert!(!covers("streaming.page", "streaming.pages.64"));
        assert!(covers("irq_round_trip", "irq_round_trip"));
    }
}
