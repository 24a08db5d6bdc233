//! The `kafka` sink and source through the real binary against librdkafka's mock cluster (three
//! brokers on 127.0.0.1 inside this test process, topics with replication factor 3): one `flowc run`
//! produces stdin into Kafka, another consumes it into files. A clean run delivers every line once;
//! a broker taken down mid-run, injected request errors and a consumer killed with SIGKILL lose
//! nothing, and the duplicates at-least-once allows are counted and reported.

mod run_common;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use rdkafka::{Message, Offset, TopicPartitionList};
use run_common::{lines_under, Scratch, PATIENCE};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

const TOPIC: &str = "events";
const PARTITIONS: i32 = 3;

fn cluster() -> MockCluster<'static, DefaultProducerContext> {
    let cluster = MockCluster::new(3).expect("librdkafka's mock cluster starts");
    cluster.create_topic(TOPIC, PARTITIONS, 3).expect("topic with replication factor 3");
    cluster
}

fn input(from: usize, to: usize) -> String {
    (from..to).map(|i| format!("line-{i:06}\n")).collect()
}

fn write_pipelines(s: &Scratch, brokers: &str) {
    s.write(
        "produce.flow",
        &format!("source input = stdin {{}}\nsink k = kafka {{ brokers = \"{brokers}\", topic = \"{TOPIC}\" }}\ninput -> k\n"),
    );
    // The consumer names its brokers as a list, the producer as Flume's comma-separated string.
    let list: Vec<String> = brokers.split(',').map(|b| format!("\"{b}\"")).collect();
    s.write(
        "consume.flow",
        &format!(
            "source k = kafka {{ brokers = [{}], topics = [\"{TOPIC}\"], group = \"archive\", format = lines }}\n\
             sink out = files {{ path = \"out/\" }}\nk -> out\n",
            list.join(", ")
        ),
    );
}

/// Waits until the files under `out/` hold every line of `0..n` (a hang guard, not a timing test).
fn wait_for_all(s: &Scratch, n: usize, consumer: &mut std::process::Child) -> BTreeMap<String, usize> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let seen = lines_under(&s.path().join("out"));
        if (0..n).all(|i| seen.contains_key(&format!("line-{i:06}"))) {
            return seen;
        }
        if let Some(status) = consumer.try_wait().unwrap() {
            panic!("the consuming flowc exited ({status}) with {} of {n} lines written", seen.len());
        }
        assert!(Instant::now() < deadline, "only {} of {n} lines arrived in the files", seen.len());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGTERM once flowc has installed its handler for it (a signal that comes earlier kills it
/// outright, as it would any process), then its exit status must be 0.
fn stop(child: std::process::Child) -> String {
    let deadline = Instant::now() + PATIENCE;
    while !catches_sigterm(child.id()) {
        assert!(Instant::now() < deadline, "flowc never installed its SIGTERM handler");
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "flowc exits 0 on SIGTERM: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether process `pid` catches SIGTERM (bit 15 of `SigCgt` in /proc/PID/status).
fn catches_sigterm(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (15 - 1)) != 0)
}

fn start_consumer(s: &Scratch) -> std::process::Child {
    s.command(&["run", "consume.flow"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Lines seen more than once, for the report.
fn duplicates(seen: &BTreeMap<String, usize>) -> usize {
    seen.values().map(|n| n - 1).sum()
}

#[test]
fn file_to_kafka_to_files_delivers_every_line_exactly_once_in_a_clean_run() {
    let cluster = cluster();
    let s = Scratch::new();
    write_pipelines(&s, &cluster.bootstrap_servers());
    let n = 3000;
    let produced = s.run("produce.flow", &input(0, n));
    assert!(produced.status.success(), "{}", String::from_utf8_lossy(&produced.stderr));
    let mut consumer = start_consumer(&s);
    let seen = wait_for_all(&s, n, &mut consumer);
    stop(consumer);
    assert_eq!(seen.len(), n, "only the lines sent");
    assert_eq!(duplicates(&seen), 0, "a clean run writes each line once");
}

#[test]
fn a_broker_down_mid_run_and_request_errors_lose_nothing() {
    let cluster = cluster();
    let s = Scratch::new();
    write_pipelines(&s, &cluster.bootstrap_servers());
    let n = 4000;
    let mut producer = s
        .command(&["run", "produce.flow"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = producer.stdin.take().unwrap();
    stdin.write_all(input(0, n / 2).as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));

    // Broker 1 goes down; its partitions' leadership moves to broker 2 (the mock does not move it).
    for partition in 0..PARTITIONS {
        cluster.partition_leader(TOPIC, partition, Some(2)).unwrap();
    }
    cluster.broker_down(1).unwrap();
    // And the next produce requests fail as a flapping cluster's would.
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        ],
    );
    stdin.write_all(input(n / 2, n).as_bytes()).unwrap();
    drop(stdin);
    let produced = producer.wait_with_output().unwrap();
    assert!(produced.status.success(), "{}", String::from_utf8_lossy(&produced.stderr));
    cluster.broker_up(1).unwrap();

    cluster.request_errors(
        RDKafkaApiKey::Fetch,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        ],
    );
    cluster.request_errors(RDKafkaApiKey::OffsetCommit, &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT]);
    let mut consumer = start_consumer(&s);
    let seen = wait_for_all(&s, n, &mut consumer);
    stop(consumer);
    assert_eq!(seen.len(), n, "every line arrived, and only those");
    eprintln!("broker down + request errors: {n} lines, {} duplicates (at least once allows them)", duplicates(&seen));
}

#[test]
fn records_librdkafka_gives_up_on_during_an_outage_are_sent_again_by_the_sink() {
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let s = Scratch::new();
    write_pipelines(&s, &brokers);
    // librdkafka gives up on a record after one second: the sink's own resending must carry it.
    s.write(
        "produce.flow",
        &format!(
            "source input = stdin {{}}\nsink k = kafka {{ brokers = \"{brokers}\", topic = \"{TOPIC}\", message_timeout = 1s }}\ninput -> k\n"
        ),
    );
    let n = 2000;
    let mut producer = s
        .command(&["run", "produce.flow"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = producer.stdin.take().unwrap();
    stdin.write_all(input(0, n / 2).as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    for broker in 1..=3 {
        cluster.broker_down(broker).unwrap();
    }
    stdin.write_all(input(n / 2, n).as_bytes()).unwrap();
    drop(stdin);
    // Long enough for librdkafka to give up on what it holds (1 s), then the cluster comes back.
    std::thread::sleep(Duration::from_secs(3));
    for broker in 1..=3 {
        cluster.broker_up(broker).unwrap();
    }
    let produced = producer.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&produced.stderr);
    assert!(produced.status.success(), "{stderr}");
    assert!(stderr.contains("k: sending") && stderr.contains("again"), "the sink resent records: {stderr}");
    let mut consumer = start_consumer(&s);
    let seen = wait_for_all(&s, n, &mut consumer);
    stop(consumer);
    assert_eq!(seen.len(), n, "every line arrived, and only those");
    eprintln!("all brokers down past message_timeout: {n} lines, {} duplicates", duplicates(&seen));
}

/// The group's committed offset of each partition, read by an independent client.
fn committed(brokers: &str, group: &str) -> Vec<i64> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", brokers).set("group.id", group).create().unwrap();
    let mut list = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        list.add_partition(TOPIC, p);
    }
    let offsets = consumer.committed_offsets(list, Duration::from_secs(30)).unwrap();
    (0..PARTITIONS)
        .map(|p| match offsets.find_partition(TOPIC, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => o,
            _ => 0,
        })
        .collect()
}

/// The values of partition `p`'s records below `end`, read by an independent client.
fn records_below(brokers: &str, partition: i32, end: i64) -> Vec<String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(TOPIC, partition, Offset::Beginning).unwrap();
    consumer.assign(&list).unwrap();
    let mut values = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while (values.len() as i64) < end {
        assert!(Instant::now() < deadline, "partition {partition}: read {} of {end}", values.len());
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            if m.offset() < end {
                values.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
            }
        }
    }
    values
}

#[test]
fn a_consumer_killed_with_sigkill_resumes_and_its_offsets_never_pass_what_was_written() {
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let s = Scratch::new();
    write_pipelines(&s, &brokers);
    let n = 6000;
    let produced = s.run("produce.flow", &input(0, n));
    assert!(produced.status.success(), "{}", String::from_utf8_lossy(&produced.stderr));

    for round in 0..3 {
        let mut consumer = start_consumer(&s);
        // Let it read part of the topic, then kill it without warning.
        let deadline = Instant::now() + PATIENCE;
        while lines_under(&s.path().join("out")).len() < (round + 1) * n / 5 {
            assert!(Instant::now() < deadline, "round {round}: the consumer wrote too little");
            assert!(consumer.try_wait().unwrap().is_none(), "round {round}: the consumer exited");
            std::thread::sleep(Duration::from_millis(20));
        }
        consumer.kill().unwrap();
        consumer.wait().unwrap();
        // Whatever the group committed is in the files: offsets never run ahead of the sink.
        let written = lines_under(&s.path().join("out"));
        for (p, end) in committed(&brokers, "archive").into_iter().enumerate() {
            for value in records_below(&brokers, p as i32, end) {
                assert!(written.contains_key(&value), "round {round}: {value} committed but not in the files");
            }
        }
    }
    let mut consumer = start_consumer(&s);
    let seen = wait_for_all(&s, n, &mut consumer);
    stop(consumer);
    assert_eq!(seen.len(), n);
    eprintln!("3 × SIGKILL: {n} lines, {} duplicates (at least once allows them)", duplicates(&seen));
}

#[test]
fn unreachable_brokers_are_named_in_the_log_while_the_pipeline_waits() {
    let s = Scratch::new();
    // Port 9 on loopback refuses every connection.
    write_pipelines(&s, "127.0.0.1:9");
    let mut producer = s
        .command(&["run", "produce.flow"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = producer.stdin.take().unwrap();
    stdin.write_all(input(0, 10).as_bytes()).unwrap();
    let stderr = producer.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = loop {
        let line = rx.recv_timeout(PATIENCE).expect("a log line about the brokers");
        if line.contains("127.0.0.1:9") {
            break line;
        }
    };
    assert!(line.contains("k: Kafka at 127.0.0.1:9"), "names the node and its brokers: {line}");
    assert!(producer.try_wait().unwrap().is_none(), "it waits for the brokers instead of failing or dropping");
    let _ = std::process::Command::new("kill").args(["-KILL", &producer.id().to_string()]).status();
    let _ = producer.wait();
}

#[test]
fn a_topic_bound_to_brokers_is_written_and_read_as_a_consumer_group_on_the_cluster() {
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let s = Scratch::new();
    s.write(
        "tiers.flow",
        &format!(
            "type Hit = {{ host: string, n: int }}\n\
             topic {TOPIC}: Hit {{ brokers = \"{brokers}\", key = host }}\n\
             source input = stdin {{}}\n\
             sink a = files {{ path = \"out/a/\", format = json }}\n\
             sink b = files {{ path = \"out/b/\", format = json }}\n\
             input | parse json as Hit -> {TOPIC}\n\
             {TOPIC} -> group \"archive\" -> [a, b]\n"
        ),
    );
    let n = 1000;
    let lines: String = (0..n).map(|i| format!("{{\"host\":\"h{}\",\"n\":{i}}}\n", i % 5)).collect();
    let mut run = s
        .command(&["run", "tiers.flow"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    run.stdin.take().unwrap().write_all(lines.as_bytes()).unwrap();
    // The group's two members share the partitions: together they write every record once.
    let deadline = Instant::now() + PATIENCE;
    let seen = loop {
        let mut seen = lines_under(&s.path().join("out/a"));
        for (line, k) in lines_under(&s.path().join("out/b")) {
            *seen.entry(line).or_insert(0) += k;
        }
        if seen.len() >= n {
            break seen;
        }
        assert!(run.try_wait().unwrap().is_none(), "flowc exited early");
        assert!(Instant::now() < deadline, "only {} of {n} records arrived", seen.len());
        std::thread::sleep(Duration::from_millis(100));
    };
    stop(run);
    assert_eq!(seen.len(), n, "every record, and only those");
    // The members join at once and Kafka may move partitions between them while they start: records
    // of a moved partition not yet committed are read again (at least once), never lost.
    eprintln!("two members of one group on the cluster: {n} records, {} duplicates", duplicates(&seen));
    assert!(seen.keys().all(|l| l.starts_with("{\"host\":\"h")), "typed records as JSON: {:?}", seen.keys().next());

    // On the cluster the records are JSON values keyed by host: one host, one partition.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "check")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[TOPIC]).unwrap();
    let mut partition_of = std::collections::HashMap::new();
    let mut read = 0;
    while read < n {
        assert!(Instant::now() < deadline + PATIENCE, "read {read} of {n} back");
        let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) else { continue };
        let key = String::from_utf8_lossy(m.key().unwrap()).into_owned();
        let value: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
        assert_eq!(value["host"].as_str(), Some(key.as_str()));
        assert_eq!(*partition_of.entry(key).or_insert(m.partition()), m.partition());
        read += 1;
    }
}

#[test]
fn brokers_that_name_no_broker_are_refused_before_the_run() {
    let s = Scratch::new();
    // Written in the file: `check` refuses it (E0315), so the run never starts.
    s.write("empty.flow", "source i = stdin {}\nsink k = kafka { brokers = \" , \", topic = \"t\" }\ni -> k\n");
    let out = s.run("empty.flow", "x\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("E0315") && stderr.contains("kafka sink `k` names no broker"), "{stderr}");
    // From the environment: known only at the start of the run, refused there.
    s.write(
        "env.flow",
        "source i = stdin {}\nsink k = kafka { brokers = [\"${NO_BROKERS}\"], topic = \"t\" }\ni -> k\n",
    );
    let out = s.command(&["run", "env.flow"]).env("NO_BROKERS", " , ").stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("k: `brokers` names no broker"), "{stderr}");
}

#[test]
fn a_kafka_source_shows_its_lag_per_partition_on_the_metrics_page() {
    let cluster = cluster();
    let s = Scratch::new();
    write_pipelines(&s, &cluster.bootstrap_servers());
    let n = 1500;
    let produced = s.run("produce.flow", &input(0, n));
    assert!(produced.status.success(), "{}", String::from_utf8_lossy(&produced.stderr));
    let mut run = run_common::Watched::spawn(s.command(&["run", "consume.flow", "--metrics", "127.0.0.1:0"]));
    run.wait_for("the metrics address", |e| e.contains("metrics on http://"));
    let log = run.stderr();
    let at = log.find("metrics on http://").unwrap() + "metrics on http://".len();
    let address = log[at..].split('/').next().unwrap().to_string();
    wait_for_all(&s, n, &mut run.child);
    // librdkafka's statistics come every 2 s: wait for a page where every partition is caught up.
    let deadline = Instant::now() + PATIENCE;
    let caught_up = |page: &str| {
        (0..PARTITIONS).all(|p| {
            page.lines().any(|l| {
                l.starts_with("flowc_group_partition_lag_events{")
                    && l.contains("node=\"k\"")
                    && l.contains(&format!("partition=\"{p}\""))
                    && l.ends_with(" 0")
            })
        })
    };
    loop {
        let page = metrics_page(&address);
        if caught_up(&page) {
            assert!(page.contains("flowc_node_lag_events{node=\"k\",kind=\"source kafka\"} 0"), "{page}");
            break;
        }
        assert!(Instant::now() < deadline, "no lag per partition for the kafka source:\n{page}");
        std::thread::sleep(Duration::from_millis(200));
    }
    run.terminate();
}

/// The `/metrics` page of a running flowc, over a plain socket.
fn metrics_page(address: &str) -> String {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(address).expect("the endpoint accepts");
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
}
