//! The `kafka` source and sink: a consumer and a producer of an external Kafka cluster through
//! librdkafka (the `rdkafka` crate): their signatures and builders, the client settings and the
//! logging both share.

pub(crate) mod online;
mod sink;
mod source;

use crate::catalogue::{batch_size, optional, required, unset};
use arrow_schema::SchemaRef;
use flowc_compiler::builtins::flume::{key, FlumeConv::*, FlumeType};
use flowc_compiler::builtins::{
    ConnectorSig, FieldSig, Guarantee, ParamSig, ParamType, Role, Scalar, StreamIn, StreamOut, Weakening,
};
use flowc_runtime::exec::{Built, Connector, ExternalTopic, NodeSpec, RunError};
use sink::{KafkaSink, SinkSettings};
use source::{KafkaSource, Shape, SourceSettings};

use flowc_runtime::exec::NodeMetrics;
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Flume's Kafka source: consume a topic of an external Kafka cluster.
pub(crate) const SOURCE: Connector =
    Connector { sig: SOURCE_SIG, build: |spec| Ok(Built::source(build_source(spec)?)) };

const SOURCE_SIG: ConnectorSig = ConnectorSig {
    kind: "kafka",
    role: Role::Source,
    summary: "Consume topics of an external Kafka cluster: each record's value with its key, topic, partition, offset and timestamp.",
    doc: "A Kafka consumer in group `group`, for topics that are not declared in the `.flow` file (to consume \
a declared topic bound to Kafka, use the `topic` source). Offsets are committed to Kafka only after the \
channel has taken the batch (auto-commit is off), so a crash redelivers the uncommitted records. Each \
record becomes `{ value: string?, key: string?, topic: string, partition: int, offset: int, timestamp: \
timestamp? }` (`value` and `key` decoded as UTF-8; `parse json as T` parses `value`); with \
`format = lines` each value is an untyped line instead, as in Flume's Kafka source. Record headers are not \
carried yet (see docs/kafka.md).",
    params: &[
        required("brokers", ParamType::Brokers, "Bootstrap servers: `[\"kafka1:9092\", \"kafka2:9092\"]`."),
        required("topics", ParamType::List(&ParamType::String), "The Kafka topics to consume: `[\"orders\"]`."),
        optional("group", ParamType::String, "\"flowc\"", "Kafka consumer group id."),
        optional(
            "from",
            ParamType::Enum(&["earliest", "latest"]),
            "earliest",
            "Where a group with no committed offset starts (Kafka's `auto.offset.reset`).",
        ),
        optional(
            "format",
            ParamType::Enum(&["record", "lines"]),
            "record",
            "`record`: the value with the record's key, topic, partition, offset and timestamp as fields; `lines`: the value alone, as an untyped line.",
        ),
        batch_size("1_000"),
        optional(
            "batch_wait",
            ParamType::Duration,
            "100ms",
            "Longest wait for more records before a batch smaller than `batch_size` goes on.",
        ),
        properties(),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "offsets are committed to Kafka after the channel takes each batch",
    output: StreamOut::Record { fields: RECORD, lines_when: Some(("format", "lines")) },
    input: StreamIn::Any,
    flume: &[FlumeType::component(
        &["kafka", "org.apache.flume.source.kafka.KafkaSource"],
        &[
            key("kafka.bootstrap.servers", "brokers", Same),
            key("kafka.topics", "topics", Same),
            key("kafka.consumer.group.id", "group", Same),
            key("kafka.consumer.auto.offset.reset", "from", Same),
            key("batchSize", "batch_size", Same),
            key("batchDurationMillis", "batch_wait", Ms),
        ],
    )
    .unneeded(&[("useFlumeEventFormat", EVENT_FORMAT)])],
    check: None,
    weaker_when: &[],
};

/// The fields of the `kafka` source's records (`format = record`).
const RECORD: &[FieldSig] = &[
    FieldSig { name: "value", ty: Scalar::String, optional: true, doc: "The value, as UTF-8; null for a tombstone." },
    FieldSig { name: "key", ty: Scalar::String, optional: true, doc: "The key, as UTF-8; null when there is none." },
    FieldSig { name: "topic", ty: Scalar::String, optional: false, doc: "The topic it was read from." },
    FieldSig { name: "partition", ty: Scalar::Int, optional: false, doc: "Its partition." },
    FieldSig { name: "offset", ty: Scalar::Int, optional: false, doc: "Its offset in the partition." },
    FieldSig {
        name: "timestamp",
        ty: Scalar::Timestamp,
        optional: true,
        doc: "Its timestamp (producer's create time or the log's append time); null when it has none.",
    },
];

/// Flume's Kafka sink: produce into an external Kafka cluster.
pub(crate) const SINK: Connector = Connector { sig: SINK_SIG, build: |spec| Ok(Built::sink(build_sink(spec)?)) };

const SINK_SIG: ConnectorSig = ConnectorSig {
    kind: "kafka",
    role: Role::Sink,
    summary: "Produce events into a topic of an external Kafka cluster.",
    doc: "A Kafka producer for topics not declared in the `.flow` file (a declared topic bound to Kafka with \
`brokers` uses the `topic` sink). Records are keyed by `key`. A take is committed only after Kafka \
acknowledged every record of it; with the default `acks = all` that means the in-sync replicas have it. \
Unlike Flume's Kafka sink (`acks = 1`), nothing the leader loses on failover is lost by default.",
    params: &[
        required("brokers", ParamType::Brokers, "Bootstrap servers: `[\"kafka1:9092\", \"kafka2:9092\"]`."),
        required("topic", ParamType::String, "The Kafka topic to produce to."),
        unset(
            "key",
            ParamType::Field,
            "Field whose value is the record key; default: no key (records spread across partitions).",
        ),
        optional(
            "acks",
            ParamType::Enum(&["all", "1", "0"]),
            "all",
            "Acknowledgement Kafka must give before a take is committed: all in-sync replicas, the leader, or none.",
        ),
        optional(
            "compression",
            ParamType::Enum(&["none", "gzip", "snappy", "lz4", "zstd"]),
            "none",
            "How record batches are compressed on the wire and in Kafka's log (`compression.type`).",
        ),
        optional(
            "idempotent",
            ParamType::Bool,
            "true",
            "Kafka keeps each record once even when the producer sends it again after a lost answer (`enable.idempotence`; needs `acks = all`).",
        ),
        optional("linger", ParamType::Duration, "5ms", "How long records gather into one request (`linger.ms`)."),
        optional(
            "message_timeout",
            ParamType::Duration,
            "5m",
            "How long librdkafka retries a record before the sink sends it again (`message.timeout.ms`); the sink never drops one.",
        ),
        properties(),
        crate::catalogue::max_retries(),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "a take is committed after Kafka acknowledged it (with `acks = 0`, best effort)",
    output: StreamOut::PassThrough,
    input: StreamIn::Any,
    flume: &[FlumeType::component(
        &["kafka", "org.apache.flume.sink.kafka.KafkaSink"],
        &[
            key("kafka.bootstrap.servers", "brokers", Same),
            key("kafka.topic", "topic", Same),
            key("kafka.producer.acks", "acks", Same),
            key("kafka.producer.compression.type", "compression", Same),
            key("kafka.producer.linger.ms", "linger", Ms),
        ],
    )
    .unneeded(&[("useFlumeEventFormat", EVENT_FORMAT), ("flumeBatchSize", SINK_BATCH), ("batchSize", SINK_BATCH)])],
    check: None,
    weaker_when: &[
        Weakening {
            param: "acks",
            values: &["0"],
            guarantee: Guarantee::BestEffort,
            note: "`acks = 0` never waits for the broker: records are dropped without anyone knowing",
        },
        Weakening {
            param: "acks",
            values: &["1"],
            guarantee: Guarantee::AtMostOnceOnCrash,
            note: "`acks = 1` trusts the leader alone: a leader failover loses what followers had not copied",
        },
    ],
};

/// Why Flume's Avro event settings are not needed.
pub(crate) const EVENT_FORMAT: &str =
    "not needed (flowc's Kafka records hold the event itself, never Flume's Avro event with its headers)";
/// Why the Kafka sink's batch size is not needed.
const SINK_BATCH: &str = "not needed (flowc's `kafka` sink sends each batch it is handed at once)";

/// The `properties` parameter both kinds take.
const fn properties() -> ParamSig {
    unset(
        "properties",
        ParamType::List(&ParamType::String),
        "librdkafka properties as `\"key=value\"`, applied last (e.g. `\"security.protocol=ssl\"`; see docs/kafka.md).",
    )
}

/// The cluster options both kinds share: `brokers` and `properties`.
fn cluster(spec: &NodeSpec<'_>) -> Result<Cluster, RunError> {
    let o = &spec.options;
    let properties =
        parse_properties(spec.name, &o.strings("properties")?.unwrap_or_default()).map_err(RunError::config)?;
    Cluster::new(spec.name, &o.strings("brokers")?.unwrap_or_default(), properties)
}

fn build_source(spec: &NodeSpec<'_>) -> Result<KafkaSource, RunError> {
    let o = &spec.options;
    let shape = match spec.output {
        Some(output) if !output.untyped => Shape::Record(flowc_runtime::exec::batch::schema(output)?),
        _ => Shape::Lines,
    };
    let settings = SourceSettings {
        cluster: cluster(spec)?,
        topics: o.strings("topics")?.unwrap_or_default(),
        group: o.string_or_default("group")?,
        from: o.string_or_default("from")?,
        batch_size: super::batch_size(spec)?,
        batch_wait: o.duration_or_default("batch_wait")?,
        shape,
    };
    if settings.topics.is_empty() {
        return Err(RunError::config(format!("{}: `topics` names no topic", spec.name)));
    }
    KafkaSource::new(spec.name, settings)
}

fn build_sink(spec: &NodeSpec<'_>) -> Result<KafkaSink, RunError> {
    let o = &spec.options;
    let settings = SinkSettings {
        cluster: cluster(spec)?,
        topic: o.string_or_default("topic")?,
        key: o.string("key")?,
        acks: o.string_or_default("acks")?,
        compression: o.string_or_default("compression")?,
        idempotent: o.bool_or_default("idempotent")?,
        linger: o.duration_or_default("linger")?,
        message_timeout: o.duration_or_default("message_timeout")?,
    };
    KafkaSink::new(spec.name, settings)
}

/// The writer of a declared topic bound to a Kafka cluster: the `kafka` sink's defaults
/// (`acks = all`, idempotent), keyed by the topic's `key`.
pub(crate) fn topic_writer(topic: &ExternalTopic<'_>) -> Result<KafkaSink, RunError> {
    let settings = SinkSettings {
        cluster: topic_cluster(topic)?,
        topic: topic.name.to_string(),
        key: topic.key.clone(),
        acks: "all".to_string(),
        compression: "none".to_string(),
        idempotent: true,
        linger: Duration::from_millis(5),
        message_timeout: Duration::from_secs(300),
    };
    KafkaSink::new(topic.name, settings)
}

/// One member of a consumer group of a declared topic bound to a Kafka cluster.
pub(crate) fn topic_member(
    topic: &ExternalTopic<'_>,
    group: &str,
    member: &str,
    schema: SchemaRef,
) -> Result<KafkaSource, RunError> {
    let typed = !flowc_runtime::exec::batch::is_lines(&schema);
    let settings = SourceSettings {
        cluster: topic_cluster(topic)?,
        topics: vec![topic.name.to_string()],
        group: group.to_string(),
        from: "earliest".to_string(),
        batch_size: 1_000,
        batch_wait: Duration::from_millis(100),
        shape: if typed { Shape::Json(schema) } else { Shape::Lines },
    };
    KafkaSource::new(&format!("{}@{group} ({member})", topic.name), settings)
}

fn topic_cluster(topic: &ExternalTopic<'_>) -> Result<Cluster, RunError> {
    Cluster::new(topic.name, std::slice::from_ref(&topic.brokers), Vec::new())
}

/// The connection settings every client of a node starts from.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    /// Bootstrap servers, `host:port` each.
    pub(crate) brokers: Vec<String>,
    /// librdkafka properties passed as they are (`security.protocol=ssl`, `sasl.mechanism=…`).
    pub(crate) properties: Vec<(String, String)>,
}

impl Cluster {
    /// The cluster at `brokers` (`host:port` each, or several comma-separated, as an `${ENV}` value
    /// may hold them) for node `node`; none named is an error.
    pub(crate) fn new(node: &str, brokers: &[String], properties: Vec<(String, String)>) -> Result<Cluster, RunError> {
        let brokers: Vec<String> =
            brokers.iter().flat_map(|b| b.split(',')).map(|b| b.trim().to_string()).filter(|b| !b.is_empty()).collect();
        if brokers.is_empty() {
            return Err(RunError::config(format!("{node}: `brokers` names no broker")));
        }
        Ok(Cluster { brokers, properties })
    }

    /// The brokers as librdkafka's `bootstrap.servers` wants them.
    pub(crate) fn bootstrap(&self) -> String {
        self.brokers.join(",")
    }

    /// A client configuration for these brokers; `properties` are applied last, so they win.
    pub(crate) fn config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", self.bootstrap())
            .set("client.id", "flowc")
            .set_log_level(RDKafkaLogLevel::Warning);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

/// Splits `key=value` properties; a text without `=` is a configuration error naming it.
pub(crate) fn parse_properties(node: &str, items: &[String]) -> Result<Vec<(String, String)>, String> {
    items
        .iter()
        .map(|item| match item.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
            _ => Err(format!("{node}: `properties` item {item:?} is not `key=value` (a librdkafka property)")),
        })
        .collect()
}

/// librdkafka's callbacks into `tracing`: errors (an unreachable broker, a lost connection) are
/// warnings naming the node and its brokers, each distinct one at most every ten seconds so an
/// outage is visible without flooding the log.
pub(crate) struct NodeContext {
    node: String,
    brokers: String,
    last: Mutex<Option<(String, Instant)>>,
    /// A consumer's node counters, given its lag per partition from librdkafka's statistics.
    lag: OnceLock<Arc<NodeMetrics>>,
}

/// How long the same error message stays quiet after it was logged.
const REPEAT_QUIET: Duration = Duration::from_secs(10);

impl NodeContext {
    pub(crate) fn new(node: &str, cluster: &Cluster) -> NodeContext {
        NodeContext {
            node: node.to_string(),
            brokers: cluster.bootstrap(),
            last: Mutex::new(None),
            lag: OnceLock::new(),
        }
    }

    /// From now on librdkafka's statistics (`statistics.interval.ms`) set `metrics`' lag per
    /// partition: records not yet committed, that is not yet written by every sink.
    pub(crate) fn report_lag_to(&self, metrics: Arc<NodeMetrics>) {
        let _ = self.lag.set(metrics);
    }

    fn should_log(&self, message: &str) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some((seen, at)) = last.as_ref() {
            if seen == message && now.duration_since(*at) < REPEAT_QUIET {
                return false;
            }
        }
        *last = Some((message.to_string(), now));
        true
    }
}

impl ClientContext for NodeContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                if self.should_log(message) {
                    tracing::warn!("{}: Kafka at {}: {facility}: {message}", self.node, self.brokers)
                }
            }
            _ => tracing::debug!("{}: librdkafka {facility}: {message}", self.node),
        }
    }

    fn stats(&self, statistics: Statistics) {
        let Some(metrics) = self.lag.get() else { return };
        // Per partition number, over the topics the node reads: its assigned partitions only
        // (librdkafka lists others with a lag of -1).
        let mut lags: BTreeMap<u32, u64> = BTreeMap::new();
        for topic in statistics.topics.values() {
            for p in topic.partitions.values() {
                if p.partition < 0 || !p.desired {
                    continue;
                }
                if let Some(lag) = partition_lag(p) {
                    *lags.entry(p.partition as u32).or_default() += lag;
                }
            }
        }
        metrics.set_partition_lag(&lags.into_iter().collect::<Vec<_>>());
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let message = format!("{error}: {reason}");
        if self.should_log(&message) {
            tracing::warn!("{}: Kafka at {}: {message} (retrying)", self.node, self.brokers);
        }
    }
}

impl ConsumerContext for NodeContext {}

/// What an assigned partition has left to read: librdkafka's lag behind the committed offset, or,
/// before anything was committed there, behind what has been read; an empty partition has nothing
/// left. `None` while not known yet (no watermarks yet).
fn partition_lag(p: &rdkafka::statistics::Partition) -> Option<u64> {
    if p.consumer_lag >= 0 {
        return Some(p.consumer_lag as u64);
    }
    if p.hi_offset < 0 {
        return None;
    }
    if p.app_offset >= 0 {
        return Some(p.hi_offset.saturating_sub(p.app_offset).max(0) as u64);
    }
    (p.lo_offset >= 0 && p.lo_offset == p.hi_offset).then_some(0)
}

#[cfg(test)]
mod tests {
    use super::partition_lag;
    use rdkafka::statistics::Partition;

    fn partition(lo: i64, hi: i64, app: i64, lag: i64) -> Partition {
        Partition { lo_offset: lo, hi_offset: hi, app_offset: app, consumer_lag: lag, ..Partition::default() }
    }

    #[test]
    fn a_partition_lags_behind_its_commit_or_what_was_read_and_an_empty_one_not_at_all() {
        assert_eq!(partition_lag(&partition(0, 500, 400, 120)), Some(120), "librdkafka's lag when known");
        assert_eq!(partition_lag(&partition(0, 500, 400, -1)), Some(100), "before a commit: behind what was read");
        assert_eq!(partition_lag(&partition(0, 0, -1001, -1)), Some(0), "an empty partition, nothing committed");
        assert_eq!(partition_lag(&partition(0, 500, -1001, -1)), None, "not read, not committed: not known");
        assert_eq!(partition_lag(&partition(-1, -1, -1001, -1)), None, "no watermarks yet");
    }
}
