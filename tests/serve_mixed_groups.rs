//! One consumer group, two kinds of members at once: a Kafka consumer through `flowc serve` and a
//! `flowc consume --group` on the same data directory split the partitions (no partition read by
//! both, the split shown by `flowc groups describe`), and when one of them leaves the other takes
//! its partitions from the committed offsets — nothing skipped, nothing committed read again. A
//! pipeline's `group "G"` does the same beside a Kafka consumer.

mod serve_common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flowc_runtime::log::partition_for_key;
use serve_common::{flowc, py_common, script, Serve};

const PARTS: u32 = 4;
const TOPIC: &str = "mixed";
const GROUP: &str = "both";

/// A child process whose standard output lines are collected as they come.
struct Lines {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
    what: String,
    /// Where a client script logs what its group coordinator did (`CLIENT_LOG`), shown on failure.
    log: tempfile::NamedTempFile,
}

impl Lines {
    fn spawn(mut cmd: std::process::Command, what: &str) -> Lines {
        let log = tempfile::NamedTempFile::new().expect("a log file");
        let mut child = cmd
            .env("CLIENT_LOG", log.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("it starts");
        let stdin = child.stdin.take();
        let out = BufReader::new(child.stdout.take().expect("stdout piped"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in out.lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Lines { child, stdin, lines, what: what.to_string(), log }
    }

    fn snapshot(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits (a generous deadline, never a timed assertion) until `cond` holds of the lines so far.
    fn wait(&self, what: &str, cond: impl Fn(&[String]) -> bool) {
        wait(
            &format!("{}: {what}", self.what),
            || cond(&self.snapshot()),
            || {
                let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
                format!("{}\nits client's log:\n{log}", self.snapshot().join("\n"))
            },
        );
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait(what: &str, cond: impl Fn() -> bool, context: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !cond() {
        assert!(Instant::now() < deadline, "still waiting for {what}:\n{}", context());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A record as a member read it: partition, offset, value.
type Read = (u32, u64, String);

/// The Kafka member's records (`record=P,O,V`) and its last assignment (`assigned=[..]`).
fn kafka_records(lines: &[String]) -> Vec<Read> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("record="))
        .map(|r| {
            let mut f = r.splitn(3, ',');
            let p = f.next().unwrap().parse().unwrap();
            let o = f.next().unwrap().parse().unwrap();
            (p, o, inner(f.next().unwrap()))
        })
        .collect()
}

/// The text of a record's value `{"v":"TEXT"}`.
fn inner(value: &str) -> String {
    value.trim().strip_prefix("{\"v\":\"").and_then(|v| v.strip_suffix("\"}")).unwrap_or(value).to_string()
}

fn kafka_assigned(lines: &[String]) -> Option<String> {
    lines.iter().rev().find_map(|l| l.strip_prefix("assigned=")).map(str::to_string)
}

/// `flowc consume --print-partition --print-offset` lines: `Partition:P\tOffset:O\tVALUE`.
fn flowc_records(lines: &[String]) -> Vec<Read> {
    lines
        .iter()
        .map(|l| {
            let mut f = l.splitn(3, '\t');
            let p = f.next().unwrap().strip_prefix("Partition:").unwrap().parse().unwrap();
            let o = f.next().unwrap().strip_prefix("Offset:").unwrap().parse().unwrap();
            (p, o, inner(f.next().unwrap()))
        })
        .collect()
}

/// `lib` is `confluent` or `kafka-python`, with an assignor after a `/` (`confluent/cooperative-sticky`).
fn kafka_member(lib: &str, serve: &Serve) -> Lines {
    let mut cmd = py_common::python_env("requirements");
    let (client, assignor) = lib.split_once('/').unwrap_or((lib, ""));
    cmd.arg(script("mixed_member.py")).args([client, &serve.addr(), TOPIC, GROUP]);
    if !assignor.is_empty() {
        cmd.arg(assignor);
    }
    Lines::spawn(cmd, &format!("the {lib} member"))
}

fn flowc_member(data: &Path, max: usize) -> Lines {
    let mut cmd = flowc();
    cmd.args(["consume", TOPIC, "--group", GROUP, "--from-beginning", "--print-partition", "--print-offset"])
        .args(["--max-messages", &max.to_string(), "--data-dir"])
        .arg(data);
    Lines::spawn(cmd, "flowc consume")
}

/// Appends `n` records to every partition with `flowc produce`, valued `{"v":"<phase>-p<P>-<i>"}`.
fn produce(data: &Path, phase: &str, n: usize) {
    let mut lines = String::new();
    for p in 0..PARTS {
        let mut i = 0;
        let mut made = 0;
        while made < n {
            let key = format!("k{p}-{i}");
            i += 1;
            if partition_for_key(key.as_bytes(), PARTS) == p {
                lines.push_str(&format!("{key} {{\"v\":\"{phase}-p{p}-{made}\"}}\n"));
                made += 1;
            }
        }
    }
    let mut child = flowc()
        .args(["produce", TOPIC, "--key-separator", " ", "--data-dir"])
        .arg(data)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(lines.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

/// `flowc groups describe`: partition → the client id of its owner ("-" for none).
fn owners(data: &Path) -> BTreeMap<u32, String> {
    let out = flowc().args(["groups", "describe", GROUP, "--data-dir"]).arg(data).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 9 || f[1] != TOPIC {
                return None;
            }
            Some((f[2].parse().ok()?, f[8].to_string()))
        })
        .collect()
}

fn describe(data: &Path) -> String {
    let out = flowc().args(["groups", "describe", GROUP, "--data-dir"]).arg(data).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn partitions_of(records: &[Read], phase: &str) -> BTreeSet<u32> {
    records.iter().filter(|r| r.2.starts_with(phase)).map(|r| r.0).collect()
}

fn values(records: &[Read]) -> Vec<String> {
    let mut v: Vec<String> = records.iter().map(|r| r.2.clone()).collect();
    v.sort();
    v
}

fn expected(phases: &[(&str, usize)]) -> Vec<String> {
    let mut v: Vec<String> = phases
        .iter()
        .flat_map(|&(ph, n)| (0..PARTS).flat_map(move |p| (0..n).map(move |i| format!("{ph}-p{p}-{i}"))))
        .collect();
    v.sort();
    v
}

fn setup() -> (tempfile::TempDir, Serve) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let made = flowc()
        .args(["topic", "create", TOPIC, "--partitions", &PARTS.to_string(), "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let serve = Serve::start(&data, &[]);
    (dir, serve)
}

/// Waits until `flowc groups describe` shows `n` partitions owned by `flowc consume` and the
/// rest by the server's stand-in for the Kafka members.
fn wait_split(data: &Path, flowc_owns: usize) {
    wait_split_with(data, "flowc-consume", flowc_owns)
}

/// [`wait_split`] with flowc's member of client id `client`.
fn wait_split_with(data: &Path, client: &str, flowc_owns: usize) {
    wait(
        &format!("groups describe to show {flowc_owns} partitions with {client}"),
        || {
            let o = owners(data);
            o.len() == PARTS as usize
                && o.values().filter(|c| *c == client).count() == flowc_owns
                && o.values().filter(|c| *c == "flowc-serve").count() == PARTS as usize - flowc_owns
        },
        || describe(data),
    );
}

fn flowc_first_then_kafka_takes_over(lib: &str) {
    let (dir, serve) = setup();
    let data = dir.path().join("data");
    produce(&data, "a", 5);
    // flowc consume alone: every partition, then 2 of phase b's 4 partitions, then it exits
    let f = flowc_member(&data, 4 * 5 + 2 * 6);
    f.wait("the first records", |l| l.len() == 4 * 5);
    let k = kafka_member(lib, &serve);
    k.wait("two partitions", |l| kafka_assigned(l).is_some_and(|a| a.matches(',').count() == 1));
    wait_split(&data, 2);
    produce(&data, "b", 6);
    k.wait("its share of phase b", |l| kafka_records(l).len() == 2 * 6);
    f.wait("its share of phase b", |l| l.len() == 4 * 5 + 2 * 6);
    let (fr, kr) = (flowc_records(&f.snapshot()), kafka_records(&k.snapshot()));
    let (fb, kb) = (partitions_of(&fr, "b-"), partitions_of(&kr, "b-"));
    assert_eq!((fb.len(), kb.len()), (2, 2), "each read 2 partitions: flowc {fb:?}, {lib} {kb:?}");
    assert!(fb.is_disjoint(&kb), "no partition read by both: flowc {fb:?}, {lib} {kb:?}");
    // flowc consume exits (its --max-messages); the Kafka member gets every partition
    let mut f = f;
    assert!(f.child.wait().unwrap().success());
    k.wait("every partition", |l| kafka_assigned(l).as_deref() == Some("[0, 1, 2, 3]"));
    produce(&data, "c", 7);
    k.wait("phase c", |l| kafka_records(l).iter().filter(|r| r.2.starts_with("c-")).count() == 4 * 7);
    let kr = kafka_records(&k.snapshot());
    let mut all = fr.clone();
    all.extend(kr.iter().cloned());
    assert_eq!(values(&all), expected(&[("a", 5), ("b", 6), ("c", 7)]), "every record once, by one of them");
    assert!(kr.iter().all(|r| !r.2.starts_with("a-")), "{lib} read nothing flowc consume committed");
    close(k);
    assert!(serve.stop().success());
}

fn kafka_first_then_flowc_takes_over(lib: &str) {
    let (dir, serve) = setup();
    let data = dir.path().join("data");
    produce(&data, "a", 5);
    let k = kafka_member(lib, &serve);
    k.wait("every partition and phase a", |l| {
        kafka_assigned(l).as_deref() == Some("[0, 1, 2, 3]") && kafka_records(l).len() == 4 * 5
    });
    // flowc consume joins: 2 partitions of phase b, then all 4 of phase c after the Kafka member left
    let f = flowc_member(&data, 2 * 6 + 4 * 7);
    wait_split(&data, 2);
    k.wait("two partitions", |l| kafka_assigned(l).is_some_and(|a| a.matches(',').count() == 1));
    produce(&data, "b", 6);
    k.wait("its share of phase b", |l| kafka_records(l).len() == 4 * 5 + 2 * 6);
    f.wait("its share of phase b", |l| l.len() == 2 * 6);
    let (fr, kr) = (flowc_records(&f.snapshot()), kafka_records(&k.snapshot()));
    let (fb, kb) = (partitions_of(&fr, "b-"), partitions_of(&kr, "b-"));
    assert_eq!((fb.len(), kb.len()), (2, 2), "each read 2 partitions: flowc {fb:?}, {lib} {kb:?}");
    assert!(fb.is_disjoint(&kb), "no partition read by both: flowc {fb:?}, {lib} {kb:?}");
    // the Kafka member leaves: flowc consume takes every partition from the committed offsets
    close(k);
    wait_split(&data, 4);
    produce(&data, "c", 7);
    let mut f = f;
    assert!(f.child.wait().unwrap().success(), "flowc consume read its --max-messages");
    let fr = flowc_records(&f.snapshot());
    let mut all = fr.clone();
    all.extend(kr.iter().cloned());
    assert_eq!(values(&all), expected(&[("a", 5), ("b", 6), ("c", 7)]), "every record once, by one of them");
    assert!(fr.iter().all(|r| !r.2.starts_with("a-")), "flowc read nothing the {lib} member committed");
    assert!(serve.stop().success());
}

/// Asks the Kafka member to leave and waits for it.
fn close(mut k: Lines) {
    writeln!(k.stdin.take().unwrap(), "close").unwrap();
    k.wait("closing", |l| l.iter().any(|x| x == "closed"));
    assert!(k.child.wait().unwrap().success());
}

#[test]
fn librdkafka_member_beside_flowc_consume_then_alone() {
    flowc_first_then_kafka_takes_over("confluent");
}

#[test]
fn librdkafka_member_then_flowc_consume_takes_over() {
    kafka_first_then_flowc_takes_over("confluent");
}

#[test]
fn kafka_python_member_beside_flowc_consume_then_alone() {
    flowc_first_then_kafka_takes_over("kafka-python");
}

#[test]
fn kafka_python_member_then_flowc_consume_takes_over() {
    kafka_first_then_flowc_takes_over("kafka-python");
}

#[test]
fn librdkafka_cooperative_sticky_member_hands_over_both_ways() {
    kafka_first_then_flowc_takes_over("confluent/cooperative-sticky");
    flowc_first_then_kafka_takes_over("confluent/cooperative-sticky");
}

/// The values a pipeline's files sink wrote under `out/`.
fn pipeline_values(out: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(out) else { return Vec::new() };
    entries
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .flat_map(|t| t.lines().filter(|l| l.contains("\"v\"")).map(inner).collect::<Vec<_>>())
        .collect()
}

#[test]
fn librdkafka_member_then_a_pipeline_group_takes_over() {
    let (dir, serve) = setup();
    let data = dir.path().join("data");
    produce(&data, "a", 5);
    let k = kafka_member("confluent", &serve);
    k.wait("every partition and phase a", |l| {
        kafka_assigned(l).as_deref() == Some("[0, 1, 2, 3]") && kafka_records(l).len() == 4 * 5
    });
    std::fs::write(
        dir.path().join("read.flow"),
        format!(
            "type Rec = {{ v: string }}\ntopic {TOPIC}: Rec {{ partitions = {PARTS} }}\n\
             source reader = topic {{ topic = {TOPIC}, group = \"{GROUP}\" }}\n\
             sink out = files {{ path = \"out/\", format = json }}\nreader -> out\n"
        ),
    )
    .unwrap();
    let mut pipeline = flowc()
        .current_dir(dir.path())
        .args(["run", "read.flow", "--stats", "off", "--data-dir", "data"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_split_with(&data, "flowc-run", 2);
    k.wait("two partitions", |l| kafka_assigned(l).is_some_and(|a| a.matches(',').count() == 1));
    produce(&data, "b", 6);
    let out = dir.path().join("out");
    k.wait("its share of phase b", |l| kafka_records(l).len() == 4 * 5 + 2 * 6);
    wait("the pipeline's share of phase b", || pipeline_values(&out).len() == 2 * 6, || describe(&data));
    let of = |v: &[String], ph: &str| -> BTreeSet<String> {
        v.iter().filter(|x| x.starts_with(ph)).map(|x| x.split('-').nth(1).unwrap().to_string()).collect()
    };
    let kr = kafka_records(&k.snapshot());
    let kv: Vec<String> = kr.iter().map(|r| r.2.clone()).collect();
    let (pb, kb) = (of(&pipeline_values(&out), "b-"), of(&kv, "b-"));
    assert_eq!((pb.len(), kb.len()), (2, 2), "each read 2 partitions: pipeline {pb:?}, librdkafka {kb:?}");
    assert!(pb.is_disjoint(&kb), "no partition read by both: pipeline {pb:?}, librdkafka {kb:?}");
    close(k);
    wait_split_with(&data, "flowc-run", 4);
    produce(&data, "c", 7);
    wait("the pipeline's phase c", || pipeline_values(&out).len() == 2 * 6 + 4 * 7, || describe(&data));
    serve_common::signal(&pipeline, "TERM");
    assert!(pipeline.wait().unwrap().success());
    let mut all = pipeline_values(&out);
    assert!(all.iter().all(|v| !v.starts_with("a-")), "the pipeline read nothing the Kafka member committed");
    all.extend(kv);
    all.sort();
    assert_eq!(all, expected(&[("a", 5), ("b", 6), ("c", 7)]), "every record once, by one of them");
    assert!(serve.stop().success());
}
