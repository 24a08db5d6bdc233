//! `null`: Flume's null sink, which discards every event.

use flowc_compiler::builtins::flume::FlumeType;
use flowc_compiler::builtins::{ConnectorSig, Guarantee, Role, StreamIn, StreamOut};
use flowc_runtime::exec::{BoxFuture, Built, Connector, RunError, Sink};

/// Flume's null sink.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: |_| Ok(Built::sink(Null)) };

const SIG: ConnectorSig = ConnectorSig {
    kind: "null",
    role: Role::Sink,
    summary: "Discard every event (benchmarks, draining a channel).",
    doc: "Takes and commits events without writing them anywhere. Useful to measure a pipeline without its \
output, or to drain a channel on purpose.",
    params: &[crate::catalogue::max_retries()],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "trivially: nothing is written, so nothing can be lost by writing",
    output: StreamOut::PassThrough,
    input: StreamIn::Any,
    flume: &[FlumeType::component(&["null"], &[])],
    check: None,
    weaker_when: &[],
};

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
