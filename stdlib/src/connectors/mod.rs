//! Connector implementations for `flowc run`: the sources and sinks behind the catalogue's signatures.

mod exec;
mod files;
mod generator;
mod http;
mod listen;
mod logger;
mod netcat;
mod object;
mod spooldir;
mod stdin;
mod store;
mod tail;

pub(crate) use files::check as files_check;
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
            other => return Err(RunError::unsupported(format!("the `{other}` sink"))),
        })
    }
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
