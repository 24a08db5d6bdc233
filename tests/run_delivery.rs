//! Delivery across failures (the B tests of the reliability plan), through the real binary: a sink
//! that is down while flowc is killed loses nothing once it is back (the `file` channel held the
//! events), and a consumer group killed again and again while it commits never skips a record.

mod run_common;

use run_common::*;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < PATIENCE, "waited too long for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill9(child: &mut std::process::Child) {
    child.kill().expect("SIGKILL");
    let _ = child.wait();
}

fn spawn_quiet(s: &Scratch, file: &str) -> std::process::Child {
    s.command(&["run", file, "--stats", "off"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("flowc starts")
}

#[test]
fn a_sink_down_while_flowc_is_killed_loses_nothing_once_it_is_back() {
    let s = Scratch::new();
    s.write(
        "agent.flow",
        r#"
source r = spooldir { dir = "spool", settle = 0s, poll_interval = 50ms }
channel c = file { fsync = always }
sink k = files { path = "out/", prefix = "events-" }
r -> c -> k
"#,
    );
    // The sink's directory is blocked by a regular file: every write fails (even as root).
    s.write("out", "not a directory\n");
    let mut expected = Vec::new();
    for f in 0..3 {
        let lines: Vec<String> = (0..2_000).map(|i| format!("file {f} line {i}")).collect();
        s.write(&format!("spool/{f}.log"), &(lines.join("\n") + "\n"));
        expected.extend(lines);
    }
    let mut flowc = spawn_quiet(&s, "agent.flow");
    // The channel takes the files (they are renamed once their lines are in its log) while the
    // sink keeps failing.
    let completed = |s: &Scratch| (0..3).all(|f| s.path().join(format!("spool/{f}.log.COMPLETED")).exists());
    wait_for("the spooled files to be in the channel", || completed(&s));
    kill9(&mut flowc);

    // The sink comes back; the next run writes everything the channel held.
    std::fs::remove_file(s.path().join("out")).unwrap();
    let mut flowc = spawn_quiet(&s, "agent.flow");
    wait_for("every line in the sink", || lines_under(&s.path().join("out")).len() == expected.len());
    let sent = Command::new("kill").args(["-TERM", &flowc.id().to_string()]).status().unwrap();
    assert!(sent.success());
    assert!(flowc.wait().unwrap().success());

    let got = lines_under(&s.path().join("out"));
    let missing: Vec<&String> = expected.iter().filter(|l| !got.contains_key(*l)).collect();
    assert!(missing.is_empty(), "{} line(s) lost, e.g. {:?}", missing.len(), &missing[..missing.len().min(3)]);
    assert_eq!(got.len(), expected.len(), "nothing but the input arrived");
    assert!(got.values().all(|&n| n == 1), "the sink never wrote a line before the kill, so none twice");
    assert!(tree(&s.path().join("out")).iter().all(|f| !f.ends_with(".tmp")), "files finished");
}

#[test]
fn a_consumer_group_killed_while_it_commits_never_skips_a_record() {
    use std::io::{BufRead, BufReader, Write};
    const N: usize = 30_000;
    let s = Scratch::new();
    // The group's member logs each record to standard output, which the test reads at its own
    // pace: a run is killed while records are being written and offsets committed.
    s.write(
        "group.flow",
        r#"
type Event = { id: int, msg: string }
topic events: Event { partitions = 3 }
sink k = logger { format = json }
events -> group "g" -> k
"#,
    );
    // The topic is filled by the console producer, as a user would.
    let create = s.command(&["topic", "create", "events", "--partitions", "3"]).output().unwrap();
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stderr));
    let mut produce = s.command(&["produce", "events", "--batch", "500"]).stdin(Stdio::piped()).spawn().unwrap();
    let input: String = (0..N).map(|i| format!("{{\"id\":{i},\"msg\":\"event {i}\"}}\n")).collect();
    produce.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    assert!(produce.wait().unwrap().success());

    let mut got: BTreeMap<u64, usize> = BTreeMap::new();
    let note = |line: &str, got: &mut BTreeMap<u64, usize>| {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        *got.entry(value["id"].as_u64().expect("an id")).or_insert(0) += 1;
    };
    let start = |s: &Scratch| {
        let mut child = s
            .command(&["run", "group.flow", "--stats", "off"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("flowc starts");
        let out = BufReader::new(child.stdout.take().unwrap());
        (child, out)
    };
    let kills = 8;
    for round in 0..kills {
        let (mut child, mut out) = start(&s);
        let mut line = String::new();
        for _ in 0..(1_000 + 300 * round) {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                break;
            }
            note(line.trim_end(), &mut got);
        }
        kill9(&mut child);
        // What was written before the kill is still in the pipe.
        for line in out.lines() {
            note(&line.unwrap(), &mut got);
        }
    }
    assert!(got.len() < N, "the kills were meant to land before the end ({} of {N} read)", got.len());
    let (mut child, out) = start(&s);
    let mut lines = out.lines();
    while got.len() < N {
        let line = lines.next().expect("flowc ended before every record arrived").unwrap();
        note(&line, &mut got);
    }
    let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    for line in lines {
        note(&line.unwrap(), &mut got);
    }
    assert!(child.wait().unwrap().success());

    assert_eq!(got.len(), N, "every record reached the sink");
    assert!(got.keys().all(|&id| (id as usize) < N));
    let dup: usize = got.values().map(|n| n - 1).sum();
    eprintln!("{dup} record(s) written twice over {kills} kills");

    // The group committed everything it wrote: nothing left to read.
    let out = s.command(&["groups", "describe", "g"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lags: Vec<u64> = text
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("events"))
        .filter_map(|l| l.split_whitespace().nth(5).and_then(|w| w.parse().ok()))
        .collect();
    assert_eq!(lags, [0, 0, 0], "lag per partition:\n{text}");
}

#[test]
fn a_files_sink_killed_while_rolling_never_shows_a_torn_file_under_a_final_name() {
    let s = Scratch::new();
    // Small files rolled often, written as fast as the generator goes: most kills land mid-file,
    // some mid-roll.
    s.write(
        "roll.flow",
        r#"
source g = generator { count = 100_000_000, batch_size = 50 }
sink k = files { path = "out/", prefix = "part-", roll = { count = 200 } }
g -> k
"#,
    );
    let finals = |s: &Scratch| -> Vec<String> {
        let out = s.path().join("out");
        if !out.exists() {
            return Vec::new();
        }
        tree(&out).into_iter().filter(|f| !f.ends_with(".tmp")).collect()
    };
    for round in 0..12u64 {
        let mut flowc = spawn_quiet(&s, "roll.flow");
        let before = finals(&s).len();
        wait_for("a file to roll", || finals(&s).len() > before + (round as usize % 3));
        std::thread::sleep(Duration::from_millis(7 * (round % 5)));
        kill9(&mut flowc);
        // Under a final name, only whole files: whole lines, each a number, ending in a newline.
        for name in finals(&s) {
            let text = std::fs::read_to_string(s.path().join("out").join(&name)).unwrap();
            assert!(text.is_empty() || text.ends_with('\n'), "{name} ends in a torn line after kill {round}");
            assert!(!text.contains('\0'), "{name} holds NUL bytes after kill {round}");
            for line in text.lines() {
                assert!(line.parse::<u64>().is_ok(), "{name}: torn line {line:?} after kill {round}");
            }
        }
    }
}

#[test]
fn sigterm_the_moment_a_source_says_it_listens_still_drains_and_exits_0() {
    use std::io::{BufRead, BufReader};
    let s = Scratch::new();
    s.write("nc.flow", "source r = netcat { address = \"127.0.0.1:0\" }\nsink k = null {}\nr -> k\n");
    for attempt in 0..5 {
        let mut child = s
            .command(&["run", "nc.flow", "--stats", "off"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flowc starts");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while !line.contains("listening on") {
            line.clear();
            assert!(err.read_line(&mut line).unwrap() > 0, "flowc ended before it listened");
        }
        let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(sent.success());
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "attempt {attempt}: {status:?}\n{rest}");
        assert!(rest.contains("stopped by SIGTERM"), "attempt {attempt}: {rest}");
    }
}
