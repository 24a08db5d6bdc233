//! The `files` sink's formats through the real binary, read back by an independent reader (pyarrow,
//! `tests/formats/read_back.py`): Parquet, Arrow IPC, CSV and NDJSON, compressed or not, in time
//! buckets; every input row once, with the declared column types; `%{field}` values never escape the
//! sink's root in any format; a run killed mid-file leaves no half-written Parquet file, and the
//! restart rebuilds it from its journal.

mod run_common;

use run_common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const HIT: &str = "type Hit = { ts: timestamp, host: string, status: int, latency: float, ok: bool, note: string? }";

/// One input event: its JSON line and its fields as text (`ts` to the second, null as empty).
fn hit(n: usize, host: &str) -> (String, Vec<String>) {
    let (h, m, s) = (10 + n % 3, (n * 7) % 60, n % 60);
    let ts = format!("2026-11-25T{h:02}:{m:02}:{s:02}");
    let latency = n as f64 / 4.0;
    let ok = n.is_multiple_of(2);
    let note = if n.is_multiple_of(3) { Value::Null } else { Value::from(format!("note, \"{n}\"")) };
    let line = serde_json::json!({"ts": format!("{ts}Z"), "host": host, "status": 200 + n % 5, "latency": latency, "ok": ok, "note": note});
    let text = vec![
        ts,
        host.to_string(),
        (200 + n % 5).to_string(),
        latency.to_string(),
        ok.to_string(),
        note.as_str().unwrap_or("").to_string(),
    ];
    (line.to_string(), text)
}

/// A value as the test compares it: text, numbers normalised, null as empty.
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |f| f.to_string()),
        other => other.to_string(),
    }
}

/// The rows of one read-back file as text, in the record type's field order.
fn rows_of(file: &Value) -> Vec<Vec<String>> {
    let names = ["ts", "host", "status", "latency", "ok", "note"];
    file["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let mut fields: Vec<String> = match row {
                Value::Object(o) => names.iter().map(|n| text(o.get(*n).unwrap_or(&Value::Null))).collect(),
                Value::Array(a) => a.iter().map(text).collect(),
                other => panic!("unexpected row {other}"),
            };
            fields[0].truncate(19); // to the second: `2026-11-25T10:07:01`
                                    // CSV reads every column as text: numbers are compared as numbers.
            if let Ok(f) = fields[3].parse::<f64>() {
                fields[3] = f.to_string();
            }
            fields
        })
        .collect()
}

fn sink_options(format: &str, compression: Option<&str>) -> String {
    let mut o = format!("format = {format}");
    if let Some(c) = compression {
        o.push_str(&format!("\n  compression = {c}"));
    }
    o
}

#[test]
fn every_format_reads_back_with_pyarrow_once_per_row_with_the_declared_types() {
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("parquet", None, ".parquet"),
        ("parquet", Some("snappy"), ".parquet"),
        ("parquet", Some("none"), ".parquet"),
        ("arrow", None, ".arrow"),
        ("arrow", Some("zstd"), ".arrow"),
        ("csv", None, ".csv"),
        ("csv", Some("gzip"), ".csv.gz"),
        ("json", Some("gzip"), ".json.gz"),
        ("json", Some("zstd"), ".json.zst"),
    ];
    let typed = [
        ("ts", "timestamp[ms, tz=UTC]", false),
        ("host", "string", false),
        ("status", "int64", false),
        ("latency", "double", false),
        ("ok", "bool", false),
        ("note", "string", true),
    ];
    for &(format, compression, suffix) in cases {
        let s = Scratch::new();
        s.write(
            "hits.flow",
            &format!(
                "{HIT}\nsource input = stdin {{ batch_size = 40 }}\nsink k = files {{\n  path = \"out/%Y%m%d/%H/\"\n  prefix = \"hits-\"\n  {}\n}}\ninput | parse json as Hit -> k\n",
                sink_options(format, compression)
            ),
        );
        let mut input = String::new();
        let mut expected: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
        for n in 0..600 {
            let (line, fields) = hit(n, &format!("web-{}", n % 4));
            input.push_str(&line);
            input.push('\n');
            expected.entry(format!("20261125/{}", &fields[0][11..13])).or_default().push(fields);
        }
        let out = s.run("hits.flow", &input);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{format} {compression:?}: {stderr}");

        let files = read_back(&s.path().join("out"));
        let mut got: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
        for file in &files {
            let name = file["file"].as_str().unwrap();
            let (dir, base) = name.rsplit_once('/').unwrap();
            assert!(base.starts_with("hits-") && base.ends_with(suffix), "{format} {compression:?}: {name}");
            match format {
                "parquet" | "arrow" => {
                    let columns: Vec<(String, String, bool)> = file["columns"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| (text(&c[0]), text(&c[1]), c[2].as_bool().unwrap()))
                        .collect();
                    let want: Vec<(String, String, bool)> =
                        typed.iter().map(|(n, t, null)| (n.to_string(), t.to_string(), *null)).collect();
                    assert_eq!(columns, want, "{format} {compression:?}: {name}");
                }
                "csv" => {
                    let names: Vec<String> = file["columns"].as_array().unwrap().iter().map(|c| text(&c[0])).collect();
                    assert_eq!(names, ["ts", "host", "status", "latency", "ok", "note"], "header of {name}");
                }
                _ => {}
            }
            got.entry(dir.to_string()).or_default().extend(rows_of(file));
        }
        assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "{format} {compression:?}");
        for (dir, rows) in &expected {
            assert_eq!(&got[dir], rows, "{format} {compression:?}: {dir}: every row once, in order");
        }
        let left: Vec<String> = tree(&s.path().join("out")).into_iter().filter(|f| !f.ends_with(suffix)).collect();
        assert!(left.is_empty(), "{format} {compression:?}: in-use files or journals left: {left:?}");
    }
}

#[test]
fn field_values_in_paths_never_escape_the_root_in_any_format() {
    let hostile = [
        "..".to_string(),
        ".".to_string(),
        "../x".to_string(),
        "../../etc/passwd".to_string(),
        "/etc/x".to_string(),
        "a/../../b".to_string(),
        "a\\..\\..\\b".to_string(),
        "nul\u{0}byte".to_string(),
        "%2e%2e".to_string(),
        "%2e%2e%2fx".to_string(),
        "a".repeat(4096),
        "\u{FF0E}\u{FF0E}".to_string(), // fullwidth dots
        "a\u{2215}b".to_string(),       // division slash
        "".to_string(),
    ];
    let cases: &[(&str, Option<&str>)] =
        &[("lines", None), ("json", Some("gzip")), ("csv", None), ("parquet", None), ("arrow", None)];
    for &(format, compression) in cases {
        let s = Scratch::new();
        s.write(
            "hits.flow",
            &format!(
                "{HIT}\nsource input = stdin {{}}\nsink k = files {{\n  path = \"out/%{{host}}/\"\n  {}\n}}\ninput | parse json as Hit -> k\n",
                sink_options(format, compression)
            ),
        );
        let mut input = String::new();
        for (n, host) in hostile.iter().enumerate() {
            for r in 0..3 {
                input.push_str(&hit(n * 3 + r, host).0);
                input.push('\n');
            }
        }
        let out = s.run("hits.flow", &input);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{format}: {stderr}");
        // Nothing outside `out/` but the flow file itself.
        let all = tree(s.path());
        let outside: Vec<&String> = all.iter().filter(|f| *f != "hits.flow" && !f.starts_with("out/")).collect();
        assert!(outside.is_empty(), "{format}: written outside the root: {outside:?}");
        let root = s.path().join("out").canonicalize().unwrap();
        let mut dirs = std::collections::BTreeSet::new();
        for f in tree(&root) {
            let real = root.join(&f).canonicalize().unwrap();
            assert!(real.starts_with(&root), "{format}: {f} escapes to {}", real.display());
            // One directory per value, right under the root.
            let parts: Vec<&str> = f.split('/').collect();
            assert_eq!(parts.len(), 2, "{format}: {f}");
            dirs.insert(parts[0].to_string());
            assert!(parts[0].len() <= 255, "{format}: a component longer than a file name may be: {f}");
        }
        assert_eq!(dirs.len(), hostile.len(), "{format}: one directory per distinct value: {dirs:?}");
        if format != "lines" {
            let rows: usize = read_back(&root).iter().map(|f| f["rows"].as_array().unwrap().len()).sum();
            assert_eq!(rows, hostile.len() * 3, "{format}: every row once");
        }
    }
}

#[test]
fn a_run_killed_mid_file_leaves_no_half_parquet_and_the_restart_rebuilds_it() {
    let s = Scratch::new();
    s.write(
        "hits.flow",
        &format!(
            "{HIT}\nsource input = stdin {{ batch_size = 10 }}\nsink k = files {{\n  path = \"out/\"\n  format = parquet\n}}\ninput | parse json as Hit -> k\n"
        ),
    );
    let mut run = s.start("hits.flow");
    let mut sent = Vec::new();
    {
        use std::io::Write;
        let stdin = run.child.stdin.as_mut().unwrap();
        for n in 0..50 {
            let (line, fields) = hit(n, "web");
            writeln!(stdin, "{line}").unwrap();
            sent.push(fields);
        }
        stdin.flush().unwrap();
    }
    // Wait until the journal holds the rows (all five batches acknowledged), then kill -9.
    let journal = s.path().join("out/0.parquet.tmp.rows");
    let start = Instant::now();
    while std::fs::metadata(&journal).map_or(0, |m| m.len()) < 2_000 {
        assert!(start.elapsed() < PATIENCE, "no journal at {}", journal.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let _ = run.child.kill();
    let _ = run.child.wait();
    let left = tree(&s.path().join("out"));
    assert!(
        left.iter().all(|f| !f.ends_with(".parquet")),
        "a Parquet file under its final name before its footer: {left:?}"
    );

    let out = s.run("hits.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("finished 1 in-use file(s)"), "{stderr}");
    assert_eq!(tree(&s.path().join("out")), ["0.parquet"]);
    let files = read_back(&s.path().join("out"));
    let rows = rows_of(&files[0]);
    assert!(!rows.is_empty() && rows.len() <= sent.len(), "{rows:?}");
    assert_eq!(rows, sent[..rows.len()], "the rebuilt file holds the acknowledged rows, in order");
}

#[test]
fn parquet_files_roll_by_the_bytes_they_hold() {
    let s = Scratch::new();
    s.write(
        "hits.flow",
        &format!(
            "{HIT}\nsource input = stdin {{ batch_size = 1000 }}\nsink k = files {{\n  path = \"out/\"\n  format = parquet\n  roll = {{ size = 1MiB }}\n}}\ninput | parse json as Hit -> k\n"
        ),
    );
    let mut input = String::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for n in 0..60_000 {
        // Notes that do not compress: a file's size follows its row count.
        let mut note = String::new();
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            note.push_str(&format!("{state:016x}"));
        }
        let line = serde_json::json!({"ts": "2026-11-25T10:00:00Z", "host": "h", "status": n, "latency": 1.0, "ok": true, "note": note});
        input.push_str(&line.to_string());
        input.push('\n');
    }
    let out = s.run("hits.flow", &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let files = read_back(&s.path().join("out"));
    assert!(files.len() >= 3, "60,000 rows of ~70 bytes roll at 1 MiB: {} file(s)", files.len());
    let mut statuses = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let name = f["file"].as_str().unwrap();
        let len = std::fs::metadata(s.path().join("out").join(name)).unwrap().len();
        // Counted as stored (compressed), not as the rows' size in memory: close to 1 MiB.
        assert!(len <= (1 << 20) + (1 << 20) / 10, "{name} holds {len} bytes, rolled at 1 MiB");
        if i + 1 < files.len() {
            assert!(len >= (1 << 20) * 8 / 10, "{name} holds only {len} bytes before rolling at 1 MiB");
        }
        statuses.extend(f["rows"].as_array().unwrap().iter().map(|r| r[2].as_i64().unwrap()));
    }
    statuses.sort_unstable();
    assert_eq!(statuses, (0..60_000).collect::<Vec<i64>>(), "every row once");
}

#[test]
fn a_compression_the_format_cannot_use_is_refused_naming_the_sink() {
    let s = Scratch::new();
    s.write(
        "hits.flow",
        &format!("{HIT}\nsource input = stdin {{}}\nsink k = files {{ path = \"out/\", format = json, compression = snappy }}\ninput | parse json as Hit -> k\n"),
    );
    let out = s.run("hits.flow", &hit(1, "h").0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains('k') && stderr.contains("`compression = snappy` does not apply to `format = json`"),
        "{stderr}"
    );
    assert!(!s.path().join("out").exists(), "nothing written");
}
