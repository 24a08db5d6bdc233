//! The admin APIs with real clients: CreateTopics with a config, DescribeConfigs, CreatePartitions,
//! ListGroups and DescribeGroups with a live member, DeleteTopics (confluent-kafka's AdminClient
//! and kafka-python's KafkaAdminClient); a replication factor above 1 is refused with its reason. A
//! consumer whose topic is deleted and created again (by DeleteTopics and CreateTopics, or by `flowc
//! topic` in other processes) reads the new topic's records on the same connection, never the old.

mod serve_common;

use serve_common::{client, field, Serve};

fn admin(env: &str, lib: &str) {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let out = client(env, "admin.py", &[lib, &serve.addr()]);
    let rf3 = field(&out, "rf3");
    assert!(rf3.contains("INVALID_REPLICATION_FACTOR") || rf3.contains("InvalidReplicationFactor"), "{lib}: {out}");
    assert!(rf3.contains("one flowc node keeps one copy"), "{lib}: the reason is given: {out}");
    assert_eq!(field(&out, "retention"), "3600000", "{lib}: {out}");
    assert_eq!(field(&out, "partitions_after"), "4", "{lib}: {out}");
    assert!(field(&out, "groups").contains(&format!("g-{lib}")), "{lib}: {out}");
    assert_eq!(field(&out, "member_count"), "1", "{lib}: {out}");
    assert_eq!(field(&out, "state"), "STABLE", "{lib}: {out}");
    assert_eq!(field(&out, "by_time"), "1", "{lib}: ListOffsets by timestamp: {out}");
    assert_eq!(field(&out, "watermarks"), "0,3", "{lib}: earliest and latest: {out}");
    assert_eq!(field(&out, "deleted"), "True", "{lib}: {out}");
    // (a client may auto-create it again by asking for its metadata afterwards, as with Kafka)
    let logged = format!("deleted topic `adm-{lib}`");
    let started = std::time::Instant::now();
    while !serve.log().contains(&logged) {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{}", serve.log());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(serve.stop().success());
}

#[test]
fn librdkafka_admin_client() {
    admin("requirements", "confluent");
}

#[test]
fn librdkafka_2_0_2_admin_client() {
    admin("confluent-2.0", "confluent");
}

#[test]
fn kafka_python_admin_client() {
    admin("requirements", "kafka-python");
}

/// kafka-python's consumer reads a0..a2, then (not polling) a3..a5 are appended, the topic deleted,
/// created again and given b0..b7: from its position it must read b3..b7, never a3..a5 from the
/// deleted topic's file its connection's reader still has open.
fn consumer_across_recreation(mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &["--auto-create", "false"]);
    let flowc = env!("CARGO_BIN_EXE_flowc");
    let data = dir.path().to_str().unwrap();
    let mut args = vec![serve.addr(), "again".to_string(), mode.to_string()];
    if mode == "cli" {
        args.extend([flowc.to_string(), data.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = client("requirements", "recreate.py", &args);
    assert_eq!(field(&out, "first"), "a0,a1,a2", "{mode}: {out}");
    assert_eq!(field(&out, "continued"), "b3,b4,b5,b6,b7", "{mode}: the new topic's records, not the old's: {out}");
    assert_eq!(field(&out, "from_start"), "b0,b1,b2,b3,b4,b5,b6,b7", "{mode}: {out}");
    assert!(serve.stop().success());
}

#[test]
fn a_consumer_reads_the_recreated_topic_after_delete_topics_and_create_topics() {
    consumer_across_recreation("admin");
}

#[test]
fn a_consumer_reads_the_recreated_topic_after_flowc_topic_delete_and_create_in_other_processes() {
    consumer_across_recreation("cli");
}
