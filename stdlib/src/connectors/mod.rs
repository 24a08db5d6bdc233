//! The connectors: one module (a folder for big ones) per kind, owning its signature, its own check
//! and the builder of its running node. [`CONNECTORS`] lists them; the registry's signatures and
//! [`Stdlib`], what `flowc run` builds nodes with, both read that one list.

mod exec;
mod failover;
mod file_channel;
mod files;
mod generator;
mod http;
pub(crate) mod kafka;
mod listen;
mod load_balance;
mod logger;
mod memory_channel;
mod netcat;
mod null;
mod object;
mod spooldir;
mod stdin;
mod store;
mod tail;
mod topic;

use flowc_compiler::builtins::{ConnectorSig, ParamSig};
use flowc_runtime::exec::{Connector, Connectors, ExternalTopic, NodeSpec, RunError, Sink, Source};
use std::path::{Path, PathBuf};

/// `flowc check --online`: the Kafka clusters a checked program names, asked whether they answer and
/// hold its topics (E0701, E0702).
pub use kafka::online::check as check_online;

/// Every connector, in the order the reference documents them. Adding one is one line here.
pub const CONNECTORS: &[Connector] = &[
    spooldir::CONNECTOR,
    exec::CONNECTOR,
    tail::CONNECTOR,
    netcat::CONNECTOR,
    http::CONNECTOR,
    stdin::CONNECTOR,
    generator::CONNECTOR,
    topic::SOURCE,
    kafka::SOURCE,
    object::CONNECTOR,
    memory_channel::CONNECTOR,
    file_channel::CONNECTOR,
    logger::CONNECTOR,
    files::CONNECTOR,
    topic::SINK,
    kafka::SINK,
    null::CONNECTOR,
    failover::CONNECTOR,
    load_balance::CONNECTOR,
];

/// The connectors' signatures, as the checker's registry holds them.
pub(crate) static SIGNATURES: [ConnectorSig; CONNECTORS.len()] = {
    let mut sigs = [CONNECTORS[0].sig; CONNECTORS.len()];
    let mut i = 1;
    while i < CONNECTORS.len() {
        sigs[i] = CONNECTORS[i].sig;
        i += 1;
    }
    sigs
};

/// The standard library's connectors, for [`flowc_runtime::exec::plan`].
pub struct Stdlib;

impl Connectors for Stdlib {
    fn connector(&self, sig: &ConnectorSig) -> Option<&Connector> {
        CONNECTORS.iter().find(|c| c.sig.role == sig.role && c.sig.kind == sig.kind)
    }

    fn topic_params(&self) -> &'static [ParamSig] {
        crate::catalogue::REGISTRY.topic_params
    }

    fn external_topic_writer(&self, topic: &ExternalTopic<'_>) -> Result<Box<dyn Sink>, RunError> {
        Ok(Box::new(kafka::topic_writer(topic)?))
    }

    fn external_group_member(
        &self,
        topic: &ExternalTopic<'_>,
        group: &str,
        member: &str,
        schema: arrow_schema::SchemaRef,
    ) -> Result<Box<dyn Source>, RunError> {
        Ok(Box::new(kafka::topic_member(topic, group, member, schema)?))
    }
}

/// A path from an option, relative to the `.flow` file's directory unless absolute.
fn resolve(base: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// The batch size option, at least 1.
fn batch_size(spec: &NodeSpec<'_>) -> Result<usize, RunError> {
    Ok(spec.options.int_or_default("batch_size")?.max(1) as usize)
}

/// A node of connector `sig` with these written options, as `plan` hands it to a builder.
#[cfg(test)]
fn test_spec<'a>(
    sig: &'static ConnectorSig,
    options: &'a flowc_compiler::graph::OptionMap,
    dir: &'a Path,
) -> NodeSpec<'a> {
    NodeSpec {
        name: "n",
        connector: sig,
        options: flowc_runtime::exec::Opts::new("n", options, sig.params),
        input: None,
        output: None,
        base_dir: dir,
        data_dir: dir,
    }
}
