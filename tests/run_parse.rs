//! `parse combined`, `parse common` and `parse regex` turn lines into typed records: the repository's
//! sample access log parses whole, `-` bytes become 0 (or null when optional), lines that do not match
//! are counted and dropped, and the typed fields work in `where` and in the output.

mod run_common;

use run_common::*;

const SAMPLE: &str = include_str!("../examples/data/access.log");

#[test]
fn the_sample_access_log_parses_as_combined_and_filters_on_typed_fields() {
    let s = Scratch::new();
    s.write(
        "access.flow",
        r#"
type Access = { host: string, ts: timestamp, method: string, path: string, status: int, bytes: int, agent: string }

source input = stdin { batch_size = 128 }
sink errors = files { path = "out/%Y-%m-%d/", format = json }
input | parse combined as Access | where status >= 400 | select { host, ts, status, bytes } -> errors
"#,
    );
    let input = format!("{SAMPLE}this line is not an access log\n");
    let out = s.run("access.flow", &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    // What awk sees: field 9 is the status, field 10 the bytes.
    let want: Vec<(String, i64, i64)> = SAMPLE
        .lines()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .filter(|f| f[8].parse::<i64>().unwrap() >= 400)
        .map(|f| (f[0].to_string(), f[8].parse().unwrap(), f[9].parse().unwrap_or(0)))
        .collect();
    assert!(!want.is_empty());
    // Bucketed by the events' own time (the sample is all 2026-01-01).
    assert_eq!(tree(&s.path().join("out")), ["2026-01-01/0.json"]);
    let text = std::fs::read_to_string(s.path().join("out/2026-01-01/0.json")).unwrap();
    let got: Vec<(String, i64, i64)> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(v["ts"].as_str().unwrap().starts_with("2026-01-01T"), "{l}");
            (v["host"].as_str().unwrap().to_string(), v["status"].as_i64().unwrap(), v["bytes"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(got, want);
    let (p_in, p_out, p_errors) = node_counts(&stderr, "input|parse#1");
    assert_eq!((p_in, p_out, p_errors), (1001, 1000, 1), "{stderr}");
}

#[test]
fn regex_groups_fill_typed_fields_and_missing_optional_groups_are_null() {
    let s = Scratch::new();
    s.write(
        "kv.flow",
        r#"
source input = stdin {}
sink out = logger {}
input | parse regex "^(?P<level>[A-Z]+) (?P<code>[0-9]+)(?: (?P<ratio>[0-9.]+))?$" as { level: string, code: int, ratio: float? } -> out
"#,
    );
    let out = s.run("kv.flow", "WARN 12 0.5\nINFO 7\nbad line\nERROR x\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout, "level=WARN code=12 ratio=0.5\nlevel=INFO code=7 ratio=null\n");
    assert_eq!(node_counts(&stderr, "input|parse#1"), (4, 2, 2), "{stderr}");
}

#[test]
fn a_parse_working_on_several_batches_at_once_keeps_their_order() {
    // Small batches and lines of very different cost, so batches parsed side by side finish out of
    // order: what comes out is still in input order, with rejections counted.
    let s = Scratch::new();
    s.write(
        "order.flow",
        r#"
type Row = { n: int, pad: string? }
source input = stdin { batch_size = 50 }
sink out = files { path = "out/", format = json }
input | parse json as Row -> out
"#,
    );
    let n = 20_000;
    let input: String = (0..n)
        .map(|i| match i % 997 {
            0 => "not json\n".to_string(),
            _ if (i / 50) % 2 == 0 => format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "p".repeat(400)),
            _ => format!("{{\"n\":{i}}}\n"),
        })
        .collect();
    let out = s.run("order.flow", &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let text = std::fs::read_to_string(s.path().join("out/0.json")).unwrap();
    let got: Vec<i64> =
        text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["n"].as_i64().unwrap()).collect();
    let want: Vec<i64> = (0..n).filter(|i| i % 997 != 0).collect();
    assert_eq!(got, want);
    let rejected = (0..n).filter(|i| i % 997 == 0).count() as u64;
    assert_eq!(node_counts(&stderr, "input|parse#1").2, rejected, "{stderr}");
}
