//! `kafka` as a source and as a sink: an external Kafka cluster at `brokers`. Checked, documented and
//! imported from Flume, but not run yet: the builders refuse before anything starts.

use crate::catalogue::{batch_size, optional, required, unset};
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut, Weakening};
use flowc_runtime::exec::{Connector, ErrorKind, NodeSpec, RunError};

/// Flume's Kafka source: consume a topic of an external Kafka cluster.
pub(crate) const SOURCE: Connector = Connector { sig: SOURCE_SIG, build: |spec| Err(refused(spec, "source")) };

const SOURCE_SIG: ConnectorSig = ConnectorSig {
    kind: "kafka",
    role: Role::Source,
    summary: "Consume a topic of an external Kafka cluster; each record value becomes a line.",
    doc: "A Kafka consumer in group `group`, for topics that are not declared in the `.flow` file (to consume \
a declared topic bound to Kafka, use the `topic` source). Offsets are committed to Kafka only after the \
channel has taken the batch (auto-commit is off), so a crash redelivers the uncommitted records.",
    params: &[
        required("brokers", ParamType::String, "Bootstrap servers, comma-separated: `\"kafka1:9092,kafka2:9092\"`."),
        required("topic", ParamType::String, "The Kafka topic to consume."),
        optional("group", ParamType::String, "\"flowc\"", "Kafka consumer group id."),
        optional(
            "start",
            ParamType::Enum(&["earliest", "latest"]),
            "earliest",
            "Where a group with no committed offset starts (Kafka's `auto.offset.reset`).",
        ),
        batch_size("1_000"),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "offsets are committed to Kafka after the channel takes each batch",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "kafka",
    check: None,
    weaker_when: &[],
};

/// Flume's Kafka sink: produce into an external Kafka cluster.
pub(crate) const SINK: Connector = Connector { sig: SINK_SIG, build: |spec| Err(refused(spec, "sink")) };

const SINK_SIG: ConnectorSig = ConnectorSig {
    kind: "kafka",
    role: Role::Sink,
    summary: "Produce events into a topic of an external Kafka cluster.",
    doc: "A Kafka producer for topics not declared in the `.flow` file (a declared topic bound to Kafka with \
`brokers` uses the `topic` sink). Records are keyed by `key`. A take is committed only after Kafka \
acknowledged every record of it; with the default `acks = all` that means the in-sync replicas have it. \
Unlike Flume's Kafka sink (`acks = 1`), nothing the leader loses on failover is lost by default.",
    params: &[
        required("brokers", ParamType::String, "Bootstrap servers, comma-separated: `\"kafka1:9092,kafka2:9092\"`."),
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
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "a take is committed after Kafka acknowledged it (with `acks = 0`, best effort)",
    output: StreamOut::PassThrough,
    input: StreamIn::Any,
    flume: "kafka",
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

/// The refusal of a `kafka` source or sink: the embedded log is what `flowc run` reaches today.
fn refused(spec: &NodeSpec<'_>, role: &str) -> RunError {
    RunError {
        kind: ErrorKind::Unsupported,
        message: format!(
            "the `kafka` {role} (an external Kafka cluster at `brokers`) cannot run yet; \
             a declared topic in the embedded log runs (`{role} {} = topic {{ topic = … }}`)",
            spec.name
        ),
    }
}
