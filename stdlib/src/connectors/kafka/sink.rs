//! The `kafka` sink: each event becomes one record of `topic` (a line as it is, a typed record as a
//! JSON object), keyed by `key`; a batch is written once Kafka acknowledged every record of it.
//!
//! `write` hands a batch's records to librdkafka and returns; a task of the batch's own waits for
//! Kafka's answers — counted per batch by the producer's delivery callback, no future per record —
//! and only then lets the batch's acknowledgement go (taken with [`Sink::hold`]), so
//! several batches are on the wire at once while none is acknowledged upstream before Kafka has it.
//! While the cluster is unreachable, librdkafka keeps retrying each record until `message_timeout`;
//! records it then gives up on are sent again by that task, with a doubling pause and a warning each
//! time, so an outage makes the pipeline wait and never drops a record.

use super::{Cluster, NodeContext};
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch, StringArray};
use flowc_runtime::exec::batch::{is_lines, row_json, value_text};
use flowc_runtime::exec::{Ack, BoxFuture, RunError, Sink};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use std::sync::atomic::{AtomicUsize, Ordering};
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
    producer: ThreadedProducer<SinkContext>,
    topic: String,
    key: Option<String>,
    /// The error no resend can mend, found by a batch's task; the next write or close returns it.
    fatal: Mutex<Option<RunError>>,
}

/// A record as it goes again: its value and key.
type Resend = (Vec<u8>, Option<Vec<u8>>);

/// One round of a batch's records on the wire: how many Kafka has yet to answer for, and what it
/// did not take. Each record carries it as its delivery opaque.
#[derive(Default)]
struct Round {
    remaining: AtomicUsize,
    /// Value and key of each record Kafka did not take (retriable), to be sent again.
    failed: Mutex<Vec<Resend>>,
    /// The last retriable error, for the log; a record no resend can mend.
    last_error: Mutex<Option<String>>,
    fatal: Mutex<Option<KafkaError>>,
    answered: tokio::sync::Notify,
}

/// The producer's callbacks: librdkafka's log through the node's context, each delivery counted
/// into its round.
struct SinkContext(NodeContext);

impl ClientContext for SinkContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.0.log(level, facility, message)
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.0.error(error, reason)
    }
}

impl ProducerContext for SinkContext {
    type DeliveryOpaque = Arc<Round>;

    fn delivery(&self, result: &DeliveryResult<'_>, round: Arc<Round>) {
        if let Err((e, message)) = result {
            if is_fatal(e) {
                round.fatal.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e.clone());
            } else {
                let record = (message.payload().unwrap_or_default().to_vec(), message.key().map(<[u8]>::to_vec));
                round.failed.lock().unwrap_or_else(|p| p.into_inner()).push(record);
                *round.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
            }
        }
        if round.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            round.answered.notify_one();
        }
    }
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
            .create_with_context(SinkContext(NodeContext::new(name, &settings.cluster)))
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

    /// Hands one record to librdkafka as part of `round`, waiting only while its queue is full.
    async fn send(&self, round: &Arc<Round>, value: &[u8], key: Option<&[u8]>) -> Result<(), RunError> {
        let mut record = BaseRecord::with_opaque_to(&self.topic, round.clone()).payload(value);
        if let Some(key) = key {
            record = record.key(key);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // librdkafka's queue is full: let it drain a little, then offer the record again.
                    record = back;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err((e, _)) => return Err(self.fatal(&e)),
            }
        }
    }

    /// Hands every record of `batch` to librdkafka as one round (a line as it is, without a copy
    /// of its own; a typed record as its JSON), or the error no retry can mend.
    async fn send_batch(&self, batch: &RecordBatch) -> Result<Arc<Round>, RunError> {
        let lines: Option<&StringArray> = is_lines(&batch.schema()).then(|| batch.column(0).as_string::<i32>());
        let key_column = self.key_column(batch)?;
        let round = Arc::new(Round::default());
        round.remaining.store(batch.num_rows(), Ordering::Release);
        for row in 0..batch.num_rows() {
            let json: String;
            let value: &str = match lines {
                Some(lines) if lines.is_null(row) => "",
                Some(lines) => lines.value(row),
                None => {
                    json = row_json(batch, row).to_string();
                    &json
                }
            };
            let key = key_column.and_then(|column| value_text(column.as_ref(), row));
            self.send(&round, value.as_bytes(), key.as_deref().map(str::as_bytes)).await?;
        }
        Ok(round)
    }

    /// Waits until Kafka answered for every record of `round`; returns the records it did not take
    /// (retriable), or the error no retry can mend.
    async fn answers(&self, round: &Round) -> Result<Vec<Resend>, RunError> {
        while round.remaining.load(Ordering::Acquire) > 0 {
            round.answered.notified().await;
        }
        if let Some(e) = round.fatal.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return Err(self.fatal(e));
        }
        let failed = std::mem::take(&mut *round.failed.lock().unwrap_or_else(|p| p.into_inner()));
        if let Some(e) = round.last_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            tracing::warn!("{}: Kafka did not take {} record(s) of the batch: {e}", self.name, failed.len());
        }
        Ok(failed)
    }

    /// A batch's task: Kafka's answers for `round`, records it did not take sent again with a
    /// doubling pause; then the batch's acknowledgement goes (failed if a record cannot be written).
    async fn deliver(self: Arc<Self>, mut round: Arc<Round>, ack: oneshot::Receiver<Ack>) {
        let mut pause = RESEND_FIRST_PAUSE;
        let outcome = loop {
            let todo = match self.answers(&round).await {
                Ok(todo) if todo.is_empty() => break Ok(()),
                Ok(todo) => todo,
                Err(e) => break Err(e),
            };
            tracing::warn!("{}: sending {} record(s) again in {pause:?}", self.name, todo.len());
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RESEND_LONGEST_PAUSE);
            let again = Arc::new(Round::default());
            again.remaining.store(todo.len(), Ordering::Release);
            let mut sent = Ok(());
            for (value, key) in &todo {
                sent = self.send(&again, value, key.as_deref()).await;
                if sent.is_err() {
                    break;
                }
            }
            if let Err(e) = sent {
                break Err(e);
            }
            round = again;
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
            let round = self.shared.send_batch(batch).await?;
            let (tx, rx) = oneshot::channel();
            self.unclaimed = Some(tx);
            self.in_flight.spawn(self.shared.clone().deliver(round, rx));
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
