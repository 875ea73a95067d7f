//! Every entry of the real catalogue still applies to the real module: its
//! `find` text occurs exactly once in its file. A driver change that moves
//! the code under a mutant fails here, at `cargo test`, not hours later.

use std::path::PathBuf;

#[test]
fn every_mutant_applies_to_the_module_as_it_is() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(repo.join("guest-driver/mutants.toml")).unwrap();
    let doc: toml::Value = toml::from_str(&text).unwrap();
    let mutants = doc["mutant"].as_array().unwrap();
    assert!(
        mutants.len() >= 30,
        "the catalogue shrank to {}",
        mutants.len()
    );
    let mut problems = Vec::new();
    for m in mutants {
        let id = m["id"].as_str().unwrap();
        let file = m["file"].as_str().unwrap();
        let find = m["find"].as_str().unwrap();
        let source = std::fs::read_to_string(repo.join(file)).unwrap_or_default();
        let n = source.matches(find).count();
        if n != 1 {
            problems.push(format!("{id}: its text occurs {n} times in {file}"));
        }
    }
    assert!(
        problems.is_empty(),
        "update guest-driver/mutants.toml:\n{}",
        problems.join("\n")
    );
}
