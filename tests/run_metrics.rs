//! `flowc run --metrics`: the page Prometheus scrapes (parsed by Prometheus' own Python client), the
//! health check turning 503 when a sink fails for good, and `flowc top` and `flowc tap` reading the
//! same endpoint of a running pipeline.

mod run_common;

use run_common::{py_common, Scratch, PATIENCE};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `flowc run FILE --metrics 127.0.0.1:0`, with the endpoint's address read from its log.
struct Run {
    child: Child,
    address: String,
    stderr: mpsc::Receiver<String>,
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(s: &Scratch, file: &str) -> Run {
    let mut child = s
        .command(&["run", file, "--metrics", "127.0.0.1:0", "--stats", "off"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowc starts");
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Made before the wait, so a run that never logs its address is killed when the test gives up.
    let mut run = Run { child, address: String::new(), stderr: rx };
    let mut seen = String::new();
    loop {
        let line = run.stderr.recv_timeout(PATIENCE).unwrap_or_else(|_| panic!("no metrics address logged:\n{seen}"));
        if let Some(at) = line.find("metrics on http://") {
            run.address = line[at + "metrics on http://".len()..].split('/').next().unwrap().to_string();
            return run;
        }
        seen.push_str(&line);
        seen.push('\n');
    }
}

impl Run {
    /// Everything logged so far and until the process ends.
    fn wait(mut self) -> (std::process::ExitStatus, String) {
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        let log: Vec<String> = self.stderr.iter().collect();
        (status, log.join("\n"))
    }
}

/// `GET path` with a plain socket: status code and body.
fn get(address: &str, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address).expect("the endpoint accepts");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("a status code");
    (status, body.to_string())
}

fn nodes(address: &str) -> Vec<serde_json::Value> {
    let (status, body) = get(address, "/api/nodes");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn node<'a>(nodes: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    nodes.iter().find(|n| n["name"] == name).unwrap_or_else(|| panic!("no node {name} in {nodes:?}"))
}

/// Waits until `done` holds for the nodes' counters (a hang guard, not a timing assertion).
fn wait_for(address: &str, what: &str, done: impl Fn(&[serde_json::Value]) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = nodes(address);
        if done(&now) {
            return;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}: {now:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The samples of an OpenMetrics page as Prometheus' Python client parses it:
/// `(name, labels, value)`.
fn parse_metrics(page: &str) -> Vec<(String, serde_json::Map<String, serde_json::Value>, f64)> {
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, s.labels, s.value])
print(json.dumps(out))
"#;
    let mut child = py_common::python_env("prometheus")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the page does not parse:\n{}\n{page}", String::from_utf8_lossy(&out.stderr));
    let samples: Vec<(String, serde_json::Map<String, serde_json::Value>, f64)> =
        serde_json::from_slice(&out.stdout).unwrap();
    samples
}

fn sample(samples: &[(String, serde_json::Map<String, serde_json::Value>, f64)], name: &str, node: &str) -> f64 {
    samples
        .iter()
        .find(|(n, labels, _)| n == name && labels.get("node").is_some_and(|v| v == node))
        .unwrap_or_else(|| panic!("no {name}{{node={node}}} among {samples:?}"))
        .2
}

fn files_lines(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    names
        .iter()
        .flat_map(|p| std::fs::read_to_string(p).unwrap().lines().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

#[test]
fn the_metrics_page_parses_and_counts_what_the_sink_wrote() {
    let s = Scratch::new();
    s.write(
        "agent.flow",
        "source i = stdin {}\nchannel c = memory { capacity = 5000 }\nsink k = files { path = \"out/\" }\ni -> c -> k\n",
    );
    let mut run = start(&s, "agent.flow");
    let (status, body) = get(&run.address, "/health");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let lines: String = (0..2_500).map(|n| format!("line {n}\n")).collect();
    run.child.stdin.as_mut().unwrap().write_all(lines.as_bytes()).unwrap();
    wait_for(&run.address, "the sink to write 2,500 events", |n| node(n, "k")["events_out"] == 2_500);

    let (status, page) = get(&run.address, "/metrics");
    assert_eq!(status, 200);
    let samples = parse_metrics(&page);
    assert_eq!(sample(&samples, "flowc_node_events_out_total", "i"), 2_500.0);
    assert_eq!(sample(&samples, "flowc_node_events_in_total", "c"), 2_500.0);
    assert_eq!(sample(&samples, "flowc_node_events_in_total", "k"), 2_500.0);
    assert_eq!(sample(&samples, "flowc_node_events_out_total", "k"), 2_500.0);
    assert_eq!(sample(&samples, "flowc_node_errors_total", "k"), 0.0);
    assert_eq!(sample(&samples, "flowc_sink_retries_total", "k"), 0.0);
    let sent = sample(&samples, "flowc_node_sent_bytes_total", "i");
    assert_eq!(sample(&samples, "flowc_node_sent_bytes_total", "k"), sent, "the sink wrote what the source sent");
    assert_eq!(sent as usize, lines.len() - 2_500, "the lines' bytes, without their newlines");
    assert_eq!(sample(&samples, "flowc_channel_capacity_events", "c"), 5_000.0);
    assert_eq!(sample(&samples, "flowc_channel_events", "c"), 0.0, "everything went through");
    assert_eq!(sample(&samples, "flowc_sink_files_open", "k"), 1.0);
    assert_eq!(sample(&samples, "flowc_node_up", "k"), 1.0);
    let batches = sample(&samples, "flowc_node_batch_duration_seconds_count", "k");
    assert!(batches >= 1.0, "{batches}");
    let inf = samples
        .iter()
        .find(|(n, l, _)| n == "flowc_node_batch_duration_seconds_bucket" && l["node"] == "k" && l["le"] == "+Inf")
        .expect("a +Inf bucket");
    assert_eq!(inf.2, batches, "the +Inf bucket counts every batch");

    let (status, log) = run.wait();
    assert!(status.success(), "{log}");
    assert_eq!(files_lines(&s.path().join("out")).len(), 2_500);
}

#[test]
fn health_turns_503_when_a_sink_fails_for_good_while_the_rest_drains() {
    let s = Scratch::new();
    // `out` is a file where `bad` needs a directory and it may not retry: it fails for good at its
    // first write. `log` writes to standard output, which the test does not read yet: the run stays
    // up, draining.
    s.write("out", "not a directory\n");
    s.write(
        "agent.flow",
        "source gen = generator { mode = stress, size = 200B, count = 100_000, batch_size = 1_000 }
sink log = logger {}
sink bad = files { path = \"out/logs/\", max_retries = 0 }
gen -> log
gen -> bad
",
    );
    let mut run = start(&s, "agent.flow");
    let deadline = Instant::now() + PATIENCE;
    let body = loop {
        let (status, body) = get(&run.address, "/health");
        if status == 503 {
            break body;
        }
        assert_eq!(status, 200, "{body}");
        assert!(Instant::now() < deadline, "/health never turned 503");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(body, "failed for good: bad\n");
    let samples = parse_metrics(&get(&run.address, "/metrics").1);
    assert_eq!(sample(&samples, "flowc_node_up", "bad"), 0.0);
    assert_eq!(sample(&samples, "flowc_node_up", "log"), 1.0);
    assert_eq!(sample(&samples, "flowc_sink_retries_total", "bad"), 0.0, "`max_retries = 0`");
    // Reading standard output lets the drain finish; the run then fails, naming the sink.
    let mut stdout = run.child.stdout.take().unwrap();
    std::io::copy(&mut stdout, &mut std::io::sink()).unwrap();
    let (status, log) = run.wait();
    assert_eq!(status.code(), Some(2), "{log}");
    assert!(log.contains("error: bad: ./out/logs/: Not a directory"), "{log}");
}

#[test]
fn top_and_tap_read_a_running_pipeline_without_changing_its_output() {
    let s = Scratch::new();
    s.write("agent.flow", "source i = stdin {}\nsink k = files { path = \"out/\" }\ni -> k\n");
    let mut run = start(&s, "agent.flow");
    let first: String = (0..1_000).map(|n| format!("{n}\n")).collect();
    run.child.stdin.as_mut().unwrap().write_all(first.as_bytes()).unwrap();
    wait_for(&run.address, "the first 1,000 lines", |n| node(n, "k")["events_out"] == 1_000);

    let top = s.command(&["top", "--metrics", &run.address, "--once"]).output().unwrap();
    let table = String::from_utf8_lossy(&top.stdout);
    assert!(top.status.success(), "{}", String::from_utf8_lossy(&top.stderr));
    let k_row = table.lines().find(|l| l.trim_start().starts_with("k ")).unwrap_or_else(|| panic!("{table}"));
    assert!(k_row.contains("sink files") && k_row.split_whitespace().filter(|w| *w == "1000").count() == 2, "{table}");

    let tap = s
        .command(&["tap", "k", "--metrics", &run.address, "--limit", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&run.address, "the tap to open", |n| node(n, "k")["taps"] == 1);
    let second: String = (1_000..3_000).map(|n| format!("{n}\n")).collect();
    run.child.stdin.as_mut().unwrap().write_all(second.as_bytes()).unwrap();
    let tapped = tap.wait_with_output().unwrap();
    assert!(tapped.status.success(), "{}", String::from_utf8_lossy(&tapped.stderr));
    let shown: Vec<i64> = String::from_utf8_lossy(&tapped.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["line"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(shown.len(), 5, "{shown:?}");
    assert!(
        shown.windows(2).all(|w| w[1] == w[0] + 1) && shown[0] >= 1_000,
        "consecutive events of the second write: {shown:?}"
    );

    let (status, log) = run.wait();
    assert!(status.success(), "{log}");
    let expected: Vec<String> = (0..3_000).map(|n| n.to_string()).collect();
    assert_eq!(files_lines(&s.path().join("out")), expected, "the tap took nothing from the pipeline");
}

#[test]
fn tap_of_an_unknown_node_names_the_nodes_and_a_dead_endpoint_says_what_to_run() {
    let s = Scratch::new();
    s.write("agent.flow", "source input = stdin {}\nsink k = files { path = \"out/\" }\ninput -> k\n");
    let run = start(&s, "agent.flow");
    let out = s.command(&["tap", "inptu", "--metrics", &run.address]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no node `inptu` in this run; did you mean `input`? nodes: input, k"), "{stderr}");
    let (status, log) = run.wait();
    assert!(status.success(), "{log}");

    // Nothing listens there any more.
    let out =
        Command::new(env!("CARGO_BIN_EXE_flowc")).args(["top", "--once", "--metrics", "127.0.0.1:9"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot reach flowc's metrics endpoint at 127.0.0.1:9"), "{stderr}");
}
