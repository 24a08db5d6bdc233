//! The state every connection shares: the data directory, the partition writers this server holds,
//! the producers' sequence state, the consumer-group coordinator and the groups' stand-in members
//! in the data directory, and counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use flowc_runtime::log::{partition_info, Error as LogError, Log, PartitionWriter, TopicConfig};

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
    /// The writers this server holds, with when each was last asked for.
    writers: Mutex<HashMap<(String, u32), (PartitionWriter, Instant)>>,
    pub(crate) producers: Producers,
    pub(crate) groups: Coordinator,
    /// The consumer groups' members in the data directory, standing in for their Kafka members.
    pub(crate) proxies: Proxies,
    /// Woken after every append, so long-polling fetches look again at once.
    pub(crate) appended: tokio::sync::Notify,
    next_producer_id: AtomicI64,
    pub(crate) bad_frames: AtomicU64,
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
        }
    }

    /// A fresh producer id for InitProducerId.
    pub(crate) fn new_producer_id(&self) -> i64 {
        self.next_producer_id.fetch_add(1, Ordering::Relaxed)
    }

    fn lock_writers(&self) -> MutexGuard<'_, HashMap<(String, u32), (PartitionWriter, Instant)>> {
        self.writers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The writer of `topic`/`partition`, opened (and its lock taken) on first use and kept while it
    /// is used ([`Broker::release_idle`] lets it go after a quiet spell).
    pub(crate) fn writer(&self, topic: &str, partition: u32) -> Result<PartitionWriter, WriterError> {
        let key = (topic.to_string(), partition);
        if let Some((w, used)) = self.lock_writers().get_mut(&key) {
            *used = Instant::now();
            return Ok(w.clone());
        }
        match self.log.partition_writer(topic, partition, None) {
            Ok(w) => Ok(self.lock_writers().entry(key).or_insert((w, Instant::now())).0.clone()),
            Err(LogError::Locked { what, holder }) => Err(WriterError::Locked(format!("{what} is held by {holder}"))),
            Err(LogError::TopicNotFound(_)) | Err(LogError::PartitionNotFound { .. }) => Err(WriterError::Unknown),
            Err(e) => Err(WriterError::Other(e.to_string())),
        }
    }

    /// Drops the writers of `topic` (before it is deleted), syncing them.
    pub(crate) fn release_topic(&self, topic: &str) {
        let mut writers = self.lock_writers();
        let keys: Vec<_> = writers.keys().filter(|(t, _)| t == topic).cloned().collect();
        for k in keys {
            if let Some((w, _)) = writers.remove(&k) {
                if let Err(e) = w.close() {
                    tracing::warn!("closing the writer of {}/{}: {e}", k.0, k.1);
                }
            }
        }
    }

    /// `(log start offset, high watermark)` of a partition.
    pub(crate) fn offsets(&self, topic: &str, partition: u32) -> Result<(u64, u64), String> {
        let info = partition_info(&self.log.dir().join(topic).join(partition.to_string()), partition)
            .map_err(|e| e.to_string())?;
        let end = match self.lock_writers().get(&(topic.to_string(), partition)) {
            Some((w, _)) => w.next_offset().max(info.end_offset),
            None => info.end_offset,
        };
        Ok((info.start_offset, end))
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
        for ((t, p), (w, _)) in writers {
            if let Err(e) = w.close() {
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
                writers.iter().filter(|(_, (_, used))| used.elapsed() >= idle).map(|(k, _)| k.clone()).collect();
            keys.into_iter().filter_map(|k| writers.remove(&k).map(|(w, _)| (k, w))).collect()
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
