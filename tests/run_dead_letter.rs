//! `parse … else -> target`: every line `parse` rejects reaches the dead-letter target (a topic read by
//! a consumer group, a channel, or a sink) as `{ line }`, exactly the text that did not parse, while
//! the parsed records go on; nothing is lost on either side.

mod run_common;

use run_common::*;

/// Lines numbered 0..n; every third one is not JSON.
fn mixed_input(n: usize) -> (String, Vec<String>) {
    let mut input = String::new();
    let mut bad = Vec::new();
    for i in 0..n {
        if i % 3 == 0 {
            let line = format!("garbage {i} {{");
            input.push_str(&line);
            bad.push(line);
        } else {
            input.push_str(&format!("{{\"n\":{i}}}"));
        }
        input.push('\n');
    }
    (input, bad)
}

fn file_lines(s: &Scratch, rel: &str) -> Vec<String> {
    std::fs::read_to_string(s.path().join(rel)).unwrap_or_default().lines().map(str::to_string).collect()
}

#[test]
fn rejected_lines_go_to_a_topic_and_a_group_reads_them() {
    let s = Scratch::new();
    s.write(
        "dead.flow",
        r#"
type Event = { n: int }
topic bad_lines { partitions = 2 }

source input = stdin { batch_size = 7 }
sink good = files { path = "out/good/", format = json }
input | parse json as Event else -> bad_lines -> good

sink rejects = files { path = "out/rejects/" }
bad_lines -> group "audit" -> rejects
"#,
    );
    let (input, mut bad) = mixed_input(300);
    let mut cmd = s.command(&["run", "dead.flow", "--data-dir", "data"]);
    let out = {
        use std::io::Write;
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let good: Vec<i64> = file_lines(&s, "out/good/0.json")
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["n"].as_i64().unwrap())
        .collect();
    assert_eq!(good, (0..300).filter(|i| i % 3 != 0).collect::<Vec<_>>());
    let mut rejected = file_lines(&s, "out/rejects/0.log");
    rejected.sort();
    bad.sort();
    assert_eq!(rejected, bad, "every rejected line, once, as it was written\n{stderr}");
    assert_eq!(node_counts(&stderr, "bad_lines@audit"), (100, 100, 0));

    // The dead letters are ordinary records of the topic: the console consumer sees them too.
    let consumed = s
        .command(&[
            "consume",
            "bad_lines",
            "--data-dir",
            "data",
            "--from-beginning",
            "--max-messages",
            "100",
            "--timeout",
            "10s",
        ])
        .output()
        .unwrap();
    assert!(consumed.status.success(), "{}", String::from_utf8_lossy(&consumed.stderr));
    let text = String::from_utf8_lossy(&consumed.stdout);
    assert_eq!(text.lines().count(), 100, "{text}");
    assert!(text.lines().all(|l| l.contains("garbage")), "{text}");
}

#[test]
fn rejected_lines_go_to_a_sink_and_through_a_channel() {
    let s = Scratch::new();
    s.write(
        "dead.flow",
        r#"
type Event = { n: int }

source input = stdin { batch_size = 10 }
sink good = null {}
sink rejects = files { path = "out/rejects/" }
input | parse json as Event else -> rejects -> good

// Bare numbers are JSON, but not objects: every one is rejected.
source other = generator { count = 40, batch_size = 3 }
channel held = memory { capacity = 5 }
sink logged = logger {}
other | parse json as Event else -> held
held -> logged
"#,
    );
    let (input, bad) = mixed_input(90);
    let out = s.run("dead.flow", &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(file_lines(&s, "out/rejects/0.log"), bad, "in input order");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let numbers: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    assert_eq!(stdout.lines().map(str::to_string).collect::<Vec<_>>(), numbers);
    assert_eq!(node_counts(&stderr, "rejects"), (30, 30, 0));
    // Why, once per node: the first rejected line and its reason.
    assert!(
        stderr.contains("input|parse#1: a line did not parse because it is not JSON: \"garbage 0 {\" (sent to the dead-letter target"),
        "{stderr}"
    );
    assert!(stderr.contains("did not parse because it is JSON but not an object: \"0\""), "{stderr}");
    assert_eq!(node_counts(&stderr, "good"), (60, 60, 0));
}

#[test]
fn a_spooled_file_completes_only_once_its_dead_letters_are_written() {
    let s = Scratch::new();
    s.write(
        "dead.flow",
        r#"
type Event = { n: int }
source spool = spooldir { dir = "in", settle = 0s }
sink good = files { path = "out/good/", format = json }
sink rejects = files { path = "out/rejects/", max_retries = 1 }
spool | parse json as Event else -> rejects -> good
"#,
    );
    let (input, bad) = mixed_input(30);
    s.write("in/a.log", &input);
    // The dead-letter sink cannot write: a regular file stands where its directory should be.
    s.write("out/rejects", "in the way\n");
    let out = s.run("dead.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("rejects"), "the failing sink is named: {stderr}");
    assert!(s.path().join("in/a.log").exists(), "not completed while its dead letters were not written");

    // Once the way is clear, the next run writes them (and the parsed records again: at least once).
    std::fs::remove_file(s.path().join("out/rejects")).unwrap();
    let mut run = s.start("dead.flow");
    let started = std::time::Instant::now();
    while !s.path().join("in/a.log.COMPLETED").exists() {
        assert!(started.elapsed() < PATIENCE, "the file was never completed");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = run.take(0);
    let (status, _, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert_eq!(file_lines(&s, "out/rejects/0.log"), bad);
}
