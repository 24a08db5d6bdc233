//! The `kafka` source: a member of consumer group `group` reading `topics`, each record its value
//! and metadata as fields (or its value as a line). Offsets are committed to Kafka only once every sink downstream wrote the batch, in the order
//! the batches were read (auto-commit is off), so a crash redelivers what was not written.

use super::{Cluster, NodeContext};
use arrow_array::builder::{Int64Builder, StringBuilder, TimestampMillisecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use flowc_runtime::exec::batch::lines_batch;
use flowc_runtime::exec::transform::parse_json_values;
use flowc_runtime::exec::{Ack, BoxFuture, RunError, Source, SourceContext};
use futures_util::stream::{FuturesOrdered, StreamExt};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::Duration;

/// What the source's options say, already defaulted.
#[derive(Debug, Clone)]
pub(crate) struct SourceSettings {
    pub(crate) cluster: Cluster,
    pub(crate) topics: Vec<String>,
    pub(crate) group: String,
    /// `earliest` or `latest`: where a group without a committed offset starts.
    pub(crate) from: String,
    pub(crate) batch_size: usize,
    /// Longest wait for more records before a batch that is not full goes out.
    pub(crate) batch_wait: Duration,
    pub(crate) shape: Shape,
}

/// What the source makes of each Kafka record.
#[derive(Debug, Clone)]
pub(crate) enum Shape {
    /// Its value as an untyped line (`format = lines`, an untyped topic).
    Lines,
    /// Its value and metadata as the fields of this schema (the signature's record).
    Record(SchemaRef),
    /// Its value as JSON of this type (a typed topic); a value that is not counts as an error.
    Json(SchemaRef),
}

/// One record as read, before it goes into a batch.
struct Read {
    value: Option<String>,
    key: Option<String>,
    topic: String,
    partition: i32,
    offset: i64,
    timestamp: Option<i64>,
}

pub(crate) struct KafkaSource {
    consumer: StreamConsumer<NodeContext>,
    settings: SourceSettings,
}

/// Per (topic, partition), the offset to commit: one past the last record of a batch.
type Offsets = HashMap<(String, i32), i64>;

/// Batches sent on whose acknowledgement the source still waits; past this it reads no more.
const MAX_IN_FLIGHT: usize = 8;

impl KafkaSource {
    pub(crate) fn new(name: &str, settings: SourceSettings) -> Result<KafkaSource, RunError> {
        let mut config = settings.cluster.config();
        config
            .set("group.id", &settings.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", &settings.from)
            // Lag per partition for the metrics (see `NodeContext::stats`).
            .set("statistics.interval.ms", "2000");
        for (key, value) in &settings.cluster.properties {
            config.set(key, value);
        }
        let consumer: StreamConsumer<NodeContext> = config
            .create_with_context(NodeContext::new(name, &settings.cluster))
            .map_err(|e| RunError::config(format!("{name}: cannot make a Kafka consumer: {e}")))?;
        let topics: Vec<&str> = settings.topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .map_err(|e| RunError::config(format!("{name}: cannot subscribe to {topics:?}: {e}")))?;
        Ok(KafkaSource { consumer, settings })
    }

    /// Reads one batch: waits for a first record, then takes what follows within `batch_wait`.
    /// Returns the records and, per partition, the offset to commit once they are written.
    async fn read_batch(&self) -> Result<(Vec<Read>, Offsets), RunError> {
        let mut lines = Vec::with_capacity(self.settings.batch_size);
        let mut next_offsets = HashMap::new();
        let deadline = tokio::time::Instant::now() + self.settings.batch_wait;
        while lines.len() < self.settings.batch_size {
            let message = if lines.is_empty() {
                self.consumer.recv().await
            } else {
                match tokio::time::timeout_at(deadline, self.consumer.recv()).await {
                    Ok(message) => message,
                    Err(_) => break,
                }
            };
            let message = match message {
                Ok(message) => message,
                Err(e) => {
                    // A broker error, already logged by the context; the consumer goes on by itself.
                    tracing::debug!("kafka consumer: {e}");
                    continue;
                }
            };
            let text = |bytes: Option<&[u8]>| bytes.map(|b| String::from_utf8_lossy(b).into_owned());
            let timestamp = match message.timestamp() {
                Timestamp::CreateTime(ms) | Timestamp::LogAppendTime(ms) if ms >= 0 => Some(ms),
                _ => None,
            };
            lines.push(Read {
                value: text(message.payload()),
                key: text(message.key()),
                topic: message.topic().to_string(),
                partition: message.partition(),
                offset: message.offset(),
                timestamp,
            });
            next_offsets.insert((message.topic().to_string(), message.partition()), message.offset() + 1);
        }
        Ok((lines, next_offsets))
    }

    fn commit(&self, name: &str, offsets: &Offsets, mode: CommitMode) {
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in offsets {
            if list.add_partition_offset(topic, *partition, Offset::Offset(*offset)).is_err() {
                return;
            }
        }
        // A commit refused because the partitions moved to another member during a rebalance only
        // means that member reads those records again: at least once.
        if let Err(e) = self.consumer.commit(&list, mode) {
            tracing::debug!("{name}: commit not taken: {e}");
        }
    }
}

impl Source for KafkaSource {
    fn run(self: Box<Self>, ctx: SourceContext) -> BoxFuture<'static, Result<(), RunError>> {
        Box::pin(async move {
            let this = &*self;
            this.consumer.context().report_lag_to(ctx.metrics.clone());
            let mut in_flight: FuturesOrdered<BoxFuture<'static, (bool, Offsets)>> = FuturesOrdered::new();
            let mut shutdown = ctx.shutdown.clone();
            // The read in progress lives across loop turns: a batch half gathered when an
            // acknowledgement arrives is kept, never dropped (its records would be lost).
            let reading = this.read_batch();
            tokio::pin!(reading);
            let mut delivered_offsets = Offsets::new();
            loop {
                tokio::select! {
                    biased;
                    _ = shutdown.wait() => break,
                    Some((delivered, offsets)) = in_flight.next(), if !in_flight.is_empty() => {
                        if !delivered {
                            // A sink could not write it: the run is failing; commit nothing more.
                            return Ok(());
                        }
                        this.commit(&ctx.name, &offsets, CommitMode::Async);
                        delivered_offsets.extend(offsets);
                    }
                    batch = &mut reading, if in_flight.len() < MAX_IN_FLIGHT => {
                        reading.set(this.read_batch());
                        let (lines, offsets) = batch?;
                        if lines.is_empty() {
                            continue;
                        }
                        let batch = match &this.settings.shape {
                            Shape::Record(schema) => record_batch(schema, &lines)?,
                            Shape::Lines => lines_batch(&values(&lines)),
                            Shape::Json(schema) => {
                                let (typed, rejected) = parse_json_values(&lines_batch(&values(&lines)), schema)?;
                                if rejected > 0 {
                                    ctx.metrics.add_errors(rejected);
                                    tracing::warn!("{}: {rejected} record(s) are not JSON of the topic's type; dropped", ctx.name);
                                }
                                typed
                            }
                        };
                        let (ack, wait) = Ack::new();
                        if ctx.output.send(batch, ack).await.is_err() {
                            break;
                        }
                        in_flight.push_back(Box::pin(async move { (wait.wait().await, offsets) }));
                    }
                }
            }
            // Stopping: what was sent is written or failed while the run drains; commit what was,
            // synchronously, before the consumer leaves its group.
            while let Some((delivered, offsets)) = in_flight.next().await {
                if !delivered {
                    break;
                }
                delivered_offsets.extend(offsets);
            }
            if !delivered_offsets.is_empty() {
                this.commit(&ctx.name, &delivered_offsets, CommitMode::Sync);
            }
            Ok(())
        })
    }
}

/// The values of `records` as lines (a record without a value is an empty line).
fn values(records: &[Read]) -> Vec<&str> {
    records.iter().map(|r| r.value.as_deref().unwrap_or("")).collect()
}

/// `records` as a batch of the signature's record type: each field of `schema` filled by name.
fn record_batch(schema: &SchemaRef, records: &[Read]) -> Result<RecordBatch, RunError> {
    let strings = |get: fn(&Read) -> Option<&str>| {
        let mut b = StringBuilder::with_capacity(records.len(), records.len() * 16);
        records.iter().for_each(|r| b.append_option(get(r)));
        std::sync::Arc::new(b.finish()) as ArrayRef
    };
    let ints = |get: fn(&Read) -> i64| {
        let mut b = Int64Builder::with_capacity(records.len());
        records.iter().for_each(|r| b.append_value(get(r)));
        std::sync::Arc::new(b.finish()) as ArrayRef
    };
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        columns.push(match field.name().as_str() {
            "value" => strings(|r| r.value.as_deref()),
            "key" => strings(|r| r.key.as_deref()),
            "topic" => strings(|r| Some(r.topic.as_str())),
            "partition" => ints(|r| i64::from(r.partition)),
            "offset" => ints(|r| r.offset),
            "timestamp" => {
                let mut b = TimestampMillisecondBuilder::with_capacity(records.len());
                records.iter().for_each(|r| b.append_option(r.timestamp));
                let array = b.finish().with_data_type(field.data_type().clone());
                std::sync::Arc::new(array) as ArrayRef
            }
            other => return Err(RunError::internal(format!("the kafka source has no field `{other}`"))),
        });
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(RunError::internal)
}
