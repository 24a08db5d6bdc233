//! `generator`: `sequence` emits `0`, `1`, `2`, …; `stress` emits lines of `size` bytes. A `count`
//! ends the source; `rate` caps events per second.

use flowc_runtime::exec::batch::lines_batch;
use flowc_runtime::exec::{Ack, BoxFuture, NodeSpec, RunError, Source, SourceContext};
use std::time::Duration;

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
            count: o.int("count")?.unwrap_or(0).max(0) as u64,
            rate: o.int("rate")?.unwrap_or(0).max(0) as u64,
            size: o.size("size")?.unwrap_or(500) as usize,
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
