//! Opening a partition for writing: its lock, recovery from the recovery point, and `partition_info`.

use std::path::Path;

use super::{Active, PartitionInfo, RecoveryReport, Sealed, State};
use crate::log::error::{Error, IoContext, Result};
use crate::log::fsutil::{read_slot_file, SlotFile};
use crate::log::index::SegmentIndex;
use crate::log::io::{self as storage, FileRef, Open, Storage, StorageFile};
use crate::log::segment::{self, log_path};
use crate::log::topic::TopicConfig;

/// Takes partition `dir`'s writer lock (`writer.lock`, holding this pid) or names the holder.
pub(crate) fn lock_partition(fs: &dyn Storage, dir: &Path, name: &str) -> Result<FileRef> {
    let lock_path = dir.join("writer.lock");
    let lock = fs.open(&lock_path, Open::Create).ctx("open", &lock_path)?;
    if !lock.try_lock().ctx("lock", &lock_path)? {
        let holder = String::from_utf8(storage::read(fs, &lock_path).unwrap_or_default()).unwrap_or_default();
        let holder = holder.trim();
        return Err(Error::Locked {
            what: format!("partition {name}"),
            holder: if holder.is_empty() { "unknown process".into() } else { holder.to_string() },
        });
    }
    lock.set_len(0).ctx("write", &lock_path)?;
    lock.write_all_at(format!("pid {}", std::process::id()).as_bytes(), 0).ctx("write", &lock_path)?;
    Ok(lock)
}

/// Recovery (see the module doc): returns the writer state and what was repaired.
pub(super) fn recover(
    fs: &dyn Storage,
    dir: &Path,
    name: &str,
    config: &TopicConfig,
) -> Result<(State, RecoveryReport)> {
    if !storage::is_dir(fs, dir) {
        return Err(Error::Invalid(format!("partition directory {} is missing", dir.display())));
    }
    sweep_strays(fs, dir)?;
    let rp_path = dir.join("recovery-point");
    let rp_offset = read_slot_file(fs, &rp_path).ctx("read", &rp_path)?.map_or(0, |(o, _)| o);
    let mut bases = segment::list(fs, dir).ctx("list", dir)?;
    let mut report = RecoveryReport::default();
    if bases.is_empty() {
        let path = log_path(dir, rp_offset);
        fs.open(&path, Open::Create).ctx("create segment", &path)?;
        fs.sync_dir(dir).ctx("sync directory", dir)?;
        bases.push(rp_offset);
    }
    // the segment holding the recovery point, and everything after it, is scanned
    let first_scan = bases.iter().rposition(|&b| b <= rp_offset).unwrap_or(0);
    let mut sealed = Vec::new();
    for &base in &bases[..first_scan] {
        let path = log_path(dir, base);
        let size = fs.stat(&path).ctx("stat", &path)?.map_or(0, |s| s.len);
        let idx = SegmentIndex::load(fs, &path, config.index_interval_bytes).ctx("read the index of", &path)?;
        let max_timestamp =
            if idx.has_times() { idx.max_timestamp() } else { segment::skim(fs, &path, 0, base).ctx("read", &path)?.1 };
        sealed.push(Sealed { base, size, max_timestamp });
    }
    let mut active: Option<(u64, u64, SegmentIndex)> = None;
    let mut expected: Option<u64> = None;
    let mut i = first_scan;
    while i < bases.len() {
        let base = bases[i];
        let path = log_path(dir, base);
        if let Some(exp) = expected {
            if base != exp {
                let reason = format!("segment starts at offset {base} where {exp} was expected");
                if exp < rp_offset {
                    return Err(Error::Corrupt { file: path, position: 0, offset: exp, reason });
                }
                report.segments_removed += remove_segments(fs, dir, &bases[i..])?;
                break;
            }
        }
        let scan = segment::scan(fs, &path, base, config.index_interval_bytes).ctx("read", &path)?;
        report.segments_scanned += 1;
        if let Some((pos, reason)) = scan.problem {
            if scan.next_offset < rp_offset {
                return Err(Error::Corrupt { file: path, position: pos, offset: scan.next_offset, reason });
            }
            let f = fs.open(&path, Open::Write).ctx("open", &path)?;
            f.set_len(pos).ctx("truncate", &path)?;
            f.sync_data().ctx("sync", &path)?;
            report.truncated = Some((path.clone(), pos, scan.file_len - pos, reason));
            report.segments_removed += remove_segments(fs, dir, &bases[i + 1..])?;
            let mut index = scan.index;
            index.rewrite(fs, &path).ctx("write the index of", &path)?;
            active = Some((base, pos, index));
            expected = Some(scan.next_offset);
            break;
        }
        let mut index = scan.index;
        if i + 1 < bases.len() {
            index.seal(scan.next_offset.saturating_sub(base + 1) as u32);
            index.rewrite(fs, &path).ctx("write the index of", &path)?;
            SegmentIndex::sync(fs, &path).ctx("sync the index of", &path)?;
            sealed.push(Sealed { base, size: scan.valid_len, max_timestamp: index.max_timestamp() });
        } else {
            index.rewrite(fs, &path).ctx("write the index of", &path)?;
            active = Some((base, scan.valid_len, index));
        }
        expected = Some(scan.next_offset);
        i += 1;
    }
    let next_offset = expected.unwrap_or(rp_offset);
    if next_offset < rp_offset {
        let base = active.as_ref().map_or(0, |a| a.0);
        return Err(Error::Corrupt {
            file: log_path(dir, base),
            position: active.as_ref().map_or(0, |a| a.1),
            offset: next_offset,
            reason: format!("the log ends at offset {next_offset} but offsets up to {rp_offset} were synced"),
        });
    }
    let (base, size, index) = match active {
        Some(a) => a,
        None => {
            // the last segment was removed as following a cut: continue in a fresh one
            let path = log_path(dir, next_offset);
            fs.open(&path, Open::Create).ctx("create segment", &path)?;
            (next_offset, 0, SegmentIndex::new(config.index_interval_bytes))
        }
    };
    if report.truncated.is_some() || report.segments_removed > 0 {
        fs.sync_dir(dir).ctx("sync directory", dir)?;
        tracing::warn!(
            "partition {name}: recovery cut a torn tail at offset {next_offset} ({} segment(s) removed)",
            report.segments_removed
        );
    }
    let path = log_path(dir, base);
    let file = fs.open(&path, Open::Write).ctx("open", &path)?;
    let mut rp = SlotFile::open(fs, &rp_path).ctx("open", &rp_path)?;
    let mut rp_now = rp_offset;
    if next_offset != rp_offset {
        // everything that survived the scan is now synced; the unsynced tail is written again
        // first, because after a failed fdatasync the page cache can hold bytes the disk lost,
        // and syncing clean pages writes nothing (found by the I/O-error tests)
        let from = if rp_offset > base { index.lookup((rp_offset - base).min(u64::from(u32::MAX)) as u32) } else { 0 };
        rewrite_range(&*file, from, size).ctx("rewrite", &path)?;
        file.sync_data().ctx("sync", &path)?;
        rp.write(next_offset, 0).ctx("write", &rp_path)?;
        rp_now = next_offset;
    }
    let state = State {
        sealed,
        active: Active { base, path, file, size, index, opened: fs.clock() },
        next_offset,
        buf: Vec::new(),
        rp,
        rp_offset: rp_now,
        rp_written: fs.clock(),
        last_retention: fs.clock(),
    };
    Ok((state, report))
}

/// Reads bytes `from..to` of `file` and writes them back in place (dirtying their pages again).
fn rewrite_range(file: &dyn StorageFile, from: u64, to: u64) -> std::io::Result<()> {
    let mut buf = vec![0u8; (to - from).min(1 << 20) as usize];
    let mut pos = from;
    while pos < to {
        let want = (to - pos).min(buf.len() as u64) as usize;
        let n = file.read_at(&mut buf[..want], pos)?;
        if n == 0 {
            break;
        }
        file.write_all_at(&buf[..n], pos)?;
        pos += n as u64;
    }
    Ok(())
}

fn remove_segments(fs: &dyn Storage, dir: &Path, bases: &[u64]) -> Result<usize> {
    for &b in bases {
        let path = log_path(dir, b);
        for ext in ["index", "timeindex"] {
            let _ = fs.remove_file(&path.with_extension(ext));
        }
        fs.remove_file(&path).ctx("remove", &path)?;
    }
    Ok(bases.len())
}

/// Removes index files without a `.log` and leftover temporary files.
fn sweep_strays(fs: &dyn Storage, dir: &Path) -> Result<()> {
    for name in fs.list(dir).ctx("list", dir)? {
        let path = dir.join(&name);
        let stray_index = (name.ends_with(".index") || name.ends_with(".timeindex"))
            && !storage::exists(fs, &path.with_extension("log"));
        if stray_index || name.contains(".tmp-") {
            fs.remove_file(&path).ctx("remove", &path)?;
        }
    }
    Ok(())
}

/// Reads a partition's offsets and sizes from its files, without taking the writer lock.
pub fn partition_info(dir: &Path, partition: u32) -> Result<PartitionInfo> {
    partition_info_on(&*storage::real(), dir, partition)
}

/// [`partition_info`] on `fs`.
pub(crate) fn partition_info_on(fs: &dyn Storage, dir: &Path, partition: u32) -> Result<PartitionInfo> {
    let bases = segment::list(fs, dir).ctx("list", dir)?;
    let mut size_bytes = 0;
    for &b in &bases {
        let p = log_path(dir, b);
        size_bytes += fs.stat(&p).ok().flatten().map_or(0, |s| s.len);
    }
    let start_offset = bases.first().copied().unwrap_or(0);
    let end_offset = match bases.last() {
        None => 0,
        Some(&last) => {
            let path = log_path(dir, last);
            let idx = SegmentIndex::load(fs, &path, 4096).ctx("read the index of", &path)?;
            let (rel, pos) = idx.last_entry().unwrap_or((0, 0));
            let from = last + u64::from(rel);
            match segment::skim(fs, &path, pos, from) {
                Ok((end, _)) if end > from || pos == 0 => end,
                // a stale index entry (the segment was cut by recovery): skim from the start
                _ => segment::skim(fs, &path, 0, last).ctx("read", &path)?.0,
            }
        }
    };
    let oldest_timestamp = match bases.first() {
        Some(&b) => {
            segment::first_header(fs, &log_path(dir, b)).ctx("read", &log_path(dir, b))?.map(|h| h.base_timestamp)
        }
        None => None,
    };
    let first_last_segment = bases.first().zip(bases.last()).map(|(f, l)| (*f, *l));
    Ok(PartitionInfo {
        partition,
        start_offset,
        end_offset,
        size_bytes,
        segments: bases.len(),
        first_last_segment,
        oldest_timestamp,
    })
}
