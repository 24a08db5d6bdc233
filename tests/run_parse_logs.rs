//! Access logs as real servers write them, syslog and logfmt through `flowc run`: Apache's `-` and
//! binary requests as records when the type lets them be, escapes undone, non-UTF-8 bytes and
//! overlong lines, rejects counted and sent to the dead-letter target, and `check`'s W0009.

mod run_common;

use run_common::*;
use serde_json::{json, Value};

fn json_lines(s: &Scratch, rel: &str) -> Vec<Value> {
    std::fs::read_to_string(s.path().join(rel)).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

const T: &str = "[10/Oct/2000:13:55:36 -0700]";

fn access_input() -> String {
    [
        format!(r#"192.0.2.1 - - {T} "GET /a b.html HTTP/1.1" 200 5 "-" "curl/8""#),
        format!(r#"192.0.2.2 - - {T} "-" 408 - "-" "-""#),
        format!(r#"2001:db8::3 - - {T} "\x16\x03\x01" 400 226 "-" "-""#),
        format!(r#"192.0.2.4 - - {T} "GET /q?x=\"1\" HTTP/1.1" 200 - "http://e.com/\"r\"" "Bot \"2\" \\o/""#),
        format!(r#"192.0.2.5 - - {T} "GET / HTTP/1.1" 200 5"#),
        "not an access log".to_string(),
    ]
    .map(|l| l + "\n")
    .concat()
}

#[test]
fn dash_and_binary_requests_become_records_when_method_path_and_protocol_are_optional() {
    let s = Scratch::new();
    s.write(
        "a.flow",
        r#"
type Access = { host: string, method: string?, path: string?, protocol: string?, request: string?, status: int, bytes: int?, referer: string, agent: string }
source input = stdin {}
sink out = files { path = "out/", format = json }
sink bad = files { path = "bad/" }
input | parse combined as Access else -> bad -> out
"#,
    );
    let check = s.command(&["check", "a.flow"]).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&check.stdout), String::from_utf8_lossy(&check.stderr));
    assert!(check.status.success() && text.contains("check ok") && !text.contains("W0009"), "{text}");
    let out = s.run("a.flow", &access_input());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let rows = json_lines(&s, "out/0.json");
    assert_eq!(
        rows,
        [
            json!({"host": "192.0.2.1", "method": "GET", "path": "/a b.html", "protocol": "HTTP/1.1", "request": "GET /a b.html HTTP/1.1", "status": 200, "bytes": 5, "referer": "-", "agent": "curl/8"}),
            json!({"host": "192.0.2.2", "method": null, "path": null, "protocol": null, "request": "-", "status": 408, "bytes": null, "referer": "-", "agent": "-"}),
            json!({"host": "2001:db8::3", "method": null, "path": null, "protocol": null, "request": r"\x16\x03\x01", "status": 400, "bytes": 226, "referer": "-", "agent": "-"}),
            json!({"host": "192.0.2.4", "method": "GET", "path": "/q?x=\"1\"", "protocol": "HTTP/1.1", "request": "GET /q?x=\"1\" HTTP/1.1", "status": 200, "bytes": null, "referer": "http://e.com/\"r\"", "agent": "Bot \"2\" \\o/"}),
        ]
    );
    // No referer and agent, and not a log line at all: counted and sent to the dead-letter sink.
    let bad = std::fs::read_to_string(s.path().join("bad/0.log")).unwrap();
    assert_eq!(
        bad.lines().collect::<Vec<_>>(),
        [format!(r#"192.0.2.5 - - {T} "GET / HTTP/1.1" 200 5"#).as_str(), "not an access log"]
    );
    assert_eq!(node_counts(&stderr, "input|parse#1"), (6, 4, 2), "{stderr}");
}

#[test]
fn a_type_that_requires_the_request_parts_drops_those_lines_and_check_warns_w0009() {
    let s = Scratch::new();
    s.write(
        "a.flow",
        r#"
type Access = { host: string, method: string, path: string, status: int }
source input = stdin {}
sink out = files { path = "out/", format = json }
input | parse common as Access -> out
"#,
    );
    let check = s.command(&["check", "a.flow"]).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&check.stdout), String::from_utf8_lossy(&check.stderr));
    assert_eq!(check.status.code(), Some(0), "{text}");
    assert!(text.contains("W0009") && text.contains("drops the lines whose request is `-`"), "{text}");
    assert!(text.contains("`method`, `path`") && text.contains("help:"), "{text}");
    let out = s.run("a.flow", &access_input());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let hosts: Vec<Value> = json_lines(&s, "out/0.json").iter().map(|r| r["host"].clone()).collect();
    assert_eq!(hosts, ["192.0.2.1", "192.0.2.4", "192.0.2.5"], "the two lines without a request were dropped");
    assert_eq!(node_counts(&stderr, "input|parse#1"), (6, 3, 3), "{stderr}");
    assert!(stderr.contains("field `method` is missing or not a string"), "{stderr}");
}

#[test]
fn non_utf8_bytes_and_overlong_lines_parse_without_losing_the_line() {
    let s = Scratch::new();
    s.write(
        "a.flow",
        r#"
type Access = { host: string, path: string, agent: string }
source input = stdin {}
sink out = files { path = "out/", format = json }
input | parse combined as Access -> out
"#,
    );
    let mut input = format!(r#"192.0.2.1 - - {T} "GET /caf"#).into_bytes();
    input.extend_from_slice(b"\xe9 HTTP/1.1\" 200 5 \"-\" \"Mo\xff\xfezilla\"\n");
    let long = "x".repeat(300_000);
    input.extend_from_slice(format!("192.0.2.2 - - {T} \"GET /{long} HTTP/1.1\" 200 5 \"-\" \"-\"\n").as_bytes());
    let out = s.run_bytes("a.flow", &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let rows = json_lines(&s, "out/0.json");
    assert_eq!(rows[0], json!({"host": "192.0.2.1", "path": "/caf\u{fffd}", "agent": "Mo\u{fffd}\u{fffd}zilla"}));
    assert_eq!(rows[1]["path"].as_str().map(str::len), Some(long.len() + 1));
    assert_eq!(rows.len(), 2);
}

#[test]
fn syslog_of_both_rfcs_fills_typed_fields_and_rejects_what_is_not_syslog() {
    let s = Scratch::new();
    s.write(
        "s.flow",
        r#"
type Sys = { ts: timestamp?, host: string?, app: string?, pid: int?, msgid: string?, severity: string?, facility: string?, priority: int?, structured_data: string?, message: string }
source input = stdin {}
sink out = files { path = "out/", format = json }
sink bad = files { path = "bad/" }
input | parse syslog as Sys else -> bad -> out
"#,
    );
    let input = concat!(
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 77 ID47 [exampleSDID@32473 iut=\"3\" src=\"a \\\"b\\\"\"] An application event\n",
        "<34>Oct  1 22:14:15 mymachine su[230]: 'su root' failed\n",
        "just some text\n",
        "<13>1 - - - - - -\n",
    );
    let out = s.run("s.flow", input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let rows = json_lines(&s, "out/0.json");
    assert_eq!(
        rows[0],
        json!({"ts": "2003-10-11T22:14:15.003Z", "host": "mymachine.example.com", "app": "evntslog", "pid": 77, "msgid": "ID47",
               "severity": "notice", "facility": "local4", "priority": 165,
               "structured_data": "[exampleSDID@32473 iut=\"3\" src=\"a \\\"b\\\"\"]", "message": "An application event"})
    );
    assert_eq!(
        (rows[1]["host"].as_str(), rows[1]["app"].as_str(), rows[1]["pid"].as_i64()),
        (Some("mymachine"), Some("su"), Some(230))
    );
    assert_eq!((rows[1]["severity"].as_str(), rows[1]["facility"].as_str()), (Some("crit"), Some("auth")));
    assert!(rows[1]["ts"].as_str().unwrap().ends_with("-10-01T22:14:15.000Z"), "{:?}", rows[1]);
    assert_eq!(
        rows[2],
        json!({"ts": null, "host": null, "app": null, "pid": null, "msgid": null, "severity": "notice", "facility": "user", "priority": 13, "structured_data": null, "message": ""})
    );
    assert_eq!(std::fs::read_to_string(s.path().join("bad/0.log")).unwrap(), "just some text\n");
    assert_eq!(node_counts(&stderr, "input|parse#1"), (4, 3, 1), "{stderr}");
    assert!(stderr.contains("it is not a syslog message"), "{stderr}");
}

#[test]
fn logfmt_pairs_fill_fields_by_name_with_quotes_escapes_and_bare_keys() {
    let s = Scratch::new();
    s.write(
        "l.flow",
        r#"
type Entry = { ts: timestamp, level: string, took_ms: float?, status: int?, cached: bool?, msg: string }
source input = stdin {}
sink out = files { path = "out/", format = json }
input | parse logfmt as Entry -> out
"#,
    );
    let input = concat!(
        "ts=2026-01-01T00:00:00Z level=info took_ms=1.5 status=200 cached msg=\"said \\\"hi\\\"\" extra=ignored\n",
        "level=warn ts=2026-01-01T00:00:01Z msg= status=\n",
        "ts=2026-01-01T00:00:02Z level=error msg=\"never closed\n",
        "ts=2026-01-01T00:00:03Z level=info status=many msg=x\n",
    );
    let out = s.run("l.flow", input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        json_lines(&s, "out/0.json"),
        [
            json!({"ts": "2026-01-01T00:00:00.000Z", "level": "info", "took_ms": 1.5, "status": 200, "cached": true, "msg": "said \"hi\""}),
            json!({"ts": "2026-01-01T00:00:01.000Z", "level": "warn", "took_ms": null, "status": null, "cached": null, "msg": ""}),
        ]
    );
    assert_eq!(
        node_counts(&stderr, "input|parse#1"),
        (4, 2, 2),
        "an open quote and a status that is not an int: {stderr}"
    );
}

#[test]
fn json_keeps_the_typed_keys_and_counts_what_does_not_fit() {
    let s = Scratch::new();
    s.write(
        "j.flow",
        r#"
type Req = { host: string, status: int, ms: float?, ts: timestamp? }
source input = stdin {}
sink out = files { path = "out/", format = json }
input | parse json as Req -> out
"#,
    );
    let input = concat!(
        "{\"nested\":{\"a\":[1,{\"b\":null}]},\"host\":\"a\\u00e9\\\"\",\"status\":200,\"ms\":3,\"ts\":971211336000}\n",
        "{\"host\":\"b\",\"status\":\"x\",\"status\":201}\n",
        "{\"host\":\"c\",\"status\":2.5}\n",
        "[1,2]\n",
        "{\"host\":\"d\",\"status\":1} trailing\n",
    );
    let out = s.run("j.flow", input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        json_lines(&s, "out/0.json"),
        [
            json!({"host": "a\u{e9}\"", "status": 200, "ms": 3.0, "ts": "2000-10-10T20:55:36.000Z"}),
            json!({"host": "b", "status": 201, "ms": null, "ts": null}),
        ]
    );
    assert_eq!(node_counts(&stderr, "input|parse#1"), (5, 2, 3), "{stderr}");
}
