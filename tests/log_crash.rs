//! Crash consistency of the log through real processes: a producer SIGKILLed mid-stream under each
//! fsync policy, and damaged segments (a flipped byte, a truncated tail) that are detected, reported
//! by file and offset, never served, and repaired by `flowc log repair`.

mod log_common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;

use log_common::*;

/// Kills a producer of `r{round}-NNNNNNNN` lines after `acks` acknowledged records; returns the
/// highest acknowledged offset.
fn produce_then_kill(d: &DataDir, policy: &str, round: usize, acks: usize) -> u64 {
    let mut child = d
        .cmd(&["produce", "crash", "--print-acks", "--fsync", policy, "--batch", "37"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for i in 0..5_000_000u64 {
            if writeln!(stdin, "r{round}-{i:08}").is_err() {
                return;
            }
        }
    });
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut max_acked = None;
    let mut line = String::new();
    for _ in 0..acks {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "producer ended early");
        let (p, o) = line.trim_end().split_once('\t').unwrap();
        assert_eq!(p, "0");
        max_acked = Some(o.parse::<u64>().unwrap());
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // acknowledgements printed before the kill count too
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    for l in rest.lines().filter(|l| l.contains('\t')) {
        max_acked = Some(l.split_once('\t').unwrap().1.parse().unwrap());
    }
    feeder.join().unwrap();
    max_acked.unwrap()
}

fn sigkill_mid_stream(policy: &str) {
    let d = DataDir::new();
    // small segments, so kills also land around segment rolls
    d.ok(&["topic", "create", "crash", "--segment-bytes", "16KiB"]);
    let mut before: Vec<String> = Vec::new();
    for (round, acks) in [700usize, 2300, 1500].into_iter().enumerate() {
        // each round's producer first recovers what the previous kill left, then appends
        let max_acked = produce_then_kill(&d, policy, round, acks);
        let out = d.ok(&["consume", "crash", "--from-beginning", "--timeout", "500ms"]);
        let lines: Vec<String> = out.lines().map(str::to_string).collect();
        assert_eq!(lines[..before.len()], before[..], "round {round}: earlier records changed");
        for (i, l) in lines[before.len()..].iter().enumerate() {
            assert_eq!(*l, format!("r{round}-{i:08}"), "round {round}: record {i} damaged, reordered or missing");
        }
        assert!(lines.len() as u64 > max_acked, "round {round}: acknowledged offset {max_acked} lost");
        before = lines;
        d.ok(&["log", "verify"]);
    }
    d.ok_with(&["produce", "crash"], "after the crashes\n");
    let out = d.ok(&["consume", "crash", "--from-beginning", "--timeout", "500ms", "--print-offset"]);
    assert_eq!(out.lines().last().unwrap(), format!("Offset:{}\tafter the crashes", before.len()));
}

#[test]
fn sigkill_with_fsync_always_keeps_every_acknowledged_record() {
    sigkill_mid_stream("always");
}

#[test]
fn sigkill_with_fsync_interval_keeps_every_acknowledged_record() {
    sigkill_mid_stream("interval(20ms)");
}

#[test]
fn sigkill_with_fsync_never_keeps_every_acknowledged_record() {
    sigkill_mid_stream("never");
}

fn produce_lines(d: &DataDir, topic: &str, n: usize) -> Vec<String> {
    let lines: Vec<String> = (0..n).map(|i| format!("rec-{i:05}-{}", "p".repeat(40))).collect();
    d.ok_with(&["produce", topic, "--batch", "20"], &(lines.join("\n") + "\n"));
    lines
}

fn flip_byte(path: &std::path::Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_flipped_byte_in_a_sealed_segment_is_detected_never_served_and_repaired() {
    let d = DataDir::new();
    d.ok(&["topic", "create", "t", "--segment-bytes", "8KiB"]);
    let lines = produce_lines(&d, "t", 2000);
    let segs = segments(&d.path().join("t/0"));
    assert!(segs.len() > 3);
    let victim = &segs[1];
    let victim_name = victim.file_name().unwrap().to_str().unwrap().to_string();
    let victim_base: usize = victim_name.trim_end_matches(".log").parse().unwrap();
    let next_base: usize = segs[2].file_name().unwrap().to_str().unwrap().trim_end_matches(".log").parse().unwrap();
    flip_byte(victim, 5000);
    // reading stops at the damage with an error naming the file, and serves only intact records
    let out = d.run(&["consume", "t", "--from-beginning", "--timeout", "1s"], "");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("corrupt record batch") && err.contains(&victim_name), "{err}");
    let served: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert!(served.len() >= victim_base && served.len() < next_base, "{} served", served.len());
    assert_eq!(served[..], lines[..served.len()]);
    // verify names the same file and offset; repair cuts there
    let v = d.run(&["log", "verify"], "");
    assert_eq!(v.status.code(), Some(1));
    let report = String::from_utf8_lossy(&v.stdout);
    let expected = format!("(offset {})", served.len());
    assert!(report.contains("DAMAGED") && report.contains(&victim_name) && report.contains(&expected), "{report}");
    let r = d.ok(&["log", "repair"]);
    assert!(r.contains("t/0: cut") && r.contains(&victim_name), "{r}");
    d.ok(&["log", "verify"]);
    let out = d.ok(&["consume", "t", "--from-beginning", "--timeout", "500ms"]);
    assert_eq!(out.lines().collect::<Vec<_>>()[..], lines[..served.len()]);
    // and the log takes appends again, right after the cut
    d.ok_with(&["produce", "t"], "fresh\n");
    let out = d.ok(&["consume", "t", "--from-beginning", "--timeout", "500ms", "--print-offset"]);
    assert_eq!(out.lines().last().unwrap(), format!("Offset:{}\tfresh", served.len()));
}

#[test]
fn a_flipped_byte_in_synced_active_data_refuses_to_open() {
    let d = DataDir::new();
    d.ok(&["topic", "create", "t"]);
    produce_lines(&d, "t", 200);
    let seg = &segments(&d.path().join("t/0"))[0];
    let len = std::fs::metadata(seg).unwrap().len() as usize;
    flip_byte(seg, len / 2);
    let out = d.run(&["produce", "t"], "more\n");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("00000000000000000000.log") && err.contains("(offset "), "{err}");
    let out = d.run(&["consume", "t", "--from-beginning", "--timeout", "1s"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() < 200);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("more"));
}

#[test]
fn a_truncated_tail_of_synced_data_is_detected_and_repaired() {
    let d = DataDir::new();
    d.ok(&["topic", "create", "t"]);
    let lines = produce_lines(&d, "t", 300);
    let seg = &segments(&d.path().join("t/0"))[0];
    let len = std::fs::metadata(seg).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(seg).unwrap().set_len(len - 5).unwrap();
    let out = d.run(&["consume", "t", "--from-beginning", "--timeout", "1s"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
    let served: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert!(served.len() < 300);
    assert_eq!(served[..], lines[..served.len()]);
    let out = d.run(&["produce", "t"], "more\n");
    assert_eq!(out.status.code(), Some(2), "the writer refuses synced data that went missing");
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
    let r = d.ok(&["log", "repair"]);
    assert!(r.contains("cut"), "{r}");
    d.ok_with(&["produce", "t"], "more\n");
    let out = d.ok(&["consume", "t", "--from-beginning", "--timeout", "500ms"]);
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got.len(), served.len() + 1);
    assert_eq!(got[..served.len()], served[..]);
    assert_eq!(got.last(), Some(&"more"));
}
