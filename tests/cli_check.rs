//! `flowc check` and `flowc graph` as a user runs them: exit codes, human and JSON output, examples.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn flowc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowc")).args(args).env("NO_COLOR", "1").output().expect("flowc runs")
}

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    paths.sort();
    paths
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn every_example_checks_without_errors() {
    let paths = examples();
    assert!(paths.len() >= 4, "the seed's examples are missing");
    for path in paths {
        let out = flowc(&["check", path.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}:\n{stdout}{}", path.display(), String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("check ok"), "{stdout}");
    }
}

#[test]
fn errors_exit_1_and_name_file_line_and_code() {
    let dir = tempfile::tempdir().unwrap();
    let file =
        write(dir.path(), "bad.flow", "source r1 = spoldir { dir = \"spool\" }\nsink s1 = logger {}\nr1 -> s1\n");
    let out = flowc(&["check", &file]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("E0301"), "{text}");
    assert!(text.contains("bad.flow:1:13"), "{text}");
    assert!(text.contains("did you mean `spooldir`?"), "{text}");
}

#[test]
fn one_file_reports_every_broken_statement() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "many.flow",
        "source a = stdin {\nchannel c = file { capacity = }\nsink s = logger {}\nsink t = logger { max_bytes = 10mins }\na -> c -> s\n",
    );
    let out = flowc(&["check", "--format", "json", &file]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lines: Vec<u64> = json["diagnostics"].as_array().unwrap().iter().map(|d| d["line"].as_u64().unwrap()).collect();
    for line in [1, 2, 4] {
        assert!(lines.contains(&line), "no diagnostic on line {line}: {json:#}");
    }
}

#[test]
fn warnings_exit_0_unless_denied() {
    let dir = tempfile::tempdir().unwrap();
    let file =
        write(dir.path(), "warn.flow", "source r = stdin {}\nchannel c = memory {}\nsink s = logger {}\nr -> c -> s\n");
    assert_eq!(flowc(&["check", &file]).status.code(), Some(0));
    assert_eq!(flowc(&["check", "--deny-warnings", &file]).status.code(), Some(1));
}

#[test]
fn json_output_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "j.flow",
        "source r = stdin {}\nchannel c = memory { capacity = -5 }\nsink s = logger {}\nr -> c -> s\n",
    );
    let out = flowc(&["check", "--format", "json", &file]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["summary"]["errors"], 1);
    let diag = json["diagnostics"].as_array().unwrap().iter().find(|d| d["code"] == "E0305").unwrap();
    assert_eq!(diag["code"], "E0305");
    assert_eq!(diag["severity"], "error");
    assert_eq!(diag["line"], 2);
    assert_eq!(diag["column"], 33);
    assert_eq!(diag["start_byte"], 52);
    assert_eq!(diag["end_byte"], 54);
    assert!(diag["file"].as_str().unwrap().ends_with("j.flow"));
    assert_eq!(diag["labels"][0]["primary"], true);
    assert!(diag["help"].as_str().unwrap().contains("at least 1"));
}

#[test]
fn json_reports_each_paths_delivery_guarantee() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/flume_spooldir_logger.flow");
    let out = flowc(&["check", "--format", "json", path.to_str().unwrap()]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let paths = json["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 1);
    assert_eq!(paths[0]["nodes"], serde_json::json!(["r1", "c1", "s1"]));
    assert_eq!(paths[0]["guarantee"], "at-most-once on crash");
}

#[test]
fn io_and_usage_errors_exit_2() {
    assert_eq!(flowc(&["check", "/nonexistent/x.flow"]).status.code(), Some(2));
    assert_eq!(flowc(&["check"]).status.code(), Some(2));
    assert_eq!(flowc(&["no-such-command"]).status.code(), Some(2));
}

#[test]
fn invalid_utf8_is_a_diagnostic_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.flow");
    std::fs::write(&path, b"source r = stdin {}\n\xff\xfe\n").unwrap();
    let out = flowc(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("E0109"));
}

#[test]
fn graph_draws_dot_and_mermaid_with_types_and_guarantees() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kafka_consumer_groups.flow");
    let out = flowc(&["graph", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let dot = String::from_utf8(out.stdout).unwrap();
    assert!(dot.starts_with("digraph flow {"), "{dot}");
    assert!(dot.contains("access\\ntopic"), "{dot}");
    assert!(dot.contains("label=\"Access\""), "edges carry the stream type: {dot}");
    assert!(dot.contains("label=\"lines\""), "{dot}");
    assert!(dot.contains("group \\\"A\\\""), "{dot}");
    assert!(dot.contains("at-least-once"), "{dot}");
    let out = flowc(&["graph", "--format", "mermaid", path.to_str().unwrap()]);
    let mermaid = String::from_utf8(out.stdout).unwrap();
    assert!(mermaid.starts_with("flowchart LR"), "{mermaid}");
    assert!(mermaid.contains("|\"Access\"|"), "{mermaid}");
}

#[test]
fn graph_of_a_broken_file_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "g.flow", "source r = stdin {}\nr -> nowhere\n");
    let out = flowc(&["graph", &file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("E0202"));
}

#[test]
fn a_closed_stdout_pipe_is_not_a_panic() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["explain", "--list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(status.code(), Some(101), "{stderr}");
}

#[test]
fn env_interpolation_in_an_address_is_left_for_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "env.flow",
        "source n = netcat { address = \"127.0.0.1:${NC_PORT}\" }\nchannel c = file {}\nsink s = null {}\nn -> c -> s\n",
    );
    let out = flowc(&["check", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}
