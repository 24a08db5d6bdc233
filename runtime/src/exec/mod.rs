//! The executor: runs a checked [`Program`] on tokio.
//!
//! Every node is a task; every node with inputs owns one bounded queue of Arrow [`RecordBatch`]es
//! that all its upstream nodes send into, so a slow sink slows everything before it (backpressure,
//! never a silent drop). A node with several outputs sends each batch to all of them (fan-out
//! replicates). Batches carry an [`Ack`]: once every sink that got a batch has written it, the
//! source learns so and may advance its position (rename a spooled file, …).
//!
//! A run ends when every source has ended and everything in flight has drained, or, on
//! SIGINT/SIGTERM (or a failure), once the sources have stopped and what they emitted has drained.
//!
//! [`RecordBatch`]: arrow_array::RecordBatch

pub mod batch;
pub mod connector;
pub mod expr;
mod file_channel;
mod memory_channel;
pub mod options;
mod sink_group;
mod topic;
pub mod transform;

pub use connector::{
    blocking, Ack, AckWait, BoxFuture, Envelope, NodeMetrics, Output, Shutdown, Sink, Source, SourceContext,
};
pub use options::Opts;

use crate::log;
use flowc_compiler::builtins::ConnectorSig;
use flowc_compiler::graph::{EdgeKind, NodeKind, Program};
use flowc_compiler::types::StreamType;
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use transform::Transform;

/// Batches a node's input queue holds before its senders wait.
const QUEUE_BATCHES: usize = 2;
/// How often a sink tries to write one batch before the run fails, and the first pause between tries.
const WRITE_ATTEMPTS: u32 = 5;
const RETRY_FIRST_PAUSE: Duration = Duration::from_millis(200);

/// Why a run could not start or did not finish cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The program uses something `flowc run` does not execute yet.
    Unsupported,
    /// An option value that cannot be used (an unset `${VAR}`, a bad regex).
    Config,
    /// Reading or writing failed.
    Io,
    /// An expression could not be evaluated on some records (they are counted and dropped).
    Eval,
    /// A broken invariant: a bug in flowc.
    Internal,
}

impl RunError {
    pub fn unsupported(what: impl fmt::Display) -> RunError {
        RunError { kind: ErrorKind::Unsupported, message: format!("{what} cannot run yet") }
    }
    pub fn config(message: impl fmt::Display) -> RunError {
        RunError { kind: ErrorKind::Config, message: message.to_string() }
    }
    pub fn io(message: impl fmt::Display) -> RunError {
        RunError { kind: ErrorKind::Io, message: message.to_string() }
    }
    pub fn eval(err: impl fmt::Display) -> RunError {
        RunError { kind: ErrorKind::Eval, message: err.to_string() }
    }
    pub fn internal(message: impl fmt::Display) -> RunError {
        RunError { kind: ErrorKind::Internal, message: message.to_string() }
    }
    fn in_node(mut self, node: &str) -> RunError {
        self.message = format!("{node}: {}", self.message);
        self
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunError {}

/// What the executor needs from the standard library: the source or sink behind a node.
pub trait Connectors: Sync {
    fn source(&self, spec: &NodeSpec<'_>) -> Result<Box<dyn Source>, RunError>;
    fn sink(&self, spec: &NodeSpec<'_>) -> Result<Box<dyn Sink>, RunError>;
    /// The options a `topic` declaration takes, with their defaults.
    fn topic_params(&self) -> &'static [flowc_compiler::builtins::ParamSig] {
        &[]
    }
}

/// A source or sink node, as a connector implementation sees it.
pub struct NodeSpec<'a> {
    pub name: &'a str,
    pub connector: &'static ConnectorSig,
    pub options: Opts<'a>,
    /// The type of the records fed to a sink.
    pub input: Option<&'a StreamType>,
    /// Relative paths in options are relative to this directory (the `.flow` file's).
    pub base_dir: &'a Path,
    /// The run's data directory (`--data-dir`): topics, channel logs, a source's saved positions.
    pub data_dir: &'a Path,
}

enum Task {
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
    /// A durable channel on its own log.
    File(Box<file_channel::FileChannel>),
}

struct Planned {
    name: String,
    /// `source spooldir`, `channel memory`, `where`, …
    what: String,
    task: Task,
    /// Downstream nodes, with the route arm an edge belongs to (`None` for plain edges).
    outputs: Vec<(usize, Option<usize>)>,
    /// Where a `parse` sends the records it rejects (`else -> target`).
    dead_letters: Vec<usize>,
    has_input: bool,
    metrics: Arc<NodeMetrics>,
}

/// A program turned into runnable tasks; nothing has started yet.
pub struct Plan {
    nodes: Vec<Planned>,
    /// Node positions in flow order (sources first), for the report.
    order: Vec<usize>,
    base_dir: PathBuf,
    data_dir: PathBuf,
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
    let mut nodes = Vec::with_capacity(graph.node_count());
    // Each topic written in this program tells its groups when every writer has ended.
    let mut topic_done: std::collections::HashMap<String, watch::Receiver<bool>> = Default::default();
    for index in graph.node_indices() {
        let node = &graph[index];
        let input = graph.edges_directed(index, Direction::Incoming).find_map(|e| e.weight().ty.as_ref());
        let spec = |connector: &'static ConnectorSig, options| NodeSpec {
            name: &node.name,
            connector,
            options: Opts::new(&node.name, options, connector.params),
            input,
            base_dir,
            data_dir,
        };
        let (what, task) = match &node.kind {
            NodeKind::Source { connector, .. } if connector.kind == "kafka" => {
                return Err(kafka_refused(&node.name, "source"));
            }
            NodeKind::Source { connector, options } if connector.kind == "topic" => {
                let opts = Opts::new(&node.name, options, connector.params);
                let topic = graph
                    .edges_directed(index, Direction::Incoming)
                    .map(|e| graph[e.source()].name.clone())
                    .next()
                    .ok_or_else(|| RunError::internal(format!("{}: no topic to read", node.name)))?;
                let output = node
                    .output
                    .as_ref()
                    .ok_or_else(|| RunError::internal(format!("{}: no checked output type", node.name)))?;
                let read = topic::GroupRead {
                    data_dir: data_dir.to_path_buf(),
                    topic,
                    // Without `group`, the source's own name: a restarted pipeline resumes.
                    group: opts.string("group")?.unwrap_or_else(|| node.name.clone()),
                    reset: match opts.string("start")?.as_deref() {
                        Some("latest") => log::OffsetReset::Latest,
                        _ => log::OffsetReset::Earliest,
                    },
                    shared: false,
                    schema: batch::schema(output)?,
                    writers_done: None,
                    batch_size: opts.int("batch_size")?.unwrap_or(1_000).max(1) as usize,
                };
                ("source topic".to_string(), Task::Group(read))
            }
            NodeKind::Source { connector, options } => {
                let task = connectors.source(&spec(connector, options)).map_err(|e| e.in_node(&node.name))?;
                (format!("source {}", connector.kind), Task::Source(task))
            }
            NodeKind::Sink { connector, options } => {
                if matches!(connector.kind, "failover" | "load_balance") {
                    let opts = Opts::new(&node.name, options, connector.params);
                    let policy =
                        sink_group::Policy::from_options(connector.kind, &opts).map_err(|e| e.in_node(&node.name))?;
                    let members = match opts.get("sinks") {
                        Some(flowc_compiler::graph::OptionValue::List(items)) => items
                            .iter()
                            .filter_map(|v| match v {
                                flowc_compiler::graph::OptionValue::Word(w)
                                | flowc_compiler::graph::OptionValue::Str(w) => Some(w.clone()),
                                _ => None,
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    let task = Task::SinkGroup { policy, members };
                    nodes.push(planned(graph, index, format!("sink {}", connector.kind), task));
                    continue;
                }
                if connector.kind == "kafka" {
                    return Err(kafka_refused(&node.name, "sink"));
                }
                if connector.kind == "topic" {
                    let opts = Opts::new(&node.name, options, connector.params);
                    let key = opts.string("key")?;
                    (format!("sink {}", connector.kind), Task::TopicSink { key })
                } else {
                    let task = connectors.sink(&spec(connector, options)).map_err(|e| e.in_node(&node.name))?;
                    (format!("sink {}", connector.kind), Task::Sink(task))
                }
            }
            NodeKind::Channel { connector, options } if connector.kind == "file" => {
                let opts = Opts::new(&node.name, options, connector.params);
                let ty = node
                    .output
                    .as_ref()
                    .or(input)
                    .ok_or_else(|| RunError::internal(format!("{}: no checked stream type", node.name)))?;
                let schema = batch::schema(ty).map_err(|e| e.in_node(&node.name))?;
                let channel = file_channel::FileChannel::open(&node.name, &opts, schema, base_dir, data_dir)
                    .map_err(|e| e.in_node(&node.name))?;
                ("channel file".to_string(), Task::File(Box::new(channel)))
            }
            NodeKind::Channel { connector, options } => {
                if connector.kind != "memory" {
                    return Err(RunError::unsupported(format!("{}: the `{}` channel", node.name, connector.kind)));
                }
                let opts = Opts::new(&node.name, options, connector.params);
                let limits = memory_channel::MemoryLimits {
                    capacity: opts.int("capacity")?.unwrap_or(10_000).max(1) as u64,
                    byte_capacity: opts.size("byte_capacity")?.unwrap_or(64 << 20).max(1),
                    transaction_capacity: opts.int("transaction_capacity")?.unwrap_or(1_000).max(1) as usize,
                    keep_alive: opts.duration("keep_alive")?.unwrap_or(Duration::from_secs(3)),
                };
                (format!("channel {}", connector.kind), Task::Memory(limits))
            }
            NodeKind::Transform(t) => {
                let task = Transform::build(node, t).map_err(|e| e.in_node(&node.name))?;
                (node.kind.role().to_string(), Task::Transform(task))
            }
            NodeKind::Route(arms) => {
                let arms = arms
                    .iter()
                    .map(|arm| arm.condition.as_ref().map(expr::compile).transpose())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.in_node(&node.name))?;
                ("route".to_string(), Task::Route(arms))
            }
            NodeKind::Topic { options } => {
                for edge in graph.edges_directed(index, Direction::Outgoing) {
                    let reader = &graph[edge.target()].kind;
                    let topic_source =
                        matches!(reader, NodeKind::Source { connector, .. } if connector.kind == "topic");
                    if !topic_source && !matches!(reader, NodeKind::Group { .. }) {
                        return Err(RunError::unsupported(format!(
                            "{}: reading a topic other than as a consumer group (`{} -> group \"G\" -> …`)",
                            node.name, node.name
                        )));
                    }
                }
                let key = topic::ensure_topic(data_dir, &node.name, options, connectors.topic_params())
                    .map_err(|e| e.in_node(&node.name))?;
                let (done, done_rx) = watch::channel(false);
                if graph.edges_directed(index, Direction::Incoming).next().is_some() {
                    topic_done.insert(node.name.clone(), done_rx);
                }
                ("topic".to_string(), Task::Topic { key, done })
            }
            NodeKind::Group { topic, group } => {
                let output = node
                    .output
                    .as_ref()
                    .ok_or_else(|| RunError::internal(format!("{}: no checked output type", node.name)))?;
                let read = topic::GroupRead {
                    data_dir: data_dir.to_path_buf(),
                    topic: topic.clone(),
                    group: group.clone(),
                    reset: log::OffsetReset::Earliest,
                    shared: true,
                    schema: batch::schema(output)?,
                    writers_done: None,
                    batch_size: 1_000,
                };
                (format!("group {group}"), Task::Group(read))
            }
        };
        nodes.push(planned(graph, index, what, task));
    }
    // Sink groups take their members' sinks: a member writes only through its group.
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
    // Groups learn about their topic's writers once every topic has been seen.
    for node in &mut nodes {
        if let Task::Group(read) = &mut node.task {
            read.writers_done = topic_done.get(&read.topic).cloned();
        }
    }
    let order = match petgraph::algo::toposort(graph, None) {
        Ok(sorted) => sorted.into_iter().map(|i| i.index()).collect(),
        Err(_) => (0..nodes.len()).collect(),
    };
    Ok(Plan { nodes, order, base_dir: base_dir.to_path_buf(), data_dir: data_dir.to_path_buf() })
}

/// A node's task with its edges: where it sends, and whether anything feeds it.
fn planned(
    graph: &petgraph::graph::DiGraph<flowc_compiler::graph::Node, flowc_compiler::graph::Edge>,
    index: petgraph::graph::NodeIndex,
    what: String,
    task: Task,
) -> Planned {
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
    }
}

/// The refusal of a `kafka` source or sink: the embedded log is what `flowc run` reaches today.
fn kafka_refused(node: &str, role: &str) -> RunError {
    RunError {
        kind: ErrorKind::Unsupported,
        message: format!(
            "{node}: the `kafka` {role} (an external Kafka cluster at `brokers`) cannot run yet; \
             a declared topic in the embedded log runs (`{role} {node} = topic {{ topic = … }}`)"
        ),
    }
}

/// How a run went: per-node counters, and what failed.
#[derive(Debug)]
pub struct RunReport {
    pub nodes: Vec<NodeReport>,
    pub errors: Vec<RunError>,
    /// The signal that stopped the run, when one did.
    pub stopped_by: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct NodeReport {
    pub name: String,
    pub what: String,
    pub events_in: u64,
    pub events_out: u64,
    pub errors: u64,
}

/// SIGINT and SIGTERM, as they arrive. The handlers are installed when this is called (inside a tokio
/// runtime), so call it before the run starts.
pub fn signals() -> std::io::Result<Signals> {
    use tokio::signal::unix::{signal, SignalKind};
    Ok(Signals { term: signal(SignalKind::terminate())?, int: signal(SignalKind::interrupt())? })
}

/// The stop signals a run listens to.
#[derive(Debug)]
pub struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Resolves with the next signal's name.
    pub async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// A node's live counters, for whoever shows the run while it goes.
#[derive(Debug, Clone)]
pub struct NodeHandle {
    pub name: String,
    /// `source spooldir`, `channel memory`, `sink files`, …
    pub what: String,
    pub metrics: Arc<NodeMetrics>,
}

impl Plan {
    /// Every node's counters, in flow order (sources first); they move while [`Plan::run`] runs.
    pub fn nodes(&self) -> Vec<NodeHandle> {
        self.order
            .iter()
            .map(|&i| NodeHandle {
                name: self.nodes[i].name.clone(),
                what: self.nodes[i].what.clone(),
                metrics: self.nodes[i].metrics.clone(),
            })
            .collect()
    }

    /// Runs every node until the sources end and everything drained, or `stop` resolves (then the
    /// sources stop and what is in flight drains).
    pub async fn run(self, stop: impl Future<Output = &'static str> + Send + 'static) -> RunReport {
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shutdown_tx = Arc::new(shutdown_tx);
        let mut senders = Vec::with_capacity(self.nodes.len());
        let mut receivers = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            if node.has_input {
                let (tx, rx) = mpsc::channel::<Envelope>(QUEUE_BATCHES);
                senders.push(Some(tx));
                receivers.push(Some(rx));
            } else {
                senders.push(None);
                receivers.push(None);
            }
        }
        let reports: Vec<(String, String, Arc<NodeMetrics>)> = self
            .order
            .iter()
            .map(|&i| (self.nodes[i].name.clone(), self.nodes[i].what.clone(), self.nodes[i].metrics.clone()))
            .collect();
        let mut tasks: JoinSet<Result<(), RunError>> = JoinSet::new();
        for (i, node) in self.nodes.into_iter().enumerate() {
            let output = Output {
                targets: node.outputs.iter().filter_map(|(t, _)| senders[*t].clone()).collect(),
                metrics: node.metrics.clone(),
            };
            let input = receivers[i].take();
            let metrics = node.metrics.clone();
            let name = node.name.clone();
            let shutdown = Shutdown(shutdown_rx.clone());
            let trigger = shutdown_tx.clone();
            match node.task {
                Task::Source(source) => {
                    let ctx = SourceContext {
                        name: name.clone(),
                        output,
                        shutdown,
                        metrics,
                        base_dir: self.base_dir.clone(),
                    };
                    tasks.spawn(async move { source.run(ctx).await.map_err(|e| e.in_node(&name)) });
                }
                Task::Memory(limits) => {
                    let input = input.expect("a channel has an input");
                    tasks.spawn(memory_channel::run(name, input, output, limits, metrics));
                }
                Task::File(channel) => {
                    let input = input.expect("a channel has an input");
                    tasks.spawn(async move { channel.run(input, output, metrics).await.map_err(|e| e.in_node(&name)) });
                }
                Task::Transform(t) => {
                    let input = input.expect("a transform has an input");
                    // Rejected records are not the transform's output: their own counter, not shown.
                    let dead = Output {
                        targets: node.dead_letters.iter().filter_map(|t| senders[*t].clone()).collect(),
                        metrics: Arc::new(NodeMetrics::default()),
                    };
                    tasks.spawn(async move {
                        run_transform(&name, t, input, output, dead, metrics).await.map_err(|e| e.in_node(&name))
                    });
                }
                Task::Route(arms) => {
                    let input = input.expect("a route has an input");
                    let mut targets: Vec<(usize, Vec<usize>)> = Vec::new();
                    for (t, arm) in &node.outputs {
                        let Some(arm) = arm else { continue };
                        match targets.iter_mut().find(|(n, _)| n == t) {
                            Some((_, arms)) => arms.push(*arm),
                            None => targets.push((*t, vec![*arm])),
                        }
                    }
                    let targets =
                        targets.into_iter().filter_map(|(t, arms)| Some((senders[t].clone()?, arms))).collect();
                    drop(output);
                    tasks.spawn(
                        async move { run_route(arms, targets, input, metrics).await.map_err(|e| e.in_node(&name)) },
                    );
                }
                Task::Topic { key, done } => {
                    // A topic's readers are consumer groups reading the log, not its queue.
                    drop(output);
                    let data_dir = self.data_dir.clone();
                    match input {
                        Some(input) => {
                            tasks.spawn(async move {
                                topic::write_topic(data_dir, name.clone(), key, input, metrics, done)
                                    .await
                                    .map_err(|e| e.in_node(&name))
                            });
                        }
                        None => drop(done),
                    }
                }
                Task::Member => {}
                Task::SinkGroup { .. } => {
                    tasks.spawn(
                        async move { Err(RunError::internal(format!("{name}: a sink group without its members"))) },
                    );
                }
                Task::TopicSink { key } => {
                    let input = input.expect("a sink has an input");
                    tasks.spawn(async move {
                        topic::topic_sink(key, input, output, metrics).await.map_err(|e| e.in_node(&name))
                    });
                }
                Task::Group(read) => {
                    drop(input);
                    let members = if read.shared {
                        drop(output);
                        node.outputs
                            .iter()
                            .filter_map(|(t, _)| senders[*t].clone())
                            .map(|tx| Output { targets: vec![tx], metrics: node.metrics.clone() })
                            .collect()
                    } else {
                        vec![output]
                    };
                    tasks.spawn(async move {
                        topic::read_group(read, members, shutdown, metrics).await.map_err(|e| e.in_node(&name))
                    });
                }
                Task::Sink(sink) => {
                    let input = input.expect("a sink has an input");
                    tasks.spawn(async move {
                        run_sink(name.clone(), sink, input, metrics, trigger).await.map_err(|e| e.in_node(&name))
                    });
                }
            }
        }
        // Only the nodes hold senders now: a queue closes once everything upstream of it is done.
        drop(senders);
        let (signal_tx, mut signal_rx) = mpsc::channel::<&'static str>(1);
        let stop_trigger = shutdown_tx.clone();
        let watcher = tokio::spawn(async move {
            let name = stop.await;
            let _ = signal_tx.send(name).await;
            let _ = stop_trigger.send(true);
        });
        let mut errors = Vec::new();
        while let Some(result) = tasks.join_next().await {
            let failure = match result {
                Ok(Ok(())) => None,
                Ok(Err(err)) => Some(err),
                Err(join) => Some(RunError::internal(format!("a task failed: {join}"))),
            };
            if let Some(err) = failure {
                errors.push(err);
                let _ = shutdown_tx.send(true);
            }
        }
        watcher.abort();
        let stopped_by = signal_rx.try_recv().ok();
        let nodes = reports
            .into_iter()
            .map(|(name, what, m)| NodeReport {
                name,
                what,
                events_in: m.events_in(),
                events_out: m.events_out(),
                errors: m.errors(),
            })
            .collect();
        RunReport { nodes, errors, stopped_by }
    }
}

/// Runs a transform; a `parse`'s rejected records go to `dead` (its dead-letter target, if any) with
/// the batch's acknowledgement, so the source advances only once they are written there too.
async fn run_transform(
    name: &str,
    transform: Transform,
    mut input: mpsc::Receiver<Envelope>,
    output: Output,
    dead: Output,
    metrics: Arc<NodeMetrics>,
) -> Result<(), RunError> {
    let mut warned = false;
    let mut warned_reject = false;
    while let Some(env) = input.recv().await {
        let rows = env.batch.num_rows() as u64;
        metrics.add_in(rows);
        match transform.apply(&env.batch) {
            Ok(applied) => {
                metrics.add_errors(applied.rejected);
                if let Some(first) = applied.first_rejected.filter(|_| !warned_reject) {
                    // Once per node: the summary counts the rest.
                    let sent = if dead.targets.is_empty() { "dropped" } else { "sent to the dead-letter target" };
                    tracing::warn!(
                        "{name}: a line did not parse because {first} ({sent}; the summary counts them all)"
                    );
                    warned_reject = true;
                }
                if let Some(rejected) = applied.dead {
                    if dead.send(rejected, env.ack.clone()).await.is_err() {
                        env.ack.fail();
                        return Ok(());
                    }
                }
                if output.send(applied.batch, env.ack).await.is_err() {
                    return Ok(());
                }
            }
            // `parse … else fail`: the run stops.
            Err(err) if err.kind == ErrorKind::Io => {
                env.ack.fail();
                return Err(err);
            }
            Err(err) => {
                // Records an expression cannot be evaluated on are counted and dropped.
                metrics.add_errors(rows);
                if !warned {
                    tracing::warn!("{rows} record(s) dropped: {err}");
                    warned = true;
                }
            }
        }
    }
    Ok(())
}

/// A route: each record goes to the targets of the first arm whose condition holds (`else` takes
/// the rest; without one, what matches nothing is dropped). Each target gets its records in input
/// order, once per batch, even when several arms lead to it.
async fn run_route(
    arms: Vec<Option<expr::Compiled>>,
    targets: Vec<(mpsc::Sender<Envelope>, Vec<usize>)>,
    mut input: mpsc::Receiver<Envelope>,
    metrics: Arc<NodeMetrics>,
) -> Result<(), RunError> {
    let mut warned = false;
    while let Some(env) = input.recv().await {
        let rows = env.batch.num_rows();
        metrics.add_in(rows as u64);
        let routed = expr::drop_malformed(arms.iter().flatten(), &env.batch)
            .and_then(|(batch, malformed)| Ok((route_batch(&arms, &targets, &batch)?, malformed)));
        let sends = match routed {
            Ok((sends, malformed)) => {
                metrics.add_errors(malformed);
                Ok(sends)
            }
            Err(err) => Err(err),
        };
        let sends = match sends {
            Ok(sends) => sends,
            Err(err) => {
                metrics.add_errors(rows as u64);
                if !warned {
                    tracing::warn!("{rows} record(s) dropped: {err}");
                    warned = true;
                }
                continue;
            }
        };
        let (batches, routed) = sends;
        for ((tx, _), batch) in targets.iter().zip(batches) {
            if batch.num_rows() > 0 && tx.send(Envelope { batch, ack: env.ack.clone() }).await.is_err() {
                return Ok(());
            }
        }
        metrics.add_out(routed);
    }
    Ok(())
}

/// The batch each target gets, and how many records were routed anywhere.
fn route_batch(
    arms: &[Option<expr::Compiled>],
    targets: &[(mpsc::Sender<Envelope>, Vec<usize>)],
    batch: &arrow_array::RecordBatch,
) -> Result<(Vec<arrow_array::RecordBatch>, u64), RunError> {
    use arrow_arith::boolean::{and, not, or};
    use arrow_array::BooleanArray;
    let rows = batch.num_rows();
    let mut left = BooleanArray::from(vec![true; rows]);
    let mut picked = Vec::with_capacity(arms.len());
    for arm in arms {
        let mask = match arm {
            None => left.clone(),
            Some(cond) => and(&left, &expr::eval_predicate(cond, batch)?).map_err(RunError::eval)?,
        };
        left = and(&left, &not(&mask).map_err(RunError::eval)?).map_err(RunError::eval)?;
        picked.push(mask);
    }
    let routed = rows - left.true_count();
    let mut out = Vec::with_capacity(targets.len());
    for (_, arms_of_target) in targets {
        let mut mask = BooleanArray::from(vec![false; rows]);
        for arm in arms_of_target {
            mask = or(&mask, &picked[*arm]).map_err(RunError::eval)?;
        }
        out.push(arrow_select::filter::filter_record_batch(batch, &mask).map_err(RunError::eval)?);
    }
    Ok((out, routed as u64))
}

/// Writes a batch, retrying a failed write with a doubling pause; after the last attempt the error
/// stands (the run then stops: a sink that keeps failing is reported, not spun on forever).
async fn write_with_retries(sink: &mut dyn Sink, batch: &arrow_array::RecordBatch, name: &str) -> Result<(), RunError> {
    let mut pause = RETRY_FIRST_PAUSE;
    for attempt in 1.. {
        match sink.write(batch).await {
            Ok(()) => return Ok(()),
            Err(err) if attempt >= WRITE_ATTEMPTS || err.kind == ErrorKind::Internal => return Err(err),
            Err(err) => {
                tracing::warn!(
                    "{name}: write failed (attempt {attempt} of {WRITE_ATTEMPTS}, again in {pause:?}): {err}"
                );
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
    }
    unreachable!("the loop returns")
}

async fn run_sink(
    name: String,
    mut sink: Box<dyn Sink>,
    mut input: mpsc::Receiver<Envelope>,
    metrics: Arc<NodeMetrics>,
    shutdown: Arc<watch::Sender<bool>>,
) -> Result<(), RunError> {
    let mut failed: Option<RunError> = None;
    let mut ticker = sink.tick_interval().map(|d| {
        let mut t = tokio::time::interval(d.max(Duration::from_millis(10)));
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    loop {
        let next = match ticker.as_mut() {
            Some(ticker) => tokio::select! {
                next = input.recv() => next,
                _ = ticker.tick() => {
                    if failed.is_none() {
                        if let Err(err) = sink.tick().await {
                            failed = Some(err);
                            let _ = shutdown.send(true);
                        }
                    }
                    continue;
                }
            },
            None => input.recv().await,
        };
        let Some(env) = next else { break };
        let rows = env.batch.num_rows() as u64;
        metrics.add_in(rows);
        if failed.is_some() {
            // After a failure nothing more is written; the sources are stopping and must not advance.
            env.ack.fail();
            metrics.add_errors(rows);
            continue;
        }
        match write_with_retries(sink.as_mut(), &env.batch, &name).await {
            Ok(()) => {
                sink.hold(&env.ack);
                metrics.add_out(rows);
                metrics.add_bytes_out(batch::data_bytes(&env.batch));
            }
            Err(err) => {
                env.ack.fail();
                metrics.add_errors(rows);
                failed = Some(err);
                let _ = shutdown.send(true);
            }
        }
    }
    let closed = sink.close().await;
    match (failed, closed) {
        (Some(err), _) | (None, Err(err)) => Err(err),
        (None, Ok(())) => Ok(()),
    }
}
