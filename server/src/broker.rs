//! The state every connection shares: the data directory, the partition writers this server holds,
//! the producers' sequence state, the consumer-group coordinator and the groups' stand-in members
//! in the data directory, and counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use flowc_runtime::log::{
    partition_info, segment_path, Error as LogError, Log, PartitionInfo, PartitionWriter, TopicConfig, TopicId,
};

use crate::groups::Coordinator;
use crate::producers::Producers;
use crate::proxy::Proxies;
use crate::ServerConfig;

/// Shared by all connections.
pub(crate) struct Broker {
    pub(crate) log: Log,
    pub(crate) config: ServerConfig,
    /// The host and port Metadata and FindCoordinator answer with.
    pub(crate) advertised: (String, i32),
    /// The writers this server holds.
    writers: Mutex<HashMap<(String, u32), Held>>,
    pub(crate) producers: Producers,
    pub(crate) groups: Coordinator,
    /// The consumer groups' members in the data directory, standing in for their Kafka members.
    pub(crate) proxies: Proxies,
    /// Woken after every append, so long-polling fetches look again at once.
    pub(crate) appended: tokio::sync::Notify,
    next_producer_id: AtomicI64,
    pub(crate) bad_frames: AtomicU64,
    /// The offsets of partitions whose writer another process holds, as last read from their files.
    seen: Mutex<HashMap<(String, u32), Arc<Seen>>>,
}

/// A partition's offsets as read from its files, and what tells them still right: its first
/// segment still there, its last one unchanged since before they were read (length, inode,
/// modification time), and no segment yet at the end offset (where the next roll would start one).
/// A partition without segments (never written) is watched for its first, at offset 0.
struct Seen {
    start: u64,
    end: u64,
    first: Option<PathBuf>,
    last: PathBuf,
    /// The last segment's stamp from before the read (`Some(None)`: it was not there), or `None`
    /// when that is not known, as on the first read: the next call reads again, stamping first.
    last_stamp: Option<Option<Stamp>>,
    /// The segment a roll at the end offset would create (`None` when the last segment is empty
    /// and so starts there itself).
    next: Option<PathBuf>,
}

/// What a `stat` says of a file that changes when it is written, cut or replaced.
#[derive(PartialEq, Eq)]
struct Stamp {
    len: u64,
    inode: u64,
    modified: (i64, i64),
}

impl Stamp {
    /// `None` when there is no such file (or it cannot be looked at).
    fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp { len: m.len(), inode: m.ino(), modified: (m.mtime(), m.mtime_nsec()) })
    }
}

impl Seen {
    /// What tells a partition's offsets, just read as `info`, still right; `before` is the stamp of
    /// the segment that was the last one, taken before the read.
    fn of(dir: &Path, info: &PartitionInfo, before: Option<(Option<Stamp>, PathBuf)>) -> Seen {
        let (first, last_base) = match info.first_last_segment {
            Some((first, last)) => (Some(segment_path(dir, first)), last),
            None => (None, 0),
        };
        let last = segment_path(dir, last_base);
        let last_stamp = before.filter(|(_, path)| *path == last).map(|(stamp, _)| stamp);
        let next = (info.end_offset > last_base).then(|| segment_path(dir, info.end_offset));
        Seen { start: info.start_offset, end: info.end_offset, first, last, last_stamp, next }
    }

    fn still(&self) -> bool {
        let Some(stamp) = &self.last_stamp else { return false };
        self.first.as_ref().is_none_or(|first| first.exists())
            && Stamp::of(&self.last) == *stamp
            && self.next.as_ref().is_none_or(|next| !next.exists())
    }
}

/// A writer this server holds: when it was last asked for, and its topic's id as it was opened.
struct Held {
    writer: PartitionWriter,
    used: Instant,
    topic_id: Option<TopicId>,
}

/// A partition's `(log start offset, high watermark)`, and its topic's id when that is known
/// without reading `topic.json`.
pub(crate) struct PartitionState {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) topic_id: Option<TopicId>,
}

/// Why a writer could not be had.
pub(crate) enum WriterError {
    /// Another process holds the partition's writer lock (retriable: it may let go).
    Locked(String),
    /// The topic or partition does not exist.
    Unknown,
    /// Anything else (I/O, damaged data).
    Other(String),
}

impl Broker {
    pub(crate) fn new(log: Log, config: ServerConfig, advertised: (String, i32)) -> Broker {
        // producer ids unique across restarts: milliseconds since the epoch, times 1000
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        Broker {
            log,
            config,
            advertised,
            writers: Mutex::new(HashMap::new()),
            producers: Producers::default(),
            groups: Coordinator::default(),
            proxies: Proxies::default(),
            appended: tokio::sync::Notify::new(),
            next_producer_id: AtomicI64::new(now.saturating_mul(1000)),
            bad_frames: AtomicU64::new(0),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh producer id for InitProducerId.
    pub(crate) fn new_producer_id(&self) -> i64 {
        self.next_producer_id.fetch_add(1, Ordering::Relaxed)
    }

    fn lock_writers(&self) -> MutexGuard<'_, HashMap<(String, u32), Held>> {
        self.writers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The writer of `topic`/`partition`, opened (and its lock taken) on first use and kept while it
    /// is used ([`Broker::release_idle`] lets it go after a quiet spell).
    pub(crate) fn writer(&self, topic: &str, partition: u32) -> Result<PartitionWriter, WriterError> {
        let key = (topic.to_string(), partition);
        if let Some(held) = self.lock_writers().get_mut(&key) {
            held.used = Instant::now();
            return Ok(held.writer.clone());
        }
        match self.log.partition_writer(topic, partition, None) {
            Ok(writer) => {
                // read with the partition's lock taken: the topic cannot be deleted while it is held
                let topic_id = self.log.topic_id(topic).ok().flatten();
                let held = Held { writer, used: Instant::now(), topic_id };
                Ok(self.lock_writers().entry(key).or_insert(held).writer.clone())
            }
            Err(LogError::Locked { what, holder }) => Err(WriterError::Locked(format!("{what} is held by {holder}"))),
            Err(LogError::TopicNotFound(_)) | Err(LogError::PartitionNotFound { .. }) => Err(WriterError::Unknown),
            Err(e) => Err(WriterError::Other(e.to_string())),
        }
    }

    /// Drops the writers of `topic` (before it is deleted), syncing them, and what its files said.
    pub(crate) fn release_topic(&self, topic: &str) {
        self.lock_seen().retain(|(t, _), _| t != topic);
        let mut writers = self.lock_writers();
        let keys: Vec<_> = writers.keys().filter(|(t, _)| t == topic).cloned().collect();
        for k in keys {
            if let Some(held) = writers.remove(&k) {
                if let Err(e) = held.writer.close() {
                    tracing::warn!("closing the writer of {}/{}: {e}", k.0, k.1);
                }
            }
        }
    }

    /// `(log start offset, high watermark)` of a partition: from its writer when this server holds
    /// it, otherwise from its files — read again only when a `stat` of three of them says they
    /// changed (Fetch asks for every partition on every long-poll round).
    pub(crate) fn offsets(&self, topic: &str, partition: u32) -> Result<(u64, u64), String> {
        self.partition_state(topic, partition).map(|s| (s.start, s.end))
    }

    /// [`offsets`](Self::offsets), and the topic's id when it is known without reading a file (this
    /// server holds the partition's writer, so the topic is the one its id names).
    pub(crate) fn partition_state(&self, topic: &str, partition: u32) -> Result<PartitionState, String> {
        let key = (topic.to_string(), partition);
        // (the writer is cloned out: its lock is not taken under the map's)
        let held = self.lock_writers().get(&key).map(|h| (h.writer.clone(), h.topic_id));
        if let Some((w, topic_id)) = held {
            let (start, end) = w.offsets();
            return Ok(PartitionState { start, end, topic_id });
        }
        let seen = self.lock_seen().get(&key).cloned();
        let last = match seen {
            Some(seen) if seen.still() => {
                return Ok(PartitionState { start: seen.start, end: seen.end, topic_id: None })
            }
            seen => seen.map(|s| s.last.clone()),
        };
        // Stamped before the files are read: an append while they are read makes the next call
        // read them again rather than trust what this one missed.
        let before = last.map(|last| (Stamp::of(&last), last));
        let dir = self.log.dir().join(topic).join(partition.to_string());
        let info = match partition_info(&dir, partition) {
            Ok(info) => info,
            Err(e) => {
                self.lock_seen().remove(&key); // gone, maybe: nothing of it is kept
                return Err(e.to_string());
            }
        };
        self.lock_seen().insert(key, Arc::new(Seen::of(&dir, &info, before)));
        Ok(PartitionState { start: info.start_offset, end: info.end_offset, topic_id: None })
    }

    fn lock_seen(&self) -> MutexGuard<'_, HashMap<(String, u32), Arc<Seen>>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The topic's config, creating it when auto-creation allows.
    pub(crate) fn topic_or_create(&self, topic: &str, allow: bool) -> Result<TopicConfig, LogError> {
        match self.log.topic_config(topic) {
            Err(LogError::TopicNotFound(_)) if allow && self.config.auto_create => {
                let config = TopicConfig { partitions: self.config.default_partitions, ..TopicConfig::default() };
                match self.log.create_topic(topic, &config) {
                    Ok(()) => tracing::info!("created topic `{topic}` ({} partitions)", config.partitions),
                    Err(LogError::TopicExists(_)) => {}
                    Err(e) => return Err(e),
                }
                self.log.topic_config(topic)
            }
            other => other,
        }
    }

    /// Syncs and closes every writer and lets go of the groups' partitions (graceful shutdown).
    pub(crate) fn close(&self) {
        self.proxies.close();
        let writers: Vec<_> = self.lock_writers().drain().collect();
        for ((t, p), held) in writers {
            if let Err(e) = held.writer.close() {
                tracing::error!("closing the writer of {t}/{p}: {e}");
            }
        }
    }

    /// Lets go of the writers nobody asked for in `idle`: synced and dropped, so their partitions'
    /// locks are free for `flowc produce` or `flowc run` beside this server (a Produce that comes
    /// later opens the writer again). A request still appending through one keeps it until it is
    /// done.
    pub(crate) fn release_idle(&self, idle: Duration) {
        let idle_ones: Vec<_> = {
            let mut writers = self.lock_writers();
            let keys: Vec<_> =
                writers.iter().filter(|(_, held)| held.used.elapsed() >= idle).map(|(k, _)| k.clone()).collect();
            keys.into_iter().filter_map(|k| writers.remove(&k).map(|held| (k, held.writer))).collect()
        };
        for ((t, p), w) in idle_ones {
            match w.sync() {
                Ok(()) => tracing::debug!("let go of the writer of {t}/{p} after {idle:?} without a Produce"),
                Err(e) => tracing::warn!("syncing the idle writer of {t}/{p}: {e}"),
            }
        }
    }

    /// Waits for an append or `max`, whichever comes first.
    pub(crate) async fn wait_append(&self, max: Duration) {
        let _ = tokio::time::timeout(max, self.appended.notified()).await;
    }
}

/// Wraps the broker for sharing.
pub(crate) type Shared = Arc<Broker>;

#[cfg(test)]
mod tests {
    use super::*;
    use flowc_runtime::log::{LogOptions, Record};

    #[test]
    fn offsets_of_a_partition_written_by_another_writer_follow_its_appends_rolls_and_deletions() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        log.create_topic("t", &TopicConfig { partitions: 1, ..TopicConfig::default() }).unwrap();
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            advertised: None,
            auto_create: false,
            default_partitions: 1,
            max_request_size: 1 << 20,
        };
        let broker = Broker::new(log, config, ("127.0.0.1".into(), 9092));
        let truth = || {
            let info = partition_info(&dir.path().join("t").join("0"), 0).unwrap();
            (info.start_offset, info.end_offset)
        };
        // Never written: no segment yet, and the first one is watched for.
        for _ in 0..3 {
            assert_eq!(broker.offsets("t", 0).unwrap(), (0, 0));
        }
        // Opened beside the broker, as another process's writer: the broker does not hold it.
        let other = Log::open(dir.path(), LogOptions::default()).unwrap();
        let writer = other.partition_writer("t", 0, None).unwrap();
        writer.append(&[Record::from_value(b"first".to_vec())]).unwrap();
        writer.flush().unwrap();
        assert_eq!(broker.offsets("t", 0).unwrap(), (0, 1), "the first record of a partition seen empty");
        let mut steps = 0;
        for round in 0..6u64 {
            for n in 1..4 {
                let records: Vec<Record> = (0..n).map(|i| Record::from_value(vec![b'x'; 10 + i])).collect();
                writer.append(&records).unwrap();
                writer.flush().unwrap();
                // Asked twice: the first read stamps, the second may answer from the stamps.
                for _ in 0..2 {
                    assert_eq!(broker.offsets("t", 0).unwrap(), truth(), "round {round}, {n} records");
                    steps += 1;
                }
            }
            match round % 3 {
                0 => writer.roll().unwrap(),
                1 => {
                    writer.roll().unwrap();
                    writer.delete_before(truth().1).map(|_| ()).unwrap();
                }
                _ => {}
            }
            assert_eq!(broker.offsets("t", 0).unwrap(), truth(), "after round {round}");
            assert_eq!(broker.offsets("t", 0).unwrap(), truth(), "after round {round}, again");
        }
        assert!(truth().0 > 0, "retention moved the start");
        assert_eq!(steps, 36);
        // The broker's own writer answers from memory, and agrees.
        writer.close().unwrap();
        let own = broker.writer("t", 0).ok().unwrap();
        own.append(&[Record::from_value(b"y".to_vec())]).unwrap();
        own.flush().unwrap();
        assert_eq!(broker.offsets("t", 0).unwrap(), truth());
    }
}
