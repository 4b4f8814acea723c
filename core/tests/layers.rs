//! Core's modules are layers: every `crate::…` path (in a `use` or in code) points from a module
//! to one below it, never back up, so the graph of modules has no cycle.
//!
//! The check reads `core/src/**/*.rs` as text. A file's module is its top-level module: `render`
//! for `render/template.rs` too, so an arrow between submodules of one module is no arrow. Paths
//! in comments and strings do not count; `super::` counts from where it is written (a file, or
//! an inline `mod` in it). The crate root (`lib.rs`), which only declares and re-exports, is not
//! a layer. A cycle fails the test, named module by module with the place of each arrow.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[test]
fn cores_modules_form_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_tree(&src, &src, &mut files);
    assert!(files.len() > 10, "no sources under {}", src.display());
    let graph = Graph::new(&files);
    assert!(
        graph.modules.len() > 10,
        "too few modules: {:?}",
        graph.modules
    );
    if let Err(cycle) = graph.check() {
        panic!("{cycle}");
    }
}

#[test]
fn a_cycle_is_found_and_named() {
    let files = [
        ("lib.rs", "pub mod a; pub mod b; pub mod c; pub use a::A;"),
        (
            "a.rs",
            "//! Uses crate::c in a comment only.\nuse crate::b::B;\n",
        ),
        (
            "b.rs",
            "pub struct B;\nfn f() -> &'static str { crate::c::g(); \"crate::a\" }\n",
        ),
        ("c/mod.rs", "mod inner;\npub fn g() {}\n"),
        (
            "c/inner.rs",
            "use super::g;\nuse crate::{b, a::{self, A}};\n",
        ),
    ];
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    let cycle = Graph::new(&files).check().unwrap_err();
    assert_eq!(
        cycle,
        "core's modules have a cycle: a → b → c → a\n  \
         a.rs:2 uses crate::b\n  b.rs:2 uses crate::c\n  c/inner.rs:2 uses crate::a\n\
         Arrows between modules only point down (see the crate documentation in lib.rs)."
    );
}

#[test]
fn comments_strings_and_paths_within_a_module_are_no_arrows() {
    let files = [
        (
            "a.rs",
            "use crate::b::B;\nmod tests { use super::super::b; }\n",
        ),
        (
            "b.rs",
            "/* crate::a /* nested crate::a */ */ pub struct B;\n\
             const S: &str = r#\"crate::a \"# ;\nconst C: char = '\"'; fn f<'a>(x: &'a str) {}\n\
             // crate::a\nuse self::inner::X; mod inner { pub struct X; use super::super::c; }\n",
        ),
        ("c/mod.rs", "mod d;\n"),
        ("c/d.rs", "use super::super::b::B; use super::e;\n"),
    ];
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    let graph = Graph::new(&files);
    let arrows: Vec<(&str, &str)> = graph
        .arrows
        .keys()
        .map(|(from, to)| (from.as_str(), to.as_str()))
        .collect();
    assert_eq!(arrows, [("a", "b"), ("b", "c"), ("c", "b")]);
    assert_eq!(
        graph.check().unwrap_err().lines().next().unwrap(),
        "core's modules have a cycle: b → c → b"
    );
}

/// Every `.rs` file under `dir`: path relative to `root` (with `/`), and text.
fn read_tree(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            read_tree(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap();
            let relative = relative.to_string_lossy().replace('\\', "/");
            files.push((relative, std::fs::read_to_string(&path).unwrap()));
        }
    }
    files.sort();
}

/// The modules of the crate and the arrows between them.
struct Graph {
    /// Every top-level module.
    modules: BTreeSet<String>,
    /// (from, to) → where the first such path is written (`file:line`).
    arrows: BTreeMap<(String, String), String>,
}

impl Graph {
    fn new(files: &[(String, String)]) -> Graph {
        let modules: BTreeSet<String> = files
            .iter()
            .filter_map(|(path, _)| module_of(path).first().cloned())
            .collect();
        let mut arrows = BTreeMap::new();
        for (path, text) in files {
            let module = module_of(path);
            let Some(from) = module.first() else {
                continue;
            };
            for (to, line) in paths(&module, text) {
                if &to != from && modules.contains(&to) {
                    arrows
                        .entry((from.clone(), to))
                        .or_insert_with(|| format!("{path}:{line}"));
                }
            }
        }
        Graph { modules, arrows }
    }

    /// Ok if the arrows form no cycle; else the first cycle found, named with its places.
    fn check(&self) -> Result<(), String> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        fn visit<'g>(
            graph: &'g Graph,
            module: &'g str,
            marks: &mut BTreeMap<&'g str, Mark>,
            stack: &mut Vec<&'g str>,
        ) -> Option<Vec<&'g str>> {
            marks.insert(module, Mark::Open);
            stack.push(module);
            for (from, to) in graph.arrows.keys() {
                if from != module {
                    continue;
                }
                match marks.get(to.as_str()).copied().unwrap_or(Mark::New) {
                    Mark::Open => {
                        let start = stack.iter().position(|m| m == to).unwrap();
                        let mut cycle = stack[start..].to_vec();
                        cycle.push(to);
                        return Some(cycle);
                    }
                    Mark::New => {
                        if let Some(cycle) = visit(graph, to, marks, stack) {
                            return Some(cycle);
                        }
                    }
                    Mark::Done => {}
                }
            }
            stack.pop();
            marks.insert(module, Mark::Done);
            None
        }
        let mut marks = BTreeMap::new();
        for module in &self.modules {
            if marks.contains_key(module.as_str()) {
                continue;
            }
            if let Some(cycle) = visit(self, module, &mut marks, &mut Vec::new()) {
                let places: Vec<String> = cycle
                    .windows(2)
                    .map(|pair| {
                        let at = &self.arrows[&(pair[0].to_string(), pair[1].to_string())];
                        format!("  {at} uses crate::{}", pair[1])
                    })
                    .collect();
                return Err(format!(
                    "core's modules have a cycle: {}\n{}\nArrows between modules only point \
                     down (see the crate documentation in lib.rs).",
                    cycle.join(" → "),
                    places.join("\n")
                ));
            }
        }
        Ok(())
    }
}

/// The module path of a file: `[]` for `lib.rs`, `["render"]` for `render/mod.rs`,
/// `["render", "template"]` for `render/template.rs`.
fn module_of(path: &str) -> Vec<String> {
    let path = path.strip_suffix(".rs").unwrap_or(path);
    let mut parts: Vec<String> = path.split('/').map(str::to_string).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// One token of code: an identifier, `::`, or another punctuation character; with its line.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Punct(char),
}

/// The top-level modules that the paths of `text` (a file of module `module`) name, with the
/// line of each.
fn paths(module: &[String], text: &str) -> Vec<(String, usize)> {
    let tokens = tokens(&code_only(text));
    let ident = |i: usize| match tokens.get(i) {
        Some((Token::Ident(name), _)) => Some(name.as_str()),
        _ => None,
    };
    let is = |i: usize, token: &Token| tokens.get(i).map(|(t, _)| t) == Some(token);
    let mut found = Vec::new();
    // Inline modules: (name, the brace depth inside them).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        let line = tokens[i].1;
        match &tokens[i].0 {
            Token::Punct('{') => depth += 1,
            Token::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth -= 1;
            }
            Token::Ident(word) if word == "mod" && is(i + 2, &Token::Punct('{')) => {
                if let Some(name) = ident(i + 1) {
                    inline.push((name.to_string(), depth + 1));
                }
            }
            Token::Ident(word) if word == "crate" && is(i + 1, &Token::PathSep) => {
                for name in first_segments(&tokens, i + 2) {
                    found.push((name, line));
                }
            }
            Token::Ident(word)
                if word == "super"
                    && is(i + 1, &Token::PathSep)
                    && !(i >= 1 && is(i - 1, &Token::PathSep)) =>
            {
                // Where the path starts: this file's module with its inline modules, then one
                // level up per `super::`.
                let mut base: Vec<String> = module.to_vec();
                base.extend(inline.iter().map(|(name, _)| name.clone()));
                let mut at = i;
                while ident(at) == Some("super") && is(at + 1, &Token::PathSep) {
                    base.pop();
                    at += 2;
                }
                match base.first() {
                    Some(top) => found.push((top.clone(), line)),
                    None => {
                        for name in first_segments(&tokens, at) {
                            found.push((name, line));
                        }
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// The first segment of each path that starts at token `at`: `a` for `a::b`, `a` and `b` for
/// `{a::x, b, self}` (`self` is no segment).
fn first_segments(tokens: &[(Token, usize)], at: usize) -> Vec<String> {
    match tokens.get(at) {
        Some((Token::Ident(name), _)) if name != "self" => vec![name.clone()],
        Some((Token::Punct('{'), _)) => {
            let mut names = Vec::new();
            let mut depth = 0;
            let mut item_start = true;
            for (token, _) in &tokens[at..] {
                match token {
                    Token::Punct('{') => {
                        depth += 1;
                        if depth == 1 {
                            item_start = true;
                        }
                        continue;
                    }
                    Token::Punct('}') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Token::Punct(',') if depth == 1 => {
                        item_start = true;
                        continue;
                    }
                    Token::Ident(name) if depth == 1 && item_start && name != "self" => {
                        names.push(name.clone());
                    }
                    _ => {}
                }
                item_start = false;
            }
            names
        }
        _ => Vec::new(),
    }
}

/// `text` with every comment, string and character literal blanked out (newlines kept, so
/// that lines stay where they were).
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let before = i.checked_sub(1).map(|j| chars[j]);
        let start = i;
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut nesting = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    nesting += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    nesting -= 1;
                    i += 2;
                    if nesting == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r'
            && !before.is_some_and(|b| is_ident(b) && b != 'b')
            && matches!(next, Some('#' | '"'))
        {
            // A raw string: r"…", r#"…"#, br"…".
            let mut hashes = 0;
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            'raw: while j < chars.len() {
                if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break 'raw;
                }
                j += 1;
            }
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' && next == Some('\\') {
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
        } else {
            out.push(c);
            i += 1;
            continue;
        }
        let end = i.min(chars.len());
        out.extend(chars[start..end].iter().map(|&c| blank(c)));
        i = end;
    }
    out
}

/// The tokens of code without comments and strings, each with its line (from 1).
fn tokens(code: &str) -> Vec<(Token, usize)> {
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        } else if c.is_alphabetic() || c == '_' {
            let mut word = c.to_string();
            while let Some(&n) = chars.peek() {
                if !(n.is_alphanumeric() || n == '_') {
                    break;
                }
                word.push(n);
                chars.next();
            }
            tokens.push((Token::Ident(word), line));
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            tokens.push((Token::PathSep, line));
        } else if !c.is_whitespace() {
            tokens.push((Token::Punct(c), line));
        }
    }
    tokens
}
