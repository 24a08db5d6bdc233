//! Connector implementations for `flowc run`: the sources and sinks behind the catalogue's signatures.

mod exec;
mod files;
mod generator;
mod http;
mod kafka;
mod listen;
mod logger;
mod netcat;
mod object;
mod spooldir;
mod stdin;
mod store;
mod tail;

use flowc_runtime::exec::{BoxFuture, Connectors, NodeSpec, RunError, Sink, Source};
use std::path::{Path, PathBuf};

/// The standard library's connectors, for [`flowc_runtime::exec::plan`].
pub struct Stdlib;

impl Connectors for Stdlib {
    fn source(&self, spec: &NodeSpec<'_>) -> Result<Box<dyn Source>, RunError> {
        Ok(match spec.connector.kind {
            "stdin" => Box::new(stdin::Stdin::new(spec)?),
            "generator" => Box::new(generator::Generator::new(spec)?),
            "spooldir" => Box::new(spooldir::Spooldir::new(spec)?),
            "exec" => Box::new(exec::Exec::new(spec)?),
            "tail" => Box::new(tail::Tail::new(spec)?),
            "netcat" => Box::new(netcat::Netcat::new(spec)?),
            "http" => Box::new(http::Http::new(spec)?),
            "object" => Box::new(object::ObjectSource::new(spec)?),
            "kafka" => Box::new(kafka_source(spec)?),
            other => return Err(RunError::unsupported(format!("the `{other}` source"))),
        })
    }

    fn topic_params(&self) -> &'static [flowc_compiler::builtins::ParamSig] {
        crate::catalogue::REGISTRY.topic_params
    }

    fn sink(&self, spec: &NodeSpec<'_>) -> Result<Box<dyn Sink>, RunError> {
        Ok(match spec.connector.kind {
            "logger" => Box::new(logger::Logger::new(spec)?),
            "null" => Box::new(Null),
            "files" => Box::new(files::Files::new(spec)?),
            "kafka" => Box::new(kafka_sink(spec)?),
            other => return Err(RunError::unsupported(format!("the `{other}` sink"))),
        })
    }
}

/// The cluster options both Kafka kinds share: `brokers` (comma-separated) and `properties`.
fn kafka_cluster(spec: &NodeSpec<'_>) -> Result<kafka::Cluster, RunError> {
    let o = &spec.options;
    let brokers: Vec<String> = o
        .string("brokers")?
        .unwrap_or_default()
        .split(',')
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
        .collect();
    if brokers.is_empty() {
        return Err(RunError::config(format!("{}: `brokers` names no broker", spec.name)));
    }
    let properties =
        kafka::parse_properties(spec.name, &o.strings("properties")?.unwrap_or_default()).map_err(RunError::config)?;
    Ok(kafka::Cluster { brokers, properties })
}

fn kafka_source(spec: &NodeSpec<'_>) -> Result<kafka::KafkaSource, RunError> {
    let o = &spec.options;
    let settings = kafka::SourceSettings {
        cluster: kafka_cluster(spec)?,
        topics: o.strings("topic")?.unwrap_or_default(),
        group: o.string("group")?.unwrap_or_default(),
        from: o.string("start")?.unwrap_or_default(),
        batch_size: batch_size(spec)?,
        batch_wait: o.duration("batch_wait")?.unwrap_or_default(),
    };
    kafka::KafkaSource::new(spec.name, settings)
}

fn kafka_sink(spec: &NodeSpec<'_>) -> Result<kafka::KafkaSink, RunError> {
    let o = &spec.options;
    let settings = kafka::SinkSettings {
        cluster: kafka_cluster(spec)?,
        topic: o.string("topic")?.unwrap_or_default(),
        key: o.string("key")?,
        acks: o.string("acks")?.unwrap_or_default(),
        compression: o.string("compression")?.unwrap_or_default(),
        idempotent: o.bool("idempotent")?.unwrap_or_default(),
        linger: o.duration("linger")?.unwrap_or_default(),
        message_timeout: o.duration("message_timeout")?.unwrap_or_default(),
    };
    kafka::KafkaSink::new(spec.name, settings)
}

/// Discards everything.
struct Null;

impl Sink for Null {
    fn write<'a>(&'a mut self, _batch: &'a arrow_array::RecordBatch) -> BoxFuture<'a, Result<(), RunError>> {
        Box::pin(async { Ok(()) })
    }
    fn close(&mut self) -> BoxFuture<'_, Result<(), RunError>> {
        Box::pin(async { Ok(()) })
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
    Ok(spec.options.int("batch_size")?.unwrap_or(100).max(1) as usize)
}
