//! The `http` source through the real binary over real TCP on 127.0.0.1, with a raw HTTP/1.1
//! client: plain lines, NDJSON and Flume's JSON array land once in a `files` sink, each POST answered
//! `200` only once delivered; malformed bodies get `400` and leave nothing behind; oversized ones
//! `413`; a full channel `503`, and retrying loses nothing; garbage, slow and vanishing clients harm
//! no one; SIGTERM answers what is in flight.

mod net_common;

use net_common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A pipeline `http { OPTIONS } -> memory { CHANNEL } -> SINK`, started.
fn start_http(dir: &tempfile::TempDir, options: &str, channel: &str, sink: &str, stdout: Stdio) -> Server {
    let flow = format!(
        "source h = http {{ address = \"127.0.0.1:0\"{options} }}\nchannel c = memory {{{channel}}}\n\
         sink k = {sink}\nh -> c -> k\n"
    );
    std::fs::write(dir.path().join("h.flow"), flow).unwrap();
    start(dir.path(), "h.flow", stdout)
}

fn start_to_files(dir: &tempfile::TempDir, options: &str) -> Server {
    start_http(dir, options, "", "files { path = \"out/\" }", Stdio::null())
}

/// Sends raw bytes as a request and reads until flowc closes: (status, body of the reply).
fn exchange(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("flowc accepts");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(request).unwrap();
    read_reply(&mut stream)
}

fn read_reply(stream: &mut TcpStream) -> (u16, String) {
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.trim_end().to_string()).unwrap_or_default();
    (status, body)
}

/// POSTs `body` with an optional `Content-Type`: (status, body of the reply).
fn post(addr: SocketAddr, content_type: Option<&str>, body: &[u8]) -> (u16, String) {
    let mut request =
        format!("POST /events HTTP/1.1\r\nHost: flowc\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if let Some(ct) = content_type {
        request.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    request.push_str("\r\n");
    exchange(addr, &[request.as_bytes(), body].concat())
}

#[test]
fn lines_ndjson_and_flume_json_land_once_each_post_answered_200() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_to_files(&dir, "");
    let addr = server.addr;
    let posters: Vec<_> = (0..6)
        .map(|t| {
            std::thread::spawn(move || {
                let mut sent = Vec::new();
                for p in 0..15 {
                    let lines: Vec<String> = (0..40).map(|i| format!("t{t} p{p} line {i}")).collect();
                    let (status, reply) = post(addr, None, (lines.join("\r\n") + "\n").as_bytes());
                    assert_eq!((status, reply.as_str()), (200, "40 events"));
                    sent.extend(lines);
                }
                sent
            })
        })
        .collect();
    let mut expected = Vec::new();
    for p in posters {
        expected.extend(p.join().unwrap());
    }
    // NDJSON by Content-Type: each value kept as written.
    let (status, reply) = post(addr, Some("application/x-ndjson"), b"{\"n\": 1}\n\n[2, 3]\n");
    assert_eq!((status, reply.as_str()), (200, "2 events"));
    expected.extend(["{\"n\": 1}".to_string(), "[2, 3]".to_string()]);
    // Flume's JSON event array by Content-Type: each body one event.
    let flume = r#"[{"headers": {"host": "web1"}, "body": "flume one"}, {"headers": {}, "body": "flume two"}]"#;
    let (status, reply) = post(addr, Some("application/json; charset=UTF-8"), flume.as_bytes());
    assert_eq!((status, reply.as_str()), (200, "2 events"));
    expected.extend(["flume one".to_string(), "flume two".to_string()]);
    // A GET is not a way to send events.
    let (status, _) = exchange(addr, b"GET / HTTP/1.1\r\nHost: flowc\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 405);
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert_eq!(node_counts(&stderr, "h").1, expected.len() as u64, "{stderr}");
    assert_exactly_once(lines_under(&dir.path().join("out")), expected);
}

#[test]
fn the_format_option_decides_when_the_content_type_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_to_files(&dir, ", format = flume_json");
    let (status, reply) = post(server.addr, None, br#"[{"body": "from a Flume client"}]"#);
    assert_eq!((status, reply.as_str()), (200, "1 event"));
    let (status, reply) = post(server.addr, Some("text/plain"), b"plain\n");
    assert_eq!((status, reply.as_str()), (200, "1 event"));
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert_exactly_once(lines_under(&dir.path().join("out")), vec!["from a Flume client".into(), "plain".into()]);
}

#[test]
fn malformed_bodies_get_400_saying_why_and_nothing_of_them_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_to_files(&dir, "");
    let addr = server.addr;
    let cases: [(&str, &[u8], &str); 5] = [
        ("text/plain", b"fine\n\xff\xfe\n", "not UTF-8"),
        ("application/x-ndjson", b"{\"ok\": 1}\n{\"broken\": \n", "line 2: not JSON"),
        ("application/json", br#"{"body": "not in an array"}"#, "JSON array"),
        ("application/json", br#"[{"body": "kept?"}, {"headers": {}}]"#, "event 2: no string `body`"),
        ("application/json; charset=UTF-16", b"[]", "only UTF-8"),
    ];
    for (ct, body, why) in cases {
        let (status, reply) = post(addr, Some(ct), body);
        assert!(status == 400 || status == 415, "{ct}: {status} {reply}");
        assert!(reply.contains(why), "{ct}: {reply:?} should say {why:?}");
    }
    let (status, _) = post(addr, None, b"good\n");
    assert_eq!(status, 200);
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert_eq!(node_counts(&stderr, "h"), (0, 1, 5), "{stderr}");
    assert!(stderr.contains("request refused with 400"), "{stderr}");
    assert_exactly_once(lines_under(&dir.path().join("out")), vec!["good".into()]);
}

#[test]
fn bodies_over_max_body_get_413() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_to_files(&dir, ", max_body = 1KiB");
    let addr = server.addr;
    // A declared length over the limit is refused before the body is read.
    let (status, reply) =
        exchange(addr, b"POST / HTTP/1.1\r\nHost: flowc\r\nConnection: close\r\nContent-Length: 2048\r\n\r\n");
    assert_eq!(status, 413, "{reply}");
    assert!(reply.contains("max_body"), "{reply}");
    // A chunked body is refused once it grows past the limit (the client has not even finished).
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(b"POST / HTTP/1.1\r\nHost: flowc\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
    let line = [b'z'; 99];
    for _ in 0..11 {
        stream.write_all(format!("{:x}\r\n", line.len() + 1).as_bytes()).unwrap();
        stream.write_all(&[&line[..], b"\n\r\n"].concat()).unwrap();
    }
    let (status, _) = read_reply(&mut stream);
    assert_eq!(status, 413);
    // Exactly at the limit is fine.
    let body: Vec<u8> = [&[b'a'; 1023][..], b"\n"].concat();
    assert_eq!(post(addr, None, &body).0, 200);
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert_eq!(node_counts(&stderr, "h"), (0, 1, 2), "{stderr}");
    assert_exactly_once(lines_under(&dir.path().join("out")), vec!["a".repeat(1023)]);
}

#[test]
fn a_full_channel_answers_503_and_clients_that_retry_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The logger writes to a pipe nobody reads yet: it blocks, the channel (one event) fills up.
    let mut server = start_http(&dir, ", busy_timeout = 200ms", " capacity = 1 ", "logger {}", Stdio::piped());
    let stdout = server.child.stdout.take().unwrap();
    let addr = server.addr;
    let busy_seen = Arc::new(Mutex::new(0usize));
    let posters: Vec<_> = (0..16)
        .map(|t| {
            let busy_seen = busy_seen.clone();
            std::thread::spawn(move || {
                // 1,000 lines of 40 bytes: a few such batches fill the pipe.
                let lines: Vec<String> =
                    (0..1000).map(|i| format!("poster {t:02} line {i:04} {}", "x".repeat(16))).collect();
                let body = lines.join("\n") + "\n";
                loop {
                    match post(addr, None, body.as_bytes()) {
                        (200, _) => return lines,
                        (503, reply) => {
                            assert!(reply.contains("channel is full"), "{reply}");
                            *busy_seen.lock().unwrap() += 1;
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        (status, reply) => panic!("{status} {reply}"),
                    }
                }
            })
        })
        .collect();
    wait_until("a request is answered 503", || *busy_seen.lock().unwrap() > 0);
    // Now the sink can write: every poster gets its 200 in the end.
    let reader = std::thread::spawn(move || BufReader::new(stdout).lines().map(Result::unwrap).collect::<Vec<_>>());
    let mut expected = Vec::new();
    for p in posters {
        expected.extend(p.join().unwrap());
    }
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert_exactly_once(reader.join().unwrap(), expected);
}

#[test]
fn garbage_slow_and_vanishing_clients_harm_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_to_files(&dir, ", idle_timeout = 1s");
    let addr = server.addr;
    // Garbage instead of a request: refused, that connection closed.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut junk = TcpStream::connect(addr).unwrap();
    junk.set_read_timeout(Some(PATIENCE)).unwrap();
    let _ = junk.write_all(&garbage);
    let mut answer = Vec::new();
    let _ = junk.read_to_end(&mut answer);
    // A slow client: half a request head, then nothing.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(b"POST / HTTP/1.1\r\nHost: fl").unwrap();
    // A client that goes away in the middle of its body: nothing of it is kept.
    let mut vanishing = TcpStream::connect(addr).unwrap();
    vanishing.write_all(b"POST / HTTP/1.1\r\nHost: flowc\r\nContent-Length: 100\r\n\r\nhalf of it\n").unwrap();
    drop(vanishing);
    // Meanwhile a good client is served.
    for i in 0..20 {
        assert_eq!(post(addr, None, format!("good {i}\n").as_bytes()).0, 200);
    }
    // The slow client is closed after `idle_timeout`.
    slow.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("not an HTTP request"), "{stderr}");
    assert_exactly_once(lines_under(&dir.path().join("out")), (0..20).map(|i| format!("good {i}")).collect());
}

#[test]
fn sigterm_stops_accepting_and_every_post_answered_200_is_delivered_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_to_files(&dir, "");
    let addr = server.addr;
    let answered = Arc::new(Mutex::new(0usize));
    let counter = answered.clone();
    let poster = std::thread::spawn(move || {
        let mut delivered = Vec::new();
        for p in 0.. {
            let lines: Vec<String> = (0..10).map(|i| format!("post {p} line {i}")).collect();
            let Ok(mut stream) = TcpStream::connect(addr) else { break };
            stream.set_read_timeout(Some(PATIENCE)).unwrap();
            let body = lines.join("\n");
            let head = format!(
                "POST / HTTP/1.1\r\nHost: flowc\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            if stream.write_all(&[head.as_bytes(), body.as_bytes()].concat()).is_err() {
                break;
            }
            let mut raw = Vec::new();
            let _ = stream.read_to_end(&mut raw);
            if raw.starts_with(b"HTTP/1.1 200") {
                delivered.extend(lines);
                *counter.lock().unwrap() += 1;
            }
        }
        delivered
    });
    wait_until("some posts are answered", || *answered.lock().unwrap() >= 20);
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    let delivered = poster.join().unwrap();
    // What was answered 200 is there once; what was not answered 200 was not kept.
    assert_exactly_once(lines_under(&dir.path().join("out")), delivered);
}

#[test]
fn a_post_that_could_not_be_written_is_answered_503_never_200() {
    let dir = tempfile::tempdir().unwrap();
    // A file stands where the sink's directory should be: every write fails, and the run stops.
    std::fs::write(dir.path().join("blocker"), "").unwrap();
    let server = start_http(&dir, "", "", "files { path = \"blocker/out/\", max_retries = 0 }", Stdio::null());
    let (status, reply) = post(server.addr, None, b"doomed\n");
    assert_eq!(status, 503, "{reply}");
    assert!(reply.contains("not delivered"), "{reply}");
    let (status, stderr) = server.wait();
    assert_eq!(status.code(), Some(2), "{stderr}");
}
