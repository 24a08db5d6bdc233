//! The console tools with `--brokers` against librdkafka's mock cluster (three brokers on
//! 127.0.0.1 in this test process): `produce`, `consume` alone and in a group, `groups
//! describe`, `topic list|describe`, with the data directory's output layout. (The mock cluster
//! has no CreateTopics or ListGroups: `topic create|delete` and `groups list` with `--brokers` are
//! tested against `flowc serve`.)

use rdkafka::mocking::MockCluster;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn flowc(args: &[&str], stdin: &str) -> Output {
    let scratch = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(args)
        .current_dir(scratch.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!scratch.path().join(".flow").exists(), "--brokers never touches a data directory");
    out
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn produce_consume_and_groups_against_a_cluster() {
    let cluster = MockCluster::new(3).unwrap();
    cluster.create_topic("access", 3, 3).unwrap();
    let b = cluster.bootstrap_servers();
    let input: String = (0..300).map(|i| format!("host{}\trequest {i}\n", i % 7)).collect();
    let acks = ok(&flowc(&["produce", "access", "--brokers", &b, "--key-separator", "\t", "--print-acks"], &input));
    assert_eq!(acks.lines().count(), 300, "one acknowledgement per record: {acks}");
    // The same key always lands in the same partition (Kafka's partitioner, as the mock cluster has it).
    let mut by_key = std::collections::HashMap::new();
    for (line, ack) in input.lines().zip(acks.lines()) {
        let key = line.split('\t').next().unwrap();
        let partition = ack.split('\t').next().unwrap();
        assert_eq!(*by_key.entry(key).or_insert(partition), partition, "{key}");
    }

    let all =
        ok(&flowc(&["consume", "access", "--brokers", &b, "--from-beginning", "--timeout", "3s", "--print-key"], ""));
    let mut got: Vec<&str> = all.lines().collect();
    let mut want: Vec<&str> = input.lines().collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "every record, key and value");

    // A group reads everything once and commits it; a second run of the group reads nothing new.
    let first =
        ok(&flowc(&["consume", "access", "--brokers", &b, "--group", "A", "--from-beginning", "--timeout", "3s"], ""));
    assert_eq!(first.lines().count(), 300);
    let again =
        ok(&flowc(&["consume", "access", "--brokers", &b, "--group", "A", "--from-beginning", "--timeout", "2s"], ""));
    assert_eq!(again.lines().count(), 0, "the group's offsets were committed: {again}");

    let described = ok(&flowc(&["groups", "describe", "A", "--brokers", &b], ""));
    let rows: Vec<Vec<&str>> = described.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert!(described.starts_with("GROUP"), "{described}");
    assert_eq!(rows.len(), 3, "one row per partition: {described}");
    let committed: u64 = rows.iter().map(|r| r[3].parse::<u64>().unwrap()).sum();
    assert_eq!(committed, 300, "{described}");
    assert!(rows.iter().all(|r| r[5] == "0"), "no lag: {described}");

    let topics = ok(&flowc(&["topic", "list", "--brokers", &b], ""));
    assert_eq!(topics.lines().collect::<Vec<_>>(), ["access"], "internal topics are not listed");
    let describe = ok(&flowc(&["topic", "describe", "access", "--brokers", &b], ""));
    assert!(describe.starts_with("Topic: access\tPartitionCount: 3\tReplicationFactor: 3"), "{describe}");
    assert_eq!(describe.lines().filter(|l| l.starts_with("\tTopic: access\tPartition: ")).count(), 3, "{describe}");
}

#[test]
fn unreachable_brokers_and_data_directory_only_options_fail_with_a_reason() {
    let out = flowc(&["topic", "describe", "nope", "--brokers", "127.0.0.1:9"], "");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Kafka at 127.0.0.1:9"), "{stderr}");

    let out = flowc(&["produce", "t", "--brokers", "127.0.0.1:9", "--fsync", "always"], "x\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fsync is the data directory's"));

    let scratch = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["topic", "create", "t", "--replication-factor", "3"])
        .current_dir(scratch.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("keeps one copy"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
