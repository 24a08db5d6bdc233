//! Consumer groups through `flowc serve` with real clients: two members split the partitions and
//! the one left takes them all, a second group sees every record, committed offsets survive a
//! restart of the server and are the same offsets `flowc groups describe` shows.

mod serve_common;

use serve_common::{client, field, flowc, Serve};

fn split_and_second_group(env: &str, lib: &str) {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let out = client(env, "groups.py", &[lib, &serve.addr(), "orders"]);
    let split = field(&out, "first_split");
    let (a, b) = split.split_once('|').unwrap();
    assert!(a != "[]" && b != "[]", "{lib}: both members got partitions: {out}");
    assert_eq!(field(&out, "overlap"), "0", "{lib}: no partition in both: {out}");
    assert_eq!(field(&out, "first_total"), "400", "{out}");
    assert_eq!(field(&out, "after_leave_partitions"), "[0, 1, 2, 3]", "{lib}: the one left has them all: {out}");
    assert_eq!(field(&out, "after_leave_total"), "200", "{out}");
    assert_eq!(field(&out, "second_group_total"), "600", "{lib}: another group sees everything: {out}");
    // the group's commits are the data directory's: the console tool shows them, lag 0
    let describe = flowc().args(["groups", "describe", "split", "--data-dir"]).arg(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&describe.stdout);
    let committed: u64 = text.lines().skip(1).filter_map(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok()).sum();
    assert_eq!(committed, 600, "{text}");
    // the server's log tells an operator what the group went through
    let log = serve.log();
    assert!(log.contains("group `split`: generation 1 with 1 member(s)"), "{log}");
    assert!(log.contains("left); 1 member(s) to join again"), "c1's leave starts a rebalance: {log}");
    assert!(serve.stop().success());
}

#[test]
fn librdkafka_members_split_rebalance_and_a_second_group_sees_all() {
    split_and_second_group("requirements", "confluent");
}

#[test]
fn kafka_python_members_split_rebalance_and_a_second_group_sees_all() {
    split_and_second_group("requirements", "kafka-python");
}

fn commits_survive_restart(env: &str, lib: &str) {
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("first.txt");
    let seen = seen.to_str().unwrap();
    let data = dir.path().join("data");
    let serve = Serve::start(&data, &[]);
    client(env, "restart.py", &[lib, &serve.addr(), "jobs", "workers", "produce", seen]);
    let first: u64 =
        field(&client(env, "restart.py", &[lib, &serve.addr(), "jobs", "workers", "first", seen]), "first")
            .parse()
            .unwrap();
    assert!(serve.stop().success(), "SIGTERM exits 0");
    let describe = flowc().args(["groups", "describe", "workers", "--data-dir"]).arg(&data).output().unwrap();
    let text = String::from_utf8_lossy(&describe.stdout);
    let committed: u64 = text.lines().skip(1).filter_map(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok()).sum();
    assert_eq!(committed, first, "what was committed is in the data directory: {text}");
    let serve = Serve::start(&data, &[]);
    let out = client(env, "restart.py", &[lib, &serve.addr(), "jobs", "workers", "rest", seen]);
    assert_eq!(field(&out, "overlap"), "0", "{lib}: nothing committed comes again: {out}");
    assert_eq!(field(&out, "union"), "1000", "{lib}: nothing is lost: {out}");
    assert!(serve.stop().success());
}

#[test]
fn librdkafka_commits_survive_a_restart() {
    commits_survive_restart("requirements", "confluent");
}

#[test]
fn kafka_python_commits_survive_a_restart() {
    commits_survive_restart("requirements", "kafka-python");
}

#[test]
fn librdkafka_2_0_2_members_split_and_commit() {
    split_and_second_group("confluent-2.0", "confluent");
}
