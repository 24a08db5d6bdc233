//! The seed's second Flume agent, run for real: `tail -F` through `exec` -> memory -> time-bucketed,
//! rolled files. Every line appended to the log lands in exactly one finished file, rolled by size
//! (20 B: one line per file), in `out/aura/<yy-mm-dd>/<HHMM>/` with the minute rounded down to 10;
//! SIGTERM drains, closes the open files and exits 0.

mod run_common;

use run_common::*;
use std::io::Write;
use std::time::{Duration, Instant};

#[test]
fn tail_f_lines_land_once_in_bucketed_rolled_files() {
    let s = Scratch::new();
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/flume_exec_files.flow"), s.path().join("agent.flow"))
        .unwrap();
    // `tail -F` starts with the last 10 lines of the file, so the file starts with fewer.
    let mut expected: Vec<String> = (0..5).map(|i| format!("GET /before/{i} HTTP/1.1 200")).collect();
    s.write("flume_dir/access.log", &(expected.join("\n") + "\n"));
    let run = s.start("agent.flow");

    // Wait (by looking at the file system only) until the given number of lines is in finished files.
    let out = s.path().join("out/aura");
    let finished_lines = || -> usize {
        if !out.exists() {
            return 0;
        }
        tree(&out)
            .iter()
            .filter(|f| !f.ends_with(".tmp"))
            .map(|f| std::fs::read_to_string(out.join(f)).unwrap_or_default().lines().count())
            .sum()
    };
    let wait_for = |n: usize| {
        let started = Instant::now();
        while finished_lines() < n {
            assert!(started.elapsed() < PATIENCE, "only {} of {n} lines arrived", finished_lines());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // The first lines have arrived, so `tail` is following the file: what is appended now is new.
    wait_for(expected.len());
    let mut log = std::fs::OpenOptions::new().append(true).open(s.path().join("flume_dir/access.log")).unwrap();
    for i in 0..40 {
        let line = format!("GET /after/{i} HTTP/1.1 200");
        writeln!(log, "{line}").unwrap();
        expected.push(line);
    }
    log.flush().unwrap();
    wait_for(expected.len());
    let (status, _, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");

    let files = tree(&out);
    assert!(files.iter().all(|f| !f.ends_with(".tmp")), "in-use files left: {files:?}");
    let mut got = Vec::new();
    for f in &files {
        // <yy-mm-dd>/<HHMM>/hello-<n>.log, minutes rounded down to a multiple of 10
        let parts: Vec<&str> = f.split('/').collect();
        assert_eq!(parts.len(), 3, "{f}");
        assert_eq!(parts[0].len(), 8, "{f}");
        assert_eq!(parts[1].len(), 4, "{f}");
        assert!(parts[1].ends_with('0'), "{f}: minute not rounded to 10");
        assert!(parts[2].starts_with("hello-") && parts[2].ends_with(".log"), "{f}");
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{f}: a line is over 20 B, so every file rolls after one");
        got.extend(lines.iter().map(|l| l.to_string()));
    }
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "every line exactly once");
}
