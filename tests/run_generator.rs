//! Finite sources end the run: a generator with a count into a logger and into a null sink (fan-out
//! replicates), standard input into a logger; a file with errors does not run; what cannot run yet
//! says so.

mod run_common;

use run_common::*;

#[test]
fn a_counted_generator_ends_the_run_after_every_event_is_delivered() {
    let s = Scratch::new();
    s.write(
        "gen.flow",
        r#"
source g = generator { count = 2_500, batch_size = 64 }
channel c = memory { capacity = 100 }
sink shown = logger {}
sink gone = null {}
g -> c -> [shown, gone]
"#,
    );
    let out = s.run("gen.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let want: Vec<String> = (0..2_500).map(|i| i.to_string()).collect();
    assert_eq!(lines, want, "0..2500 in order, each once");
    assert_eq!(node_counts(&stderr, "g"), (0, 2_500, 0));
    assert_eq!(node_counts(&stderr, "c"), (2_500, 2_500, 0));
    assert_eq!(node_counts(&stderr, "gone"), (2_500, 2_500, 0));
    assert!(stderr.contains("every source ended"), "{stderr}");
}

#[test]
fn a_large_generator_through_null_drains_completely() {
    let s = Scratch::new();
    s.write("gen.flow", "source g = generator { count = 200_000, batch_size = 1_000 }\nsink k = null {}\ng -> k\n");
    let out = s.run("gen.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(node_counts(&stderr, "k"), (200_000, 200_000, 0));
}

#[test]
fn stdin_lines_are_logged_whole_and_the_run_ends_at_eof() {
    let s = Scratch::new();
    s.write(
        "cat.flow",
        "source i = stdin {}\nsink o = logger {}\ni | set host = hostname(), at = now() | select { line, host } -> o\n",
    );
    let out = s.run("cat.flow", "hello world\nsecond=line\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("line=\"hello world\" host="), "{stdout}");
    assert!(lines[1].starts_with("line=\"second=line\" host="), "{stdout}");
}

#[test]
fn sigterm_stops_an_endless_source_after_draining() {
    let s = Scratch::new();
    s.write(
        "cat.flow",
        "source i = stdin { batch_size = 1 }\nchannel c = memory {}\nsink o = logger {}\ni -> c -> o\n",
    );
    let mut run = s.start("cat.flow");
    {
        use std::io::Write;
        let stdin = run.child.stdin.as_mut().unwrap();
        stdin.write_all(b"one\ntwo\n").unwrap();
        stdin.flush().unwrap();
    }
    assert_eq!(run.take(2), ["one", "two"]);
    // Standard input stays open: only the signal ends the run.
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(rest.is_empty(), "{rest:?}");
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
}

#[test]
fn a_file_with_errors_does_not_run() {
    let s = Scratch::new();
    s.write("bad.flow", "source g = generator { count = 1 }\nsink k = loger {}\ng -> k\n");
    let out = s.run("bad.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("E0301"), "{stderr}");
    assert!(stderr.contains("nothing ran"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn what_cannot_run_yet_is_reported_before_anything_runs() {
    let s = Scratch::new();
    s.write(
        "k.flow",
        "topic t { brokers = \"localhost:9092\" }\nsource r = topic { topic = t }\nsink k = logger {}\nr -> k\n",
    );
    let out = s.run("k.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("t: a `topic` source on a topic of an external Kafka cluster"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_second_signal_exits_at_once_when_draining_is_stuck() {
    use std::io::{BufRead, BufReader, Read};
    let s = Scratch::new();
    // Each batch is 100 lines of 64 KiB: far more than a pipe holds, so a batch cannot drain unread.
    s.write("gen.flow", "source g = generator { mode = stress, size = 100KiB }\nsink k = logger {}\ng -> k\n");
    let mut child = s
        .command(&["run", "gen.flow"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // One line shows the run has started; nobody reads the rest, so the logger blocks on a full pipe.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("0123456789abcdef") && first.ends_with("more bytes]\n"), "{}", &first[..40]);
    let pid = child.id().to_string();
    let kill = |sig: &str| assert!(std::process::Command::new("kill").args([sig, &pid]).status().unwrap().success());
    kill("-TERM");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("draining") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "flowc ended before draining: {seen}");
        seen.push_str(&line);
    }
    kill("-TERM");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(rest.contains("again: exiting without draining"), "{rest}");
}

#[test]
fn uuid_and_to_string_fill_fields() {
    let s = Scratch::new();
    s.write(
        "ids.flow",
        "source g = generator { count = 50 }\nsink k = logger { format = json }\ng | set id = uuid(), n = to_string(2 * 3) -> k\n",
    );
    let out = s.run("ids.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["n"], "6");
        assert!(ids.insert(v["id"].as_str().unwrap().to_string()), "repeated id in {line}");
    }
    assert_eq!(ids.len(), 50);
}
