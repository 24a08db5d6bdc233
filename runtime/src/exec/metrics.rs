//! Counters, gauges and a batch-time histogram of one node, and the tap that copies its output to a
//! watcher: what the live table, `--metrics` (Prometheus) and `flowc tap` read while a run goes.
//!
//! Everything here is updated with relaxed atomics per batch (never per event), and read by whoever
//! asks; a tap that nobody opened costs one atomic load per batch.

use arrow_array::RecordBatch;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc;

/// Upper bounds (seconds) of the batch-time histogram's buckets; a last `+Inf` bucket is implied.
pub const BATCH_SECONDS_BOUNDS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// Counters of one node, shown live while the run goes and in the run's summary.
#[derive(Debug, Default)]
pub struct NodeMetrics {
    events_in: AtomicU64,
    events_out: AtomicU64,
    /// Bytes of record data sent on (sources, transforms, channels) or written (sinks).
    bytes: AtomicU64,
    errors: AtomicU64,
    /// Events a reader of the log has yet to read (consumer groups, `file` channels); 0 elsewhere.
    lag: AtomicU64,
    /// Per partition, for consumer groups: `(partition, lag)`.
    partition_lag: Mutex<Vec<(u32, u64)>>,
    /// Writes a sink tried again after a failure.
    retries: AtomicU64,
    /// Files a sink holds open.
    files_open: AtomicU64,
    /// Events a channel holds, and the most it holds (0: not a channel).
    fill: AtomicU64,
    capacity: AtomicU64,
    batch_time: BatchTime,
    /// Set once the node failed for good (retries exhausted, an error retrying cannot fix).
    failed: AtomicBool,
    tap: Tap,
}

impl NodeMetrics {
    pub fn add_in(&self, n: u64) {
        self.events_in.fetch_add(n, Ordering::Relaxed);
    }
    pub fn add_out(&self, n: u64) {
        self.events_out.fetch_add(n, Ordering::Relaxed);
    }
    pub fn add_bytes_out(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }
    pub fn set_lag(&self, n: u64) {
        self.lag.store(n, Ordering::Relaxed);
    }
    /// The lag of each partition a consumer group reads; the node's lag becomes their sum.
    pub fn set_partition_lag(&self, lags: &[(u32, u64)]) {
        self.set_lag(lags.iter().map(|(_, l)| *l).sum());
        let mut slot = self.partition_lag.lock().unwrap_or_else(|p| p.into_inner());
        slot.clear();
        slot.extend_from_slice(lags);
    }
    pub fn add_errors(&self, n: u64) {
        self.errors.fetch_add(n, Ordering::Relaxed);
    }
    pub fn add_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }
    pub fn set_files_open(&self, n: u64) {
        self.files_open.store(n, Ordering::Relaxed);
    }
    /// A channel's fill (events held) and capacity.
    pub fn set_fill(&self, held: u64, capacity: u64) {
        self.fill.store(held, Ordering::Relaxed);
        self.capacity.store(capacity, Ordering::Relaxed);
    }
    /// A channel's fill alone, its capacity set before.
    pub fn set_held(&self, held: u64) {
        self.fill.store(held, Ordering::Relaxed);
    }
    /// Records how long one batch took (a sink's write, a transform's evaluation).
    pub fn observe_batch(&self, took: Duration) {
        self.batch_time.observe(took);
    }
    /// Marks the node as failed for good: `/health` answers 503 from now on.
    pub fn set_failed(&self) {
        self.failed.store(true, Ordering::Relaxed);
    }

    pub fn events_in(&self) -> u64 {
        self.events_in.load(Ordering::Relaxed)
    }
    pub fn events_out(&self) -> u64 {
        self.events_out.load(Ordering::Relaxed)
    }
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    pub fn lag(&self) -> u64 {
        self.lag.load(Ordering::Relaxed)
    }
    pub fn partition_lag(&self) -> Vec<(u32, u64)> {
        self.partition_lag.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
    pub fn files_open(&self) -> u64 {
        self.files_open.load(Ordering::Relaxed)
    }
    /// `(held, capacity)` of a channel; `None` for other nodes.
    pub fn fill(&self) -> Option<(u64, u64)> {
        let capacity = self.capacity.load(Ordering::Relaxed);
        (capacity > 0).then(|| (self.fill.load(Ordering::Relaxed), capacity))
    }
    pub fn batch_time(&self) -> BatchTimes {
        self.batch_time.snapshot()
    }
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
    /// Taps open on the node's output.
    pub fn taps(&self) -> usize {
        self.tap.open.load(Ordering::Acquire)
    }

    /// Starts copying the batches the node emits into a queue of `room` batches; a batch that finds
    /// the queue full is not copied (the watcher misses it, the pipeline never waits for it). The
    /// tap closes when the receiver is dropped.
    pub fn tap(&self, room: usize) -> mpsc::Receiver<RecordBatch> {
        let (tx, rx) = mpsc::channel(room.max(1));
        let mut taps = self.tap.senders.lock().unwrap_or_else(|p| p.into_inner());
        // Watchers that went away since the last batch are forgotten here too.
        taps.retain(|tx| !tx.is_closed());
        taps.push(tx);
        self.tap.open.store(taps.len(), Ordering::Release);
        rx
    }

    /// Hands a copy of `batch` to every open tap (cheap: Arrow buffers are shared, not copied).
    pub(crate) fn tapped(&self, batch: &RecordBatch) {
        if self.tap.open.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut taps = self.tap.senders.lock().unwrap_or_else(|p| p.into_inner());
        taps.retain(|tx| !matches!(tx.try_send(batch.clone()), Err(mpsc::error::TrySendError::Closed(_))));
        self.tap.open.store(taps.len(), Ordering::Release);
    }
}

/// The watchers of a node's output.
#[derive(Debug, Default)]
struct Tap {
    open: AtomicUsize,
    senders: Mutex<Vec<mpsc::Sender<RecordBatch>>>,
}

/// A histogram of batch times: a count per bucket of [`BATCH_SECONDS_BOUNDS`] plus `+Inf`, and the
/// sum in microseconds.
#[derive(Debug, Default)]
struct BatchTime {
    buckets: [AtomicU64; BATCH_SECONDS_BOUNDS.len() + 1],
    sum_micros: AtomicU64,
}

impl BatchTime {
    fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = BATCH_SECONDS_BOUNDS.iter().position(|b| seconds <= *b).unwrap_or(BATCH_SECONDS_BOUNDS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    fn snapshot(&self) -> BatchTimes {
        BatchTimes {
            per_bucket: self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect(),
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// A reading of a node's batch-time histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchTimes {
    /// Batches per bucket (not cumulative): one per bound of [`BATCH_SECONDS_BOUNDS`], then `+Inf`.
    pub per_bucket: Vec<u64>,
    pub sum_seconds: f64,
}

impl BatchTimes {
    pub fn count(&self) -> u64 {
        self.per_bucket.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, StringArray};
    use std::sync::Arc;

    fn batch(n: usize) -> RecordBatch {
        let values: ArrayRef = Arc::new(StringArray::from(vec!["x"; n]));
        RecordBatch::try_from_iter([("line", values)]).unwrap()
    }

    #[test]
    fn batch_times_fall_in_their_buckets() {
        let m = NodeMetrics::default();
        m.observe_batch(Duration::from_micros(300));
        m.observe_batch(Duration::from_millis(3));
        m.observe_batch(Duration::from_secs(9));
        let t = m.batch_time();
        assert_eq!(t.count(), 3);
        assert_eq!(t.per_bucket[0], 1);
        assert_eq!(t.per_bucket[3], 1);
        assert_eq!(t.per_bucket[BATCH_SECONDS_BOUNDS.len()], 1);
        assert!((t.sum_seconds - 9.0033).abs() < 1e-6, "{t:?}");
    }

    #[test]
    fn a_full_tap_misses_batches_and_a_dropped_one_closes() {
        let m = NodeMetrics::default();
        m.tapped(&batch(1)); // nobody watching: nothing kept
        let mut rx = m.tap(2);
        for n in 1..=3 {
            m.tapped(&batch(n));
        }
        assert_eq!(rx.try_recv().unwrap().num_rows(), 1);
        assert_eq!(rx.try_recv().unwrap().num_rows(), 2);
        assert!(rx.try_recv().is_err(), "the third batch found the tap full");
        drop(rx);
        m.tapped(&batch(4));
        assert_eq!(m.tap.open.load(Ordering::Acquire), 0);
    }

    #[test]
    fn partition_lag_sums_into_the_node_lag() {
        let m = NodeMetrics::default();
        m.set_partition_lag(&[(0, 5), (1, 7)]);
        assert_eq!(m.lag(), 12);
        assert_eq!(m.partition_lag(), vec![(0, 5), (1, 7)]);
    }
}
