//! The admin APIs with real clients: CreateTopics with a config, DescribeConfigs, CreatePartitions,
//! ListGroups and DescribeGroups with a live member, DeleteTopics (confluent-kafka's AdminClient
//! and kafka-python's KafkaAdminClient); a replication factor above 1 is refused with its reason.

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
