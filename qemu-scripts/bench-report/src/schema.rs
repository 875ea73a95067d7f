//! Reading the benchmark JSON. Its types and rules are declared once, in
//! `cardless-bench-json` (shared with the guest benchmark that writes it),
//! and re-exported here; this module only reads a file leniently.
//!
//! Parsing never stops at the first problem: every entry that is valid is
//! kept (so a report can still be written), and every missing, skipped or
//! invalid figure is returned as a [`Problem`] naming it and the JSON path
//! at fault (`first_touch[2].median_ns`). Only an unusable header (schema
//! version, accelerator, kernel) stops it.

pub use cardless_bench_json::*;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

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

/// The key of the list of figures the benchmark could not measure.
const SKIPPED: &str = "skipped";

/// Parses and checks a benchmark JSON: the valid figures, and every problem.
pub fn parse(text: &str) -> Result<(Bench, Vec<Problem>), SchemaError> {
    let Value::Object(mut root) = serde_json::from_str(text)? else {
        return Err(SchemaError::NotObject);
    };
    check_version(&root)?;
    // The sections are read entry by entry below; what remains is the
    // header, which must be read whole.
    let mut take = |key: &str| root.insert(key.to_string(), Value::Array(Vec::new()));
    let first_touch = take(FirstTouch::SECTION);
    let seq_read = take(SeqRead::SECTION);
    let direct_io = take(DirectIo::SECTION);
    let streaming = take(Streaming::SECTION);
    let register_latency = take(RegisterLatency::SECTION);
    let skipped = take(SKIPPED);
    let irq = root.remove(IrqRoundTrip::SECTION);
    let mut bench: Bench = read(Value::Object(root)).map_err(|u| {
        let field = u.field.unwrap_or_default();
        SchemaError::Header(format!("{field}: {}", u.what))
    })?;

    let mut c = Checker::default();
    bench.skipped = read_skipped(&mut c, skipped);
    bench.first_touch = section(&mut c, first_touch);
    bench.seq_read = section(&mut c, seq_read);
    bench.direct_io = section(&mut c, direct_io);
    bench.streaming = section(&mut c, streaming);
    bench.register_latency = section(&mut c, register_latency);
    bench.irq_round_trip = irq.and_then(|v| match v {
        Value::Object(_) => entry(&mut c, None, v),
        other => {
            let what = format!("expected an object, found {}", type_name(&other));
            c.bad_section(IrqRoundTrip::SECTION, what);
            None
        }
    });
    let problems = c.finish(&bench);
    Ok((bench, problems))
}

/// The version comes first: another version's header may differ too.
fn check_version(root: &Map<String, Value>) -> Result<(), SchemaError> {
    match root.get("schema").and_then(Value::as_u64) {
        Some(SCHEMA_VERSION) | None => Ok(()),
        Some(v) => Err(SchemaError::Header(format!(
            "schema: this tool reads version {SCHEMA_VERSION}, the file is version {v} (update cardless-bench-report with the benchmark)"
        ))),
    }
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

/// Reads `value` as a `T`; on failure, the field at fault and what is wrong.
fn read<T: DeserializeOwned>(value: Value) -> Result<T, Unreadable> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let mut field = (path != ".").then_some(path);
        let mut what = e.inner().to_string();
        // serde names a missing field in its message, at its parent's path.
        let missing = what
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
            .map(str::to_string);
        if let Some(name) = missing {
            field = Some(match field {
                Some(parent) => format!("{parent}.{name}"),
                None => name,
            });
            what = "missing".to_string();
        }
        Unreadable {
            figure: None,
            field,
            what,
        }
    })
}

/// Reads and checks one entry (`index` in its section, `None` for the
/// single-object section); the entry when it is valid.
fn entry<T: Entry + DeserializeOwned>(
    c: &mut Checker,
    index: Option<usize>,
    value: Value,
) -> Option<T> {
    let Value::Object(map) = &value else {
        let what = format!("expected an object, found {}", type_name(&value));
        let u = Unreadable {
            figure: None,
            field: None,
            what,
        };
        c.check::<T>(index, Err(u));
        return None;
    };
    let figure = T::figure_in(map);
    match read::<T>(value) {
        Ok(e) => c.check(index, Ok(&e)).then_some(e),
        Err(u) => {
            c.check::<T>(index, Err(Unreadable { figure, ..u }));
            None
        }
    }
}

/// Reads an array section entry by entry; absent, it is empty (and its
/// figures are reported missing or skipped).
fn section<T: Entry + DeserializeOwned>(c: &mut Checker, value: Option<Value>) -> Vec<T> {
    match value {
        None => Vec::new(),
        Some(Value::Array(list)) => list
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| entry(c, Some(i), v))
            .collect(),
        Some(other) => {
            let what = format!("expected an array, found {}", type_name(&other));
            c.bad_section(T::SECTION, what);
            Vec::new()
        }
    }
}

/// The `"skipped"` list: required, each entry a figure and a reason.
fn read_skipped(c: &mut Checker, value: Option<Value>) -> Vec<Skipped> {
    let list = match value {
        Some(Value::Array(list)) => list,
        Some(other) => {
            let what = format!("expected an array, found {}", type_name(&other));
            c.invalid(None, SKIPPED.to_string(), what);
            return Vec::new();
        }
        None => {
            let what = "missing (write \"skipped\": [] when every figure was measured)";
            c.invalid(None, SKIPPED.to_string(), what.to_string());
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, v) in list.into_iter().enumerate() {
        let path = format!("{SKIPPED}[{i}]");
        if !v.is_object() {
            let what = format!(
                "expected {{\"figure\": ..., \"reason\": ...}}, found {}",
                type_name(&v)
            );
            c.invalid(None, path, what);
            continue;
        }
        let figure = v["figure"].as_str().map(str::to_string);
        match read::<Skipped>(v) {
            Ok(s) => out.push(s),
            Err(u) => {
                let at = format!("{path}.{}", u.field.unwrap_or_default());
                c.invalid(figure, at, u.what);
            }
        }
    }
    out
}
