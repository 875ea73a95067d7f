//! The rules a document keeps beyond its single fields: between the fields
//! of an entry ([`Entry::validate`]: min <= median <= max, p99 >= median, a
//! known strategy or target), and between entries (each figure once; every
//! required figure measured or skipped). [`Bench::validate`] applies them
//! all; the host's lenient reader applies them entry by entry through a
//! [`Checker`] so that one bad entry does not hide the others.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::types::*;
use crate::{ANONYMOUS, STRATEGIES};

/// A field of an entry that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, relative to the entry (`median_ns`).
    pub field: String,
    /// What is wrong.
    pub what: String,
}

impl FieldError {
    fn new(field: &str, what: String) -> Self {
        FieldError {
            field: field.to_string(),
            what,
        }
    }
}

/// One measured figure: an entry of a section.
pub trait Entry {
    /// The entry's section in the document.
    const SECTION: &'static str;
    /// The figure it measures, once its identifying fields are known.
    fn figure(&self) -> Option<String>;
    /// The rules between its fields.
    fn validate(&self) -> Result<(), FieldError>;
    /// The figure an entry that could not be read whole names, from its
    /// identifying fields alone (so it is reported by name, not missing).
    fn figure_in(raw: &Map<String, Value>) -> Option<String>;
}

/// `SECTION.STRATEGY` of a raw entry naming one of `allowed`.
fn strategy_in(raw: &Map<String, Value>, section: &str, allowed: &[&str]) -> Option<String> {
    let s = raw.get("strategy")?.as_str()?;
    allowed.contains(&s).then(|| format!("{section}.{s}"))
}

/// `field` names one of `allowed`.
fn known(field: &str, value: &str, allowed: &[&str], what: &str) -> Result<(), FieldError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(FieldError::new(
        field,
        format!(
            "unknown {what} {value:?} (expected one of {})",
            allowed.join(", ")
        ),
    ))
}

/// `median_X`, `min_X`, `max_X` with min <= median <= max.
fn ordered(s: Spread, suffix: &str) -> Result<(), FieldError> {
    if s.min <= s.median && s.median <= s.max {
        return Ok(());
    }
    Err(FieldError::new(
        &format!("median_{suffix}"),
        format!(
            "expected min_{suffix} <= median_{suffix} <= max_{suffix}, found {} / {} / {}",
            s.min, s.median, s.max
        ),
    ))
}

/// A 99th percentile at or above its median.
fn p99_above(p99: f64, median: f64, unit: &str) -> Result<(), FieldError> {
    if p99 >= median {
        return Ok(());
    }
    Err(FieldError::new(
        &format!("p99_{unit}"),
        format!("p99_{unit} {p99} is below median_{unit} {median}"),
    ))
}

/// The strategies a sequential read may name: every strategy and the baseline.
fn seq_read_subjects() -> Vec<&'static str> {
    STRATEGIES.iter().copied().chain([ANONYMOUS]).collect()
}

impl Entry for FirstTouch {
    const SECTION: &'static str = "first_touch";
    fn figure(&self) -> Option<String> {
        STRATEGIES
            .contains(&self.strategy.as_str())
            .then(|| format!("first_touch.{}", self.strategy))
    }
    fn validate(&self) -> Result<(), FieldError> {
        known("strategy", &self.strategy, &STRATEGIES, "strategy")?;
        ordered(self.ns(), "ns")
    }
    fn figure_in(raw: &Map<String, Value>) -> Option<String> {
        strategy_in(raw, Self::SECTION, &STRATEGIES)
    }
}

impl Entry for SeqRead {
    const SECTION: &'static str = "seq_read";
    fn figure(&self) -> Option<String> {
        seq_read_subjects()
            .contains(&self.strategy.as_str())
            .then(|| format!("seq_read.{}", self.strategy))
    }
    fn validate(&self) -> Result<(), FieldError> {
        known("strategy", &self.strategy, &seq_read_subjects(), "strategy")?;
        ordered(self.mib_s(), "mib_s")
    }
    fn figure_in(raw: &Map<String, Value>) -> Option<String> {
        strategy_in(raw, Self::SECTION, &seq_read_subjects())
    }
}

impl Entry for DirectIo {
    const SECTION: &'static str = "direct_io";
    fn figure(&self) -> Option<String> {
        STRATEGIES
            .contains(&self.strategy.as_str())
            .then(|| format!("direct_io.{}", self.strategy))
    }
    fn validate(&self) -> Result<(), FieldError> {
        known("strategy", &self.strategy, &STRATEGIES, "strategy")
    }
    fn figure_in(raw: &Map<String, Value>) -> Option<String> {
        strategy_in(raw, Self::SECTION, &STRATEGIES)
    }
}

impl Entry for Streaming {
    const SECTION: &'static str = "streaming";
    fn figure(&self) -> Option<String> {
        STRATEGIES
            .contains(&self.strategy.as_str())
            .then(|| format!("streaming.{}.{}", self.strategy, self.record_size))
    }
    fn validate(&self) -> Result<(), FieldError> {
        known("strategy", &self.strategy, &STRATEGIES, "strategy")?;
        ordered(self.records_per_s(), "records_per_s")
    }
    fn figure_in(raw: &Map<String, Value>) -> Option<String> {
        let size = raw.get("record_size")?.as_u64().filter(|&n| n > 0)?;
        strategy_in(raw, Self::SECTION, &STRATEGIES).map(|s| format!("{s}.{size}"))
    }
}

impl Entry for RegisterLatency {
    const SECTION: &'static str = "register_latency";
    fn figure(&self) -> Option<String> {
        self.kind().map(|k| format!("register_latency.{}", k.key()))
    }
    fn validate(&self) -> Result<(), FieldError> {
        if self.kind().is_none() {
            return Err(FieldError::new(
                "target",
                format!(
                    "target {:?} names none of cardless BAR0, edu BAR0, cardless BAR2 (it must \
                     contain \"cardless\" or \"edu\", and \"BAR0\" or \"BAR2\")",
                    self.target
                ),
            ));
        }
        p99_above(self.p99_ns, self.median_ns, "ns")
    }
    fn figure_in(raw: &Map<String, Value>) -> Option<String> {
        let kind = RegisterTarget::recognise(raw.get("target")?.as_str()?)?;
        Some(format!("{}.{}", Self::SECTION, kind.key()))
    }
}

impl Entry for IrqRoundTrip {
    const SECTION: &'static str = "irq_round_trip";
    fn figure(&self) -> Option<String> {
        Some(Self::SECTION.to_string())
    }
    fn validate(&self) -> Result<(), FieldError> {
        p99_above(self.p99_us, self.median_us, "us")
    }
    fn figure_in(_: &Map<String, Value>) -> Option<String> {
        Some(Self::SECTION.to_string())
    }
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

/// An entry that could not be read: the figure it names (if its
/// identifying fields could be read), the field at fault, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub figure: Option<String>,
    /// `None`: the entry as a whole (not an object).
    pub field: Option<String>,
    pub what: String,
}

/// Applies the rules entry by entry and collects the problems.
#[derive(Debug, Default)]
pub struct Checker {
    problems: Vec<Problem>,
    /// Figures that had an entry, valid or not (not reported missing).
    seen: BTreeSet<String>,
}

/// `SECTION[index].field`, `SECTION.field` for the single-object section.
fn path(section: &str, index: Option<usize>, field: Option<&str>) -> String {
    let at = match index {
        Some(i) => format!("{section}[{i}]"),
        None => section.to_string(),
    };
    match field {
        Some(f) if !f.is_empty() => format!("{at}.{f}"),
        _ => at,
    }
}

impl Checker {
    /// A problem found outside any entry.
    pub fn invalid(&mut self, figure: Option<String>, path: String, what: String) {
        self.problems.push(Problem::Invalid { figure, path, what });
    }

    /// A section that is not what it should be (not an array): its figures
    /// count as present, and it is invalid.
    pub fn bad_section(&mut self, section: &str, what: String) {
        self.seen.insert(section.to_string());
        self.invalid(Some(section.to_string()), section.to_string(), what);
    }

    /// Checks entry `index` of `T::SECTION` (`None` for the single-object
    /// section), or records why it could not be read. True when the entry
    /// is valid and its figure's first.
    pub fn check<T: Entry>(&mut self, index: Option<usize>, entry: Result<&T, Unreadable>) -> bool {
        let at = |field: Option<&str>| path(T::SECTION, index, field);
        let (figure, result) = match entry {
            Ok(e) => (
                e.figure(),
                e.validate().map_err(|e| (Some(e.field), e.what)),
            ),
            Err(u) => (u.figure, Err((u.field, u.what))),
        };
        if let Some(f) = &figure {
            if !self.seen.insert(f.clone()) {
                let what = format!("{f} appears twice (one entry per figure)");
                self.invalid(Some(f.clone()), at(None), what);
                return false;
            }
        }
        match result {
            Ok(()) => true,
            Err((field, what)) => {
                self.invalid(figure, at(field.as_deref()), what);
                false
            }
        }
    }

    /// Checks every entry of `entries`; the valid ones.
    pub fn section<'a, T: Entry>(&mut self, entries: &'a [T]) -> Vec<&'a T> {
        entries
            .iter()
            .enumerate()
            .filter(|&(i, e)| self.check(Some(i), Ok(e)))
            .map(|(_, e)| e)
            .collect()
    }

    /// The problems found, then the skipped figures and the required
    /// figures with no entry in `bench`.
    pub fn finish(self, bench: &Bench) -> Vec<Problem> {
        let mut out = self.problems;
        out.extend(bench.skipped.iter().map(|s| Problem::Skipped {
            figure: s.figure.clone(),
            reason: s.reason.clone(),
        }));
        for figure in required_figures(bench) {
            let present = self
                .seen
                .iter()
                .any(|s| covers(s, &figure) || covers(&figure, s));
            if !present && !bench.skipped.iter().any(|s| covers(&s.figure, &figure)) {
                out.push(Problem::Missing { figure });
            }
        }
        out
    }
}

impl Bench {
    /// Every problem of this run: entries breaking a rule, figures twice,
    /// figures skipped, required figures absent. Empty: a complete run.
    pub fn validate(&self) -> Vec<Problem> {
        let mut c = Checker::default();
        c.section(&self.first_touch);
        c.section(&self.seq_read);
        c.section(&self.direct_io);
        c.section(&self.streaming);
        c.section(&self.register_latency);
        if let Some(irq) = &self.irq_round_trip {
            c.check(None, Ok(irq));
        }
        c.finish(self)
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

/// Whether skipping `name` covers `figure` (equal, or a prefix at a `.`).
fn covers(name: &str, figure: &str) -> bool {
    figure == name
        || figure
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('.'))
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
    fn skip_names_cover_at_dots() {
        assert!(covers("streaming.pages", "streaming.pages.64"));
        assert!(covers("streaming", "streaming.pages.64"));
        assert!(!covers("streaming.page", "streaming.pages.64"));
        assert!(covers("irq_round_trip", "irq_round_trip"));
    }
}

#[cfg(test)]
mod validate_tests {
    use super::*;
    use crate::SCHEMA_VERSION;

    /// A complete run as the guest benchmark builds it.
    fn complete() -> Bench {
        let ft = |s: &str| FirstTouch {
            strategy: s.into(),
            bytes: 1 << 20,
            pages: 256,
            runs: 5,
            median_ns: 2.0,
            min_ns: 1.0,
            max_ns: 3.0,
        };
        let sr = |s: &str| SeqRead {
            strategy: s.into(),
            bytes: 1 << 20,
            runs: 5,
            median_mib_s: 2.0,
            min_mib_s: 1.0,
            max_mib_s: 3.0,
        };
        let st = |s: &str, record_size| Streaming {
            strategy: s.into(),
            record_size,
            records: 10,
            ring_bytes: 1 << 20,
            runs: 3,
            median_records_per_s: 2.0,
            min_records_per_s: 1.0,
            max_records_per_s: 3.0,
            median_bytes_per_s: 2.0,
            memcpy_bytes_per_s: 9.0,
        };
        let lat = |t: &str| RegisterLatency {
            target: t.into(),
            median_ns: 1.0,
            p99_ns: 2.0,
            samples: 9,
        };
        Bench {
            schema: SCHEMA_VERSION,
            accel: Accel::Tcg,
            kernel: "7.2.13 fast".into(),
            note: None,
            first_touch: STRATEGIES.iter().map(|s| ft(s)).collect(),
            seq_read: STRATEGIES
                .iter()
                .chain(&[ANONYMOUS])
                .map(|s| sr(s))
                .collect(),
            direct_io: STRATEGIES
                .iter()
                .map(|s| DirectIo {
                    strategy: s.to_string(),
                    bytes: 1 << 20,
                    result: DirectIoResult::Works,
                })
                .collect(),
            streaming: STRATEGIES
                .iter()
                .flat_map(|s| [st(s, 64), st(s, 4096)])
                .collect(),
            register_latency: vec![lat("cardless BAR0"), lat("edu BAR0"), lat("cardless BAR2")],
            irq_round_trip: Some(IrqRoundTrip {
                median_us: 1.0,
                p99_us: 1.0,
                samples: 3,
            }),
            skipped: Vec::new(),
        }
    }

    /// The rules between fields and between entries, on a document built
    /// the way the guest builds one.
    #[test]
    fn validate_names_each_broken_rule() {
        assert_eq!(complete().validate(), vec![]);

        let mut b = complete();
        b.first_touch[2].min_ns = 5.0;
        b.register_latency[1].p99_ns = 0.5;
        b.streaming[3].strategy = "hugepages".into();
        b.seq_read.push(b.seq_read[0].clone());
        let problems: Vec<String> = b.validate().iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems[0].starts_with(
            "first_touch[2].median_ns: expected min_ns <= median_ns <= max_ns, found 5 / 2 / 3"
        ));
        // The duplicate follows every strategy and the anonymous baseline.
        let dup = format!(
            "seq_read[{}]: seq_read.coherent appears twice",
            STRATEGIES.len() + 1
        );
        assert!(problems[1].starts_with(&dup), "{problems:#?}");
        assert!(problems[2].starts_with("streaming[3].strategy: unknown strategy \"hugepages\""));
        assert!(problems[3].starts_with("register_latency[1].p99_ns: p99_ns 0.5 is below"));
        // The entry with the unknown strategy measured nothing it could name.
        assert!(problems[4].starts_with("streaming.pages.4096: not measured"));

        // Not measured and said so: skipped, not missing.
        let mut b = complete();
        b.irq_round_trip = None;
        b.skipped.push(Skipped {
            figure: "irq_round_trip".into(),
            reason: "no interrupt".into(),
        });
        assert_eq!(
            b.validate(),
            vec![Problem::Skipped {
                figure: "irq_round_trip".into(),
                reason: "no interrupt".into()
            }]
        );
    }
}
