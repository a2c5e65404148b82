//! The shape docs/architecture.md promises, read from the sources: lower layers never import
//! higher ones, no two modules import each other, and no library function runs past 80 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: [&str; 5] = ["ampsim-core", "ampsim-engine", "ampsim-captures", "ampsim-plugin", "ampsim-cli"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`, with its module path (`data::captures`, `crate` for lib.rs).
fn modules(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let rel = p.strip_prefix(dir).unwrap().with_extension("");
                let name = rel.to_string_lossy().replace('/', "::").trim_end_matches("::mod").to_string();
                let name = if name == "lib" || name == "main" { "crate".to_string() } else { name };
                out.push((name, library_code(&std::fs::read_to_string(&p).unwrap())));
            }
        }
    }
    out
}

/// The file without its tests and comments.
fn library_code(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    code.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The modules `code` (in module `name`) names through `crate::` or `super::`, as modules of `known`.
fn imports(name: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let parent = name.rsplit_once("::").map_or("", |(p, _)| p).to_string();
    let mut out = BTreeSet::new();
    for (prefix, base) in [("crate::", String::new()), ("super::", parent)] {
        for (i, _) in code.match_indices(prefix) {
            let path: String = code[i + prefix.len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
            // The longest prefix of the path that is a module.
            for n in (1..=parts.len()).rev() {
                let m = if base.is_empty() { parts[..n].join("::") } else { format!("{base}::{}", parts[..n].join("::")) };
                if known.contains(&m) {
                    out.insert(m);
                    break;
                }
            }
        }
    }
    out.remove(name);
    out
}

#[test]
fn no_two_modules_import_each_other_and_data_reaches_no_higher() {
    let mut problems = Vec::new();
    for krate in CRATES {
        let mods = modules(&workspace().join(krate).join("src"));
        let known: BTreeSet<String> = mods.iter().map(|(n, _)| n.clone()).collect();
        let graph: BTreeMap<String, BTreeSet<String>> = mods.iter().map(|(n, c)| (n.clone(), imports(n, c, &known))).collect();
        for (a, deps) in &graph {
            for b in deps {
                if a < b && graph.get(b).is_some_and(|d| d.contains(a)) {
                    problems.push(format!("{krate}: {a} and {b} import each other"));
                }
            }
        }
        if krate == "ampsim-core" {
            for (a, deps) in graph.iter().filter(|(a, _)| a.starts_with("data")) {
                for b in deps.iter().filter(|b| ["training", "evaluation", "interop", "capture", "models"].iter().any(|h| b.starts_with(h))) {
                    problems.push(format!("ampsim-core: {a} (a lower layer) imports {b}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The check sees imports: a module that uses another is found.
    let known: BTreeSet<String> = ["data", "data::captures", "training"].iter().map(|s| s.to_string()).collect();
    assert_eq!(imports("data::captures", "use crate::training::SeqData;", &known), BTreeSet::from(["training".to_string()]));
}

#[test]
fn no_library_function_runs_past_80_lines() {
    let mut long = Vec::new();
    for krate in CRATES {
        for (name, code) in modules(&workspace().join(krate).join("src")) {
            let lines: Vec<&str> = code.lines().collect();
            let mut i = 0;
            while i < lines.len() {
                let t = lines[i].trim_start();
                let is_fn = ["fn ", "pub fn ", "pub(crate) fn ", "pub(super) fn ", "unsafe fn ", "pub(crate) unsafe fn ", "const fn "].iter().any(|p| t.starts_with(p));
                if !is_fn || t.ends_with(';') {
                    i += 1;
                    continue;
                }
                let (mut depth, mut opened, mut j) = (0i32, false, i);
                while j < lines.len() {
                    for ch in lines[j].chars() {
                        match ch {
                            '{' => (depth, opened) = (depth + 1, true),
                            '}' => depth -= 1,
                            _ => {}
                        }
                    }
                    if opened && depth <= 0 {
                        break;
                    }
                    j += 1;
                }
                if j - i + 1 > 80 {
                    long.push(format!("{krate} {name}: {} ({} lines)", t.split('(').next().unwrap_or(t), j - i + 1));
                }
                i = j + 1;
            }
        }
    }
    assert!(long.is_empty(), "{long:#?}");
}
