//! Where one open file's encoded bytes go: the seam between the `files` sink and a store. A local
//! file is written as `<name><in_use_suffix>` and renamed to `<name>` on [`Output::finish`]; an
//! object store implements the same trait with a multipart upload that becomes visible on finish.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The bytes of one open file, on their way to their store.
pub(crate) trait Output: Send {
    /// Appends bytes (they may still be buffered).
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Hands everything written so far to the store, so an acknowledged batch survives a crash of
    /// flowc (a leftover is finished on restart).
    fn flush(&mut self) -> io::Result<()>;
    /// Bytes written so far, buffered or not.
    fn bytes_written(&self) -> u64;
    /// Puts the file back to its first `len` bytes (what the last successful flush left), dropping
    /// anything buffered since, so a batch that failed half-way is not in it twice after its retry.
    /// `false`: this store cannot (the retry may repeat rows: at least once).
    fn rewind(&mut self, _len: u64) -> io::Result<bool> {
        Ok(false)
    }
    /// Completes the file and makes it visible under its final name.
    fn finish(self: Box<Self>) -> io::Result<()>;
    /// Gives the file up: nothing appears under the final name (an object store's upload is aborted).
    #[allow(dead_code)] // the local sink never gives a file up yet; object-store uploads do
    fn abort(self: Box<Self>) -> io::Result<()>;
    /// What error messages call this file.
    fn describe(&self) -> String;
}

/// A file on the local disk, written under its in-use name until it is finished.
pub(crate) struct LocalFile {
    tmp: PathBuf,
    done: PathBuf,
    out: BufWriter<File>,
    bytes: u64,
}

impl LocalFile {
    /// Creates `tmp` (which must not exist yet) for a file to be named `done` when finished.
    pub(crate) fn create(tmp: PathBuf, done: PathBuf) -> io::Result<LocalFile> {
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        Ok(LocalFile { tmp, done, out: BufWriter::with_capacity(64 * 1024, file), bytes: 0 })
    }
}

impl Output for LocalFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)?;
        self.bytes += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn bytes_written(&self) -> u64 {
        self.bytes
    }

    fn rewind(&mut self, len: u64) -> io::Result<bool> {
        use std::io::{Seek, SeekFrom};
        // A fresh buffer over the same file; the old one's bytes are dropped unwritten.
        let mut file = self.out.get_ref().try_clone()?;
        file.set_len(len)?;
        file.seek(SeekFrom::Start(len))?;
        let old = std::mem::replace(&mut self.out, BufWriter::with_capacity(64 * 1024, file));
        drop(old.into_parts());
        self.bytes = len;
        Ok(true)
    }

    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.out.flush()?;
        let LocalFile { tmp, done, out, .. } = *self;
        drop(out);
        std::fs::rename(tmp, done)
    }

    fn abort(self: Box<Self>) -> io::Result<()> {
        let LocalFile { tmp, out, .. } = *self;
        drop(out);
        std::fs::remove_file(tmp)
    }

    fn describe(&self) -> String {
        self.tmp.display().to_string()
    }
}

/// Lets encoders that want an [`io::Write`] (compressors, Parquet, Arrow) write into an [`Output`].
pub(crate) struct Writer(pub(crate) Box<dyn Output>);

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Finishes the in-use files an earlier run left behind (it crashed or was killed): for every
/// `<prefix>…<suffix><in_use>` under `root` (or its `.rows` journal alone), `finish(in_use, final)`
/// decides; it returns whether a file got its final name. Returns how many did.
pub(crate) fn finish_leftovers(
    root: &Path,
    prefix: &str,
    suffix: &str,
    in_use: &str,
    mut finish: impl FnMut(&Path, &Path) -> io::Result<bool>,
) -> io::Result<usize> {
    if in_use.is_empty() || !root.is_dir() {
        return Ok(0);
    }
    let mut finished = 0;
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let mut names = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                dirs.push(entry.path());
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let name = name.strip_suffix(".rows").unwrap_or(&name);
            let Some(done) = name.strip_suffix(in_use) else { continue };
            if done.starts_with(prefix) && done.ends_with(suffix) {
                names.insert(done.to_string());
            }
        }
        for done in names {
            if finish(&dir.join(format!("{done}{in_use}")), &dir.join(&done))? {
                finished += 1;
            }
        }
    }
    Ok(finished)
}

/// The first number `n` after every `<prefix><n><suffix>` (finished or in use) already in `dir`.
pub(crate) fn first_free(dir: &Path, prefix: &str, suffix: &str, in_use: &str) -> io::Result<u64> {
    let mut next = 0;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let name = name.strip_suffix(in_use).unwrap_or(&name);
        let number = name.strip_prefix(prefix).and_then(|r| r.strip_suffix(suffix));
        if let Some(n) = number.and_then(|n| n.parse::<u64>().ok()) {
            next = next.max(n + 1);
        }
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftover_in_use_files_get_their_final_names() {
        let dir = tempfile::tempdir().unwrap();
        let bucket = dir.path().join("out/26-11-25/1050");
        std::fs::create_dir_all(&bucket).unwrap();
        std::fs::write(bucket.join("hello-3.log.tmp"), "a\n").unwrap();
        std::fs::write(bucket.join("other-1.log.tmp"), "b\n").unwrap();
        let rename = |tmp: &Path, done: &Path| std::fs::rename(tmp, done).map(|()| true);
        assert_eq!(finish_leftovers(&dir.path().join("out"), "hello-", ".log", ".tmp", rename).unwrap(), 1);
        assert_eq!(std::fs::read_to_string(bucket.join("hello-3.log")).unwrap(), "a\n");
        assert!(bucket.join("other-1.log.tmp").exists());
    }

    #[test]
    fn numbering_continues_after_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(first_free(dir.path(), "p-", ".log", ".tmp").unwrap(), 0);
        std::fs::write(dir.path().join("p-3.log"), "").unwrap();
        std::fs::write(dir.path().join("p-7.log.tmp"), "").unwrap();
        std::fs::write(dir.path().join("q-9.log"), "").unwrap();
        assert_eq!(first_free(dir.path(), "p-", ".log", ".tmp").unwrap(), 8);
    }

    #[test]
    fn a_finished_file_is_renamed_and_an_aborted_one_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let mut f: Box<dyn Output> =
            Box::new(LocalFile::create(dir.path().join("a.log.tmp"), dir.path().join("a.log")).unwrap());
        f.write_all(b"x\n").unwrap();
        assert_eq!(f.bytes_written(), 2);
        f.finish().unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("a.log")).unwrap(), "x\n");
        let g: Box<dyn Output> =
            Box::new(LocalFile::create(dir.path().join("b.log.tmp"), dir.path().join("b.log")).unwrap());
        g.abort().unwrap();
        assert!(!dir.path().join("b.log.tmp").exists() && !dir.path().join("b.log").exists());
    }
}
