//! Which Flume component becomes which flowc connector, found in the stdlib's signatures (each
//! connector lists the Flume types it replaces and how their keys carry over), and the few notes
//! that belong to no one connector.

use flowc_compiler::builtins::flume::FlumeType;
use flowc_compiler::builtins::{ParamSig, Role};

pub(super) const SECTIONS: &[&str] = &["sources", "channels", "sinks", "sinkgroups"];

/// A Flume type and the flowc declaration it becomes.
pub(super) struct Kind {
    /// flowc's connector kind (`topic` for a topic declaration).
    pub(super) kind: &'static str,
    /// The parameters of that kind.
    pub(super) params: &'static [ParamSig],
    /// What the signature says of the Flume type.
    pub(super) flume: &'static FlumeType,
}

/// The connector of `role` replacing Flume's component type `flume`.
pub(super) fn component_kind(role: Role, flume: &str) -> Option<Kind> {
    find(role, false, flume)
}

/// The sink group replacing Flume's sink processor type `flume`.
pub(super) fn processor_kind(flume: &str) -> Option<Kind> {
    find(Role::Sink, true, flume)
}

/// The topic declaration replacing Flume's channel type `flume` (the Kafka channel).
pub(super) fn topic_kind(flume: &str) -> Option<Kind> {
    let registry = flowc_stdlib::registry();
    let flume = registry.topic_flume.iter().find(|t| t.is(flume))?;
    Some(Kind { kind: "topic", params: registry.topic_params, flume })
}

fn find(role: Role, processor: bool, flume: &str) -> Option<Kind> {
    flowc_stdlib::registry().connectors_of(role).find_map(|sig| {
        let flume = sig.flume.iter().find(|t| t.processor == processor && t.is(flume))?;
        Some(Kind { kind: sig.kind, params: sig.params, flume })
    })
}

// ---------------------------------------------------------------- notes

/// Flume options of any component that flowc does without, and why.
pub(super) fn known_without_equivalent(key: &str) -> Option<&'static str> {
    Some(match key {
        "charset" | "inputCharset" | "deserializer" => "flowc reads UTF-8 lines; no setting needed",
        "selector.optional" => "flowc has no optional channels: every target is required",
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
