//! The nodes the executor implements itself, built from a node's options like any connector: the
//! `memory` and `file` channels, the `topic` source and sink, and the sink groups. The stdlib's
//! connector modules name these as their builders.

use super::connector::Built;
use super::plan::Task;
use super::{batch, file_channel, memory_channel, sink_group, topic, NodeSpec, RunError};
use crate::log::OffsetReset;
use flowc_compiler::graph::OptionValue;

/// The `memory` channel: a bounded in-process queue.
pub fn memory_channel(spec: &NodeSpec<'_>) -> Result<Built, RunError> {
    let o = &spec.options;
    let limits = memory_channel::MemoryLimits {
        capacity: o.int_or_default("capacity")?.max(1) as u64,
        byte_capacity: o.size_or_default("byte_capacity")?.max(1),
        transaction_capacity: o.int_or_default("transaction_capacity")?.max(1) as usize,
        keep_alive: o.duration_or_default("keep_alive")?,
    };
    Ok(Built(Task::Memory(limits)))
}

/// The durable `file` channel, on its own one-partition log.
pub fn file_channel(spec: &NodeSpec<'_>) -> Result<Built, RunError> {
    let ty = spec.output.or(spec.input).ok_or_else(|| RunError::internal("no checked stream type"))?;
    let schema = batch::schema(ty)?;
    let channel = file_channel::FileChannel::open(spec.name, &spec.options, schema, spec.base_dir, spec.data_dir)?;
    Ok(Built(Task::File(Box::new(channel))))
}

/// The `topic` source: its topic read as a consumer group, every record to everything downstream.
pub fn topic_source(spec: &NodeSpec<'_>) -> Result<Built, RunError> {
    let o = &spec.options;
    let output = spec.output.ok_or_else(|| RunError::internal("no checked output type"))?;
    let read = topic::GroupRead {
        data_dir: spec.data_dir.to_path_buf(),
        topic: o.string("topic")?.ok_or_else(|| RunError::internal("no topic to read"))?,
        // Without `group`, the source's own name: a restarted pipeline resumes.
        group: o.string("group")?.unwrap_or_else(|| spec.name.to_string()),
        reset: match o.string_or_default("start")?.as_str() {
            "latest" => OffsetReset::Latest,
            _ => OffsetReset::Earliest,
        },
        shared: false,
        schema: batch::schema(output)?,
        writers_done: None,
        batch_size: o.int_or_default("batch_size")?.max(1) as usize,
    };
    Ok(Built(Task::Group(read)))
}

/// The `topic` sink: its batches handed to the topic's node, keyed by its own `key` when set.
pub fn topic_sink(spec: &NodeSpec<'_>) -> Result<Built, RunError> {
    Ok(Built(Task::TopicSink { key: spec.options.string("key")? }))
}

/// The `failover` sink group: the first healthy member in priority order.
pub fn failover(spec: &NodeSpec<'_>) -> Result<Built, RunError> {
    let policy = sink_group::Policy::Failover { max_penalty: spec.options.duration_or_default("max_penalty")? };
    sink_group_of(spec, policy)
}

/// The `load_balance` sink group: members in turn or at random.
pub fn load_balance(spec: &NodeSpec<'_>) -> Result<Built, RunError> {
    let o = &spec.options;
    let policy = sink_group::Policy::LoadBalance {
        random: o.string_or_default("selector")? == "random",
        backoff: match o.bool_or_default("backoff")? {
            true => Some(o.duration_or_default("max_backoff")?),
            false => None,
        },
    };
    sink_group_of(spec, policy)
}

/// A sink group of `policy` over the sinks its `sinks` option lists; `plan` hands it their sinks.
fn sink_group_of(spec: &NodeSpec<'_>, policy: sink_group::Policy) -> Result<Built, RunError> {
    let members = match spec.options.get("sinks") {
        Some(OptionValue::List(items)) => items
            .iter()
            .filter_map(|v| match v {
                OptionValue::Word(w) | OptionValue::Str(w) => Some(w.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Built(Task::SinkGroup { policy, members }))
}
