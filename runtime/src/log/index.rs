//! A segment's sparse offset index (`.index`) and time index (`.timeindex`), Kafka's entry layouts.
//!
//! `.index` entries are 8 bytes: relative offset u32 | byte position u32 (big-endian), one per
//! `index_interval_bytes` of log, pointing at a batch start. `.timeindex` entries are 12 bytes:
//! timestamp i64 | relative offset u32, appended when the segment's largest timestamp grows at an
//! index point and once more when the segment is sealed. Both are hints: they are rebuilt from the
//! `.log` by recovery and readers validate every batch they reach through them.

use std::io;
use std::path::Path;

use super::io::{self as storage, Open, Storage};

/// The in-memory index of one segment, with the entries not yet written to its files.
#[derive(Clone, Debug, Default)]
pub(crate) struct SegmentIndex {
    offsets: Vec<(u32, u32)>,
    times: Vec<(i64, u32)>,
    written_offsets: usize,
    written_times: usize,
    bytes_since_entry: u64,
    interval: u64,
    max_timestamp: Option<i64>,
}

impl SegmentIndex {
    /// An empty index that takes an entry every `interval` bytes.
    pub(crate) fn new(interval: u32) -> SegmentIndex {
        SegmentIndex { interval: u64::from(interval.max(1)), ..SegmentIndex::default() }
    }

    /// Notes a batch appended at `position` holding offsets from `rel_offset` on.
    pub(crate) fn on_batch(&mut self, rel_offset: u32, position: u64, len: u64, max_timestamp: i64) {
        let first = self.offsets.is_empty() && position == 0;
        if first || self.bytes_since_entry >= self.interval {
            self.offsets.push((rel_offset, position as u32));
            self.bytes_since_entry = 0;
            if self.times.last().is_none_or(|&(t, _)| max_timestamp > t) {
                self.times.push((max_timestamp, rel_offset));
            }
        }
        self.bytes_since_entry += len;
        self.max_timestamp = Some(self.max_timestamp.map_or(max_timestamp, |m| m.max(max_timestamp)));
    }

    /// Adds the final time-index entry of a sealed segment (its largest timestamp).
    pub(crate) fn seal(&mut self, last_rel_offset: u32) {
        if let Some(max) = self.max_timestamp {
            if self.times.last().is_none_or(|&(t, _)| max > t) {
                self.times.push((max, last_rel_offset));
            }
        }
    }

    /// Largest timestamp seen in the segment.
    pub(crate) fn max_timestamp(&self) -> Option<i64> {
        self.max_timestamp.or_else(|| self.times.last().map(|&(t, _)| t))
    }

    /// Position of the last indexed batch starting at or before `rel_offset` (0 if none).
    pub(crate) fn lookup(&self, rel_offset: u32) -> u64 {
        let i = self.offsets.partition_point(|&(o, _)| o <= rel_offset);
        if i == 0 {
            0
        } else {
            u64::from(self.offsets[i - 1].1)
        }
    }

    /// Appends the entries not yet written to `<stem>.index` / `<stem>.timeindex`.
    pub(crate) fn write_pending(&mut self, fs: &dyn Storage, log_path: &Path) -> io::Result<()> {
        if self.written_offsets < self.offsets.len() {
            let mut buf = Vec::with_capacity((self.offsets.len() - self.written_offsets) * 8);
            for &(o, p) in &self.offsets[self.written_offsets..] {
                buf.extend_from_slice(&o.to_be_bytes());
                buf.extend_from_slice(&p.to_be_bytes());
            }
            append_file(fs, &log_path.with_extension("index"), &buf)?;
            self.written_offsets = self.offsets.len();
        }
        if self.written_times < self.times.len() {
            let mut buf = Vec::with_capacity((self.times.len() - self.written_times) * 12);
            for &(t, o) in &self.times[self.written_times..] {
                buf.extend_from_slice(&t.to_be_bytes());
                buf.extend_from_slice(&o.to_be_bytes());
            }
            append_file(fs, &log_path.with_extension("timeindex"), &buf)?;
            self.written_times = self.times.len();
        }
        Ok(())
    }

    /// Rewrites both index files from scratch (after recovery or repair rebuilt the index).
    pub(crate) fn rewrite(&mut self, fs: &dyn Storage, log_path: &Path) -> io::Result<()> {
        for ext in ["index", "timeindex"] {
            fs.open(&log_path.with_extension(ext), Open::Truncate)?;
        }
        self.written_offsets = 0;
        self.written_times = 0;
        self.write_pending(fs, log_path)
    }

    /// fdatasyncs both index files: a sealed segment's index must be durable before the recovery
    /// point passes it, since recovery never rebuilds it after that (found by the crash simulation).
    pub(crate) fn sync(fs: &dyn Storage, log_path: &Path) -> io::Result<()> {
        for ext in ["index", "timeindex"] {
            fs.open(&log_path.with_extension(ext), Open::Create)?.sync_data()?;
        }
        Ok(())
    }

    /// Loads the index files of a segment; a torn trailing entry is ignored, a missing file is empty.
    pub(crate) fn load(fs: &dyn Storage, log_path: &Path, interval: u32) -> io::Result<SegmentIndex> {
        let mut idx = SegmentIndex::new(interval);
        let raw = read_or_empty(fs, &log_path.with_extension("index"))?;
        idx.offsets = raw
            .chunks_exact(8)
            .map(|c| (u32::from_be_bytes([c[0], c[1], c[2], c[3]]), u32::from_be_bytes([c[4], c[5], c[6], c[7]])))
            .collect();
        let raw = read_or_empty(fs, &log_path.with_extension("timeindex"))?;
        idx.times = raw
            .chunks_exact(12)
            .map(|c| {
                let mut t = [0u8; 8];
                t.copy_from_slice(&c[..8]);
                (i64::from_be_bytes(t), u32::from_be_bytes([c[8], c[9], c[10], c[11]]))
            })
            .collect();
        idx.written_offsets = idx.offsets.len();
        idx.written_times = idx.times.len();
        Ok(idx)
    }

    /// The last offset-index entry: (relative offset, position).
    pub(crate) fn last_entry(&self) -> Option<(u32, u64)> {
        self.offsets.last().map(|&(o, p)| (o, u64::from(p)))
    }

    /// Whether the time index has any entry.
    pub(crate) fn has_times(&self) -> bool {
        !self.times.is_empty()
    }
}

/// Appends whole entries; a failed write is cut back, so a later append stays entry-aligned.
fn append_file(fs: &dyn Storage, path: &Path, bytes: &[u8]) -> io::Result<()> {
    storage::append(&*fs.open(path, Open::Create)?, bytes)
}

fn read_or_empty(fs: &dyn Storage, path: &Path) -> io::Result<Vec<u8>> {
    match storage::read(fs, path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::io::real;

    #[test]
    fn sparse_entries_every_interval_and_lookup() {
        let mut idx = SegmentIndex::new(100);
        let mut pos = 0;
        for i in 0..50u32 {
            idx.on_batch(i * 10, pos, 40, i64::from(i) * 1000);
            pos += 40;
        }
        // an entry at 0, then one whenever >= 100 bytes accumulated: every 3rd batch
        assert_eq!(idx.offsets[0], (0, 0));
        assert_eq!(idx.offsets[1], (30, 120));
        assert_eq!(idx.lookup(0), 0);
        assert_eq!(idx.lookup(29), 0);
        assert_eq!(idx.lookup(30), 120);
        assert_eq!(idx.lookup(65), 240);
        assert_eq!(idx.lookup(10_000), u64::from(idx.offsets.last().unwrap().1));
        assert_eq!(idx.max_timestamp(), Some(49_000));
    }

    #[test]
    fn persists_incrementally_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("00000000000000000000.log");
        let mut idx = SegmentIndex::new(1);
        idx.on_batch(0, 0, 10, 5);
        idx.write_pending(&*real(), &log).unwrap();
        idx.on_batch(1, 10, 10, 7);
        idx.on_batch(2, 20, 10, 6);
        idx.seal(2);
        idx.write_pending(&*real(), &log).unwrap();
        let loaded = SegmentIndex::load(&*real(), &log, 1).unwrap();
        assert_eq!(loaded.offsets, vec![(0, 0), (1, 10), (2, 20)]);
        assert_eq!(loaded.times, vec![(5, 0), (7, 1)]);
        assert_eq!(loaded.max_timestamp(), Some(7));
        // a torn trailing entry is ignored
        append_file(&*real(), &log.with_extension("index"), &[1, 2, 3]).unwrap();
        assert_eq!(SegmentIndex::load(&*real(), &log, 1).unwrap().offsets.len(), 3);
    }
}
