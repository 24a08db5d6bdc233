//! One data directory, both worlds: records a Kafka client produced through `flowc serve` are read
//! by `flowc consume` and by a `.flow` pipeline's `group "G"`, whose commits a Kafka consumer of
//! group G then continues from; records `flowc produce` appended are read by a Kafka client.

mod serve_common;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serve_common::{client, field, flowc, signal, Serve};

#[test]
fn kafka_produce_is_read_by_flowc_consume_in_every_codec() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("fromkafka-{codec}");
        let out = client("requirements", "produce.py", &[&serve.addr(), &topic, "3000", "--codec", codec]);
        assert_eq!(field(&out, "delivered"), "3000");
        let consume = flowc()
            .args(["consume", &topic, "--from-beginning", "--timeout", "1s", "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(consume.status.success(), "{codec}: {}", String::from_utf8_lossy(&consume.stderr));
        let lines = String::from_utf8_lossy(&consume.stdout);
        let want: Vec<String> = (0..3000).map(|i| format!("v{i}")).collect();
        assert_eq!(lines.lines().collect::<Vec<_>>(), want, "{codec}");
    }
    assert!(serve.stop().success());
}

#[test]
fn flowc_produce_is_read_by_a_kafka_client() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(flowc()
        .args(["topic", "create", "fromflowc", "--partitions", "2", "--data-dir"])
        .arg(&data)
        .status()
        .unwrap()
        .success());
    let mut produce =
        flowc().args(["produce", "fromflowc", "--data-dir"]).arg(&data).stdin(Stdio::piped()).spawn().unwrap();
    let lines: String = (0..1000).map(|i| format!("v{i}\n")).collect();
    produce.stdin.take().unwrap().write_all(lines.as_bytes()).unwrap();
    assert!(produce.wait().unwrap().success());
    let serve = Serve::start(&data, &[]);
    let empty = dir.path().join("none.txt");
    std::fs::write(&empty, "").unwrap();
    for lib in ["confluent", "kafka-python"] {
        let out = client(
            "requirements",
            "restart.py",
            &[lib, &serve.addr(), "fromflowc", &format!("reader-{lib}"), "rest", empty.to_str().unwrap()],
        );
        assert_eq!(field(&out, "rest"), "1000", "{lib}: {out}");
        assert_eq!(field(&out, "union"), "1000", "{lib}: {out}");
    }
    assert!(serve.stop().success());
}

#[test]
fn a_pipeline_group_reads_kafka_records_and_kafka_continues_from_its_commits() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let serve = Serve::start(&data, &[]);
    let addr = serve.addr();
    // the topic comes from the pipeline's declaration; the Kafka client fills it
    std::fs::write(
        dir.path().join("read.flow"),
        "type Event = { n: int }\ntopic events: Event { partitions = 3 }\n\
         source reader = topic { topic = events, group = \"G\" }\n\
         sink out = files { path = \"out/\", format = json }\nreader -> out\n",
    )
    .unwrap();
    let run = || {
        flowc()
            .current_dir(dir.path())
            .args(["run", "read.flow", "--stats", "off", "--data-dir", "data"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut pipeline = run();
    let started = Instant::now();
    while !data.join("events/topic.json").exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "the pipeline made its topic");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = client("requirements", "produce.py", &[&addr, "events", "2000", "--json"]);
    assert_eq!(field(&out, "delivered"), "2000");
    let count = || -> usize {
        let Ok(entries) = std::fs::read_dir(dir.path().join("out")) else { return 0 };
        entries
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .map(|t| t.lines().filter(|l| l.contains("\"n\"")).count())
            .sum()
    };
    let started = Instant::now();
    while count() < 2000 {
        assert!(started.elapsed() < Duration::from_secs(60), "the pipeline wrote {} of 2000", count());
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&pipeline, "TERM");
    assert!(pipeline.wait().unwrap().success());
    assert_eq!(count(), 2000);
    // a Kafka consumer of group G starts where the pipeline committed: nothing left
    let empty = dir.path().join("none.txt");
    std::fs::write(&empty, "").unwrap();
    let out =
        client("requirements", "restart.py", &["confluent", &addr, "events", "G", "rest", empty.to_str().unwrap()]);
    assert_eq!(field(&out, "rest"), "0", "the pipeline's commits are group G's: {out}");
    assert!(serve.stop().success());
}

#[test]
fn kafka_clients_and_flowc_produce_take_turns_on_one_partition() {
    // The server lets go of a partition's writer once nobody produced through it for a moment, so
    // `flowc produce` beside it can append to the same partition; a Kafka Produce after that opens it
    // again. Every record is there once, in the order the turns came.
    let dir = tempfile::tempdir().unwrap();
    assert!(flowc().args(["topic", "create", "shared", "--data-dir"]).arg(dir.path()).status().unwrap().success());
    let serve = Serve::start(dir.path(), &[]);
    let out = client("requirements", "produce.py", &[&serve.addr(), "shared", "500"]);
    assert_eq!(field(&out, "delivered"), "500", "{out}");
    // Refused while the server still holds the partition (a hang guard, not a timing test).
    let start = Instant::now();
    loop {
        let mut produce = flowc()
            .args(["produce", "shared", "--data-dir"])
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines: String = (0..300).map(|i| format!("c{i}\n")).collect();
        let _ = produce.stdin.take().unwrap().write_all(lines.as_bytes());
        let done = produce.wait_with_output().unwrap();
        if done.status.success() {
            break;
        }
        let why = String::from_utf8_lossy(&done.stderr);
        assert!(why.contains("another process"), "refused only for the lock: {why}");
        assert!(start.elapsed() < Duration::from_secs(60), "the server never let go of the partition: {why}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = client("requirements", "produce.py", &[&serve.addr(), "shared", "500"]);
    assert_eq!(field(&out, "delivered"), "500", "{out}");
    assert!(serve.stop().success());
    let consume = flowc()
        .args(["consume", "shared", "--from-beginning", "--timeout", "1s", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(consume.status.success(), "{}", String::from_utf8_lossy(&consume.stderr));
    let got: Vec<String> = String::from_utf8_lossy(&consume.stdout).lines().map(str::to_string).collect();
    let want: Vec<String> = (0..500)
        .map(|i| format!("v{i}"))
        .chain((0..300).map(|i| format!("c{i}")))
        .chain((0..500).map(|i| format!("v{i}")))
        .collect();
    assert_eq!(got, want);
}
