//! The `tail` rotation suite (issue #4): a writer thread keeps appending numbered lines (every fifth
//! one in two writes, so partial last lines are common) while it rotates its file the ways log
//! rotators do, and the real `flowc run` prints what it reads. Each test proves every line came out
//! exactly once — after SIGKILL, that only lines past the saved position came out twice. The tests
//! wait for lines to arrive (with a generous hang guard), never for time.

mod run_common;

use run_common::*;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bytes of one line: a one-letter tag, seven digits, the newline.
const WIDTH: u64 = 9;

fn line(tag: char, n: u64) -> String {
    format!("{tag}{n:07}")
}

/// What the writer does between two lines (it is the application and the log rotator at once, so an
/// operation never falls in the middle of a line).
enum Op {
    /// Rename the file away, go on writing `gap` lines to the renamed file (the application has not
    /// reopened yet), then create a new file under the name.
    Rename(PathBuf, u64),
    /// Write `burst` lines at once, copy the file, truncate it in place (logrotate's copytruncate).
    CopyTruncate(PathBuf, u64),
    /// Delete the file, go on writing `gap` lines to it, then create a new one under the name.
    Delete(u64),
    /// Stop writing until the next operation.
    Pause,
    /// Truncate the file in place and at once write `burst` lines to it.
    Truncate(u64),
    Stop,
}

/// A writer thread appending `tag` lines to `path`; each operation replies with the number of the
/// next line it will write.
struct Writer {
    ops: mpsc::Sender<(Op, mpsc::Sender<u64>)>,
    thread: Option<JoinHandle<()>>,
    tag: char,
}

fn open_append(path: &Path) -> File {
    OpenOptions::new().append(true).create(true).open(path).unwrap()
}

impl Writer {
    fn start(path: PathBuf, tag: char) -> Writer {
        let (ops, rx) = mpsc::channel::<(Op, mpsc::Sender<u64>)>();
        let thread = std::thread::spawn(move || {
            let mut file = open_append(&path);
            let mut n = 0u64;
            let mut paused = false;
            // `whole`: a burst, as fast as it goes.
            let write = |file: &mut File, n: &mut u64, whole: bool| {
                let text = format!("{}\n", line(tag, *n));
                if n.is_multiple_of(5) && !whole {
                    // A partial line the source may see before its end arrives.
                    file.write_all(&text.as_bytes()[..4]).unwrap();
                    std::thread::sleep(Duration::from_millis(1));
                    file.write_all(&text.as_bytes()[4..]).unwrap();
                } else {
                    file.write_all(text.as_bytes()).unwrap();
                }
                *n += 1;
            };
            loop {
                let next = if paused { rx.recv().ok() } else { rx.try_recv().ok() };
                if let Some((op, reply)) = next {
                    paused = false;
                    match op {
                        Op::Rename(to, gap) => {
                            std::fs::rename(&path, &to).unwrap();
                            for _ in 0..gap {
                                write(&mut file, &mut n, false);
                            }
                            file = open_append(&path);
                        }
                        Op::CopyTruncate(to, burst) => {
                            for _ in 0..burst {
                                write(&mut file, &mut n, true);
                            }
                            std::fs::copy(&path, &to).unwrap();
                            file.set_len(0).unwrap();
                        }
                        Op::Delete(gap) => {
                            std::fs::remove_file(&path).unwrap();
                            for _ in 0..gap {
                                write(&mut file, &mut n, false);
                            }
                            file = open_append(&path);
                        }
                        Op::Pause => paused = true,
                        Op::Truncate(burst) => {
                            file.set_len(0).unwrap();
                            for _ in 0..burst {
                                write(&mut file, &mut n, true);
                            }
                        }
                        Op::Stop => {
                            let _ = reply.send(n);
                            return;
                        }
                    }
                    let _ = reply.send(n);
                    continue;
                }
                if !paused {
                    write(&mut file, &mut n, false);
                    if n.is_multiple_of(16) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            }
        });
        Writer { ops, thread: Some(thread), tag }
    }

    /// Runs `op` in the writer and returns the number of the next line it will write.
    fn apply(&self, op: Op) -> u64 {
        let (tx, rx) = mpsc::channel();
        self.ops.send((op, tx)).unwrap();
        rx.recv().unwrap()
    }

    /// Stops the writer: the number of lines it wrote.
    fn stop(mut self) -> u64 {
        let n = self.apply(Op::Stop);
        self.thread.take().unwrap().join().unwrap();
        n
    }
}

/// Every line printed so far, with how often.
#[derive(Default)]
struct Seen(HashMap<String, usize>);

impl Seen {
    fn add(&mut self, text: String) {
        *self.0.entry(text).or_default() += 1;
    }

    fn has(&self, tag: char, n: u64) -> bool {
        self.0.contains_key(&line(tag, n))
    }

    /// Takes output until `done` holds.
    fn wait(&mut self, run: &mut Running, what: &str, done: impl Fn(&Seen) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(self) {
            match run.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(text) => self.add(text),
                Err(_) => {
                    let _ = run.child.kill();
                    panic!("waited in vain for {what}; {} distinct lines seen", self.0.len());
                }
            }
        }
    }

    fn wait_for(&mut self, run: &mut Running, tag: char, n: u64) {
        self.wait(run, &format!("line {}", line(tag, n)), |s| s.has(tag, n));
    }

    /// Takes output until every line `0..total` of `tag` is in `self` or `before`.
    fn wait_all_with(&mut self, run: &mut Running, tag: char, total: u64, before: &[Seen]) {
        let deadline = Instant::now() + PATIENCE;
        let mut n = 0;
        while n < total {
            if self.has(tag, n) || runs_have(before, &line(tag, n)) {
                n += 1;
                continue;
            }
            match run.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(text) => self.add(text),
                Err(_) => {
                    let _ = run.child.kill();
                    panic!("waited in vain for {} (all {total} `{tag}` lines)", line(tag, n));
                }
            }
        }
    }

    fn wait_all(&mut self, run: &mut Running, tag: char, total: u64) {
        self.wait_all_with(run, tag, total, &[]);
    }

    /// Asserts each expected line came out exactly once and nothing else did.
    fn assert_exactly_once(&self, expected: &[(char, u64)]) {
        let mut missing = Vec::new();
        let mut twice = Vec::new();
        for &(tag, total) in expected {
            for n in 0..total {
                match self.0.get(&line(tag, n)) {
                    None => missing.push(line(tag, n)),
                    Some(1) => {}
                    Some(_) => twice.push(line(tag, n)),
                }
            }
        }
        let known: usize = expected.iter().map(|(_, t)| *t as usize).sum();
        let mut other: Vec<&String> = self.0.keys().filter(|k| !is_expected(k, expected)).collect();
        other.truncate(10);
        missing.truncate(10);
        twice.truncate(10);
        assert!(
            missing.is_empty() && twice.is_empty() && other.is_empty(),
            "of {known} lines: missing {missing:?}, twice {twice:?}, unexpected {other:?}"
        );
    }
}

fn is_expected(text: &str, expected: &[(char, u64)]) -> bool {
    let mut chars = text.chars();
    let Some(tag) = chars.next() else { return false };
    let digits = chars.as_str();
    digits.len() == 7 && digits.parse::<u64>().is_ok_and(|n| expected.iter().any(|&(t, total)| t == tag && n < total))
}

/// A flow tailing `path` into the logger; `extra` options appended.
fn agent(s: &Scratch, path: &str, extra: &str) {
    s.write(
        "agent.flow",
        &format!(
            "source t = tail {{ path = \"{path}\", poll_interval = 10ms{extra} }}\nsink o = logger {{}}\nt -> o\n"
        ),
    );
}

/// SIGTERM; the lines still printed join `seen`.
fn stop(run: Running, seen: &mut Seen) {
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    for text in rest {
        seen.add(text);
    }
}

#[test]
fn rename_and_create_while_writing_loses_and_repeats_nothing() {
    let s = Scratch::new();
    std::fs::create_dir(s.path().join("logs")).unwrap();
    agent(&s, "logs/app.log", "");
    let app = s.path().join("logs/app.log");
    let writer = Writer::start(app.clone(), 'a');
    let mut run = s.start("agent.flow");
    let mut seen = Seen::default();
    seen.wait_for(&mut run, 'a', 100);
    for k in 1..=5 {
        let first_new = writer.apply(Op::Rename(s.path().join(format!("logs/app.log.{k}")), 40));
        // The new file is met before it is rotated in turn (a file that lived unseen under the name
        // for less than a poll is lost by every tailer).
        seen.wait_for(&mut run, 'a', first_new + 200);
    }
    let total = writer.stop();
    seen.wait_all(&mut run, 'a', total);
    stop(run, &mut seen);
    seen.assert_exactly_once(&[('a', total)]);
}

#[test]
fn copytruncate_while_writing_reads_what_it_had_not_from_the_copy() {
    // The writer is also the rotator, so no line is written between the copy and the truncation —
    // that window is lost by every tailer (docs/run.md). Each rotation follows a burst of lines the
    // source has most likely not read yet when the copy is taken: they are read from the copy.
    let s = Scratch::new();
    std::fs::create_dir(s.path().join("logs")).unwrap();
    agent(&s, "logs/app.log", "");
    let writer = Writer::start(s.path().join("logs/app.log"), 'c');
    let mut run = s.start("agent.flow");
    let mut seen = Seen::default();
    seen.wait_for(&mut run, 'c', 100);
    for k in 1..=6 {
        let first_new = writer.apply(Op::CopyTruncate(s.path().join(format!("logs/app.log.{k}")), 2000));
        seen.wait_for(&mut run, 'c', first_new + 100);
    }
    let total = writer.stop();
    seen.wait_all(&mut run, 'c', total);
    stop(run, &mut seen);
    seen.assert_exactly_once(&[('c', total)]);
}

#[test]
fn truncation_then_more_than_before_is_read_from_the_start() {
    // After the truncation the writer at once writes more than the file held: the size never looks
    // smaller, the changed first bytes tell.
    let s = Scratch::new();
    std::fs::create_dir(s.path().join("logs")).unwrap();
    agent(&s, "logs/app.log", "");
    let writer = Writer::start(s.path().join("logs/app.log"), 't');
    let mut run = s.start("agent.flow");
    let mut seen = Seen::default();
    let mut since_truncation = 0;
    for _ in 0..4 {
        seen.wait_for(&mut run, 't', since_truncation + 150);
        let next = writer.apply(Op::Pause);
        seen.wait_all(&mut run, 't', next);
        let held = next - since_truncation;
        writer.apply(Op::Truncate(held + 100));
        since_truncation = next;
    }
    let total = writer.stop();
    seen.wait_all(&mut run, 't', total);
    stop(run, &mut seen);
    seen.assert_exactly_once(&[('t', total)]);
}

#[test]
fn a_file_deleted_and_recreated_while_writing_loses_and_repeats_nothing() {
    let s = Scratch::new();
    std::fs::create_dir(s.path().join("logs")).unwrap();
    agent(&s, "logs/app.log", "");
    let writer = Writer::start(s.path().join("logs/app.log"), 'd');
    let mut run = s.start("agent.flow");
    let mut seen = Seen::default();
    seen.wait_for(&mut run, 'd', 100);
    for _ in 0..5 {
        let first_new = writer.apply(Op::Delete(40));
        seen.wait_for(&mut run, 'd', first_new + 200);
    }
    let total = writer.stop();
    seen.wait_all(&mut run, 'd', total);
    stop(run, &mut seen);
    seen.assert_exactly_once(&[('d', total)]);
}

#[test]
fn a_glob_of_several_files_rotated_to_names_it_still_matches() {
    // `a.log` is rotated to `a.1.log`, `a.2.log`, … which `*.log` still matches: they keep their
    // positions (Flume's TAILDIR reads them again from the start). `d.log` appears half-way.
    let s = Scratch::new();
    std::fs::create_dir(s.path().join("logs")).unwrap();
    agent(&s, "logs/*.log", "");
    let writers: Vec<Writer> =
        ['a', 'b', 'c'].into_iter().map(|t| Writer::start(s.path().join(format!("logs/{t}.log")), t)).collect();
    let mut run = s.start("agent.flow");
    let mut seen = Seen::default();
    for w in &writers {
        seen.wait_for(&mut run, w.tag, 100);
    }
    let late = Writer::start(s.path().join("logs/d.log"), 'd');
    for k in 1..=3 {
        let first_new = writers[0].apply(Op::Rename(s.path().join(format!("logs/a.{k}.log")), 40));
        seen.wait_for(&mut run, 'a', first_new + 200);
    }
    seen.wait_for(&mut run, 'd', 100);
    let mut expected: Vec<(char, u64)> = writers.into_iter().map(|w| (w.tag, w.stop())).collect();
    expected.push(('d', late.stop()));
    for &(tag, total) in &expected {
        seen.wait_all(&mut run, tag, total);
    }
    stop(run, &mut seen);
    seen.assert_exactly_once(&expected);
}

#[test]
fn sigterm_mid_stream_and_a_rotation_while_stopped_resume_without_loss_or_repeat() {
    let s = Scratch::new();
    std::fs::create_dir(s.path().join("logs")).unwrap();
    agent(&s, "logs/app.log", "");
    let writer = Writer::start(s.path().join("logs/app.log"), 'r');
    let mut seen = Seen::default();
    let mut run = s.start("agent.flow");
    seen.wait_for(&mut run, 'r', 300);
    stop(run, &mut seen);
    // Stopped: the writer goes on and the file is rotated.
    let first_new = writer.apply(Op::Rename(s.path().join("logs/app.log.1"), 40));
    let mut run = s.start("agent.flow");
    seen.wait_for(&mut run, 'r', first_new + 200);
    stop(run, &mut seen);
    let mut run = s.start("agent.flow");
    let total = writer.stop();
    seen.wait_all(&mut run, 'r', total);
    stop(run, &mut seen);
    seen.assert_exactly_once(&[('r', total)]);
}

/// The offset saved for the one file followed.
fn saved_offset(s: &Scratch) -> u64 {
    let text = std::fs::read_to_string(s.path().join(".flow/sources/t/positions.json")).unwrap();
    let at = text.find("\"offset\":").expect("an offset") + "\"offset\":".len();
    let digits: String = text[at..].trim_start().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

#[test]
fn sigkill_mid_stream_repeats_only_lines_past_the_saved_position() {
    const KILLS: usize = 3;
    let s = Scratch::new();
    std::fs::create_dir(s.path().join("logs")).unwrap();
    agent(&s, "logs/app.log", "");
    let writer = Writer::start(s.path().join("logs/app.log"), 'k');
    // What each run printed, and the position saved when it was killed.
    let mut runs: Vec<Seen> = Vec::new();
    let mut offsets = Vec::new();
    for kill in 0..KILLS {
        let mut run = s.start("agent.flow");
        let mut seen = Seen::default();
        seen.wait(&mut run, "progress", |s| s.0.len() > 500 && s.0.keys().any(|k| !runs_have(&runs, k)));
        run.child.kill().expect("SIGKILL");
        let status = run.child.wait().unwrap();
        assert!(!status.success(), "kill {kill}: flowc had already exited");
        for text in run.lines.iter() {
            seen.add(text);
        }
        let offset = saved_offset(&s);
        // The saved position never passes a line that was not printed: every line ending at or
        // before it came out by now.
        for n in 0..offset / WIDTH {
            assert!(seen.has('k', n) || runs_have(&runs, &line('k', n)), "kill {kill}: {} saved, not printed", n);
        }
        runs.push(seen);
        offsets.push(offset);
    }
    let mut run = s.start("agent.flow");
    let total = writer.stop();
    let mut last = Seen::default();
    last.wait_all_with(&mut run, 'k', total, &runs);
    stop(run, &mut last);
    runs.push(last);

    let mut all = Seen::default();
    let mut repeated = 0;
    for (i, r) in runs.iter().enumerate() {
        for (text, count) in &r.0 {
            assert_eq!(*count, 1, "{text} twice within run {i}");
            if all.0.contains_key(text) {
                repeated += 1;
                // Read again after kill i-1: it must lie past the position saved then.
                let n: u64 = text[1..].parse().unwrap();
                assert!(
                    (n + 1) * WIDTH > offsets[i - 1],
                    "{text} was saved as read before kill {} yet came again",
                    i - 1
                );
            }
            all.add(text.clone());
        }
    }
    eprintln!("{repeated} lines came twice over {KILLS} kills (the unacknowledged tail)");
    let once: Vec<(char, u64)> = vec![('k', total)];
    let mut distinct = Seen::default();
    for text in all.0.keys() {
        distinct.add(text.clone());
    }
    distinct.assert_exactly_once(&once);
}

fn runs_have(runs: &[Seen], text: &str) -> bool {
    runs.iter().any(|r| r.0.contains_key(text))
}
