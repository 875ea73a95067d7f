//! The card model's import graph (issue 14: "a card model made of parts"):
//! no import circle among the files of `src/model`, and the parts (engine,
//! faults, sanitizer, interrupts, copy engine, ...) never import the
//! register file (`state`) or what sits on it (`inner`, `runner`, the
//! `Card` in `mod.rs`). Read from the sources: every `super::…`,
//! `self::…`, `crate::model::…` path and every `use` of a child module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path below `model`, e.g. `["state", "stream"]`; `[]` is `mod.rs`.
type Module = Vec<String>;

/// Modules that sit on the register file: the parts must not import them.
const ABOVE_PARTS: &[&str] = &["", "inner", "runner", "state"];

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/model")
}

/// Every `.rs` file under `dir` with its module path.
fn modules(dir: &Path, prefix: &Module, out: &mut BTreeMap<Module, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut m = prefix.clone();
            m.push(name);
            modules(&path, &m, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut m = prefix.clone();
            if name != "mod" {
                m.push(name);
            }
            out.insert(m, std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The source without comments, string literals and inline test modules
/// (whose `super::` means the file itself).
fn code_of(src: &str) -> String {
    let src = match src.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &src[..i],
        None => src,
    };
    let mut out = String::with_capacity(src.len());
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal such as '"' or '\n' (not a lifetime).
            let end = src[i + 1..].find('\'').map_or(b.len(), |e| i + 2 + e);
            i = end;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn ident_at(s: &str) -> Option<&str> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| &s[..end])
}

/// The first segment of each item of a `{...}` group starting at `s[0]`.
fn group_heads(s: &str) -> Vec<String> {
    let mut depth = 0;
    let mut heads = Vec::new();
    let mut start = 1;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' | ',' if depth == 1 => {
                if let Some(h) = ident_at(s[start..i].trim_start()) {
                    heads.push(h.to_owned());
                }
                start = i + 1;
                if c == '}' {
                    break;
                }
            }
            '}' => depth -= 1,
            _ => {}
        }
    }
    heads
}

/// The modules `m` refers to, as far as each path names modules.
fn references(m: &Module, code: &str, all: &BTreeMap<Module, String>) -> BTreeSet<Module> {
    let is_module = |p: &Module| all.contains_key(p);
    // The longest known module that `base` followed by the path at `rest` names.
    let resolve = |base: Module, rest: &str, out: &mut BTreeSet<Module>| {
        let mut heads = Vec::new();
        if rest.starts_with('{') {
            heads.extend(group_heads(rest));
        } else {
            heads.push(rest.to_owned());
        }
        for head in heads {
            let mut target = base.clone();
            for seg in head.split("::") {
                let Some(id) = ident_at(seg) else { break };
                let mut next = target.clone();
                next.push(id.to_owned());
                if !is_module(&next) {
                    break;
                }
                target = next;
                if id.len() != seg.len() {
                    break;
                }
            }
            out.insert(target);
        }
    };
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    for (i, _) in code.match_indices("::") {
        // The whole path this `::` belongs to starts at the first segment.
        let mut start = i;
        while start > 0 {
            let c = bytes[start - 1];
            if c.is_ascii_alphanumeric() || c == b'_' || c == b':' {
                start -= 1;
            } else {
                break;
            }
        }
        if start != i - ident_at(&code[start..]).map_or(0, str::len) {
            continue; // not the path's first `::`
        }
        let head = ident_at(&code[start..]).unwrap_or("");
        let rest = &code[i + 2..];
        match head {
            "crate" => {
                if let Some(r) = rest.strip_prefix("model::") {
                    resolve(Vec::new(), r, &mut out);
                }
            }
            "super" => {
                let mut base = m.clone();
                base.pop();
                let mut r = rest;
                while let Some(more) = r.strip_prefix("super::") {
                    base.pop();
                    r = more;
                }
                resolve(base, r, &mut out);
            }
            "self" => resolve(m.clone(), rest, &mut out),
            // `use child::...` or `child::f()`: a child module of `m`.
            name => {
                let mut child = m.clone();
                child.push(name.to_owned());
                if is_module(&child) && !code[..start].trim_end().ends_with("mod") {
                    resolve(m.clone(), &code[start..], &mut out);
                }
            }
        }
    }
    out.remove(m);
    out
}

fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let mut all = BTreeMap::new();
    modules(&model_dir(), &Vec::new(), &mut all);
    all.iter()
        .map(|(m, src)| (m.clone(), references(m, &code_of(src), &all)))
        .collect()
}

fn name(m: &Module) -> String {
    if m.is_empty() {
        "model".into()
    } else {
        format!("model::{}", m.join("::"))
    }
}

/// A circle in `g`, if any, as the modules along it.
fn find_cycle(g: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        m: &Module,
        g: &BTreeMap<Module, BTreeSet<Module>>,
        state: &mut BTreeMap<Module, u8>,
        path: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        match state.get(m) {
            Some(2) => return None,
            Some(1) => {
                let from = path.iter().position(|p| p == m).unwrap_or(0);
                let mut cycle = path[from..].to_vec();
                cycle.push(m.clone());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(m.clone(), 1);
        path.push(m.clone());
        for n in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(n, g, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(m.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    g.keys()
        .find_map(|m| visit(m, g, &mut state, &mut Vec::new()))
}

fn m(path: &str) -> Module {
    path.split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The parser sees the imports that are known to be there, so the checks
/// below cannot pass by seeing nothing.
#[test]
fn the_import_graph_is_read() {
    let g = graph();
    for (from, to) in [
        ("", "state"),
        ("state", "engine"),
        ("state::stream", "state"),
        ("state::stream", "engine"),
        ("state::regfile", "copy"),
        ("engine", "ring"),
        ("validate", "areas"),
        ("runner", "inner"),
    ] {
        assert!(
            g[&m(from)].contains(&m(to)),
            "{} should import {}; it imports {:?}",
            name(&m(from)),
            name(&m(to)),
            g[&m(from)].iter().map(name).collect::<Vec<_>>()
        );
    }
}

/// Issue 14: no import circle remains in `device/src/model`.
#[test]
fn model_has_no_import_circle() {
    if let Some(c) = find_cycle(&graph()) {
        let c: Vec<String> = c.iter().map(name).collect();
        panic!(
            "import circle in the card model: {}; make one of them take what it \
             needs as an argument instead of importing it",
            c.join(" -> ")
        );
    }
}

/// The parts take their inputs as arguments and return what they did: none
/// imports the register file or what sits on it.
#[test]
fn parts_do_not_import_the_register_file() {
    let above = |t: &Module| {
        ABOVE_PARTS
            .iter()
            .any(|a| t.first().map_or(a.is_empty(), |f| f == a))
    };
    let mut bad = Vec::new();
    for (from, to) in graph() {
        if above(&from) || from.last().is_some_and(|l| l == "tests") {
            continue;
        }
        for t in to.iter().filter(|t| above(t)) {
            bad.push(format!("{} imports {}", name(&from), name(t)));
        }
    }
    assert!(
        bad.is_empty(),
        "parts of the card model import the register file (they must take \
         inputs as arguments and return results instead): {}",
        bad.join("; ")
    );
}

/// The checker finds a circle and an upward import when there is one.
#[test]
fn the_checker_sees_circles() {
    let mut g = graph();
    assert!(find_cycle(&g).is_none());
    g.get_mut(&m("ring")).unwrap().insert(m("engine"));
    let c = find_cycle(&g).expect("ring -> engine -> ring is a circle");
    assert!(c.contains(&m("ring")) && c.contains(&m("engine")), "{c:?}");
    let mut all = BTreeMap::new();
    modules(&model_dir(), &Vec::new(), &mut all);
    let refs = references(
        &m("engine"),
        &code_of("use super::state::{Ctx, State};\nuse crate::model::{irq::IrqSink, fault};"),
        &all,
    );
    assert!(
        refs.contains(&m("state")) && refs.contains(&m("irq")) && refs.contains(&m("fault")),
        "{refs:?}"
    );
    let refs = references(
        &m("engine"),
        &code_of("// use super::state::State;\nlet s = \"super::state\";"),
        &all,
    );
    assert!(
        refs.is_empty(),
        "comments and strings are not imports: {refs:?}"
    );
}
