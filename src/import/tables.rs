//! Which Flume component becomes which flowc connector, and how each of its options carries over.

pub(super) const SECTIONS: &[&str] = &["sources", "channels", "sinks", "sinkgroups"];

// ---------------------------------------------------------------- option tables

/// How a Flume value becomes a flowc value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Conv {
    /// By the flowc option's type.
    Same,
    /// Milliseconds → a duration.
    Ms,
    /// Seconds → a duration.
    Secs,
    /// Bytes → a size.
    Bytes,
}

/// `(Flume key, flowc option, conversion)`; a flowc option `a.b` is option `b` of block `a`.
pub(super) type OptTable = &'static [(&'static str, &'static str, Conv)];

pub(super) struct Kind {
    /// flowc's connector kind.
    pub(super) kind: &'static str,
    pub(super) options: OptTable,
    /// Options the translation always writes (e.g. `mode = sequence` for `seq`).
    pub(super) fixed: &'static [(&'static str, &'static str)],
    /// Flume keys of this type that flowc does not need, and why.
    pub(super) unneeded: &'static [(&'static str, &'static str)],
}

pub(super) const SPOOLDIR: OptTable = &[
    ("spoolDir", "dir", Conv::Same),
    ("fileSuffix", "completed_suffix", Conv::Same),
    ("deletePolicy", "delete_policy", Conv::Same),
    ("includePattern", "include", Conv::Same),
    ("ignorePattern", "ignore", Conv::Same),
    ("consumeOrder", "order", Conv::Same),
    ("pollDelay", "poll_interval", Conv::Ms),
    ("recursiveDirectorySearch", "recursive", Conv::Same),
    ("batchSize", "batch_size", Conv::Same),
    ("deserializer.maxLineLength", "max_line_length", Conv::Bytes),
];
pub(super) const EXEC: OptTable = &[
    ("command", "command", Conv::Same),
    ("shell", "shell", Conv::Same),
    ("restart", "restart", Conv::Same),
    ("restartThrottle", "restart_throttle", Conv::Ms),
    ("logStdErr", "log_stderr", Conv::Same),
    ("batchSize", "batch_size", Conv::Same),
    ("batchTimeout", "batch_timeout", Conv::Ms),
];
pub(super) const TAILDIR: OptTable = &[("batchSize", "batch_size", Conv::Same)];
pub(super) const NETCAT: OptTable =
    &[("max-line-length", "max_line_length", Conv::Bytes), ("ack-every-event", "ack", Conv::Same)];
pub(super) const SEQ: OptTable = &[("totalEvents", "count", Conv::Same), ("batchSize", "batch_size", Conv::Same)];
pub(super) const STRESS: OptTable = &[
    ("size", "size", Conv::Bytes),
    ("maxTotalEvents", "count", Conv::Same),
    ("maxEventsPerSecond", "rate", Conv::Same),
    ("batchSize", "batch_size", Conv::Same),
];
pub(super) const KAFKA_SOURCE: OptTable = &[
    ("kafka.bootstrap.servers", "brokers", Conv::Same),
    ("kafka.topics", "topic", Conv::Same),
    ("kafka.consumer.group.id", "group", Conv::Same),
    ("kafka.consumer.auto.offset.reset", "start", Conv::Same),
    ("batchSize", "batch_size", Conv::Same),
    ("batchDurationMillis", "batch_wait", Conv::Ms),
];
pub(super) const MEMORY: OptTable = &[
    ("capacity", "capacity", Conv::Same),
    ("transactionCapacity", "transaction_capacity", Conv::Same),
    ("byteCapacity", "byte_capacity", Conv::Bytes),
    ("keep-alive", "keep_alive", Conv::Secs),
];
pub(super) const FILE_CHANNEL: OptTable = &[
    ("dataDirs", "dir", Conv::Same),
    ("capacity", "capacity", Conv::Same),
    ("transactionCapacity", "transaction_capacity", Conv::Same),
    ("maxFileSize", "segment_size", Conv::Bytes),
];
pub(super) const LOGGER: OptTable = &[("maxBytesToLog", "max_bytes", Conv::Bytes)];
pub(super) const HDFS: OptTable = &[
    ("hdfs.path", "path", Conv::Same),
    ("hdfs.filePrefix", "prefix", Conv::Same),
    ("hdfs.fileSuffix", "suffix", Conv::Same),
    ("hdfs.inUseSuffix", "in_use_suffix", Conv::Same),
    ("hdfs.rollInterval", "roll.interval", Conv::Secs),
    ("hdfs.rollSize", "roll.size", Conv::Bytes),
    ("hdfs.rollCount", "roll.count", Conv::Same),
    ("hdfs.idleTimeout", "roll.idle", Conv::Secs),
    ("hdfs.batchSize", "batch", Conv::Same),
    ("hdfs.useLocalTimeStamp", "use_local_time", Conv::Same),
    ("hdfs.maxOpenFiles", "max_open_files", Conv::Same),
];
pub(super) const FILE_ROLL: OptTable = &[
    ("sink.directory", "path", Conv::Same),
    ("sink.rollInterval", "roll.interval", Conv::Secs),
    ("sink.batchSize", "batch", Conv::Same),
];
pub(super) const KAFKA_SINK: OptTable = &[
    ("kafka.bootstrap.servers", "brokers", Conv::Same),
    ("kafka.topic", "topic", Conv::Same),
    ("kafka.producer.acks", "acks", Conv::Same),
    ("kafka.producer.compression.type", "compression", Conv::Same),
    ("kafka.producer.linger.ms", "linger", Conv::Ms),
];
/// Flume's Kafka channel becomes a topic declaration; `kafka.topic` names it and
/// `kafka.consumer.group.id` is the group its sinks consume as (read by `emit`).
pub(super) const KAFKA_CHANNEL: OptTable = &[("kafka.bootstrap.servers", "brokers", Conv::Same)];

/// Flume's type name of its Kafka channel.
pub(super) const KAFKA_CHANNEL_TYPE: &str = "org.apache.flume.channel.kafka.KafkaChannel";

const KAFKA_EVENT_FORMAT: &str =
    "not needed (flowc's Kafka records hold the event itself, never Flume's Avro event with its headers)";
const KAFKA_SOURCE_UNNEEDED: &[(&str, &str)] = &[("useFlumeEventFormat", KAFKA_EVENT_FORMAT)];
const KAFKA_SINK_UNNEEDED: &[(&str, &str)] = &[
    ("useFlumeEventFormat", KAFKA_EVENT_FORMAT),
    ("flumeBatchSize", "not needed (flowc's `kafka` sink sends each batch it is handed at once)"),
    ("batchSize", "not needed (flowc's `kafka` sink sends each batch it is handed at once)"),
];
pub(super) const KAFKA_CHANNEL_UNNEEDED: &[(&str, &str)] = &[("parseAsFlumeEvent", KAFKA_EVENT_FORMAT)];

pub(super) fn source_kind(flume: &str) -> Option<Kind> {
    let (kind, options, fixed): (&'static str, OptTable, &'static [(&str, &str)]) = match flume {
        "spooldir" => ("spooldir", SPOOLDIR, &[]),
        "exec" => ("exec", EXEC, &[]),
        "TAILDIR" | "taildir" => ("tail", TAILDIR, &[]),
        "netcat" => ("netcat", NETCAT, &[]),
        "http" | "org.apache.flume.source.http.HTTPSource" => ("http", &[], &[]),
        "seq" => ("generator", SEQ, &[("mode", "sequence")]),
        "org.apache.flume.source.StressSource" => ("generator", STRESS, &[("mode", "stress")]),
        "org.apache.flume.source.kafka.KafkaSource" | "kafka" => ("kafka", KAFKA_SOURCE, &[]),
        _ => return None,
    };
    let unneeded = if kind == "kafka" { KAFKA_SOURCE_UNNEEDED } else { &[] };
    Some(Kind { kind, options, fixed, unneeded })
}

pub(super) fn channel_kind(flume: &str) -> Option<Kind> {
    match flume {
        "memory" => Some(Kind { kind: "memory", options: MEMORY, fixed: &[], unneeded: &[] }),
        "file" => Some(Kind { kind: "file", options: FILE_CHANNEL, fixed: &[], unneeded: &[] }),
        _ => None,
    }
}

pub(super) fn sink_kind(flume: &str) -> Option<Kind> {
    let (kind, options): (&'static str, OptTable) = match flume {
        "logger" => ("logger", LOGGER),
        "null" => ("null", &[]),
        "hdfs" => ("files", HDFS),
        "file_roll" => ("files", FILE_ROLL),
        "org.apache.flume.sink.kafka.KafkaSink" | "kafka" => ("kafka", KAFKA_SINK),
        _ => return None,
    };
    let unneeded = if kind == "kafka" { KAFKA_SINK_UNNEEDED } else { &[] };
    Some(Kind { kind, options, fixed: &[], unneeded })
}

// ---------------------------------------------------------------- values

/// Flume options that flowc does without, and why.
pub(super) fn known_without_equivalent(key: &str) -> Option<&'static str> {
    Some(match key {
        "positionFile" | "writePosInterval" => {
            "flowc keeps `tail` positions in its data directory and commits them with each batch"
        }
        "checkpointDir" | "backupCheckpointDir" | "useDualCheckpoints" | "checkpointInterval" => {
            "flowc's `file` channel keeps its log and its checkpoints in one `dir`"
        }
        "byteCapacityBufferPercentage" => "flowc's `byte_capacity` counts event bytes only, with no header allowance",
        "charset" | "inputCharset" | "deserializer" => "flowc reads UTF-8 lines; no setting needed",
        "selector.optional" => "flowc has no optional channels: every target is required",
        "hdfs.writeFormat"
        | "hdfs.callTimeout"
        | "hdfs.threadsPoolSize"
        | "hdfs.rollTimerPoolSize"
        | "hdfs.closeTries"
        | "hdfs.retryInterval"
        | "hdfs.minBlockReplicas"
        | "hdfs.inUsePrefix" => "an HDFS client setting; flowc has no HDFS client",
        _ => return None,
    })
}

/// Why a Flume component type has no flowc equivalent, and what to use instead.
pub(super) fn hint(flume_type: &str) -> &'static str {
    match flume_type {
        "avro" | "thrift" => " (flowc agents share topics instead of Avro/Thrift RPC: declare a topic with `brokers`)",
        "SPILLABLEMEMORY" | "jdbc" => " (use a `file` channel: durable, and as fast as the disk)",
        "syslogtcp" | "multiport_syslogtcp" | "syslogudp" => {
            " (read the lines with `netcat` and `| parse syslog as T`)"
        }
        _ => "",
    }
}

pub(super) fn is_timestamp(t: &str) -> bool {
    matches!(t.trim(), "timestamp" | "org.apache.flume.interceptor.TimestampInterceptor$Builder")
}
