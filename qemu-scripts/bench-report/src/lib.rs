//! `cardless-bench-report`: turns the in-guest benchmark's JSON (schema 2)
//! into `report.md`, four SVG bar charts, and the generated parts of the
//! mapping guide (the tables, and the figures behind each answer to the
//! seeds' questions).
//!
//! One module per job: [`schema`] (parse and check the JSON), [`ratios`],
//! [`units`] (number formatting), [`markdown`] (tables and report),
//! [`answers`] (the guide's per-question figures), [`charts`] (what each
//! plot shows), [`svg`] (drawing), [`guide`] (the generated blocks), [`cli`]
//! (arguments); [`run`] ties them together.
#![forbid(unsafe_code)]

pub mod answers;
pub mod charts;
pub mod cli;
pub mod guide;
pub mod markdown;
pub mod ratios;
pub mod schema;
pub mod svg;
pub mod units;

use std::path::{Path, PathBuf};

/// What to do (from [`cli::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub json: PathBuf,
    pub out_dir: PathBuf,
    pub guide: Option<PathBuf>,
}

/// What happened to the guide.
#[derive(Debug)]
pub enum GuideOutcome {
    /// No `--guide`.
    NotAsked,
    /// The generated blocks were written between their markers.
    Updated,
    /// The guide already held this text.
    Unchanged,
    /// Left alone because some figure is missing (its markers were checked).
    KeptIncomplete,
    Failed(guide::GuideError),
}

/// The result of a run that could read the JSON.
#[derive(Debug)]
pub struct Outcome {
    /// Missing, skipped and invalid figures: non-empty means the run failed.
    pub problems: Vec<schema::Problem>,
    /// The generated tables (also in report.md).
    pub tables: String,
    /// The files written.
    pub written: Vec<PathBuf>,
    pub guide: GuideOutcome,
}

impl Outcome {
    /// Whether every figure was measured and every file written.
    pub fn success(&self) -> bool {
        self.problems.is_empty()
            && matches!(
                self.guide,
                GuideOutcome::NotAsked | GuideOutcome::Updated | GuideOutcome::Unchanged
            )
    }
}

/// Nothing could be reported.
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    #[error("cannot read {path}: {source} (did the guest benchmark finish and was its JSON copied back?)")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Schema {
        path: String,
        source: schema::SchemaError,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Plot(#[from] svg::PlotError),
}

/// The plots' titles in the report, by file name.
const PLOT_TITLES: [(&str, &str); 4] = [
    ("first_touch.svg", "first touch per strategy"),
    ("seq_read.svg", "sequential read per strategy"),
    ("streaming.svg", "streaming per strategy and record size"),
    ("latency.svg", "register read and interrupt round trip"),
];

/// Reads the JSON, writes the report and the plots (even when figures are
/// missing: what was measured is still shown), and, when every figure was
/// measured, the guide's tables.
pub fn run(opts: &Options) -> Result<Outcome, Fatal> {
    let json_name = opts.json.display().to_string();
    let text = std::fs::read_to_string(&opts.json).map_err(|source| Fatal::Read {
        path: json_name.clone(),
        source,
    })?;
    let (bench, problems) = schema::parse(&text).map_err(|source| Fatal::Schema {
        path: json_name,
        source,
    })?;
    let write_err = |path: &Path, source| Fatal::Write {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| write_err(&opts.out_dir, e))?;

    let mut written = Vec::new();
    for (file, chart) in charts::all(&bench) {
        let path = opts.out_dir.join(file);
        chart.render(&path)?;
        written.push(path);
    }
    let report = markdown::report(&bench, &problems, &PLOT_TITLES);
    let report_path = opts.out_dir.join("report.md");
    std::fs::write(&report_path, report).map_err(|e| write_err(&report_path, e))?;
    written.push(report_path);

    let tables = markdown::tables(&bench);
    let blocks = guide_blocks(&bench, &tables);
    let guide = match &opts.guide {
        None => GuideOutcome::NotAsked,
        Some(path) if !problems.is_empty() => match check_guide(path, &blocks) {
            Ok(()) => GuideOutcome::KeptIncomplete,
            Err(e) => GuideOutcome::Failed(e),
        },
        Some(path) => match guide::update(path, &blocks) {
            Ok(true) => GuideOutcome::Updated,
            Ok(false) => GuideOutcome::Unchanged,
            Err(e) => GuideOutcome::Failed(e),
        },
    };
    Ok(Outcome {
        problems,
        tables,
        written,
        guide,
    })
}

/// Everything generated in the guide: the tables, then one block per question.
pub fn guide_blocks(bench: &schema::Bench, tables: &str) -> Vec<guide::Block> {
    let mut blocks = vec![guide::Block {
        name: guide::TABLES.to_string(),
        text: tables.to_string(),
    }];
    blocks.extend(answers::blocks(bench));
    blocks
}

/// Checks the guide's markers without writing it.
fn check_guide(path: &Path, blocks: &[guide::Block]) -> Result<(), guide::GuideError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| guide::GuideError::Io {
        action: "read",
        path: name.clone(),
        source,
    })?;
    guide::replace(&text, blocks, &name).map(|_| ())
}
