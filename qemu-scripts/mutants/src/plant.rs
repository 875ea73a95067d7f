//! Planting one bug in the module's source and taking it out again, also
//! after an interrupted run: the original is saved beside the build first.

use crate::catalogue::Mutant;
use std::path::{Path, PathBuf};

/// A file with a bug planted; restored on drop.
pub struct Planted {
    path: PathBuf,
    original: String,
    backup: PathBuf,
    restored: bool,
}

fn backup_name(file: &str) -> String {
    file.replace('/', "__")
}

impl Planted {
    /// Applies `m` under `repo`, saving the original into `backups` first.
    /// The text to find must occur exactly once: a catalogue entry that no
    /// longer matches the code is an error naming it.
    pub fn plant(repo: &Path, m: &Mutant, backups: &Path) -> Result<Planted, String> {
        let path = repo.join(&m.file);
        let original =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        match original.matches(m.find.as_str()).count() {
            1 => {}
            0 => {
                return Err(format!(
                    "{}: '{}' is not in {} any more: update the catalogue",
                    m.id, m.find, m.file
                ))
            }
            n => {
                return Err(format!(
                    "{}: '{}' occurs {n} times in {}: make 'find' unique",
                    m.id, m.find, m.file
                ))
            }
        }
        std::fs::create_dir_all(backups).map_err(|e| format!("{}: {e}", backups.display()))?;
        let backup = backups.join(backup_name(&m.file));
        std::fs::write(&backup, &original).map_err(|e| format!("{}: {e}", backup.display()))?;
        std::fs::write(&path, original.replacen(m.find.as_str(), &m.replace, 1))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Planted {
            path,
            original,
            backup,
            restored: false,
        })
    }

    /// Puts the original back and forgets the backup.
    pub fn restore(mut self) -> Result<(), String> {
        self.put_back()
    }

    fn put_back(&mut self) -> Result<(), String> {
        if self.restored {
            return Ok(());
        }
        std::fs::write(&self.path, &self.original)
            .map_err(|e| format!("restoring {}: {e}", self.path.display()))?;
        let _ = std::fs::remove_file(&self.backup);
        self.restored = true;
        Ok(())
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        if let Err(e) = self.put_back() {
            eprintln!(
                "cardless-mutants: {e} (the original is in {})",
                self.backup.display()
            );
        }
    }
}

/// Restores every file an interrupted run left planted; names them.
pub fn recover(repo: &Path, backups: &Path) -> Result<Vec<String>, String> {
    let Ok(dir) = std::fs::read_dir(backups) else {
        return Ok(Vec::new());
    };
    let mut restored = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let file = name.replace("__", "/");
        let text = std::fs::read_to_string(entry.path()).map_err(|e| format!("{name}: {e}"))?;
        std::fs::write(repo.join(&file), text).map_err(|e| format!("restoring {file}: {e}"))?;
        let _ = std::fs::remove_file(entry.path());
        restored.push(file);
    }
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutant(find: &str) -> Mutant {
        crate::catalogue::parse(&format!(
            "[[mutant]]\nid = \"m\"\nbug = \"b\"\nfile = \"guest-driver/module/x.rs\"\nfind = \"{find}\"\nreplace = \"BUG\"\n"
        ))
        .unwrap()
        .remove(0)
    }

    fn tree(text: &str) -> (PathBuf, PathBuf) {
        let root = std::env::temp_dir().join(format!(
            "mutants-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("guest-driver/module")).unwrap();
        std::fs::write(root.join("guest-driver/module/x.rs"), text).unwrap();
        (root.clone(), root.join("backups"))
    }

    #[test]
    fn plants_once_and_restores_on_drop() {
        let (root, backups) = tree("a < b;\n");
        let file = root.join("guest-driver/module/x.rs");
        {
            let _p = Planted::plant(&root, &mutant("<"), &backups).unwrap();
            assert_eq!(std::fs::read_to_string(&file).unwrap(), "a BUG b;\n");
        }
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "a < b;\n");
        assert!(
            recover(&root, &backups).unwrap().is_empty(),
            "the backup was not cleaned"
        );
    }

    #[test]
    fn refuses_text_that_is_missing_or_ambiguous() {
        let (root, backups) = tree("a < b < c;\n");
        assert!(Planted::plant(&root, &mutant("<"), &backups)
            .err()
            .unwrap()
            .contains("2 times"));
        assert!(Planted::plant(&root, &mutant(">"), &backups)
            .err()
            .unwrap()
            .contains("update the catalogue"));
    }

    #[test]
    fn an_interrupted_run_is_recovered() {
        let (root, backups) = tree("a < b;\n");
        let p = Planted::plant(&root, &mutant("<"), &backups).unwrap();
        std::mem::forget(p); // as if the process died
        assert_eq!(
            recover(&root, &backups).unwrap(),
            vec!["guest-driver/module/x.rs".to_string()]
        );
        assert_eq!(
            std::fs::read_to_string(root.join("guest-driver/module/x.rs")).unwrap(),
            "a < b;\n"
        );
    }
}
