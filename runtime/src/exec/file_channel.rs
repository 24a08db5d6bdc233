//! The durable `file` channel, on the embedded log.
//!
//! The channel's log is a data directory of its own (`dir`, default `<data dir>/channels/<name>`)
//! holding one topic, `events`, of one partition, and one consumer group, `channel`, whose committed
//! offset is the channel's read position. Each record is one event: the row as a JSON object (the
//! same encoding topics use), decoded on the way out against the channel's checked stream type.
//!
//! - A put is appended (and synced per `fsync`: `always` syncs before the append returns) before the
//!   upstream batch is released, so a source advances only past events that are in the log.
//! - The reader hands what it polls to the sinks with a fresh acknowledgement and commits the offset
//!   (an fdatasync'd consumer-group commit) only once every sink wrote the batch. A restart resumes
//!   from the committed offset: what was appended but not committed is delivered again (at least
//!   once; duplicates possible, nothing lost).
//! - `capacity`: the writer waits while the log holds that many events not yet committed.
//! - Once the committed offset has passed a whole segment, the segment is deleted (after each
//!   commit, and on open for what a previous run committed last), so the directory holds about
//!   `capacity` events plus one segment, however long the run.
//! - The channel ends once its input has ended and the reader has delivered everything in the log,
//!   so SIGINT/SIGTERM drain it as they drain a memory channel.

use super::batch::{lines_schema, row_json};
use super::connector::{blocking, Ack, AckWait, Envelope, NodeMetrics, Output};
use super::options::Opts;
use super::transform::parse_json_values;
use super::RunError;
use crate::log::{
    Consumer, ConsumerOptions, FsyncPolicy, Log, LogOptions, OffsetReset, PartitionWriter, Record, TopicConfig,
};
use arrow_array::builder::StringBuilder;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
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
        Ok(FileChannel { dir, writer, consumer, schema, capacity, batch_size })
    }

    /// Runs the channel: appends its input, delivers the log to `output`.
    pub(crate) async fn run(
        self,
        input: mpsc::Receiver<Envelope>,
        output: Output,
        metrics: Arc<NodeMetrics>,
    ) -> Result<(), RunError> {
        let FileChannel { dir, writer, consumer, schema, capacity, batch_size } = self;
        let committed = consumer.positions().first().map_or(0, |(_, o)| *o);
        let (committed_tx, committed_rx) = watch::channel(committed);
        let (done_tx, done_rx) = watch::channel(false);
        let (appended_tx, appended_rx) = watch::channel(writer.next_offset());
        let segments = writer.clone();
        let write = write_log(writer, input, capacity, committed_rx, appended_tx, done_tx, metrics.clone());
        let read =
            read_log(consumer, segments, schema, batch_size, output, committed_tx, done_rx, appended_rx, metrics);
        // Two tasks, so a sync on the writer's side never holds up the reader's side, and back.
        let write = tokio::spawn(write);
        let r = read.await;
        let w = write.await.unwrap_or_else(|e| Err(RunError::internal(format!("the channel's writer failed: {e}"))));
        w.and(r).map_err(|e| RunError { message: format!("channel log {}: {}", dir.display(), e.message), ..e })
    }
}

/// Appends every batch (one JSON record per row) and releases it upstream once the append returned.
async fn write_log(
    writer: PartitionWriter,
    mut input: mpsc::Receiver<Envelope>,
    capacity: u64,
    mut committed: watch::Receiver<u64>,
    appended: watch::Sender<u64>,
    done: watch::Sender<bool>,
    metrics: Arc<NodeMetrics>,
) -> Result<(), RunError> {
    let mut result = Ok(());
    metrics.set_fill(0, capacity);
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
        let records: Vec<Record> = (0..env.batch.num_rows())
            .map(|row| Record {
                key: None,
                value: Some(row_json(&env.batch, row).to_string().into_bytes()),
                headers: Vec::new(),
                timestamp: None,
            })
            .collect();
        match blocking(|| writer.append(&records)) {
            Ok(info) => {
                let _ = appended.send(info.next_offset);
            }
            Err(err) => {
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

/// Polls the log from the committed offset and hands each batch to the sinks without waiting for the
/// ones before it to be written (a sink may hold a batch until its file is finished); offsets are
/// committed in order as the sinks write them.
#[allow(clippy::too_many_arguments)]
async fn read_log(
    mut consumer: Consumer,
    segments: PartitionWriter,
    schema: SchemaRef,
    batch_size: usize,
    output: Output,
    committed: watch::Sender<u64>,
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
    let commit = |consumer: &mut Consumer, position: u64| -> Result<(), RunError> {
        // The commit is durable before any segment it covers goes.
        blocking(|| consumer.commit_at(0, position).and_then(|()| segments.delete_before(position)))
            .map_err(log_error)?;
        let _ = committed.send(position);
        Ok(())
    };
    loop {
        // What the channel holds that its sinks have not written yet.
        let held = appended.borrow().saturating_sub(*committed.borrow());
        metrics.set_lag(held);
        metrics.set_held(held);
        // Commit whatever the sinks have written meanwhile (the last position is enough).
        let mut last = None;
        while let Ok(report) = written.try_recv() {
            in_flight -= 1;
            match report {
                Some(position) => last = Some(position),
                // A sink failed: the run is stopping; the next run reads from the last commit.
                None => return Ok(()),
            }
        }
        if let Some(position) = last {
            commit(&mut consumer, position)?;
        }
        // Read the flag before polling: if it was set, everything was appended before this poll.
        let writer_done = *done.borrow();
        let position = consumer.positions().first().map_or(0, |(_, o)| *o);
        if position >= *appended.borrow_and_update() {
            if writer_done && in_flight == 0 {
                return Ok(());
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
                Some(Some(position)) => commit(&mut consumer, position)?,
                Some(None) | None => return Ok(()),
            }
            continue;
        }
        let records = blocking(|| consumer.poll(batch_size, Duration::from_millis(100))).map_err(log_error)?;
        if records.is_empty() {
            continue;
        }
        // The values go straight into one string column (no copy per record), freed before decoding.
        let bytes = records.iter().map(|r| r.value.as_ref().map_or(0, Vec::len)).sum();
        let mut values = StringBuilder::with_capacity(records.len(), bytes);
        for r in &records {
            values.append_value(String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()));
        }
        drop(records);
        let lines = RecordBatch::try_new(lines_schema(), vec![Arc::new(values.finish())])
            .map_err(|e| RunError::internal(format!("a batch of log records: {e}")))?;
        let (batch, rejected) = parse_json_values(&lines, &schema)?;
        metrics.add_errors(rejected);
        let (ack, wait) = Ack::new();
        if output.send(batch, ack).await.is_err() {
            // Everything downstream is gone (the run is failing); the next run reads this again.
            return Ok(());
        }
        let after = consumer.positions().first().map_or(0, |(_, o)| *o);
        if sent.send((wait, after)).is_err() {
            return Ok(());
        }
        in_flight += 1;
    }
}
