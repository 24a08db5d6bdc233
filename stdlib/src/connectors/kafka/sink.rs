//! The `kafka` sink: each event becomes one record of `topic` (a line as it is, a typed record as a
//! JSON object), keyed by `key`; a batch is written once Kafka acknowledged every record of it.
//!
//! While the cluster is unreachable, librdkafka keeps retrying each record until `message_timeout`;
//! records it then gives up on are sent again by this sink, with a doubling pause and a warning each
//! time, so an outage makes the pipeline wait and never drops a record.

use super::{Cluster, NodeContext};
use arrow_array::RecordBatch;
use flowc_runtime::exec::batch::{is_lines, row_json, value_text};
use flowc_runtime::exec::{BoxFuture, RunError, Sink};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use std::time::Duration;

/// What the sink's options say, already defaulted.
#[derive(Debug, Clone)]
pub(crate) struct SinkSettings {
    pub(crate) cluster: Cluster,
    pub(crate) topic: String,
    /// The field whose value keys each record; none spreads records over partitions.
    pub(crate) key: Option<String>,
    /// `all`, `1` or `0`.
    pub(crate) acks: String,
    /// `none`, `gzip`, `snappy`, `lz4` or `zstd`.
    pub(crate) compression: String,
    pub(crate) idempotent: bool,
    /// How long librdkafka gathers records into one request.
    pub(crate) linger: Duration,
    /// How long librdkafka retries one record before this sink sends it again.
    pub(crate) message_timeout: Duration,
}

pub(crate) struct KafkaSink {
    name: String,
    producer: FutureProducer<NodeContext>,
    topic: String,
    key: Option<String>,
}

/// First pause before records Kafka did not take are sent again; it doubles up to the last.
const RESEND_FIRST_PAUSE: Duration = Duration::from_millis(200);
const RESEND_LONGEST_PAUSE: Duration = Duration::from_secs(10);

impl KafkaSink {
    pub(crate) fn new(name: &str, settings: SinkSettings) -> Result<KafkaSink, RunError> {
        let mut config = settings.cluster.config();
        config
            .set("acks", &settings.acks)
            .set("compression.type", &settings.compression)
            // Idempotence needs `acks = all`; with a weaker `acks` it is off (the path is already weaker).
            .set("enable.idempotence", if settings.idempotent && settings.acks == "all" { "true" } else { "false" })
            .set("linger.ms", settings.linger.as_millis().to_string())
            .set("message.timeout.ms", settings.message_timeout.as_millis().max(1).to_string());
        // Properties the user wrote come last again, over the options above.
        for (key, value) in &settings.cluster.properties {
            config.set(key, value);
        }
        let producer = config
            .create_with_context(NodeContext::new(name, &settings.cluster))
            .map_err(|e| RunError::config(format!("{name}: cannot make a Kafka producer: {e}")))?;
        Ok(KafkaSink { name: name.to_string(), producer, topic: settings.topic, key: settings.key })
    }

    /// The records of a batch: value and key of each row.
    fn records(&self, batch: &RecordBatch) -> Result<Vec<(String, Option<String>)>, RunError> {
        let lines = is_lines(&batch.schema());
        let key_column = match &self.key {
            Some(field) => Some(batch.column_by_name(field).ok_or_else(|| {
                RunError::internal(format!("{}: the key field `{field}` is not in the stream", self.name))
            })?),
            None => None,
        };
        Ok((0..batch.num_rows())
            .map(|row| {
                let value = if lines {
                    value_text(batch.column(0).as_ref(), row).unwrap_or_default()
                } else {
                    row_json(batch, row).to_string()
                };
                let key = key_column.and_then(|column| value_text(column.as_ref(), row));
                (value, key)
            })
            .collect())
    }

    /// Hands every record to librdkafka and waits for the broker's answers; returns the indexes of
    /// the records Kafka did not take (retriable), or the error no retry can mend.
    async fn send_all(&self, records: &[(String, Option<String>)], which: &[usize]) -> Result<Vec<usize>, RunError> {
        let mut waiting = Vec::with_capacity(which.len());
        for &i in which {
            let (value, key) = &records[i];
            let mut record = FutureRecord::to(&self.topic).payload(value.as_str());
            if let Some(key) = key {
                record = record.key(key.as_str());
            }
            loop {
                match self.producer.send_result(record) {
                    Ok(delivery) => {
                        waiting.push((i, delivery));
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        // librdkafka's queue is full: let it drain a little, then offer the record again.
                        record = back;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((e, _)) => return Err(self.fatal(&e)),
                }
            }
        }
        let mut failed = Vec::new();
        let mut last_error = None;
        for (i, delivery) in waiting {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) if is_fatal(&e) => return Err(self.fatal(&e)),
                Ok(Err((e, _))) => {
                    failed.push(i);
                    last_error = Some(e.to_string());
                }
                Err(_) => {
                    failed.push(i);
                    last_error = Some("the producer went away before answering".to_string());
                }
            }
        }
        if let Some(e) = last_error {
            tracing::warn!("{}: Kafka did not take {} record(s) of the batch: {e}", self.name, failed.len());
        }
        Ok(failed)
    }

    fn fatal(&self, e: &KafkaError) -> RunError {
        RunError::io(format!("{}: Kafka refused a record of topic `{}`: {e}", self.name, self.topic))
    }
}

/// Errors that sending again cannot mend: the record or the configuration is wrong.
fn is_fatal(e: &KafkaError) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(
            C::MessageSizeTooLarge
                | C::InvalidMessageSize
                | C::TopicAuthorizationFailed
                | C::ClusterAuthorizationFailed
                | C::InvalidRecord
                | C::InvalidRequiredAcks
                | C::UnsupportedCompressionType
        )
    )
}

impl Sink for KafkaSink {
    fn write<'a>(&'a mut self, batch: &'a RecordBatch) -> BoxFuture<'a, Result<(), RunError>> {
        Box::pin(async move {
            let records = self.records(batch)?;
            let mut todo: Vec<usize> = (0..records.len()).collect();
            let mut pause = RESEND_FIRST_PAUSE;
            loop {
                todo = self.send_all(&records, &todo).await?;
                if todo.is_empty() {
                    return Ok(());
                }
                tracing::warn!("{}: sending {} record(s) again in {pause:?}", self.name, todo.len());
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RESEND_LONGEST_PAUSE);
            }
        })
    }

    fn close(&mut self) -> BoxFuture<'_, Result<(), RunError>> {
        Box::pin(async move {
            // Every write already waited for its records; this only lets librdkafka finish cleanly.
            let producer = self.producer.clone();
            tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(10)))
                .await
                .map_err(RunError::internal)?
                .map_err(|e| RunError::io(format!("{}: closing the Kafka producer: {e}", self.name)))
        })
    }
}
