//! A partition's single writer: recovery on open, appends, rolling, retention, fsync and group commit.
//!
//! The writer holds an exclusive lock on `<partition>/writer.lock` for its lifetime (released by the
//! kernel even on SIGKILL). Every append is encoded into a reused buffer and handed to the kernel with
//! one `pwrite` before it returns. `recovery-point` (a slot file) records an offset below which all
//! data is known to be synced; recovery scans from the segment holding it, cuts a torn tail after it
//! and refuses to open when a batch before it is damaged.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::error::{Error, IoContext, Result};
use super::fsutil::{now_ms, read_slot_file, sync_dir, try_lock, SlotFile};
use super::index::SegmentIndex;
use super::record::Record;
use super::record_batch::{check, encode_batch, record_encoded_len, set_base_offset, BatchHeader, Check, HEADER_LEN};
use super::segment::{self, log_path};
use super::topic::{FsyncPolicy, TopicConfig};

/// A handle on one partition's writer; clones share it (and its group commit).
#[derive(Clone, Debug)]
pub struct PartitionWriter {
    inner: Arc<Inner>,
}

/// Where an append landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the first appended record.
    pub base_offset: u64,
    /// The offset after the last appended record (the new log end).
    pub next_offset: u64,
}

/// What recovery did when the writer opened the partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segments whose batches were re-validated.
    pub segments_scanned: usize,
    /// A torn tail that was cut: file, byte position, bytes removed, reason.
    pub truncated: Option<(PathBuf, u64, u64, String)>,
    /// Later segment files removed because they followed the cut.
    pub segments_removed: usize,
}

/// What retention deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Base offsets of the deleted segments.
    pub deleted_segments: Vec<u64>,
    /// Bytes freed.
    pub bytes: u64,
}

/// Offsets and sizes of a partition, read from its files (works beside a live writer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionInfo {
    /// The partition number.
    pub partition: u32,
    /// The first retained offset.
    pub start_offset: u64,
    /// The offset the next append gets (the log-end offset).
    pub end_offset: u64,
    /// Bytes of segment files.
    pub size_bytes: u64,
    /// Number of segment files.
    pub segments: usize,
    /// Timestamp of the oldest retained record (ms since the epoch).
    pub oldest_timestamp: Option<i64>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    dir: PathBuf,
    config: TopicConfig,
    fsync: FsyncPolicy,
    state: Mutex<State>,
    sync: Mutex<SyncState>,
    synced_cv: Condvar,
    recovery: RecoveryReport,
    _lock: File,
}

#[derive(Debug)]
struct State {
    sealed: Vec<Sealed>,
    active: Active,
    next_offset: u64,
    buf: Vec<u8>,
    rp: SlotFile,
    rp_offset: u64,
    rp_written: Instant,
    last_retention: Instant,
}

#[derive(Debug)]
struct Sealed {
    base: u64,
    size: u64,
    max_timestamp: Option<i64>,
}

#[derive(Debug)]
struct Active {
    base: u64,
    path: PathBuf,
    file: Arc<File>,
    size: u64,
    index: SegmentIndex,
    opened: Instant,
}

#[derive(Debug, Default)]
struct SyncState {
    /// Every offset below this is on disk.
    synced: u64,
    in_progress: bool,
    failed: Option<String>,
    /// `fdatasync` calls made by group commit (for metrics and tests).
    count: u64,
}

const RETENTION_CHECK: Duration = Duration::from_secs(30);
const RP_EVERY: Duration = Duration::from_secs(1);

impl PartitionWriter {
    /// Opens partition directory `dir` for writing (taking its lock) and recovers it.
    ///
    /// `name` is how errors refer to it (`topic/partition`); `fsync` overrides the topic's policy.
    pub fn open(dir: &Path, name: &str, config: &TopicConfig, fsync: Option<FsyncPolicy>) -> Result<PartitionWriter> {
        let lock = lock_partition(dir, name)?;
        let fsync = fsync.unwrap_or(config.fsync);
        let (state, recovery) = recover(dir, name, config)?;
        let synced = state.rp_offset;
        let inner = Arc::new(Inner {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            config: config.clone(),
            fsync,
            state: Mutex::new(state),
            sync: Mutex::new(SyncState { synced, ..SyncState::default() }),
            synced_cv: Condvar::new(),
            recovery,
            _lock: lock,
        });
        if let FsyncPolicy::Interval(every) = fsync {
            spawn_flusher(Arc::downgrade(&inner), every);
        }
        let w = PartitionWriter { inner };
        w.enforce_retention(now_ms())?;
        Ok(w)
    }

    /// What recovery did on open.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    /// The offset the next append gets.
    pub fn next_offset(&self) -> u64 {
        self.inner.lock_state().next_offset
    }

    /// How many `fdatasync`s group commit has made (concurrent `always` appends share them).
    pub fn fsyncs(&self) -> u64 {
        self.inner.lock_sync().count
    }

    /// Appends `records` as one or more batches (split at `max_batch_bytes`), one write when they
    /// fit the active segment. Returns after the data is in the kernel; with `fsync always`, after
    /// an `fdatasync` covering it (shared with concurrent appends).
    pub fn append(&self, records: &[Record]) -> Result<AppendInfo> {
        let refs: Vec<&Record> = records.iter().collect();
        self.append_refs(&refs)
    }

    /// [`append`](Self::append) for records gathered by reference.
    pub fn append_refs(&self, records: &[&Record]) -> Result<AppendInfo> {
        if records.is_empty() {
            let next = self.next_offset();
            return Ok(AppendInfo { base_offset: next, next_offset: next });
        }
        self.inner.check_failed()?;
        let info = {
            let mut st = self.inner.lock_state();
            self.inner.append_locked(&mut st, records)?
        };
        if self.inner.fsync == FsyncPolicy::Always {
            self.inner.wait_synced(info.next_offset)?;
            self.inner.maybe_write_rp(false)?;
        }
        Ok(info)
    }

    /// Appends record batches exactly as a Kafka producer sent them (RecordBatch v2, compressed or
    /// not, producer id and sequence kept): `batches` holds whole batches back to back. Each is
    /// validated (length, magic, CRC32C) before anything is written — one bad batch refuses them
    /// all — then stamped with its base offset, which lies outside the CRC, so the stored bytes are
    /// otherwise the client's. Durability as for [`append`](Self::append).
    pub fn append_raw(&self, batches: &mut [u8]) -> Result<AppendInfo> {
        let mut spans = Vec::new();
        let mut pos = 0;
        while pos < batches.len() {
            match check(&batches[pos..]) {
                Check::Valid(h) => {
                    spans.push((pos, h));
                    pos += h.len;
                }
                Check::Incomplete => return Err(Error::Invalid("truncated record batch".into())),
                Check::Invalid(reason) => return Err(Error::Invalid(reason)),
            }
        }
        if spans.is_empty() {
            let next = self.next_offset();
            return Ok(AppendInfo { base_offset: next, next_offset: next });
        }
        self.inner.check_failed()?;
        let info = {
            let mut st = self.inner.lock_state();
            self.inner.append_raw_locked(&mut st, batches, &spans)?
        };
        if self.inner.fsync == FsyncPolicy::Always {
            self.inner.wait_synced(info.next_offset)?;
            self.inner.maybe_write_rp(false)?;
        }
        Ok(info)
    }

    /// Writes index entries kept in memory to the index files (readers seek with them).
    pub fn flush(&self) -> Result<()> {
        let mut st = self.inner.lock_state();
        let path = st.active.path.clone();
        st.active.index.write_pending(&path).ctx("write the index of", &path)
    }

    /// Forces everything appended so far to disk (regardless of the policy).
    pub fn sync(&self) -> Result<()> {
        let next = self.next_offset();
        self.inner.wait_synced(next)?;
        self.flush()?;
        self.inner.maybe_write_rp(true)
    }

    /// Deletes sealed segments that retention allows to go (never the active one).
    pub fn enforce_retention(&self, now_ms: i64) -> Result<RetentionReport> {
        let mut st = self.inner.lock_state();
        self.inner.retention_locked(&mut st, now_ms)
    }

    /// Deletes the sealed segments that hold only offsets below `offset` (everything before it has
    /// been consumed for good), oldest first; the active segment always stays. Each removal is made
    /// durable before the next, so a crash leaves the log starting at a later segment (a missing
    /// prefix, which recovery and readers accept as retention's), never with a gap.
    pub fn delete_before(&self, offset: u64) -> Result<RetentionReport> {
        let mut st = self.inner.lock_state();
        let mut report = RetentionReport::default();
        while let Some(first) = st.sealed.first() {
            let end = st.sealed.get(1).map_or(st.active.base, |s| s.base);
            if end > offset {
                break;
            }
            let path = log_path(&self.inner.dir, first.base);
            // The `.log` first: index files left by a crash here are swept as strays on open.
            fs::remove_file(&path).ctx("delete segment", &path)?;
            sync_dir(&self.inner.dir).ctx("sync directory", &self.inner.dir)?;
            for ext in ["index", "timeindex"] {
                let _ = fs::remove_file(path.with_extension(ext));
            }
            report.bytes += first.size;
            report.deleted_segments.push(first.base);
            st.sealed.remove(0);
        }
        Ok(report)
    }

    /// Seals the active segment and starts a new one (normally done by size and age).
    pub fn roll(&self) -> Result<()> {
        let mut st = self.inner.lock_state();
        if st.active.size > 0 {
            self.inner.roll_locked(&mut st)?;
        }
        Ok(())
    }

    /// Syncs, persists the index and recovery point, and releases the lock.
    pub fn close(self) -> Result<()> {
        self.inner.close()
    }
}

impl Inner {
    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_sync(&self) -> MutexGuard<'_, SyncState> {
        self.sync.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_failed(&self) -> Result<()> {
        match &self.lock_sync().failed {
            Some(msg) => Err(Error::Poisoned(msg.clone())),
            None => Ok(()),
        }
    }

    fn append_locked(&self, st: &mut State, records: &[&Record]) -> Result<AppendInfo> {
        let now = now_ms();
        if st.active.size > 0 && st.active.opened.elapsed() >= Duration::from_millis(self.config.segment_ms) {
            self.roll_locked(st)?;
        }
        let base_offset = st.next_offset;
        let max_batch = self.config.max_batch_bytes as usize;
        let mut buf = std::mem::take(&mut st.buf);
        buf.clear();
        let mut pending: Vec<(u64, u64, u32, i64)> = Vec::new(); // (pos in buf, len, rel offset, max ts)
        let mut offset = st.next_offset;
        let mut rest = records;
        let result = (|| {
            while !rest.is_empty() {
                let n = batch_prefix(rest, max_batch)?;
                let start = buf.len();
                let h = encode_batch(&mut buf, offset, &rest[..n], now);
                let len = h.len as u64;
                let seg_used = st.active.size + start as u64;
                if seg_used > 0 && seg_used + len > self.config.segment_bytes
                    || offset + u64::from(h.last_offset_delta) - st.active.base >= u64::from(u32::MAX)
                {
                    // this batch belongs in a new segment: write what precedes it, then roll
                    let tail = buf.split_off(start);
                    self.write_out(st, &buf, &pending)?;
                    pending.clear();
                    // the new segment starts after what this call already wrote to the old one
                    st.next_offset = offset;
                    self.roll_locked(st)?;
                    buf = tail;
                }
                let start = buf.len() as u64 - len;
                pending.push((start, len, (offset - st.active.base) as u32, h.max_timestamp));
                offset = h.next_offset();
                rest = &rest[n..];
            }
            self.write_out(st, &buf, &pending)
        })();
        st.buf = buf;
        result?;
        st.next_offset = offset;
        if st.last_retention.elapsed() >= RETENTION_CHECK {
            self.retention_locked(st, now)?;
        }
        Ok(AppendInfo { base_offset, next_offset: offset })
    }

    fn append_raw_locked(
        &self,
        st: &mut State,
        bytes: &mut [u8],
        spans: &[(usize, BatchHeader)],
    ) -> Result<AppendInfo> {
        let now = now_ms();
        if st.active.size > 0 && st.active.opened.elapsed() >= Duration::from_millis(self.config.segment_ms) {
            self.roll_locked(st)?;
        }
        let base_offset = st.next_offset;
        let mut offset = st.next_offset;
        let mut run_start = spans.first().map_or(0, |s| s.0);
        let mut run_len = 0u64;
        let mut pending: Vec<(u64, u64, u32, i64)> = Vec::new(); // (pos in run, len, rel offset, max ts)
        for &(start, h) in spans {
            let len = h.len as u64;
            let seg_used = st.active.size + run_len;
            if seg_used > 0 && seg_used + len > self.config.segment_bytes
                || offset + u64::from(h.last_offset_delta) - st.active.base >= u64::from(u32::MAX)
            {
                self.write_out(st, &bytes[run_start..start], &pending)?;
                pending.clear();
                st.next_offset = offset;
                self.roll_locked(st)?;
                run_start = start;
                run_len = 0;
            }
            set_base_offset(&mut bytes[start..], offset);
            pending.push(((start - run_start) as u64, len, (offset - st.active.base) as u32, h.max_timestamp));
            run_len += len;
            offset += u64::from(h.last_offset_delta) + 1;
        }
        self.write_out(st, &bytes[run_start..], &pending)?;
        st.next_offset = offset;
        if st.last_retention.elapsed() >= RETENTION_CHECK {
            self.retention_locked(st, now)?;
        }
        Ok(AppendInfo { base_offset, next_offset: offset })
    }

    /// One `pwrite` of the encoded batches at the end of the active segment.
    fn write_out(&self, st: &mut State, buf: &[u8], batches: &[(u64, u64, u32, i64)]) -> Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let a = &mut st.active;
        if let Err(e) = a.file.write_all_at(buf, a.size) {
            // leave no partial batch behind; if even that fails, stop accepting writes
            if let Err(e2) = a.file.set_len(a.size) {
                self.lock_sync().failed = Some(format!("write failed ({e}) and truncation failed ({e2})"));
            }
            return Err(Error::io(e, "append to", &a.path));
        }
        for &(pos, len, rel, ts) in batches {
            a.index.on_batch(rel, a.size + pos, len, ts);
        }
        a.size += buf.len() as u64;
        Ok(())
    }

    fn roll_locked(&self, st: &mut State) -> Result<()> {
        let next = st.next_offset;
        let a = &mut st.active;
        a.file.sync_data().map_err(|e| self.fail(e, "sync", &a.path))?;
        let last_rel = next.saturating_sub(a.base + 1) as u32;
        a.index.seal(last_rel);
        a.index.write_pending(&a.path).ctx("write the index of", &a.path)?;
        let sealed = Sealed { base: a.base, size: a.size, max_timestamp: a.index.max_timestamp() };
        let path = log_path(&self.dir, next);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .ctx("create segment", &path)?;
        sync_dir(&self.dir).map_err(|e| self.fail(e, "sync directory", &self.dir))?;
        st.sealed.push(sealed);
        st.active = Active {
            base: next,
            path,
            file: Arc::new(file),
            size: 0,
            index: SegmentIndex::new(self.config.index_interval_bytes),
            opened: Instant::now(),
        };
        {
            let mut s = self.lock_sync();
            s.synced = s.synced.max(next);
        }
        self.synced_cv.notify_all();
        write_rp(st, next).ctx("write the recovery point of", &self.dir)?;
        let now = now_ms();
        self.retention_locked(st, now)?;
        Ok(())
    }

    fn retention_locked(&self, st: &mut State, now: i64) -> Result<RetentionReport> {
        st.last_retention = Instant::now();
        let mut report = RetentionReport::default();
        let mut total: u64 = st.sealed.iter().map(|s| s.size).sum::<u64>() + st.active.size;
        while let Some(first) = st.sealed.first() {
            let by_time = match (self.config.retention_ms, first.max_timestamp) {
                (Some(ms), Some(ts)) => ts < now.saturating_sub(ms as i64),
                (Some(_), None) => true, // an empty sealed segment
                _ => false,
            };
            let by_size = self.config.retention_bytes.is_some_and(|max| total - first.size >= max);
            if !(by_time || by_size) {
                break;
            }
            let path = log_path(&self.dir, first.base);
            for ext in ["index", "timeindex"] {
                let _ = fs::remove_file(path.with_extension(ext));
            }
            fs::remove_file(&path).ctx("delete segment", &path)?;
            total -= first.size;
            report.bytes += first.size;
            report.deleted_segments.push(first.base);
            st.sealed.remove(0);
        }
        Ok(report)
    }

    /// Group commit: returns once every offset below `target` is synced; one caller syncs for all.
    fn wait_synced(&self, target: u64) -> Result<()> {
        let mut s = self.lock_sync();
        loop {
            if let Some(msg) = &s.failed {
                return Err(Error::Poisoned(msg.clone()));
            }
            if s.synced >= target {
                return Ok(());
            }
            if s.in_progress {
                s = self.synced_cv.wait(s).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            s.in_progress = true;
            drop(s);
            let (file, path, upto) = {
                let st = self.lock_state();
                (Arc::clone(&st.active.file), st.active.path.clone(), st.next_offset)
            };
            let r = file.sync_data();
            s = self.lock_sync();
            s.in_progress = false;
            s.count += 1;
            match r {
                Ok(()) => s.synced = s.synced.max(upto),
                Err(e) => s.failed = Some(format!("fdatasync of {} failed: {e}", path.display())),
            }
            self.synced_cv.notify_all();
        }
    }

    /// Writes the recovery point if it is stale (at most once a second unless `force`).
    fn maybe_write_rp(&self, force: bool) -> Result<()> {
        let synced = self.lock_sync().synced;
        let mut st = self.lock_state();
        if synced > st.rp_offset && (force || st.rp_written.elapsed() >= RP_EVERY) {
            write_rp(&mut st, synced).ctx("write the recovery point of", &self.dir)?;
        }
        Ok(())
    }

    fn fail(&self, e: std::io::Error, what: &str, path: &Path) -> Error {
        self.lock_sync().failed = Some(format!("{what} {} failed: {e}", path.display()));
        Error::io(e, what, path)
    }

    fn flush_tick(&self) {
        let next = self.lock_state().next_offset;
        if self.lock_sync().synced < next && self.wait_synced(next).is_ok() {
            let _ = self.maybe_write_rp(true);
            let mut st = self.lock_state();
            let path = st.active.path.clone();
            let _ = st.active.index.write_pending(&path);
        }
    }

    fn close(&self) -> Result<()> {
        if self.lock_sync().failed.is_some() {
            return Ok(());
        }
        let next = self.lock_state().next_offset;
        self.wait_synced(next)?;
        let mut st = self.lock_state();
        let path = st.active.path.clone();
        st.active.index.write_pending(&path).ctx("write the index of", &path)?;
        if st.rp_offset != next {
            write_rp(&mut st, next).ctx("write the recovery point of", &self.dir)?;
        }
        Ok(())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::warn!("closing partition {}: {e}", self.name);
        }
    }
}

fn write_rp(st: &mut State, offset: u64) -> std::io::Result<()> {
    st.rp.write(offset, 0)?;
    st.rp_offset = offset;
    st.rp_written = Instant::now();
    Ok(())
}

fn spawn_flusher(inner: Weak<Inner>, every: Duration) {
    let _ = std::thread::Builder::new().name("flowc-log-flush".into()).spawn(move || loop {
        std::thread::sleep(every);
        match inner.upgrade() {
            Some(inner) => inner.flush_tick(),
            None => return,
        }
    });
}

/// How many leading records fit one batch of at most `max` bytes (at least one, or an error).
fn batch_prefix(records: &[&Record], max: usize) -> Result<usize> {
    let mut size = HEADER_LEN;
    for (i, r) in records.iter().enumerate() {
        // a generous bound on the timestamp delta's varint keeps this exact enough and cheap
        let len = record_encoded_len(r, i64::from(u32::MAX), i as i32);
        if size + len > max {
            if i == 0 {
                return Err(Error::RecordTooLarge { size: len, max });
            }
            return Ok(i);
        }
        size += len;
    }
    Ok(records.len())
}

/// Takes partition `dir`'s writer lock (`writer.lock`, holding this pid) or names the holder.
pub(crate) fn lock_partition(dir: &Path, name: &str) -> Result<File> {
    let lock_path = dir.join("writer.lock");
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .ctx("open", &lock_path)?;
    if !try_lock(&lock).ctx("lock", &lock_path)? {
        let holder = fs::read_to_string(&lock_path).unwrap_or_default();
        let holder = holder.trim();
        return Err(Error::Locked {
            what: format!("partition {name}"),
            holder: if holder.is_empty() { "unknown process".into() } else { holder.to_string() },
        });
    }
    lock.set_len(0).ctx("write", &lock_path)?;
    (&lock).write_all(format!("pid {}", std::process::id()).as_bytes()).ctx("write", &lock_path)?;
    Ok(lock)
}

/// Recovery (see the module doc): returns the writer state and what was repaired.
fn recover(dir: &Path, name: &str, config: &TopicConfig) -> Result<(State, RecoveryReport)> {
    if !dir.is_dir() {
        return Err(Error::Invalid(format!("partition directory {} is missing", dir.display())));
    }
    sweep_strays(dir)?;
    let rp_path = dir.join("recovery-point");
    let rp_offset = read_slot_file(&rp_path).ctx("read", &rp_path)?.map_or(0, |(o, _)| o);
    let mut bases = segment::list(dir).ctx("list", dir)?;
    let mut report = RecoveryReport::default();
    if bases.is_empty() {
        let path = log_path(dir, rp_offset);
        File::create(&path).ctx("create segment", &path)?;
        sync_dir(dir).ctx("sync directory", dir)?;
        bases.push(rp_offset);
    }
    // the segment holding the recovery point, and everything after it, is scanned
    let first_scan = bases.iter().rposition(|&b| b <= rp_offset).unwrap_or(0);
    let mut sealed = Vec::new();
    for &base in &bases[..first_scan] {
        let path = log_path(dir, base);
        let size = fs::metadata(&path).ctx("stat", &path)?.len();
        let idx = SegmentIndex::load(&path, config.index_interval_bytes).ctx("read the index of", &path)?;
        let max_timestamp =
            if idx.has_times() { idx.max_timestamp() } else { segment::skim(&path, 0, base).ctx("read", &path)?.1 };
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
                report.segments_removed += remove_segments(dir, &bases[i..])?;
                break;
            }
        }
        let scan = segment::scan(&path, base, config.index_interval_bytes).ctx("read", &path)?;
        report.segments_scanned += 1;
        if let Some((pos, reason)) = scan.problem {
            if scan.next_offset < rp_offset {
                return Err(Error::Corrupt { file: path, position: pos, offset: scan.next_offset, reason });
            }
            let f = OpenOptions::new().write(true).open(&path).ctx("open", &path)?;
            f.set_len(pos).ctx("truncate", &path)?;
            f.sync_all().ctx("sync", &path)?;
            report.truncated = Some((path.clone(), pos, scan.file_len - pos, reason));
            report.segments_removed += remove_segments(dir, &bases[i + 1..])?;
            let mut index = scan.index;
            index.rewrite(&path).ctx("write the index of", &path)?;
            active = Some((base, pos, index));
            expected = Some(scan.next_offset);
            break;
        }
        let mut index = scan.index;
        if i + 1 < bases.len() {
            index.seal(scan.next_offset.saturating_sub(base + 1) as u32);
            index.rewrite(&path).ctx("write the index of", &path)?;
            sealed.push(Sealed { base, size: scan.valid_len, max_timestamp: index.max_timestamp() });
        } else {
            index.rewrite(&path).ctx("write the index of", &path)?;
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
            File::create(&path).ctx("create segment", &path)?;
            (next_offset, 0, SegmentIndex::new(config.index_interval_bytes))
        }
    };
    if report.truncated.is_some() || report.segments_removed > 0 {
        sync_dir(dir).ctx("sync directory", dir)?;
        tracing::warn!(
            "partition {name}: recovery cut a torn tail at offset {next_offset} ({} segment(s) removed)",
            report.segments_removed
        );
    }
    let path = log_path(dir, base);
    let file = OpenOptions::new().read(true).write(true).open(&path).ctx("open", &path)?;
    let mut rp = SlotFile::open(&rp_path).ctx("open", &rp_path)?;
    let mut rp_now = rp_offset;
    if next_offset != rp_offset {
        // everything that survived the scan is now synced
        file.sync_data().ctx("sync", &path)?;
        rp.write(next_offset, 0).ctx("write", &rp_path)?;
        rp_now = next_offset;
    }
    let state = State {
        sealed,
        active: Active { base, path, file: Arc::new(file), size, index, opened: Instant::now() },
        next_offset,
        buf: Vec::new(),
        rp,
        rp_offset: rp_now,
        rp_written: Instant::now(),
        last_retention: Instant::now(),
    };
    Ok((state, report))
}

fn remove_segments(dir: &Path, bases: &[u64]) -> Result<usize> {
    for &b in bases {
        let path = log_path(dir, b);
        for ext in ["index", "timeindex"] {
            let _ = fs::remove_file(path.with_extension(ext));
        }
        fs::remove_file(&path).ctx("remove", &path)?;
    }
    Ok(bases.len())
}

/// Removes index files without a `.log` and leftover temporary files.
fn sweep_strays(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).ctx("list", dir)? {
        let path = entry.ctx("list", dir)?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let stray_index =
            (name.ends_with(".index") || name.ends_with(".timeindex")) && !path.with_extension("log").exists();
        if stray_index || name.contains(".tmp-") {
            fs::remove_file(&path).ctx("remove", &path)?;
        }
    }
    Ok(())
}

/// Reads a partition's offsets and sizes from its files, without taking the writer lock.
pub fn partition_info(dir: &Path, partition: u32) -> Result<PartitionInfo> {
    let bases = segment::list(dir).ctx("list", dir)?;
    let mut size_bytes = 0;
    for &b in &bases {
        let p = log_path(dir, b);
        size_bytes += fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    }
    let start_offset = bases.first().copied().unwrap_or(0);
    let end_offset = match bases.last() {
        None => 0,
        Some(&last) => {
            let path = log_path(dir, last);
            let idx = SegmentIndex::load(&path, 4096).ctx("read the index of", &path)?;
            let (rel, pos) = idx.last_entry().unwrap_or((0, 0));
            let from = last + u64::from(rel);
            match segment::skim(&path, pos, from) {
                Ok((end, _)) if end > from || pos == 0 => end,
                // a stale index entry (the segment was cut by recovery): skim from the start
                _ => segment::skim(&path, 0, last).ctx("read", &path)?.0,
            }
        }
    };
    let oldest_timestamp = match bases.first() {
        Some(&b) => segment::first_header(&log_path(dir, b)).ctx("read", &log_path(dir, b))?.map(|h| h.base_timestamp),
        None => None,
    };
    Ok(PartitionInfo { partition, start_offset, end_offset, size_bytes, segments: bases.len(), oldest_timestamp })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::segment::Cursor;

    fn cfg() -> TopicConfig {
        TopicConfig { segment_bytes: 4096, index_interval_bytes: 512, ..TopicConfig::default() }
    }

    fn recs(from: usize, n: usize) -> Vec<Record> {
        (from..from + n).map(|i| Record::from_value(format!("record-{i:06}"))).collect()
    }

    fn read_all(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for base in segment::list(dir).unwrap() {
            let mut c = Cursor::new(File::open(log_path(dir, base)).unwrap(), 0, 1 << 16);
            while let segment::Next::Batch { bytes, .. } = c.next(true).unwrap() {
                let b = crate::log::record_batch::Batch::from_bytes(bytes.to_vec()).unwrap();
                for r in b.records() {
                    out.push(String::from_utf8(r.unwrap().value.unwrap().to_vec()).unwrap());
                }
            }
        }
        out
    }

    #[test]
    fn appends_roll_and_reopen_continues() {
        let dir = tempfile::tempdir().unwrap();
        let w = PartitionWriter::open(dir.path(), "t/0", &cfg(), None).unwrap();
        for i in 0..50 {
            let info = w.append(&recs(i * 10, 10)).unwrap();
            assert_eq!(info, AppendInfo { base_offset: i as u64 * 10, next_offset: (i as u64 + 1) * 10 });
        }
        assert!(segment::list(dir.path()).unwrap().len() > 3, "rolled by size");
        drop(w);
        let w = PartitionWriter::open(dir.path(), "t/0", &cfg(), None).unwrap();
        assert_eq!(w.next_offset(), 500);
        assert_eq!(w.recovery().truncated, None);
        w.append(&recs(500, 1)).unwrap();
        drop(w);
        let all = read_all(dir.path());
        assert_eq!(all.len(), 501);
        assert!(all.iter().enumerate().all(|(i, v)| *v == format!("record-{i:06}")));
        let info = partition_info(dir.path(), 0).unwrap();
        assert_eq!((info.start_offset, info.end_offset), (0, 501));
    }

    #[test]
    fn one_append_larger_than_a_segment_rolls_at_the_right_offset() {
        let dir = tempfile::tempdir().unwrap();
        // several batches per call (small max batch), and calls that cross segment boundaries
        let c = TopicConfig { max_batch_bytes: 600, ..cfg() };
        let w = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap();
        let mut next = 0;
        for _ in 0..6 {
            let info = w.append(&recs(next, 250)).unwrap();
            assert_eq!(info, AppendInfo { base_offset: next as u64, next_offset: next as u64 + 250 });
            next += 250;
        }
        let bases = segment::list(dir.path()).unwrap();
        assert!(bases.len() > 3, "rolled inside appends: {bases:?}");
        drop(w);
        let all = read_all(dir.path());
        assert_eq!(all.len(), 1500);
        assert!(all.iter().enumerate().all(|(i, v)| *v == format!("record-{i:06}")));
        let w = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap();
        assert_eq!(w.next_offset(), 1500);
        assert_eq!(w.recovery().truncated, None);
    }

    #[test]
    fn raw_batches_are_stored_as_sent_with_their_offsets_stamped() {
        let dir = tempfile::tempdir().unwrap();
        let w = PartitionWriter::open(dir.path(), "t/0", &cfg(), None).unwrap();
        w.append(&recs(0, 3)).unwrap();
        // two client batches back to back, both claiming base offset 0, as producers send them
        let mut sent = Vec::new();
        encode_batch(&mut sent, 0, &recs(100, 2), 1);
        encode_batch(&mut sent, 0, &recs(200, 4), 1);
        let mut raw = sent.clone();
        assert_eq!(w.append_raw(&mut raw).unwrap(), AppendInfo { base_offset: 3, next_offset: 9 });
        // a flipped byte anywhere after the base offset refuses the whole request
        let mut bad = sent.clone();
        let n = bad.len();
        bad[n - 3] ^= 1;
        assert!(matches!(w.append_raw(&mut bad), Err(Error::Invalid(_))));
        assert!(matches!(w.append_raw(&mut sent[..40].to_vec()), Err(Error::Invalid(_))));
        assert_eq!(w.next_offset(), 9);
        drop(w);
        let all = read_all(dir.path());
        let want: Vec<String> =
            [0, 1, 2, 100, 101, 200, 201, 202, 203].iter().map(|i| format!("record-{i:06}")).collect();
        assert_eq!(all, want);
        // the stored bytes are the client's, but for each batch's 8-byte base offset
        let seg = fs::read(log_path(dir.path(), 0)).unwrap();
        let stored = &seg[seg.len() - sent.len()..];
        let second = crate::log::record_batch::parse_header(&sent).unwrap().len;
        let differ: Vec<usize> = (0..sent.len()).filter(|&i| stored[i] != sent[i]).collect();
        assert!(differ.iter().all(|&i| i < 8 || (second..second + 8).contains(&i)), "{differ:?}");
        assert_eq!(&stored[..8], &3i64.to_be_bytes());
        assert_eq!(&stored[second..second + 8], &5i64.to_be_bytes());
    }

    #[test]
    fn second_writer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _w = PartitionWriter::open(dir.path(), "t/0", &cfg(), None).unwrap();
        let err = PartitionWriter::open(dir.path(), "t/0", &cfg(), None).unwrap_err();
        assert!(matches!(err, Error::Locked { .. }), "{err}");
        assert!(err.to_string().contains(&format!("pid {}", std::process::id())), "{err}");
    }

    #[test]
    fn torn_tail_after_recovery_point_is_cut_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap();
        let c = TopicConfig { segment_bytes: 1 << 20, ..cfg() };
        let w = PartitionWriter::open(dir.path(), "t/0", &c, Some(FsyncPolicy::Never)).unwrap();
        w.append(&recs(0, 10)).unwrap();
        w.sync().unwrap(); // recovery point = 10
        w.append(&recs(10, 10)).unwrap();
        w.append(&recs(20, 10)).unwrap();
        // simulate a crash: forget the writer without a clean close, then tear the last batch
        std::mem::forget(w);
        let seg = log_path(dir.path(), 0);
        let len = fs::metadata(&seg).unwrap().len();
        let f = OpenOptions::new().write(true).open(&seg).unwrap();
        f.set_len(len - 7).unwrap();
        // a leaked lock from this process would block: locks are per open file, so reopen works only
        // after the leaked writer's lock is gone; release it by closing the leaked descriptor's twin
        drop(f);
        let lock = dir.path().join("writer.lock");
        fs::remove_file(&lock).unwrap();
        let w = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap();
        assert_eq!(w.next_offset(), 20);
        let (file, pos, cut, _) = w.recovery().truncated.clone().unwrap();
        assert_eq!(file, seg);
        assert!(pos < len && cut > 0);
        w.append(&recs(20, 5)).unwrap();
        drop(w);
        let all = read_all(dir.path());
        assert_eq!(all.len(), 25);
        assert!(all.iter().enumerate().all(|(i, v)| *v == format!("record-{i:06}")));
    }

    #[test]
    fn corruption_in_synced_data_refuses_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let c = TopicConfig { segment_bytes: 1 << 20, ..cfg() };
        let w = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap();
        for i in 0..5 {
            w.append(&recs(i * 10, 10)).unwrap();
        }
        drop(w); // clean close: everything synced
        let seg = log_path(dir.path(), 0);
        let mut bytes = fs::read(&seg).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x01;
        fs::write(&seg, &bytes).unwrap();
        let err = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Corrupt { .. }), "{msg}");
        assert!(msg.contains("00000000000000000000.log"), "{msg}");
        // and a truncated synced tail is refused too
        bytes[at] ^= 0x01;
        fs::write(&seg, &bytes[..bytes.len() - 3]).unwrap();
        let err = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn always_policy_group_commits_concurrent_appends() {
        let dir = tempfile::tempdir().unwrap();
        let c = TopicConfig { segment_bytes: 1 << 20, ..cfg() };
        let w = PartitionWriter::open(dir.path(), "t/0", &c, Some(FsyncPolicy::Always)).unwrap();
        let start = Arc::new(std::sync::Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let w = w.clone();
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    for i in 0..25 {
                        w.append(&recs(t * 1000 + i, 1)).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(w.next_offset(), 100);
        assert!(w.inner.lock_sync().synced >= 100);
        // every append returned synced, yet they shared fdatasyncs
        assert!(w.fsyncs() < 100, "{} fdatasyncs for 100 appends", w.fsyncs());
    }

    #[test]
    fn retention_by_bytes_and_time_keeps_the_active_segment() {
        let dir = tempfile::tempdir().unwrap();
        let c = TopicConfig { retention_bytes: Some(8192), retention_ms: Some(3_600_000), ..cfg() };
        let w = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap();
        for i in 0..100 {
            w.append(&recs(i * 10, 10)).unwrap();
        }
        let info = partition_info(dir.path(), 0).unwrap();
        assert!(info.start_offset > 0, "old segments deleted: {info:?}");
        assert!(info.size_bytes < 8192 + 2 * 4096, "{info:?}");
        assert_eq!(info.end_offset, 1000);
        // time: records stamped two hours ago go as soon as their segment is sealed
        let dir2 = tempfile::tempdir().unwrap();
        let c2 = TopicConfig { retention_ms: Some(3_600_000), ..cfg() };
        let w2 = PartitionWriter::open(dir2.path(), "t/0", &c2, None).unwrap();
        let old: Vec<Record> = recs(0, 100)
            .into_iter()
            .map(|mut r| {
                r.timestamp = Some(now_ms() - 7_200_000);
                r
            })
            .collect();
        w2.append(&old).unwrap();
        assert!(w2.enforce_retention(now_ms()).unwrap().deleted_segments.is_empty(), "the active segment stays");
        w2.roll().unwrap(); // sealing makes it eligible; rolls run retention
        w2.append(&recs(100, 1)).unwrap();
        let info = partition_info(dir2.path(), 0).unwrap();
        assert_eq!((info.start_offset, info.end_offset, info.segments), (100, 101, 1));
    }

    #[test]
    fn oversized_records_are_refused_and_large_appends_split() {
        let dir = tempfile::tempdir().unwrap();
        let c = TopicConfig { max_batch_bytes: 2048, segment_bytes: 1 << 20, ..cfg() };
        let w = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap();
        let big = Record::from_value(vec![0u8; 4096]);
        assert!(matches!(w.append(&[big]), Err(Error::RecordTooLarge { .. })));
        let many: Vec<Record> = (0..100).map(|_| Record::from_value(vec![1u8; 100])).collect();
        assert_eq!(w.append(&many).unwrap().next_offset, 100);
        drop(w);
        assert_eq!(read_all(dir.path()).len(), 100);
    }
}
