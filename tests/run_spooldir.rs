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
