//! `flowc run` from standard input through transforms into the `files` sink: time-bucketed
//! directories, `%{field}` directories, rolled files, `.tmp` renamed on close; every matching line
//! exactly once; the run ends by itself when standard input closes.

mod run_common;

use run_common::*;
use std::collections::BTreeMap;

/// Every finished file under `dir`: relative path → lines.
fn files(dir: &std::path::Path) -> BTreeMap<String, Vec<String>> {
    tree(dir)
        .into_iter()
        .map(|rel| {
            let text = std::fs::read_to_string(dir.join(&rel)).unwrap();
            (rel, text.lines().map(str::to_string).collect())
        })
        .collect()
}

#[test]
fn lines_matching_where_land_once_in_rolled_files() {
    let s = Scratch::new();
    s.write(
        "agent.flow",
        r##"
source input = stdin { batch_size = 7 }
channel c1 = memory { capacity = 50 }
sink k1 = files {
  path   = "out/%Y-%m-%d/"
  prefix = "part-"
  roll   = { count = 5, interval = 0s }
  use_local_time = true
}
input | where contains(line, "keep") and not starts_with(line, "#") -> c1 -> k1
"##,
    );
    let mut input = String::new();
    let mut expected = Vec::new();
    for i in 0..103 {
        let line = match i % 3 {
            0 => format!("keep {i}"),
            1 => format!("drop {i}"),
            _ => format!("# keep {i} (a comment)"),
        };
        if i % 3 == 0 {
            expected.push(line.clone());
        }
        input.push_str(&line);
        input.push('\n');
    }
    let out = s.run("agent.flow", &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("every source ended"), "{stderr}");

    let written = files(&s.path().join("out"));
    assert!(written.keys().all(|k| !k.ends_with(".tmp")), "in-use files left: {written:?}");
    for (name, lines) in &written {
        // out/<yyyy-mm-dd>/part-<n>.log, five lines at most
        let parts: Vec<&str> = name.split('/').collect();
        assert_eq!(parts.len(), 2, "{name}");
        assert_eq!(parts[0].len(), 10, "{name}");
        assert!(parts[1].starts_with("part-") && parts[1].ends_with(".log"), "{name}");
        assert!(lines.len() <= 5, "{name} has {} lines", lines.len());
    }
    // In order within one bucket; a run crossing midnight splits them across two, so compare sets too.
    let mut all: Vec<String> = written.values().flatten().cloned().collect();
    all.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(all, want, "every matching line exactly once");
    if written.keys().all(|k| k.starts_with(written.keys().next().unwrap().split('/').next().unwrap())) {
        assert_eq!(written.len(), expected.len().div_ceil(5), "rolled every 5 events");
    }
    let (r_in, r_out, _) = node_counts(&stderr, "k1");
    assert_eq!((r_in, r_out), (expected.len() as u64, expected.len() as u64));
}

#[test]
fn json_events_are_bucketed_by_their_own_time_and_fields() {
    let s = Scratch::new();
    s.write(
        "events.flow",
        r#"
type Event = { ts: timestamp, level: string, n: int, msg: string? }

source input = stdin {}
channel c1 = memory {}
sink k1 = files {
  path   = "out/%Y/%m/%d/%H%M/%{level}/"
  prefix = "ev-"
  round  = 30m
  roll   = { count = 4 }
  format = json
}
input
  | parse json as Event
  | where level != "debug" and n % 2 == 0
  | set seen = true
  | drop msg
  -> c1 -> k1
"#,
    );
    // 10:05 and 10:29 fall in the 10:00 bucket, 10:31 in 10:30.
    let times = ["2026-11-25T10:05:00Z", "2026-11-25T10:29:59Z", "2026-11-25T10:31:00Z"];
    let levels = ["info", "error", "debug"];
    let mut input = String::new();
    let mut expected: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for n in 0..60i64 {
        let ts = times[(n as usize / 2) % 3];
        let level = levels[(n as usize / 6) % 3];
        input.push_str(&format!("{{\"ts\":\"{ts}\",\"level\":\"{level}\",\"n\":{n},\"msg\":\"m{n}\"}}\n"));
        if level != "debug" && n % 2 == 0 {
            let bucket = if ts.starts_with("2026-11-25T10:3") { "1030" } else { "1000" };
            expected.entry(format!("out/2026/11/25/{bucket}/{level}")).or_default().push(n);
        }
    }
    input.push_str("not json\n{\"ts\":\"2026-11-25T10:05:00Z\",\"level\":\"info\"}\n");
    let out = s.run("events.flow", &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let written = files(&s.path().join("out"));
    let mut by_dir: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
    for (name, lines) in &written {
        let (dir, file) = name.rsplit_once('/').unwrap();
        by_dir.entry(format!("out/{dir}")).or_default().push((file.to_string(), lines.len()));
    }
    assert_eq!(by_dir.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "{written:?}");
    for (dir, ns) in &expected {
        // Rolled every 4 events: ev-0.json, ev-1.json, … in order, the last one partial.
        let files = &by_dir[dir];
        let sizes: Vec<usize> = files.iter().map(|(_, n)| *n).collect();
        let mut want = vec![4; ns.len() / 4];
        if ns.len() % 4 > 0 {
            want.push(ns.len() % 4);
        }
        assert_eq!(sizes, want, "{dir}: {files:?}");
        let names: Vec<String> = (0..want.len()).map(|i| format!("ev-{i}.json")).collect();
        assert_eq!(files.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>(), names);
        let mut got = Vec::new();
        for (file, _) in files {
            for line in &written[&format!("{}/{file}", dir.strip_prefix("out/").unwrap())] {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                assert_eq!(v["seen"], true);
                assert!(v.get("msg").is_none(), "msg was dropped: {line}");
                assert!(v["ts"].as_str().unwrap().starts_with("2026-11-25T10:"), "{line}");
                got.push(v["n"].as_i64().unwrap());
            }
        }
        assert_eq!(&got, ns, "{dir}: every event once, in order");
    }
    // Two lines did not parse: counted, not fatal.
    let (p_in, p_out, p_errors) = node_counts(&stderr, "input|parse#1");
    assert_eq!((p_in, p_out, p_errors), (62, 60, 2), "{stderr}");
}

#[test]
fn events_of_one_batch_go_to_the_hour_and_day_of_their_own_time() {
    // One batch whose rows hop between hours and days (and seconds inside an hour): the path is
    // worked out again only when a row's hour differs from the row before's, never reused across.
    let s = Scratch::new();
    s.write(
        "hours.flow",
        r#"
type Event = { ts: timestamp, n: int }
source input = stdin { batch_size = 1000 }
sink k1 = files { path = "out/%Y-%m-%d/%H/", prefix = "ev-", format = json }
input | parse json as Event -> k1
"#,
    );
    let times = [
        "2026-11-25T10:00:00Z",
        "2026-11-25T10:59:59Z",
        "2026-11-25T11:00:00Z",
        "2026-11-25T10:30:00Z",
        "2026-11-25T23:59:59Z",
        "2026-11-26T00:00:00Z",
        "2026-11-26T00:00:01Z",
        "2026-11-25T23:00:00Z",
    ];
    let mut input = String::new();
    let mut expected: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for n in 0..40i64 {
        let ts = times[n as usize % times.len()];
        input.push_str(&format!("{{\"ts\":\"{ts}\",\"n\":{n}}}\n"));
        expected.entry(format!("{}/{}", &ts[..10], &ts[11..13])).or_default().push(n);
    }
    let out = s.run("hours.flow", &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let mut got: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (name, lines) in files(&s.path().join("out")) {
        let (dir, _) = name.rsplit_once('/').unwrap();
        for line in lines {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(&v["ts"].as_str().unwrap()[..13].replace('T', "/"), dir, "{line} in {name}");
            got.entry(dir.to_string()).or_default().push(v["n"].as_i64().unwrap());
        }
    }
    assert_eq!(got, expected);
}

#[test]
fn in_use_files_left_by_a_crash_are_finished_and_numbering_goes_on() {
    let s = Scratch::new();
    s.write("agent.flow", "source i = stdin {}\nsink k = files { path = \"out/logs/\", prefix = \"p-\" }\ni -> k\n");
    // What a killed run leaves: a finished file and the one it was writing.
    s.write("out/logs/p-0.log", "old 1\n");
    s.write("out/logs/p-1.log.tmp", "old 2\n");
    let out = s.run("agent.flow", "new 1\nnew 2\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("finished 1 in-use file(s)"), "{stderr}");
    assert_eq!(
        files(&s.path().join("out")).into_iter().collect::<Vec<_>>(),
        [
            ("logs/p-0.log".to_string(), vec!["old 1".to_string()]),
            ("logs/p-1.log".to_string(), vec!["old 2".to_string()]),
            ("logs/p-2.log".to_string(), vec!["new 1".to_string(), "new 2".to_string()]),
        ]
    );
}

#[test]
fn a_sink_that_keeps_failing_is_retried_max_retries_times_then_reported_and_the_run_fails() {
    let s = Scratch::new();
    s.write("agent.flow", "source i = stdin {}\nsink k = files { path = \"out/logs/\", max_retries = 2 }\ni -> k\n");
    // A plain file where the sink needs a directory: every write fails.
    s.write("out", "not a directory\n");
    let out = s.run("agent.flow", "one\ntwo\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("write failed (attempt 1 of 3"), "{stderr}");
    assert!(stderr.contains("write failed (attempt 2 of 3"), "{stderr}");
    assert!(!stderr.contains("attempt 3 of 3"), "{stderr}");
    assert!(stderr.contains("error: k: ./out/logs/: Not a directory"), "{stderr}");
    assert!(stderr.contains("flowc run: failed (1 error)"), "{stderr}");
    let (k_in, k_out, k_errors) = node_counts(&stderr, "k");
    assert_eq!((k_in, k_out, k_errors), (2, 0, 2), "{stderr}");
}
