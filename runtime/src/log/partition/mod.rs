//! A partition's single writer: recovery on open, appends, rolling, retention, fsync and group commit.
//!
//! The writer holds an exclusive lock on `<partition>/writer.lock` for its lifetime (released by the
//! kernel even on SIGKILL). Every append is encoded into a reused buffer and handed to the kernel with
//! one `pwrite` before it returns. `recovery-point` (a slot file) records an offset below which all
//! data is known to be synced; recovery scans from the segment holding it, cuts a torn tail after it
//! and refuses to open when a batch before it is damaged.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

mod recover;
#[cfg(test)]
mod tests;

use super::error::{Error, IoContext, Result};
use super::fsutil::SlotFile;
use super::index::SegmentIndex;
use super::io::{self as storage, FileRef, Open, StorageRef};
use super::record::{AsRecord, Record, RecordRef};
use super::record_batch::{check, encode_batch, record_encoded_len, set_base_offset, BatchHeader, Check, HEADER_LEN};
use super::segment::log_path;
use super::topic::{FsyncPolicy, TopicConfig};

pub use recover::partition_info;
use recover::recover;
pub(crate) use recover::{lock_partition, partition_info_on};

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
    /// Base offsets of the first and the last segment (`None` without segments).
    pub first_last_segment: Option<(u64, u64)>,
    /// Timestamp of the oldest retained record (ms since the epoch).
    pub oldest_timestamp: Option<i64>,
}

#[derive(Debug)]
struct Inner {
    fs: StorageRef,
    name: String,
    dir: PathBuf,
    config: TopicConfig,
    fsync: FsyncPolicy,
    state: Mutex<State>,
    sync: Mutex<SyncState>,
    synced_cv: Condvar,
    recovery: RecoveryReport,
    _lock: FileRef,
    /// Test-only breakage: acknowledge `always` appends without waiting for their sync.
    #[cfg(test)]
    ack_before_sync: std::sync::atomic::AtomicBool,
    /// Test-only breakage: no directory fsync after a roll creates the next segment.
    #[cfg(test)]
    skip_roll_dir_sync: std::sync::atomic::AtomicBool,
}

#[derive(Debug)]
struct State {
    sealed: Vec<Sealed>,
    active: Active,
    next_offset: u64,
    buf: Vec<u8>,
    rp: SlotFile,
    rp_offset: u64,
    /// When the recovery point was last written and retention last ran ([`Storage::clock`]).
    rp_written: Duration,
    last_retention: Duration,
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
    file: FileRef,
    size: u64,
    index: SegmentIndex,
    opened: Duration,
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
        PartitionWriter::open_on(storage::real(), dir, name, config, fsync)
    }

    /// [`open`](Self::open) on `fs`.
    pub(crate) fn open_on(
        fs: StorageRef,
        dir: &Path,
        name: &str,
        config: &TopicConfig,
        fsync: Option<FsyncPolicy>,
    ) -> Result<PartitionWriter> {
        let lock = lock_partition(&*fs, dir, name)?;
        let fsync = fsync.unwrap_or(config.fsync);
        let (state, recovery) = recover(&*fs, dir, name, config)?;
        let synced = state.rp_offset;
        let timers = fs.timers();
        let inner = Arc::new(Inner {
            fs,
            name: name.to_string(),
            dir: dir.to_path_buf(),
            config: config.clone(),
            fsync,
            state: Mutex::new(state),
            sync: Mutex::new(SyncState { synced, ..SyncState::default() }),
            synced_cv: Condvar::new(),
            recovery,
            _lock: lock,
            #[cfg(test)]
            ack_before_sync: std::sync::atomic::AtomicBool::new(false),
            #[cfg(test)]
            skip_roll_dir_sync: std::sync::atomic::AtomicBool::new(false),
        });
        if let (FsyncPolicy::Interval(every), true) = (fsync, timers) {
            spawn_flusher(Arc::downgrade(&inner), every);
        }
        let w = PartitionWriter { inner };
        let now = w.inner.fs.wall_ms();
        w.enforce_retention(now)?;
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

    /// `(first retained offset, the offset the next append gets)`, from memory.
    pub fn offsets(&self) -> (u64, u64) {
        let state = self.inner.lock_state();
        (state.sealed.first().map_or(state.active.base, |s| s.base), state.next_offset)
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
        self.append_any(records)
    }

    /// [`append`](Self::append) for records borrowing their bytes (copied once, into the batch).
    pub fn append_borrowed(&self, records: &[RecordRef<'_>]) -> Result<AppendInfo> {
        self.append_any(records)
    }

    fn append_any<R: AsRecord>(&self, records: &[R]) -> Result<AppendInfo> {
        if records.is_empty() {
            let next = self.next_offset();
            return Ok(AppendInfo { base_offset: next, next_offset: next });
        }
        self.inner.check_failed()?;
        let info = {
            let mut st = self.inner.lock_state();
            self.inner.append_locked(&mut st, records)?
        };
        if self.inner.fsync == FsyncPolicy::Always && !self.inner.acks_early() {
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
        if self.inner.fsync == FsyncPolicy::Always && !self.inner.acks_early() {
            self.inner.wait_synced(info.next_offset)?;
            self.inner.maybe_write_rp(false)?;
        }
        Ok(info)
    }

    /// Writes index entries kept in memory to the index files (readers seek with them).
    pub fn flush(&self) -> Result<()> {
        let mut st = self.inner.lock_state();
        let path = st.active.path.clone();
        st.active.index.write_pending(&*self.inner.fs, &path).ctx("write the index of", &path)
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
            let fs = &*self.inner.fs;
            fs.remove_file(&path).ctx("delete segment", &path)?;
            fs.sync_dir(&self.inner.dir).ctx("sync directory", &self.inner.dir)?;
            for ext in ["index", "timeindex"] {
                let _ = fs.remove_file(&path.with_extension(ext));
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

    /// Breaks the writer for the crash simulation: `always` appends return before their sync.
    #[cfg(test)]
    pub(crate) fn ack_before_sync_for_test(&self) {
        self.inner.ack_before_sync.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Breaks the writer for the crash simulation: rolls skip the directory fsync.
    #[cfg(test)]
    pub(crate) fn skip_roll_dir_sync_for_test(&self) {
        self.inner.skip_roll_dir_sync.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// One tick of the `interval` flusher (the simulation runs no timer threads).
    #[cfg(test)]
    pub(crate) fn flush_tick_for_test(&self) {
        self.inner.flush_tick();
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

    #[cfg(test)]
    fn acks_early(&self) -> bool {
        self.ack_before_sync.load(std::sync::atomic::Ordering::Relaxed)
    }

    #[cfg(not(test))]
    fn acks_early(&self) -> bool {
        false
    }

    #[cfg(test)]
    fn skips_roll_dir_sync(&self) -> bool {
        self.skip_roll_dir_sync.load(std::sync::atomic::Ordering::Relaxed)
    }

    #[cfg(not(test))]
    fn skips_roll_dir_sync(&self) -> bool {
        false
    }

    /// Time since `t` on the storage's clock.
    fn since(&self, t: Duration) -> Duration {
        self.fs.clock().saturating_sub(t)
    }

    fn check_failed(&self) -> Result<()> {
        match &self.lock_sync().failed {
            Some(msg) => Err(Error::Poisoned(msg.clone())),
            None => Ok(()),
        }
    }

    fn append_locked<R: AsRecord>(&self, st: &mut State, records: &[R]) -> Result<AppendInfo> {
        let now = self.fs.wall_ms();
        if st.active.size > 0 && self.since(st.active.opened) >= Duration::from_millis(self.config.segment_ms) {
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
        if self.since(st.last_retention) >= RETENTION_CHECK {
            self.background_retention(st, now);
        }
        Ok(AppendInfo { base_offset, next_offset: offset })
    }

    fn append_raw_locked(
        &self,
        st: &mut State,
        bytes: &mut [u8],
        spans: &[(usize, BatchHeader)],
    ) -> Result<AppendInfo> {
        let now = self.fs.wall_ms();
        if st.active.size > 0 && self.since(st.active.opened) >= Duration::from_millis(self.config.segment_ms) {
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
        if self.since(st.last_retention) >= RETENTION_CHECK {
            self.background_retention(st, now);
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
        // after a failed fdatasync the segment's tail may be gone from the disk: a new segment
        // after it would leave a gap there (found by the crash simulation, seed 111203)
        self.check_failed()?;
        let next = st.next_offset;
        let a = &mut st.active;
        a.file.sync_data().map_err(|e| self.fail(e, "sync", &a.path))?;
        let last_rel = next.saturating_sub(a.base + 1) as u32;
        a.index.seal(last_rel);
        a.index.write_pending(&*self.fs, &a.path).ctx("write the index of", &a.path)?;
        SegmentIndex::sync(&*self.fs, &a.path).map_err(|e| self.fail(e, "sync the index of", &a.path))?;
        let sealed = Sealed { base: a.base, size: a.size, max_timestamp: a.index.max_timestamp() };
        let path = log_path(&self.dir, next);
        let file = self.fs.open(&path, Open::Create).ctx("create segment", &path)?;
        if !self.skips_roll_dir_sync() {
            self.fs.sync_dir(&self.dir).map_err(|e| self.fail(e, "sync directory", &self.dir))?;
        }
        st.sealed.push(sealed);
        st.active = Active {
            base: next,
            path,
            file,
            size: 0,
            index: SegmentIndex::new(self.config.index_interval_bytes),
            opened: self.fs.clock(),
        };
        {
            let mut s = self.lock_sync();
            s.synced = s.synced.max(next);
        }
        self.synced_cv.notify_all();
        write_rp(st, next, self.fs.clock()).ctx("write the recovery point of", &self.dir)?;
        let now = self.fs.wall_ms();
        self.background_retention(st, now);
        Ok(())
    }

    /// Retention run as a side effect of an append or a roll: those already succeeded, so a failure
    /// here is logged, not returned (the producer would retry data that is in the log). The next
    /// pass tries again.
    fn background_retention(&self, st: &mut State, now: i64) {
        if let Err(e) = self.retention_locked(st, now) {
            tracing::warn!("partition {}: retention: {e}", self.name);
        }
    }

    fn retention_locked(&self, st: &mut State, now: i64) -> Result<RetentionReport> {
        st.last_retention = self.fs.clock();
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
            // One segment at a time, each removal durable before the next: a power loss may bring
            // back a deleted segment, never leave a gap behind an older one (found by the crash
            // simulation). Index files left by a failure here are swept as strays on open.
            let path = log_path(&self.dir, first.base);
            match self.fs.remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(e, "delete segment", &path)),
            }
            total -= first.size;
            report.bytes += first.size;
            report.deleted_segments.push(first.base);
            st.sealed.remove(0);
            self.fs.sync_dir(&self.dir).ctx("sync directory", &self.dir)?;
            for ext in ["index", "timeindex"] {
                let _ = self.fs.remove_file(&path.with_extension(ext));
            }
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
        if synced > st.rp_offset && (force || self.since(st.rp_written) >= RP_EVERY) {
            write_rp(&mut st, synced, self.fs.clock()).ctx("write the recovery point of", &self.dir)?;
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
            let _ = st.active.index.write_pending(&*self.fs, &path);
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
        st.active.index.write_pending(&*self.fs, &path).ctx("write the index of", &path)?;
        if st.rp_offset != next {
            write_rp(&mut st, next, self.fs.clock()).ctx("write the recovery point of", &self.dir)?;
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

fn write_rp(st: &mut State, offset: u64, now: Duration) -> std::io::Result<()> {
    st.rp.write(offset, 0)?;
    st.rp_offset = offset;
    st.rp_written = now;
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
fn batch_prefix<R: AsRecord>(records: &[R], max: usize) -> Result<usize> {
    let mut size = HEADER_LEN;
    for (i, r) in records.iter().enumerate() {
        // a generous bound on the timestamp delta's varint keeps this exact enough and cheap
        let len = record_encoded_len(&r.as_record(), i64::from(u32::MAX), i as i32);
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
