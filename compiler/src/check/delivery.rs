//! The delivery guarantee of every source→sink path, from the connectors' declared guarantees.

use crate::builtins::Guarantee;
use crate::graph::{NodeKind, PathReport};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

/// At most this many paths are reported (a fan-out of fan-outs can have very many).
const MAX_PATHS: usize = 256;

pub(crate) fn paths(graph: &DiGraph<crate::graph::Node, crate::graph::Edge>) -> Vec<PathReport> {
    let mut reports = Vec::new();
    for start in graph.node_indices() {
        if matches!(graph[start].kind, NodeKind::Source { .. })
            && graph.edges_directed(start, Direction::Incoming).next().is_none()
        {
            let mut trail = vec![start];
            walk(graph, start, &mut trail, &mut reports);
        }
    }
    reports
}

fn walk(
    graph: &DiGraph<crate::graph::Node, crate::graph::Edge>,
    at: NodeIndex,
    trail: &mut Vec<NodeIndex>,
    out: &mut Vec<PathReport>,
) {
    if out.len() >= MAX_PATHS {
        return;
    }
    let mut next: Vec<NodeIndex> =
        graph.edges_directed(at, Direction::Outgoing).map(|e| petgraph::visit::EdgeRef::target(&e)).collect();
    next.reverse(); // petgraph lists the newest edge first; report in the order written
    let is_sink = matches!(graph[at].kind, NodeKind::Sink { .. });
    if is_sink && next.is_empty() {
        out.push(report(graph, trail));
        return;
    }
    for n in next {
        if trail.contains(&n) {
            continue;
        }
        trail.push(n);
        walk(graph, n, trail, out);
        trail.pop();
    }
}

fn report(graph: &DiGraph<crate::graph::Node, crate::graph::Edge>, trail: &[NodeIndex]) -> PathReport {
    let mut guarantee = Guarantee::AtLeastOnce;
    let mut reason = String::from("every hop hands records on only after the next one has them");
    for &index in trail {
        let node = &graph[index];
        if let Some(connector) = node.kind.connector() {
            let (kept, note) = kept_by(connector, node.kind.options());
            if kept < guarantee {
                guarantee = kept;
                reason = format!("{} `{}` ({}): {}", connector.role.as_str(), node.name, connector.kind, note);
            }
        }
    }
    let nodes = trail
        .iter()
        .map(|i| &graph[*i])
        .filter(|n| !matches!(n.kind, NodeKind::Transform(_) | NodeKind::Route(_)))
        .map(|n| match &n.kind {
            NodeKind::Group { group, .. } => format!("group \"{group}\""),
            _ => n.name.clone(),
        })
        .collect();
    PathReport { nodes, guarantee, reason }
}

/// The guarantee a connector keeps with these options: its own, or a weaker one an option chose.
pub(crate) fn kept_by(
    connector: &'static crate::builtins::ConnectorSig,
    options: Option<&crate::graph::OptionMap>,
) -> (Guarantee, &'static str) {
    let mut kept = (connector.guarantee, connector.guarantee_note);
    for weakening in connector.weaker_when {
        let written = options.and_then(|o| o.get(weakening.param)).map(|value| match value {
            crate::graph::OptionValue::Word(w) => w.clone(),
            crate::graph::OptionValue::Bool(b) => b.to_string(),
            crate::graph::OptionValue::Int(n) => n.to_string(),
            crate::graph::OptionValue::Str(s) => s.clone(),
            crate::graph::OptionValue::Template(t) => t.to_string(),
            _ => String::new(),
        });
        if written.is_some_and(|w| weakening.values.contains(&w.as_str())) && weakening.guarantee < kept.0 {
            kept = (weakening.guarantee, weakening.note);
        }
    }
    kept
}
