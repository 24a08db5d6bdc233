//! The builtins registry: signatures of connectors, topics, parse formats and functions.
//!
//! The compiler only defines the shapes; `flowc-stdlib` fills them in, and `check`, hover, completion
//! and the generated connector reference all read that one table. A connector's own rules (beyond
//! its options' types) come as a [`CheckHook`] the checker calls with a [`NodeCheck`].

pub mod flume;

use crate::ast;
use crate::diagnostic::Diagnostic;
use crate::graph::OptionMap;
use crate::span::Span;
use crate::types::StreamType;

/// Where a connector sits in a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Source,
    Channel,
    Sink,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Channel => "channel",
            Role::Sink => "sink",
        }
    }
}

/// What a connector promises about the events it handles, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Guarantee {
    /// Events may be lost at any time (the source cannot replay, e.g. `exec`).
    BestEffort,
    /// Nothing is lost while the process runs; a crash loses what is held in memory.
    AtMostOnceOnCrash,
    /// Every event is delivered at least once, across crashes.
    AtLeastOnce,
}

impl Guarantee {
    pub fn as_str(self) -> &'static str {
        match self {
            Guarantee::BestEffort => "best effort",
            Guarantee::AtMostOnceOnCrash => "at-most-once on crash",
            Guarantee::AtLeastOnce => "at-least-once",
        }
    }
}

/// A scalar type usable in signatures (const-constructible).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scalar {
    String,
    Int,
    Float,
    Bool,
    Timestamp,
    Bytes,
    Duration,
    /// Any type (e.g. `to_string(x)`).
    Any,
}

impl Scalar {
    /// The value type it stands for (`Any` is compatible with everything).
    pub fn value_type(self) -> crate::types::Type {
        use crate::types::Type;
        match self {
            Scalar::String => Type::String,
            Scalar::Int => Type::Int,
            Scalar::Float => Type::Float,
            Scalar::Bool => Type::Bool,
            Scalar::Timestamp => Type::Timestamp,
            Scalar::Bytes => Type::Bytes,
            Scalar::Duration => Type::Duration,
            Scalar::Any => Type::Error,
        }
    }

    /// How the type is written in `.flow` files and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Scalar::String => "string",
            Scalar::Int => "int",
            Scalar::Float => "float",
            Scalar::Bool => "bool",
            Scalar::Timestamp => "timestamp",
            Scalar::Bytes => "bytes",
            Scalar::Duration => "duration",
            Scalar::Any => "any",
        }
    }
}

/// The type of a connector option's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    /// An integer within `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    Float,
    Bool,
    /// A duration literal: `500ms`, `3s`, `10m`, `168h`, `7d`.
    Duration,
    /// A size literal: `20B`, `64KiB`, `128MiB`.
    Size,
    /// One of these words, written bare (`format = parquet`) or as a string.
    Enum(&'static [&'static str]),
    List(&'static ParamType),
    /// A nested block of options, e.g. `roll = { interval = 3s, size = 20B }`.
    Record(&'static [ParamSig]),
    /// A regular expression (validated at check time).
    Regex,
    /// An output path with escapes (`%Y %m %d %H %M %S %s %y %{field}`).
    PathTemplate,
    /// `host:port`.
    Address,
    /// Kafka bootstrap servers: a list of `"host:port"` (`["kafka1:9092", "kafka2:9092"]`), or one
    /// comma-separated string as Flume writes them. Addresses connected to, so no loopback warning.
    Brokers,
    /// The name of a declared sink.
    SinkRef,
    /// The name of a declared topic.
    TopicRef,
    /// The name of a field of the stream flowing into the node (or of the topic's type).
    Field,
}

/// One option of a connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSig {
    pub name: &'static str,
    pub ty: ParamType,
    pub required: bool,
    /// The default, as written in a `.flow` file; `None` when there is none (or it is required).
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

/// The stream type a source produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOut {
    /// Untyped lines: `{ line: string }`.
    Lines,
    /// The type of the topic named by this option (the `topic` source).
    TopicOf(&'static str),
    /// Records of these fields (the `kafka` source's value and metadata); untyped lines instead
    /// when option `lines_when.0` is written as `lines_when.1`.
    Record { fields: &'static [FieldSig], lines_when: Option<(&'static str, &'static str)> },
    /// Sinks and channels: a channel passes its input through.
    PassThrough,
}

/// One field of a source's fixed output record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSig {
    pub name: &'static str,
    pub ty: Scalar,
    /// The field may be null (`T?`).
    pub optional: bool,
    pub doc: &'static str,
}

impl StreamOut {
    /// The record type of [`StreamOut::Record`] fields.
    pub fn record_type(fields: &[FieldSig]) -> crate::types::RecordType {
        use crate::types::{Field, RecordType, Type};
        let ty = |f: &FieldSig| {
            let ty = f.ty.value_type();
            if f.optional {
                Type::Optional(Box::new(ty))
            } else {
                ty
            }
        };
        RecordType { fields: fields.iter().map(|f| Field { name: f.name.to_string(), ty: ty(f) }).collect() }
    }
}

/// What a sink needs of the stream it is fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamIn {
    Any,
    /// A typed record stream (not untyped lines).
    Record,
    /// A typed record stream when option `param` has one of `values` (e.g. `format = parquet`).
    RecordWhen {
        param: &'static str,
        values: &'static [&'static str],
    },
}

/// The full signature of one connector kind.
#[derive(Debug, Clone, Copy)]
pub struct ConnectorSig {
    pub kind: &'static str,
    pub role: Role,
    /// One line: what it does.
    pub summary: &'static str,
    /// Longer documentation (Markdown), including semantics and what a crash loses.
    pub doc: &'static str,
    pub params: &'static [ParamSig],
    pub guarantee: Guarantee,
    /// Why the guarantee is what it is (shown in `check` path reports and warnings).
    pub guarantee_note: &'static str,
    pub output: StreamOut,
    pub input: StreamIn,
    /// The Flume component types this replaces and how their keys carry over; empty if none.
    pub flume: &'static [flume::FlumeType],
    /// Option values that weaken `guarantee` (netcat without acks, `fsync = never`, …).
    pub weaker_when: &'static [Weakening],
    /// The connector's own rules, run once its node's options (and input type) are known.
    pub check: Option<CheckHook>,
}

impl ConnectorSig {
    /// The name of the Flume component this replaces, as the docs show it (`"spooldir"`, `"hdfs"`).
    pub fn flume_name(&self) -> Option<&'static str> {
        self.flume.first().and_then(|t| t.names.first().copied())
    }
}

/// A connector's own check of one node: diagnostics for rules its signature cannot say.
pub type CheckHook = fn(&NodeCheck<'_>, &mut Vec<Diagnostic>);

/// One connector node as a [`CheckHook`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct NodeCheck<'a> {
    /// The declared name.
    pub name: &'a str,
    /// The declaration's span.
    pub span: Span,
    /// The checked option values (options not written are absent).
    pub options: &'a OptionMap,
    /// The option block as written, for spans.
    pub written: Option<&'a ast::Options>,
    /// The type of the records fed to the node, once known (`None` for sources, or after errors).
    pub input: Option<&'a StreamType>,
}

impl NodeCheck<'_> {
    /// The span of option `name`'s value as written, if it was written.
    pub fn written_span(&self, name: &str) -> Option<Span> {
        self.written?.entries.iter().find(|e| e.key.name == name).map(|e| e.value.span)
    }

    /// The span of option `name`'s value, or the declaration's when it was not written.
    pub fn span_of(&self, name: &str) -> Span {
        self.written_span(name).unwrap_or(self.span)
    }
}

/// When option `param` is written as one of `values`, the connector only keeps `guarantee`.
#[derive(Debug, Clone, Copy)]
pub struct Weakening {
    pub param: &'static str,
    /// The values as they would be written: enum words, `false`, `0`.
    pub values: &'static [&'static str],
    pub guarantee: Guarantee,
    pub note: &'static str,
}

/// A format understood by `parse FORMAT as T`.
#[derive(Debug, Clone, Copy)]
pub struct FormatSig {
    pub name: &'static str,
    pub summary: &'static str,
    /// `parse regex "pattern" as T` needs a pattern; others must not have one.
    pub needs_pattern: bool,
    /// Formats with a fixed field set (e.g. `combined`): the target type may only use these fields.
    pub fields: Option<&'static [(&'static str, Scalar)]>,
    /// Fields some real lines do not have (`method`, `path` and `protocol` of Apache's `-` request):
    /// a target type that requires one drops those lines, which `check` warns about (W0009).
    pub sometimes_absent: &'static [&'static str],
    pub params: &'static [ParamSig],
}

/// A function callable in expressions (`now()`, `hostname()`, `lower(s)`).
#[derive(Debug, Clone, Copy)]
pub struct FunctionSig {
    pub name: &'static str,
    pub params: &'static [Scalar],
    pub returns: Scalar,
    pub doc: &'static str,
}

/// Everything the checker knows about the standard library.
#[derive(Debug, Clone, Copy)]
pub struct Registry {
    pub connectors: &'static [ConnectorSig],
    pub topic_params: &'static [ParamSig],
    /// The Flume channel types a topic declaration replaces (the Kafka channel).
    pub topic_flume: &'static [flume::FlumeType],
    pub formats: &'static [FormatSig],
    pub functions: &'static [FunctionSig],
    /// Options that are each fine alone but contradict each other (E0307), in any option block
    /// that has both.
    pub conflicts: &'static [Conflict],
}

/// Two options of one block that contradict each other. `message` follows the block's owner
/// ("memory channel `c1` …"); in it, `{param}` and `{other}` stand for the options' values.
#[derive(Debug, Clone, Copy)]
pub struct Conflict {
    /// The option reported, the one to change or remove.
    pub param: &'static str,
    /// The option it contradicts.
    pub other: &'static str,
    pub when: Clash,
    pub message: &'static str,
    pub help: &'static str,
}

/// When a [`Conflict`]'s two options contradict each other (both always written, but for `Exceeds`).
#[derive(Debug, Clone, Copy)]
pub enum Clash {
    /// `param` is written and, as an integer, larger than `other` (written, or its default).
    Exceeds,
    /// `param` is written as this value.
    WrittenAs(&'static str),
    /// `other` is written as this value.
    OtherIs(&'static str),
    /// `other` is written as anything but this value.
    OtherIsNot(&'static str),
}

impl Registry {
    pub fn connector(&self, role: Role, kind: &str) -> Option<&'static ConnectorSig> {
        self.connectors.iter().find(|sig| sig.role == role && sig.kind == kind)
    }

    pub fn connectors_of(&self, role: Role) -> impl Iterator<Item = &'static ConnectorSig> {
        self.connectors.iter().filter(move |sig| sig.role == role)
    }

    pub fn format(&self, name: &str) -> Option<&'static FormatSig> {
        self.formats.iter().find(|sig| sig.name == name)
    }

    pub fn function(&self, name: &str) -> Option<&'static FunctionSig> {
        self.functions.iter().find(|sig| sig.name == name)
    }
}

impl ParamType {
    /// How the type is written in docs and diagnostics.
    pub fn describe(&self) -> String {
        match self {
            ParamType::String => "string".into(),
            ParamType::Int { min, max } if *max == i64::MAX => format!("integer ≥ {min}"),
            ParamType::Int { min, max } => format!("integer in {min}..={max}"),
            ParamType::Float => "number".into(),
            ParamType::Bool => "boolean".into(),
            ParamType::Duration => "duration (e.g. 3s, 10m, 168h)".into(),
            ParamType::Size => "size (e.g. 20B, 64KiB, 128MiB)".into(),
            ParamType::Enum(words) => format!("one of {}", words.join(", ")),
            ParamType::List(item) => format!("list of {}", item.describe()),
            ParamType::Record(_) => "block { … }".into(),
            ParamType::Regex => "regular expression (string)".into(),
            ParamType::PathTemplate => "path template (string)".into(),
            ParamType::Address => "address \"host:port\"".into(),
            ParamType::Brokers => "list of brokers \"host:port\"".into(),
            ParamType::SinkRef => "sink name".into(),
            ParamType::TopicRef => "topic name".into(),
            ParamType::Field => "field name".into(),
        }
    }
}
