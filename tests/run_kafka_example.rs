//! examples/kafka_consumer_groups.flow end to end, with the files sink writing JSON (Parquet is
//! another slice) and the second member of group A logging JSON so its lines can be told apart:
//! an access log tailed across a rotation into a keyed topic; group A's two members share the
//! records (each to exactly one of them, a host always to the same one), group B sees every record
//! and its `where status >= 500` subset reaches the files sink, bucketed by the records' own day.

mod run_common;

use run_common::*;
use std::collections::BTreeSet;

/// What identifies a record here: host, path, status, bytes.
type Key = (String, String, i64, i64);

fn key_of_log_line(line: &str) -> Key {
    let w: Vec<&str> = line.split(' ').collect();
    (w[0].to_string(), w[6].to_string(), w[8].parse().unwrap(), w[9].parse().unwrap_or(0))
}

fn key_of_json(v: &serde_json::Value) -> Key {
    (
        v["host"].as_str().unwrap().to_string(),
        v["path"].as_str().unwrap().to_string(),
        v["status"].as_i64().unwrap(),
        v["bytes"].as_i64().unwrap(),
    )
}

/// A logger's `field=value` line (a value with characters other than letters, digits and a few
/// punctuation marks is quoted; none here holds a space).
fn key_of_pairs(line: &str) -> Key {
    let get = |k: &str| {
        let v =
            line.split(' ').find_map(|p| p.strip_prefix(&format!("{k}="))).unwrap_or_else(|| panic!("{k} in {line}"));
        v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v)
    };
    (get("host").to_string(), get("path").to_string(), get("status").parse().unwrap(), get("bytes").parse().unwrap())
}

/// Every JSON record under `dir` (written and in-use files), with the file it is in.
fn records_under(s: &Scratch, dir: &str) -> Vec<(String, serde_json::Value)> {
    let root = s.path().join(dir);
    if !root.is_dir() {
        return Vec::new();
    }
    tree(&root)
        .into_iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(root.join(&f)).unwrap();
            text.lines().map(|l| (f.clone(), serde_json::from_str(l).unwrap())).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_kafka_consumer_groups_example_shares_group_a_and_shows_group_b_everything() {
    let s = Scratch::new();
    let example = include_str!("../examples/kafka_consumer_groups.flow");
    let copy = example
        .replace("format = parquet", "format = json")
        .replace("sink zhang_wuji = logger {}", "sink zhang_wuji = logger { format = json }");
    assert_eq!(copy.matches("format = json").count(), 2, "the example changed; adapt this copy:\n{copy}");
    s.write("example.flow", &copy);

    let log: Vec<&str> = include_str!("../examples/data/access.log").lines().collect();
    let (first, second) = log.split_at(600);
    s.write("logs/access.log", &(first.join("\n") + "\n"));
    let mut run = s.start("example.flow");
    let mut printed = run.take(600);
    // Rotation, as logrotate does it: the file is renamed and a new one takes its name.
    std::fs::rename(s.path().join("logs/access.log"), s.path().join("logs/access.log.1")).unwrap();
    s.write("logs/access.log", &(second.join("\n") + "\n"));
    printed.extend(run.take(400));

    // Group B reads the same topic on its own: wait until its server errors are all written.
    let errors: Vec<Key> = log.iter().filter(|l| key_of_log_line(l).2 >= 500).map(|l| key_of_log_line(l)).collect();
    assert!(!errors.is_empty());
    let started = std::time::Instant::now();
    while records_under(&s, "out/errors").len() < errors.len() {
        assert!(started.elapsed() < PATIENCE, "group B never wrote the server errors");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "nothing more after the 1000 records: {rest:?}");

    // Group A: the JSON lines are zhang_wuji's, the `field=value` lines zhang_sanfeng's.
    let (wuji, sanfeng): (Vec<&String>, Vec<&String>) = printed.iter().partition(|l| l.starts_with('{'));
    assert!(!wuji.is_empty() && !sanfeng.is_empty(), "both members of A got records");
    let wuji: Vec<Key> = wuji.iter().map(|l| key_of_json(&serde_json::from_str(l).unwrap())).collect();
    let sanfeng: Vec<Key> = sanfeng.iter().map(|l| key_of_pairs(l)).collect();
    let mut shared: Vec<Key> = wuji.iter().chain(&sanfeng).cloned().collect();
    let mut all: Vec<Key> = log.iter().map(|l| key_of_log_line(l)).collect();
    shared.sort();
    all.sort();
    assert_eq!(shared.len(), all.len());
    let differ: Vec<_> = shared.iter().zip(&all).filter(|(a, b)| a != b).take(3).collect();
    assert!(differ.is_empty(), "each record to exactly one member of group A: {differ:?}");
    let wuji_hosts: BTreeSet<&String> = wuji.iter().map(|k| &k.0).collect();
    assert!(sanfeng.iter().all(|k| !wuji_hosts.contains(&k.0)), "the topic is keyed by host: one member per host");

    // Group B: every record, of which exactly the server errors reach the files, in their own day.
    assert_eq!(node_counts(&stderr, "access@B"), (1000, 1000, 0));
    let written = records_under(&s, "out/errors");
    assert!(written.iter().all(|(f, _)| f.starts_with("2026-01-01/")), "bucketed by `ts`: {written:?}");
    let mut got: Vec<Key> = written.iter().map(|(_, v)| key_of_json(v)).collect();
    let mut want = errors;
    got.sort();
    want.sort();
    assert_eq!(got, want);
}
