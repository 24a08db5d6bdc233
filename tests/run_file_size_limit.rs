//! A full disk, for real: `flowc run` under a file size limit (`prlimit --fsize`, RLIMIT_FSIZE, which
//! flowc meets as EFBIG since it ignores SIGXFSZ). Once the files sink or the file channel cannot
//! write, the pipeline says why, stops acknowledging (the tail source's saved position stops), and
//! when the limit is lifted on the running process it goes on: every input line in the output
//! exactly once (a failed write is put back before its retry).

mod run_common;

use run_common::{lines_under, Scratch, Watched, PATIENCE};
use std::process::Command;
use std::time::Instant;

const LINES: usize = 100_000;
/// The largest file the process may write while limited: far less than the input (about 5 MB).
const LIMIT: u64 = 1_000_000;

fn line(i: usize) -> String {
    format!("line {i:07} {}", "x".repeat(40))
}

/// `flowc run p.flow` under the limit (soft: it can be lifted again), its stderr collected.
fn start_limited(s: &Scratch) -> Watched {
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--fsize={LIMIT}:unlimited"))
        .args([env!("CARGO_BIN_EXE_flowc"), "run", "p.flow"])
        .current_dir(s.path())
        .env("NO_COLOR", "1");
    Watched::spawn(cmd)
}

/// Lifts the limit on the running process (what an operator does by freeing disk space).
fn lift(run: &Watched) {
    let status =
        Command::new("prlimit").args(["--pid", &run.child.id().to_string(), "--fsize=unlimited"]).status().unwrap();
    assert!(status.success(), "the soft limit can be raised again");
}

/// The byte offset the tail source saved: the input it was told is delivered.
fn acknowledged_bytes(s: &Scratch) -> u64 {
    let path = s.path().join(".flow/sources/t/positions.json");
    let Ok(text) = std::fs::read_to_string(&path) else { return 0 };
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["files"].as_array().unwrap().iter().map(|f| f["offset"].as_u64().unwrap()).sum()
}

fn scratch(flow: &str) -> Scratch {
    let s = Scratch::new();
    let input: String = (0..LINES).map(|i| line(i) + "\n").collect();
    s.write("in.log", &input);
    s.write("p.flow", flow);
    s
}

/// Waits until the output holds every line, then stops flowc; asserts each is there exactly once.
fn finishes_exactly_once(s: &Scratch, run: Watched) -> String {
    let start = Instant::now();
    while lines_under(&s.path().join("out")).len() < LINES {
        assert!(start.elapsed() < PATIENCE, "the output did not fill up in time; stderr:\n{}", run.stderr());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let stderr = run.terminate();
    let out = lines_under(&s.path().join("out"));
    assert_eq!(out.len(), LINES, "{stderr}");
    for i in 0..LINES {
        assert_eq!(out.get(&line(i)), Some(&1), "line {i} once in the output; stderr:\n{stderr}");
    }
    stderr
}

#[test]
fn a_files_sink_past_the_limit_stops_acknowledging_and_resumes_when_it_is_lifted() {
    let s = scratch(
        r#"
source t = tail { path = "in.log", start_at = beginning }
channel c = memory { capacity = 2_000 }
sink k = files { path = "out/", prefix = "part-", roll = { size = 64MiB } }
t -> c -> k
"#,
    );
    let mut run = start_limited(&s);
    run.wait_for("a second failed write", |e| e.matches("k: write failed").count() >= 2);
    let stderr = run.stderr();
    assert!(stderr.contains("File too large"), "the warning says why: {stderr}");
    let written = lines_under(&s.path().join("out")).len() as u64;
    let acked = acknowledged_bytes(&s) / (line(0).len() as u64 + 1);
    assert!(acked <= written, "{acked} lines acknowledged, only {written} in the output");
    assert!(written < LINES as u64, "the limit stopped the sink ({written} lines written)");
    lift(&run);
    finishes_exactly_once(&s, run);
}

#[test]
fn a_file_channel_past_the_limit_stops_acknowledging_and_resumes_when_it_is_lifted() {
    let s = scratch(
        r#"
source t = tail { path = "in.log", start_at = beginning }
channel c = file { fsync = always, segment_size = 64MiB }
sink k = files { path = "out/", prefix = "part-", roll = { size = 900KiB } }
t -> c -> k
"#,
    );
    let mut run = start_limited(&s);
    run.wait_for("a second failed append", |e| e.matches("cannot append (attempt").count() >= 2);
    let stderr = run.stderr();
    assert!(stderr.contains("File too large"), "the warning says why: {stderr}");
    let segment = s.path().join(".flow/channels/c/events/0/00000000000000000000.log");
    let stored = std::fs::metadata(&segment).unwrap().len();
    assert!(stored <= LIMIT, "nothing past the limit stays in the channel's segment ({stored} bytes)");
    let acked = acknowledged_bytes(&s);
    assert!(acked < stored, "acknowledged {acked} bytes of input, the channel holds {stored} bytes of records");
    assert!(acked < (LINES * (line(0).len() + 1)) as u64, "it stopped acknowledging before the end");
    lift(&run);
    let stderr = finishes_exactly_once(&s, run);
    assert!(stderr.contains("appending again after"), "{stderr}");
}
