//! examples/kafka_consumer_groups.flow end to end, as written but for the second member of group A
//! logging JSON so its lines can be told apart from the first one's:
//! an access log tailed across a rotation into a keyed topic; group A's two members share the
//! records (each to exactly one of them, a host always to the same one), group B sees every record
//! and its `where status >= 500` subset reaches the files sink as Parquet, bucketed by the records'
//! own day, read back by an independent reader (pyarrow).

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

/// The offsets group `group` has committed, summed over the partitions (`flowc groups describe`).
fn group_committed(s: &Scratch, group: &str) -> u64 {
    let out = s.command(&["groups", "describe", group]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(group))
        .filter_map(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok())
        .sum()
}

#[test]
fn the_kafka_consumer_groups_example_shares_group_a_and_shows_group_b_everything() {
    let s = Scratch::new();
    let example = include_str!("../examples/kafka_consumer_groups.flow");
    let copy = example.replace("sink zhang_wuji = logger {}", "sink zhang_wuji = logger { format = json }");
    assert_eq!(copy.matches("format = json").count(), 1, "the example changed; adapt this copy:\n{copy}");
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

    // Group B reads the same topic on its own: wait until it has committed all 1000 records, as
    // `flowc groups describe` shows a user (its Parquet file is finished when the run stops).
    let errors: Vec<Key> = log.iter().filter(|l| key_of_log_line(l).2 >= 500).map(|l| key_of_log_line(l)).collect();
    assert!(!errors.is_empty());
    let started = std::time::Instant::now();
    while group_committed(&s, "B") < log.len() as u64 {
        assert!(started.elapsed() < PATIENCE, "group B never committed every record");
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
    let files = read_back(&s.path().join("out/errors"));
    assert!(!files.is_empty(), "no finished Parquet file:\n{stderr}");
    let mut got: Vec<Key> = Vec::new();
    for file in &files {
        let name = file["file"].as_str().unwrap();
        assert!(name.starts_with("2026-01-01/") && name.ends_with(".parquet"), "bucketed by `ts`: {name}");
        let columns: Vec<&str> = file["columns"].as_array().unwrap().iter().map(|c| c[0].as_str().unwrap()).collect();
        assert_eq!(columns, ["host", "ts", "method", "path", "status", "bytes"], "{name}");
        assert_eq!(file["columns"][1][1], "timestamp[ms, tz=UTC]", "{name}: ts is a timestamp");
        for row in file["rows"].as_array().unwrap() {
            let r = row.as_array().unwrap();
            let v = serde_json::json!({"host": r[0], "path": r[3], "status": r[4], "bytes": r[5]});
            got.push(key_of_json(&v));
        }
    }
    let mut want = errors;
    got.sort();
    want.sort();
    assert_eq!(got, want);
}
