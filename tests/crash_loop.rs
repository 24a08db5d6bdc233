//! The crash loop: durable pipelines killed with SIGKILL at random moments, again and again, while
//! their input keeps growing. Pass: every input line is in the output at least once, and nothing
//! else is (no torn or invented line). Reported, not a criterion: how many lines were written twice.
//!
//! `FLOWC_CRASH_KILLS` (default 100 per pipeline) and `FLOWC_CRASH_SEED` (default: from the clock,
//! printed) reproduce a run; `bench/crash_loop.sh` runs longer loops and prints the figures.

mod run_common;

use run_common::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift64*), so a seed replays the same kill moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn kills() -> usize {
    std::env::var("FLOWC_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(100)
}

fn rng(what: &str) -> Rng {
    let seed = std::env::var("FLOWC_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    eprintln!("{what}: FLOWC_CRASH_SEED={seed}");
    Rng(seed | 1)
}

fn spawn(s: &Scratch) -> Child {
    s.command(&["run", "p.flow", "--stats", "off"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("flowc starts")
}

/// Input that grows on its own thread until stopped: `add(from, n)` appends lines `from..from+n`.
struct Growing {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Growing {
    fn start(add: impl Fn(usize, usize) + Send + 'static) -> Growing {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicUsize::new(0));
        let (stop2, written2) = (stop.clone(), written.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let from = written2.load(Ordering::Relaxed);
                add(from, 200);
                written2.store(from + 200, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(25));
            }
        });
        Growing { stop, written, thread: Some(thread) }
    }

    /// Stops the growth; returns how many lines were written in all.
    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        self.written.load(Ordering::Relaxed)
    }
}

fn line(i: usize) -> String {
    format!("event {i:08} {}", "y".repeat(30))
}

/// Kills a run of `p.flow` at random moments, `kills()` times, while `growing` adds input; then lets
/// a last run deliver everything and checks the output. Returns (lines, kills, duplicates).
fn crash_loop(s: &Scratch, what: &str, growing: Growing) -> (usize, usize, usize) {
    let mut rng = rng(what);
    let kills = kills();
    for _ in 0..kills {
        let mut child = spawn(s);
        std::thread::sleep(Duration::from_millis(rng.next() % 400));
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
    }
    let total = growing.finish();
    let mut child = spawn(s);
    let started = Instant::now();
    let out = s.path().join("out");
    while lines_under(&out).len() < total {
        assert!(started.elapsed() < PATIENCE, "{what}: only {} of {total} lines arrived", lines_under(&out).len());
        std::thread::sleep(Duration::from_millis(100));
    }
    let sent = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    assert!(child.wait().unwrap().success(), "{what}: the last run drains and exits 0");
    let got: BTreeMap<String, usize> = lines_under(&out);
    let missing: Vec<usize> = (0..total).filter(|&i| !got.contains_key(&line(i))).collect();
    assert!(
        missing.is_empty(),
        "{what}: {} lines lost over {kills} kills, first {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let expected: std::collections::HashSet<String> = (0..total).map(line).collect();
    let strange: Vec<&String> = got.keys().filter(|l| !expected.contains(*l)).take(3).collect();
    assert!(strange.is_empty(), "{what}: lines that were never input: {strange:?}");
    let duplicates: usize = got.values().map(|n| n - 1).sum();
    eprintln!("{what}: {total} lines, {kills} kills, 0 lost, {duplicates} written twice or more");
    (total, kills, duplicates)
}

#[test]
fn tail_through_a_file_channel_into_files_loses_nothing_over_repeated_kills() {
    let s = Scratch::new();
    s.write(
        "p.flow",
        r#"
source t = tail { path = "in.log", start_at = beginning }
channel c = file { fsync = always, segment_size = 256KiB }
sink k = files { path = "out/", prefix = "part-", roll = { count = 2_000 } }
t -> c -> k
"#,
    );
    let path = s.path().join("in.log");
    std::fs::write(&path, "").unwrap();
    let growing = Growing::start(move |from, n| {
        let text: String = (from..from + n).map(|i| line(i) + "\n").collect();
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    });
    crash_loop(&s, "tail -> file channel -> files", growing);
}

#[test]
fn a_topic_read_by_a_group_into_files_loses_nothing_over_repeated_kills() {
    let s = Scratch::new();
    s.write(
        "p.flow",
        r#"
topic events { partitions = 2 }
sink k = files { path = "out/", prefix = "part-", roll = { count = 2_000 } }
events -> group "g" -> k
"#,
    );
    let create = s.command(&["topic", "create", "events", "--partitions", "2"]).output().unwrap();
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stderr));
    let dir = s.path().to_path_buf();
    let growing = Growing::start(move |from, n| {
        let mut produce = std::process::Command::new(env!("CARGO_BIN_EXE_flowc"))
            .args(["produce", "events", "--batch", "100"])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let text: String = (from..from + n).map(|i| line(i) + "\n").collect();
        produce.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        assert!(produce.wait().unwrap().success(), "flowc produce appends while the group is killed");
    });
    crash_loop(&s, "topic -> group -> files", growing);
}
