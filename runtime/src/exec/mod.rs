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
pub mod builtin;
pub mod connector;
mod error;
pub mod expr;
mod file_channel;
mod json_rows;
mod memory_channel;
pub mod metrics;
mod nodes;
pub mod options;
mod plan;
pub mod reload;
mod sink_group;
pub mod testing;
mod topic;
pub mod transform;

pub use connector::{
    blocking, Ack, AckWait, BoxFuture, Build, Built, Connector, Envelope, NodeMetrics, Output, Shutdown, Sink, Source,
    SourceContext,
};
pub use error::{ErrorKind, RunError};
use nodes::{run_route, run_sink, run_transform};
pub use options::Opts;
use plan::Task;
pub use plan::{plan, Plan};

use crate::log;
use flowc_compiler::builtins::ConnectorSig;
use flowc_compiler::graph::{EdgeKind, NodeKind, Program};
use flowc_compiler::types::StreamType;
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use transform::Transform;

/// Batches a node's input queue holds before its senders wait.
const QUEUE_BATCHES: usize = 2;
/// The first pause before a sink tries a failed write again, and the longest (the pause doubles).
const RETRY_FIRST_PAUSE: Duration = Duration::from_millis(200);
const RETRY_LONGEST_PAUSE: Duration = Duration::from_secs(30);

/// What the executor needs from the standard library: the connectors that build source, channel and
/// sink nodes, and the options of a `topic` declaration (with their defaults).
pub trait Connectors: Sync {
    /// The connector whose signature a node was checked against.
    fn connector(&self, sig: &ConnectorSig) -> Option<&Connector>;
    fn topic_params(&self) -> &'static [flowc_compiler::builtins::ParamSig];
    /// The writer of a topic bound to an external Kafka cluster (`brokers`): every event the
    /// pipeline sends to the topic becomes one of its records.
    fn external_topic_writer(&self, topic: &ExternalTopic<'_>) -> Result<Box<dyn Sink>, RunError> {
        Err(RunError::unsupported(format!("{}: a topic on an external Kafka cluster", topic.name)))
    }
    /// One member of consumer group `group` of a topic bound to an external Kafka cluster; its
    /// records arrive as `schema` (lines, or JSON records of the topic's type).
    fn external_group_member(
        &self,
        topic: &ExternalTopic<'_>,
        group: &str,
        member: &str,
        schema: arrow_schema::SchemaRef,
    ) -> Result<Box<dyn Source>, RunError> {
        let _ = (group, member, schema);
        Err(RunError::unsupported(format!("{}: a topic on an external Kafka cluster", topic.name)))
    }
}

/// A declared topic bound to an external Kafka cluster, as its writer and readers are built from it.
pub struct ExternalTopic<'a> {
    pub name: &'a str,
    /// The topic's `brokers` option, `${ENV}` filled in: bootstrap servers, comma-separated.
    pub brokers: String,
    /// The field whose value keys each record (the topic's `key`).
    pub key: Option<String>,
}

/// A source or sink node, as a connector implementation sees it.
pub struct NodeSpec<'a> {
    pub name: &'a str,
    pub connector: &'static ConnectorSig,
    pub options: Opts<'a>,
    /// The type of the records fed to the node (sinks, channels).
    pub input: Option<&'a StreamType>,
    /// The type of the records the node emits (sources, channels).
    pub output: Option<&'a StreamType>,
    /// Relative paths in options are relative to this directory (the `.flow` file's).
    pub base_dir: &'a Path,
    /// The run's data directory (`--data-dir`): topics, channel logs, a source's saved positions.
    pub data_dir: &'a Path,
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
        let (senders, mut receivers) = self.queues();
        let reports: Vec<(String, String, Arc<NodeMetrics>)> = self
            .order
            .iter()
            .map(|&i| (self.nodes[i].name.clone(), self.nodes[i].what.clone(), self.nodes[i].metrics.clone()))
            .collect();
        let mut tasks: JoinSet<Result<(), RunError>> = JoinSet::new();
        let Plan { nodes, base_dir, data_dir, swaps, .. } = self;
        // The plan's own swap senders go: a reloader holds its copies, and once none is left a sink
        // stops listening for swaps.
        drop(swaps);
        let spawner = Spawner { senders, shutdown_rx, shutdown_tx: shutdown_tx.clone(), base_dir, data_dir };
        for (i, node) in nodes.into_iter().enumerate() {
            spawner.spawn(&mut tasks, node, receivers[i].take());
        }
        // Only the nodes hold senders now: a queue closes once everything upstream of it is done.
        drop(spawner);
        let (errors, stopped_by) = join_all(tasks, stop, &shutdown_tx).await;
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

    /// One bounded queue into every node that has an input.
    fn queues(&self) -> (Vec<InputTx>, Vec<InputRx>) {
        self.nodes
            .iter()
            .map(|node| match node.has_input {
                true => {
                    let (tx, rx) = mpsc::channel::<Envelope>(QUEUE_BATCHES);
                    (Some(tx), Some(rx))
                }
                false => (None, None),
            })
            .unzip()
    }
}

/// The writing end of a node's input queue (`None` for a node without input).
type InputTx = Option<mpsc::Sender<Envelope>>;
/// The reading end of a node's input queue.
type InputRx = Option<mpsc::Receiver<Envelope>>;

/// What starting a node's task needs besides the node: the queues and the shutdown signal.
struct Spawner {
    senders: Vec<InputTx>,
    shutdown_rx: watch::Receiver<bool>,
    shutdown_tx: Arc<watch::Sender<bool>>,
    base_dir: PathBuf,
    data_dir: PathBuf,
}

impl Spawner {
    /// Starts `node`'s task, reading `input`, writing the queues of its outputs.
    fn spawn(&self, tasks: &mut JoinSet<Result<(), RunError>>, node: plan::Planned, input: InputRx) {
        let output = Output {
            targets: node.outputs.iter().filter_map(|(t, _)| self.senders[*t].clone()).collect(),
            metrics: node.metrics.clone(),
        };
        let metrics = node.metrics.clone();
        let name = node.name.clone();
        let shutdown = Shutdown(self.shutdown_rx.clone());
        let trigger = self.shutdown_tx.clone();
        match node.task {
            Task::Source(source) => {
                let (base_dir, swaps) = (self.base_dir.clone(), node.source_swaps);
                tasks.spawn(async move {
                    let run = nodes::SourceRun { name: name.clone(), output, shutdown, metrics, base_dir };
                    nodes::run_source(run, source, swaps).await.map_err(|e| e.in_node(&name))
                });
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
                    targets: node.dead_letters.iter().filter_map(|t| self.senders[*t].clone()).collect(),
                    metrics: Arc::new(NodeMetrics::default()),
                };
                let swaps = node.transform_swaps;
                tasks.spawn(async move {
                    run_transform(&name, t, input, output, dead, metrics, swaps).await.map_err(|e| e.in_node(&name))
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
                    targets.into_iter().filter_map(|(t, arms)| Some((self.senders[t].clone()?, arms))).collect();
                drop(output);
                let swaps = node.route_swaps;
                tasks.spawn(async move {
                    run_route(&name, arms, targets, input, metrics, swaps).await.map_err(|e| e.in_node(&name))
                });
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
                tasks
                    .spawn(async move { Err(RunError::internal(format!("{name}: a sink group without its members"))) });
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
                        .filter_map(|(t, _)| self.senders[*t].clone())
                        .map(|tx| Output { targets: vec![tx], metrics: node.metrics.clone() })
                        .collect()
                } else {
                    vec![output]
                };
                tasks.spawn(async move {
                    topic::read_group(read, members, shutdown, metrics).await.map_err(|e| e.in_node(&name))
                });
            }
            Task::Members(sources) => {
                // Each member of the group reads for its own downstream node (the group shares the
                // topic's partitions among them, as Kafka balances any group).
                drop(input);
                drop(output);
                let targets: Vec<_> = node.outputs.iter().filter_map(|(t, _)| self.senders[*t].clone()).collect();
                for (source, tx) in sources.into_iter().zip(targets) {
                    let ctx = SourceContext {
                        name: name.clone(),
                        output: Output { targets: vec![tx], metrics: node.metrics.clone() },
                        shutdown: Shutdown(self.shutdown_rx.clone()),
                        metrics: node.metrics.clone(),
                        base_dir: self.base_dir.clone(),
                    };
                    let name = name.clone();
                    tasks.spawn(async move { source.run(ctx).await.map_err(|e| e.in_node(&name)) });
                }
            }
            Task::Sink(sink) => {
                let input = input.expect("a sink has an input");
                let own_thread = sink.own_thread();
                let run = run_sink(name.clone(), sink, input, metrics, trigger, node.max_retries, node.swaps);
                tasks.spawn(async move {
                    let done = if own_thread { on_own_thread(run).await } else { run.await };
                    done.map_err(|e| e.in_node(&name))
                });
            }
        }
    }
}

/// Runs a node's task on a thread of its own, in a runtime of one thread, and hands back its result.
async fn on_own_thread(run: impl Future<Output = Result<(), RunError>> + Send + 'static) -> Result<(), RunError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("flowc-sink".into())
        .spawn(move || {
            let done = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(run),
                Err(e) => Err(RunError::io(format!("cannot start a sink's thread: {e}"))),
            };
            let _ = tx.send(done);
        })
        .map_err(|e| RunError::io(format!("cannot start a sink's thread: {e}")))?;
    rx.await.unwrap_or_else(|_| Err(RunError::internal("a sink's thread stopped without finishing (a panic)")))
}

/// Waits for every task; the first failure (or `stop`) stops the sources. Returns the errors and
/// the name of the signal that stopped the run, if one did.
async fn join_all(
    mut tasks: JoinSet<Result<(), RunError>>,
    stop: impl Future<Output = &'static str> + Send + 'static,
    shutdown_tx: &Arc<watch::Sender<bool>>,
) -> (Vec<RunError>, Option<&'static str>) {
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
    (errors, signal_rx.try_recv().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_on_its_own_thread_runs_there_with_a_runtime_and_a_panic_there_is_an_error() {
        let here = std::thread::current().id();
        let (tx, rx) = std::sync::mpsc::channel();
        let done = on_own_thread(async move {
            // a runtime of its own: timers work, and this is another thread, named for `top`
            tokio::time::sleep(Duration::from_millis(1)).await;
            let _ = tx.send((std::thread::current().id(), std::thread::current().name().map(String::from)));
            Ok(())
        })
        .await;
        assert!(done.is_ok());
        let (there, name) = rx.recv().expect("the task ran");
        assert_ne!(there, here);
        assert_eq!(name.as_deref(), Some("flowc-sink"));

        let failed = on_own_thread(async { Err(RunError::io("the disk is full")) }).await;
        assert_eq!(failed.map_err(|e| e.to_string()), Err("the disk is full".to_string()));

        let panicked = on_own_thread(async {
            if std::hint::black_box(true) {
                panic!("a bug in a sink");
            }
            Ok(())
        })
        .await
        .expect_err("a panic is an error, not a hang");
        assert_eq!(panicked.kind, ErrorKind::Internal);
        assert!(panicked.to_string().contains("a panic"), "{panicked}");
    }
}
