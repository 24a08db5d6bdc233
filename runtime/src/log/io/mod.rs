//! The log's file layer: every file and directory operation of the embedded log goes through [`Storage`].
//!
//! Production uses [`Real`] (plain `std::fs`, picked once per data directory and shared as an
//! `Arc<dyn Storage>`: one indirect call per `pwrite`/`fdatasync`, nothing else). Tests swap in the
//! simulated disk of `sim` (power loss, torn and reordered writes, injected EIO/ENOSPC). Writer and
//! member locks are `flock`s taken through [`StorageFile::try_lock`], so the simulation models them
//! too; the log maps nothing into memory.

mod real;
#[cfg(test)]
pub(crate) mod sim;

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub(crate) use real::Real;

/// How [`Storage::open`] opens a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Open {
    /// Read only; the file must exist.
    Read,
    /// Read and write; the file must exist.
    Write,
    /// Read and write, created empty if missing.
    Create,
    /// Read and write, created if missing, emptied if present.
    Truncate,
}

/// What [`Storage::stat`] found at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    /// A directory (otherwise a file).
    pub(crate) is_dir: bool,
    /// A file's length in bytes (0 for a directory).
    pub(crate) len: u64,
}

/// An open file: positioned reads and writes, length, `fdatasync`, an advisory lock.
pub(crate) trait StorageFile: Send + Sync + fmt::Debug {
    /// Reads up to `buf.len()` bytes at `pos`; 0 at the end of the file.
    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize>;
    /// Writes all of `buf` at `pos` (extending the file); an error may leave a prefix written.
    fn write_all_at(&self, buf: &[u8], pos: u64) -> io::Result<()>;
    /// The file's current length.
    fn len(&self) -> io::Result<u64>;
    /// Truncates or extends the file to `len` bytes.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes the file's data (and the length needed to read it) durable: `fdatasync`.
    fn sync_data(&self) -> io::Result<()>;
    /// Tries to take an exclusive lock held as long as this handle lives; `Ok(false)` if taken.
    fn try_lock(&self) -> io::Result<bool>;
}

/// A shared open file.
pub(crate) type FileRef = Arc<dyn StorageFile>;

/// Files and directories of a data directory. Names created, renamed or removed are durable only
/// after [`sync_dir`](Storage::sync_dir) of their directory, as on a real disk.
pub(crate) trait Storage: Send + Sync + fmt::Debug {
    /// Opens (or creates, see [`Open`]) the file at `path`.
    fn open(&self, path: &Path, how: Open) -> io::Result<FileRef>;
    /// What is at `path`; `None` if nothing.
    fn stat(&self, path: &Path) -> io::Result<Option<Stat>>;
    /// The names in directory `dir`, in no particular order.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Creates directory `dir` (its parent must exist; `AlreadyExists` if it does).
    fn create_dir(&self, dir: &Path) -> io::Result<()>;
    /// Renames `from` to `to` in the same directory, replacing `to` if it is a file.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes the file at `path` (open handles keep reading it).
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Removes directory `dir` and everything under it.
    fn remove_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// fsyncs directory `dir`: names created, renamed or removed in it survive power loss.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Whether the log may run its own timer threads (the `interval` flusher); the simulation,
    /// which must be deterministic, drives them itself.
    fn timers(&self) -> bool {
        true
    }
    /// A monotonic clock (segment age, how often the recovery point and retention run).
    fn clock(&self) -> Duration {
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed()
    }
    /// Wall-clock milliseconds since the Unix epoch (record timestamps, time retention).
    fn wall_ms(&self) -> i64 {
        crate::log::fsutil::now_ms()
    }
}

/// A shared storage.
pub(crate) type StorageRef = Arc<dyn Storage>;

/// The process-wide real file system.
pub(crate) fn real() -> StorageRef {
    static REAL: OnceLock<StorageRef> = OnceLock::new();
    Arc::clone(REAL.get_or_init(|| Arc::new(Real)))
}

/// Whether something exists at `path` (errors read as "no").
pub(crate) fn exists(fs: &dyn Storage, path: &Path) -> bool {
    matches!(fs.stat(path), Ok(Some(_)))
}

/// Whether `path` is a directory (errors read as "no").
pub(crate) fn is_dir(fs: &dyn Storage, path: &Path) -> bool {
    matches!(fs.stat(path), Ok(Some(Stat { is_dir: true, .. })))
}

/// Reads the whole file at `path`.
pub(crate) fn read(fs: &dyn Storage, path: &Path) -> io::Result<Vec<u8>> {
    let f = fs.open(path, Open::Read)?;
    let mut out = vec![0u8; f.len()? as usize];
    let mut n = 0;
    while n < out.len() {
        let r = f.read_at(&mut out[n..], n as u64)?;
        if r == 0 {
            break;
        }
        n += r;
    }
    out.truncate(n);
    Ok(out)
}

/// Replaces the contents of the file at `path` with `bytes` (not synced).
pub(crate) fn write(fs: &dyn Storage, path: &Path, bytes: &[u8]) -> io::Result<()> {
    fs.open(path, Open::Truncate)?.write_all_at(bytes, 0)
}

/// Appends `bytes` at the end of `file`; a failed write is cut back so no partial entry stays.
pub(crate) fn append(file: &dyn StorageFile, bytes: &[u8]) -> io::Result<()> {
    let len = file.len()?;
    if let Err(e) = file.write_all_at(bytes, len) {
        let _ = file.set_len(len);
        return Err(e);
    }
    Ok(())
}

/// Creates `dir` and its missing parents (`std::fs::create_dir_all`; the new names are not synced).
pub(crate) fn create_dir_all(fs: &dyn Storage, dir: &Path) -> io::Result<()> {
    if is_dir(fs, dir) {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_all(fs, parent)?;
    }
    match fs.create_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        r => r,
    }
}

/// Creates `dir` and its missing parents, each new name made durable by a sync of its parent
/// (`create_dir_all` alone can lose a fresh directory, and all that was synced inside it, to a power loss).
pub(crate) fn create_dir_all_durable(fs: &dyn Storage, dir: &Path) -> io::Result<()> {
    if is_dir(fs, dir) {
        return Ok(());
    }
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        create_dir_all_durable(fs, parent)?;
    }
    match fs.create_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        r => r?,
    }
    match parent {
        Some(parent) => fs.sync_dir(parent),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    /// The invariant ARCHITECTURE.md states: outside `log/io/`, the log's code (tests aside) names
    /// no `std::fs`, so the crash simulation sees every file operation.
    #[test]
    fn the_log_touches_std_fs_only_inside_io() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/log");
        let mut stack = vec![root.clone()];
        let mut checked = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    if path != root.join("io") {
                        stack.push(path);
                    }
                    continue;
                }
                let name = path.file_name().unwrap().to_str().unwrap();
                let test_only = ["tests.rs", "crash_sim.rs", "crash_regressions.rs", "io_faults.rs"];
                if !name.ends_with(".rs") || test_only.contains(&name) {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
                for (i, line) in code.lines().enumerate() {
                    let line = line.trim_start();
                    let uses_fs = line.contains("std::fs") || line.contains(" fs::") || line.starts_with("fs::");
                    assert!(line.starts_with("//") || !uses_fs, "{}:{}: {line}", path.display(), i + 1);
                }
                checked += 1;
            }
        }
        assert!(checked > 10, "found the log's sources");
    }
}
