//! `generator`: `sequence` emits `0`, `1`, `2`, …; `stress` emits lines of `size` bytes. A `count`
//! ends the source; `rate` caps events per second.

use crate::catalogue::{batch_size, int_from, optional};
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut};
use flowc_runtime::exec::batch::lines_batch;
use flowc_runtime::exec::{Ack, BoxFuture, NodeSpec, RunError, Source, SourceContext};
use flowc_runtime::exec::{Built, Connector};
use std::time::Duration;

/// Flume's `seq` and stress sources.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: |spec| Ok(Built::source(Generator::new(spec)?)) };

const SIG: ConnectorSig = ConnectorSig {
    kind: "generator",
    role: Role::Source,
    summary: "Generate test events: a counter (`sequence`) or fixed-size lines (`stress`), at a given rate.",
    doc: "`mode = sequence` emits the lines `0`, `1`, `2`, … (Flume's `seq`); `mode = stress` emits lines of \
`size` bytes (Flume's `StressSource`). A `count` ends the source after that many events, and the run \
once they are delivered. Output is deterministic, so after a crash the same events are generated again \
from the last committed one.",
    params: &[
        optional(
            "mode",
            ParamType::Enum(&["sequence", "stress"]),
            "sequence",
            "`sequence`: consecutive numbers; `stress`: lines of `size` bytes.",
        ),
        optional("count", int_from(0), "0", "Events to generate before ending; `0` = unlimited."),
        optional("rate", int_from(0), "0", "Events per second at most; `0` = as fast as the pipeline takes them."),
        optional("size", ParamType::Size, "500B", "Length of each `stress` line."),
        batch_size("100"),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "deterministic output resumes from the last committed event",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "seq",
    check: None,
    weaker_when: &[],
};

pub(crate) struct Generator {
    stress: bool,
    count: u64,
    rate: u64,
    size: usize,
    batch_size: usize,
}

impl Generator {
    pub(crate) fn new(spec: &NodeSpec<'_>) -> Result<Generator, RunError> {
        let o = &spec.options;
        Ok(Generator {
            stress: o.string("mode")?.as_deref() == Some("stress"),
            count: o.int_or_default("count")?.max(0) as u64,
            rate: o.int_or_default("rate")?.max(0) as u64,
            size: o.size_or_default("size")? as usize,
            batch_size: super::batch_size(spec)?,
        })
    }
}

impl Source for Generator {
    fn run(self: Box<Self>, ctx: SourceContext) -> BoxFuture<'static, Result<(), RunError>> {
        Box::pin(async move {
            let start = tokio::time::Instant::now();
            let stress_line: String = "0123456789abcdefghijklmnopqrstuvwxyz".chars().cycle().take(self.size).collect();
            let mut next: u64 = 0;
            let mut lines: Vec<String> = Vec::with_capacity(self.batch_size);
            while (self.count == 0 || next < self.count) && !ctx.shutdown.is_set() {
                let mut n = self.batch_size as u64;
                if self.count > 0 {
                    n = n.min(self.count - next);
                }
                if self.rate > 0 {
                    n = n.min(self.rate.max(1));
                    // Sleep until the events already sent are due at `rate` per second.
                    let due = start + Duration::from_secs_f64(next as f64 / self.rate as f64);
                    let mut shutdown = ctx.shutdown.clone();
                    tokio::select! {
                        _ = tokio::time::sleep_until(due) => {}
                        _ = shutdown.wait() => break,
                    }
                }
                lines.clear();
                for i in next..next + n {
                    lines.push(if self.stress { stress_line.clone() } else { i.to_string() });
                }
                if ctx.output.send(lines_batch(&lines), Ack::none()).await.is_err() {
                    break;
                }
                next += n;
            }
            Ok(())
        })
    }
}
