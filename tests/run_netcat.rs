//! The `netcat` source through the real binary over real TCP on 127.0.0.1: lines from many
//! connections land once in a `files` sink, each acknowledged `OK` only after it was delivered;
//! oversized lines, non-UTF-8 and garbage are refused without harming other clients; idle clients
//! and the connection limit; SIGTERM drains what was read and acknowledges it.

mod net_common;

use net_common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::Duration;

/// A pipeline `netcat { OPTIONS } -> memory -> files under out/`, started.
fn start_netcat(dir: &tempfile::TempDir, options: &str) -> Server {
    let flow = format!(
        "source r = netcat {{ address = \"127.0.0.1:0\"{options} }}\nchannel c = memory {{}}\n\
         sink k = files {{ path = \"out/\" }}\nr -> c -> k\n"
    );
    std::fs::write(dir.path().join("nc.flow"), flow).unwrap();
    start(dir.path(), "nc.flow", Stdio::null())
}

struct Client {
    stream: TcpStream,
    replies: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("flowc accepts");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let replies = BufReader::new(stream.try_clone().unwrap());
        Client { stream, replies }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next reply line, `None` once flowc closed the connection.
    fn reply(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.replies.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(line.trim_end_matches('\n').to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => None,
            Err(e) => panic!("no reply: {e}"),
        }
    }
}

#[test]
fn lines_from_many_connections_land_once_and_each_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_netcat(&dir, ", batch_size = 64");
    let addr = server.addr;
    let clients: Vec<_> = (0..8)
        .map(|c| {
            std::thread::spawn(move || {
                let mut client = Client::connect(addr);
                let lines: Vec<String> = (0..500).map(|i| format!("conn {c} line {i}")).collect();
                // Written in bursts, so batches mix connections and partial lines span reads.
                for burst in lines.chunks(37) {
                    client.send((burst.join("\n") + "\n").as_bytes());
                }
                for i in 0..lines.len() {
                    assert_eq!(client.reply().as_deref(), Some("OK"), "connection {c}, reply {i}");
                }
                lines
            })
        })
        .collect();
    let mut expected = Vec::new();
    for c in clients {
        expected.extend(c.join().unwrap());
    }
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert_exactly_once(lines_under(&dir.path().join("out")), expected);
    assert_eq!(node_counts(&stderr, "r"), (0, 4000, 0), "{stderr}");
}

#[test]
fn a_single_line_is_acknowledged_without_waiting_for_a_batch_to_fill() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_netcat(&dir, ", batch_size = 10_000");
    let mut client = Client::connect(server.addr);
    client.send(b"alone\r\n");
    // The connection stays open and the batch is far from full: the OK still comes.
    assert_eq!(client.reply().as_deref(), Some("OK"));
    client.send(b"second\n");
    assert_eq!(client.reply().as_deref(), Some("OK"));
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert_exactly_once(lines_under(&dir.path().join("out")), vec!["alone".into(), "second".into()]);
}

#[test]
fn a_line_too_long_is_refused_and_ends_only_its_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_netcat(&dir, ", max_line_length = 16B");
    let mut other = Client::connect(server.addr);
    let mut client = Client::connect(server.addr);
    // Exactly 16 bytes is accepted; 17 is not, nor what follows on that connection.
    client.send(&[&b"sixteen-bytes-ok\n"[..], &[b'x'; 40], b"\nafter\n"].concat());
    assert_eq!(client.reply().as_deref(), Some("OK"));
    let failed = client.reply().expect("a reply to the long line");
    assert!(failed.starts_with("FAILED: event too long"), "{failed}");
    assert_eq!(client.reply(), None, "the connection is closed after the long line");
    // A long line with no newline at all is refused as soon as it is too long.
    let mut endless = Client::connect(server.addr);
    endless.send(&[b'y'; 100]);
    assert!(endless.reply().expect("a reply").starts_with("FAILED: event too long"));
    assert_eq!(endless.reply(), None);
    // Other connections go on.
    other.send(b"still here\n");
    assert_eq!(other.reply().as_deref(), Some("OK"));
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("longer than max_line_length"), "{stderr}");
    assert_eq!(node_counts(&stderr, "r").2, 2, "{stderr}");
    assert_exactly_once(lines_under(&dir.path().join("out")), vec!["sixteen-bytes-ok".into(), "still here".into()]);
}

#[test]
fn non_utf8_lines_are_refused_and_garbage_harms_no_other_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_netcat(&dir, ", max_line_length = 1KiB");
    let mut client = Client::connect(server.addr);
    client.send(b"before\n\xff\xfe bad\nafter\n");
    assert_eq!(client.reply().as_deref(), Some("OK"));
    assert_eq!(client.reply().as_deref(), Some("FAILED: not UTF-8"));
    assert_eq!(client.reply().as_deref(), Some("OK"), "the connection goes on after a non-UTF-8 line");

    // Garbage streams (pseudo-random bytes, newlines now and then) on several connections while a
    // good client sends its lines: flowc stays up and the good client gets every OK.
    let addr = server.addr;
    let garbage: Vec<_> = (0..4u64)
        .map(|seed| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let mut bytes = vec![0u8; 256 << 10];
                for b in bytes.iter_mut() {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    *b = (x >> 56) as u8;
                }
                // flowc closes the connection once a line is too long: writing then fails, as it should.
                let _ = stream.write_all(&bytes);
                let _ = stream.shutdown(Shutdown::Write);
                let mut sink = Vec::new();
                let _ = stream.read_to_end(&mut sink);
            })
        })
        .collect();
    let mut good = Client::connect(server.addr);
    let lines: Vec<String> = (0..300).map(|i| format!("good {i}")).collect();
    good.send((lines.join("\n") + "\n").as_bytes());
    for i in 0..lines.len() {
        assert_eq!(good.reply().as_deref(), Some("OK"), "good client, reply {i}");
    }
    for g in garbage {
        g.join().unwrap();
    }
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    let got = lines_under(&dir.path().join("out"));
    for expected in lines.iter().chain(["before".to_string(), "after".to_string()].iter()) {
        assert_eq!(got.iter().filter(|l| *l == expected).count(), 1, "{expected}");
    }
    assert!(node_counts(&stderr, "r").2 >= 5, "the garbage is counted as errors: {stderr}");
}

#[test]
fn an_idle_client_blocks_no_one_and_its_unfinished_line_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_netcat(&dir, ", max_connections = 2");
    let mut idle = Client::connect(server.addr);
    idle.send(b"half a li");
    let mut busy = Client::connect(server.addr);
    for i in 0..50 {
        busy.send(format!("busy {i}\n").as_bytes());
        assert_eq!(busy.reply().as_deref(), Some("OK"));
    }
    // The idle client goes away in the middle of its line: that line is not an event.
    drop(idle);
    wait_until("the unfinished line is counted", || server.stderr().contains("in the middle of a line"));
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert_eq!(node_counts(&stderr, "r"), (0, 50, 1), "{stderr}");
    assert_exactly_once(lines_under(&dir.path().join("out")), (0..50).map(|i| format!("busy {i}")).collect());
}

#[test]
fn beyond_max_connections_a_client_waits_and_idle_clients_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_netcat(&dir, ", max_connections = 1, idle_timeout = 1s");
    let mut first = Client::connect(server.addr);
    first.send(b"first\n");
    assert_eq!(first.reply().as_deref(), Some("OK"));
    // The second client's connection sits in the listen backlog: its line is not read yet.
    let mut second = Client::connect(server.addr);
    second.send(b"second\n");
    second.stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut byte = [0u8; 1];
    let early = second.replies.read(&mut byte);
    assert!(early.is_err(), "the second client was served while the first held the only slot: {early:?}");
    second.stream.set_read_timeout(Some(PATIENCE)).unwrap();
    // The first client now idles past `idle_timeout`: flowc closes it and serves the second.
    assert_eq!(first.reply(), None, "the idle connection is closed");
    assert_eq!(second.reply().as_deref(), Some("OK"));
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert_exactly_once(lines_under(&dir.path().join("out")), vec!["first".into(), "second".into()]);
}

#[test]
fn sigterm_delivers_every_acknowledged_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_netcat(&dir, "");
    let mut client = Client::connect(server.addr);
    let mut writer = client.stream.try_clone().unwrap();
    // Lines go out one by one until flowc stops reading; the k-th OK acknowledges the k-th line.
    let sender = std::thread::spawn(move || {
        let mut sent = 0u64;
        while writer.write_all(format!("line {sent}\n").as_bytes()).is_ok() {
            sent += 1;
            if sent.is_multiple_of(100) {
                std::thread::sleep(Duration::from_millis(5));
            }
            if sent == 1_000_000 {
                break;
            }
        }
        sent
    });
    for _ in 0..500 {
        assert_eq!(client.reply().as_deref(), Some("OK"));
    }
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    let mut acked = 500u64;
    while let Some(reply) = client.reply() {
        assert_eq!(reply, "OK");
        acked += 1;
    }
    let sent = sender.join().unwrap();
    assert!(acked <= sent);
    let got = lines_under(&dir.path().join("out"));
    // Every acknowledged line is there exactly once; flowc acknowledges everything it delivered.
    assert_exactly_once(got, (0..acked).map(|i| format!("line {i}")).collect());
}

#[test]
fn without_ack_lines_land_and_nothing_is_replied() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_netcat(&dir, ", ack = false");
    let mut client = Client::connect(server.addr);
    client.send(b"one\ntwo\nthree\n");
    client.stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(client.reply(), None, "nothing is replied, then flowc closes");
    let out = dir.path().join("out");
    wait_until("three lines written", || lines_under(&out).len() == 3);
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert_exactly_once(lines_under(&dir.path().join("out")), vec!["one".into(), "two".into(), "three".into()]);
}

#[test]
fn acknowledged_lines_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_netcat(&dir, "");
    let mut client = Client::connect(server.addr);
    let lines: Vec<String> = (0..1000).map(|i| format!("kept {i}")).collect();
    client.send((lines.join("\n") + "\n").as_bytes());
    for i in 0..lines.len() {
        assert_eq!(client.reply().as_deref(), Some("OK"), "reply {i}");
    }
    // OK came only after the sink wrote the line: killing flowc now loses none of them.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert_exactly_once(lines_under(&dir.path().join("out")), lines);
}

#[test]
fn lines_that_could_not_be_written_are_answered_failed_never_ok() {
    let dir = tempfile::tempdir().unwrap();
    // A file stands where the sink's directory should be: every write fails, and the run stops.
    std::fs::write(dir.path().join("blocker"), "").unwrap();
    let flow = "source r = netcat { address = \"127.0.0.1:0\" }\nchannel c = memory {}\n\
                sink k = files { path = \"blocker/out/\", max_retries = 0 }\nr -> c -> k\n";
    std::fs::write(dir.path().join("nc.flow"), flow).unwrap();
    let server = start(dir.path(), "nc.flow", Stdio::null());
    let mut client = Client::connect(server.addr);
    client.send(b"doomed\n");
    assert_eq!(client.reply().as_deref(), Some("FAILED: not delivered, send again"));
    let (status, stderr) = server.wait();
    assert_eq!(status.code(), Some(2), "{stderr}");
}

#[test]
fn through_a_file_channel_acknowledged_lines_survive_sigkill_and_a_restart_delivers_them() {
    let dir = tempfile::tempdir().unwrap();
    let flow = "source r = netcat { address = \"127.0.0.1:0\" }\nchannel c = file { fsync = always }\n\
                sink k = files { path = \"out/\" }\nr -> c -> k\n";
    std::fs::write(dir.path().join("nc.flow"), flow).unwrap();
    let mut server = start(dir.path(), "nc.flow", Stdio::null());
    let mut client = Client::connect(server.addr);
    let lines: Vec<String> = (0..2000).map(|i| format!("durable {i}")).collect();
    client.send((lines.join("\n") + "\n").as_bytes());
    for i in 0..lines.len() {
        assert_eq!(client.reply().as_deref(), Some("OK"), "reply {i}");
    }
    // OK came once the line was in the channel's log: a kill now may leave some unwritten by the
    // sink, and the next run writes them.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = start(dir.path(), "nc.flow", Stdio::null());
    let out = dir.path().join("out");
    wait_until("every acknowledged line is written", || {
        let got: std::collections::HashSet<String> = lines_under(&out).into_iter().collect();
        lines.iter().all(|l| got.contains(l))
    });
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    let got = lines_under(&out);
    assert!(got.iter().all(|l| l.starts_with("durable ")), "only what was sent");
}
