//! examples/access_log_parquet.flow end to end, exactly as written: an access log tailed from its
//! start, parsed (unparseable lines to a dead-letter topic that group "audit" logs), filtered,
//! stamped with the host name, through a durable `file` channel into Parquet bucketed by the
//! records' own hour. Stopped with SIGTERM, every kept line is in the Parquet files once, with the
//! declared column types, as an independent reader (pyarrow) sees them.

mod run_common;

use run_common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;

/// A line of Apache's combined format, read by the test's own means: host, ISO time, method,
/// path, status, bytes (`-` is 0, as `parse combined` reads it for an `int`).
fn fields(line: &str) -> (String, String, String, String, i64, i64) {
    let w: Vec<&str> = line.split(' ').collect();
    let stamp = w[3].trim_start_matches('['); // 01/Jan/2026:00:00:00
    let (date, time) = stamp.split_once(':').unwrap();
    let d: Vec<&str> = date.split('/').collect();
    assert_eq!(d[1], "Jan", "the sample is all January");
    let iso = format!("{}-01-{}T{}+00:00", d[2], d[0], time);
    (
        w[0].into(),
        iso,
        w[5].trim_start_matches('"').into(),
        w[6].into(),
        w[8].parse().unwrap(),
        w[9].parse().unwrap_or(0),
    )
}

#[test]
fn the_access_log_parquet_example_keeps_every_wanted_line_once_as_typed_parquet() {
    let s = Scratch::new();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/access_log_parquet.flow"),
        s.path().join("pipeline.flow"),
    )
    .unwrap();
    let sample = include_str!("../examples/data/access.log");
    let garbage = ["this is not an access log line", "GET / HTTP/1.1", "127.0.0.1 - - [bad date] \"GET /\" x y"];
    let mut input = String::new();
    for (i, line) in sample.lines().enumerate() {
        input.push_str(line);
        input.push('\n');
        if i % 300 == 150 {
            input.push_str(garbage[i / 300]);
            input.push('\n');
        }
    }
    s.write("logs/access.log", &input);
    let wanted: Vec<_> =
        sample.lines().map(fields).filter(|(_, _, method, _, status, _)| method != "HEAD" && *status < 500).collect();

    let mut child = s
        .command(&["run", "pipeline.flow", "--stats", "log", "--stats-interval", "200ms"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowc starts");
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    for (is_out, pipe) in [
        (true, Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>),
        (false, Box::new(child.stderr.take().unwrap())),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send((is_out, line));
            }
        });
    }
    // The sink has taken every wanted line (its files stay in use until rolled or stopped), and the
    // audit group has logged every rejected line.
    let (mut rejected, mut stderr) = (Vec::new(), String::new());
    let mut warehouse_in = 0;
    while warehouse_in < wanted.len() || rejected.len() < garbage.len() {
        let (is_out, line) = rx.recv_timeout(PATIENCE).unwrap_or_else(|_| panic!("stuck; stderr:\n{stderr}"));
        if is_out {
            rejected.push(line);
        } else {
            if let Some(rest) = line.split("INFO warehouse (sink files): in ").nth(1) {
                warehouse_in = rest.split(' ').next().unwrap().parse().unwrap();
            }
            stderr.push_str(&line);
            stderr.push('\n');
        }
    }
    let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    stderr.extend(rx.try_iter().filter(|(o, _)| !o).map(|(_, l)| l + "\n"));
    assert!(status.success(), "{status:?}\n{stderr}");

    for bad in garbage {
        assert!(rejected.iter().any(|l| l.contains(bad)), "{bad:?} was not logged by the audit group: {rejected:?}");
    }
    // One bucket: the sample is one hour of 2026-01-01.
    let files = read_back(&s.path().join("out"));
    assert!(!files.is_empty(), "no finished files:\n{stderr}");
    let mut rows = Vec::new();
    for file in &files {
        let name = file["file"].as_str().unwrap();
        assert!(name.starts_with("access/2026/01/01/00/") && name.ends_with(".parquet"), "{name}");
        let columns: Vec<(String, String)> = file["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c[0].as_str().unwrap().to_string(), c[1].as_str().unwrap().to_string()))
            .collect();
        let want = [
            ("host", "string"),
            ("ts", "timestamp[ms, tz=UTC]"),
            ("method", "string"),
            ("path", "string"),
            ("status", "int64"),
            ("bytes", "int64"),
            ("source_host", "string"),
        ];
        let want: Vec<(String, String)> = want.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
        assert_eq!(columns, want, "{name}: the checked record type, `agent` dropped");
        for row in file["rows"].as_array().unwrap() {
            let r = row.as_array().unwrap();
            assert!(!r[6].as_str().unwrap().is_empty(), "source_host is set");
            rows.push((
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().unwrap().to_string(),
                r[2].as_str().unwrap().to_string(),
                r[3].as_str().unwrap().to_string(),
                r[4].as_i64().unwrap(),
                r[5].as_i64().unwrap(),
            ));
        }
    }
    let mut got = rows.clone();
    got.sort();
    let mut want = wanted.clone();
    want.sort();
    assert_eq!(got.len(), want.len(), "each wanted line once");
    assert_eq!(got, want);
}
