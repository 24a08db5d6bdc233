//! `memory`: Flume's memory channel, a bounded in-process queue the executor runs ([`builtin`]).

use crate::catalogue::{int_from, optional};
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut};
use flowc_runtime::exec::{builtin, Connector};

/// Flume's memory channel: fast, bounded, lost on a crash.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: builtin::memory_channel };

const SIG: ConnectorSig = ConnectorSig {
    kind: "memory",
    role: Role::Channel,
    summary: "A bounded in-memory queue: fast, but a crash loses the events it holds.",
    doc: "Holds up to `capacity` events and `byte_capacity` bytes. When it is full the source waits (past \
`keep_alive` the wait is reported on stderr, and goes on): backpressure, never a silent drop, so memory \
stays flat. \
A sink's take is removed only when the sink commits; a failed write puts the events back at the head. \
Nothing survives the process: a crash or kill loses every event the channel holds (up to `capacity`), \
and `check` warns about it on every path through a memory channel. Use `file` when that matters.",
    params: &[
        optional("capacity", int_from(1), "10_000", "Most events held at once."),
        optional(
            "byte_capacity",
            ParamType::Size,
            "64MiB",
            "Most event bytes held at once (whichever of the two limits is reached first applies).",
        ),
        optional(
            "transaction_capacity",
            int_from(1),
            "1_000",
            "Most events in one take: a larger batch is handed to the sinks in slices of this many.",
        ),
        optional(
            "keep_alive",
            ParamType::Duration,
            "3s",
            "How long a put waits for space before the channel reports itself full on stderr (the put \
keeps waiting; nothing is dropped).",
        ),
    ],
    guarantee: Guarantee::AtMostOnceOnCrash,
    guarantee_note: "a crash loses the events it holds (up to `capacity`)",
    output: StreamOut::PassThrough,
    input: StreamIn::Any,
    flume: "memory",
    check: None,
    weaker_when: &[],
};
