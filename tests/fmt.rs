//! `flowc fmt`: idempotent over every example and golden file, checks the same after formatting,
//! keeps every comment, refuses files with syntax errors; `--check` exit codes.

use flowc_compiler::format::format;
use flowc_compiler::{check, FileId};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn flowc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowc")).args(args).env("NO_COLOR", "1").output().expect("flowc runs")
}

fn flow_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    paths.sort();
    paths
}

/// Every file of the corpus: the examples and the golden diagnostics files.
fn corpus() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for path in flow_files("examples").into_iter().chain(flow_files("tests/diagnostics")) {
        let bytes = std::fs::read(&path).unwrap();
        if let Ok(text) = String::from_utf8(bytes) {
            out.push((path, text));
        }
    }
    assert!(out.len() > 40, "examples and golden files are missing");
    out
}

fn codes(source: &str) -> Vec<&'static str> {
    let (_, diags) = check(FileId(0), source, flowc_stdlib::registry());
    let mut codes: Vec<&'static str> = diags.iter().map(|d| d.code).collect();
    codes.sort();
    codes
}

/// Comments as the lexer sees them (outside strings), trimmed.
fn comments(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if source[i..].starts_with("//") {
            let end = source[i..].find('\n').map_or(source.len(), |p| i + p);
            out.push(source[i..end].trim_end().to_string());
            i = end;
        } else if source[i..].starts_with("/*") {
            let end = source[i + 2..].find("*/").map_or(source.len(), |p| i + 2 + p + 2);
            out.push(source[i..end].to_string());
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn formatting_is_idempotent_over_examples_and_golden_files() {
    let mut formatted = 0;
    for (path, source) in corpus() {
        let Ok(once) = format(&source) else { continue };
        let twice =
            format(&once).unwrap_or_else(|e| panic!("{}: formatted output does not parse: {e:?}", path.display()));
        assert_eq!(twice, once, "{}: formatting twice changes the file", path.display());
        formatted += 1;
    }
    assert!(formatted > 40, "only {formatted} files formatted");
}

#[test]
fn formatted_files_check_with_the_same_codes() {
    for (path, source) in corpus() {
        let Ok(once) = format(&source) else { continue };
        assert_eq!(codes(&once), codes(&source), "{}: formatting changed the diagnostics\n{once}", path.display());
    }
}

#[test]
fn comments_survive_formatting() {
    for (path, source) in corpus() {
        let Ok(once) = format(&source) else { continue };
        let (before, after) = (comments(&source), comments(&once));
        assert_eq!(after.len(), before.len(), "{}: comments lost or added\n{once}", path.display());
        assert_eq!(after, before, "{}: comments changed", path.display());
    }
}

#[test]
fn golden_files_with_syntax_errors_are_refused_with_them() {
    for (path, source) in corpus() {
        let refused = format(&source).is_err();
        let syntax = codes(&source).iter().any(|c| matches!(*c, "E0101" | "E0102" | "E0105"));
        assert_eq!(refused, syntax, "{}", path.display());
    }
}

#[test]
fn the_examples_are_formatted() {
    let paths: Vec<String> = flow_files("examples").iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let mut args = vec!["fmt", "--check"];
    args.extend(paths.iter().map(String::as_str));
    let out = flowc(&args);
    assert_eq!(out.status.code(), Some(0), "not formatted:\n{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn check_names_the_files_that_would_change_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.flow");
    let bad = dir.path().join("bad.flow");
    std::fs::write(&good, "source a = stdin {}\nsink b = logger {}\na -> b\n").unwrap();
    std::fs::write(&bad, "source a=stdin{}\nsink b = logger {}\na->b\n").unwrap();
    let (good, bad) = (good.to_str().unwrap(), bad.to_str().unwrap());

    let out = flowc(&["fmt", "--check", good]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());

    let out = flowc(&["fmt", "--check", good, bad]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("bad.flow") && !stdout.contains("good.flow"), "{stdout}");
    assert_eq!(std::fs::read_to_string(bad).unwrap(), "source a=stdin{}\nsink b = logger {}\na->b\n", "--check wrote");

    let out = flowc(&["fmt", bad]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(bad).unwrap(), "source a = stdin {}\nsink b = logger {}\na -> b\n");
    assert_eq!(flowc(&["fmt", "--check", good, bad]).status.code(), Some(0));
}

#[test]
fn a_file_with_syntax_errors_is_refused_with_its_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.flow");
    let text = "source r1 = spooldir { dir: \"spool\" }\nsink s = logger {}\nr1 -> s\n";
    std::fs::write(&path, text).unwrap();
    let out = flowc(&["fmt", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("E0101") && stderr.contains("syntax errors"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "a broken file was rewritten");
    assert_eq!(flowc(&["fmt", "--check", path.to_str().unwrap()]).status.code(), Some(1));
}

#[test]
fn a_missing_file_is_an_io_error() {
    let out = flowc(&["fmt", "/nonexistent/x.flow"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The ```flow blocks of the docs: a second corpus, written by hand in many styles.
fn doc_blocks() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    if let Ok(codes) = std::fs::read_dir(dir.join("diagnostics")) {
        pages.extend(codes.map(|e| e.unwrap().path()));
    }
    pages.sort();
    for page in pages.iter().filter(|p| p.extension().is_some_and(|e| e == "md")) {
        let text = std::fs::read_to_string(page).unwrap();
        for (i, block) in text.split("```flow\n").skip(1).enumerate() {
            if let Some((code, _)) = block.split_once("```") {
                out.push((format!("{}#{i}", page.display()), code.to_string()));
            }
        }
    }
    out
}

#[test]
fn doc_examples_format_idempotently_and_check_the_same() {
    let blocks = doc_blocks();
    assert!(blocks.len() > 50, "only {} flow blocks in docs/", blocks.len());
    for (name, source) in blocks {
        let Ok(once) = format(&source) else { continue };
        assert_eq!(format(&once).ok().as_deref(), Some(once.as_str()), "{name}: not idempotent");
        assert_eq!(codes(&once), codes(&source), "{name}: formatting changed the diagnostics\n{once}");
        assert_eq!(comments(&once), comments(&source), "{name}: comments changed");
    }
}

/// Every file with one line left out: half-broken files are formatted as safely as whole ones.
#[test]
fn files_missing_a_line_format_idempotently_and_check_the_same() {
    let mut tried = 0;
    for (path, source) in corpus() {
        let lines: Vec<&str> = source.lines().collect();
        for skip in 0..lines.len() {
            let variant: String =
                lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| format!("{l}\n")).collect();
            let Ok(once) = format(&variant) else { continue };
            tried += 1;
            let twice =
                format(&once).unwrap_or_else(|e| panic!("{} -{skip}: output does not parse: {e:?}", path.display()));
            assert_eq!(twice, once, "{} without line {}: not idempotent", path.display(), skip + 1);
            assert_eq!(
                codes(&once),
                codes(&variant),
                "{} without line {}: codes changed\n{once}",
                path.display(),
                skip + 1
            );
        }
    }
    assert!(tried > 200, "only {tried} variants formatted");
}

#[test]
fn standard_input_is_formatted_to_standard_output() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["fmt", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"source a=stdin\nsink b=logger\na->b // go\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "source a = stdin\nsink b = logger\na -> b  // go\n");
}
