//! `flowc test`: one checked test run in memory, with no source, channel or sink connector built.
//!
//! The test's input events become Arrow batches of the stream type at their node; from there they
//! flow through the graph in topological order: channels and topics hand them on as they are, the
//! transforms and routes are the very ones `flowc run` builds ([`Transform::build`],
//! [`expr::compile`]), and whatever reaches a node is recorded. Nothing is read from a real source
//! and nothing is written to a sink, a channel's directory or the embedded log.

use super::batch;
use super::expr;
use super::transform::{parse_json_values, Transform};
use super::RunError;
use arrow_array::RecordBatch;
use arrow_schema::{Field, Schema};
use flowc_compiler::ast::{Value, ValueKind};
use flowc_compiler::graph::{EdgeKind, NodeKind, Program, TestCase};
use flowc_compiler::types::StreamType;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use serde_json::{Map, Value as Json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What one `expect` line asked for and what arrived, both as JSON objects in one rendering
/// (timestamps as RFC 3339 in UTC, as [`batch::row_json`] writes them).
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub node: String,
    /// The expected events: only the fields the test lists.
    pub expected: Vec<Json>,
    /// Every event that reached the node, with all its fields, in order.
    pub actual: Vec<Json>,
}

/// Runs one test of `program`: its inputs injected, every `expect` observed.
pub fn run_test(program: &Program, case: &TestCase) -> Result<Vec<Observed>, RunError> {
    let graph = &program.graph;
    let order =
        petgraph::algo::toposort(graph, None).map_err(|_| RunError::internal("a checked program has a cycle"))?;
    let mut injected: HashMap<NodeIndex, RecordBatch> = HashMap::new();
    for input in &case.inputs {
        let node = &graph[input.node];
        let stream = node.output.as_ref().ok_or_else(|| missing_type(&node.name))?;
        injected.insert(input.node, events_batch(&node.name, stream, &input.events)?);
    }
    let mut inbox: HashMap<NodeIndex, Vec<RecordBatch>> = HashMap::new();
    // What each node passed on (or, for a sink, received).
    let mut seen: HashMap<NodeIndex, Vec<RecordBatch>> = HashMap::new();
    // Nodes whose share of the events depends on a choice made at run time (which member of a
    // consumer group or a sink group takes an event): expectations there cannot be judged.
    let mut undetermined: HashSet<NodeIndex> = HashSet::new();
    for index in order {
        let mut arrived = inbox.remove(&index).unwrap_or_default();
        if let Some(batch) = injected.remove(&index) {
            arrived.push(batch);
        }
        let node = &graph[index];
        let mut sends: Vec<(NodeIndex, RecordBatch)> = Vec::new();
        match &node.kind {
            NodeKind::Source { .. } | NodeKind::Channel { .. } | NodeKind::Topic { .. } => {
                for edge in graph.edges_directed(index, Direction::Outgoing) {
                    sends.extend(arrived.iter().map(|b| (edge.target(), b.clone())));
                }
            }
            NodeKind::Group { .. } => {
                let members: Vec<NodeIndex> =
                    graph.edges_directed(index, Direction::Outgoing).map(|e| e.target()).collect();
                if members.len() > 1 {
                    undetermined.extend(members.iter().copied());
                }
                for member in members {
                    sends.extend(arrived.iter().map(|b| (member, b.clone())));
                }
            }
            NodeKind::Sink { .. } => {
                // A sink group picks one member per batch; the members' share is not fixed.
                for edge in graph.edges_directed(index, Direction::Outgoing) {
                    undetermined.insert(edge.target());
                }
            }
            NodeKind::Transform(ast) => {
                let transform = Transform::build(node, ast).map_err(|e| e.in_node(&node.name))?;
                let mut out = Vec::new();
                for batch in &arrived {
                    let applied = transform.apply(batch).map_err(|e| e.in_node(&node.name))?;
                    for edge in graph.edges_directed(index, Direction::Outgoing) {
                        match edge.weight().kind {
                            EdgeKind::DeadLetter => {
                                sends.extend(applied.dead.iter().map(|d| (edge.target(), d.clone())))
                            }
                            _ => sends.push((edge.target(), applied.batch.clone())),
                        }
                    }
                    out.push(applied.batch);
                }
                arrived = out;
            }
            NodeKind::Route(arms) => {
                let arms = arms
                    .iter()
                    .map(|arm| arm.condition.as_ref().map(expr::compile).transpose())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.in_node(&node.name))?;
                let mut targets: Vec<(NodeIndex, Vec<usize>)> = Vec::new();
                for edge in graph.edges_directed(index, Direction::Outgoing) {
                    let EdgeKind::RouteArm(arm) = edge.weight().kind else { continue };
                    match targets.iter_mut().find(|(t, _)| *t == edge.target()) {
                        Some((_, arms)) => arms.push(arm),
                        None => targets.push((edge.target(), vec![arm])),
                    }
                }
                for batch in &arrived {
                    let (batch, _) = expr::drop_malformed(arms.iter().flatten(), batch)?;
                    let (routed, _) = super::nodes::route_batch(&arms, &targets, &batch)?;
                    sends.extend(targets.iter().map(|(t, _)| *t).zip(routed));
                }
            }
        }
        if graph.edges_directed(index, Direction::Incoming).any(|e| undetermined.contains(&e.source())) {
            undetermined.insert(index);
        }
        for (target, batch) in sends {
            if batch.num_rows() > 0 {
                inbox.entry(target).or_default().push(batch);
            }
        }
        seen.insert(index, arrived);
    }
    case.expects.iter().map(|expect| observe(program, expect, &seen, &undetermined)).collect()
}

fn observe(
    program: &Program,
    expect: &flowc_compiler::graph::TestEvents,
    seen: &HashMap<NodeIndex, Vec<RecordBatch>>,
    undetermined: &HashSet<NodeIndex>,
) -> Result<Observed, RunError> {
    let graph = &program.graph;
    let node = &graph[expect.node];
    if undetermined.contains(&expect.node) {
        return Err(RunError::config(format!(
            "`expect {}`: which events reach it is decided while a pipeline runs (a member of a consumer \
             group or a sink group); expect them before the group",
            node.name
        )));
    }
    let stream = graph
        .edges_directed(expect.node, Direction::Incoming)
        .find_map(|e| e.weight().ty.as_ref())
        .or(node.output.as_ref())
        .ok_or_else(|| missing_type(&node.name))?;
    let mut actual = Vec::new();
    for batch in seen.get(&expect.node).into_iter().flatten() {
        actual.extend((0..batch.num_rows()).map(|row| batch::row_json(batch, row)));
    }
    let expected = expect.events.iter().map(|e| expected_json(&node.name, stream, e)).collect::<Result<_, _>>()?;
    Ok(Observed { node: node.name.clone(), expected, actual })
}

fn missing_type(node: &str) -> RunError {
    RunError::internal(format!("{node}: no checked stream type"))
}

/// The input events of a node as one batch of its stream type.
fn events_batch(node: &str, stream: &StreamType, events: &[Value]) -> Result<RecordBatch, RunError> {
    let schema = batch::schema(stream).map_err(|e| e.in_node(node))?;
    if stream.untyped && events.iter().all(|e| matches!(e.kind, ValueKind::Str(_))) {
        let lines: Vec<&str> = events
            .iter()
            .filter_map(|e| if let ValueKind::Str(s) = &e.kind { Some(s.value.as_str()) } else { None })
            .collect();
        return Ok(batch::lines_batch(&lines));
    }
    let lines: Vec<String> = events.iter().map(|e| event_json(stream, e).to_string()).collect();
    let (batch, rejected) = parse_json_values(&batch::lines_batch(&lines), &schema)?;
    if rejected > 0 {
        return Err(RunError::config(format!("`input {node}`: an event the runtime cannot build (a timestamp it cannot read, or a `bytes` or `duration` field)")));
    }
    Ok(batch)
}

/// An expected event rendered as an actual one would be: only its own fields, each converted to
/// the field's type and back (so `"2000-10-10T20:55:36Z"` and an int in a float field compare).
fn expected_json(node: &str, stream: &StreamType, event: &Value) -> Result<Json, RunError> {
    let json = event_json(stream, event);
    let Json::Object(map) = &json else { return Ok(json) };
    let full = batch::schema(stream).map_err(|e| e.in_node(node))?;
    let fields: Vec<Field> = full
        .fields()
        .iter()
        .filter(|f| map.contains_key(f.name()))
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    if fields.is_empty() {
        return Ok(Json::Object(Map::new()));
    }
    let schema = Arc::new(Schema::new(fields));
    let (batch, rejected) = parse_json_values(&batch::lines_batch(&[json.to_string()]), &schema)?;
    if rejected > 0 || batch.num_rows() != 1 {
        return Err(RunError::config(format!("`expect {node}`: an event the runtime cannot build (a timestamp it cannot read, or a `bytes` or `duration` field)")));
    }
    Ok(batch::row_json(&batch, 0))
}

/// An event as JSON: a line is `{ "line": … }`, a record its fields.
fn event_json(stream: &StreamType, event: &Value) -> Json {
    match &event.kind {
        ValueKind::Str(s) if stream.untyped => {
            let mut map = Map::new();
            map.insert("line".into(), Json::String(s.value.clone()));
            Json::Object(map)
        }
        other => value_json(other),
    }
}

fn value_json(value: &ValueKind) -> Json {
    match value {
        ValueKind::Str(s) => Json::String(s.value.clone()),
        ValueKind::Int(n) => Json::from(*n),
        ValueKind::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        ValueKind::Bool(b) => Json::Bool(*b),
        ValueKind::Duration(ms) | ValueKind::Size(ms) => Json::from(*ms),
        ValueKind::List(items) => Json::Array(items.iter().map(|v| value_json(&v.kind)).collect()),
        ValueKind::Record(options) => {
            Json::Object(options.entries.iter().map(|e| (e.key.name.clone(), value_json(&e.value.kind))).collect())
        }
        ValueKind::Ident(word) => Json::String(word.clone()),
        ValueKind::Null | ValueKind::Error => Json::Null,
    }
}
