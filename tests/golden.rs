//! Golden diagnostic tests: each `tests/diagnostics/*.flow` file marks its expected diagnostics under
//! the offending line, and its rendered output is an insta snapshot (no colour, 100 columns).
//!
//! An annotation is a comment line whose carets sit under the primary span's first line:
//!
//! ```text
//! source r1 = spoldir { dir = "spool" }
//! //          ^^^^^^^ error[E0301]: unknown source kind
//! ```
//!
//! The text after the code must appear in the diagnostic's message. Every diagnostic must be annotated
//! and every annotation must be matched.

use flowc_compiler::span::line_col;
use flowc_compiler::{Diagnostic, FileId, Severity};
use std::path::Path;

#[derive(Debug, PartialEq)]
struct Expected {
    line: usize,
    start_col: usize,
    end_col: usize,
    severity: &'static str,
    code: String,
    message: String,
}

fn annotations(source: &str) -> Vec<Expected> {
    let mut out = Vec::new();
    let mut target_line = 0;
    for (i, line) in source.lines().enumerate() {
        let trimmed = line.trim_start();
        let is_annotation = trimmed.starts_with("//") && trimmed[2..].trim_start().starts_with('^');
        if !is_annotation {
            target_line = i + 1;
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let start = chars.iter().position(|c| *c == '^').expect("annotation has carets");
        let end = start + chars[start..].iter().take_while(|c| **c == '^').count();
        let rest: String = chars[end..].iter().collect();
        let rest = rest.trim();
        let (severity, rest) = if let Some(r) = rest.strip_prefix("error[") {
            ("error", r)
        } else if let Some(r) = rest.strip_prefix("warning[") {
            ("warning", r)
        } else {
            panic!("line {}: annotation must say error[CODE] or warning[CODE]: {line}", i + 1)
        };
        let (code, message) = rest.split_once(']').expect("annotation code is closed with ]");
        out.push(Expected {
            line: target_line,
            start_col: start + 1,
            end_col: end + 1,
            severity,
            code: code.to_string(),
            message: message.trim_start_matches(':').trim().to_string(),
        });
    }
    out
}

fn matches(expected: &Expected, diag: &Diagnostic, source: &str) -> bool {
    let (line, col) = line_col(source, diag.primary.span.start);
    let (end_line, end_col) = line_col(source, diag.primary.span.end);
    let severity = match diag.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let end_ok = if end_line == line { end_col.max(col + 1) == expected.end_col } else { true };
    line == expected.line
        && col == expected.start_col
        && end_ok
        && severity == expected.severity
        && diag.code == expected.code
        && diag.message.contains(&expected.message)
}

fn describe(diag: &Diagnostic, source: &str) -> String {
    let (line, col) = line_col(source, diag.primary.span.start);
    let (_, end_col) = line_col(source, diag.primary.span.end);
    format!("{}:{}-{} {}[{}]: {}", line, col, end_col, diag.severity.as_str(), diag.code, diag.message)
}

/// Checks one golden file; returns the rendered diagnostics for the snapshot.
fn run_one(path: &Path) -> String {
    let source = std::fs::read_to_string(path).expect("golden file is readable");
    let (_, diagnostics) = flowc_compiler::check(FileId(0), &source, flowc_stdlib::registry());
    let expected = annotations(&source);
    let mut unmatched: Vec<&Diagnostic> = diagnostics.iter().collect();
    let mut missing = Vec::new();
    for want in &expected {
        match unmatched.iter().position(|d| matches(want, d, &source)) {
            Some(i) => {
                unmatched.remove(i);
            }
            None => missing.push(want),
        }
    }
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(
        missing.is_empty() && unmatched.is_empty(),
        "{name}:\n  expected but not reported: {missing:#?}\n  reported but not expected:\n    {}",
        unmatched.iter().map(|d| describe(d, &source)).collect::<Vec<_>>().join("\n    ")
    );
    let file_name = format!("tests/diagnostics/{name}");
    diagnostics.iter().map(|d| flowc::render::human(d, &file_name, &source, false, 100)).collect::<Vec<_>>().join("\n")
}

#[test]
fn golden_diagnostics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/diagnostics exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no golden files in {}", dir.display());
    let mut failures = Vec::new();
    for path in &paths {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        match std::panic::catch_unwind(|| run_one(path)) {
            Ok(rendered) => {
                insta::with_settings!({ snapshot_path => "diagnostics/snapshots", prepend_module_to_snapshot => false }, {
                    insta::assert_snapshot!(stem, rendered);
                });
            }
            Err(panic) => {
                failures.push(panic.downcast_ref::<String>().cloned().unwrap_or_else(|| format!("{stem}: panicked")))
            }
        }
    }
    assert!(failures.is_empty(), "{} golden file(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// The codes the golden files cover: at least 40 distinct ones.
#[test]
fn golden_files_cover_many_codes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics");
    let mut codes = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("tests/diagnostics exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "flow") {
            for expected in annotations(&std::fs::read_to_string(&path).unwrap()) {
                codes.insert(expected.code);
            }
        }
    }
    assert!(codes.len() >= 40, "golden files cover only {} codes: {codes:?}", codes.len());
}
