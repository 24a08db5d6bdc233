//! Helpers for the `flowc serve` tests: a server on a free loopback port over a scratch data
//! directory, its log, the console tools on the same directory, and the tests' Python clients.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

#[path = "../py_common/mod.rs"]
pub mod py_common;

/// A running `flowc serve`.
pub struct Serve {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
    log: Arc<Mutex<String>>,
}

/// A `flowc` command.
pub fn flowc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flowc"));
    c.env_remove("FLOWC_DATA_DIR").env_remove("FLOWC_LOG");
    c
}

impl Serve {
    /// Starts `flowc serve` on 127.0.0.1 (a free port) over `dir`, with `extra` arguments.
    pub fn start(dir: &Path, extra: &[&str]) -> Serve {
        let mut child = flowc()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flowc serve starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr piped"));
        let mut port = None;
        let mut seen = String::new();
        let mut line = String::new();
        while port.is_none() {
            line.clear();
            if lines.read_line(&mut line).unwrap_or(0) == 0 {
                panic!("flowc serve ended before it listened:\n{seen}");
            }
            seen.push_str(&line);
            if let Some(rest) = line.split("over the Kafka protocol on 127.0.0.1:").nth(1) {
                port = rest.trim().parse().ok();
            }
        }
        let log = Arc::new(Mutex::new(seen));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut rest = String::new();
            let mut buf = [0u8; 4096];
            loop {
                match lines.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        rest.push_str(&String::from_utf8_lossy(&buf[..n]));
                        sink.lock().unwrap().push_str(&rest);
                        rest.clear();
                    }
                }
            }
        });
        Serve { child, port: port.expect("a port"), dir: dir.to_path_buf(), log }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGTERM, then the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        signal(&self.child, "TERM");
        let status = self.child.wait().expect("flowc serve exits");
        std::thread::sleep(std::time::Duration::from_millis(50));
        status
    }

    /// SIGKILL.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The server's resident memory (VmRSS) in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // the failing test's output then holds what the server said
            eprintln!("flowc serve's log:\n{}", self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `SIG<name>` to a child.
pub fn signal(child: &Child, name: &str) {
    let _ = Command::new("kill").arg(format!("-{name}")).arg(child.id().to_string()).status();
}

/// The path of a client script under `tests/serve/`.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/serve").join(name)
}

/// Runs `tests/serve/<name>` with the environment `env` ("requirements" or "confluent-2.0");
/// panics with its output unless it exits 0; returns its standard output.
pub fn client(env: &str, name: &str, args: &[&str]) -> String {
    let out: Output = py_common::python_env(env).arg(script(name)).args(args).output().expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} {args:?} failed ({})\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The value of `key=` in a client's `key=value` output lines.
pub fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in the client's output:\n{out}"))
}
