//! Whole-graph checks: cycles, dangling nodes, unread topics, and the warnings about what a crash loses.

use super::build::Builder;
use super::names::Scope;
use super::Ctx;
use crate::ast;
use crate::builtins::Guarantee;
use crate::diagnostic::Diagnostic;
use crate::graph::{EdgeKind, NodeKind};
use petgraph::graph::NodeIndex;
use petgraph::Direction;

/// Reports cycles; returns a topological order when there are none.
pub(crate) fn order(ctx: &mut Ctx, builder: &Builder) -> Option<Vec<NodeIndex>> {
    if let Ok(order) = petgraph::algo::toposort(&builder.graph, None) {
        return Some(order);
    }
    for scc in petgraph::algo::tarjan_scc(&builder.graph) {
        let self_loop = scc.len() == 1 && builder.graph.contains_edge(scc[0], scc[0]);
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let graph = &builder.graph;
        let declared = |i: &NodeIndex| !graph[*i].name.contains(['|', '@']);
        let start = *scc.iter().min_by_key(|i| (!declared(i), graph[**i].span.start)).expect("a cycle has members");
        let cycle = cycle_through(graph, &scc, start);
        let names: Vec<&str> = cycle.iter().filter(|i| declared(i)).map(|i| graph[*i].name.as_str()).collect();
        let first = &graph[start];
        let mut diag = Diagnostic::error("E0601", format!("records would flow in a circle: {} → {}", names.join(" → "), first.name))
            .at(first.span, "the cycle starts here")
            .help("a record must not return to where it came from; break the cycle, e.g. write the result to a different topic");
        for member in cycle.iter().skip(1).filter(|i| declared(i)) {
            diag = diag.also(graph[*member].span, format!("`{}` is on the cycle", graph[*member].name));
        }
        if let Some(back) = cycle.last().and_then(|last| graph.find_edge(*last, start)) {
            diag = diag.also(graph[back].span, format!("records return to `{}` here", first.name));
        }
        ctx.diags.push(diag);
    }
    None
}

/// The nodes of one shortest cycle through `start`, in flow order, within a strongly connected component.
fn cycle_through(
    graph: &petgraph::graph::DiGraph<crate::graph::Node, crate::graph::Edge>,
    scc: &[NodeIndex],
    start: NodeIndex,
) -> Vec<NodeIndex> {
    let mut prev: std::collections::HashMap<NodeIndex, NodeIndex> = std::collections::HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut last = None;
    'search: while let Some(node) = queue.pop_front() {
        for next in graph.neighbors_directed(node, Direction::Outgoing) {
            if next == start {
                last = Some(node);
                break 'search;
            }
            if scc.contains(&next) && !prev.contains_key(&next) {
                prev.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    let mut cycle = Vec::new();
    let mut node = last;
    while let Some(n) = node.filter(|n| *n != start) {
        cycle.push(n);
        node = prev.get(&n).copied();
    }
    cycle.push(start);
    cycle.reverse();
    cycle
}

/// Dangling nodes, unread topics, and crash-loss warnings.
pub(crate) fn structure(ctx: &mut Ctx, scope: &Scope, builder: &Builder, file: &ast::File) {
    let graph = &builder.graph;
    for index in graph.node_indices() {
        let node = &graph[index];
        if builder.excused.contains(&node.name) {
            continue;
        }
        let inputs = graph.edges_directed(index, Direction::Incoming).count();
        let outputs = graph.edges_directed(index, Direction::Outgoing).count();
        match &node.kind {
            NodeKind::Source { connector, .. } => {
                if outputs == 0 {
                    ctx.diags.push(
                        Diagnostic::error("E0607", format!("source `{}` sends its records nowhere", node.name))
                            .at(node.span, "declared here, never connected")
                            .help(format!("connect it: `{} -> some_channel -> some_sink`", node.name)),
                    );
                } else if connector.guarantee == Guarantee::BestEffort {
                    ctx.diags.push(
                        Diagnostic::warning("W0003", format!("source `{}` ({}) cannot replay what it lost", node.name, connector.kind))
                            .at(node.span, format!("{}: {}", connector.kind, connector.guarantee_note))
                            .help("if losing lines matters, read the file with `tail` (positions are kept) instead of `exec tail -F`"),
                    );
                }
            }
            NodeKind::Channel { connector, .. } => {
                if inputs == 0 {
                    ctx.diags.push(
                        Diagnostic::error("E0606", format!("channel `{}` has no input", node.name))
                            .at(node.span, "nothing flows into this channel")
                            .help(format!("feed it: `some_source -> {}`", node.name)),
                    );
                } else if outputs == 0 {
                    ctx.diags.push(
                        Diagnostic::error("E0607", format!("channel `{}` sends its records nowhere", node.name))
                            .at(node.span, "nothing reads this channel")
                            .help(format!("drain it: `{} -> some_sink`", node.name)),
                    );
                } else if connector.guarantee == Guarantee::AtMostOnceOnCrash {
                    ctx.diags.push(
                        Diagnostic::warning(
                            "W0002",
                            format!("channel `{}` is in memory: {}", node.name, connector.guarantee_note),
                        )
                        .at(node.span, "a crash loses what this channel holds")
                        .help(format!("for at-least-once across crashes use `channel {} = file {{}}`", node.name)),
                    );
                }
            }
            NodeKind::Sink { .. } => {
                let direct = graph
                    .edges_directed(index, Direction::Incoming)
                    .find(|e| e.weight().kind != EdgeKind::GroupMember)
                    .map(|e| e.weight().span);
                let group = graph
                    .edges_directed(index, Direction::Incoming)
                    .find(|e| e.weight().kind == EdgeKind::GroupMember)
                    .map(|e| (e.weight().span, graph[petgraph::visit::EdgeRef::source(&e)].name.clone()));
                if let (Some(direct), Some((member_span, group))) = (direct, group) {
                    ctx.diags.push(
                        Diagnostic::error(
                            "E0316",
                            format!("sink `{}` belongs to sink group `{group}` and is also fed directly", node.name),
                        )
                        .at(direct, "fed directly here")
                        .also(member_span, format!("a member of `{group}` here"))
                        .help(format!("feed `{group}` instead; it hands each batch to one of its members")),
                    );
                } else if inputs == 0 {
                    ctx.diags.push(
                        Diagnostic::error("E0605", format!("sink `{}` has no input", node.name))
                            .at(node.span, "nothing flows into this sink")
                            .help(format!("feed it: `some_channel -> {}`", node.name)),
                    );
                }
            }
            NodeKind::Topic { .. } if outputs == 0 => {
                ctx.diags.push(
                    Diagnostic::warning("W0001", format!("nobody reads topic `{}`", node.name))
                        .at(node.span, "no pipeline consumes this topic")
                        .help(format!(
                            "consume it (`{} -> group \"G\" -> some_sink`) or read it with `flowc consume {}`",
                            node.name, node.name
                        )),
                );
            }
            NodeKind::Transform(_) if outputs == 0 => {
                ctx.diags.push(
                    Diagnostic::error("E0607", "the pipeline ends in a transform, so its records go nowhere")
                        .at(node.span, "nothing follows this stage")
                        .help("end the pipeline in a channel, topic or sink: `… | where x -> some_sink`"),
                );
            }
            NodeKind::Route(arms) if !arms.iter().any(|a| a.condition.is_none()) => {
                ctx.diags.push(
                    // The `route` keyword, not the whole block.
                    Diagnostic::warning("W0005", "records matching no arm of this route are dropped")
                        .at(crate::span::Span::new(node.span.start, node.span.start + "route".len()), "no `else` arm")
                        .help("add `else => some_sink` to keep them"),
                );
            }
            _ => {}
        }
    }
    let mut unused: Vec<&ast::TypeDecl> = file
        .items
        .iter()
        .filter_map(|i| match i {
            ast::Item::Type(t) => Some(t),
            _ => None,
        })
        .filter(|t| !scope.used_types.contains(&t.name.name))
        .collect();
    unused.sort_by_key(|t| t.span.start);
    for decl in unused {
        if scope.decls.get(&decl.name.name).is_some_and(|(_, span)| *span == decl.name.span) {
            ctx.diags.push(
                Diagnostic::warning("W0004", format!("type `{}` is never used", decl.name.name))
                    .at(decl.name.span, "declared here")
                    .help("use it (`topic t: T`, `parse json as T`) or remove it"),
            );
        }
    }
}
