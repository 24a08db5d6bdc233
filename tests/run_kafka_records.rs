//! The `kafka` source's typed output through the real binary against librdkafka's mock cluster:
//! each record's value, key, topic, partition, offset and timestamp as fields, from several topics;
//! and `parse json as T` on those records, whose values that do not parse go to the dead-letter sink.

mod run_common;

use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};
use run_common::{lines_under, Scratch, PATIENCE};
use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn cluster(topics: &[&str]) -> MockCluster<'static, DefaultProducerContext> {
    let cluster = MockCluster::new(3).expect("librdkafka's mock cluster starts");
    for topic in topics {
        cluster.create_topic(topic, 2, 3).expect("topic with replication factor 3");
    }
    cluster
}

/// Produces `(topic, key, value, timestamp)` records with an independent client and waits for them.
fn produce(brokers: &str, records: &[(&str, Option<&str>, &str, i64)]) {
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", brokers).create().unwrap();
    for (topic, key, value, ts) in records {
        let mut record = BaseRecord::to(topic).payload(*value).timestamp(*ts);
        if let Some(key) = key {
            record = record.key(*key);
        }
        producer.send(record).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// The brokers as a `.flow` list.
fn list(brokers: &str) -> String {
    let items: Vec<String> = brokers.split(',').map(|b| format!("\"{b}\"")).collect();
    format!("[{}]", items.join(", "))
}

/// Waits until the files under `dir` hold `n` lines (a hang guard, not a timing test).
fn wait_for_lines(s: &Scratch, dir: &str, n: usize, run: &mut Child) -> BTreeMap<String, usize> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let seen = lines_under(&s.path().join(dir));
        if seen.values().sum::<usize>() >= n {
            return seen;
        }
        if let Some(status) = run.try_wait().unwrap() {
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(run.stderr.as_mut().unwrap(), &mut err);
            panic!("flowc exited ({status}) with {} of {n} lines in {dir}: {err}", seen.len());
        }
        assert!(Instant::now() < deadline, "only {} of {n} lines arrived in {dir}", seen.len());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start(s: &Scratch, file: &str) -> Child {
    s.command(&["run", file]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

fn stop(child: Child) -> String {
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn records_carry_value_key_topic_partition_offset_and_timestamp_from_every_topic() {
    let cluster = cluster(&["orders", "refunds"]);
    let brokers = cluster.bootstrap_servers();
    let ts = 1_700_000_000_123;
    produce(
        &brokers,
        &[
            ("orders", Some("k1"), "first", ts),
            ("orders", None, "second", ts + 1),
            ("refunds", Some("k2"), "third", ts),
        ],
    );
    let s = Scratch::new();
    s.write(
        "read.flow",
        &format!(
            "source k = kafka {{ brokers = {}, topics = [\"orders\", \"refunds\"], group = \"g\" }}\n\
             sink out = files {{ path = \"out/\", format = json }}\nk -> out\n",
            list(&brokers)
        ),
    );
    let mut run = start(&s, "read.flow");
    let seen = wait_for_lines(&s, "out", 3, &mut run);
    stop(run);
    let mut rows: Vec<serde_json::Value> = seen.keys().map(|l| serde_json::from_str(l).unwrap()).collect();
    rows.sort_by_key(|r| r["value"].as_str().unwrap().to_string());
    let mut fields: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["key", "offset", "partition", "timestamp", "topic", "value"], "{}", rows[0]);
    let got: Vec<(&str, Option<&str>, &str)> =
        rows.iter().map(|r| (r["value"].as_str().unwrap(), r["key"].as_str(), r["topic"].as_str().unwrap())).collect();
    assert_eq!(got, [("first", Some("k1"), "orders"), ("second", None, "orders"), ("third", Some("k2"), "refunds")]);
    assert_eq!(rows[0]["timestamp"], "2023-11-14T22:13:20.123Z");
    assert_eq!(rows[1]["timestamp"], "2023-11-14T22:13:20.124Z");
    for row in &rows {
        let partition = row["partition"].as_i64().unwrap();
        assert!((0..2).contains(&partition), "{row}");
        assert!(row["offset"].as_i64().unwrap() >= 0, "{row}");
    }
    // Records of one partition have consecutive offsets from 0.
    let mut by_partition: BTreeMap<(String, i64), Vec<i64>> = BTreeMap::new();
    for row in &rows {
        let at = (row["topic"].as_str().unwrap().to_string(), row["partition"].as_i64().unwrap());
        by_partition.entry(at).or_default().push(row["offset"].as_i64().unwrap());
    }
    for offsets in by_partition.values_mut() {
        offsets.sort();
        assert_eq!(*offsets, (0..offsets.len() as i64).collect::<Vec<_>>());
    }
}

#[test]
fn parse_json_as_a_type_sends_values_that_do_not_parse_to_the_dead_letter_sink() {
    let cluster = cluster(&["orders"]);
    let brokers = cluster.bootstrap_servers();
    let ts = 1_700_000_000_000;
    let mut records = Vec::new();
    let values: Vec<String> = (0..20)
        .map(|i| if i % 5 == 4 { format!("not json {i}") } else { format!("{{\"id\":{i},\"amount\":{i}.5}}") })
        .collect();
    for value in &values {
        records.push(("orders", None, value.as_str(), ts));
    }
    produce(&brokers, &records);
    let s = Scratch::new();
    s.write(
        "typed.flow",
        &format!(
            "type Order = {{ id: int, amount: float }}\n\
             source k = kafka {{ brokers = {}, topics = [\"orders\"], group = \"g\" }}\n\
             sink good = files {{ path = \"good/\", format = json }}\n\
             sink bad = files {{ path = \"bad/\" }}\n\
             k | parse json as Order else -> bad -> good\n",
            list(&brokers)
        ),
    );
    let check = s.command(&["check", "typed.flow"]).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let mut run = start(&s, "typed.flow");
    let good = wait_for_lines(&s, "good", 16, &mut run);
    let bad = wait_for_lines(&s, "bad", 4, &mut run);
    stop(run);
    let mut ids: Vec<i64> =
        good.keys().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_i64().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, (0..20).filter(|i| i % 5 != 4).collect::<Vec<_>>());
    let first: serde_json::Value = serde_json::from_str(good.keys().next().unwrap()).unwrap();
    assert_eq!(first.as_object().unwrap().len(), 2, "only the fields of Order: {first}");
    let bad: Vec<&str> = bad.keys().map(String::as_str).collect();
    assert_eq!(bad, ["not json 14", "not json 19", "not json 4", "not json 9"], "the raw values, dead-lettered");
}
