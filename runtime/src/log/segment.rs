//! Segment files: naming, listing, and a buffered cursor that walks and validates their batches.
//!
//! A segment is `<20-digit base offset>.log` (concatenated RecordBatch v2) with its `.index` and
//! `.timeindex` beside it. The cursor reads large chunks with `pread`, so the file may grow under it
//! (a live writer in another process) and a reader simply retries at the end.

use std::io;
use std::path::{Path, PathBuf};

use super::index::SegmentIndex;
use super::io::{FileRef, Open, Storage};
use super::record_batch::{self, BatchHeader, Check, HEADER_LEN};

/// The path of the segment with `base` offset in partition directory `dir`.
pub fn log_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.log"))
}

/// Base offsets of the partition's segments, ascending.
pub(crate) fn list(fs: &dyn Storage, dir: &Path) -> io::Result<Vec<u64>> {
    let mut bases = Vec::new();
    for name in fs.list(dir)? {
        if let Some(stem) = name.strip_suffix(".log") {
            if stem.len() == 20 {
                if let Ok(base) = stem.parse::<u64>() {
                    bases.push(base);
                }
            }
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// What the cursor found at its position.
#[derive(Debug)]
pub(crate) enum Next<'a> {
    /// A whole, valid batch starting at `pos`.
    Batch { pos: u64, header: BatchHeader, bytes: &'a [u8] },
    /// The file ends before a whole batch; `partial` if some of its bytes are there.
    Incomplete { partial: bool },
    /// The bytes at `pos` are not a valid batch.
    Invalid { pos: u64, reason: String },
}

/// A forward cursor over the batches of one segment file.
#[derive(Debug)]
pub(crate) struct Cursor {
    file: FileRef,
    /// File position of `buf[start]`.
    pos: u64,
    /// Read bytes are `buf[start..end]`; the rest is room (zeroed once, when the buffer grows).
    buf: Vec<u8>,
    start: usize,
    end: usize,
    chunk: usize,
    /// The length of the batch the last `next` returned (what `unread` can step back over).
    last: usize,
}

impl Cursor {
    /// A cursor at byte `pos` of `file`, reading `chunk` bytes at a time.
    pub(crate) fn new(file: FileRef, pos: u64, chunk: usize) -> Cursor {
        Cursor { file, pos, buf: Vec::new(), start: 0, end: 0, chunk, last: 0 }
    }

    /// The file position of the next batch.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// Reads the next batch; with `verify` its CRC is checked, otherwise only the header.
    pub(crate) fn next(&mut self, verify: bool) -> io::Result<Next<'_>> {
        self.last = 0;
        if !self.fill(HEADER_LEN)? {
            return Ok(Next::Incomplete { partial: self.buffered() > 0 });
        }
        let header = match record_batch::parse_header(&self.buf[self.start..self.end]) {
            Ok(h) => h,
            Err(reason) => return Ok(Next::Invalid { pos: self.pos, reason }),
        };
        if !self.fill(header.len)? {
            return Ok(Next::Incomplete { partial: true });
        }
        let bytes = &self.buf[self.start..self.start + header.len];
        if verify {
            match record_batch::check(bytes) {
                Check::Valid(_) => {}
                Check::Invalid(reason) => return Ok(Next::Invalid { pos: self.pos, reason }),
                Check::Incomplete => return Ok(Next::Incomplete { partial: true }),
            }
        }
        let pos = self.pos;
        self.pos += header.len as u64;
        self.start += header.len;
        self.last = header.len;
        Ok(Next::Batch { pos, header, bytes: &self.buf[self.start - header.len..self.start] })
    }

    /// Steps back over the batch the last `next` returned, so the next `next` returns it again
    /// (from the buffer: nothing is read twice). Does nothing if `next` returned no batch.
    pub(crate) fn unread(&mut self) {
        self.start -= self.last;
        self.pos -= self.last as u64;
        self.last = 0;
    }

    fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Lets go of the buffer when it holds nothing to return (a reader waiting at the end of the
    /// log keeps no memory; the next read allocates what it needs).
    pub(crate) fn release(&mut self) {
        if self.buffered() == 0 {
            self.buf = Vec::new();
            (self.start, self.end, self.last) = (0, 0, 0);
        }
    }

    /// Makes at least `n` bytes available from `pos`; `false` at end of file.
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.buffered() >= n {
            return Ok(true);
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        // The buffer holds a chunk (or the batch, if larger) but never more than the file has, so
        // a reader at the end of a live file holds only what was added, and one at the end nothing.
        let past = self.pos + self.end as u64;
        let there = self.end.saturating_add(self.file.len()?.saturating_sub(past).try_into().unwrap_or(usize::MAX));
        let want = if there < n { there } else { n.max(self.chunk.min(there)) };
        if want == 0 {
            self.release();
            return Ok(false);
        }
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        while self.end < n {
            let r = self.file.read_at(&mut self.buf[self.end..], self.pos + self.end as u64)?;
            if r == 0 {
                break;
            }
            self.end += r;
        }
        Ok(self.end >= n)
    }
}

/// The result of walking a segment from its start with CRC checks.
#[derive(Debug)]
pub(crate) struct Scan {
    /// Bytes of valid batches from the start of the file.
    pub(crate) valid_len: u64,
    /// The offset after the last valid batch.
    pub(crate) next_offset: u64,
    /// Records in the valid batches.
    pub(crate) records: u64,
    /// The index rebuilt from the valid batches.
    pub(crate) index: SegmentIndex,
    /// The first problem: position, reason (`None` if the file ends cleanly).
    pub(crate) problem: Option<(u64, String)>,
    /// Whether the file holds more bytes than the valid batches.
    pub(crate) file_len: u64,
}

/// Walks the segment at `path` whose first offset is `base`, checking every batch.
pub(crate) fn scan(fs: &dyn Storage, path: &Path, base: u64, index_interval: u32) -> io::Result<Scan> {
    let file = fs.open(path, Open::Read)?;
    let file_len = file.len()?;
    let mut cursor = Cursor::new(file, 0, 1 << 20);
    let mut index = SegmentIndex::new(index_interval);
    let mut expected = base;
    let mut records = 0;
    let problem = loop {
        match cursor.next(true)? {
            Next::Batch { pos, header, .. } => {
                if header.base_offset != expected {
                    break Some((
                        pos,
                        format!("batch starts at offset {} where {expected} was expected", header.base_offset),
                    ));
                }
                let rel = (header.base_offset - base) as u32;
                index.on_batch(rel, pos, header.len as u64, header.max_timestamp);
                expected = header.next_offset();
                records += u64::from(header.count);
            }
            Next::Incomplete { partial: false } => break None,
            Next::Incomplete { partial: true } => {
                break Some((cursor.pos(), "truncated batch (the file ends inside it)".to_string()))
            }
            Next::Invalid { pos, reason } => break Some((pos, reason)),
        }
    };
    let valid_len = problem.as_ref().map_or(cursor.pos(), |(p, _)| *p);
    Ok(Scan { valid_len, next_offset: expected, records, index, problem, file_len })
}

/// Reads just the header of the first batch of a segment (for the oldest timestamp).
pub(crate) fn first_header(fs: &dyn Storage, path: &Path) -> io::Result<Option<BatchHeader>> {
    let file = fs.open(path, Open::Read)?;
    let mut buf = [0u8; HEADER_LEN];
    let mut n = 0;
    while n < HEADER_LEN {
        let r = file.read_at(&mut buf[n..], n as u64)?;
        if r == 0 {
            return Ok(None);
        }
        n += r;
    }
    Ok(record_batch::parse_header(&buf).ok())
}

/// Walks headers only (no CRC) from `pos` to the end: returns the offset after the last whole batch
/// and the largest timestamp seen. Used to find a partition's end from outside the writer.
pub(crate) fn skim(fs: &dyn Storage, path: &Path, pos: u64, mut next_offset: u64) -> io::Result<(u64, Option<i64>)> {
    let file = fs.open(path, Open::Read)?;
    let len = file.len()?;
    let mut pos = pos;
    let mut max_ts = None;
    let mut buf = [0u8; HEADER_LEN];
    while pos + HEADER_LEN as u64 <= len {
        let mut n = 0;
        while n < HEADER_LEN {
            match file.read_at(&mut buf[n..], pos + n as u64)? {
                0 => return Ok((next_offset, max_ts)),
                r => n += r,
            }
        }
        let Ok(h) = record_batch::parse_header(&buf) else { break };
        if pos + h.len as u64 > len || h.base_offset != next_offset {
            break;
        }
        next_offset = h.next_offset();
        max_ts = Some(max_ts.map_or(h.max_timestamp, |m: i64| m.max(h.max_timestamp)));
        pos += h.len as u64;
    }
    Ok((next_offset, max_ts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::io::real;
    use crate::log::record::Record;
    use std::fs::File;
    use std::io::Write;

    fn write_segment(path: &Path, batches: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut off = 0;
        for i in 0..batches {
            let recs: Vec<Record> = (0..5).map(|j| Record::from_value(format!("v{i}-{j}"))).collect();
            off = record_batch::encode_batch(&mut buf, off, &recs, 1000 + i as i64).next_offset();
        }
        File::create(path).unwrap().write_all(&buf).unwrap();
        buf
    }

    #[test]
    fn scan_accepts_a_clean_segment_and_rebuilds_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(dir.path(), 0);
        let bytes = write_segment(&path, 10);
        let s = scan(&*real(), &path, 0, 1).unwrap();
        assert_eq!((s.valid_len, s.next_offset, s.records), (bytes.len() as u64, 50, 50));
        assert!(s.problem.is_none());
        assert_eq!(s.index.max_timestamp(), Some(1009));
        assert_eq!(list(&*real(), dir.path()).unwrap(), vec![0]);
    }

    #[test]
    fn scan_stops_at_every_possible_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(dir.path(), 0);
        let bytes = write_segment(&path, 3);
        let one = record_batch::check(&bytes);
        let Check::Valid(first) = one else { panic!("first batch invalid") };
        for cut in 0..bytes.len() {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let s = scan(&*real(), &path, 0, 1).unwrap();
            assert!(s.valid_len <= cut as u64);
            assert_eq!(s.valid_len % first.len as u64, 0, "cut {cut}: stops on a batch boundary");
            assert_eq!(s.problem.is_some(), s.valid_len != cut as u64, "cut {cut}");
        }
    }

    #[test]
    fn scan_flags_garbage_and_offset_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(dir.path(), 0);
        let mut bytes = write_segment(&path, 2);
        bytes.extend_from_slice(&[0u8; 100]);
        std::fs::write(&path, &bytes).unwrap();
        let s = scan(&*real(), &path, 0, 1).unwrap();
        assert_eq!(s.next_offset, 10);
        assert!(s.problem.is_some());
        // a segment whose first batch is not at its base offset
        let s = scan(&*real(), &path, 3, 1).unwrap();
        assert_eq!((s.valid_len, s.problem.map(|p| p.0)), (0, Some(0)));
    }

    #[test]
    fn cursor_unread_offers_the_batch_again_and_follows_a_growing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(dir.path(), 0);
        let bytes = write_segment(&path, 6);
        let Check::Valid(first) = record_batch::check(&bytes) else { panic!("first batch invalid") };
        let one = first.len;
        // the file holds two and a half batches; a chunk smaller than a batch makes every fill grow
        std::fs::write(&path, &bytes[..one * 2 + one / 2]).unwrap();
        let file: FileRef = std::sync::Arc::new(File::open(&path).unwrap());
        let mut c = Cursor::new(file, 0, 16);
        let mut seen = Vec::new();
        let mut unread_once = true;
        loop {
            match c.next(true).unwrap() {
                Next::Batch { pos, header, bytes: b } => {
                    assert_eq!(b, &bytes[pos as usize..pos as usize + header.len]);
                    seen.push(header.base_offset);
                    if header.base_offset == 5 && unread_once {
                        unread_once = false;
                        c.unread();
                        assert_eq!(c.pos(), pos);
                    }
                }
                Next::Incomplete { partial: true } if seen.len() == 3 => {
                    std::fs::write(&path, &bytes).unwrap(); // the writer finishes the file
                }
                Next::Incomplete { partial: false } => break,
                other => panic!("unexpected {other:?} after {seen:?}"),
            }
        }
        assert_eq!(seen, vec![0, 5, 5, 10, 15, 20, 25]);
        assert_eq!(c.pos(), bytes.len() as u64);
        assert_eq!(c.buf.capacity(), 0, "at the end of the file the cursor keeps no buffer");
    }

    #[test]
    fn skim_finds_the_end_without_crc() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(dir.path(), 0);
        let bytes = write_segment(&path, 4);
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(skim(&*real(), &path, 0, 0).unwrap(), (15, Some(1002)));
        assert_eq!(first_header(&*real(), &path).unwrap().map(|h| h.base_timestamp), Some(1000));
    }
}
