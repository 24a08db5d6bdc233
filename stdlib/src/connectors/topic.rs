//! `topic` as a source and as a sink: a declared topic of the embedded log read as a consumer group,
//! or appended to; both run inside the executor ([`builtin`]).

use crate::catalogue::{batch_size, optional, required, unset};
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut};
use flowc_runtime::exec::{builtin, Connector};

/// Consume a topic of the embedded log (or its bound Kafka cluster) as a consumer-group member.
pub(crate) const SOURCE: Connector = Connector { sig: SOURCE_SIG, build: builtin::topic_source };

const SOURCE_SIG: ConnectorSig = ConnectorSig {
    kind: "topic",
    role: Role::Source,
    summary: "Consume a declared topic as a member of a consumer group; the stream has the topic's type.",
    doc: "Reads the records of `topic` as a member of consumer group `group`: members of one group share the \
topic's partitions (each record goes to one of them), and every group sees every record. The group's \
offsets are committed only after the channel has taken the batch, so a crash redelivers at most the \
uncommitted records. A group with no committed offset starts at `start`. Consuming a topic on an edge \
(`access -> group \"A\" -> sink`) behaves the same way.",
    params: &[
        required("topic", ParamType::TopicRef, "The declared topic to consume."),
        unset(
            "group",
            ParamType::String,
            "Consumer group name; default: the source's own name, so a restarted pipeline resumes.",
        ),
        optional(
            "start",
            ParamType::Enum(&["earliest", "latest"]),
            "earliest",
            "Where a group with no committed offset starts: the oldest retained record, or new records only.",
        ),
        batch_size("1_000"),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "group offsets are committed after the channel takes each batch",
    output: StreamOut::TopicOf("topic"),
    input: StreamIn::Any,
    flume: "",
    check: None,
    weaker_when: &[],
};

/// Produce into a declared topic.
pub(crate) const SINK: Connector = Connector { sig: SINK_SIG, build: builtin::topic_sink };

const SINK_SIG: ConnectorSig = ConnectorSig {
    kind: "topic",
    role: Role::Sink,
    summary: "Append events to a declared topic of the embedded log (or its bound Kafka cluster).",
    doc: "Each event becomes a record of `topic`; its partition is chosen from `key` with Kafka's murmur2 \
(the same partition a Java client would pick), or spread across partitions when there is no key. A take \
is committed only after the topic has acknowledged the append (durable per the topic's `fsync`). Writing \
to a topic on an edge (`source -> topic_name`) behaves the same way.",
    params: &[
        required("topic", ParamType::TopicRef, "The declared topic to append to."),
        unset("key", ParamType::Field, "Field whose value is the record key; default: the topic's own `key`, if any."),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "a take is committed after the topic acknowledged the append",
    output: StreamOut::PassThrough,
    input: StreamIn::Any,
    flume: "",
    check: None,
    weaker_when: &[],
};
