//! Hot reload: what changed between the running program and a new one, and the sinks whose options
//! alone changed swapped between two batches while every other node keeps running, its state and
//! positions untouched.
//!
//! A sink is swapped inside its own task: it finishes the batch it is writing, closes (its files get
//! their final names), the new sink is built from the new program and takes the same input queue.
//! Nothing upstream notices beyond a short wait, so nothing acknowledged is lost or written twice.
//! Any other change (a node added or removed, an edge, a source's, channel's, topic's or transform's
//! text, a type) is refused with what changed: those keep state a swap cannot carry over yet.

use super::plan::build_sink;
use super::{Connectors, RunError, Sink};
use flowc_compiler::graph::{NodeKind, Program};
use petgraph::visit::EdgeRef;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;

/// What a reload would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The new program runs as the old one does.
    Nothing,
    /// Only the options of these sinks changed: they can be swapped.
    Sinks(Vec<String>),
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
    let mut sinks = Vec::new();
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
            (NodeKind::Sink { .. }, false) => sinks.push(name.clone()),
            (kind, false) => {
                return Change::Refused(format!(
                    "{} `{name}` changed (only sinks' options are reloaded live)",
                    kind.role()
                ))
            }
        }
    }
    if sinks.is_empty() {
        Change::Nothing
    } else {
        Change::Sinks(sinks)
    }
}

/// A new sink for a running sink task, built there once the old one has closed; `fallback` builds
/// the old one again should the new one fail to build.
pub(crate) struct SinkSwap {
    pub(crate) build: Box<dyn FnOnce() -> Result<Box<dyn Sink>, RunError> + Send>,
    pub(crate) fallback: Box<dyn FnOnce() -> Result<Box<dyn Sink>, RunError> + Send>,
}

/// Swaps sinks of a running plan ([`super::Plan::reloader`]).
#[derive(Clone)]
pub struct Reloader {
    pub(crate) swaps: Vec<(String, mpsc::Sender<SinkSwap>)>,
    pub(crate) base_dir: PathBuf,
    pub(crate) data_dir: PathBuf,
}

impl Reloader {
    /// Hands every sink of `names` its new options from `new` (the old ones, from `old`, stay its
    /// fallback). Refused, with the reason, when one of them cannot be swapped (a sink group or a
    /// group's member, a `topic` sink) or is no longer running.
    pub async fn swap_sinks(
        &self,
        names: &[String],
        old: Arc<Program>,
        new: Arc<Program>,
        connectors: &'static dyn Connectors,
    ) -> Result<(), String> {
        let mut senders = Vec::new();
        for name in names {
            match self.swaps.iter().find(|(n, _)| n == name) {
                Some((_, tx)) => senders.push((name, tx)),
                None => {
                    return Err(format!(
                    "sink `{name}` cannot be swapped while running (a sink group, a group's member or a `topic` sink)"
                ))
                }
            }
        }
        for (name, tx) in senders {
            let builder = |program: Arc<Program>, name: String, base: PathBuf, data: PathBuf| {
                Box::new(move || build_sink(&program, &name, connectors, &base, &data))
                    as Box<dyn FnOnce() -> Result<Box<dyn Sink>, RunError> + Send>
            };
            let swap = SinkSwap {
                build: builder(new.clone(), name.clone(), self.base_dir.clone(), self.data_dir.clone()),
                fallback: builder(old.clone(), name.clone(), self.base_dir.clone(), self.data_dir.clone()),
            };
            tx.send(swap).await.map_err(|_| format!("sink `{name}` is no longer running"))?;
        }
        Ok(())
    }
}
