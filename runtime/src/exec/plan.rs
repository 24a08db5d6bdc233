//! A checked program turned into tasks: every connector built and every option read before anything moves.

use super::*;

pub(super) enum Task {
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
}

/// A program turned into runnable tasks; nothing has started yet.
pub struct Plan {
    pub(super) nodes: Vec<Planned>,
    /// Node positions in flow order (sources first), for the report.
    pub(super) order: Vec<usize>,
    pub(super) base_dir: PathBuf,
    pub(super) data_dir: PathBuf,
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
pub(super) fn planned(
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
