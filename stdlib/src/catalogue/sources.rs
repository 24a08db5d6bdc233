//! Sources: where events enter a pipeline (files, commands, sockets, topics, object stores).

use super::object_store::{ACCESS_KEY_ID, ALLOW_HTTP, ENDPOINT, REGION, SECRET_ACCESS_KEY};
use super::{batch_size, int_from, optional, required, unset};
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut, Weakening};

/// Flume's spooling-directory source, minus its traps.
pub const SPOOLDIR: ConnectorSig = ConnectorSig {
    kind: "spooldir",
    role: Role::Source,
    summary: "Ingest finished files dropped into a directory, one line per event, renaming each when done.",
    doc: "Reads every file in `dir` that matches `include` (and not `ignore`), one event per line, one file at \
a time in `order`. A file is read only once it has been unchanged for `settle`, so a file still being \
copied in is not picked up half-written. When a file's last batch has been taken by the channel, it is \
renamed with `completed_suffix` (or deleted, with `delete_policy = immediate`); the position within the \
current file advances only after each batch is committed, so a crash re-reads at most the batches not \
yet committed. Unlike Flume, a file that changes after it was picked up, or that cannot be decoded, does \
not stop the source: it is quarantined (renamed with `quarantine_suffix`, or moved to `quarantine_dir`), \
reported, and the other files go on. Names starting with `.` and names ending in the completed or \
quarantine suffix are never read.",
    params: &[
        required(
            "dir",
            ParamType::String,
            "The spooling directory (Flume's `spoolDir`); relative paths are relative to the `.flow` file.",
        ),
        optional(
            "completed_suffix",
            ParamType::String,
            "\".COMPLETED\"",
            "Suffix appended to a file's name once every line of it has been committed (Flume's `fileSuffix`).",
        ),
        optional(
            "delete_policy",
            ParamType::Enum(&["never", "immediate"]),
            "never",
            "`never` renames finished files with `completed_suffix`; `immediate` deletes them once committed.",
        ),
        unset(
            "include",
            ParamType::Regex,
            "Only file names matching this regular expression are read; default: every file.",
        ),
        unset(
            "ignore",
            ParamType::Regex,
            "File names matching this regular expression are skipped (wins over `include`); default: none.",
        ),
        optional(
            "order",
            ParamType::Enum(&["oldest", "youngest", "random"]),
            "oldest",
            "Which file to read next, by modification time (ties broken by name).",
        ),
        optional(
            "poll_interval",
            ParamType::Duration,
            "500ms",
            "How often the directory is scanned for new files when there is nothing to read.",
        ),
        optional(
            "settle",
            ParamType::Duration,
            "2s",
            "How long a file's size and modification time must stay unchanged before it is read.",
        ),
        optional(
            "max_line_length",
            ParamType::Size,
            "1MiB",
            "Longest line accepted; a longer line is split into several events and counted.",
        ),
        batch_size("100"),
        optional("recursive", ParamType::Bool, "false", "Also read files in subdirectories of `dir`."),
        optional(
            "quarantine_suffix",
            ParamType::String,
            "\".QUARANTINED\"",
            "Suffix appended to a file that changed after it was picked up or could not be read.",
        ),
        unset(
            "quarantine_dir",
            ParamType::String,
            "Move quarantined files into this directory instead of renaming them in place.",
        ),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "a file is renamed (or deleted) only after all its lines are committed to the channel; \
a crash re-reads the uncommitted part",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "spooldir",
    check: None,
    weaker_when: &[],
};

/// Flume's exec source: run a command, one event per line of its output.
pub const EXEC: ConnectorSig = ConnectorSig {
    kind: "exec",
    role: Role::Source,
    summary: "Run a command and turn each line of its standard output into an event.",
    doc: "Starts `command` (split on whitespace, or passed to `shell` as one argument) and reads its standard \
output line by line. A command has no position to resume from: lines it printed but that were not yet \
committed when flowc crashes are lost, and a restarted `tail -F` prints its last lines again. Prefer \
`tail` for log files and `spooldir` for finished files; `check` warns when `exec` feeds a path. With \
`restart = true` the command is started again `restart_throttle` after it exits.",
    params: &[
        required("command", ParamType::String, "The command to run, e.g. `\"tail -F /var/log/app.log\"`."),
        unset(
            "shell",
            ParamType::String,
            "Run `command` through this shell, e.g. `\"/bin/sh -c\"` (pipes, globs, variables); default: no shell.",
        ),
        optional(
            "restart",
            ParamType::Bool,
            "false",
            "Start the command again when it exits; without it, the source ends when the command does.",
        ),
        optional("restart_throttle", ParamType::Duration, "10s", "How long to wait before restarting the command."),
        optional(
            "log_stderr",
            ParamType::Bool,
            "false",
            "Log the command's standard error lines (they never become events).",
        ),
        batch_size("20"),
        optional(
            "batch_timeout",
            ParamType::Duration,
            "3s",
            "Hand a partial batch to the channel after this long without filling it.",
        ),
    ],
    guarantee: Guarantee::BestEffort,
    guarantee_note: "a crash or restart loses or repeats lines; exec cannot replay",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "exec",
    check: None,
    weaker_when: &[],
};

/// Flume's TAILDIR source done right: follow files by name, persist positions.
pub const TAIL: ConnectorSig = ConnectorSig {
    kind: "tail",
    role: Role::Source,
    summary: "Follow one or many growing files (a path or a glob), like `tail -F`, with persisted positions.",
    doc: "Reads new lines appended to every file matching `path`, following each file by device, inode and \
a fingerprint of its first bytes. With `follow = name` (the default, like `tail -F`) a file renamed away is \
read on until it has been idle for `idle_timeout` and the new file under the name is read from its start, \
so rename-and-create rotation loses nothing and re-reads nothing; a renamed file that still matches the \
glob keeps its position (Flume's TAILDIR reads it again). A truncated file (copytruncate, `> file`) is read \
again from its start after what was not read yet is taken from its copy; lines written between the copy \
and the truncation are in neither file, as with every tailer. `follow = descriptor` keeps reading the open \
file after a rename, like `tail -f`. Positions are saved in the run's data directory once the channel took \
the lines, so a restart resumes where the last delivered line ended, also in a file rotated meanwhile. A \
partial last line is held back until its newline arrives.",
    params: &[
        required(
            "path",
            ParamType::String,
            "The file to follow, or a glob such as `\"logs/*.log\"` (re-expanded every `poll_interval`).",
        ),
        optional(
            "follow",
            ParamType::Enum(&["name", "descriptor"]),
            "name",
            "`name` follows the file name across rotation (`tail -F`); `descriptor` follows the open file (`tail -f`).",
        ),
        optional(
            "start_at",
            ParamType::Enum(&["beginning", "end"]),
            "beginning",
            "Where to start in a file with no saved position: its first line, or only lines written from now on.",
        ),
        optional(
            "poll_interval",
            ParamType::Duration,
            "250ms",
            "How often files are checked for growth, rotation and new glob matches.",
        ),
        optional(
            "idle_timeout",
            ParamType::Duration,
            "2m",
            "Close a file that has not grown for this long; it is reopened when it grows.",
        ),
        optional(
            "max_line_length",
            ParamType::Size,
            "1MiB",
            "Longest line accepted; a longer line is split into several events and counted.",
        ),
        batch_size("100"),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "file positions are saved with the channel commit; a crash re-reads only uncommitted lines",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "TAILDIR",
    check: None,
    weaker_when: &[],
};

/// Flume's netcat source: TCP lines, acknowledged.
pub const NETCAT: ConnectorSig = ConnectorSig {
    kind: "netcat",
    role: Role::Source,
    summary: "Listen on a TCP address and turn each newline-terminated line into an event, replying `OK`.",
    doc: "Accepts TCP connections on `address` (like `nc -k -l`); every `\\n`-terminated line is one event \
(a `\\r` before the `\\n` is dropped). With `ack = true` each line is answered `OK` once the channel has \
committed it (with a memory channel: once the sinks wrote it), or `FAILED: <reason>` when it could not \
be, so a client that resends unacknowledged lines loses nothing. A line longer than `max_line_length` \
is answered `FAILED: event too long` and the connection is closed (nothing of it is kept; lines before \
it are committed and acknowledged first); a line that is not UTF-8 is answered `FAILED: not UTF-8` and \
dropped, the connection going on; the unterminated rest of a connection the client closes is not an \
event (a client that died mid-line resends the whole line). Each of these counts as an error. Lines from all \
connections are gathered into batches of up to `batch_size` without waiting for a batch to fill. \
`port 0` picks a free port; the address listened on is printed on standard error. Bind a loopback \
address such as `\"127.0.0.1:44444\"` unless other hosts must reach it: the protocol has no \
authentication (flowc warns when the address is not loopback). SIGINT/SIGTERM stop accepting and \
reading; lines already read are committed and acknowledged before the connections close.",
    params: &[
        required(
            "address",
            ParamType::Address,
            "The address to listen on, e.g. `\"127.0.0.1:44444\"` (Flume's `bind` and `port`); port `0` picks a free one.",
        ),
        optional(
            "ack",
            ParamType::Bool,
            "true",
            "Reply `OK` to each line after it is committed (Flume's `ack-every-event`); `false`: reply nothing.",
        ),
        optional(
            "max_line_length",
            ParamType::Size,
            "512B",
            "Longest line accepted (without its newline); a longer line gets `FAILED` and the connection is closed.",
        ),
        optional(
            "max_connections",
            int_from(1),
            "100",
            "Connections served at once; further ones wait to be accepted.",
        ),
        optional(
            "idle_timeout",
            ParamType::Duration,
            "10m",
            "Close a connection that sent nothing for this long (its slot goes to a waiting one).",
        ),
        batch_size("100"),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "with `ack = true` a line is acknowledged only after the channel committed it; \
with `ack = false` lines in flight when flowc crashes are lost",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "netcat",
    check: None,
    weaker_when: &[Weakening {
        param: "ack",
        values: &["false"],
        guarantee: Guarantee::AtMostOnceOnCrash,
        note: "with `ack = false` the sender never learns what was committed, so it cannot resend what a crash lost",
    }],
};

/// Flume's HTTP source.
pub const HTTP: ConnectorSig = ConnectorSig {
    kind: "http",
    role: Role::Source,
    summary: "Accept events by HTTP POST: plain lines, NDJSON, or Flume's JSON event array.",
    doc: "Listens on `address` (HTTP/1.1); each POST body, to any path, is one batch. The reply is `200` only \
once the batch is delivered (with a memory channel: once the sinks wrote it; with a `file` channel: once \
appended to it), `400` when the body cannot be decoded (nothing of it is kept; the reply says why), \
`413` when it exceeds `max_body`, `405` for a method other than POST, `415` for a charset other than UTF-8, \
and `503` with `Retry-After` when \
the channel stays full for `busy_timeout`, when flowc is stopping, or when the batch could not be \
delivered, so a client that retries on `503` loses nothing (and may send a batch twice). How a body is \
split into events: a `Content-Type` of `text/plain`, `application/x-ndjson` (or `application/jsonl`) or \
`application/json` picks `lines`, `ndjson` or `flume_json`; any other (or none) uses `format`. `lines`: \
one event per line (a `\\r` before the `\\n` dropped, the body UTF-8). `ndjson`: one event per non-blank \
line, each a JSON value, kept as written (parse it with `parse json`). `flume_json`: Flume's \
`[{\"headers\": {…}, \"body\": \"…\"}]`, each `body` one event, so existing Flume HTTP clients keep \
working; the headers are checked but not kept (the stream is lines). Port `0` picks a free port; the \
address listened on is printed on standard error, with a warning when it is not loopback (there is no \
authentication). SIGINT/SIGTERM stop accepting; requests in flight are answered once their batch is \
delivered.",
    params: &[
        required(
            "address",
            ParamType::Address,
            "The address to listen on, e.g. `\"127.0.0.1:8080\"`; port `0` picks a free one.",
        ),
        optional(
            "format",
            ParamType::Enum(&["lines", "ndjson", "flume_json"]),
            "lines",
            "How a request body is split into events when its `Content-Type` does not say: one per line, one \
per JSON line, or Flume's JSON event array.",
        ),
        optional(
            "max_body",
            ParamType::Size,
            "16MiB",
            "Largest request body accepted; larger ones are refused with `413`.",
        ),
        optional(
            "busy_timeout",
            ParamType::Duration,
            "3s",
            "How long a request waits for room in a full channel before it is answered `503` (Flume's `keep-alive`).",
        ),
        optional(
            "max_connections",
            int_from(1),
            "100",
            "Connections served at once; further ones wait to be accepted.",
        ),
        optional(
            "idle_timeout",
            ParamType::Duration,
            "30s",
            "Close a connection that sends no request (or no part of its body) for this long.",
        ),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "`200` is sent only after the channel committed the request; `503` when it is full, \
so a retrying client loses nothing",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "http",
    check: None,
    weaker_when: &[],
};

/// Standard input.
pub const STDIN: ConnectorSig = ConnectorSig {
    kind: "stdin",
    role: Role::Source,
    summary: "Read lines from flowc's standard input; the run ends when it is closed.",
    doc: "One event per line of standard input. End of input ends the source, and once everything it read \
is delivered, the run. Within a run nothing is lost (a full channel simply stops reading), but standard \
input cannot be replayed: lines read and not yet committed when flowc crashes are gone.",
    params: &[batch_size("100")],
    guarantee: Guarantee::AtMostOnceOnCrash,
    guarantee_note:
        "nothing is lost within a run, but a pipe cannot be replayed: a crash loses lines read and not yet delivered",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "",
    check: None,
    weaker_when: &[],
};

/// Flume's `seq` and stress sources.
pub const GENERATOR: ConnectorSig = ConnectorSig {
    kind: "generator",
    role: Role::Source,
    summary: "Generate test events: a counter (`sequence`) or fixed-size lines (`stress`), at a given rate.",
    doc: "`mode = sequence` emits the lines `0`, `1`, `2`, … (Flume's `seq`); `mode = stress` emits lines of \
`size` bytes (Flume's `StressSource`). A `count` ends the source after that many events, and the run \
once they are delivered. Output is deterministic, so after a crash the same events are generated again \
from the last committed one.",
    params: &[
        optional(
            "mode",
            ParamType::Enum(&["sequence", "stress"]),
            "sequence",
            "`sequence`: consecutive numbers; `stress`: lines of `size` bytes.",
        ),
        optional("count", int_from(0), "0", "Events to generate before ending; `0` = unlimited."),
        optional("rate", int_from(0), "0", "Events per second at most; `0` = as fast as the pipeline takes them."),
        optional("size", ParamType::Size, "500B", "Length of each `stress` line."),
        batch_size("100"),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "deterministic output resumes from the last committed event",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "seq",
    check: None,
    weaker_when: &[],
};

/// Consume a topic of the embedded log (or its bound Kafka cluster) as a consumer-group member.
pub const TOPIC: ConnectorSig = ConnectorSig {
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

/// Flume's Kafka source: consume a topic of an external Kafka cluster.
pub const KAFKA: ConnectorSig = ConnectorSig {
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

/// The spooldir of object stores.
pub const OBJECT: ConnectorSig = ConnectorSig {
    kind: "object",
    role: Role::Source,
    summary: "Pick up new objects under an object-store prefix (S3, GCS, Azure), one line per event.",
    doc: "Lists `url` every `poll_interval` and reads each object not read before, oldest first, one event \
per line (`.gz` and `.zst` objects are decompressed). Objects are never renamed or deleted, unlike `spooldir`'s \
files: a manifest (a file in the data directory) records each object (key, size, ETag) once every sink \
that got its lines has written them; an object rewritten with a new ETag is read again. A run stopped \
or killed before an object is recorded reads it again from its start (at least once). A listing that \
fails (the store unreachable, a missing bucket, wrong credentials) is reported and tried again at the \
next poll. Credentials come from the options or from the usual environment variables; write secrets as \
`${ENV}` references, never literally.",
    params: &[
        required(
            "url",
            ParamType::String,
            "The prefix to watch: `\"s3://bucket/prefix/\"`, `\"gs://…\"` or `\"az://…\"` (a local directory is `spooldir`'s).",
        ),
        optional("poll_interval", ParamType::Duration, "30s", "How often the prefix is listed for new objects."),
        unset(
            "manifest",
            ParamType::String,
            "File the manifest of finished objects is kept in; default: `<data dir>/objects/<source>.manifest`.",
        ),
        unset(
            "include",
            ParamType::Regex,
            "Only object names matching this regular expression are read; default: every object.",
        ),
        optional(
            "max_line_length",
            ParamType::Size,
            "1MiB",
            "Longest line accepted; a longer line is split into several events and counted.",
        ),
        batch_size("1_000"),
        ENDPOINT,
        REGION,
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        ALLOW_HTTP,
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "an object enters the manifest only after all its lines are committed",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "",
    check: None,
    weaker_when: &[],
};
