//! Kafka clients against `flowc serve` on 127.0.0.1: librdkafka (current, and 2.0.2 as Debian 12's
//! kcat links it) through confluent-kafka, and kafka-python, each producing with acks=all and
//! idempotence, every codec, and consuming back record for record (keys, headers, order).

mod serve_common;

use serve_common::{client, field, Serve};

fn roundtrip(env: &str, lib: &str, serve: &Serve, topic: &str, count: usize, partitions: u32, codec: &str) {
    let out =
        client(env, "roundtrip.py", &[lib, &serve.addr(), topic, &count.to_string(), &partitions.to_string(), codec]);
    let n = count.to_string();
    assert_eq!(field(&out, "produced"), n, "{lib} {codec}: {out}");
    assert_eq!(field(&out, "failed"), "0", "{lib} {codec}: {out}");
    assert_eq!(field(&out, "received"), n, "{lib} {codec}: every record came back: {out}");
    assert_eq!(field(&out, "mismatched"), "0", "{lib} {codec}: keys, values and headers identical: {out}");
    assert_eq!(field(&out, "out_of_order"), "0", "{lib} {codec}: in order per partition: {out}");
    assert_eq!(field(&out, "partitions"), partitions.to_string(), "{lib} {codec}: every partition used: {out}");
}

#[test]
fn librdkafka_a_million_records_back_identical_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    roundtrip("requirements", "confluent", &serve, "million", 1_000_000, 4, "none");
    // the stored batches are the client's: the console tools see the same count
    let describe =
        serve_common::flowc().args(["topic", "describe", "million", "--data-dir"]).arg(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&describe.stdout);
    let records: u64 = text.lines().skip(2).filter_map(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok()).sum();
    assert_eq!(records, 1_000_000, "{text}");
    assert!(serve.stop().success());
}

#[test]
fn librdkafka_every_codec() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        roundtrip("requirements", "confluent", &serve, &format!("codec-{codec}"), 20_000, 2, codec);
    }
    assert!(serve.stop().success());
}

#[test]
fn librdkafka_2_0_2_negotiates_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        roundtrip("confluent-2.0", "confluent", &serve, &format!("old-{codec}"), 20_000, 3, codec);
    }
    assert!(serve.stop().success());
}

#[test]
fn kafka_python_every_codec() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        roundtrip("requirements", "kafka-python", &serve, &format!("kp-{codec}"), 10_000, 3, codec);
    }
    assert!(serve.stop().success());
}
