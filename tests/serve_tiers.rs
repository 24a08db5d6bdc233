//! flowc to flowc, through the Kafka protocol: the console tools' `--brokers` administer a `flowc
//! serve`, and one pipeline's `kafka` sink delivers into it while another pipeline's `kafka` source
//! reads it back — the agent tier that replaces Flume's avro sink → avro source hop.

mod serve_common;

use serve_common::{flowc, Serve};
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn ok(out: std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn topic_and_groups_commands_with_brokers_administer_flowc_serve() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path(), &["--auto-create", "false"]);
    let b = serve.addr();
    ok(flowc().args(["topic", "create", "tiers", "--brokers", &b, "--partitions", "3"]).output().unwrap());
    assert_eq!(ok(flowc().args(["topic", "list", "--brokers", &b]).output().unwrap()).trim(), "tiers");
    let describe = ok(flowc().args(["topic", "describe", "tiers", "--brokers", &b]).output().unwrap());
    assert!(describe.starts_with("Topic: tiers\tPartitionCount: 3\tReplicationFactor: 1"), "{describe}");
    // The server keeps one copy: a replication factor of 3 is refused with its reason.
    let refused = flowc()
        .args(["topic", "create", "copies", "--brokers", &b, "--partitions", "1", "--replication-factor", "3"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("InvalidReplicationFactor"), "{:?}", refused);
    // And the same topic is in the data directory the console tools read directly.
    let local = ok(flowc().args(["topic", "list", "--data-dir"]).arg(data.path()).output().unwrap());
    assert_eq!(local.trim(), "tiers");

    let mut produce = flowc().args(["produce", "tiers", "--brokers", &b]).stdin(Stdio::piped()).spawn().unwrap();
    produce.stdin.take().unwrap().write_all(b"a\nb\nc\n").unwrap();
    assert!(produce.wait().unwrap().success());
    let read = ok(flowc()
        .args(["consume", "tiers", "--brokers", &b, "--group", "G", "--from-beginning", "--timeout", "3s"])
        .output()
        .unwrap());
    assert_eq!(read.lines().count(), 3, "{read}");
    let groups = ok(flowc().args(["groups", "list", "--brokers", &b]).output().unwrap());
    assert!(groups.lines().any(|g| g == "G"), "{groups}");
    let described = ok(flowc().args(["groups", "describe", "G", "--brokers", &b]).output().unwrap());
    let committed: u64 =
        described.lines().skip(1).map(|l| l.split_whitespace().nth(3).unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!(committed, 3, "{described}");

    ok(flowc().args(["topic", "delete", "tiers", "--brokers", &b]).output().unwrap());
    assert_eq!(ok(flowc().args(["topic", "list", "--brokers", &b]).output().unwrap()).trim(), "");
    assert!(serve.stop().success());
}

#[test]
fn a_kafka_sink_delivers_into_flowc_serve_and_a_kafka_source_reads_it_back() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path(), &[]);
    let b = serve.addr();
    ok(flowc().args(["topic", "create", "hop", "--brokers", &b, "--partitions", "2"]).output().unwrap());
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("edge.flow"),
        format!("source input = stdin {{}}\nsink up = kafka {{ brokers = \"{b}\", topic = \"hop\", compression = lz4 }}\ninput -> up\n"),
    )
    .unwrap();
    std::fs::write(
        work.path().join("collector.flow"),
        format!(
            "source down = kafka {{ brokers = [\"{b}\"], topics = [\"hop\"], group = \"collector\", format = lines }}\n\
             sink out = files {{ path = \"out/\" }}\ndown -> out\n"
        ),
    )
    .unwrap();
    let n = 2000;
    let lines: String = (0..n).map(|i| format!("event {i}\n")).collect();
    let mut edge = flowc()
        .args(["run", "edge.flow"])
        .current_dir(work.path())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    edge.stdin.take().unwrap().write_all(lines.as_bytes()).unwrap();
    let edge = edge.wait_with_output().unwrap();
    assert!(edge.status.success(), "{}", String::from_utf8_lossy(&edge.stderr));

    let mut collector = flowc()
        .args(["run", "collector.flow", "--data-dir", "local"])
        .current_dir(work.path())
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let out = work.path().join("out");
    let seen = loop {
        let mut seen = std::collections::BTreeMap::new();
        for entry in std::fs::read_dir(&out).into_iter().flatten().flatten() {
            for line in std::fs::read_to_string(entry.path()).unwrap_or_default().lines() {
                *seen.entry(line.to_string()).or_insert(0usize) += 1;
            }
        }
        if seen.len() >= n {
            break seen;
        }
        assert!(collector.try_wait().unwrap().is_none(), "the collector exited");
        assert!(Instant::now() < deadline, "{} of {n} events arrived:\n{}", seen.len(), serve.log());
        std::thread::sleep(Duration::from_millis(100));
    };
    serve_common::signal(&collector, "TERM");
    assert!(collector.wait().unwrap().success());
    assert_eq!(seen.len(), n, "every event, only those");
    assert!(seen.values().all(|&k| k == 1), "a clean hop delivers each event once");
    assert!(serve.stop().success());
}
