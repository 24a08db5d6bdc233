//! Helpers for the `flowc run` tests: a scratch directory holding a `.flow` file, and the real binary
//! run in it (its working directory), fed on stdin, stopped with SIGTERM when a test needs that.

#![allow(dead_code)]

#[path = "../py_common/mod.rs"]
pub mod py_common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Longest wait for one expected line before a test gives up (a hang guard, not a timing assertion).
pub const PATIENCE: Duration = Duration::from_secs(120);

pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch { dir: tempfile::tempdir().expect("a temporary directory") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowc"));
        cmd.args(args).current_dir(self.path()).env("NO_COLOR", "1");
        cmd
    }

    /// Runs `flowc run FILE` to its end with `input` on stdin.
    pub fn run(&self, file: &str, input: &str) -> Output {
        self.run_bytes(file, input.as_bytes())
    }

    /// Runs `flowc run FILE` to its end with `input`, any bytes, on stdin.
    pub fn run_bytes(&self, file: &str, input: &[u8]) -> Output {
        let mut child = self
            .command(&["run", file])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flowc starts");
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("flowc runs");
        writer.join().unwrap();
        out
    }

    /// Starts `flowc run FILE` in the background; its stdout lines arrive on the returned channel.
    pub fn start(&self, file: &str) -> Running {
        let mut child = self
            .command(&["run", file])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flowc starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines: rx }
    }
}

pub struct Running {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
}

/// A test that fails half-way must not leave `flowc run` (and what it started) running.
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// The next `n` lines of stdout.
    pub fn take(&mut self, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| match self.lines.recv_timeout(PATIENCE) {
                Ok(line) => line,
                Err(_) => {
                    let _ = self.child.kill();
                    let out = self.child.wait_with_output_text();
                    panic!("flowc printed only {i} of {n} expected lines; stderr:\n{out}");
                }
            })
            .collect()
    }

    /// Sends SIGTERM and waits: exit status, the rest of stdout, stderr.
    pub fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>, String) {
        let pid = self.child.id().to_string();
        // `Child::wait` closes stdin first: keep it open until flowc has exited, so the run ends by
        // the signal and not, racing with it, by end of input.
        let stdin = self.child.stdin.take();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(sent.success());
        let status = self.child.wait().expect("flowc exits");
        drop(stdin);
        let rest: Vec<String> = self.lines.iter().collect();
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut stderr);
        }
        (status, rest, stderr)
    }
}

trait ChildText {
    fn wait_with_output_text(&mut self) -> String;
}

impl ChildText for Child {
    fn wait_with_output_text(&mut self) -> String {
        let _ = self.wait();
        let mut stderr = String::new();
        if let Some(mut e) = self.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut stderr);
        }
        stderr
    }
}

/// The summary line of node `name` on stderr: (events in, events out, errors). The summary comes
/// last, after any live table or logged counters.
pub fn node_counts(stderr: &str, name: &str) -> (u64, u64, u64) {
    for line in stderr.lines().rev() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&name) {
            let num = |key: &str| -> u64 {
                // After the name: a node may be called `in` or `out`.
                let at =
                    1 + words[1..].iter().position(|w| *w == key).unwrap_or_else(|| panic!("no `{key}` in {line}"));
                words[at + 1].parse().unwrap()
            };
            return (num("in"), num("out"), num("errors"));
        }
    }
    panic!("no summary line for node {name} in:\n{stderr}");
}

/// Every file under `dir`, relative to it, sorted.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// Every line of every file under `dir` (in-use files included), with how often it occurs; empty
/// when `dir` does not exist yet.
pub fn lines_under(dir: &Path) -> std::collections::BTreeMap<String, usize> {
    let mut map = std::collections::BTreeMap::new();
    if !dir.exists() {
        return map;
    }
    for file in tree(dir) {
        let text = std::fs::read_to_string(dir.join(&file)).unwrap_or_default();
        for line in text.lines() {
            *map.entry(line.to_string()).or_insert(0) += 1;
        }
    }
    map
}

/// Every finished file under `dir` as an independent reader, pyarrow, reads it
/// (`tests/formats/read_back.py`): one JSON object per file with its columns and rows.
pub fn read_back(dir: &Path) -> Vec<serde_json::Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/formats/read_back.py");
    let out = py_common::python().arg(&script).arg(dir).output().expect("the tests' Python runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code() != Some(3), "pyarrow is missing from the tests' Python environment: {stderr}");
    assert!(out.status.success(), "pyarrow could not read what flowc wrote:\n{stderr}");
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A process in the background whose stderr is collected as it comes (for tests that watch what
/// `flowc run` says while it runs); killed when dropped.
pub struct Watched {
    pub child: Child,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Watched {
    /// Spawns `cmd` (stdin and stdout to /dev/null), collecting its stderr.
    pub fn spawn(mut cmd: Command) -> Watched {
        let mut child =
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("the command starts");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (pipe, collected) = (child.stderr.take().unwrap(), stderr.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut text = collected.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Watched { child, stderr }
    }

    /// Its stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends signal `name` (`HUP`, `TERM`, …).
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success(), "kill -{name}");
    }

    /// Waits (a hang guard, not a timing assertion) until `ready` holds of its stderr so far.
    pub fn wait_for(&mut self, what: &str, ready: impl Fn(&str) -> bool) {
        let start = std::time::Instant::now();
        while !ready(&self.stderr()) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("it exited ({status}) before {what}; stderr:\n{}", self.stderr());
            }
            assert!(start.elapsed() < PATIENCE, "no {what} in time; stderr:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then its exit must be 0 (a drained run); returns all of its stderr.
    pub fn terminate(mut self) -> String {
        self.signal("TERM");
        let status = self.child.wait().unwrap();
        // The reader thread gets the last lines once the pipe closes.
        std::thread::sleep(Duration::from_millis(100));
        assert!(status.success(), "it drains and exits 0: {status}\n{}", self.stderr());
        self.stderr()
    }
}
