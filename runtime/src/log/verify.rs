//! `flowc log verify` and `flowc log repair`: check every batch of a partition, cut at the first bad one.

use std::path::{Path, PathBuf};

use super::error::{IoContext, Result};
use super::fsutil::{read_slot_file, SlotFile};
use super::io::{Open, Storage};
use super::partition::lock_partition;
use super::segment::{self, log_path};

/// What verification found in one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionCheck {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: u32,
    /// Segment files.
    pub segments: usize,
    /// Valid records (before any damage).
    pub records: u64,
    /// Bytes of valid batches.
    pub bytes: u64,
    /// The first offset.
    pub start_offset: u64,
    /// The offset after the last valid record.
    pub end_offset: u64,
    /// The first damage, if any.
    pub damage: Option<Damage>,
}

/// The first bad spot of a partition and what a repair would cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// The segment file.
    pub file: PathBuf,
    /// Byte position of the bad batch in it.
    pub position: u64,
    /// The offset the bad batch should have started with.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
    /// Bytes from the bad batch to the end of the partition (what repair removes).
    pub bytes_after: u64,
    /// Whole segment files after the damaged one (removed by repair).
    pub segments_after: usize,
}

/// Checks every batch of partition directory `dir` (CRC, framing, offset continuity).
pub(super) fn verify_partition(fs: &dyn Storage, dir: &Path, topic: &str, partition: u32) -> Result<PartitionCheck> {
    let bases = segment::list(fs, dir).ctx("list", dir)?;
    let mut check = PartitionCheck {
        topic: topic.to_string(),
        partition,
        segments: bases.len(),
        records: 0,
        bytes: 0,
        start_offset: bases.first().copied().unwrap_or(0),
        end_offset: bases.first().copied().unwrap_or(0),
        damage: None,
    };
    let sizes: Vec<u64> =
        bases.iter().map(|&b| fs.stat(&log_path(dir, b)).ok().flatten().map_or(0, |s| s.len)).collect();
    for (i, &base) in bases.iter().enumerate() {
        let path = log_path(dir, base);
        let later: u64 = sizes[i + 1..].iter().sum();
        if base != check.end_offset {
            check.damage = Some(Damage {
                file: path,
                position: 0,
                offset: check.end_offset,
                reason: format!("segment starts at offset {base} where {} was expected", check.end_offset),
                bytes_after: sizes[i] + later,
                segments_after: bases.len() - i - 1,
            });
            return Ok(check);
        }
        let scan = segment::scan(fs, &path, base, 4096).ctx("read", &path)?;
        check.records += scan.records;
        check.bytes += scan.valid_len;
        check.end_offset = scan.next_offset;
        if let Some((position, reason)) = scan.problem {
            check.damage = Some(Damage {
                file: path,
                position,
                offset: scan.next_offset,
                reason,
                bytes_after: scan.file_len - position + later,
                segments_after: bases.len() - i - 1,
            });
            return Ok(check);
        }
    }
    let rp_path = dir.join("recovery-point");
    if let Some((rp, _)) = read_slot_file(fs, &rp_path).ctx("read", &rp_path)? {
        if rp > check.end_offset {
            let last = bases.last().copied().unwrap_or(0);
            check.damage = Some(Damage {
                file: log_path(dir, last),
                position: sizes.last().copied().unwrap_or(0),
                offset: check.end_offset,
                reason: format!("truncated: offsets up to {rp} were synced but the log ends at {}", check.end_offset),
                bytes_after: 0,
                segments_after: 0,
            });
        }
    }
    Ok(check)
}

/// Truncates partition `dir` at its first bad batch (taking the writer lock) and returns what was found.
pub(super) fn repair_partition(fs: &dyn Storage, dir: &Path, topic: &str, partition: u32) -> Result<PartitionCheck> {
    let _lock = lock_partition(fs, dir, &format!("{topic}/{partition}"))?;
    let check = verify_partition(fs, dir, topic, partition)?;
    let Some(d) = &check.damage else { return Ok(check) };
    let bases = segment::list(fs, dir).ctx("list", dir)?;
    let damaged_base = bases.iter().copied().find(|&b| log_path(dir, b) == d.file);
    if let Some(base) = damaged_base {
        for &b in bases.iter().filter(|&&b| b > base) {
            let p = log_path(dir, b);
            for ext in ["index", "timeindex"] {
                let _ = fs.remove_file(&p.with_extension(ext));
            }
            fs.remove_file(&p).ctx("remove", &p)?;
        }
        if d.position == 0 && base != d.offset {
            // a segment that does not continue the log at all
            for ext in ["index", "timeindex", "log"] {
                let _ = fs.remove_file(&d.file.with_extension(ext));
            }
        } else {
            let f = fs.open(&d.file, Open::Write).ctx("open", &d.file)?;
            f.set_len(d.position).ctx("truncate", &d.file)?;
            f.sync_data().ctx("sync", &d.file)?;
            // the writer rebuilds the index when it scans from the recovery point
            for ext in ["index", "timeindex"] {
                let _ = fs.remove_file(&d.file.with_extension(ext));
            }
        }
    }
    fs.sync_dir(dir).ctx("sync directory", dir)?;
    let rp_path = dir.join("recovery-point");
    let mut rp = SlotFile::open(fs, &rp_path).ctx("open", &rp_path)?;
    rp.write(d.offset, 0).ctx("write", &rp_path)?;
    Ok(check)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::io::real;
    use crate::log::partition::PartitionWriter;
    use crate::log::record::Record;
    use crate::log::topic::TopicConfig;
    use std::fs;

    #[test]
    fn verify_finds_a_flipped_byte_and_repair_cuts_there() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = TopicConfig { segment_bytes: 2048, ..TopicConfig::default() };
        let w = PartitionWriter::open(dir.path(), "t/0", &cfg, None).unwrap();
        for i in 0..100 {
            w.append(&[Record::from_value(format!("value-{i:04}"))]).unwrap();
        }
        drop(w);
        let ok = verify_partition(&*real(), dir.path(), "t", 0).unwrap();
        assert_eq!((ok.records, ok.end_offset, ok.damage.clone()), (100, 100, None));
        let bases = segment::list(&*real(), dir.path()).unwrap();
        assert!(bases.len() > 2);
        let victim = log_path(dir.path(), bases[1]);
        let mut bytes = fs::read(&victim).unwrap();
        bytes[100] ^= 0x08;
        fs::write(&victim, &bytes).unwrap();
        let bad = verify_partition(&*real(), dir.path(), "t", 0).unwrap();
        let d = bad.damage.clone().unwrap();
        assert_eq!(d.file, victim);
        assert!(d.offset >= bases[1] && d.offset < bases[2]);
        assert!(d.segments_after >= 1);
        // a reader refuses to serve past it (the writer only re-checks from the recovery point)
        let mut r = crate::log::reader::PartitionReader::open(dir.path(), "t/0", 0).unwrap();
        let err = loop {
            match r.read(1 << 20) {
                Ok(b) => assert!(!b.is_empty(), "damage not detected"),
                Err(e) => break e,
            }
        };
        assert!(err.to_string().contains(&victim.display().to_string()), "{err}");
        let repaired = repair_partition(&*real(), dir.path(), "t", 0).unwrap();
        assert_eq!(repaired.damage, bad.damage);
        let after = verify_partition(&*real(), dir.path(), "t", 0).unwrap();
        assert_eq!((after.damage, after.end_offset), (None, d.offset));
        let w = PartitionWriter::open(dir.path(), "t/0", &cfg, None).unwrap();
        assert_eq!(w.next_offset(), d.offset);
        w.append(&[Record::from_value("after repair")]).unwrap();
    }
}
