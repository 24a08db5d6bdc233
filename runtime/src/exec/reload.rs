//! Hot reload: what changed between the running program and a new one, and the nodes that changed
//! (sources' and sinks' options, transforms' and routes' text) swapped between two batches while every other node keeps
//! running, its state and positions untouched.
//!
//! A node is swapped inside its own task. A source stops as on SIGTERM (what it sent drains and its
//! positions are saved); a sink finishes the batch it is writing and closes (its files get their
//! final names); a transform hands on the batches it is working on; a route takes its new conditions
//! between two batches (its arms and where they lead stay as they were); then the new one,
//! built from the new program, takes the same input queue and outputs. Nothing upstream notices
//! beyond a short wait, so nothing acknowledged is lost or written twice. Any other change (a node
//! added or removed, an edge or a route's arm, a channel's, topic's or group's options, a type, a
//! `stdin` source) is refused with what changed: those keep state a swap cannot carry over yet.

use super::expr;
use super::plan::{build_route, build_sink, build_source, build_transform};
use super::transform::Transform;
use super::{Connectors, RunError, Sink, Source};
use flowc_compiler::graph::{NodeKind, Program};
use petgraph::visit::EdgeRef;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc;

/// What a reload would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The new program runs as the old one does.
    Nothing,
    /// Only these sources and sinks (their options), transforms and routes (their text) changed:
    /// they can be swapped.
    Nodes(Vec<String>),
    /// A change a live reload does not make (yet); the sentence says what changed.
    Refused(String),
}

/// Compares the running program (checked from `old_text`) with a new one (from `new_text`).
pub fn compare(old: &Program, old_text: &str, new: &Program, new_text: &str) -> Change {
    let nodes = |p: &Program| -> BTreeMap<String, petgraph::graph::NodeIndex> {
        p.graph.node_indices().map(|i| (p.graph[i].name.clone(), i)).collect()
    };
    let (old_nodes, new_nodes) = (nodes(old), nodes(new));
    if let Some(name) = new_nodes.keys().find(|n| !old_nodes.contains_key(*n)) {
        return Change::Refused(format!("`{name}` was added"));
    }
    if let Some(name) = old_nodes.keys().find(|n| !new_nodes.contains_key(*n)) {
        return Change::Refused(format!("`{name}` was removed"));
    }
    let edges = |p: &Program| -> Vec<String> {
        let mut e: Vec<String> = p
            .graph
            .edge_references()
            .map(|e| {
                let w = e.weight();
                format!("{} -> {} {:?} {:?}", p.graph[e.source()].name, p.graph[e.target()].name, w.kind, w.ty)
            })
            .collect();
        e.sort();
        e
    };
    if edges(old) != edges(new) {
        return Change::Refused("the connections between the nodes (or the types they carry) changed".into());
    }
    let text = |t: &str, span: flowc_compiler::Span| t.get(span.start..span.end).unwrap_or_default().to_string();
    let mut swapped = Vec::new();
    for (name, &i) in &old_nodes {
        let (a, b) = (&old.graph[i], &new.graph[new_nodes[name]]);
        if a.kind.role() != b.kind.role() || a.kind.connector().map(|c| c.kind) != b.kind.connector().map(|c| c.kind) {
            return Change::Refused(format!("`{name}` is another kind of node"));
        }
        if format!("{:?}", a.output) != format!("{:?}", b.output) {
            return Change::Refused(format!("the type `{name}` emits changed"));
        }
        let same = match (&a.kind, &b.kind) {
            (NodeKind::Transform(_) | NodeKind::Route(_), _) => text(old_text, a.span) == text(new_text, b.span),
            (NodeKind::Group { topic: t1, group: g1 }, NodeKind::Group { topic: t2, group: g2 }) => {
                t1 == t2 && g1 == g2
            }
            _ => a.kind.options() == b.kind.options(),
        };
        match (&a.kind, same) {
            (_, true) => {}
            (NodeKind::Source { connector, .. }, false) if connector.kind == "stdin" => {
                return Change::Refused(format!(
                    "source `{name}` changed, and it reads standard input: a restart would lose what it has read ahead"
                ))
            }
            (NodeKind::Source { .. } | NodeKind::Sink { .. } | NodeKind::Transform(_) | NodeKind::Route(_), false) => {
                swapped.push(name.clone())
            }
            (kind, false) => {
                return Change::Refused(format!(
                    "{} `{name}` changed (sources, sinks, transforms and routes are reloaded live, not {}s)",
                    kind.role(),
                    kind.role()
                ))
            }
        }
    }
    if swapped.is_empty() {
        Change::Nothing
    } else {
        Change::Nodes(swapped)
    }
}

/// Builds a node's new part from a program (the new one, or the old one as a fallback).
type Builder<T> = Box<dyn FnOnce() -> Result<T, RunError> + Send>;

/// A new sink for a running sink task, built there once the old one has closed; `fallback` builds
/// the old one again should the new one fail to build.
pub(crate) struct SinkSwap {
    pub(crate) build: Builder<Box<dyn Sink>>,
    pub(crate) fallback: Builder<Box<dyn Sink>>,
}

/// A new source for a running source task, built there once the old one has stopped (and saved
/// its positions); `fallback` builds the old one again should the new one fail to build.
pub(crate) struct SourceSwap {
    pub(crate) build: Builder<Box<dyn Source>>,
    pub(crate) fallback: Builder<Box<dyn Source>>,
}

/// A new transform for a running transform task, taken once the batches in flight are handed on.
pub(crate) struct TransformSwap {
    pub(crate) transform: Transform,
}

/// A route's new conditions, one per arm in order (`None`: `else`), taken between two batches.
pub(crate) struct RouteSwap {
    pub(crate) arms: Vec<Option<expr::Compiled>>,
}

/// Where a swappable node's task takes its replacement.
#[derive(Clone)]
pub(crate) enum SwapTx {
    Source(mpsc::Sender<SourceSwap>),
    Sink(mpsc::Sender<SinkSwap>),
    Transform(mpsc::Sender<TransformSwap>),
    Route(mpsc::Sender<RouteSwap>),
}

/// A node's replacement, ready to hand to its task.
enum Ready<'a> {
    Sink(&'a mpsc::Sender<SinkSwap>, SinkSwap),
    Source(&'a mpsc::Sender<SourceSwap>, SourceSwap),
    Transform(&'a mpsc::Sender<TransformSwap>, TransformSwap),
    Route(&'a mpsc::Sender<RouteSwap>, RouteSwap),
}

/// Swaps nodes of a running plan ([`super::Plan::reloader`]).
#[derive(Clone)]
pub struct Reloader {
    pub(crate) swaps: Vec<(String, SwapTx)>,
    pub(crate) base_dir: PathBuf,
    pub(crate) data_dir: PathBuf,
}

impl Reloader {
    /// Hands every node of `names` its new part from `new` (for a sink, the old one from `old` stays
    /// its fallback). Refused, with the reason, when one of them cannot be swapped (a sink group or
    /// a group's member, a `topic` sink), its new part cannot be built, or it is no longer running;
    /// then nothing is swapped.
    pub async fn swap(
        &self,
        names: &[String],
        old: Arc<Program>,
        new: Arc<Program>,
        connectors: &'static dyn Connectors,
    ) -> Result<(), String> {
        // Sources and sinks are built in their own tasks; transforms and routes here, so a refusal
        // comes before anything was swapped.
        let mut ready = Vec::new();
        for name in names {
            let Some((_, tx)) = self.swaps.iter().find(|(n, _)| n == name) else {
                return Err(format!(
                    "`{name}` cannot be swapped while running (a sink group, a group's member or a `topic` sink)"
                ));
            };
            let swap = match tx {
                SwapTx::Sink(tx) => {
                    let (build, fallback) = self.builders(name, &old, &new, connectors, build_sink);
                    Ready::Sink(tx, SinkSwap { build, fallback })
                }
                SwapTx::Source(tx) => {
                    let (build, fallback) = self.builders(name, &old, &new, connectors, build_source);
                    Ready::Source(tx, SourceSwap { build, fallback })
                }
                SwapTx::Transform(tx) => {
                    let transform = build_transform(&new, name).map_err(|e| e.to_string())?;
                    Ready::Transform(tx, TransformSwap { transform })
                }
                SwapTx::Route(tx) => {
                    let arms = build_route(&new, name).map_err(|e| e.to_string())?;
                    Ready::Route(tx, RouteSwap { arms })
                }
            };
            ready.push((name, swap));
        }
        for (name, swap) in ready {
            let sent = match swap {
                Ready::Sink(tx, swap) => tx.send(swap).await.is_ok(),
                Ready::Source(tx, swap) => tx.send(swap).await.is_ok(),
                Ready::Transform(tx, swap) => tx.send(swap).await.is_ok(),
                Ready::Route(tx, swap) => tx.send(swap).await.is_ok(),
            };
            if !sent {
                return Err(format!("`{name}` is no longer running"));
            }
        }
        Ok(())
    }

    /// Builders of node `name`'s new part (from `new`) and of its old one (from `old`, the fallback).
    fn builders<T: 'static>(
        &self,
        name: &str,
        old: &Arc<Program>,
        new: &Arc<Program>,
        connectors: &'static dyn Connectors,
        build: BuildFn<T>,
    ) -> (Builder<T>, Builder<T>) {
        let from = |program: Arc<Program>| -> Builder<T> {
            let (name, base, data) = (name.to_string(), self.base_dir.clone(), self.data_dir.clone());
            Box::new(move || build(&program, &name, connectors, &base, &data))
        };
        (from(new.clone()), from(old.clone()))
    }
}

/// How a source or a sink is built from a program ([`build_sink`], [`build_source`]).
type BuildFn<T> = fn(&Program, &str, &dyn Connectors, &Path, &Path) -> Result<T, RunError>;
