//! Topics of the embedded log inside a pipeline, with Kafka's semantics: records written to a topic
//! are read by consumer groups; within group A each record goes to one of its two members, group B
//! sees every record; the run ends once the writer has ended and every group has read to the end;
//! the console tools see the same topic and the groups' committed offsets.

mod run_common;

use run_common::*;
use std::collections::BTreeSet;

fn ns(s: &Scratch, rel: &str) -> Vec<i64> {
    let path = s.path().join(rel);
    if !path.exists() {
        return Vec::new();
    }
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["n"].as_i64().unwrap())
        .collect()
}

#[test]
fn group_members_share_a_topic_and_every_group_sees_all() {
    let s = Scratch::new();
    s.write(
        "groups.flow",
        r#"
type Event = { host: string, n: int }

topic events: Event { partitions = 3, key = host }

source input = stdin { batch_size = 10 }
input | parse json as Event -> events

sink a1 = files { path = "out/a1/", format = json }
sink a2 = files { path = "out/a2/", format = json }
events -> group "A" -> [a1, a2]

sink b = files { path = "out/b/", format = json }
events -> group "B" | where n % 2 == 0 -> b
"#,
    );
    let input: String = (0..300).map(|n| format!("{{\"host\":\"h{}\",\"n\":{n}}}\n", n % 7)).collect();
    let mut cmd = s.command(&["run", "groups.flow", "--data-dir", "data"]);
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

    let a1 = ns(&s, "out/a1/0.json");
    let a2 = ns(&s, "out/a2/0.json");
    assert!(!a1.is_empty() && !a2.is_empty(), "both members of group A got records: {a1:?} {a2:?}\n{stderr}");
    let a: BTreeSet<i64> = a1.iter().chain(&a2).copied().collect();
    assert_eq!(a1.len() + a2.len(), 300, "each record to one member of A");
    assert_eq!(a, (0..300).collect(), "group A sees every record once");
    let mut b = ns(&s, "out/b/0.json");
    b.sort();
    assert_eq!(b, (0..300).filter(|n| n % 2 == 0).collect::<Vec<_>>(), "group B sees every record");

    // The console tools see the topic the pipeline wrote, and the groups' committed offsets.
    let describe = s.command(&["topic", "describe", "events", "--data-dir", "data"]).output().unwrap();
    assert!(describe.status.success(), "{}", String::from_utf8_lossy(&describe.stderr));
    let groups = s.command(&["groups", "describe", "A", "--data-dir", "data"]).output().unwrap();
    let text = String::from_utf8_lossy(&groups.stdout);
    assert!(groups.status.success(), "{}", String::from_utf8_lossy(&groups.stderr));
    let lag: u64 = text.lines().skip(1).filter_map(|l| l.split_whitespace().nth(5)?.parse::<u64>().ok()).sum();
    assert_eq!(lag, 0, "group A committed everything:\n{text}");
}

#[test]
fn a_topic_written_from_outside_is_followed_until_sigterm() {
    let s = Scratch::new();
    s.write(
        "follow.flow",
        "type Line = { msg: string }\ntopic inbox: Line { partitions = 2 }\nsink o = logger {}\ninbox -> group \"readers\" -> o\n",
    );
    let mut run = {
        let mut cmd = s.command(&["run", "follow.flow"]);
        cmd.env("FLOWC_DATA_DIR", s.path().join("data"));
        let mut child = cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Running { child, lines: rx }
    };
    // The run created the topic from its declaration; the console producer writes into it (once the
    // topic exists: until then `produce` fails, and is simply tried again).
    let input: String = (0..20).map(|i| format!("{{\"msg\":\"m{i}\"}}\n")).collect();
    let started = std::time::Instant::now();
    loop {
        let mut produce = s.command(&["produce", "inbox"]);
        produce.env("FLOWC_DATA_DIR", s.path().join("data"));
        let mut child =
            produce.stdin(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().unwrap();
        {
            use std::io::Write;
            // `produce` exits at once while the topic does not exist yet: a broken pipe here just
            // means "try again", which the exit status below says too.
            let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        }
        if child.wait().unwrap().success() {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "the topic never appeared");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut got = run.take(20);
    got.sort();
    let mut want: Vec<String> = (0..20).map(|i| format!("msg=m{i}")).collect();
    want.sort();
    assert_eq!(got, want);
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");
}

#[test]
fn the_access_log_groups_example_runs_to_its_end() {
    let s = Scratch::new();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/access_log_groups.flow"),
        s.path().join("example.flow"),
    )
    .unwrap();
    let log = include_str!("../examples/data/access.log");
    let mut cmd = s.command(&["run", "example.flow"]);
    cmd.env("FLOWC_DATA_DIR", s.path().join("data"));
    let out = {
        use std::io::Write;
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(log.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Group A's members split the records: each to exactly one of them.
    let hosts = |rel: &str| -> Vec<String> {
        std::fs::read_to_string(s.path().join(rel))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["host"].as_str().unwrap().to_string())
            .collect()
    };
    let (c1, c2) = (hosts("out/A/clerk1/0.json"), hosts("out/A/clerk2/0.json"));
    assert!(!c1.is_empty() && !c2.is_empty());
    assert_eq!(c1.len() + c2.len(), 1000);
    // A host's records all land in one partition, so with one member per partition set, in one clerk.
    let set1: BTreeSet<&String> = c1.iter().collect();
    assert!(c2.iter().all(|h| !set1.contains(h)), "a host reached both clerks");
    // Group B sees every record and logs the server errors.
    let errors = log.lines().filter(|l| l.split(' ').nth(8).is_some_and(|s| s.starts_with('5'))).count();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), errors);
    assert!(stdout.lines().all(|l| l.contains(" status=5")), "{stdout}");
    assert_eq!(node_counts(&stderr, "access@B"), (1000, 1000, 0));
}

#[test]
fn a_topic_of_lines_reads_plain_text_produced_from_outside_as_its_lines() {
    let s = Scratch::new();
    s.write("lines.flow", "topic raw { partitions = 1 }\nsink o = logger {}\nraw -> group \"g\" -> o\n");
    let create = s.command(&["topic", "create", "raw"]).output().unwrap();
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stderr));
    // Plain text, as `kcat -P` or `flowc produce` append it, beside flowc's own JSON line record.
    let mut produce = s.command(&["produce", "raw"]).stdin(std::process::Stdio::piped()).spawn().unwrap();
    {
        use std::io::Write;
        let text = "plain one\n{\"line\":\"from a pipeline\"}\n{\"not\":\"a line record\"}\n";
        produce.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    assert!(produce.wait().unwrap().success());
    let mut run = s.start("lines.flow");
    assert_eq!(run.take(3), ["plain one", "from a pipeline", "{\"not\":\"a line record\"}"]);
    let (status, _, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert_eq!(node_counts(&stderr, "raw@g").2, 0, "no record counted as an error: {stderr}");
}
