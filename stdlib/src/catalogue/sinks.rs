//! Sinks: where events leave a pipeline (logs, files and object stores, topics, Kafka), and sink groups.

use super::object_store::{ACCESS_KEY_ID, ALLOW_HTTP, ENDPOINT, REGION, SECRET_ACCESS_KEY};
use super::{int_from, optional, required, unset};
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamSig, ParamType, Role, StreamIn, StreamOut, Weakening};

/// Flume's logger sink, logging whole events.
pub const LOGGER: ConnectorSig = ConnectorSig {
    kind: "logger",
    role: Role::Sink,
    summary: "Log each event, whole and readable, to standard output (flowc's own messages go to standard error).",
    doc: "Writes one log line per event: the line itself for untyped streams, `field=value` pairs (or one \
JSON object with `format = json`) for records. Unlike Flume's logger, which shows the first 16 bytes of \
a body in hex, events are logged whole up to `max_bytes`, and a longer one is cut with a marker saying \
how many bytes were left out. A take is committed once its lines are written.",
    params: &[
        optional(
            "max_bytes",
            ParamType::Size,
            "64KiB",
            "Longest event logged in full; longer ones are cut and marked (Flume's `maxBytesToLog`, whose default is 16 bytes).",
        ),
        optional(
            "format",
            ParamType::Enum(&["lines", "json"]),
            "lines",
            "`lines`: the line, or `field=value` pairs; `json`: one JSON object per event.",
        ),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "a take is committed after its events are written to the log",
    output: StreamOut::PassThrough,
    input: StreamIn::Any,
    flume: "logger",
    check: None,
    weaker_when: &[],
};

/// The nested `roll = { … }` block of the `files` sink.
const ROLL: &[ParamSig] = &[
    optional(
        "interval",
        ParamType::Duration,
        "5m",
        "Close a file this long after it was opened; `0s` = never by time (Flume's `rollInterval`, default 30 s).",
    ),
    optional(
        "size",
        ParamType::Size,
        "128MiB",
        "Close a file once this many bytes are written, counted after encoding and compression; `0B` = never by size.",
    ),
    optional(
        "count",
        int_from(0),
        "0",
        "Close a file after this many events; `0` = never by count (Flume's default 10 makes tiny files).",
    ),
    optional(
        "idle",
        ParamType::Duration,
        "1m",
        "Close a file that received nothing for this long (e.g. the previous time bucket); `0s` = never.",
    ),
];

/// Flume's HDFS sink, grown up: local files or object stores, text or columnar.
pub const FILES: ConnectorSig = ConnectorSig {
    kind: "files",
    role: Role::Sink,
    summary: "Write events to time-bucketed, rolled files on a local disk or an object store (S3, GCS, Azure).",
    doc: "The HDFS sink's semantics on any file system. Each event's bucket is `path` with its escapes \
expanded (`%Y %y %m %d %H %M %S %s` from the event time, rounded down to a multiple of `round`; \
`%{field}` from the record, encoded so a value can never escape the root). Each bucket has one open \
file, named `<prefix><n><suffix>` and written under the `in_use_suffix` (on object stores: an unfinished \
multipart upload) until `roll` closes it; only then does it get its final name, so readers never see \
half a file, and a leftover in-use file is finished on restart (Parquet, Arrow and compressed files, \
unreadable when cut short, are rebuilt from a journal of their acknowledged rows kept beside them). \
A take is committed only after its events are flushed. Defaults roll every 5 minutes or 128 MiB \
instead of Flume's 30 s / 1 KiB / 10 events, which made thousands of tiny files; `check` warns about settings that still would. Columnar \
formats (`csv`, `parquet`, `arrow`) need a typed record stream and write its checked schema. On an \
object store, an open file is a multipart upload: its bytes are spooled in the data directory as they \
are flushed (a committed take survives a crash) and shipped in parts of at least 5 MiB; the object \
appears under its final name only once the upload is completed, and a run that crashed has its uploads \
completed (text formats) or aborted and written anew from their journal (Parquet, Arrow, compressed) \
when it starts again.",
    params: &[
        required(
            "path",
            ParamType::PathTemplate,
            "Directory template: local (`\"out/%Y-%m-%d/%H%M/\"`) or `s3://`, `gs://`, `az://` URL (Flume's `hdfs.path`).",
        ),
        unset(
            "prefix",
            ParamType::PathTemplate,
            "Start of each file name, may use the path escapes (Flume's `filePrefix`); default: none.",
        ),
        unset(
            "suffix",
            ParamType::String,
            "End of each file name; default: the format's extension (`.log`, `.json`, `.csv`, `.parquet`, `.arrow`, plus `.gz` or `.zst`).",
        ),
        optional(
            "in_use_suffix",
            ParamType::String,
            "\".tmp\"",
            "Suffix of a file still being written, dropped when it is closed.",
        ),
        unset(
            "round",
            ParamType::Duration,
            "Round the bucket time down to a multiple of this (e.g. `10m`: 11:54 → 1150); default: no rounding.",
        ),
        unset(
            "roll",
            ParamType::Record(ROLL),
            "When an open file is closed: `{ interval, size, count, idle }`, whichever comes first; omitted fields keep the defaults below.",
        ),
        optional(
            "batch",
            int_from(1),
            "1_000",
            "Events per take from the channel; each take is flushed before it is committed (Flume's `batchSize`).",
        ),
        optional(
            "format",
            ParamType::Enum(&["lines", "json", "csv", "parquet", "arrow"]),
            "lines",
            "File format: lines, NDJSON, CSV, Parquet or Arrow IPC; `csv`, `parquet` and `arrow` need a typed record stream.",
        ),
        unset(
            "compression",
            ParamType::Enum(&["none", "gzip", "zstd", "snappy"]),
            "`gzip` or `zstd` for text formats; `zstd`, `snappy` or `none` inside Parquet; `zstd` or `none` inside Arrow; default: `none` (Parquet: `zstd`).",
        ),
        optional(
            "csv_header",
            ParamType::Bool,
            "true",
            "Write a header row of field names at the start of each CSV file.",
        ),
        optional(
            "row_group_size",
            int_from(1),
            "1_000_000",
            "Most rows per Parquet row group.",
        ),
        unset(
            "time_field",
            ParamType::Field,
            "Bucket by this timestamp field of the record; default: the event's timestamp (when its source read it).",
        ),
        optional(
            "use_local_time",
            ParamType::Bool,
            "false",
            "Bucket by the sink's clock when it writes, ignoring event timestamps (Flume's `useLocalTimeStamp`).",
        ),
        optional(
            "timezone",
            ParamType::Enum(&["utc", "local"]),
            "utc",
            "Time zone of the path escapes; `local` is the machine's zone (Flume's default).",
        ),
        optional(
            "max_open_files",
            int_from(1),
            "1_000",
            "Most files open at once; the least recently written is closed beyond it.",
        ),
        ENDPOINT,
        REGION,
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        ALLOW_HTTP,
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "a take is committed after its events are flushed; a crash may repeat the last \
uncommitted take in a new file",
    output: StreamOut::PassThrough,
    input: StreamIn::RecordWhen { param: "format", values: &["csv", "parquet", "arrow"] },
    flume: "hdfs",
    check: Some(crate::connectors::files_check),
    weaker_when: &[],
};

/// Produce into a declared topic.
pub const TOPIC: ConnectorSig = ConnectorSig {
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

/// Flume's Kafka sink: produce into an external Kafka cluster.
pub const KAFKA: ConnectorSig = ConnectorSig {
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

/// Flume's null sink.
pub const NULL: ConnectorSig = ConnectorSig {
    kind: "null",
    role: Role::Sink,
    summary: "Discard every event (benchmarks, draining a channel).",
    doc: "Takes and commits events without writing them anywhere. Useful to measure a pipeline without its \
output, or to drain a channel on purpose.",
    params: &[],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "trivially: nothing is written, so nothing can be lost by writing",
    output: StreamOut::PassThrough,
    input: StreamIn::Any,
    flume: "null",
    check: None,
    weaker_when: &[],
};

/// Flume's failover sink processor.
pub const FAILOVER: ConnectorSig = ConnectorSig {
    kind: "failover",
    role: Role::Sink,
    summary: "A sink group: send everything to the first healthy sink of a priority list.",
    doc: "Events go to the first sink of `sinks` that is healthy; the list order is the priority (Flume's \
`processor.priority.<sink>`). A sink whose write fails is set aside for a cool-down that doubles on each \
failure up to `max_penalty`, and the batch is retried on the next sink; it is used again after the \
cool-down. The group's guarantee is the weakest of its members'.",
    params: &[
        required(
            "sinks",
            ParamType::List(&ParamType::SinkRef),
            "The member sinks, highest priority first, e.g. `[primary, backup]`.",
        ),
        optional(
            "max_penalty",
            ParamType::Duration,
            "30s",
            "Longest cool-down of a failed sink (Flume's `maxpenalty`).",
        ),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "a failed batch is retried on the next sink; as strong as its weakest member",
    output: StreamOut::PassThrough,
    input: StreamIn::Any,
    flume: "failover",
    check: None,
    weaker_when: &[],
};

/// Flume's load-balancing sink processor.
pub const LOAD_BALANCE: ConnectorSig = ConnectorSig {
    kind: "load_balance",
    role: Role::Sink,
    summary: "A sink group: spread batches across several sinks, round robin or at random.",
    doc: "Each batch goes to one member of `sinks`, chosen by `selector`. With `backoff = true` a sink whose \
write fails is skipped for a time that doubles on each failure up to `max_backoff`, and the batch is \
retried on another member. The group's guarantee is the weakest of its members'.",
    params: &[
        required("sinks", ParamType::List(&ParamType::SinkRef), "The member sinks, e.g. `[k1, k2, k3]`."),
        optional(
            "selector",
            ParamType::Enum(&["round_robin", "random"]),
            "round_robin",
            "How the member for each batch is chosen.",
        ),
        optional(
            "backoff",
            ParamType::Bool,
            "true",
            "Skip a failing member for a growing time instead of retrying it at once (Flume's default is `false`).",
        ),
        optional(
            "max_backoff",
            ParamType::Duration,
            "30s",
            "Longest time a failing member is skipped (Flume's `selector.maxTimeOut`).",
        ),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "a failed batch is retried on another member; as strong as its weakest member",
    output: StreamOut::PassThrough,
    input: StreamIn::Any,
    flume: "load_balance",
    check: None,
    weaker_when: &[],
};
