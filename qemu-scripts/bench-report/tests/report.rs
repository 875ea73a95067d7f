//! The tool end to end on `tests/sample.json` (TCG-like numbers, not a
//! measurement): parsing, every missing figure rejected by name, ratios,
//! the guide's markers, the files written, and the binary's exit status.

use cardless_bench_report::schema::{self, Accel, Problem, RegisterTarget};
use cardless_bench_report::{guide, ratios, run, GuideOutcome, Options};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

const SAMPLE: &str = include_str!("sample.json");

fn sample() -> Value {
    serde_json::from_str(SAMPLE).expect("sample.json is JSON")
}

fn problems_of(v: &Value) -> Vec<Problem> {
    schema::parse(&v.to_string()).expect("header valid").1
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cardless-bench-report-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

#[test]
fn sample_parses_complete() {
    let (bench, problems) = schema::parse(SAMPLE).expect("sample parses");
    assert_eq!(problems, vec![], "sample has no problems");
    assert_eq!(bench.accel, Accel::Tcg);
    assert_eq!(bench.kernel, "7.2.13 debug");
    assert_eq!(
        bench.note.as_deref(),
        Some("sample for tests, not a measurement")
    );
    assert_eq!(bench.first_touch.len(), 7);
    assert_eq!(bench.seq_read.len(), 8);
    assert_eq!(bench.direct_io.len(), 7);
    assert_eq!(bench.streaming.len(), 14);
    assert!(bench
        .streaming
        .iter()
        .all(|s| s.runs == 3 && s.ring_bytes == 1 << 20));
    assert_eq!(bench.register_latency.len(), 3);
    let fault = bench
        .first_touch
        .iter()
        .find(|e| e.strategy == "fault")
        .expect("fault entry");
    assert_eq!((fault.bytes, fault.pages, fault.runs), (16 << 20, 4096, 5));
    let coherent = &bench.first_touch[0];
    assert_eq!((coherent.bytes, coherent.pages), (4 << 20, 1024));
    assert!(fault.ns().min <= fault.ns().median && fault.ns().median <= fault.ns().max);
    let kinds: Vec<_> = bench
        .register_latency
        .iter()
        .filter_map(|r| r.kind())
        .collect();
    assert_eq!(kinds, RegisterTarget::ALL.to_vec());
    assert!(bench.irq_round_trip.is_some());
    assert!(bench.skipped.is_empty());
}

/// What the guest benchmark writes (the same types, serialized) reads back
/// whole: writer and reader agree on every key.
#[test]
fn what_the_guest_writes_reads_back() {
    let (bench, _) = schema::parse(SAMPLE).expect("sample parses");
    let written = serde_json::to_string(&bench).expect("serializes");
    let (again, problems) = schema::parse(&written).expect("reads back");
    assert_eq!(problems, vec![]);
    assert_eq!(again, bench);
    // A figure it could not measure is left out and named in "skipped".
    let mut partial = bench.clone();
    partial.irq_round_trip = None;
    partial.skipped.push(schema::Skipped {
        figure: "irq_round_trip".into(),
        reason: "no interrupt".into(),
    });
    let written = serde_json::to_string(&partial).expect("serializes");
    assert!(!written.contains("\"irq_round_trip\":"), "{written}");
    let (again, problems) = schema::parse(&written).expect("reads back");
    assert_eq!(again, partial);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].figure(), "irq_round_trip");
}

/// The sample without the one entry of `section` that `pick` selects.
fn without(section: &str, pick: impl Fn(&Value) -> bool) -> Value {
    let mut v = sample();
    let list = v[section].as_array_mut().expect("array section");
    let before = list.len();
    list.retain(|e| !pick(e));
    assert_eq!(list.len(), before - 1, "exactly one entry removed");
    v
}

#[test]
fn each_missing_figure_is_rejected_by_name() {
    let mut cases: Vec<(String, Value)> = Vec::new();
    for s in schema::STRATEGIES {
        cases.push((
            format!("first_touch.{s}"),
            without("first_touch", |e| e["strategy"] == s),
        ));
    }
    for s in std::iter::once(schema::ANONYMOUS).chain(schema::STRATEGIES) {
        cases.push((
            format!("seq_read.{s}"),
            without("seq_read", |e| e["strategy"] == s),
        ));
    }
    for s in schema::STRATEGIES {
        cases.push((
            format!("direct_io.{s}"),
            without("direct_io", |e| e["strategy"] == s),
        ));
    }
    for s in schema::STRATEGIES {
        for size in [64, 4096] {
            cases.push((
                format!("streaming.{s}.{size}"),
                without("streaming", |e| {
                    e["strategy"] == s && e["record_size"] == size
                }),
            ));
        }
    }
    for t in RegisterTarget::ALL {
        cases.push((
            format!("register_latency.{}", t.key()),
            without("register_latency", |e| {
                RegisterTarget::recognise(e["target"].as_str().unwrap_or_default()) == Some(t)
            }),
        ));
    }
    let mut no_irq = sample();
    no_irq
        .as_object_mut()
        .expect("object")
        .remove("irq_round_trip");
    cases.push(("irq_round_trip".to_string(), no_irq));
    assert_eq!(cases.len(), 7 + 8 + 7 + 14 + 3 + 1);

    for (figure, v) in cases {
        let problems = problems_of(&v);
        assert_eq!(
            problems,
            vec![Problem::Missing {
                figure: figure.clone()
            }],
            "removing {figure}"
        );
        assert_eq!(problems[0].figure(), figure);
        assert!(problems[0].to_string().starts_with(&figure));
    }
}

#[test]
fn a_missing_section_names_each_of_its_figures() {
    let mut v = sample();
    v.as_object_mut().expect("object").remove("first_touch");
    let figures: Vec<String> = problems_of(&v)
        .iter()
        .map(|p| p.figure().to_string())
        .collect();
    let want: Vec<String> = schema::STRATEGIES
        .iter()
        .map(|s| format!("first_touch.{s}"))
        .collect();
    assert_eq!(figures, want);
}

#[test]
fn skipped_figures_fail_with_their_reason() {
    // The carve-out may be absent only when "skipped" says why; it still fails.
    let mut v = without("first_touch", |e| e["strategy"] == "carveout");
    v["skipped"] = serde_json::json!([
        {"figure": "first_touch.carveout", "reason": "no memmap= carve-out on this kernel"}
    ]);
    let problems = problems_of(&v);
    assert_eq!(
        problems,
        vec![Problem::Skipped {
            figure: "first_touch.carveout".into(),
            reason: "no memmap= carve-out on this kernel".into(),
        }]
    );
    assert!(problems[0].to_string().contains("no memmap= carve-out"));

    // A skipped prefix covers the figures under it: one problem, not twelve.
    let mut v = sample();
    v["streaming"] = serde_json::json!([]);
    v["skipped"] = serde_json::json!([{"figure": "streaming", "reason": "card not found"}]);
    let problems = problems_of(&v);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].figure(), "streaming");
}

/// The sample with one field of one entry replaced (or removed with `None`).
fn with_field(section: &str, index: usize, key: &str, value: Option<Value>) -> Value {
    let mut v = sample();
    let entry = v[section][index].as_object_mut().expect("entry object");
    match value {
        Some(x) => {
            entry.insert(key.to_string(), x);
        }
        None => {
            entry.remove(key);
        }
    }
    v
}

#[test]
fn invalid_fields_are_named_by_path() {
    use serde_json::json;
    let cases = [
        (
            with_field("first_touch", 0, "median_ns", None),
            "first_touch[0].median_ns",
            "first_touch.coherent",
            "missing",
        ),
        (
            with_field("seq_read", 2, "min_mib_s", Some(json!("fast"))),
            "seq_read[2].min_mib_s",
            "seq_read.pages",
            "expected a number",
        ),
        (
            with_field("first_touch", 4, "median_ns", Some(json!(0.0))),
            "first_touch[4].median_ns",
            "first_touch.fault",
            "greater than 0",
        ),
        (
            with_field("first_touch", 1, "min_ns", Some(json!(9.9e9))),
            "first_touch[1].median_ns",
            "first_touch.pages",
            "min_ns <= median_ns <= max_ns",
        ),
        (
            with_field("streaming", 0, "memcpy_bytes_per_s", None),
            "streaming[0].memcpy_bytes_per_s",
            "streaming.coherent.64",
            "missing",
        ),
        (
            with_field("register_latency", 1, "p99_ns", Some(json!(1.0))),
            "register_latency[1].p99_ns",
            "register_latency.edu_bar0",
            "below median_ns",
        ),
        (
            with_field("direct_io", 3, "result", Some(json!("failed"))),
            "direct_io[3].result",
            "direct_io.vmalloc",
            "errno name",
        ),
        (
            with_field("streaming", 1, "ring_bytes", None),
            "streaming[1].ring_bytes",
            "streaming.pages.64",
            "missing",
        ),
        (
            with_field("register_latency", 2, "samples", Some(json!(-3))),
            "register_latency[2].samples",
            "register_latency.cardless_bar2",
            "non-negative integer",
        ),
    ];
    for (v, path, figure, what) in cases {
        let problems = problems_of(&v);
        assert_eq!(problems.len(), 1, "{path}: {problems:?}");
        let msg = problems[0].to_string();
        assert!(msg.starts_with(path), "{msg}");
        assert!(msg.contains(what), "{msg}");
        assert_eq!(problems[0].figure(), figure);
    }
}

#[test]
fn unknown_strategy_duplicate_and_missing_skipped_list_are_reported() {
    let v = with_field("first_touch", 0, "strategy", Some("hugepages".into()));
    let problems = problems_of(&v);
    assert!(problems[0]
        .to_string()
        .contains("unknown strategy \"hugepages\""));
    // ... and the strategy it replaced is now missing.
    assert_eq!(problems[1].figure(), "first_touch.coherent");

    let mut v = sample();
    let dup = v["seq_read"][0].clone();
    v["seq_read"].as_array_mut().expect("array").push(dup);
    let problems = problems_of(&v);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].to_string().contains("appears twice"));

    let mut v = sample();
    v.as_object_mut().expect("object").remove("skipped");
    let problems = problems_of(&v);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].to_string().contains("\"skipped\": []"));
}

#[test]
fn unusable_headers_are_fatal() {
    for (key, value, what) in [
        ("schema", serde_json::json!(3), "version 3"),
        ("accel", serde_json::json!("hvf"), "accel"),
        ("schema", serde_json::json!(1), "version 1"),
        ("kernel", Value::Null, "kernel"),
    ] {
        let mut v = sample();
        v[key] = value;
        let err = schema::parse(&v.to_string()).expect_err(key);
        assert!(err.to_string().contains(what), "{key}: {err}");
    }
    assert!(schema::parse("{not json").is_err());
    assert!(schema::parse("[]").is_err());
}

#[test]
fn ratios_of_the_sample() {
    let (bench, _) = schema::parse(SAMPLE).expect("sample parses");
    let ft = ratios::first_touch(&bench.first_touch);
    let best = ratios::best_per_page(&bench.first_touch, |_| true).expect("best");
    assert_eq!(best.strategy, "compound");
    let fault = ft.iter().find(|r| r.strategy == "fault").expect("fault");
    assert!((fault.per_page_ns - 1.35e8 / 4096.0).abs() < 1e-9);
    assert!((fault.vs_best_per_page - (1.35e8 / 4096.0) / (0.85e6 / 1024.0)).abs() < 1e-9);
    // In total, against the fastest 16 MiB buffer (pages), not the 4 MiB compound.
    assert!((fault.vs_best_same_size - 1.35e8 / 3.6e6).abs() < 1e-9);
    let compound = ft.iter().find(|r| r.strategy == "compound").expect("c");
    assert_eq!(compound.vs_best_per_page, 1.0);
    assert_eq!(compound.vs_best_same_size, 1.0);

    let anon = bench.seq_read.iter().find(|e| e.strategy == "anonymous");
    let anon = anon.expect("anonymous");
    assert_eq!(
        ratios::seq_read_vs_anonymous(&bench.seq_read, anon),
        Some(1.0)
    );
    let pages = bench.seq_read.iter().find(|e| e.strategy == "pages");
    let r = ratios::seq_read_vs_anonymous(&bench.seq_read, pages.expect("pages"));
    assert!((r.expect("ratio") - 1530.0 / 1550.0).abs() < 1e-12);

    let s = &bench.streaming[0];
    assert!((ratios::streaming_vs_memcpy(s) - s.median_bytes_per_s / 1.45e9).abs() < 1e-15);

    let reg = ratios::registers(&bench);
    assert!((reg.cardless_bar0_vs_edu_bar0.expect("r") - 45000.0 / 2100.0).abs() < 1e-9);
    assert!((reg.cardless_bar2_vs_cardless_bar0.expect("r") - 55.0 / 45000.0).abs() < 1e-12);
}

#[test]
fn totals_compare_only_buffers_of_the_same_size() {
    // compound (4 MiB) is the fastest in total, but pages (16 MiB) is the
    // fastest of its size: ×1 there. Shrinking pages' buffer changes that.
    let (bench, _) = schema::parse(SAMPLE).expect("sample parses");
    let ft = ratios::first_touch(&bench.first_touch);
    assert_eq!(ft[1].strategy, "pages");
    assert_eq!(ft[1].vs_best_same_size, 1.0);
    assert!(ft[1].vs_best_per_page > 1.0);
    let mut v = sample();
    v["first_touch"][1]["pages"] = 1024.into();
    v["first_touch"][1]["bytes"] = (4u64 << 20).into();
    let (bench, _) = schema::parse(&v.to_string()).expect("parses");
    let ft = ratios::first_touch(&bench.first_touch);
    assert!((ft[1].vs_best_same_size - 3.6e6 / 0.85e6).abs() < 1e-9);
}

#[test]
fn run_writes_report_and_non_empty_svgs() {
    let dir = scratch("run");
    let json = dir.join("bench.json");
    std::fs::write(&json, SAMPLE).expect("write json");
    let out = dir.join("out");
    let outcome = run(&Options {
        json,
        out_dir: out.clone(),
        guide: None,
    })
    .expect("run");
    assert!(outcome.success());
    for name in [
        "first_touch.svg",
        "seq_read.svg",
        "streaming.svg",
        "latency.svg",
    ] {
        let svg = std::fs::read_to_string(out.join(name)).expect(name);
        assert!(svg.len() > 1000, "{name} is {} bytes", svg.len());
        assert!(svg.starts_with("<svg"), "{name}");
        assert!(svg.trim_end().ends_with("</svg>"), "{name}");
        assert!(svg.contains("<text") && svg.contains("TCG"), "{name}");
    }
    let report = std::fs::read_to_string(out.join("report.md")).expect("report");
    assert!(report.contains("Every figure was measured."));
    assert!(report.contains("![first touch per strategy](first_touch.svg)"));
    assert!(report.contains("| `fault` | TCG | 16 MiB | 4096 | 5 | 135 ms |"));
    // Per page against compound (4 MiB), in total against pages (16 MiB).
    assert!(report.contains("| 33.0 µs | ×39.7 | ×37.5 |"), "{report}");
    assert!(report.contains("× best per page (`compound`)"));
    assert!(report.contains("16 MiB: `pages`; 4 MiB: `compound`"));
    assert!(report.contains("4 MiB for `coherent` and `compound`"));
    assert!(report.contains("× anonymous (16 MiB)"));
    assert!(report.contains("| `carveout` | TCG | 1 MiB | fails: EFAULT |"));
    assert!(report.contains("| cardless BAR0 (trapped) / edu BAR0 | TCG | ×21.4 |"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn every_table_states_the_accelerator() {
    let (bench, _) = schema::parse(SAMPLE).expect("sample parses");
    let tables = cardless_bench_report::markdown::tables(&bench);
    let mut body_rows = 0;
    for line in tables
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| ---"))
    {
        let cells: Vec<&str> = line.split(" | ").collect();
        assert!(
            cells[1] == "accel" || cells[1] == "TCG",
            "row without the accelerator: {line}"
        );
        body_rows += usize::from(cells[1] == "TCG");
    }
    // 7 + 8 + 7 + 14 + 3 + 2 ratios + 1 interrupt.
    assert_eq!(body_rows, 42);
}

const GUIDE: &str = "# Guide\n\nBefore.\n\n<!-- bench-q1:begin -->\n<!-- bench-q1:end -->\n<!-- bench-q2:begin -->\n<!-- bench-q2:end -->\n<!-- bench-q3:begin -->\n<!-- bench-q3:end -->\n<!-- bench-q4:begin -->\n<!-- bench-q4:end -->\n\n<!-- bench:begin -->\nThe table is generated by `make qemu-bench`.\n<!-- bench:end -->\n\nAfter.\n";

#[test]
fn guide_is_regenerated_idempotently() {
    let dir = scratch("guide");
    let json = dir.join("bench.json");
    std::fs::write(&json, SAMPLE).expect("write json");
    let guide_path = dir.join("guide.md");
    std::fs::write(&guide_path, GUIDE).expect("write guide");
    let opts = Options {
        json,
        out_dir: dir.join("out"),
        guide: Some(guide_path.clone()),
    };
    let first = run(&opts).expect("run");
    assert!(matches!(first.guide, GuideOutcome::Updated));
    let once = std::fs::read_to_string(&guide_path).expect("guide");
    assert!(once
        .starts_with("# Guide\n\nBefore.\n\n<!-- bench-q1:begin -->\n**Measured** (under **TCG**"));
    assert!(once.ends_with("<!-- bench:end -->\n\nAfter.\n"));
    assert!(once.contains(&first.tables));
    assert!(!once.contains("The table is generated"));

    let second = run(&opts).expect("run again");
    assert!(matches!(second.guide, GuideOutcome::Unchanged));
    assert_eq!(std::fs::read_to_string(&guide_path).expect("guide"), once);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn incomplete_run_leaves_the_guide_alone() {
    let dir = scratch("incomplete");
    let json = dir.join("bench.json");
    let v = without("first_touch", |e| e["strategy"] == "carveout");
    std::fs::write(&json, v.to_string()).expect("write json");
    let guide_path = dir.join("guide.md");
    std::fs::write(&guide_path, GUIDE).expect("write guide");
    let outcome = run(&Options {
        json,
        out_dir: dir.join("out"),
        guide: Some(guide_path.clone()),
    })
    .expect("run");
    assert!(!outcome.success());
    assert!(matches!(outcome.guide, GuideOutcome::KeptIncomplete));
    assert_eq!(std::fs::read_to_string(&guide_path).expect("guide"), GUIDE);
    // What was measured is still reported, and what was not is named.
    let report = std::fs::read_to_string(dir.join("out/report.md")).expect("report");
    assert!(report.contains("first_touch.carveout: not measured"));
    assert!(report.contains("| `fault` | TCG |"));
    assert!(dir.join("out/first_touch.svg").exists());
    let _ = std::fs::remove_dir_all(dir);
}

fn bin(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cardless-bench-report"))
        .args(args)
        .output()
        .expect("run the binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn binary_exit_status() {
    let dir = scratch("bin");
    let good = dir.join("good.json");
    std::fs::write(&good, SAMPLE).expect("write");
    let out = dir.join("out");
    let (good_s, out_s) = (good.to_str().expect("utf8"), out.to_str().expect("utf8"));

    let (code, err) = bin(&["--json", good_s, "--out-dir", out_s]);
    assert_eq!(code, 0, "{err}");

    let bad = dir.join("bad.json");
    let v = without("register_latency", |e| {
        e["target"].as_str().unwrap_or_default().contains("edu")
    });
    std::fs::write(&bad, v.to_string()).expect("write");
    let (code, err) = bin(&["--json", bad.to_str().expect("utf8"), "--out-dir", out_s]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("FAILED: 1 figure(s)") && err.contains("register_latency.edu_bar0"));

    let no_markers = dir.join("plain.md");
    std::fs::write(&no_markers, "# no markers here\n").expect("write");
    let (code, err) = bin(&[
        "--json",
        good_s,
        "--out-dir",
        out_s,
        "--guide",
        no_markers.to_str().expect("utf8"),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(guide::BEGIN) && err.contains(guide::END),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&no_markers).expect("read"),
        "# no markers here\n"
    );

    let (code, err) = bin(&["--json", "/nonexistent/bench.json", "--out-dir", out_s]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/bench.json"), "{err}");
    let (code, err) = bin(&["--out-dir", out_s]);
    assert_eq!(code, 2);
    assert!(
        err.contains("required arguments were not provided") && err.contains("--json <BENCH.json>"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
