//! The log's console tools, run as real `flowc` processes: produce/consume at volume, consumer
//! groups across processes, retention, live following, one writer per partition, and bad input.

mod log_common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use flowc_runtime::log::partition_for_key;
use log_common::*;

#[test]
fn hundred_thousand_lines_come_back_complete_and_in_partition_order() {
    let d = DataDir::new();
    d.ok(&["topic", "create", "events", "--partitions", "3"]);
    let input: String = (0..100_000).map(|i| format!("k{}:v{i:06}\n", i % 97)).collect();
    d.ok_with(&["produce", "events", "--key-separator", ":"], &input);
    let out = d.ok(&[
        "consume",
        "events",
        "--from-beginning",
        "--max-messages",
        "100000",
        "--timeout",
        "60s",
        "--print-partition",
        "--print-offset",
        "--print-key",
    ]);
    let mut next_offset: BTreeMap<u32, u64> = BTreeMap::new();
    let mut last_per_key: BTreeMap<String, u32> = BTreeMap::new();
    let mut values = BTreeSet::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 4, "{line}");
        let p: u32 = f[0].strip_prefix("Partition:").unwrap().parse().unwrap();
        let o: u64 = f[1].strip_prefix("Offset:").unwrap().parse().unwrap();
        let (key, value) = (f[2], f[3]);
        // offsets of each partition come back contiguous from 0, in order
        let expected = next_offset.entry(p).or_insert(0);
        assert_eq!(o, *expected, "partition {p} out of order");
        *expected += 1;
        // a key lands where Kafka's Java client would put it, and its records keep their order
        assert_eq!(p, partition_for_key(key.as_bytes(), 3), "key {key}");
        let seq: u32 = value[1..].parse().unwrap();
        if let Some(prev) = last_per_key.insert(key.to_string(), seq) {
            assert!(seq > prev, "key {key}: {seq} after {prev}");
        }
        assert!(values.insert(value.to_string()), "duplicate {value}");
    }
    assert_eq!(values.len(), 100_000);
    assert_eq!(next_offset.len(), 3, "every partition got keys");
    let describe = d.ok(&["topic", "describe", "events"]);
    let ends: u64 = describe_rows(&describe).iter().map(|r| r["END-OFFSET"].parse::<u64>().unwrap()).sum();
    assert_eq!(ends, 100_000);
}

#[test]
fn group_members_split_partitions_without_overlap_and_every_group_sees_all() {
    let d = DataDir::new();
    d.ok(&["topic", "create", "shared", "--partitions", "4"]);
    let member = || {
        d.cmd(&["consume", "shared", "--group", "A", "--from-beginning", "--timeout", "8s", "--print-partition"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a1, mut a2) = (member(), member());
    // drain their stdout as they print (a full pipe would stall them)
    let drain = |c: &mut std::process::Child| {
        let mut out = c.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut out, &mut s).unwrap();
            s
        })
    };
    let (r1, r2) = (drain(&mut a1), drain(&mut a2));
    // wait until both members own partitions: every partition has an owner, two owners in all
    wait_for(|| {
        let out = d.run(&["groups", "describe", "A"], "");
        let rows = describe_rows(&String::from_utf8_lossy(&out.stdout));
        let owners: BTreeSet<String> = rows.iter().map(|r| r["CONSUMER-ID"].clone()).collect();
        let balanced = owners.iter().all(|o| rows.iter().filter(|r| &r["CONSUMER-ID"] == o).count() == 2);
        rows.len() == 4 && owners.len() == 2 && !owners.contains("-") && balanced
    });
    let input: String = (0..100_000).map(|i| format!("m{i:06}\n")).collect();
    d.ok_with(&["produce", "shared", "--batch", "500"], &input);
    // members commit after printing: once the group's lag is 0 everything has been printed
    wait_for(|| {
        let rows = describe_rows(&d.ok(&["groups", "describe", "A"]));
        rows.len() == 4 && rows.iter().all(|r| r["LAG"] == "0")
    });
    let stop = |mut c: std::process::Child, reader: std::thread::JoinHandle<String>| {
        assert!(c.try_wait().unwrap().is_none(), "a member exited early");
        c.kill().unwrap();
        c.wait().unwrap();
        reader.join().unwrap()
    };
    let (o1, o2) = (stop(a1, r1), stop(a2, r2));
    let parse = |s: &str| -> (BTreeSet<u32>, Vec<String>) {
        let mut parts = BTreeSet::new();
        let mut vals = Vec::new();
        for l in s.lines() {
            let (p, v) = l.split_once('\t').unwrap();
            parts.insert(p.strip_prefix("Partition:").unwrap().parse().unwrap());
            vals.push(v.to_string());
        }
        (parts, vals)
    };
    let ((p1, v1), (p2, v2)) = (parse(&o1), parse(&o2));
    assert!(!v1.is_empty() && !v2.is_empty(), "both members consumed: {} and {}", v1.len(), v2.len());
    // A partition may change hands while the members settle (as in a Kafka rebalance); what the
    // group promises is that each record goes to exactly one member: checked next.
    assert!(!p1.is_empty() && !p2.is_empty(), "both members owned partitions: {p1:?} {p2:?}");
    let s1: BTreeSet<&String> = v1.iter().collect();
    let s2: BTreeSet<&String> = v2.iter().collect();
    assert!(s1.is_disjoint(&s2), "a record went to both members");
    assert_eq!(s1.len() + s2.len(), 100_000, "nothing missing, nothing twice");
    assert_eq!(v1.len() + v2.len(), 100_000);
    // group B gets every record too
    let b = d.ok(&[
        "consume",
        "shared",
        "--group",
        "B",
        "--from-beginning",
        "--max-messages",
        "100000",
        "--timeout",
        "60s",
    ]);
    let all: BTreeSet<&str> = b.lines().collect();
    assert_eq!((all.len(), b.lines().count()), (100_000, 100_000));
    assert_eq!(d.ok(&["groups", "list"]), "A\nB\n");
}

#[test]
fn a_group_resumes_where_its_last_member_committed() {
    let d = DataDir::new();
    d.ok(&["topic", "create", "jobs", "--partitions", "3"]);
    let input: String = (0..3000).map(|i| format!("j{i:05}\n")).collect();
    d.ok_with(&["produce", "jobs", "--batch", "100"], &input);
    let first = d.ok(&["consume", "jobs", "--group", "workers", "--from-beginning", "--max-messages", "1000"]);
    assert_eq!(first.lines().count(), 1000);
    let rows = describe_rows(&d.ok(&["groups", "describe", "workers"]));
    let lag: u64 = rows.iter().map(|r| r["LAG"].parse::<u64>().unwrap()).sum();
    assert_eq!(lag, 2000, "{rows:?}");
    // --from-beginning only applies without a committed offset, as in Kafka
    let second = d.ok(&["consume", "jobs", "--group", "workers", "--from-beginning", "--timeout", "1s"]);
    assert_eq!(second.lines().count(), 2000);
    let a: BTreeSet<&str> = first.lines().collect();
    let b: BTreeSet<&str> = second.lines().collect();
    assert!(a.is_disjoint(&b));
    assert_eq!(a.len() + b.len(), 3000);
    // and with everything committed a third run prints nothing
    assert_eq!(d.ok(&["consume", "jobs", "--group", "workers", "--timeout", "300ms"]), "");
}

#[test]
fn retention_removes_old_segments_and_describe_shows_it() {
    let d = DataDir::new();
    d.ok(&["topic", "create", "logs", "--segment-bytes", "4KiB", "--retention-bytes", "8KiB"]);
    let input: String = (0..2000).map(|i| format!("{i:05}-{}\n", "x".repeat(94))).collect();
    d.ok_with(&["produce", "logs", "--batch", "10"], &input);
    let describe = d.ok(&["topic", "describe", "logs"]);
    assert!(describe.contains("RetentionBytes: 8KiB"), "{describe}");
    let row = &describe_rows(&describe)[0];
    let start: u64 = row["START-OFFSET"].parse().unwrap();
    let end: u64 = row["END-OFFSET"].parse().unwrap();
    let size: u64 = row["SIZE-BYTES"].parse().unwrap();
    let segments: u64 = row["SEGMENTS"].parse().unwrap();
    assert_eq!(end, 2000);
    assert!(start > 1500, "old segments were deleted: {describe}");
    assert!((8192..=8192 + 2 * 4096).contains(&size), "{describe}");
    assert!((2..=4).contains(&segments), "{describe}");
    let out = d.ok(&["consume", "logs", "--from-beginning", "--timeout", "500ms"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len() as u64, end - start);
    assert!(lines[0].starts_with(&format!("{start:05}-")), "reading starts at the retained start");
    assert!(lines.last().unwrap().starts_with("01999-"));
}

#[test]
fn produce_and_consume_see_each_other_live() {
    let d = DataDir::new();
    d.ok(&["topic", "create", "chat"]);
    let mut consumer = d
        .cmd(&["consume", "chat", "--from-beginning", "--max-messages", "3", "--timeout", "60s"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut producer = d.cmd(&["produce", "chat"]).stdin(Stdio::piped()).spawn().unwrap();
    let mut to_producer = producer.stdin.take().unwrap();
    let mut from_consumer = BufReader::new(consumer.stdout.take().unwrap());
    for word in ["hello", "from", "flowc"] {
        // each line must reach the consumer while the producer is still running
        writeln!(to_producer, "{word}").unwrap();
        to_producer.flush().unwrap();
        let mut line = String::new();
        from_consumer.read_line(&mut line).unwrap();
        assert_eq!(line, format!("{word}\n"));
    }
    assert!(producer.try_wait().unwrap().is_none(), "the producer is still live");
    drop(to_producer);
    assert!(producer.wait().unwrap().success());
    assert!(consumer.wait().unwrap().success());
}

#[test]
fn a_second_writer_gets_a_clear_error() {
    let d = DataDir::new();
    d.ok(&["topic", "create", "solo", "--partitions", "2"]);
    let mut first = d.cmd(&["produce", "solo"]).stdin(Stdio::piped()).spawn().unwrap();
    let lock = d.path().join("solo/1/writer.lock");
    let pid = format!("pid {}", first.id());
    wait_for(|| std::fs::read_to_string(&lock).is_ok_and(|s| s == pid));
    let out = d.run(&["produce", "solo"], "lost?\n");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("partition solo/0 is already being written by another process"), "{err}");
    assert!(err.contains(&pid), "{err}");
    let del = d.run(&["topic", "delete", "solo"], "");
    assert_eq!(del.status.code(), Some(2), "a topic being written is not deleted");
    writeln!(first.stdin.take().unwrap(), "kept").unwrap();
    assert!(first.wait().unwrap().success());
    assert_eq!(d.ok(&["consume", "solo", "--from-beginning", "--timeout", "300ms"]), "kept\n");
    d.ok(&["topic", "delete", "solo"]);
    assert_eq!(d.ok(&["topic", "list"]), "");
}

#[test]
fn bad_input_is_a_clear_error_with_exit_code_2() {
    let d = DataDir::new();
    d.ok(&["topic", "create", "real", "--partitions", "2"]);
    d.ok_with(&["produce", "real"], "one\ntwo\n");
    let cases: &[(&[&str], &str)] = &[
        (&["produce", "missing"], "topic `missing` does not exist"),
        (&["consume", "missing", "--timeout", "1s"], "topic `missing` does not exist"),
        (&["topic", "describe", "missing"], "topic `missing` does not exist"),
        (&["topic", "delete", "missing"], "topic `missing` does not exist"),
        (&["topic", "create", "zero", "--partitions", "0"], "partition count must be between 1 and 10000"),
        (&["topic", "create", "neg", "--partitions", "-3"], "'-3'"),
        (&["topic", "create", "abc", "--partitions", "abc"], "invalid value 'abc'"),
        (&["topic", "create", "real"], "topic `real` already exists"),
        (&["topic", "create", "bad/name"], "invalid topic name"),
        (&["topic", "create", "r", "--retention", "7years"], "invalid duration"),
        (&["groups", "describe", "nobody"], "consumer group `nobody` does not exist"),
        (&["consume", "real", "--partition", "5", "--timeout", "1s"], "has no partition 5"),
        (&["produce", "real", "--fsync", "sometimes"], "invalid fsync policy"),
    ];
    for (args, message) in cases {
        let out = d.run(args, "x\n");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // a data directory that is a file
    let file = d.path().join("not-a-dir");
    std::fs::write(&file, "data").unwrap();
    for args in [&["topic", "list"][..], &["topic", "create", "t"], &["produce", "t"], &["consume", "t"]] {
        let mut full = args.to_vec();
        full.extend(["--data-dir", file.to_str().unwrap()]);
        let out = flowc().args(&full).stdin(Stdio::null()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{full:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("is not a directory"));
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "data");
    // nothing was lost through all of that
    assert_eq!(d.ok(&["consume", "real", "--from-beginning", "--timeout", "300ms"]).lines().count(), 2);
}

#[test]
fn a_read_only_data_dir_is_a_clear_error_and_loses_nothing() {
    let d = DataDir::new();
    d.ok(&["topic", "create", "ro", "--partitions", "2"]);
    d.ok_with(&["produce", "ro"], "a\nb\nc\n");
    // as root, permissions do not bind: run the tools as an unprivileged user, from a copy of the
    // binary that user can surely reach
    let bin_dir = DataDir::new();
    let bin = bin_dir.path().join("flowc");
    std::fs::copy(env!("CARGO_BIN_EXE_flowc"), &bin).unwrap();
    let as_user = |args: &[&str], input: &str| -> std::process::Output {
        let mut c = Command::new(&bin);
        c.args(args).arg("--data-dir").arg(d.path()).env_remove("FLOWC_DATA_DIR");
        if is_root() {
            use std::os::unix::process::CommandExt;
            c.uid(65534).gid(65534);
        }
        run_with(c, input)
    };
    set_tree_writable(d.path(), false);
    for args in
        [&["produce", "ro"][..], &["topic", "create", "new"], &["consume", "ro", "--group", "g", "--timeout", "1s"]]
    {
        let out = as_user(args, "d\n");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("Permission denied") || err.contains("Read-only"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // reading without a group writes nothing, so it still works
    let out = as_user(&["consume", "ro", "--from-beginning", "--timeout", "300ms"], "");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    set_tree_writable(d.path(), true);
    let all = d.ok(&["consume", "ro", "--from-beginning", "--timeout", "300ms"]);
    let got: BTreeSet<&str> = all.lines().collect();
    assert_eq!(got, BTreeSet::from(["a", "b", "c"]));
    d.ok(&["log", "verify"]);
}

#[test]
fn the_data_dir_comes_from_the_environment_or_defaults_to_dot_flow() {
    let d = DataDir::new();
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["topic", "create", "envtopic"])
        .env("FLOWC_DATA_DIR", d.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(d.ok(&["topic", "list"]), "envtopic\n");
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["topic", "create", "here"])
        .env_remove("FLOWC_DATA_DIR")
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(cwd.path().join(".flow/here/topic.json").is_file());
}

#[test]
fn a_live_consumer_follows_the_producer_across_segment_rolls() {
    let d = DataDir::new();
    d.ok(&["topic", "create", "rolling", "--segment-bytes", "4KiB", "--retention", "forever"]);
    let consumer = d
        .cmd(&["consume", "rolling", "--from-beginning", "--max-messages", "20000", "--timeout", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let input: String = (0..20_000).map(|i| format!("roll-{i:05}\n")).collect();
    d.ok_with(&["produce", "rolling", "--batch", "10"], &input);
    let out = consumer.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), input, "every record, in order, across many segments");
    let row = &describe_rows(&d.ok(&["topic", "describe", "rolling"]))[0];
    assert!(row["SEGMENTS"].parse::<u32>().unwrap() > 50, "{row:?}");
}
