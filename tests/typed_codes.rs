//! Diagnostic codes are typed: outside the code table (`compiler/src/codes.rs`) and tests, no
//! source writes a code as a string literal; each says `codes::E0302`.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `"E0302"`-shaped string literals in `text`.
fn code_literals(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(6))
        .filter(|&i| {
            bytes[i] == b'"'
                && matches!(bytes[i + 1], b'E' | b'W')
                && bytes[i + 2..i + 6].iter().all(u8::is_ascii_digit)
                && bytes[i + 6] == b'"'
        })
        .map(|i| &text[i..i + 7])
        .collect()
}

#[test]
fn no_code_is_a_string_literal_outside_the_code_table() {
    assert_eq!(code_literals("x(\"E0302\", \"W0001\", \"E03\")"), ["\"E0302\"", "\"W0001\""]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["compiler/src", "runtime/src", "stdlib/src", "src"] {
        sources(&root.join(dir), &mut files);
    }
    let mut found = Vec::new();
    for path in files.iter().filter(|p| !p.ends_with("codes.rs") && !p.ends_with("tests.rs")) {
        let text = std::fs::read_to_string(path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        found.extend(code_literals(code).into_iter().map(|c| format!("{}: {c}", path.display())));
    }
    assert!(found.is_empty(), "write `codes::CODE` instead:\n{}", found.join("\n"));
}
