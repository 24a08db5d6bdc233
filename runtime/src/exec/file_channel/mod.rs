//! The durable `file` channel, on the embedded log.
//!
//! The channel's log is a data directory of its own (`dir`, default `<data dir>/channels/<name>`)
//! holding one topic, `events`, of one partition, and one consumer group, `channel`, whose committed
//! offset is the channel's read position. Each record is one event. A row of untyped lines (one
//! string field `line`) is stored as the line's bytes, marked by a record header `line` (null
//! value); any other row as a JSON object (the same encoding topics use), decoded on the way out
//! against the channel's checked stream type. Records without the header are JSON, which is how
//! every record of a channel log written before the header existed reads back, lines included.
//!
//! - A put is appended (and synced per `fsync`: `always` syncs before the append returns) before the
//!   upstream batch is released, so a source advances only past events that are in the log.
//! - The reader hands what it reads to the sinks with a fresh acknowledgement and commits the offset
//!   (an fdatasync'd consumer-group commit, made by a task of its own so the reader goes on meanwhile)
//!   only once every sink wrote the batch. A restart resumes from the committed offset: what was
//!   appended but not committed is delivered again (at least once; duplicates possible, nothing lost).
//! - While the reader keeps up, it takes each batch the writer has just appended (and synced, per
//!   `fsync`) from memory rather than reading it back from the segment ([`handoff`]); behind by more
//!   than the hand-over holds, and after a restart, it reads the log.
//! - `capacity`: the writer waits while the log holds that many events not yet committed.
//! - Once the committed offset has passed a whole segment, the segment is deleted (after each
//!   commit, and on open for what a previous run committed last), so the directory holds about
//!   `capacity` events plus one segment, however long the run.
//! - The channel ends once its input has ended and the reader has delivered everything in the log,
//!   so SIGINT/SIGTERM drain it as they drain a memory channel.

mod codec;
mod handoff;

use super::connector::{blocking, Ack, AckWait, Envelope, NodeMetrics, Output};
use super::options::Opts;
use super::{RunError, RETRY_FIRST_PAUSE, RETRY_LONGEST_PAUSE};
use crate::log::{
    Consumer, ConsumerOptions, FsyncPolicy, Log, LogOptions, OffsetReset, PartitionCommits, PartitionWriter,
    TopicConfig,
};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use codec::{encode_rows, line_header, Decoder};
use handoff::{Handoff, HANDOFF_BYTES};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The topic inside a channel's log directory.
const TOPIC: &str = "events";
/// The consumer group whose committed offset is the channel's read position.
const GROUP: &str = "channel";

fn log_error(e: crate::log::Error) -> RunError {
    RunError::io(e.to_string())
}

/// A file channel, opened: its log's writer and reader, and its limits.
pub(crate) struct FileChannel {
    dir: PathBuf,
    writer: PartitionWriter,
    consumer: Consumer,
    schema: SchemaRef,
    capacity: u64,
    batch_size: usize,
    handoff_bytes: usize,
}

/// A file channel's sizes: `capacity`, `transaction_capacity`, `segment_size`, and the bytes its
/// writer hands over in memory.
#[derive(Clone, Copy, Debug)]
struct Limits {
    capacity: u64,
    batch_size: usize,
    segment_bytes: u64,
    handoff_bytes: usize,
}

impl FileChannel {
    /// Opens (creating when missing) the channel's log: the writer first, so a torn tail left by a
    /// crash is cut before the reader starts from the committed offset.
    pub(crate) fn open(
        name: &str,
        opts: &Opts<'_>,
        schema: SchemaRef,
        base_dir: &Path,
        data_dir: &Path,
    ) -> Result<FileChannel, RunError> {
        let dir = match opts.string("dir")? {
            Some(d) => base_dir.join(d),
            None => data_dir.join("channels").join(name),
        };
        let policy = match opts.string_or_default("fsync")?.as_str() {
            "interval" => FsyncPolicy::Interval(opts.duration_or_default("fsync_interval")?),
            word => FsyncPolicy::try_from(word.to_string()).map_err(RunError::config)?,
        };
        let capacity = opts.int_or_default("capacity")?.max(1) as u64;
        let batch_size = opts.int_or_default("transaction_capacity")?.clamp(1, 100_000) as usize;
        let segment_bytes = opts.size_or_default("segment_size")?.clamp(1024, u64::from(u32::MAX));
        let limits = Limits { capacity, batch_size, segment_bytes, handoff_bytes: HANDOFF_BYTES };
        FileChannel::open_dir(dir, policy, limits, schema)
    }

    /// [`open`](Self::open) on `dir`, the options read.
    fn open_dir(dir: PathBuf, policy: FsyncPolicy, limits: Limits, schema: SchemaRef) -> Result<FileChannel, RunError> {
        let Limits { capacity, batch_size, segment_bytes, handoff_bytes } = limits;
        let open = || -> Result<(PartitionWriter, Consumer), crate::log::Error> {
            let log = Log::open(&dir, LogOptions { create: true })?;
            if !log.topics()?.iter().any(|t| t == TOPIC) {
                // Nothing is deleted by age or size: events stay until they are delivered.
                let config = TopicConfig {
                    partitions: 1,
                    retention_ms: None,
                    retention_bytes: None,
                    segment_bytes,
                    fsync: policy,
                    ..TopicConfig::default()
                };
                log.create_topic(TOPIC, &config)?;
            }
            let writer = log.partition_writer(TOPIC, 0, Some(policy))?;
            let consumer = log.consumer(
                TOPIC,
                ConsumerOptions {
                    group: Some(GROUP.into()),
                    reset: OffsetReset::Earliest,
                    client_id: "flowc-run".into(),
                    ..ConsumerOptions::default()
                },
            )?;
            Ok((writer, consumer))
        };
        let (writer, consumer) = open().map_err(|e| RunError::io(format!("channel log {}: {e}", dir.display())))?;
        if consumer.assignment() != [0] {
            return Err(RunError::io(format!(
                "channel log {} is being read by another process; a file channel has one reader",
                dir.display()
            )));
        }
        // What the last run committed after its writer closed.
        let committed = consumer.positions().first().map_or(0, |(_, o)| *o);
        writer.delete_before(committed).map_err(|e| RunError::io(format!("channel log {}: {e}", dir.display())))?;
        Ok(FileChannel { dir, writer, consumer, schema, capacity, batch_size, handoff_bytes })
    }

    /// Runs the channel: appends its input, delivers the log to `output`.
    pub(crate) async fn run(
        self,
        input: mpsc::Receiver<Envelope>,
        output: Output,
        metrics: Arc<NodeMetrics>,
    ) -> Result<(), RunError> {
        let FileChannel { dir, writer, mut consumer, schema, capacity, batch_size, handoff_bytes } = self;
        let committed = consumer.positions().first().map_or(0, |(_, o)| *o);
        let commits = consumer
            .take_commits(0)
            .ok_or_else(|| RunError::internal(format!("channel log {}: no commits to take", dir.display())))?;
        let (committed_tx, committed_rx) = watch::channel(committed);
        let (done_tx, done_rx) = watch::channel(false);
        let (appended_tx, appended_rx) = watch::channel(writer.next_offset());
        let (written_tx, written_rx) = watch::channel(committed);
        let handoff = Arc::new(Handoff::new(handoff_bytes));
        let segments = writer.clone();
        let label = dir.display().to_string();
        let write = write_log(
            writer,
            input,
            capacity,
            committed_rx,
            appended_tx,
            done_tx,
            metrics.clone(),
            label,
            (handoff.clone(), schema.clone()),
        );
        let reader = Reader { consumer, handoff, schema, batch_size, position: committed, stale: false };
        let read = read_log(reader, output, written_tx, committed_tx.subscribe(), done_rx, appended_rx, metrics);
        let commit = commit_log(commits, segments, written_rx, committed_tx);
        // Three tasks, so a sync on the writer's side never holds up the reader's side, nor a commit
        // the reading, and back.
        let write = tokio::spawn(write);
        let commit = tokio::spawn(commit);
        let r = read.await;
        let w = write.await.unwrap_or_else(|e| Err(RunError::internal(format!("the channel's writer failed: {e}"))));
        let c = commit.await.unwrap_or_else(|e| Err(RunError::internal(format!("the channel's commits failed: {e}"))));
        w.and(r).and(c).map_err(|e| RunError { message: format!("channel log {}: {}", dir.display(), e.message), ..e })
    }
}

/// Appends every batch (one record per row, see [`encode_rows`]) and releases it upstream once the
/// append returned. An append that fails for a reason that can pass (a full disk, a file size limit,
/// an I/O error) is tried again with a doubling pause, as sinks retry, holding its batch unreleased so
/// the source stops advancing; the log truncates what a failed write left, so nothing is torn.
#[allow(clippy::too_many_arguments)]
async fn write_log(
    writer: PartitionWriter,
    mut input: mpsc::Receiver<Envelope>,
    capacity: u64,
    mut committed: watch::Receiver<u64>,
    appended: watch::Sender<u64>,
    done: watch::Sender<bool>,
    metrics: Arc<NodeMetrics>,
    label: String,
    (handoff, schema): (Arc<Handoff>, SchemaRef),
) -> Result<(), RunError> {
    let mut result = Ok(());
    metrics.set_fill(0, capacity);
    // Reused from batch to batch (see `encode_rows`).
    let mut json = Vec::new();
    let line = line_header();
    while let Some(env) = input.recv().await {
        let rows = env.batch.num_rows() as u64;
        metrics.add_in(rows);
        if result.is_err() {
            env.ack.fail();
            continue;
        }
        // Full: wait for the reader to commit. A reader that is gone (the run is failing) takes nothing.
        let next = writer.next_offset();
        if committed.wait_for(|c| next.saturating_sub(*c) < capacity).await.is_err() {
            env.ack.fail();
            metrics.add_errors(rows);
            continue;
        }
        let records = encode_rows(&env.batch, &mut json, &line);
        let mut pause = RETRY_FIRST_PAUSE;
        let mut attempt = 1u32;
        let appended_now = loop {
            match blocking(|| writer.append_borrowed(&records)) {
                Err(err) if passes(&err) => {
                    tracing::warn!(
                        "channel log {label}: cannot append (attempt {attempt}, again in {pause:?}; \
                         nothing more is acknowledged until it can): {err}"
                    );
                    metrics.add_retry();
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RETRY_LONGEST_PAUSE);
                    attempt += 1;
                }
                done => break done,
            }
        };
        drop(records);
        match appended_now {
            Ok(info) => {
                if attempt > 1 {
                    tracing::info!("channel log {label}: appending again after {} failed attempts", attempt - 1);
                }
                // Handed over before the reader can learn it was appended: taken from memory.
                // The channel's schema on the same columns (a batch of another shape is not kept).
                if let Ok(batch) = RecordBatch::try_new(schema.clone(), env.batch.columns().to_vec()) {
                    handoff.push(info.base_offset, batch);
                }
                let _ = appended.send(info.next_offset);
            }
            Err(err) => {
                tracing::error!("channel log {label}: cannot append, the channel stops taking events: {err}");
                env.ack.fail();
                metrics.add_errors(rows);
                result = Err(log_error(err));
            }
        }
        // Dropping the envelope releases the batch towards its source: it is in the log.
        drop(env);
    }
    let closed = blocking(|| writer.close()).map_err(log_error);
    let _ = done.send(true);
    result.and(closed)
}

/// Whether an append failed for a reason that can pass by itself: an I/O error other than a refusal
/// (permission, read-only file system). A writer stopped by a failed sync, or a record too large,
/// stays failed.
fn passes(err: &crate::log::Error) -> bool {
    use std::io::ErrorKind as K;
    match err {
        crate::log::Error::Io { source, .. } => {
            !matches!(source.kind(), K::PermissionDenied | K::ReadOnlyFilesystem | K::InvalidFilename)
        }
        _ => false,
    }
}

/// Where the channel's reader is: the log's consumer, the writer's hand-over, the next offset.
struct Reader {
    consumer: Consumer,
    handoff: Arc<Handoff>,
    schema: SchemaRef,
    batch_size: usize,
    /// The offset of the next event to deliver.
    position: u64,
    /// Whether the consumer is behind `position` (what it skipped came from the hand-over).
    stale: bool,
}

impl Reader {
    /// The next batch from `position` on (at most `batch_size` events), from the hand-over when it
    /// holds `position`, else read from the log (records that do not decode are counted as errors);
    /// `None` if the log had nothing yet.
    fn next(&mut self, metrics: &NodeMetrics) -> Result<Option<RecordBatch>, RunError> {
        if let Some(batch) = self.handoff.take(self.position, self.batch_size) {
            self.position += batch.num_rows() as u64;
            self.stale = true;
            return Ok(Some(batch));
        }
        if self.stale {
            let position = self.position;
            blocking(|| self.consumer.seek(0, position)).map_err(log_error)?;
            self.stale = false;
        }
        let (consumer, schema) = (&mut self.consumer, &self.schema);
        let mut decoder = Decoder::new(schema, self.batch_size.min(10_000));
        let polled =
            blocking(|| consumer.poll_with(self.batch_size, Duration::from_millis(100), |_, r| decoder.push(r)))
                .map_err(log_error)?;
        self.position = consumer.positions().first().map_or(self.position, |(_, o)| *o);
        if polled == 0 {
            return Ok(None);
        }
        let (batch, rejected) = decoder.finish(schema)?;
        metrics.add_errors(rejected);
        Ok(Some(batch))
    }
}

/// Hands each batch to the sinks without waiting for the ones before it to be written (a sink may
/// hold a batch until its file is finished), and reports to [`commit_log`], in order, the position
/// after each batch every sink wrote.
#[allow(clippy::too_many_arguments)]
async fn read_log(
    mut reader: Reader,
    output: Output,
    written_to: watch::Sender<u64>,
    committed: watch::Receiver<u64>,
    done: watch::Receiver<bool>,
    mut appended: watch::Receiver<u64>,
    metrics: Arc<NodeMetrics>,
) -> Result<(), RunError> {
    // Batches sent, in order, with the position after each; the waiter reports each one written
    // (`Some(position)`) or failed (`None`, and nothing after it counts).
    let (sent, mut to_wait) = mpsc::unbounded_channel::<(AckWait, u64)>();
    let (written_tx, mut written) = mpsc::unbounded_channel::<Option<u64>>();
    tokio::spawn(async move {
        while let Some((wait, position)) = to_wait.recv().await {
            let ok = wait.wait().await;
            if written_tx.send(ok.then_some(position)).is_err() || !ok {
                return;
            }
        }
    });
    let mut in_flight = 0usize;
    let result = loop {
        // What the channel holds that its sinks have not written yet.
        let held = appended.borrow().saturating_sub(*committed.borrow());
        metrics.set_lag(held);
        metrics.set_held(held);
        // Hand on for commit whatever the sinks have written meanwhile (the last position is enough).
        let mut last = None;
        let mut failed = false;
        while let Ok(report) = written.try_recv() {
            in_flight -= 1;
            match report {
                Some(position) => last = Some(position),
                None => failed = true,
            }
        }
        if let Some(position) = last {
            let _ = written_to.send(position);
        }
        // A sink failed: the run is stopping; the next run reads from the last commit.
        if failed || written_to.is_closed() {
            break Ok(());
        }
        // Read the flag before looking: if it was set, everything was appended before this look.
        let writer_done = *done.borrow();
        if reader.position >= *appended.borrow_and_update() {
            if writer_done && in_flight == 0 {
                break Ok(());
            }
            // Nothing new to read: wait for an append, a batch written, or the writer's end.
            let report = if writer_done {
                written.recv().await
            } else {
                tokio::select! {
                    report = written.recv() => report,
                    _ = appended.changed() => continue,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            };
            in_flight = in_flight.saturating_sub(1);
            match report {
                Some(Some(position)) => {
                    let _ = written_to.send(position);
                }
                Some(None) | None => break Ok(()),
            }
            continue;
        }
        let batch = match reader.next(&metrics) {
            Ok(Some(batch)) => batch,
            Ok(None) => continue,
            Err(e) => break Err(e),
        };
        let (ack, wait) = Ack::new();
        if output.send(batch, ack).await.is_err() {
            // Everything downstream is gone (the run is failing); the next run reads this again.
            break Ok(());
        }
        if sent.send((wait, reader.position)).is_err() {
            break Ok(());
        }
        in_flight += 1;
    };
    reader.handoff.clear();
    result
}

/// Commits, as the reader reports them, the positions every sink has written up to (the newest one
/// when several came during a commit), then deletes the segments wholly before each. Ends once the
/// reader has ended and its last position is committed.
async fn commit_log(
    mut commits: PartitionCommits,
    segments: PartitionWriter,
    mut written: watch::Receiver<u64>,
    committed: watch::Sender<u64>,
) -> Result<(), RunError> {
    while written.changed().await.is_ok() {
        let position = *written.borrow_and_update();
        // The commit is durable before any segment it covers goes.
        blocking(|| commits.commit(position).and_then(|()| segments.delete_before(position).map(drop)))
            .map_err(log_error)?;
        let _ = committed.send(position);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::batch::{lines_batch, lines_schema};
    use crate::exec::file_channel::codec::tests::lines_of;

    /// Runs a channel over `dir` on `batches` of lines, its sink acknowledging every batch; returns
    /// the lines delivered, in order.
    async fn run_channel(dir: &Path, batches: &[Vec<String>], handoff_bytes: usize) -> Vec<String> {
        let limits = Limits { capacity: 100_000, batch_size: 300, segment_bytes: 16 << 10, handoff_bytes };
        let channel = FileChannel::open_dir(dir.to_path_buf(), FsyncPolicy::Never, limits, lines_schema()).unwrap();
        let (in_tx, in_rx) = mpsc::channel(2);
        let (out_tx, mut out_rx) = mpsc::channel(2);
        let metrics = Arc::new(NodeMetrics::default());
        let output = Output { targets: vec![out_tx], metrics: metrics.clone() };
        let run = tokio::spawn(channel.run(in_rx, output, metrics));
        let feed = batches.to_vec();
        let feed = tokio::spawn(async move {
            for lines in feed {
                let (ack, wait) = Ack::new();
                in_tx.send(Envelope { batch: lines_batch(&lines), ack }).await.unwrap();
                drop(wait);
            }
        });
        let mut got = Vec::new();
        while let Some(env) = out_rx.recv().await {
            assert!(env.batch.num_rows() <= 300, "a take holds at most `transaction_capacity` events");
            got.extend(lines_of(&env.batch));
            // The sink is slow at first, so the writer runs ahead of what the hand-over holds.
            if got.len() < 2_000 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        feed.await.unwrap();
        run.await.unwrap().unwrap();
        got
    }

    /// Batches from the writer's hand-over and from the log, mixed: every line once, in order, and
    /// all of them committed (a second run over the same log delivers nothing again).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reader_behind_the_hand_over_reads_the_log_and_catches_up_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let batches: Vec<Vec<String>> =
            (0..40).map(|b| (0..250).map(|i| format!("line {b} {i} {}", "x".repeat(i % 50))).collect()).collect();
        let want: Vec<String> = batches.concat();
        // Room for about two batches in memory.
        let two = 2 * lines_batch(&batches[0]).get_array_memory_size() + 1;
        assert_eq!(run_channel(dir.path(), &batches, two).await, want);
        assert_eq!(run_channel(dir.path(), &[], two).await, Vec::<String>::new());
        // Nothing in memory: everything read back from the log, the same.
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(run_channel(dir.path(), &batches, 0).await, want);
    }
}
