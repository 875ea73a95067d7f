//! The generated parts of a guide: each block, the text between
//! `<!-- NAME:begin -->` and `<!-- NAME:end -->`, is replaced and the rest is
//! left byte for byte. Replacing twice with the same text gives the same file.

use std::path::Path;

/// The block of the measured-figures tables.
pub const TABLES: &str = "bench";
pub const BEGIN: &str = "<!-- bench:begin -->";
pub const END: &str = "<!-- bench:end -->";

/// The begin and end markers of block `name`.
pub fn markers(name: &str) -> (String, String) {
    (
        format!("<!-- {name}:begin -->"),
        format!("<!-- {name}:end -->"),
    )
}

/// One generated block: its name and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub name: String,
    pub text: String,
}

/// The guide's markers are not usable, or the file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum GuideError {
    #[error("{path} has no {missing} marker: add the two lines `{begin}` and `{end}` around the place where the generated text belongs")]
    MissingMarker {
        path: String,
        missing: String,
        begin: String,
        end: String,
    },
    #[error("{path} has {count} {marker} markers: keep exactly one `{begin}` and one `{end}`")]
    DuplicateMarker {
        path: String,
        marker: String,
        count: usize,
        begin: String,
        end: String,
    },
    #[error("{path}: `{end}` comes before `{begin}`: put the begin marker first")]
    Reversed {
        path: String,
        begin: String,
        end: String,
    },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
}

/// `text` with the part between block `name`'s markers replaced by
/// `generated`. `path` names the file in errors.
pub fn replace_block(
    text: &str,
    name: &str,
    generated: &str,
    path: &str,
) -> Result<String, GuideError> {
    let (begin_m, end_m) = markers(name);
    for marker in [&begin_m, &end_m] {
        match text.matches(marker.as_str()).count() {
            0 => {
                return Err(GuideError::MissingMarker {
                    path: path.to_string(),
                    missing: marker.clone(),
                    begin: begin_m.clone(),
                    end: end_m.clone(),
                })
            }
            1 => {}
            count => {
                return Err(GuideError::DuplicateMarker {
                    path: path.to_string(),
                    marker: marker.clone(),
                    count,
                    begin: begin_m.clone(),
                    end: end_m.clone(),
                })
            }
        }
    }
    let begin = text.find(&begin_m).unwrap_or_default() + begin_m.len();
    let end = text.find(&end_m).unwrap_or_default();
    if end < begin {
        return Err(GuideError::Reversed {
            path: path.to_string(),
            begin: begin_m,
            end: end_m,
        });
    }
    Ok(format!(
        "{}\n{}\n{}",
        &text[..begin],
        generated.trim_end(),
        &text[end..]
    ))
}

/// `text` with every block replaced (the first bad marker is the error).
pub fn replace(text: &str, blocks: &[Block], path: &str) -> Result<String, GuideError> {
    blocks.iter().try_fold(text.to_string(), |t, b| {
        replace_block(&t, &b.name, &b.text, path)
    })
}

/// Replaces the generated blocks of the guide at `path` in place. Returns
/// whether the file changed (it is not written when nothing changed).
pub fn update(path: &Path, blocks: &[Block]) -> Result<bool, GuideError> {
    let name = path.display().to_string();
    let io = |action, source| GuideError::Io {
        action,
        path: name.clone(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(|e| io("read", e))?;
    let new = replace(&text, blocks, &name)?;
    if new == text {
        return Ok(false);
    }
    // Written beside it and renamed: an interrupted run never leaves half a guide.
    let tmp = path.with_extension("md.tmp");
    std::fs::write(&tmp, &new).map_err(|e| io("write", e))?;
    std::fs::rename(&tmp, path).map_err(|e| io("replace", e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUIDE: &str =
        "# Guide\n\nintro\n\n<!-- bench:begin -->\nplaceholder\n<!-- bench:end -->\n\nafter\n";

    #[test]
    fn replaces_only_between_markers_and_is_idempotent() {
        let once = replace_block(GUIDE, TABLES, "| a | b |\n", "g.md").unwrap();
        assert_eq!(
            once,
            "# Guide\n\nintro\n\n<!-- bench:begin -->\n| a | b |\n<!-- bench:end -->\n\nafter\n"
        );
        let twice = replace_block(&once, TABLES, "| a | b |\n", "g.md").unwrap();
        assert_eq!(once, twice);
        let other = replace_block(&once, TABLES, "| c |", "g.md").unwrap();
        assert!(other.contains("| c |") && !other.contains("| a | b |"));
    }

    #[test]
    fn missing_marker_names_the_markers_to_add() {
        let err = replace_block("# no markers\n", TABLES, "x", "docs/g.md").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("docs/g.md"), "{msg}");
        assert!(msg.contains(BEGIN) && msg.contains(END), "{msg}");
        let err = replace_block("<!-- bench:begin -->\n", TABLES, "x", "g.md").unwrap_err();
        assert!(matches!(err, GuideError::MissingMarker { missing, .. } if missing == END));
    }

    #[test]
    fn duplicate_and_reversed_markers_are_refused() {
        let dup = format!("{BEGIN}\n{BEGIN}\n{END}\n");
        assert!(matches!(
            replace_block(&dup, TABLES, "x", "g.md"),
            Err(GuideError::DuplicateMarker { count: 2, .. })
        ));
        let rev = format!("{END}\n{BEGIN}\n");
        assert!(matches!(
            replace_block(&rev, TABLES, "x", "g.md"),
            Err(GuideError::Reversed { .. })
        ));
    }

    #[test]
    fn several_blocks_are_replaced_and_a_missing_one_is_named() {
        let text = format!(
            "a\n{BEGIN}\nold\n{END}\nb\n<!-- bench-q1:begin -->\nold\n<!-- bench-q1:end -->\n"
        );
        let blocks = [
            Block {
                name: TABLES.into(),
                text: "T".into(),
            },
            Block {
                name: "bench-q1".into(),
                text: "Q".into(),
            },
        ];
        let new = replace(&text, &blocks, "g.md").unwrap();
        assert_eq!(
            new,
            format!("a\n{BEGIN}\nT\n{END}\nb\n<!-- bench-q1:begin -->\nQ\n<!-- bench-q1:end -->\n")
        );
        assert_eq!(replace(&new, &blocks, "g.md").unwrap(), new);
        let only_tables = format!("{BEGIN}\n{END}\n");
        let msg = replace(&only_tables, &blocks, "g.md")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("<!-- bench-q1:begin -->"), "{msg}");
    }
}
