//! The checked program: a petgraph dataflow graph with typed nodes and edges, and its delivery report.

use crate::ast;
use crate::builtins::{ConnectorSig, Guarantee};
use crate::span::Span;
use crate::template::Template;
use crate::types::StreamType;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::BTreeMap;

/// A checked `.flow` file, ready to run.
#[derive(Debug, Clone)]
pub struct Program {
    pub graph: DiGraph<Node, Edge>,
    /// One entry per source→sink path, with the guarantee it keeps.
    pub paths: Vec<PathReport>,
    /// The `test` blocks about this program, checked against its nodes (`flowc test` runs them;
    /// `flowc run` ignores them).
    pub tests: Vec<TestCase>,
}

/// One checked `test "name" { … }` block.
#[derive(Debug, Clone)]
pub struct TestCase {
    pub name: String,
    /// The file the block is written in (the pipeline's, or a tests-only file's).
    pub file: crate::span::FileId,
    pub span: Span,
    pub inputs: Vec<TestEvents>,
    pub expects: Vec<TestEvents>,
}

/// The events of one `input` or `expect` line, at a node of the graph.
#[derive(Debug, Clone)]
pub struct TestEvents {
    pub node: NodeIndex,
    /// Each one a string (a line of an untyped stream) or a record value, checked against the
    /// node's stream type (an `expect` may leave fields out: those are not compared).
    pub events: Vec<ast::Value>,
    /// Where the node is named in the test.
    pub span: Span,
}

/// A node of the dataflow graph.
#[derive(Debug, Clone)]
pub struct Node {
    /// The declared name, or a generated one (`web|parse#1`) for transforms and groups.
    pub name: String,
    pub kind: NodeKind,
    pub span: Span,
    /// The type of the records this node emits (`None` for sinks, or when unknown after errors).
    pub output: Option<StreamType>,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    Source {
        connector: &'static ConnectorSig,
        options: OptionMap,
    },
    Channel {
        connector: &'static ConnectorSig,
        options: OptionMap,
    },
    Sink {
        connector: &'static ConnectorSig,
        options: OptionMap,
    },
    Topic {
        options: OptionMap,
    },
    /// Consumption of a topic by a named consumer group; its out-edges are the group's members.
    Group {
        topic: String,
        group: String,
    },
    Transform(ast::Transform),
    /// Routing by condition; out-edge `EdgeKind::RouteArm(i)` belongs to arm `i`.
    Route(Vec<ast::RouteArm>),
}

impl NodeKind {
    /// A short word for the node's role (`source`, `topic`, `where`, …).
    pub fn role(&self) -> &'static str {
        match self {
            NodeKind::Source { .. } => "source",
            NodeKind::Channel { .. } => "channel",
            NodeKind::Sink { .. } => "sink",
            NodeKind::Topic { .. } => "topic",
            NodeKind::Group { .. } => "group",
            NodeKind::Route(_) => "route",
            NodeKind::Transform(t) => match t.kind {
                ast::TransformKind::Where(_) => "where",
                ast::TransformKind::Select(_) => "select",
                ast::TransformKind::Set(_) => "set",
                ast::TransformKind::Drop(_) => "drop",
                ast::TransformKind::Parse(_) => "parse",
            },
        }
    }

    pub fn connector(&self) -> Option<&'static ConnectorSig> {
        match self {
            NodeKind::Source { connector, .. }
            | NodeKind::Channel { connector, .. }
            | NodeKind::Sink { connector, .. } => Some(connector),
            _ => None,
        }
    }

    pub fn options(&self) -> Option<&OptionMap> {
        match self {
            NodeKind::Source { options, .. }
            | NodeKind::Channel { options, .. }
            | NodeKind::Sink { options, .. }
            | NodeKind::Topic { options } => Some(options),
            _ => None,
        }
    }
}

/// An edge: records of `ty` flow from one node to the next.
#[derive(Debug, Clone)]
pub struct Edge {
    pub kind: EdgeKind,
    pub ty: Option<StreamType>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    Data,
    /// From a route to the targets of arm `i`.
    RouteArm(usize),
    /// Records a `parse` rejected, to its dead-letter target.
    DeadLetter,
    /// From a sink group (failover, load_balance) to one of its member sinks.
    GroupMember,
}

/// Option values after checking, by option name. Options not written are absent (see the signature's default).
pub type OptionMap = BTreeMap<String, OptionValue>;

#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    /// A string; `${NAME}` references are kept for the runtime to interpolate.
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    DurationMs(u64),
    Bytes(u64),
    /// An enum word, a reference to a declared name, or a field name.
    Word(String),
    /// A path template, parsed; `${NAME}` references are kept in its literal text.
    Template(Template),
    List(Vec<OptionValue>),
    Record(OptionMap),
}

/// One source→sink path and the delivery guarantee it can keep.
#[derive(Debug, Clone, PartialEq)]
pub struct PathReport {
    pub nodes: Vec<String>,
    pub guarantee: Guarantee,
    /// Why: the weakest link's note, e.g. "memory channel c1: a crash loses the events it holds".
    pub reason: String,
}

impl Program {
    pub fn node_by_name(&self, name: &str) -> Option<NodeIndex> {
        self.graph.node_indices().find(|i| self.graph[*i].name == name)
    }
}
