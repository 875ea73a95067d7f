//! The kernel module's shape, checked on the host (the module itself only
//! builds against a kernel): its files import each other in layers, never
//! in a circle, and `ffi/` (the only unsafe code) knows nothing of the
//! driver. An import is any path into another module file: a `use` item
//! (groups expanded), a `crate::`, `super::` or `self::` path in code, or a
//! path through a module declared in the same file. The crate root is left
//! out as an importer: it declares every module and names the driver, and
//! the others read the module parameters it holds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Files of `ffi/` may import these besides `ffi/` itself, and why.
const FFI_MAY_IMPORT: &[(&str, &str)] = &[
    (
        "uapi.rs",
        "ffi/abi.rs declares the ABI's argument structs plain bytes",
    ),
    ("../uapi/src/ioctl.rs", "the same ABI, through uapi.rs"),
];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

/// The tokens of Rust source that matter here: comments, strings and
/// character literals removed.
fn tokens(src: &str) -> Vec<Tok> {
    let b: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied().unwrap_or('\0');
        if c == '/' && next == '/' {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == '*' {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && (next == '"' || next == '#') && raw_string_end(&b, i).is_some() {
            i = raw_string_end(&b, i).unwrap_or(b.len());
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                i += if b[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if next == '\\' {
                i += 2;
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(b[start..i].iter().collect()));
        } else if c == ':' && next == ':' {
            out.push(Tok::PathSep);
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push(Tok::Punct(c));
            }
            i += 1;
        }
    }
    out
}

/// Where a raw string literal starting at `i` (`r"..."`, `r#"..."#`) ends.
fn raw_string_end(b: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let mut hashes = 0;
    while b.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if b.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < b.len() {
        if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(b.len())
}

fn ident(t: Option<&Tok>) -> Option<&str> {
    match t {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

/// The module tree: module path -> the file that holds it.
struct Tree {
    root: PathBuf,
    files: BTreeMap<Vec<String>, PathBuf>,
}

impl Tree {
    fn load(root_file: &Path) -> Result<Tree, String> {
        let root_file = &std::fs::canonicalize(root_file)
            .map_err(|e| format!("cannot find {}: {e}", root_file.display()))?;
        let mut tree = Tree {
            root: root_file.parent().unwrap_or(Path::new(".")).to_path_buf(),
            files: BTreeMap::new(),
        };
        tree.add(Vec::new(), root_file, true)?;
        Ok(tree)
    }

    /// Adds the module at `path` from `file` and, recursively, the modules it
    /// declares (`mod x;` and inline `mod x { .. }`).
    fn add(&mut self, path: Vec<String>, file: &Path, dir_owner: bool) -> Result<(), String> {
        let file = &std::fs::canonicalize(file)
            .map_err(|e| format!("cannot find {}: {e}", file.display()))?;
        let src = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        self.files.insert(path.clone(), file.to_path_buf());
        let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let child_dir = if dir_owner {
            dir.clone()
        } else {
            dir.join(file.file_stem().unwrap_or_default())
        };
        // `#[path = "..."]` reaches the tokenizer as a removed string, so
        // read it from the raw lines.
        let mut pending_path: Option<String> = None;
        let mut inline: Vec<(String, usize)> = Vec::new();
        let mut depth = 0usize;
        for line in src.lines() {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix("#[path = \"") {
                pending_path = rest.split('"').next().map(str::to_string);
                continue;
            }
            let toks = tokens(line);
            let mut k = 0;
            while k < toks.len() {
                match &toks[k] {
                    Tok::Punct('{') => depth += 1,
                    Tok::Punct('}') => {
                        depth = depth.saturating_sub(1);
                        if inline.last().is_some_and(|(_, d)| *d == depth) {
                            inline.pop();
                        }
                    }
                    Tok::Ident(w) if w == "mod" => {
                        if let Some(name) = ident(toks.get(k + 1)) {
                            let mut child = path.clone();
                            child.extend(inline.iter().map(|(n, _)| n.clone()));
                            child.push(name.to_string());
                            match toks.get(k + 2) {
                                Some(Tok::Punct(';')) => {
                                    let target = match pending_path.take() {
                                        Some(p) => dir.join(p),
                                        None => {
                                            let flat = child_dir.join(format!("{name}.rs"));
                                            if flat.exists() {
                                                flat
                                            } else {
                                                child_dir.join(name).join("mod.rs")
                                            }
                                        }
                                    };
                                    let owner = target.file_name().is_some_and(|f| f == "mod.rs");
                                    self.add(child, &target, owner)?;
                                }
                                Some(Tok::Punct('{')) => {
                                    self.files.insert(child, file.to_path_buf());
                                    inline.push((name.to_string(), depth));
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
                k += 1;
            }
        }
        Ok(())
    }

    fn name(&self, file: &Path) -> String {
        match file.strip_prefix(&self.root) {
            Ok(rel) => rel.display().to_string(),
            Err(_) => pathdiff(file, &self.root),
        }
    }

    /// The file of the longest prefix of `path` that is a module.
    fn resolve(&self, path: &[String]) -> Option<&PathBuf> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.files.get(&path[..n]))
    }
}

/// `file` relative to `base` when it lies outside it (`../x`).
fn pathdiff(file: &Path, base: &Path) -> String {
    let (f, b): (Vec<_>, Vec<_>) = (file.components().collect(), base.components().collect());
    let common = f.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &f[common..] {
        out.push(c);
    }
    out.display().to_string()
}

/// Every module path the tokens of the file of module `top` reach: the
/// `use` trees expanded, and the paths in code that start at `crate`,
/// `super`, `self` or a module declared where they sit (inline modules of
/// the file count as where they sit).
fn paths_used(toks: &[Tok], top: &[String], tree: &Tree) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut here: Vec<String> = top.to_vec();
    // Inline modules open at this brace depth.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut k = 0;
    while k < toks.len() {
        match &toks[k] {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if inline.last() == Some(&depth) {
                    inline.pop();
                    here.pop();
                }
            }
            Tok::Ident(w) if w == "mod" && toks.get(k + 2) == Some(&Tok::Punct('{')) => {
                if let Some(name) = ident(toks.get(k + 1)) {
                    here.push(name.to_string());
                    inline.push(depth);
                    depth += 1;
                    k += 3;
                    continue;
                }
            }
            _ => {}
        }
        let children: BTreeSet<String> = tree
            .files
            .keys()
            .filter(|p| p.len() == here.len() + 1 && p.starts_with(&here))
            .map(|p| p[here.len()].clone())
            .collect();
        if ident(toks.get(k)) == Some("use") {
            let mut paths = Vec::new();
            k = use_tree(toks, k + 1, Vec::new(), &mut paths);
            out.extend(
                paths
                    .into_iter()
                    .filter_map(|p| absolute(&p, &here, &children)),
            );
            continue;
        }
        // `pub(in crate::x)` names a module without importing from it.
        let starts_path = toks.get(k + 1) == Some(&Tok::PathSep)
            && (k == 0 || (toks[k - 1] != Tok::PathSep && ident(toks.get(k - 1)) != Some("in")));
        if let (Some(first), true) = (ident(toks.get(k)), starts_path) {
            let mut segs = vec![first.to_string()];
            let mut j = k + 1;
            while toks.get(j) == Some(&Tok::PathSep) {
                match ident(toks.get(j + 1)) {
                    Some(s) => segs.push(s.to_string()),
                    None => break,
                }
                j += 2;
            }
            if let Some(p) = absolute(&segs, &here, &children) {
                out.push(p);
            }
            k = j;
            continue;
        }
        k += 1;
    }
    out
}

/// Parses a use tree from `k`, pushing each full path; returns where it ends.
fn use_tree(
    toks: &[Tok],
    mut k: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        match toks.get(k) {
            Some(Tok::Ident(s)) if s == "as" => {
                k += 2;
            }
            Some(Tok::Ident(s)) => {
                prefix.push(s.clone());
                k += 1;
            }
            Some(Tok::PathSep) => k += 1,
            Some(Tok::Punct('{')) => {
                k += 1;
                loop {
                    k = use_tree(toks, k, prefix.clone(), out);
                    match toks.get(k) {
                        Some(Tok::Punct(',')) => k += 1,
                        Some(Tok::Punct('}')) => return k + 1,
                        _ => return k,
                    }
                    if toks.get(k) == Some(&Tok::Punct('}')) {
                        return k + 1;
                    }
                }
            }
            Some(Tok::Punct('*')) => {
                out.push(prefix);
                return k + 1;
            }
            _ => {
                if prefix.last().is_some_and(|s| s == "self") {
                    prefix.pop();
                }
                out.push(prefix);
                return k;
            }
        }
    }
}

/// `segs` as a path from the crate root, if it is a path into the crate.
fn absolute(segs: &[String], here: &[String], children: &BTreeSet<String>) -> Option<Vec<String>> {
    let first = segs.first()?;
    let mut base: Vec<String> = here.to_vec();
    let mut rest = segs;
    match first.as_str() {
        "crate" => {
            base.clear();
            rest = &segs[1..];
        }
        "self" => rest = &segs[1..],
        "super" => {
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        name if children.contains(name) => {}
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The import graph between the module's files (the crate root as an
/// importer left out): file -> files it imports.
fn graph(tree: &Tree) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let root_file = tree
        .files
        .get(&Vec::new())
        .cloned()
        .ok_or("no crate root")?;
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, file) in &tree.files {
        // The root imports nothing here; an inline module is read with its file.
        let inline = tree
            .files
            .iter()
            .any(|(p, f)| f == file && p.len() < path.len());
        if *file == root_file || inline {
            continue;
        }
        let src = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let from = tree.name(file);
        let entry = edges.entry(from.clone()).or_default();
        for used in paths_used(&tokens(&src), path, tree) {
            if let Some(target) = tree.resolve(&used) {
                let to = tree.name(target);
                if to != from {
                    entry.insert(to);
                }
            }
        }
    }
    Ok(edges)
}

/// The first circle found, as a list of files.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(n) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|s| s == n).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(n.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(n.to_string(), Mark::Open);
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, marks, stack) {
                return Some(c);
            }
        }
        stack.pop();
        marks.insert(n.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for n in edges.keys() {
        if let Some(c) = visit(n, edges, &mut marks, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

/// The module's crate root (`CARDLESS_MODULE_ROOT` checks another tree).
fn module_root() -> PathBuf {
    match std::env::var_os("CARDLESS_MODULE_ROOT") {
        Some(root) => PathBuf::from(root),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../module/cardless_main.rs"),
    }
}

#[test]
fn the_module_imports_in_layers_without_a_circle() {
    let tree = Tree::load(&module_root()).unwrap();
    assert!(
        tree.files.len() > 10,
        "only {} modules found: the parser lost its way",
        tree.files.len()
    );
    let edges = graph(&tree).unwrap();
    if std::env::var_os("CARDLESS_MODULE_GRAPH").is_some() {
        for (from, tos) in &edges {
            println!(
                "{from} -> {}",
                tos.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        }
    }
    if let Some(cycle) = find_cycle(&edges) {
        panic!(
            "guest-driver/module imports in a circle: {}\n(move what both need below both, or pass it in)",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn ffi_knows_only_the_kernel() {
    let tree = Tree::load(&module_root()).unwrap();
    let edges = graph(&tree).unwrap();
    let mut wrong = Vec::new();
    for (from, tos) in edges.iter().filter(|(f, _)| f.starts_with("ffi/")) {
        for to in tos {
            let allowed = to.starts_with("ffi/")
                || (from == "ffi/abi.rs" && FFI_MAY_IMPORT.iter().any(|(f, _)| f == to));
            if !allowed {
                wrong.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "ffi/ imports driver code (its SAFETY arguments must rest on ffi/ alone): {wrong:?}"
    );
}

#[test]
fn unsafe_code_stays_in_ffi() {
    let tree = Tree::load(&module_root()).unwrap();
    for file in tree.files.values() {
        let name = tree.name(file);
        if name.starts_with("ffi/") || name.starts_with("..") {
            continue;
        }
        let src = std::fs::read_to_string(file).unwrap();
        assert!(
            !tokens(&src).contains(&Tok::Ident("unsafe".into())),
            "{name} has `unsafe` code: it belongs in ffi/ (the crate denies unsafe_code elsewhere)"
        );
    }
    let root = std::fs::read_to_string(module_root()).unwrap();
    assert!(
        root.contains("#![deny(unsafe_code)]"),
        "the crate root must deny unsafe_code"
    );
}

/// The checker itself: a tree with a circle through a `use` group, an
/// inline path and `super::` is found; the same tree without it is not.
#[test]
fn the_checker_finds_a_planted_circle() {
    let dir = std::env::temp_dir().join(format!("module_layers_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("low")).unwrap();
    let write = |p: &str, s: &str| std::fs::write(dir.join(p), s).unwrap();
    write("main.rs", "mod high;\nmod low;\nmod mid;\n");
    write("high.rs", "use crate::{mid::{self, Thing}, low};\n");
    write("mid.rs", "pub fn f() { crate::low::leaf::g(); }\n");
    write("low/mod.rs", "pub mod leaf;\n");
    write(
        "low/leaf.rs",
        "// crate::high::x in a comment\nfn g() { let _ = \"crate::high\"; }\n",
    );
    let edges = graph(&Tree::load(&dir.join("main.rs")).unwrap()).unwrap();
    assert_eq!(find_cycle(&edges), None, "{edges:?}");
    assert!(edges["high.rs"].contains("mid.rs") && edges["high.rs"].contains("low/mod.rs"));
    write("low/leaf.rs", "fn g() { super::super::high::h(); }\n");
    let edges = graph(&Tree::load(&dir.join("main.rs")).unwrap()).unwrap();
    let cycle = find_cycle(&edges).expect("the planted circle");
    assert!(cycle.contains(&"low/leaf.rs".to_string()), "{cycle:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
