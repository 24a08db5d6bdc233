//! Helpers for the network-source tests: `flowc run` started with a listener on port 0, its address
//! read from standard error, stopped with SIGTERM; what the `files` sink wrote, line by line.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest wait for something expected (a hang guard, not a timing assertion).
pub const PATIENCE: Duration = Duration::from_secs(120);

/// A running `flowc run` whose standard error is collected.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
    stderr_done: mpsc::Receiver<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `flowc run FILE` in `dir` (stdout to `stdout`, or discarded) and waits for the line that
/// says where it listens.
pub fn start(dir: &Path, file: &str, stdout: Stdio) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["run", file])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowc starts");
    let stderr = Arc::new(Mutex::new(String::new()));
    let (addr_tx, addr_rx) = mpsc::channel();
    let (done_tx, stderr_done) = mpsc::channel();
    let pipe = child.stderr.take().unwrap();
    let collected = stderr.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Some((_, addr)) = line.split_once(" listening on ") {
                let _ = addr_tx.send(addr.trim().parse::<SocketAddr>().expect("an address"));
            }
            let mut all = collected.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
        let _ = done_tx.send(());
    });
    let addr = match addr_rx.recv_timeout(PATIENCE) {
        Ok(addr) => addr,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("flowc never said where it listens:\n{}", stderr.lock().unwrap());
        }
    };
    Server { child, addr, stderr, stderr_done }
}

impl Server {
    /// What flowc printed on standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the exit: its status and all of standard error.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(sent.success());
        let status = self.child.wait().expect("flowc exits");
        let _ = self.stderr_done.recv_timeout(PATIENCE);
        (status, self.stderr())
    }

    /// Waits for flowc to exit by itself: its status and all of standard error.
    pub fn wait(mut self) -> (ExitStatus, String) {
        let status = self.child.wait().expect("flowc exits");
        let _ = self.stderr_done.recv_timeout(PATIENCE);
        (status, self.stderr())
    }
}

/// Waits until `cond` holds, checking every 20 ms; panics with `what` after [`PATIENCE`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(started.elapsed() < PATIENCE, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every line of every file under `dir` (in no particular order).
pub fn lines_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let mut text = String::new();
                std::fs::File::open(&path).unwrap().read_to_string(&mut text).unwrap();
                out.extend(text.lines().map(str::to_string));
            }
        }
    }
    out
}

/// Asserts that `got` holds each of `expected` exactly once and nothing else.
pub fn assert_exactly_once(mut got: Vec<String>, mut expected: Vec<String>) {
    got.sort();
    expected.sort();
    let dups: Vec<&String> = got.windows(2).filter(|w| w[0] == w[1]).map(|w| &w[0]).collect();
    assert!(dups.is_empty(), "{} line(s) delivered twice, e.g. {:?}", dups.len(), &dups[..dups.len().min(5)]);
    let missing: Vec<&String> = expected.iter().filter(|e| got.binary_search(e).is_err()).collect();
    assert!(missing.is_empty(), "{} line(s) lost, e.g. {:?}", missing.len(), &missing[..missing.len().min(5)]);
    assert_eq!(got, expected, "unexpected lines delivered");
}

/// The summary line of node `name` on stderr: (events in, events out, errors).
pub fn node_counts(stderr: &str, name: &str) -> (u64, u64, u64) {
    for line in stderr.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&name) && words.contains(&"errors") {
            let num = |key: &str| -> u64 {
                let at = words.iter().position(|w| *w == key).unwrap();
                words[at + 1].parse().unwrap()
            };
            return (num("in"), num("out"), num("errors"));
        }
    }
    panic!("no summary line for node {name} in:\n{stderr}");
}
