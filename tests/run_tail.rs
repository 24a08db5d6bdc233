//! `tail` follows files like `tail -F`: appended lines, a partial last line held until its newline,
//! rename-and-create rotation (the rotated file, still matching the glob, is not read again), and
//! truncation. Every line exactly once; the test only waits for output, never for time.

mod run_common;

use run_common::*;
use std::io::Write;

fn append(path: &std::path::Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[test]
fn rotation_partial_lines_and_truncation_lose_and_repeat_nothing() {
    let s = Scratch::new();
    s.write(
        "agent.flow",
        "source t = tail { path = \"logs/*.log\", poll_interval = 20ms }\nsink o = logger {}\nt -> o\n",
    );
    let app = s.write("logs/app.log", "a1\na2\n");
    let other = s.write("logs/other.log", "c1\nc2\n");
    let mut run = s.start("agent.flow");
    let mut first = run.take(4);
    first.sort();
    assert_eq!(first, ["a1", "a2", "c1", "c2"]);

    // A partial line waits for its newline.
    append(&app, "a3\npart");
    assert_eq!(run.take(1), ["a3"]);
    append(&app, "ial\n");
    assert_eq!(run.take(1), ["partial"]);

    // Rename-and-create: the old file is read to its end, the new one from its start, and the
    // renamed file (which still matches *.log) is not read again.
    append(&app, "a4\n");
    std::fs::rename(&app, s.path().join("logs/app.1.log")).unwrap();
    append(&app, "b1\n");
    let mut rotated = run.take(2);
    rotated.sort();
    assert_eq!(rotated, ["a4", "b1"]);
    append(&app, "b2\n");
    assert_eq!(run.take(1), ["b2"]);

    // Truncation (copytruncate): the file is read again from its start.
    std::fs::write(&other, "").unwrap();
    append(&other, "d1\n");
    assert_eq!(run.take(1), ["d1"]);

    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "lines read twice: {rest:?}");
}

#[test]
fn start_at_end_skips_what_was_there() {
    let s = Scratch::new();
    s.write(
        "agent.flow",
        "source t = tail { path = \"app.log\", start_at = end, poll_interval = 20ms }\nsink o = logger {}\nt -> o\n",
    );
    let app = s.write("app.log", "old 1\nold 2\n");
    let run = s.start("agent.flow");
    // Nothing tells when the source has looked at the file, so keep appending until a line shows up:
    // the first line printed must be a new one.
    let mut n = 0;
    let line = loop {
        append(&app, &format!("new {n}\n"));
        n += 1;
        if let Ok(line) = run.lines.recv_timeout(std::time::Duration::from_millis(100)) {
            break line;
        }
        assert!(n < 1200, "nothing arrived");
    };
    assert!(line.starts_with("new "), "{line}");
    let (status, _, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
}

#[test]
fn a_restart_resumes_from_saved_positions_even_for_a_file_rotated_meanwhile() {
    let s = Scratch::new();
    s.write(
        "agent.flow",
        "source t = tail { path = \"logs/*.log\", poll_interval = 20ms }\nsink o = logger {}\nt -> o\n",
    );
    let app = s.write("logs/app.log", "a1\na2\n");
    let mut run = s.start("agent.flow");
    assert_eq!(run.take(2), ["a1", "a2"]);
    append(&app, "a3\npart");
    assert_eq!(run.take(1), ["a3"]);
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");
    let saved = std::fs::read_to_string(s.path().join(".flow/sources/t/positions.json")).unwrap();
    assert!(saved.contains("app.log"), "{saved}");

    // While stopped: the partial line is completed, more is written, the file is rotated away to a
    // name outside the glob and a new one is created.
    append(&app, "ial\na4\n");
    std::fs::rename(&app, s.path().join("logs/app.log.1")).unwrap();
    append(&app, "b1\n");
    let mut run = s.start("agent.flow");
    let mut resumed = run.take(3);
    resumed.sort();
    assert_eq!(resumed, ["a4", "b1", "partial"]);
    append(&app, "b2\n");
    assert_eq!(run.take(1), ["b2"]);
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "lines read twice: {rest:?}");
}

#[test]
fn damaged_saved_positions_are_refused_naming_the_node_and_the_file() {
    let s = Scratch::new();
    s.write("agent.flow", "source t = tail { path = \"app.log\" }\nsink o = logger {}\nt -> o\n");
    s.write("app.log", "a1\n");
    s.write(".flow/sources/t/positions.json", "{\"version\": 1, \"files\": [{\"inode\": \"x\"}]}");
    let out = s.run("agent.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("t:") && stderr.contains("positions.json") && stderr.contains("damaged"), "{stderr}");
    assert!(out.stdout.is_empty());
    // Still there: nothing was overwritten.
    let kept = std::fs::read_to_string(s.path().join(".flow/sources/t/positions.json")).unwrap();
    assert!(kept.contains("\"x\""));
}

#[test]
fn character_classes_in_the_glob_are_refused() {
    let s = Scratch::new();
    s.write("agent.flow", "source t = tail { path = \"app[0-9].log\" }\nsink o = logger {}\nt -> o\n");
    let out = s.run("agent.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("t:") && stderr.contains("app[0-9].log"), "{stderr}");
}

#[test]
fn start_at_end_applies_only_to_files_never_seen() {
    let s = Scratch::new();
    s.write(
        "agent.flow",
        "source t = tail { path = \"app.log\", start_at = end, poll_interval = 20ms }\nsink o = logger {}\nt -> o\n",
    );
    let app = s.write("app.log", "old 1\nold 2\n");
    let run = s.start("agent.flow");
    let mut n = 0;
    loop {
        append(&app, &format!("new {n}\n"));
        n += 1;
        if run.lines.recv_timeout(std::time::Duration::from_millis(100)).is_ok() {
            break;
        }
        assert!(n < 1200, "nothing arrived");
    }
    let (status, _, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    // Written while stopped, to a file with a saved position: read, not skipped as `end` would.
    append(&app, "while stopped\n");
    let mut run = s.start("agent.flow");
    assert_eq!(run.take(1), ["while stopped"]);
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");
}

#[test]
fn a_new_file_on_a_reused_inode_is_read_from_its_start() {
    let s = Scratch::new();
    s.write("agent.flow", "source t = tail { path = \"app.log\", poll_interval = 20ms }\nsink o = logger {}\nt -> o\n");
    let app = s.write("app.log", "first 1\nfirst 2\n");
    let mut run = s.start("agent.flow");
    assert_eq!(run.take(2), ["first 1", "first 2"]);
    let (status, _, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    // Deleted and written anew while stopped: ext4 and tmpfs usually hand out the same inode again,
    // and only the fingerprint tells the files apart.
    use std::os::unix::fs::MetadataExt;
    let old = std::fs::metadata(&app).unwrap().ino();
    std::fs::remove_file(&app).unwrap();
    s.write("app.log", "second 1\nsecond 2\nsecond 3\nsecond 4\n");
    eprintln!("inode reused: {}", std::fs::metadata(&app).unwrap().ino() == old);
    let mut run = s.start("agent.flow");
    assert_eq!(run.take(4), ["second 1", "second 2", "second 3", "second 4"]);
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");
}

/// Whether process `pid` has `path` open.
fn holds_open(pid: u32, path: &std::path::Path) -> bool {
    let target = std::fs::canonicalize(path).unwrap();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.filter_map(Result::ok).any(|fd| std::fs::read_link(fd.path()).is_ok_and(|p| p == target))
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < PATIENCE, "waited in vain until {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn idle_files_are_closed_and_reopened_when_they_grow() {
    let s = Scratch::new();
    s.write(
        "agent.flow",
        "source t = tail { path = \"app.log\", poll_interval = 10ms, idle_timeout = 50ms }\nsink o = logger {}\nt -> o\n",
    );
    let app = s.write("app.log", "a1\n");
    // The probe sees an open file (this test's own handle).
    let probe = std::fs::File::open(&app).unwrap();
    assert!(holds_open(std::process::id(), &app));
    drop(probe);
    let mut run = s.start("agent.flow");
    assert_eq!(run.take(1), ["a1"]);
    let pid = run.child.id();
    wait_until("the idle file is closed", || !holds_open(pid, &app));
    append(&app, "a2\n");
    assert_eq!(run.take(1), ["a2"]);
    wait_until("the idle file is closed again", || !holds_open(pid, &app));
    append(&app, "a3\n");
    assert_eq!(run.take(1), ["a3"]);
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");
}

#[test]
fn a_large_file_is_read_in_pieces_every_line_once() {
    // 9 MiB: more than one poll reads of a file at once, lines crossing every read boundary.
    let s = Scratch::new();
    s.write("agent.flow", "source t = tail { path = \"big.log\", poll_interval = 20ms }\nsink o = logger {}\nt -> o\n");
    let body: String = (0..9000).map(|n| format!("{n:06}{}\n", "x".repeat(1041))).collect();
    s.write("big.log", &body);
    let mut run = s.start("agent.flow");
    let lines = run.take(9000);
    for (n, line) in lines.iter().enumerate() {
        assert!(line.starts_with(&format!("{n:06}x")) && line.len() == 1047, "line {n}: {}", &line[..20]);
    }
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "{} lines read twice", rest.len());
}

#[test]
fn positions_that_cannot_be_saved_are_reported_and_lines_still_flow() {
    let s = Scratch::new();
    s.write("agent.flow", "source t = tail { path = \"app.log\", poll_interval = 20ms }\nsink o = logger {}\nt -> o\n");
    s.write("app.log", "a1\na2\n");
    // A directory where the temporary positions file goes: saving fails even for root.
    std::fs::create_dir_all(s.path().join(".flow/sources/t/positions.json.tmp")).unwrap();
    let mut run = s.start("agent.flow");
    assert_eq!(run.take(2), ["a1", "a2"]);
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");
    assert!(stderr.contains("t: cannot save positions"), "{stderr}");
    let (_, out, errors) = node_counts(&stderr, "t");
    assert_eq!(out, 2);
    assert!(errors >= 1, "{stderr}");
}

#[test]
fn follow_descriptor_keeps_the_renamed_file_and_ignores_the_new_one() {
    let s = Scratch::new();
    s.write(
        "agent.flow",
        "source t = tail { path = \"app.log\", follow = descriptor, poll_interval = 20ms }\nsink o = logger {}\nt -> o\n",
    );
    let app = s.write("app.log", "o1\n");
    let mut run = s.start("agent.flow");
    assert_eq!(run.take(1), ["o1"]);
    let renamed = s.path().join("app.log.1");
    std::fs::rename(&app, &renamed).unwrap();
    // The new file is written first: a poll that sees `o2` would see `n1` too if it followed it.
    append(&app, "n1\n");
    append(&renamed, "o2\n");
    assert_eq!(run.take(1), ["o2"]);
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "the new file was read: {rest:?}");
}
