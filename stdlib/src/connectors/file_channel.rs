//! `file`: Flume's durable file channel, a one-partition log the executor runs ([`builtin`]).

use crate::catalogue::{int_from, optional, unset};
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut, Weakening};
use flowc_runtime::exec::{builtin, Connector};

/// Flume's file channel, on the embedded log.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: builtin::file_channel };

const SIG: ConnectorSig = ConnectorSig {
    kind: "file",
    role: Role::Channel,
    summary: "A durable channel on the embedded log: what it has accepted survives a crash.",
    doc: "Appends each put to a log of segment files under `dir` and acknowledges the source only once the \
batch is written (and synced, per `fsync`), so the source's position advances only past events that are \
safe. Sinks read from the log and their takes are committed as offsets; a crash redelivers the takes \
that were not committed. Segments whose events every sink has committed are deleted. With `fsync = \
always` nothing acknowledged is lost even on power failure; with `interval` (the default) a power \
failure or kernel crash can lose up to `fsync_interval` of acknowledged events, while a process crash \
loses nothing; `never` leaves syncing to the OS.",
    params: &[
        unset(
            "dir",
            ParamType::String,
            "Directory of the channel's log; default: `channels/<name>` under the data directory.",
        ),
        optional(
            "capacity",
            int_from(1),
            "1_000_000",
            "Most events held at once; when full, the source waits.",
        ),
        optional(
            "transaction_capacity",
            int_from(1),
            "10_000",
            "Most events in one take: what the sinks are handed at once (a put of any size is appended whole).",
        ),
        optional(
            "fsync",
            ParamType::Enum(&["always", "interval", "never"]),
            "interval",
            "When writes are synced to disk: before every acknowledgement (group-committed), every `fsync_interval`, or when the OS decides.",
        ),
        optional(
            "fsync_interval",
            ParamType::Duration,
            "1s",
            "Time between syncs with `fsync = interval`.",
        ),
        optional(
            "segment_size",
            ParamType::Size,
            "64MiB",
            "Size at which the log starts a new segment file.",
        ),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "accepted events are on disk before the source advances; with `fsync = interval` or \
`never` an OS crash or power loss (not a process crash) can lose the unsynced tail",
    output: StreamOut::PassThrough,
    input: StreamIn::Any,
    flume: "file",
    check: None,
    weaker_when: &[Weakening {
        param: "fsync",
        values: &["never"],
        guarantee: Guarantee::AtMostOnceOnCrash,
        note: "`fsync = never` survives a flowc crash but not a machine crash: the page cache is lost",
    }],
};
