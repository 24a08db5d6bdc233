//! The `topic` source and sink kinds: a `topic` sink appends to a declared topic of the embedded log,
//! keyed by its own `key`; a `topic` source consumes it as a consumer group (by default named after
//! the source, so a second run resumes where the first committed); `kafka` kinds and topics bound
//! to an external cluster are refused, naming the node; a topic source killed with SIGKILL resumes
//! from its group's commits and loses nothing.

mod run_common;

use run_common::*;

fn run_with(s: &Scratch, file: &str, input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = s
        .command(&["run", file, "--data-dir", "data"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn json_ns(s: &Scratch, rel: &str) -> Vec<i64> {
    std::fs::read_to_string(s.path().join(rel))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["n"].as_i64().unwrap())
        .collect()
}

const PIPELINE: &str = r#"
type Event = { host: string, user: string, n: int }
topic events: Event { partitions = 4, key = host }

source input = stdin { batch_size = 10 }
sink publish = topic { topic = events, key = user }
input | parse json as Event -> publish

source readback = topic { topic = events, batch_size = 7 }
sink copy = files { path = "out/", format = json }
readback -> copy
"#;

fn events(from: i64, to: i64) -> String {
    (from..to).map(|n| format!("{{\"host\":\"h{}\",\"user\":\"u{}\",\"n\":{n}}}\n", n % 3, n % 5)).collect()
}

#[test]
fn a_topic_sink_keys_by_its_field_and_a_topic_source_resumes_as_its_group() {
    let s = Scratch::new();
    s.write("topics.flow", PIPELINE);
    let out = run_with(&s, "topics.flow", &events(0, 100));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let mut got = json_ns(&s, "out/0.json");
    got.sort();
    assert_eq!(got, (0..100).collect::<Vec<_>>(), "{stderr}");
    assert_eq!(node_counts(&stderr, "publish"), (100, 100, 0));
    assert_eq!(node_counts(&stderr, "readback"), (100, 100, 0));

    // Keyed by the sink's `key` (the user), not the topic's (the host): one partition per user.
    let consumed = s
        .command(&[
            "consume",
            "events",
            "--data-dir",
            "data",
            "--from-beginning",
            "--print-key",
            "--print-partition",
            "--max-messages",
            "100",
            "--timeout",
            "10s",
        ])
        .output()
        .unwrap();
    assert!(consumed.status.success(), "{}", String::from_utf8_lossy(&consumed.stderr));
    let text = String::from_utf8_lossy(&consumed.stdout);
    let mut partition_of_user = std::collections::BTreeMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let (partition, key, value) = (fields[0], fields[1], fields[2]);
        let record: serde_json::Value = serde_json::from_str(value).unwrap();
        assert_eq!(key, record["user"].as_str().unwrap(), "{line}");
        assert_eq!(*partition_of_user.entry(key.to_string()).or_insert(partition), partition, "{text}");
    }
    assert_eq!(text.lines().count(), 100);

    // The group is the source's name: a second run reads only what the first did not commit.
    let out = run_with(&s, "topics.flow", &events(100, 130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let mut again = json_ns(&s, "out/1.json");
    again.sort();
    assert_eq!(again, (100..130).collect::<Vec<_>>(), "{stderr}");
    let groups = s.command(&["groups", "list", "--data-dir", "data"]).output().unwrap();
    assert!(String::from_utf8_lossy(&groups.stdout).contains("readback"));
}

#[test]
fn a_topic_source_with_a_group_starts_at_latest_when_asked() {
    let s = Scratch::new();
    // Records already in the topic before the group exists.
    s.write("fill.flow", "topic inbox { partitions = 2 }\nsource input = stdin {}\ninput -> inbox\n");
    let out = run_with(&s, "fill.flow", "old 1\nold 2\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    s.write(
        "read.flow",
        r#"
topic inbox { partitions = 2 }
source input = stdin {}
sink publish = topic { topic = inbox }
input -> publish
source fresh = topic { topic = inbox, group = "fresh", start = latest }
source all = topic { topic = inbox, group = "all" }
sink f = files { path = "out/fresh/" }
sink a = files { path = "out/all/" }
fresh -> f
all -> a
"#,
    );
    // `latest` begins at the end when the group joins; the run's own records come after that, but
    // the join and the first append race, so feed them only once the group has its offsets.
    let mut run = s
        .command(&["run", "read.flow", "--data-dir", "data"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let d = s.command(&["groups", "describe", "fresh", "--data-dir", "data"]).output().unwrap();
        if d.status.success() && String::from_utf8_lossy(&d.stdout).lines().count() > 2 {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "the group never joined");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    {
        use std::io::Write;
        let mut stdin = run.stdin.take().unwrap();
        stdin.write_all(b"new 1\nnew 2\nnew 3\n").unwrap();
    }
    let out = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines = |rel: &str| -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_to_string(s.path().join(rel)).unwrap_or_default().lines().map(str::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(lines("out/fresh/0.log"), ["new 1", "new 2", "new 3"], "{stderr}");
    assert_eq!(lines("out/all/0.log"), ["new 1", "new 2", "new 3", "old 1", "old 2"], "{stderr}");
}

#[test]
fn a_topic_source_on_a_topic_bound_to_brokers_is_refused_naming_the_node() {
    let s = Scratch::new();
    s.write(
        "kt.flow",
        "topic remote { brokers = \"127.0.0.1:9\" }\nsource i = stdin {}\ni -> remote\nsource back = topic { topic = remote }\nsink o = null {}\nback -> o\n",
    );
    let out = s.run("kt.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("remote: a `topic` source on a topic of an external Kafka cluster"), "{stderr}");
    assert!(!s.path().join(".flow/remote").exists(), "no topic was created in the data directory");
}

#[test]
fn a_topic_source_killed_mid_way_resumes_from_its_commits_and_loses_nothing() {
    use std::process::Stdio;
    let s = Scratch::new();
    s.write(
        "read.flow",
        r#"
type Event = { n: int }
topic events: Event { partitions = 3 }
source reader = topic { topic = events, batch_size = 50 }
sink out = files { path = "out/", format = json }
reader -> out
"#,
    );
    // The topic is filled from outside, with the console producer.
    s.write("create.flow", "type Event = { n: int }\ntopic events: Event { partitions = 3 }\nsource i = stdin {}\ni | parse json as Event -> events\n");
    let out = run_with(&s, "create.flow", "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records: String = (0..20_000).map(|n| format!("{{\"n\":{n}}}\n")).collect();
    {
        use std::io::Write;
        let mut produce =
            s.command(&["produce", "events", "--data-dir", "data"]).stdin(Stdio::piped()).spawn().unwrap();
        produce.stdin.take().unwrap().write_all(records.as_bytes()).unwrap();
        assert!(produce.wait().unwrap().success());
    }
    let seen = || -> std::collections::BTreeMap<i64, usize> {
        let mut map = std::collections::BTreeMap::new();
        let dir = s.path().join("out");
        if !dir.is_dir() {
            return map;
        }
        for f in tree(&dir) {
            let text = std::fs::read_to_string(s.path().join("out").join(f)).unwrap_or_default();
            // A line torn by the kill is not a record.
            for v in text.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()) {
                *map.entry(v["n"].as_i64().unwrap()).or_insert(0) += 1;
            }
        }
        map
    };
    // Killed with SIGKILL once some output exists: what was written but not committed comes again.
    let mut run = s
        .command(&["run", "read.flow", "--data-dir", "data"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while seen().len() < 1_000 {
        assert!(started.elapsed() < PATIENCE, "the first run wrote nothing");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    run.kill().unwrap();
    run.wait().unwrap();
    // The next run goes on from the group's commits; it follows the topic until SIGTERM.
    let run = s
        .command(&["run", "read.flow", "--data-dir", "data"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while seen().len() < 20_000 {
        assert!(started.elapsed() < PATIENCE, "the second run did not finish the topic: {}", seen().len());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (no_lines, lines) = std::sync::mpsc::channel();
    drop(no_lines);
    let (status, _, stderr) = Running { child: run, lines }.terminate();
    assert!(status.success(), "{stderr}");
    let got = seen();
    assert_eq!(got.len(), 20_000, "nothing lost");
    let again = got.values().filter(|c| **c > 1).count();
    // Only what the first run wrote after its last commit can come twice: at most a few batches.
    assert!(again <= 20_000 / 2, "{again} records came twice");
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), (0..20_000).collect::<Vec<_>>());
}
