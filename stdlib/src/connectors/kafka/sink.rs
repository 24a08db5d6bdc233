//! The `kafka` sink: each event becomes one record of `topic` (a line as it is, a typed record as a
//! JSON object), keyed by `key`; a batch is written once Kafka acknowledged every record of it.
//!
//! `write` hands a batch's records to librdkafka and returns; a task of the batch's own waits for
//! Kafka's answers and only then lets the batch's acknowledgement go (taken with [`Sink::hold`]), so
//! several batches are on the wire at once while none is acknowledged upstream before Kafka has it.
//! While the cluster is unreachable, librdkafka keeps retrying each record until `message_timeout`;
//! records it then gives up on are sent again by that task, with a doubling pause and a warning each
//! time, so an outage makes the pipeline wait and never drops a record.

use super::{Cluster, NodeContext};
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch, StringArray};
use flowc_runtime::exec::batch::{is_lines, row_json, value_text};
use flowc_runtime::exec::{Ack, BoxFuture, RunError, Sink};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

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
    shared: Arc<Shared>,
    /// One task per batch on the wire, each until Kafka answered for all its records.
    in_flight: JoinSet<()>,
    /// Where the batch written last waits for its acknowledgement ([`Sink::hold`]).
    unclaimed: Option<oneshot::Sender<Ack>>,
}

/// What the sink and its batches' tasks share.
struct Shared {
    name: String,
    producer: FutureProducer<NodeContext>,
    topic: String,
    key: Option<String>,
    /// The error no resend can mend, found by a batch's task; the next write or close returns it.
    fatal: Mutex<Option<RunError>>,
}

/// Batches on the wire at once; a write past this waits for the oldest to be answered.
const MAX_IN_FLIGHT: usize = 16;

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
            .set("message.timeout.ms", settings.message_timeout.as_millis().max(1).to_string())
            // Room for the batches in flight (16 of 10,000 records) before `QueueFull`; the byte
            // bound stays librdkafka's (`queue.buffering.max.kbytes`, 1 GiB).
            .set("queue.buffering.max.messages", "1000000");
        // Properties the user wrote come last again, over the options above.
        for (key, value) in &settings.cluster.properties {
            config.set(key, value);
        }
        let producer = config
            .create_with_context(NodeContext::new(name, &settings.cluster))
            .map_err(|e| RunError::config(format!("{name}: cannot make a Kafka producer: {e}")))?;
        let shared = Shared {
            name: name.to_string(),
            producer,
            topic: settings.topic,
            key: settings.key,
            fatal: Mutex::new(None),
        };
        Ok(KafkaSink { shared: Arc::new(shared), in_flight: JoinSet::new(), unclaimed: None })
    }

    /// The error a batch's task found, if one did; it stays, so every later write fails too.
    fn fatal_found(&self) -> Result<(), RunError> {
        match self.shared.fatal.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

impl Shared {
    /// The key column of `batch`, when the sink has a `key`.
    fn key_column<'b>(&self, batch: &'b RecordBatch) -> Result<Option<&'b Arc<dyn Array>>, RunError> {
        match &self.key {
            Some(field) => batch.column_by_name(field).map(Some).ok_or_else(|| {
                RunError::internal(format!("{}: the key field `{field}` is not in the stream", self.name))
            }),
            None => Ok(None),
        }
    }

    /// Hands the records `which` of `batch` to librdkafka, waiting only while its queue is full;
    /// returns each record's delivery, or the error no retry can mend.
    async fn send(&self, batch: &RecordBatch, which: &[usize]) -> Result<Vec<(usize, DeliveryFuture)>, RunError> {
        let lines: Option<&StringArray> = is_lines(&batch.schema()).then(|| batch.column(0).as_string::<i32>());
        let key_column = self.key_column(batch)?;
        let mut waiting = Vec::with_capacity(which.len());
        for &row in which {
            let json: String;
            // A line goes as it is, without a copy of its own; a typed record as its JSON.
            let value: &str = match lines {
                Some(lines) if lines.is_null(row) => "",
                Some(lines) => lines.value(row),
                None => {
                    json = row_json(batch, row).to_string();
                    &json
                }
            };
            let key = key_column.and_then(|column| value_text(column.as_ref(), row));
            let mut record = FutureRecord::to(&self.topic).payload(value);
            if let Some(key) = &key {
                record = record.key(key.as_str());
            }
            loop {
                match self.producer.send_result(record) {
                    Ok(delivery) => {
                        waiting.push((row, delivery));
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        // librdkafka's queue is full: let it drain a little, then offer the record again.
                        record = back;
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    Err((e, _)) => return Err(self.fatal(&e)),
                }
            }
        }
        Ok(waiting)
    }

    /// Waits for Kafka's answers; returns the records it did not take (retriable), or the error no
    /// retry can mend.
    async fn answers(&self, waiting: Vec<(usize, DeliveryFuture)>) -> Result<Vec<usize>, RunError> {
        let mut failed = Vec::new();
        let mut last_error = None;
        for (row, delivery) in waiting {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) if is_fatal(&e) => return Err(self.fatal(&e)),
                Ok(Err((e, _))) => {
                    failed.push(row);
                    last_error = Some(e.to_string());
                }
                Err(_) => {
                    failed.push(row);
                    last_error = Some("the producer went away before answering".to_string());
                }
            }
        }
        if let Some(e) = last_error {
            tracing::warn!("{}: Kafka did not take {} record(s) of the batch: {e}", self.name, failed.len());
        }
        Ok(failed)
    }

    /// A batch's task: Kafka's answers for `waiting`, records it did not take sent again with a
    /// doubling pause; then the batch's acknowledgement goes (failed if a record cannot be written).
    async fn deliver(
        self: Arc<Self>,
        batch: RecordBatch,
        mut waiting: Vec<(usize, DeliveryFuture)>,
        ack: oneshot::Receiver<Ack>,
    ) {
        let mut pause = RESEND_FIRST_PAUSE;
        let outcome = loop {
            let todo = match self.answers(std::mem::take(&mut waiting)).await {
                Ok(todo) if todo.is_empty() => break Ok(()),
                Ok(todo) => todo,
                Err(e) => break Err(e),
            };
            tracing::warn!("{}: sending {} record(s) again in {pause:?}", self.name, todo.len());
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RESEND_LONGEST_PAUSE);
            match self.send(&batch, &todo).await {
                Ok(again) => waiting = again,
                Err(e) => break Err(e),
            }
        };
        let ack = ack.await.ok();
        if let Err(e) = outcome {
            if let Some(ack) = &ack {
                ack.fail();
            }
            let mut fatal = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
            fatal.get_or_insert(e);
        }
        // Dropping the last clone of `ack` tells the source the batch is written (or failed).
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
            while self.in_flight.try_join_next().is_some() {}
            while self.in_flight.len() >= MAX_IN_FLIGHT {
                self.in_flight.join_next().await;
            }
            self.fatal_found()?;
            let rows: Vec<usize> = (0..batch.num_rows()).collect();
            let waiting = self.shared.send(batch, &rows).await?;
            let (tx, rx) = oneshot::channel();
            self.unclaimed = Some(tx);
            self.in_flight.spawn(self.shared.clone().deliver(batch.clone(), waiting, rx));
            Ok(())
        })
    }

    fn hold(&mut self, ack: &Ack) {
        if let Some(tx) = self.unclaimed.take() {
            let _ = tx.send(ack.clone());
        }
    }

    fn close(&mut self) -> BoxFuture<'_, Result<(), RunError>> {
        Box::pin(async move {
            // A batch written but never held (its write's caller went away) has no ack to wait for.
            self.unclaimed = None;
            while self.in_flight.join_next().await.is_some() {}
            self.fatal_found()?;
            let producer = self.shared.producer.clone();
            tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(10)))
                .await
                .map_err(RunError::internal)?
                .map_err(|e| RunError::io(format!("{}: closing the Kafka producer: {e}", self.shared.name)))
        })
    }
}
