//! Small durable-filesystem helpers: directory fsync, atomic replace, advisory locks, slot files.
//!
//! A *slot file* is a tiny durable register holding two `u64`s. It has two 32-byte slots
//! `[magic "FLS1" | seq u64 | a u64 | b i64 | crc32c u32]`; a write goes to the slot the sequence
//! number selects, then `fdatasync`. A torn write spoils one slot only, and reads take the valid slot
//! with the highest sequence, so an overwrite in place is atomic without rename or directory fsync.
//! A failed write or sync zeroes its slot again, so later writes never overwrite the durable one.

use std::io;
use std::path::Path;

use super::io::{self as storage, FileRef, Open, Storage};

const SLOT_MAGIC: &[u8; 4] = b"FLS1";
const SLOT_LEN: usize = 32;

/// A durable two-value register (see the module doc).
#[derive(Debug)]
pub(crate) struct SlotFile {
    file: FileRef,
    seq: u64,
}

impl SlotFile {
    /// Opens or creates the slot file at `path` (a new file's name is made durable).
    pub(crate) fn open(fs: &dyn Storage, path: &Path) -> io::Result<SlotFile> {
        let existed = storage::exists(fs, path);
        let file = fs.open(path, Open::Create)?;
        if !existed {
            if let Some(parent) = path.parent() {
                fs.sync_dir(parent)?;
            }
        }
        let seq = read_slots(&*file)?.map_or(0, |(seq, _, _)| seq);
        Ok(SlotFile { file, seq })
    }

    /// The file, for locking.
    pub(crate) fn file(&self) -> &FileRef {
        &self.file
    }

    /// Durably stores `(a, b)`.
    pub(crate) fn write(&mut self, a: u64, b: i64) -> io::Result<()> {
        self.seq += 1;
        let mut slot = [0u8; SLOT_LEN];
        slot[..4].copy_from_slice(SLOT_MAGIC);
        slot[4..12].copy_from_slice(&self.seq.to_be_bytes());
        slot[12..20].copy_from_slice(&a.to_be_bytes());
        slot[20..28].copy_from_slice(&b.to_be_bytes());
        let crc = crc32c::crc32c(&slot[..28]);
        slot[28..].copy_from_slice(&crc.to_be_bytes());
        let at = (self.seq % 2) * SLOT_LEN as u64;
        let written = self.file.write_all_at(&slot, at).and_then(|()| self.file.sync_data());
        if written.is_err() {
            // The slot may now read back from memory as the new value while the disk holds
            // something else. Make it read as invalid and reuse its sequence number, so the next
            // write — here, or by the next process that opens the file — goes to this slot again and
            // never over the other one, the last durable value (found by the crash simulation,
            // seed 100616).
            self.seq -= 1;
            let _ = self.file.write_all_at(&[0u8; SLOT_LEN], at);
        }
        written
    }

    /// The stored value, if any slot is valid.
    pub(crate) fn read(&self) -> io::Result<Option<(u64, i64)>> {
        Ok(read_slots(&*self.file)?.map(|(_, a, b)| (a, b)))
    }
}

/// Reads the value stored in the slot file at `path`; `None` if missing or never written.
pub(crate) fn read_slot_file(fs: &dyn Storage, path: &Path) -> io::Result<Option<(u64, i64)>> {
    match fs.open(path, Open::Read) {
        Ok(f) => Ok(read_slots(&*f)?.map(|(_, a, b)| (a, b))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn read_slots(file: &dyn storage::StorageFile) -> io::Result<Option<(u64, u64, i64)>> {
    let mut buf = [0u8; SLOT_LEN * 2];
    let mut n = 0;
    while n < buf.len() {
        let r = file.read_at(&mut buf[n..], n as u64)?;
        if r == 0 {
            break;
        }
        n += r;
    }
    let mut best: Option<(u64, u64, i64)> = None;
    for slot in buf[..n].chunks_exact(SLOT_LEN) {
        if &slot[..4] != SLOT_MAGIC {
            continue;
        }
        let crc = u32::from_be_bytes([slot[28], slot[29], slot[30], slot[31]]);
        if crc32c::crc32c(&slot[..28]) != crc {
            continue;
        }
        let seq = u64::from_be_bytes(slot[4..12].try_into().expect("8 bytes"));
        let a = u64::from_be_bytes(slot[12..20].try_into().expect("8 bytes"));
        let b = i64::from_be_bytes(slot[20..28].try_into().expect("8 bytes"));
        if best.is_none_or(|(s, _, _)| seq > s) {
            best = Some((seq, a, b));
        }
    }
    Ok(best)
}

/// Replaces `path` with `bytes` atomically and durably: tmp write, fsync, rename, dir fsync.
pub(crate) fn atomic_write(fs: &dyn Storage, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    {
        let f = fs.open(&tmp, Open::Truncate)?;
        f.write_all_at(bytes, 0)?;
        f.sync_data()?;
    }
    fs.rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        fs.sync_dir(parent)?;
    }
    Ok(())
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{File, OpenOptions};
    use std::os::unix::fs::FileExt;

    #[test]
    fn slot_file_keeps_the_last_good_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rp");
        let fs = &*storage::real();
        assert_eq!(read_slot_file(fs, &path).unwrap(), None);
        let mut s = SlotFile::open(fs, &path).unwrap();
        s.write(10, -1).unwrap();
        s.write(20, 5).unwrap();
        assert_eq!(read_slot_file(fs, &path).unwrap(), Some((20, 5)));
        // tear the newest slot: the previous value survives
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all_at(&[0xff; 3], 20).unwrap();
        assert_eq!(read_slot_file(fs, &path).unwrap(), Some((10, -1)));
        let mut s = SlotFile::open(fs, &path).unwrap();
        s.write(30, 0).unwrap();
        assert_eq!(s.read().unwrap(), Some((30, 0)));
    }

    #[test]
    fn second_lock_is_refused_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let a = File::create(&path).unwrap();
        let b = File::open(&path).unwrap();
        assert!(storage::StorageFile::try_lock(&a).unwrap());
        assert!(!storage::StorageFile::try_lock(&b).unwrap());
        drop(a);
        assert!(storage::StorageFile::try_lock(&b).unwrap());
    }
}
