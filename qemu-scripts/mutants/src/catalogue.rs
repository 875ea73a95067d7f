//! The mutation catalogue (`guest-driver/mutants.toml`): realistic one-line
//! driver bugs, each a find/replace in one file of the module.

use serde::Deserialize;
use std::path::Path;

/// Which guest run a bug needs to show.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// `make qemu-test`.
    Plain,
    /// `IOMMU=1 make qemu-test`: the card's DMA through a guest IOMMU.
    Iommu,
}

impl RunKind {
    pub fn name(self) -> &'static str {
        match self {
            RunKind::Plain => "plain",
            RunKind::Iommu => "IOMMU=1",
        }
    }
}

fn plain() -> Vec<RunKind> {
    vec![RunKind::Plain]
}

fn yes() -> bool {
    true
}

/// One planted bug.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutant {
    /// Short stable name (`mmap-one-page-too-long`).
    pub id: String,
    /// The bug in a sentence, as a reviewer would describe it.
    pub bug: String,
    /// The file under guest-driver/module it changes.
    pub file: String,
    /// Text that occurs exactly once in the file...
    pub find: String,
    /// ...and what it becomes.
    pub replace: String,
    /// The runs that can show it (default: plain).
    #[serde(default = "plain")]
    pub runs: Vec<RunKind>,
    /// False for a bug QEMU cannot show; then `why` and `would_observe` say
    /// why, and what would (it never counts as caught).
    #[serde(default = "yes")]
    pub observable: bool,
    #[serde(default)]
    pub why: String,
    #[serde(default)]
    pub would_observe: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    mutant: Vec<Mutant>,
}

/// Reads and checks the catalogue: unique ids, files inside the module,
/// a real change, and a reason for each bug marked unobservable.
pub fn load(path: &Path) -> Result<Vec<Mutant>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn parse(text: &str) -> Result<Vec<Mutant>, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut seen = std::collections::HashSet::new();
    for m in &file.mutant {
        if !seen.insert(m.id.clone()) {
            return Err(format!("mutant id '{}' appears twice", m.id));
        }
        if !m.file.starts_with("guest-driver/module/") || m.file.contains("..") {
            return Err(format!(
                "{}: file '{}' is not in guest-driver/module",
                m.id, m.file
            ));
        }
        if m.find.is_empty() || m.find == m.replace {
            return Err(format!("{}: the patch changes nothing", m.id));
        }
        if m.runs.is_empty() {
            return Err(format!("{}: no run can show it (runs = [])", m.id));
        }
        if !m.observable && (m.why.is_empty() || m.would_observe.is_empty()) {
            return Err(format!(
                "{}: marked unobservable without 'why' and 'would_observe'",
                m.id
            ));
        }
    }
    Ok(file.mutant)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
[[mutant]]
id = "a"
bug = "b"
file = "guest-driver/module/x.rs"
find = "x"
replace = "y"
"#;

    #[test]
    fn defaults_to_the_plain_run_and_observable() {
        let m = parse(ONE).unwrap();
        assert_eq!(m[0].runs, vec![RunKind::Plain]);
        assert!(m[0].observable);
    }

    #[test]
    fn bad_entries_are_refused_with_their_id() {
        let twice = format!("{ONE}{ONE}");
        assert!(parse(&twice).unwrap_err().contains("twice"));
        let outside = ONE.replace("guest-driver/module/x.rs", "device/src/x.rs");
        assert!(parse(&outside)
            .unwrap_err()
            .contains("not in guest-driver/module"));
        let same = ONE.replace("replace = \"y\"", "replace = \"x\"");
        assert!(parse(&same).unwrap_err().contains("changes nothing"));
        let unexplained = format!("{ONE}observable = false\n");
        assert!(parse(&unexplained).unwrap_err().contains("would_observe"));
        let typo = format!("{ONE}runz = [\"plain\"]\n");
        assert!(parse(&typo).is_err());
    }
}
