//! Helpers for the log's CLI tests: a scratch data directory and `flowc` invocations.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `flowc` binary under test, with `FLOWC_DATA_DIR` cleared.
pub fn flowc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flowc"));
    c.env_remove("FLOWC_DATA_DIR");
    c
}

/// A scratch data directory (world-traversable, so tests may run tools as another user).
pub struct DataDir {
    tmp: tempfile::TempDir,
}

impl DataDir {
    pub fn new() -> DataDir {
        let tmp = tempfile::tempdir().unwrap();
        set_mode(tmp.path(), 0o755);
        DataDir { tmp }
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// `flowc ARGS --data-dir DIR`.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = flowc();
        c.args(args).arg("--data-dir").arg(self.path());
        c
    }

    /// Runs to completion with `input` on stdin.
    pub fn run(&self, args: &[&str], input: &str) -> Output {
        run_with(self.cmd(args), input)
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, "")
    }

    /// Runs with `input` and asserts success; returns stdout.
    pub fn ok_with(&self, args: &[&str], input: &str) -> String {
        let out = self.run(args, input);
        assert!(
            out.status.success(),
            "flowc {args:?} failed ({:?}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// Runs `c` with `input` on stdin, collecting its output.
pub fn run_with(mut c: Command, input: &str) -> Output {
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // A binary the test just copied may still be open for writing in a child another test forked
    // meanwhile (until that child execs): the kernel then refuses to run it for a moment.
    let mut tries = 0;
    let mut child = loop {
        match c.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

/// Parses a table printed by `topic describe` / `groups describe` into column → cell maps.
pub fn describe_rows(out: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = out.lines().skip_while(|l| !l.starts_with("PARTITION") && !l.starts_with("GROUP"));
    let Some(header) = lines.next() else { return Vec::new() };
    let cols: Vec<&str> = header.split_whitespace().collect();
    lines.map(|l| cols.iter().map(|c| c.to_string()).zip(l.split_whitespace().map(str::to_string)).collect()).collect()
}

/// Polls `cond` until it holds; fails the test if it never does within a minute.
pub fn wait_for(mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(60), "condition never became true");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether this process runs as root (file permissions do not bind root).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

/// Makes every directory and file under `root` writable, or read-only (still readable by all).
pub fn set_tree_writable(root: &Path, writable: bool) {
    let mut stack = vec![root.to_path_buf()];
    let mut dirs = Vec::new();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
            dirs.push(p);
        } else {
            set_mode(&p, if writable { 0o644 } else { 0o444 });
        }
    }
    for d in dirs {
        set_mode(&d, if writable { 0o755 } else { 0o555 });
    }
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The single segment files of a partition, oldest first.
pub fn segments(partition_dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(partition_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}
