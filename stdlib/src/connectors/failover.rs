//! `failover`: Flume's failover sink processor, a sink group the executor runs ([`builtin`]).

use crate::catalogue::{optional, required};
use flowc_compiler::builtins::flume::{key, FlumeConv::Ms, FlumeType};
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut};
use flowc_runtime::exec::{builtin, Connector};

/// Flume's failover sink processor.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: builtin::failover };

const SIG: ConnectorSig = ConnectorSig {
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
        crate::catalogue::max_retries(),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "a failed batch is retried on the next sink; as strong as its weakest member",
    output: StreamOut::PassThrough,
    input: StreamIn::Any,
    flume: &[FlumeType::processor(&["failover"], &[key("processor.maxpenalty", "max_penalty", Ms)])],
    check: None,
    weaker_when: &[],
};
