//! A checked program turned into tasks: every connector built and every option read before anything moves.

use super::reload::{Reloader, RouteSwap, SinkSwap, SourceSwap, SwapTx, TransformSwap};
use super::*;
use flowc_compiler::builtins::StreamOut;
use flowc_compiler::graph::OptionMap;
use petgraph::graph::NodeIndex;
use std::collections::HashMap;

pub(crate) enum Task {
    Source(Box<dyn Source>),
    Memory(memory_channel::MemoryLimits),
    Transform(Transform),
    /// Conditions of a route's arms in order (`None`: `else`).
    Route(Vec<Option<expr::Compiled>>),
    Sink(Box<dyn Sink>),
    /// Appends to a topic of the embedded log; `done` is set once every writer has ended.
    Topic {
        key: Option<String>,
        done: watch::Sender<bool>,
    },
    /// Consumes a topic as a consumer group (a `-> group` node, or a `topic` source).
    Group(topic::GroupRead),
    /// A sink group before it has taken its members' sinks (in priority order).
    SinkGroup {
        policy: sink_group::Policy,
        members: Vec<String>,
    },
    /// A member of a sink group: its group writes to it; nothing runs here.
    Member,
    /// A `topic` sink: hands its batches to the topic's node, keyed by `key` when set.
    TopicSink {
        key: Option<String>,
    },
    /// A consumer group of a topic on an external Kafka cluster: one reading source per member.
    Members(Vec<Box<dyn Source>>),
    /// A durable channel on its own log.
    File(Box<file_channel::FileChannel>),
}

pub(super) struct Planned {
    pub(super) name: String,
    /// `source spooldir`, `channel memory`, `where`, …
    pub(super) what: String,
    pub(super) task: Task,
    /// Downstream nodes, with the route arm an edge belongs to (`None` for plain edges).
    pub(super) outputs: Vec<(usize, Option<usize>)>,
    /// Where a `parse` sends the records it rejects (`else -> target`).
    pub(super) dead_letters: Vec<usize>,
    pub(super) has_input: bool,
    pub(super) metrics: Arc<NodeMetrics>,
    /// A sink's `max_retries`: how often a failed write is tried again (`None`: without end).
    pub(super) max_retries: Option<u32>,
    /// Where a plain sink's task receives a new sink on reload (see [`super::reload`]).
    pub(super) swaps: Option<mpsc::Receiver<SinkSwap>>,
    /// Where a transform's task receives its new transform on reload.
    pub(super) transform_swaps: Option<mpsc::Receiver<TransformSwap>>,
    /// Where a source's task receives its new source on reload.
    pub(super) source_swaps: Option<mpsc::Receiver<SourceSwap>>,
    /// Where a route's task receives its new conditions on reload.
    pub(super) route_swaps: Option<mpsc::Receiver<RouteSwap>>,
}

/// A program turned into runnable tasks; nothing has started yet.
pub struct Plan {
    pub(super) nodes: Vec<Planned>,
    /// Node positions in flow order (sources first), for the report.
    pub(super) order: Vec<usize>,
    pub(super) base_dir: PathBuf,
    pub(super) data_dir: PathBuf,
    /// The swap queue of every plain sink and transform, by name.
    pub(super) swaps: Vec<(String, SwapTx)>,
}

impl Plan {
    /// Swaps sinks while the plan runs (hot reload).
    pub fn reloader(&self) -> Reloader {
        Reloader { swaps: self.swaps.clone(), base_dir: self.base_dir.clone(), data_dir: self.data_dir.clone() }
    }
}

/// Builds the sink `name` of `program` on its own, as [`plan`] does (a reload's new sink).
pub(crate) fn build_sink(
    program: &Program,
    name: &str,
    connectors: &dyn Connectors,
    base_dir: &Path,
    data_dir: &Path,
) -> Result<Box<dyn Sink>, RunError> {
    let graph = &program.graph;
    let index = node_named(program, name, "sink")?;
    match plan_node(graph, index, connectors, Dirs { base_dir, data_dir }, &mut HashMap::new())? {
        (_, Task::Sink(sink)) => Ok(sink),
        _ => Err(RunError::internal(format!("`{name}` is not a plain sink"))),
    }
}

/// Builds the source `name` of `program` on its own, as [`plan`] does (a reload's new source).
pub(crate) fn build_source(
    program: &Program,
    name: &str,
    connectors: &dyn Connectors,
    base_dir: &Path,
    data_dir: &Path,
) -> Result<Box<dyn Source>, RunError> {
    let graph = &program.graph;
    let index = node_named(program, name, "source")?;
    match plan_node(graph, index, connectors, Dirs { base_dir, data_dir }, &mut HashMap::new())? {
        (_, Task::Source(source)) => Ok(source),
        _ => Err(RunError::internal(format!("`{name}` is not a source"))),
    }
}

/// Builds the transform `name` of `program` on its own (a reload's new transform).
pub(crate) fn build_transform(program: &Program, name: &str) -> Result<Transform, RunError> {
    let graph = &program.graph;
    let index = node_named(program, name, "transform")?;
    match &graph[index].kind {
        NodeKind::Transform(t) => Transform::build(&graph[index], t).map_err(|e| e.in_node(name)),
        _ => Err(RunError::internal(format!("`{name}` is not a transform"))),
    }
}

/// The conditions of route `name`'s arms in `program` (the new one, on reload).
pub(crate) fn build_route(program: &Program, name: &str) -> Result<Vec<Option<expr::Compiled>>, RunError> {
    let graph = &program.graph;
    let index = node_named(program, name, "route")?;
    match &graph[index].kind {
        NodeKind::Route(arms) => route_arms(arms).map_err(|e| e.in_node(name)),
        _ => Err(RunError::internal(format!("`{name}` is not a route"))),
    }
}

/// The node called `name` in `program` (a reload's new program), which should be a `what`.
fn node_named(program: &Program, name: &str, what: &str) -> Result<NodeIndex, RunError> {
    let graph = &program.graph;
    graph
        .node_indices()
        .find(|&i| graph[i].name == name)
        .ok_or_else(|| RunError::internal(format!("no {what} `{name}` in the new program")))
}

fn route_arms(arms: &[flowc_compiler::ast::RouteArm]) -> Result<Vec<Option<expr::Compiled>>, RunError> {
    arms.iter().map(|arm| arm.condition.as_ref().map(expr::compile).transpose()).collect()
}

/// Turns a checked program into tasks: every connector is built and every option read, so anything
/// `flowc run` cannot do yet is reported before a single event moves.
/// Topics live in the embedded log under `data_dir`; they are created from their declarations when
/// they do not exist yet.
pub fn plan(
    program: &Program,
    connectors: &dyn Connectors,
    base_dir: &Path,
    data_dir: &Path,
) -> Result<Plan, RunError> {
    let graph = &program.graph;
    let dirs = Dirs { base_dir, data_dir };
    let mut nodes = Vec::with_capacity(graph.node_count());
    // Each topic written in this program tells its groups when every writer has ended.
    let mut topic_done = HashMap::new();
    for index in graph.node_indices() {
        let (what, task) = plan_node(graph, index, connectors, dirs, &mut topic_done)?;
        let mut node = planned(graph, index, what, task);
        node.max_retries = max_retries(&graph[index])?;
        nodes.push(node);
    }
    give_groups_their_members(&mut nodes)?;
    // Plain sinks (not a group, not a group's member, not a `topic` sink) can be swapped on reload.
    let mut swaps = Vec::new();
    for index in graph.node_indices() {
        let grouping =
            graph.edges_directed(index, Direction::Outgoing).any(|e| e.weight().kind == EdgeKind::GroupMember);
        let node = &mut nodes[index.index()];
        if matches!(node.task, Task::Sink(_)) && !grouping {
            let (tx, rx) = mpsc::channel(1);
            node.swaps = Some(rx);
            swaps.push((node.name.clone(), SwapTx::Sink(tx)));
        }
        if matches!(node.task, Task::Source(_)) {
            let (tx, rx) = mpsc::channel(1);
            node.source_swaps = Some(rx);
            swaps.push((node.name.clone(), SwapTx::Source(tx)));
        }
        if matches!(node.task, Task::Transform(_)) {
            let (tx, rx) = mpsc::channel(1);
            node.transform_swaps = Some(rx);
            swaps.push((node.name.clone(), SwapTx::Transform(tx)));
        }
        if matches!(node.task, Task::Route(_)) {
            let (tx, rx) = mpsc::channel(1);
            node.route_swaps = Some(rx);
            swaps.push((node.name.clone(), SwapTx::Route(tx)));
        }
    }
    for node in &mut nodes {
        if let Task::Group(read) = &mut node.task {
            read.writers_done = topic_done.get(&read.topic).cloned();
        }
    }
    let order = match petgraph::algo::toposort(graph, None) {
        Ok(sorted) => sorted.into_iter().map(|i| i.index()).collect(),
        Err(_) => (0..nodes.len()).collect(),
    };
    Ok(Plan { nodes, order, base_dir: base_dir.to_path_buf(), data_dir: data_dir.to_path_buf(), swaps })
}

type Graph = petgraph::graph::DiGraph<flowc_compiler::graph::Node, flowc_compiler::graph::Edge>;

/// The run's directories: relative paths in options, and the data directory.
#[derive(Clone, Copy)]
struct Dirs<'a> {
    base_dir: &'a Path,
    data_dir: &'a Path,
}

/// One node's task, and what the report calls it (`source spooldir`, `where`, …).
fn plan_node(
    graph: &Graph,
    index: NodeIndex,
    connectors: &dyn Connectors,
    dirs: Dirs<'_>,
    topic_done: &mut HashMap<String, watch::Receiver<bool>>,
) -> Result<(String, Task), RunError> {
    let node = &graph[index];
    match &node.kind {
        NodeKind::Source { connector, options }
        | NodeKind::Channel { connector, options }
        | NodeKind::Sink { connector, options } => {
            let task = build_connector(graph, index, connector, options, connectors, dirs)
                .map_err(|e| e.in_node(&node.name))?;
            Ok((format!("{} {}", connector.role.as_str(), connector.kind), task))
        }
        NodeKind::Transform(t) => {
            let task = Transform::build(node, t).map_err(|e| e.in_node(&node.name))?;
            Ok((node.kind.role().to_string(), Task::Transform(task)))
        }
        NodeKind::Route(arms) => {
            let arms = route_arms(arms).map_err(|e| e.in_node(&node.name))?;
            Ok(("route".to_string(), Task::Route(arms)))
        }
        NodeKind::Topic { options } => {
            let task = topic_node(graph, index, options, connectors, dirs, topic_done)?;
            Ok(("topic".to_string(), task))
        }
        NodeKind::Group { topic, group } => {
            let output = node
                .output
                .as_ref()
                .ok_or_else(|| RunError::internal(format!("{}: no checked output type", node.name)))?;
            if let Some(external) = external_topic(graph, topic, connectors)? {
                let members = graph
                    .edges_directed(index, Direction::Outgoing)
                    .map(|e| {
                        let member = &graph[e.target()].name;
                        connectors.external_group_member(&external, group, member, batch::schema(output)?)
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.in_node(&node.name))?;
                return Ok((format!("group {group}"), Task::Members(members)));
            }
            let read = topic::GroupRead {
                data_dir: dirs.data_dir.to_path_buf(),
                topic: topic.clone(),
                group: group.clone(),
                reset: log::OffsetReset::Earliest,
                shared: true,
                schema: batch::schema(output)?,
                writers_done: None,
                batch_size: 1_000,
            };
            Ok((format!("group {group}"), Task::Group(read)))
        }
    }
}

/// A source, channel or sink, built by its connector from its options.
fn build_connector(
    graph: &Graph,
    index: NodeIndex,
    sig: &'static ConnectorSig,
    options: &OptionMap,
    connectors: &dyn Connectors,
    dirs: Dirs<'_>,
) -> Result<Task, RunError> {
    let node = &graph[index];
    let connector = connectors
        .connector(sig)
        .ok_or_else(|| RunError::unsupported(format!("the `{}` {}", sig.kind, sig.role.as_str())))?;
    let spec = NodeSpec {
        name: &node.name,
        connector: sig,
        options: Opts::new(&node.name, options, sig.params),
        input: graph.edges_directed(index, Direction::Incoming).find_map(|e| e.weight().ty.as_ref()),
        output: node.output.as_ref(),
        base_dir: dirs.base_dir,
        data_dir: dirs.data_dir,
    };
    Ok((connector.build)(&spec)?.0)
}

/// A topic of the embedded log, created from its declaration when missing; read only by groups.
fn topic_node(
    graph: &Graph,
    index: NodeIndex,
    options: &OptionMap,
    connectors: &dyn Connectors,
    dirs: Dirs<'_>,
    topic_done: &mut HashMap<String, watch::Receiver<bool>>,
) -> Result<Task, RunError> {
    let node = &graph[index];
    for edge in graph.edges_directed(index, Direction::Outgoing) {
        let reader = &graph[edge.target()].kind;
        // A source whose records are the topic's reads it as a consumer group of its own.
        let topic_source =
            matches!(reader, NodeKind::Source { connector, .. } if matches!(connector.output, StreamOut::TopicOf(_)));
        if !topic_source && !matches!(reader, NodeKind::Group { .. }) {
            return Err(RunError::unsupported(format!(
                "{}: reading a topic other than as a consumer group (`{} -> group \"G\" -> …`)",
                node.name, node.name
            )));
        }
    }
    if let Some(external) = external_topic(graph, &node.name, connectors)? {
        if graph
            .edges_directed(index, Direction::Outgoing)
            .any(|e| !matches!(graph[e.target()].kind, NodeKind::Group { .. }))
        {
            return Err(RunError::unsupported(format!(
                "{}: a `topic` source on a topic of an external Kafka cluster (read it as `{} -> group \"G\" -> …`, or with a `kafka` source)",
                node.name, node.name
            )));
        }
        // Nothing written here: only its groups run (they read the cluster).
        if graph.edges_directed(index, Direction::Incoming).next().is_none() {
            return Ok(Task::Member);
        }
        return Ok(Task::Sink(connectors.external_topic_writer(&external).map_err(|e| e.in_node(&node.name))?));
    }
    let key = topic::ensure_topic(dirs.data_dir, &node.name, options, connectors.topic_params())
        .map_err(|e| e.in_node(&node.name))?;
    let (done, done_rx) = watch::channel(false);
    if graph.edges_directed(index, Direction::Incoming).next().is_some() {
        topic_done.insert(node.name.clone(), done_rx);
    }
    Ok(Task::Topic { key, done })
}

/// The topic `name` when its declaration binds it to an external Kafka cluster (`brokers`).
fn external_topic<'g>(
    graph: &'g Graph,
    name: &'g str,
    connectors: &dyn Connectors,
) -> Result<Option<ExternalTopic<'g>>, RunError> {
    let Some(options) = graph.node_weights().find_map(|n| match &n.kind {
        NodeKind::Topic { options } if n.name == name => Some(options),
        _ => None,
    }) else {
        return Ok(None);
    };
    let opts = Opts::new(name, options, connectors.topic_params());
    let Some(brokers) = opts.strings("brokers")? else { return Ok(None) };
    let brokers = brokers.join(",");
    Ok(Some(ExternalTopic { name, brokers, key: opts.string("key")? }))
}

/// Sink groups take their members' sinks: a member writes only through its group.
fn give_groups_their_members(nodes: &mut [Planned]) -> Result<(), RunError> {
    for g in 0..nodes.len() {
        let Task::SinkGroup { policy, members } = &nodes[g].task else { continue };
        let (policy, names) = (*policy, members.clone());
        let mut members = Vec::with_capacity(names.len());
        for member in names {
            let Some(m) = nodes.iter().position(|n| n.name == member) else {
                return Err(RunError::internal(format!("{}: no member `{member}`", nodes[g].name)));
            };
            let Task::Sink(sink) = std::mem::replace(&mut nodes[m].task, Task::Member) else {
                return Err(RunError::unsupported(format!(
                    "{}: `{member}` as a member of a sink group (a `topic` sink or another group)",
                    nodes[g].name
                )));
            };
            members.push(sink_group::Member::new(member, sink, nodes[m].metrics.clone()));
        }
        let group = sink_group::SinkGroup::new(nodes[g].name.clone(), policy, members);
        nodes[g].task = Task::Sink(Box::new(group));
    }
    Ok(())
}

/// A node's task with its edges: where it sends, and whether anything feeds it.
fn planned(graph: &Graph, index: NodeIndex, what: String, task: Task) -> Planned {
    let mut outputs = Vec::new();
    let mut dead_letters = Vec::new();
    for e in graph.edges_directed(index, Direction::Outgoing) {
        match e.weight().kind {
            EdgeKind::Data => outputs.push((e.target().index(), None)),
            EdgeKind::RouteArm(i) => outputs.push((e.target().index(), Some(i))),
            EdgeKind::DeadLetter => dead_letters.push(e.target().index()),
            // A sink group holds its members' sinks (see `sink_group`); nothing is sent to them.
            EdgeKind::GroupMember => {}
        }
    }
    Planned {
        name: graph[index].name.clone(),
        what,
        task,
        outputs,
        dead_letters,
        has_input: graph.edges_directed(index, Direction::Incoming).next().is_some(),
        metrics: Arc::new(NodeMetrics::default()),
        max_retries: None,
        swaps: None,
        transform_swaps: None,
        route_swaps: None,
        source_swaps: None,
    }
}

/// A sink's `max_retries` option, when its signature has one and it is set.
fn max_retries(node: &flowc_compiler::graph::Node) -> Result<Option<u32>, RunError> {
    let NodeKind::Sink { connector, options } = &node.kind else { return Ok(None) };
    if !connector.params.iter().any(|p| p.name == "max_retries") {
        return Ok(None);
    }
    let n = Opts::new(&node.name, options, connector.params).int("max_retries")?;
    Ok(n.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
}
