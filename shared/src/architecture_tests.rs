//! The layering rules, checked on the source so they hold after whoever wrote them:
//!
//! - the domain and the store speak no transport: no `crate::http`, `crate::runtime`, `axum`
//!   or `StatusCode` under `src/domain` or `src/store`;
//! - every store is a repository struct over `&dyn Table` (none takes the whole `Ports`);
//! - the domain and the store read no configuration: the environment is read at the edge
//!   (`crate::config`, the app wiring) and passed in;
//! - the store imports from the domain only model types (`…::model`), the domain error and the
//!   money value type;
//! - dependencies go one way: nothing the store reaches in the domain (following imports from
//!   file to file) imports the store back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/domain/campaigns/model.rs` → `["domain", "campaigns", "model"]` (`mod.rs` is its directory).
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let mut segments: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    if segments.last().is_some_and(|s| s == "mod") {
        segments.pop();
    }
    segments
}

/// The code of a file without its comments (a doc comment may name anything).
fn code(file: &Path) -> String {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::…`, `super::…` path in `code`, as absolute module segments (a `{…}` group
/// counts as its prefix).
fn paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let text: String = bytes.iter().collect();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = text[from..].find(start).map(|i| i + from) {
            from = i + start.len();
            if i > 0 && text[..i].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest: String =
                text[i..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            let mut segments: Vec<&str> = rest.split("::").filter(|s| !s.is_empty()).collect();
            let mut base: Vec<String> = Vec::new();
            if segments.first() == Some(&"crate") {
                segments.remove(0);
            } else {
                // `super` from `a/b.rs` (module a::b) is `a`; each further `super` one more up.
                base = module.to_vec();
                while segments.first() == Some(&"super") {
                    segments.remove(0);
                    base.pop();
                }
            }
            base.extend(segments.iter().map(|s| s.to_string()));
            out.push(base);
        }
    }
    out
}

struct Tree {
    /// Module path → file, for every file under `domain` and `store`.
    files: BTreeMap<Vec<String>, PathBuf>,
}

impl Tree {
    fn load() -> Self {
        let mut all = Vec::new();
        rust_files(&src().join("domain"), &mut all);
        rust_files(&src().join("store"), &mut all);
        Self { files: all.into_iter().map(|f| (module_of(&f), f)).collect() }
    }

    /// The file a path points into: its longest prefix that is a module.
    fn resolve(&self, path: &[String]) -> Option<&Vec<String>> {
        (1..=path.len()).rev().find_map(|n| self.files.get_key_value(&path[..n]).map(|(k, _)| k))
    }

    fn imports(&self, module: &[String]) -> BTreeSet<Vec<String>> {
        let file = &self.files[module];
        paths(&code(file), module)
            .iter()
            .filter_map(|p| self.resolve(p))
            .filter(|m| m.as_slice() != module && !module.starts_with(m))
            .cloned()
            .collect()
    }
}

fn is_store(module: &[String]) -> bool {
    module.first().is_some_and(|s| s == "store")
}

/// Files under `src/<dirs>` whose code (comments aside) mentions one of `words`.
fn mentions(dirs: &[&str], words: &[&str]) -> Vec<String> {
    let mut offences = Vec::new();
    for dir in dirs {
        let mut files = Vec::new();
        rust_files(&src().join(dir), &mut files);
        for file in files {
            let text = code(&file);
            offences.extend(
                words.iter().filter(|w| text.contains(**w)).map(|w| format!("{} mentions {w}", file.display())),
            );
        }
    }
    offences
}

#[test]
fn the_domain_and_the_store_speak_no_transport() {
    let offences = mentions(&["domain", "store"], &["crate::http", "crate::runtime", "axum", "StatusCode"]);
    assert!(offences.is_empty(), "transport in the domain or the store:\n{}", offences.join("\n"));
}

#[test]
fn every_store_is_a_repository_over_the_table() {
    let offences = mentions(&["store"], &["Ports"]);
    assert!(offences.is_empty(), "a store reaching past the table:\n{}", offences.join("\n"));
}

#[test]
fn the_domain_and_the_store_read_no_environment() {
    let offences = mentions(&["domain", "store"], &["std::env", "env::var", "config::env"]);
    assert!(offences.is_empty(), "configuration read inside the domain or the store:\n{}", offences.join("\n"));
}

#[test]
fn the_store_imports_only_models_errors_and_values_from_the_domain() {
    let tree = Tree::load();
    let mut offences = Vec::new();
    for (module, file) in tree.files.iter().filter(|(m, _)| is_store(m)) {
        for path in paths(&code(file), module).into_iter().filter(|p| p.first().is_some_and(|s| s == "domain")) {
            let allowed = path.iter().any(|s| s == "model")
                || path.get(1).is_some_and(|s| ["error", "money", "Error", "FieldError", "Kind"].contains(&s.as_str()));
            if !allowed {
                offences.push(format!("{} imports {}", file.display(), path.join("::")));
            }
        }
    }
    assert!(offences.is_empty(), "the store may import only domain models:\n{}", offences.join("\n"));
}

#[test]
fn nothing_the_store_reaches_in_the_domain_imports_the_store() {
    let tree = Tree::load();
    let mut offences = Vec::new();
    for start in tree.files.keys().filter(|m| is_store(m)) {
        // Walk the domain modules reachable from this store module.
        let mut seen = BTreeSet::new();
        let mut todo: Vec<(Vec<String>, Vec<String>)> = vec![(start.clone(), vec![start.join("::")])];
        while let Some((module, trail)) = todo.pop() {
            for next in tree.imports(&module) {
                if is_store(&next) {
                    if !is_store(&module) {
                        offences.push(format!("{} -> {}", trail.join(" -> "), next.join("::")));
                    }
                    continue;
                }
                if seen.insert(next.clone()) {
                    let mut t = trail.clone();
                    t.push(next.join("::"));
                    todo.push((next, t));
                }
            }
        }
    }
    offences.sort();
    offences.dedup();
    assert!(offences.is_empty(), "import cycles between the store and the domain:\n{}", offences.join("\n"));
}

#[test]
fn the_checks_see_what_they_look_for() {
    let module = ["domain".to_string(), "campaigns".to_string(), "model".to_string()];
    let found = paths("use super::super::templates::schema::ParamSchema;\nuse crate::store::{keys, x};", &module);
    assert_eq!(found[0], ["store"]);
    assert_eq!(found[1], ["domain", "templates", "schema", "ParamSchema"]);
    let tree = Tree::load();
    let schema = tree.resolve(&found[1]).expect("resolves to a file");
    assert_eq!(schema.join("::"), "domain::templates::schema");
    assert!(
        tree.imports(&["store".to_string(), "messages".to_string()])
            .iter()
            .any(|m| m.join("::") == "domain::messages::model")
    );
}
