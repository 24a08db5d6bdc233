//! `flowc test` as a user runs it: every example's tests pass; a wrong expectation fails with a
//! readable diff (exit 1); a test with a type error is a diagnostic (exit 1, as `check`); an
//! unreadable pipeline is exit 2; and nothing outside the process is touched while tests run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn flowc_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("flowc runs")
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn examples(suffix: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    paths.sort();
    paths
}

const PIPELINE: &str = "\
type Access = { host: string, ts: timestamp, method: string, path: string, status: int, bytes: int }
source web = tail { path = \"logs/access.log\" }
channel kept = file { dir = \"data/kept\" }
sink errors = files { path = \"out/errors/\", format = json }
web | parse combined as Access | where status >= 500 | select { host, status, path } -> kept -> errors
";

const LINE_200: &str = r#""192.0.2.1 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 512 \"-\" \"curl/8\"""#;
const LINE_503: &str = r#""192.0.2.2 - - [01/Jan/2026:00:00:01 +0000] \"GET /x HTTP/1.1\" 503 0 \"-\" \"curl/8\"""#;

#[test]
fn every_example_has_tests_and_they_pass() {
    let pipelines: Vec<PathBuf> =
        examples(".flow").into_iter().filter(|p| !p.to_string_lossy().ends_with(".test.flow")).collect();
    let tests = examples(".test.flow");
    assert!(pipelines.len() >= 4, "the seed's examples are missing");
    for pipeline in &pipelines {
        let test = pipeline.with_extension("test.flow");
        assert!(tests.contains(&test), "{} has no tests ({})", pipeline.display(), test.display());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut args = vec!["test".to_string()];
    args.extend(tests.iter().map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = flowc_in(root, &args);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("test result: ok."), "{stdout}");
    assert!(!stdout.contains("FAILED") && !stdout.contains("ERROR"), "{stdout}");
    let passed = stdout.lines().filter(|l| l.ends_with(" ... ok")).count();
    assert!(passed >= 10, "only {passed} tests ran:\n{stdout}");
}

#[test]
fn right_expectations_pass_and_a_wrong_one_fails_with_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let tests = format!(
        "{PIPELINE}
test \"server errors are kept\" {{
  input web = [{LINE_200}, {LINE_503}]
  expect kept = [{{ host = \"192.0.2.2\", status = 503 }}]
  expect errors = [{{ host = \"192.0.2.2\", status = 503, path = \"/x\" }}]
}}

test \"a wrong expectation\" {{
  input web = [{LINE_503}, {LINE_503}]
  expect errors = [{{ host = \"192.0.2.9\", status = 503 }}, {{ status = 500 }}, {{ path = \"/\" }}]
}}

test \"records into the channel\" {{
  input kept = [{{ host = \"h\", status = 500, path = \"/\" }}]
  expect errors = [{{ host = \"h\" }}]
}}
"
    );
    std::fs::write(dir.path().join("pipeline.flow"), tests).unwrap();
    let out = flowc_in(dir.path(), &["test", "pipeline.flow"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("test server errors are kept ... ok"), "{stdout}");
    assert!(stdout.contains("test records into the channel ... ok"), "{stdout}");
    insta::assert_snapshot!("wrong_expectation", stdout);
    // Nothing was read or written: no output directory, no channel directory, no data directory.
    let mut left: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(left, vec!["pipeline.flow"]);
}

#[test]
fn a_tests_file_runs_against_the_pipeline_it_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pipeline.flow"), PIPELINE).unwrap();
    let tests = format!(
        "tests \"pipeline.flow\"\n\ntest \"kept\" {{\n  input web = [{LINE_503}]\n  expect errors = [{{ status = 503 }}]\n}}\n"
    );
    std::fs::write(dir.path().join("pipeline.test.flow"), &tests).unwrap();
    let out = flowc_in(dir.path(), &["test", "pipeline.test.flow"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("running 1 test from pipeline.test.flow\ntest kept ... ok\n"), "{stdout}");
    // `check` reads the named pipeline too.
    let out = flowc_in(dir.path(), &["check", "pipeline.test.flow"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    // A pipeline that is not there is an I/O error: exit 2, as for `check`.
    std::fs::remove_file(dir.path().join("pipeline.flow")).unwrap();
    let out = flowc_in(dir.path(), &["test", "pipeline.test.flow"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("cannot read pipeline.flow") && stderr.contains("named by pipeline.test.flow"), "{stderr}");
}

#[test]
fn a_test_with_a_type_error_is_a_diagnostic_and_does_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let tests = format!(
        "{PIPELINE}
test \"typed\" {{
  input kept = [{{ host = \"h\", status = \"500\", path = \"/\" }}]
  expect errors = [{{ stauts = 500 }}]
}}
"
    );
    std::fs::write(dir.path().join("pipeline.flow"), tests).unwrap();
    let out = flowc_in(dir.path(), &["test", "pipeline.flow"]);
    let (stdout, stderr) = text(&out);
    let check = flowc_in(dir.path(), &["check", "pipeline.flow"]);
    assert_eq!(out.status.code(), check.status.code(), "{stdout}{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(!stdout.contains("test typed"), "the test ran:\n{stdout}");
    insta::assert_snapshot!("type_error", stderr);
}

#[test]
fn an_expectation_behind_a_shared_group_cannot_be_judged_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("examples/kafka_consumer_groups.flow"), dir.path().join("groups.flow")).unwrap();
    let tests = format!(
        "tests \"groups.flow\"\n\ntest \"member\" {{\n  input web = [{LINE_503}]\n  expect zhang_wuji = []\n}}\n"
    );
    std::fs::write(dir.path().join("groups.test.flow"), tests).unwrap();
    let out = flowc_in(dir.path(), &["test", "groups.test.flow"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stdout.contains("test member ... ERROR"), "{stdout}");
    assert!(stdout.contains("`expect zhang_wuji`") && stdout.contains("expect them before the group"), "{stdout}");
    assert!(stdout.contains("0 passed; 0 failed; 1 could not run"), "{stdout}");
}

#[test]
fn routes_fan_outs_and_dead_letters_deliver_as_they_run() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = "\
type Hit = { host: string, status: int }
source web = tail { path = \"logs/hits.ndjson\" }
channel c = file {}
sink ok = logger {}
sink bad = logger {}
sink rest = logger {}
sink all = logger {}
sink rejects = logger {}
web | parse json as Hit else -> rejects -> c
c -> route { status < 400 => ok, status >= 500 => [bad, all], else => rest }

test \"each record to the first arm that holds, rejects to the dead letter\" {
  input web = [
    \"{\\\"host\\\": \\\"a\\\", \\\"status\\\": 200}\",
    \"not json\",
    \"{\\\"host\\\": \\\"b\\\", \\\"status\\\": 503}\",
    \"{\\\"host\\\": \\\"c\\\", \\\"status\\\": 404}\",
  ]
  expect ok = [{ host = \"a\" }]
  expect bad = [{ host = \"b\", status = 503 }]
  expect all = [{ host = \"b\" }]
  expect rest = [{ host = \"c\", status = 404 }]
  expect rejects = [\"not json\"]
}
";
    std::fs::write(dir.path().join("route.flow"), pipeline).unwrap();
    let out = flowc_in(dir.path(), &["test", "route.flow"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("1 passed; 0 failed"), "{stdout}");
    // A wrong arm is seen: `rest` gets the 404, not the 503.
    let wrong = pipeline.replace("host = \"c\", status = 404", "host = \"b\"");
    assert_ne!(wrong, pipeline);
    std::fs::write(dir.path().join("route.flow"), wrong).unwrap();
    let out = flowc_in(dir.path(), &["test", "route.flow"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("host: expected \"b\", got \"c\""), "{stdout}");
}

#[test]
fn flowc_run_ignores_test_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = "source web = stdin {}\nsink out = logger {}\nweb -> out\n\ntest \"t\" {\n  input web = [\"from the test\"]\n  expect out = [\"from the test\"]\n}\n";
    std::fs::write(dir.path().join("p.flow"), pipeline).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["run", "--stats", "off", "p.flow"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"from stdin\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(stdout, "from stdin\n");
}
