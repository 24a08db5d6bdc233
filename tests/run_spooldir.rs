//! The seed's first Flume agent, run for real: spooldir -> memory -> logger. Every line of every
//! spooled file is logged exactly once, each file is renamed `.COMPLETED` once its lines are written,
//! a file dropped in while it runs is picked up too, and SIGTERM drains and exits 0.

mod run_common;

use run_common::*;
use std::collections::BTreeMap;

fn counts(lines: &[String]) -> BTreeMap<String, usize> {
    let mut map = BTreeMap::new();
    for line in lines {
        *map.entry(line.clone()).or_insert(0) += 1;
    }
    map
}

#[test]
fn spooled_files_are_logged_once_and_renamed_completed() {
    let s = Scratch::new();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/flume_spooldir_logger.flow"),
        s.path().join("agent.flow"),
    )
    .unwrap();
    let mut expected = Vec::new();
    for file in ["a.log", "b.log", "c.txt"] {
        let lines: Vec<String> = (0..250).map(|i| format!("{file} line {i} with  spaces\tand a tab")).collect();
        s.write(&format!("spool/{file}"), &(lines.join("\n") + "\n"));
        expected.extend(lines);
    }
    // A last line without a newline, and an empty line, are events too.
    s.write("spool/d.log", "first\n\nno newline at the end");
    expected.extend(["first".to_string(), String::new(), "no newline at the end".to_string()]);

    let mut run = s.start("agent.flow");
    let mut got = run.take(expected.len());

    // The source keeps watching: a file moved in later is read as well (written under a hidden
    // name first, as a finished file should arrive).
    let late: Vec<String> = (0..40).map(|i| format!("late {i}")).collect();
    s.write("spool/.late.partial", &(late.join("\n") + "\n"));
    std::fs::rename(s.path().join("spool/.late.partial"), s.path().join("spool/late.log")).unwrap();
    got.extend(run.take(late.len()));
    expected.extend(late);

    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "exit {status:?}; stderr:\n{stderr}");
    assert!(rest.is_empty(), "lines after the last expected one: {rest:?}");
    assert_eq!(counts(&got), counts(&expected), "every line logged exactly once");
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");

    let spool = tree(&s.path().join("spool"));
    assert_eq!(
        spool,
        ["a.log.COMPLETED", "b.log.COMPLETED", "c.txt.COMPLETED", "d.log.COMPLETED", "late.log.COMPLETED"],
        "every file renamed once its lines were written"
    );
    let (_, out, errors) = node_counts(&stderr, "r1");
    assert_eq!((out, errors), (expected.len() as u64, 0));
    let (s1_in, _, _) = node_counts(&stderr, "s1");
    assert_eq!(s1_in, expected.len() as u64);
}

#[test]
fn a_file_that_is_not_text_is_quarantined_and_the_others_go_on() {
    let s = Scratch::new();
    s.write(
        "agent.flow",
        "source r = spooldir { dir = \"in\", settle = 0s, poll_interval = 50ms }\nsink k = logger {}\nr -> k\n",
    );
    s.write("in/good.log", "one\ntwo\n");
    std::fs::write(s.path().join("in/bad.bin"), [0xff, 0xfe, b'\n', 0x80]).unwrap();
    let mut run = s.start("agent.flow");
    let mut got = run.take(2);
    got.sort();
    assert_eq!(got, ["one", "two"]);
    // The quarantine happens after the good file; wait for it by asking the file system only.
    let quarantined = s.path().join("in/bad.bin.QUARANTINED");
    let started = std::time::Instant::now();
    while !quarantined.exists() {
        assert!(started.elapsed() < PATIENCE, "bad.bin was never quarantined");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");
    assert!(stderr.contains("not UTF-8"), "{stderr}");
    assert_eq!(tree(&s.path().join("in")), ["bad.bin.QUARANTINED", "good.log.COMPLETED"]);
}

/// One big spooled file read by a logger whose standard output the test reads slowly: flowc can be
/// only part of the way through the file when it is stopped.
const BIG: usize = 200_000;

fn big_file(s: &Scratch) -> Vec<String> {
    s.write(
        "agent.flow",
        "source r = spooldir { dir = \"in\", settle = 0s, poll_interval = 50ms }\nsink k = logger {}\nr -> k\n",
    );
    let lines: Vec<String> = (0..BIG).map(|i| format!("line {i:06}")).collect();
    s.write("in/big.log", &(lines.join("\n") + "\n"));
    lines
}

/// The second run reads the rest of the file (and renames it), then is stopped.
fn rest_of_file(s: &Scratch) -> Vec<String> {
    let run = s.start("agent.flow");
    let completed = s.path().join("in/big.log.COMPLETED");
    let mut got = Vec::new();
    let started = std::time::Instant::now();
    // Renamed only once every line was written to standard output.
    while !completed.exists() {
        assert!(started.elapsed() < PATIENCE, "the second run read {} lines", got.len());
        if let Ok(line) = run.lines.recv_timeout(std::time::Duration::from_millis(50)) {
            got.push(line);
        }
    }
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    got.extend(rest);
    got
}

/// `flowc run` whose standard output the test reads itself, line by line: while the test does not
/// read, the pipe fills and the logger (and so the source) waits.
struct Slow {
    child: std::process::Child,
    out: std::io::BufReader<std::process::ChildStdout>,
}

impl Slow {
    fn start(s: &Scratch) -> Slow {
        let mut child = s
            .command(&["run", "agent.flow", "--stats", "off"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("flowc starts");
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        Slow { child, out }
    }

    fn take(&mut self, n: usize, into: &mut Vec<String>) {
        use std::io::BufRead;
        for _ in 0..n {
            let mut line = String::new();
            assert!(self.out.read_line(&mut line).unwrap() > 0, "flowc ended early");
            into.push(line.trim_end_matches('\n').to_string());
        }
    }

    /// Signals flowc, then reads what it still writes until it exits.
    fn stop(mut self, signal: &str, into: &mut Vec<String>) {
        use std::io::BufRead;
        let sent = std::process::Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success());
        for line in (&mut self.out).lines() {
            into.push(line.unwrap());
        }
        let status = self.child.wait().unwrap();
        if signal == "-TERM" {
            assert!(status.success(), "{status:?}");
        }
    }
}

#[test]
fn sigterm_half_way_through_a_file_resumes_after_the_last_line_written() {
    let s = Scratch::new();
    let expected = big_file(&s);
    let mut run = Slow::start(&s);
    let mut first = Vec::new();
    run.take(5_000, &mut first);
    run.stop("-TERM", &mut first);
    assert!(first.len() < BIG, "the first run was meant to stop part of the way through");
    assert!(s.path().join("in/big.log").exists(), "a file not read to its end is not renamed");

    let second = rest_of_file(&s);
    // Stopped cleanly: every line exactly once over the two runs (Flume's tracker file, kept).
    let mut all = first.clone();
    all.extend(second);
    assert_eq!(counts(&all), counts(&expected), "each line once across the stop");
    assert_eq!(tree(&s.path().join("in")), ["big.log.COMPLETED"]);
}

#[test]
fn sigkill_half_way_through_a_file_loses_nothing_and_does_not_start_over() {
    let s = Scratch::new();
    let expected = big_file(&s);
    let mut run = Slow::start(&s);
    let mut first = Vec::new();
    run.take(5_000, &mut first);
    // Progress is saved a few times a second while lines are written: let some time pass, read on
    // until the progress file is there, then kill.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let saved = s.path().join(".flow/sources/r/spooldir.json");
    while !saved.exists() {
        assert!(first.len() < BIG, "the whole file was read and progress never saved");
        run.take(100, &mut first);
    }
    run.stop("-KILL", &mut first);
    assert!(first.len() < BIG, "the first run was meant to be killed part of the way through");

    let second = rest_of_file(&s);
    let mut all = first.clone();
    all.extend(second.iter().cloned());
    let got = counts(&all);
    let lost: Vec<&String> = expected.iter().filter(|l| !got.contains_key(*l)).collect();
    assert!(lost.is_empty(), "{} line(s) lost, e.g. {:?}", lost.len(), &lost[..lost.len().min(3)]);
    let before: std::collections::HashSet<&String> = first.iter().collect();
    let again = second.iter().filter(|l| before.contains(l)).count();
    eprintln!("after SIGKILL: {again} of {} lines read before the kill were read again", first.len());
    assert!(again < first.len(), "the second run started the file over ({again} repeated)");
}
