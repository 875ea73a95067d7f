//! The generated part of a guide: the text between `<!-- bench:begin -->`
//! and `<!-- bench:end -->` is replaced, the rest is left byte for byte.
//! Replacing twice with the same tables gives the same file.

use std::path::Path;

pub const BEGIN: &str = "<!-- bench:begin -->";
pub const END: &str = "<!-- bench:end -->";

/// The guide's markers are not usable, or the file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum GuideError {
    #[error("{path} has no {missing} marker: add the two lines `{BEGIN}` and `{END}` around the place where the generated tables belong")]
    MissingMarker { path: String, missing: &'static str },
    #[error("{path} has {count} {marker} markers: keep exactly one `{BEGIN}` and one `{END}`")]
    DuplicateMarker {
        path: String,
        marker: &'static str,
        count: usize,
    },
    #[error("{path}: `{END}` comes before `{BEGIN}`: put the begin marker first")]
    Reversed { path: String },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
}

/// `text` with the part between the markers replaced by `generated`.
/// `path` names the file in errors.
pub fn replace(text: &str, generated: &str, path: &str) -> Result<String, GuideError> {
    for marker in [BEGIN, END] {
        match text.matches(marker).count() {
            0 => {
                return Err(GuideError::MissingMarker {
                    path: path.to_string(),
                    missing: marker,
                })
            }
            1 => {}
            count => {
                return Err(GuideError::DuplicateMarker {
                    path: path.to_string(),
                    marker,
                    count,
                })
            }
        }
    }
    let begin = text.find(BEGIN).unwrap_or_default() + BEGIN.len();
    let end = text.find(END).unwrap_or_default();
    if end < begin {
        return Err(GuideError::Reversed {
            path: path.to_string(),
        });
    }
    Ok(format!(
        "{}\n{}\n{}",
        &text[..begin],
        generated.trim_end(),
        &text[end..]
    ))
}

/// Replaces the generated part of the guide at `path` in place. Returns
/// whether the file changed (it is not written when nothing changed).
pub fn update(path: &Path, generated: &str) -> Result<bool, GuideError> {
    let name = path.display().to_string();
    let io = |action, source| GuideError::Io {
        action,
        path: name.clone(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(|e| io("read", e))?;
    let new = replace(&text, generated, &name)?;
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
        let once = replace(GUIDE, "| a | b |\n", "g.md").unwrap();
        assert_eq!(
            once,
            "# Guide\n\nintro\n\n<!-- bench:begin -->\n| a | b |\n<!-- bench:end -->\n\nafter\n"
        );
        let twice = replace(&once, "| a | b |\n", "g.md").unwrap();
        assert_eq!(once, twice);
        let other = replace(&once, "| c |", "g.md").unwrap();
        assert!(other.contains("| c |") && !other.contains("| a | b |"));
    }

    #[test]
    fn missing_marker_names_the_markers_to_add() {
        let err = replace("# no markers\n", "x", "docs/g.md").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("docs/g.md"), "{msg}");
        assert!(msg.contains(BEGIN) && msg.contains(END), "{msg}");
        let err = replace("<!-- bench:begin -->\n", "x", "g.md").unwrap_err();
        assert!(matches!(err, GuideError::MissingMarker { missing, .. } if missing == END));
    }

    #[test]
    fn duplicate_and_reversed_markers_are_refused() {
        let dup = format!("{BEGIN}\n{BEGIN}\n{END}\n");
        assert!(matches!(
            replace(&dup, "x", "g.md"),
            Err(GuideError::DuplicateMarker { count: 2, .. })
        ));
        let rev = format!("{END}\n{BEGIN}\n");
        assert!(matches!(
            replace(&rev, "x", "g.md"),
            Err(GuideError::Reversed { .. })
        ));
    }
}
