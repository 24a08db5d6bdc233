//! A partition reader that follows the segments live, in this process or beside a writer in another.
//!
//! It validates every batch (length, magic, CRC32C, offset continuity) before handing it out, so a
//! damaged batch is reported (file and byte position) and never served. At the end of the newest
//! segment it returns nothing and a later call sees what was appended since; when a newer segment
//! appears it finishes the current one (its size is final by then) and moves on.

use std::path::{Path, PathBuf};

use super::error::{Error, IoContext, Result};
use super::fsutil::read_slot_file;
use super::index::SegmentIndex;
use super::io::{self as storage, Open as How, StorageRef};
use super::record_batch::{Batch, BatchHeader};
use super::segment::{self, log_path, Cursor, Next};
use super::topic::TopicId;

/// Reads one partition's batches from an offset on.
#[derive(Debug)]
pub struct PartitionReader {
    fs: StorageRef,
    dir: PathBuf,
    name: String,
    next_offset: u64,
    current: Option<Open>,
    chunk: usize,
    /// The id of the topic as it was when [`Log::reader`](super::Log::reader) opened this.
    pub(crate) topic_id: Option<TopicId>,
}

#[derive(Debug)]
struct Open {
    base: u64,
    path: PathBuf,
    cursor: Cursor,
}

impl PartitionReader {
    /// A reader of partition directory `dir` positioned at `offset` (moved up to the log start if
    /// retention already deleted it). `name` is how errors refer to the partition.
    pub fn open(dir: &Path, name: &str, offset: u64) -> Result<PartitionReader> {
        PartitionReader::open_on(storage::real(), dir, name, offset)
    }

    /// [`open`](Self::open) on `fs`.
    pub(crate) fn open_on(fs: StorageRef, dir: &Path, name: &str, offset: u64) -> Result<PartitionReader> {
        let mut r = PartitionReader {
            fs,
            dir: dir.to_path_buf(),
            name: name.to_string(),
            next_offset: offset,
            current: None,
            chunk: 1 << 20,
            topic_id: None,
        };
        r.seek(offset)?;
        Ok(r)
    }

    /// The id its topic had when [`Log::reader`](super::Log::reader) opened this reader: when
    /// [`Log::topic_id`](super::Log::topic_id) now says otherwise, the topic was deleted and created
    /// again, and this reader still reads the deleted one's files. `None` for a reader opened on a
    /// partition directory, or on a topic made before ids existed.
    pub fn topic_id(&self) -> Option<TopicId> {
        self.topic_id
    }

    /// The offset of the next record this reader will return.
    pub fn position(&self) -> u64 {
        self.next_offset
    }

    /// Moves to `offset` (the log start if it is older than what retention kept).
    pub fn seek(&mut self, offset: u64) -> Result<()> {
        self.current = None;
        self.next_offset = offset;
        let bases = segment::list(&*self.fs, &self.dir).ctx("list", &self.dir)?;
        let Some(&first) = bases.first() else { return Ok(()) };
        if offset < first {
            self.next_offset = first;
        }
        let i = bases.iter().rposition(|&b| b <= self.next_offset).unwrap_or(0);
        let base = bases[i];
        let path = log_path(&self.dir, base);
        let file = match self.fs.open(&path, How::Read) {
            Ok(f) => f,
            // deleted by retention between the listing and here: start over from the new start
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return self.seek(offset.max(base + 1)),
            Err(e) => return Err(Error::io(e, "open", &path)),
        };
        let idx = SegmentIndex::load(&*self.fs, &path, 4096).ctx("read the index of", &path)?;
        let len = file.len().ctx("stat", &path)?;
        let rel = (self.next_offset - base).min(u64::from(u32::MAX)) as u32;
        let pos = idx.lookup(rel);
        let pos = if pos <= len { pos } else { 0 };
        self.current = Some(Open { base, path, cursor: Cursor::new(file, pos, self.chunk) });
        Ok(())
    }

    /// Lets go of the read buffer if it holds nothing unread (a reader kept open at the end of the
    /// log, as a server keeps one per consumer and partition, then holds no memory).
    pub fn release_buffer(&mut self) {
        if let Some(cur) = &mut self.current {
            cur.cursor.release();
        }
    }

    /// Returns the next whole batches (about `max_bytes` of them, at least one if any is there).
    ///
    /// The first batch may start before [`position`](Self::position) after a seek: skip records
    /// with smaller offsets. An empty result means "nothing new yet".
    pub fn read(&mut self, max_bytes: usize) -> Result<Vec<Batch>> {
        let mut out = Vec::new();
        self.read_with(max_bytes, |bytes, header| {
            out.push(Batch::from_checked(bytes.to_vec(), *header));
            true
        })?;
        Ok(out)
    }

    /// [`read`](Self::read) without a copy: each checked batch's bytes are offered to `take`, which
    /// returns whether it took them; the first it refuses ends the read and stays the next to read.
    /// Returns how many batches were taken.
    pub fn read_with(&mut self, max_bytes: usize, mut take: impl FnMut(&[u8], &BatchHeader) -> bool) -> Result<usize> {
        let mut taken = 0usize;
        let mut bytes = 0;
        let mut listed_after_end = false;
        let mut rp = None;
        loop {
            if self.current.is_none() {
                self.seek(self.next_offset)?;
                if self.current.is_none() {
                    return Ok(taken);
                }
            }
            let next_offset = self.next_offset;
            let cur = self.current.as_mut().expect("opened above");
            match cur.cursor.next(true).ctx("read", &cur.path)? {
                Next::Batch { pos, header, bytes: b } => {
                    if header.next_offset() <= next_offset {
                        continue; // before the position (after a seek into an indexed segment)
                    }
                    if header.base_offset > next_offset {
                        if taken > 0 {
                            return Ok(taken); // serve what is good; the error comes on the next call
                        }
                        return Err(Error::Corrupt {
                            file: cur.path.clone(),
                            position: pos,
                            offset: next_offset,
                            reason: format!("offsets {next_offset}..{} are missing", header.base_offset),
                        });
                    }
                    bytes += b.len();
                    if !take(b, &header) {
                        cur.cursor.unread(); // the next read offers it again, from the buffer
                        return Ok(taken);
                    }
                    taken += 1;
                    self.next_offset = header.next_offset();
                    listed_after_end = false;
                    rp = None;
                    if bytes >= max_bytes {
                        return Ok(taken);
                    }
                }
                Next::Invalid { pos, reason } => {
                    if taken > 0 {
                        return Ok(taken);
                    }
                    return Err(Error::Corrupt { file: cur.path.clone(), position: pos, offset: next_offset, reason });
                }
                Next::Incomplete { partial } => {
                    // at the end of this segment: is there a newer one?
                    let bases = segment::list(&*self.fs, &self.dir).ctx("list", &self.dir)?;
                    let newer = bases.iter().copied().find(|&b| b > cur.base);
                    match newer {
                        Some(_) if !listed_after_end => {
                            // the writer finished this segment before creating the next: read on
                            listed_after_end = true;
                            continue;
                        }
                        Some(next_base) => {
                            if (partial || next_base != next_offset) && taken > 0 {
                                return Ok(taken); // serve what is good; the error comes on the next call
                            }
                            if partial {
                                return Err(Error::Corrupt {
                                    file: cur.path.clone(),
                                    position: cur.cursor.pos(),
                                    offset: next_offset,
                                    reason: "truncated batch in a sealed segment".into(),
                                });
                            }
                            if next_base != next_offset {
                                return Err(Error::Corrupt {
                                    file: log_path(&self.dir, next_base),
                                    position: 0,
                                    offset: next_offset,
                                    reason: format!(
                                        "segment starts at offset {next_base} where {next_offset} was expected"
                                    ),
                                });
                            }
                            self.current = None;
                            listed_after_end = false;
                        }
                        None => match rp {
                            None => {
                                // read the recovery point first, then look once more: everything
                                // below it was written before it, so it must be readable now
                                rp = Some(self.recovery_point()?);
                                continue;
                            }
                            Some(rp) => {
                                let pos = cur.cursor.pos();
                                if taken > 0 {
                                    return Ok(taken);
                                }
                                self.check_not_truncated(pos, rp)?;
                                return Ok(taken);
                            }
                        },
                    }
                }
            }
        }
    }

    fn recovery_point(&self) -> Result<u64> {
        let rp_path = self.dir.join("recovery-point");
        Ok(read_slot_file(&*self.fs, &rp_path).ctx("read", &rp_path)?.map_or(0, |(o, _)| o))
    }

    /// At the end of the newest segment: data the writer reported synced (`rp`) must be there.
    fn check_not_truncated(&self, pos: u64, rp: u64) -> Result<()> {
        if self.next_offset < rp {
            let cur = self.current.as_ref().expect("called with a segment open");
            return Err(Error::Corrupt {
                file: cur.path.clone(),
                position: pos,
                offset: self.next_offset,
                reason: format!(
                    "truncated: partition {} was synced up to offset {rp} but its log ends at {}",
                    self.name, self.next_offset
                ),
            });
        }
        Ok(())
    }
}

/// The first offset in partition directory `dir` whose record is stamped at or after `timestamp`.
pub(crate) fn offset_for_timestamp(fs: StorageRef, dir: &Path, name: &str, timestamp: i64) -> Result<Option<u64>> {
    let bases = segment::list(&*fs, dir).ctx("list", dir)?;
    // skip the sealed segments whose newest record is older (the time index's last entry)
    let mut start = bases.first().copied().unwrap_or(0);
    for (i, &base) in bases.iter().enumerate() {
        if i + 1 == bases.len() {
            break;
        }
        let path = log_path(dir, base);
        let idx = SegmentIndex::load(&*fs, &path, 4096).ctx("read the index of", &path)?;
        match idx.max_timestamp() {
            Some(max) if max < timestamp => start = bases[i + 1],
            _ => break,
        }
    }
    let mut reader = PartitionReader::open_on(fs, dir, name, start)?;
    loop {
        let batches = reader.read(1 << 20)?;
        if batches.is_empty() {
            return Ok(None);
        }
        for b in &batches {
            if b.header().max_timestamp < timestamp {
                continue;
            }
            if b.header().compression() != 0 {
                return Ok(Some(b.header().base_offset));
            }
            for r in b.records() {
                match r {
                    Ok(r) if r.timestamp >= timestamp => return Ok(Some(r.offset)),
                    Ok(_) => {}
                    Err(_) => return Ok(Some(b.header().base_offset)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::partition::PartitionWriter;
    use crate::log::record::Record;
    use crate::log::topic::TopicConfig;

    fn values(batches: &[Batch], from: u64) -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| b.records().map(|r| r.unwrap()))
            .filter(|r| r.offset >= from)
            .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn follows_a_live_writer_across_segments_and_seeks() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = TopicConfig { segment_bytes: 2048, index_interval_bytes: 256, ..TopicConfig::default() };
        let w = PartitionWriter::open(dir.path(), "t/0", &cfg, None).unwrap();
        let mut r = PartitionReader::open(dir.path(), "t/0", 0).unwrap();
        assert!(r.read(1 << 20).unwrap().is_empty());
        let mut seen = Vec::new();
        for i in 0..200 {
            w.append(&[Record::from_value(format!("v{i}"))]).unwrap();
            if i % 7 == 0 {
                seen.extend(values(&r.read(1 << 20).unwrap(), 0));
            }
        }
        w.flush().unwrap();
        seen.extend(values(&r.read(1 << 20).unwrap(), 0));
        assert_eq!(seen, (0..200).map(|i| format!("v{i}")).collect::<Vec<_>>());
        assert_eq!(r.position(), 200);
        let mut r2 = PartitionReader::open(dir.path(), "t/0", 150).unwrap();
        let got = values(&r2.read(usize::MAX).unwrap(), 150);
        assert_eq!(got.first().map(String::as_str), Some("v150"));
        assert_eq!(got.len(), 50);
    }

    #[test]
    fn a_flipped_byte_is_reported_never_served() {
        let dir = tempfile::tempdir().unwrap();
        let w = PartitionWriter::open(dir.path(), "t/0", &TopicConfig::default(), None).unwrap();
        for i in 0..10 {
            w.append(&[Record::from_value(format!("value-{i}"))]).unwrap();
        }
        drop(w);
        let seg = log_path(dir.path(), 0);
        let mut bytes = std::fs::read(&seg).unwrap();
        let n = bytes.len();
        bytes[n * 6 / 10] ^= 0x40;
        std::fs::write(&seg, &bytes).unwrap();
        let mut r = PartitionReader::open(dir.path(), "t/0", 0).unwrap();
        let mut served = 0;
        let err = loop {
            match r.read(1) {
                Ok(b) if b.is_empty() => panic!("corruption not detected"),
                Ok(b) => served += b.len(),
                Err(e) => break e,
            }
        };
        assert!(served < 10);
        assert!(err.to_string().contains("00000000000000000000.log"), "{err}");
    }
}
