//! Topics of the embedded log inside a pipeline: a topic node appends what flows into it (each event a
//! JSON record, keyed by the topic's `key` field, so the console tools read the same records); a
//! `topic -> group "G"` node consumes it as consumer group G and hands each partition's records to one
//! of the group's members (a group shares the topic's partitions; every group sees every record). A group's offsets are
//! committed once the member wrote the batch. When every writer of the topic in this program has ended
//! and a group has read to the end, the group ends too; a topic written only from outside (`flowc
//! produce`) is followed until the run is stopped.
//!
//! The `topic` source kind is the same consumption with all records to the source's downstream
//! nodes; the `topic` sink kind hands its batches to the topic's node (one producer per topic: the
//! log's partitions take one writer each), tagged with its own `key` when it names one.

use super::batch::{is_lines, lines_batch, row_json, value_text};
use super::connector::{blocking, Ack, Envelope, NodeMetrics, Output, Shutdown};
use super::options::Opts;
use super::transform::parse_json_values;
use super::RunError;
use crate::log::{ConsumerOptions, FsyncPolicy, Log, LogOptions, OffsetReset, Record, TopicConfig};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use flowc_compiler::builtins::ParamSig;
use flowc_compiler::graph::{OptionMap, OptionValue};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

fn log_error(e: crate::log::Error) -> RunError {
    RunError::io(e.to_string())
}

/// Opens the data directory and creates the topic from its declared options when it does not exist.
pub(crate) fn ensure_topic(
    data_dir: &Path,
    name: &str,
    options: &OptionMap,
    params: &[ParamSig],
) -> Result<Option<String>, RunError> {
    let opts = Opts::new(name, options, params);
    if opts.get("brokers").is_some() {
        return Err(RunError {
            kind: super::ErrorKind::Unsupported,
            message: "bound to an external Kafka cluster (`brokers`), which `flowc run` does not reach yet; \
                      without `brokers` the topic lives in the embedded log under the data directory"
                .to_string(),
        });
    }
    let log = Log::open(data_dir, LogOptions { create: true }).map_err(log_error)?;
    let exists = log.topics().map_err(log_error)?.iter().any(|t| t == name);
    if !exists {
        let mut config = TopicConfig::default();
        if let Some(n) = opts.int("partitions")? {
            config.partitions = n.clamp(1, u32::MAX as i64) as u32;
        }
        if let Some(OptionValue::DurationMs(ms)) = opts.get("retention") {
            config.retention_ms = Some(ms);
        }
        if let Some(bytes) = opts.size("retention_bytes")? {
            config.retention_bytes = Some(bytes);
        }
        if let Some(OptionValue::Word(w) | OptionValue::Str(w)) = opts.get("fsync") {
            let policy = match (w.as_str(), opts.duration("fsync_interval")?) {
                ("interval", Some(d)) => FsyncPolicy::Interval(d),
                (word, _) => FsyncPolicy::try_from(word.to_string()).map_err(RunError::config)?,
            };
            config.fsync = policy;
        }
        log.create_topic(name, &config).map_err(log_error)?;
    }
    let key = match opts.get("key") {
        Some(OptionValue::Word(k) | OptionValue::Str(k)) => Some(k),
        _ => None,
    };
    Ok(key)
}

/// Appends every batch to the topic; once its input has ended, says so on `done`.
pub(crate) async fn write_topic(
    data_dir: PathBuf,
    topic: String,
    key: Option<String>,
    mut input: mpsc::Receiver<Envelope>,
    metrics: Arc<NodeMetrics>,
    done: watch::Sender<bool>,
) -> Result<(), RunError> {
    let log = Log::open(&data_dir, LogOptions { create: true }).map_err(log_error)?;
    let mut producer = log.producer(&topic, None).map_err(log_error)?;
    while let Some(env) = input.recv().await {
        let batch = &env.batch;
        let rows = batch.num_rows() as u64;
        metrics.add_in(rows);
        // A `topic` sink with its own `key` tags its batches with it.
        let key = batch.schema().metadata().get(KEY_METADATA).cloned().or_else(|| key.clone());
        let key_column = key.as_ref().and_then(|k| batch.column_by_name(k)).cloned();
        let records: Vec<Record> = (0..batch.num_rows())
            .map(|row| Record {
                key: key_column.as_ref().and_then(|c| value_text(c.as_ref(), row)).map(String::into_bytes),
                value: Some(row_json(batch, row).to_string().into_bytes()),
                headers: Vec::new(),
                timestamp: None,
            })
            .collect();
        match blocking(|| producer.send(&records)) {
            // The append is done (durable per the topic's fsync): the take is committed.
            Ok(_) => metrics.add_out(rows),
            Err(err) => {
                env.ack.fail();
                metrics.add_errors(rows);
                return Err(log_error(err));
            }
        }
    }
    blocking(|| producer.flush()).map_err(log_error)?;
    let _ = done.send(true);
    Ok(())
}

/// The schema metadata entry naming the field a batch's records are keyed by (set by a `topic` sink).
const KEY_METADATA: &str = "flowc.topic.key";

/// A `topic` sink: hands each batch on to its topic's node (tagged with the sink's `key`, if any);
/// the batch counts as written once the topic has appended it.
pub(crate) async fn topic_sink(
    key: Option<String>,
    mut input: mpsc::Receiver<Envelope>,
    output: Output,
    metrics: Arc<NodeMetrics>,
) -> Result<(), RunError> {
    while let Some(env) = input.recv().await {
        let rows = env.batch.num_rows() as u64;
        metrics.add_in(rows);
        let batch = match &key {
            Some(key) => {
                let mut metadata = env.batch.schema().metadata().clone();
                metadata.insert(KEY_METADATA.to_string(), key.clone());
                let schema = Arc::new(env.batch.schema().as_ref().clone().with_metadata(metadata));
                env.batch.clone().with_schema(schema).map_err(|e| RunError::internal(e.to_string()))?
            }
            None => env.batch.clone(),
        };
        if output.send(batch, env.ack.clone()).await.is_err() {
            env.ack.fail();
            return Ok(());
        }
    }
    Ok(())
}

/// What a group node (or a `topic` source) needs to consume its topic.
pub(crate) struct GroupRead {
    pub data_dir: PathBuf,
    pub topic: String,
    pub group: String,
    /// Where a group without committed offsets starts.
    pub reset: OffsetReset,
    /// Whether the downstream nodes are the group's members, sharing the partitions (a `-> group`
    /// node), or all get every record (a `topic` source).
    pub shared: bool,
    pub schema: SchemaRef,
    /// Set when every writer of the topic in this program has ended; `None` when it has none.
    pub writers_done: Option<watch::Receiver<bool>>,
    pub batch_size: usize,
}

/// Consumes the topic as a consumer group; each record goes to one member.
pub(crate) async fn read_group(
    read: GroupRead,
    members: Vec<Output>,
    shutdown: Shutdown,
    metrics: Arc<NodeMetrics>,
) -> Result<(), RunError> {
    let log = Log::open(&read.data_dir, LogOptions { create: true }).map_err(log_error)?;
    let opts = ConsumerOptions {
        group: Some(read.group.clone()),
        reset: read.reset,
        client_id: "flowc-run".into(),
        ..ConsumerOptions::default()
    };
    let mut consumer = blocking(|| log.consumer(&read.topic, opts)).map_err(log_error)?;
    let partitions = log.topic_config(&read.topic).map_err(log_error)?.partitions as usize;
    // The group's lag (records appended but not yet read), refreshed for the live view.
    let mut lag_at = std::time::Instant::now();
    loop {
        if shutdown.is_set() {
            break;
        }
        if lag_at.elapsed() >= Duration::from_millis(500) {
            lag_at = std::time::Instant::now();
            if let Ok(lag) = blocking(|| consumer.lag()) {
                metrics.set_partition_lag(&lag);
            }
        }
        // Read the flag before polling: if it was set, everything was appended before this poll.
        let writers_done = read.writers_done.as_ref().is_some_and(|d| *d.borrow());
        let records = blocking(|| consumer.poll(read.batch_size, Duration::from_millis(100))).map_err(log_error)?;
        if records.is_empty() {
            // Done only when this group holds every partition (another process of the same group may
            // hold some) and has read each to its end.
            if writers_done && consumer.assignment().len() == partitions {
                let lag = blocking(|| consumer.lag()).map_err(log_error)?;
                metrics.set_partition_lag(&lag);
                if lag.iter().all(|(_, l)| *l == 0) {
                    break;
                }
            }
            continue;
        }
        metrics.add_in(records.len() as u64);
        if members.is_empty() {
            continue;
        }
        // The members share the partitions, as a Kafka group's members do: partition p goes to
        // member p mod n, so each record reaches exactly one member, in partition order.
        let (ack, wait) = Ack::new();
        let mut gone = false;
        for (m, member) in members.iter().enumerate() {
            let values: Vec<String> = records
                .iter()
                .filter(|r| r.partition as usize % members.len() == m)
                .map(|r| r.value.as_deref().map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default())
                .collect();
            if values.is_empty() {
                continue;
            }
            let (batch, rejected): (RecordBatch, u64) = if is_lines(&read.schema) {
                // Lines read any record: flowc's `{"line": …}`, or the value as it is (what kcat or
                // `flowc produce` of plain text appended).
                let lines: Vec<String> = values.into_iter().map(line_of).collect();
                (lines_batch(&lines), 0)
            } else {
                parse_json_values(&lines_batch(&values), &read.schema)?
            };
            metrics.add_errors(rejected);
            if member.send(batch, ack.clone()).await.is_err() {
                gone = true;
                break;
            }
        }
        drop(ack);
        if gone {
            break;
        }
        // Committed only once the member has written the batch: a crash re-reads it (at least once).
        if wait.wait().await {
            blocking(|| consumer.commit()).map_err(log_error)?;
        } else {
            break;
        }
    }
    Ok(())
}

/// The line a record's value holds on a topic of lines: the `line` of flowc's JSON record, or else
/// the value itself.
fn line_of(value: String) -> String {
    #[derive(serde::Deserialize)]
    struct Line {
        line: String,
    }
    if value.starts_with('{') {
        if let Ok(Line { line }) = serde_json::from_str(&value) {
            return line;
        }
    }
    value
}
