//! Topic options: what goes between the braces of `topic name: Type { … }` (Kafka's topic configs).

use super::{optional, unset};
use flowc_compiler::builtins::flume::{key, FlumeConv, FlumeType};
use flowc_compiler::builtins::{ParamSig, ParamType};

/// Flume's Kafka channel is a topic on the cluster: `flowc import` declares one with `brokers`,
/// named by the channel's `kafka.topic` and consumed as its `kafka.consumer.group.id`.
pub const FLUME: &[FlumeType] = &[FlumeType::component(
    &["org.apache.flume.channel.kafka.KafkaChannel"],
    &[key("kafka.bootstrap.servers", "brokers", FlumeConv::Same)],
)
.unneeded(&[("parseAsFlumeEvent", crate::connectors::kafka::EVENT_FORMAT)])];

/// The options of a `topic` declaration.
pub const PARAMS: &[ParamSig] = &[
    optional(
        "partitions",
        ParamType::Int { min: 1, max: 100_000 },
        "1",
        "Number of partitions; records with the same key go to the same partition, order is kept per partition.",
    ),
    optional(
        "retention",
        ParamType::Duration,
        "168h",
        "Delete whole sealed segments older than this (Kafka's `retention.ms`; consuming never deletes).",
    ),
    unset(
        "retention_bytes",
        ParamType::Size,
        "Delete the oldest sealed segments of a partition beyond this size (Kafka's `retention.bytes`); default: unlimited.",
    ),
    unset(
        "key",
        ParamType::Field,
        "Field of the topic's type used as the record key (partitioned with Kafka's murmur2); default: no key.",
    ),
    optional(
        "segment_size",
        ParamType::Size,
        "1GiB",
        "Start a new segment file at this size (Kafka's `segment.bytes`).",
    ),
    optional(
        "segment_age",
        ParamType::Duration,
        "7d",
        "Start a new segment file after this long, so retention can delete old data (Kafka's `segment.ms`).",
    ),
    optional(
        "fsync",
        ParamType::Enum(&["always", "interval", "never"]),
        "interval",
        "When appends are synced: before each acknowledgement (group-committed), every `fsync_interval`, or when the OS decides.",
    ),
    optional(
        "fsync_interval",
        ParamType::Duration,
        "1s",
        "Time between syncs with `fsync = interval`.",
    ),
    unset(
        "brokers",
        ParamType::Brokers,
        "Bind the topic to an external Kafka cluster (`[\"kafka1:9092\", \"kafka2:9092\"]`) instead of the embedded log; default: embedded.",
    ),
];
