//! `load_balance`: Flume's load-balancing sink processor, a sink group the executor runs ([`builtin`]).

use crate::catalogue::{optional, required};
use flowc_compiler::builtins::flume::{key, FlumeConv::*, FlumeType};
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut};
use flowc_runtime::exec::{builtin, Connector};

/// Flume's load-balancing sink processor.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: builtin::load_balance };

const SIG: ConnectorSig = ConnectorSig {
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
        crate::catalogue::max_retries(),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "a failed batch is retried on another member; as strong as its weakest member",
    output: StreamOut::PassThrough,
    input: StreamIn::Any,
    flume: &[FlumeType::processor(
        &["load_balance"],
        &[
            key("processor.selector", "selector", Same),
            key("processor.backoff", "backoff", Same),
            key("processor.selector.maxTimeOut", "max_backoff", Ms),
        ],
    )],
    check: None,
    weaker_when: &[],
};
