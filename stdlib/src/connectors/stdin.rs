//! `stdin`: one event per line of standard input; end of input ends the source.

use flowc_runtime::exec::batch::lines_batch;
use flowc_runtime::exec::{Ack, BoxFuture, NodeSpec, RunError, Source, SourceContext};
use std::io::BufRead;
use tokio::sync::mpsc;

pub(crate) struct Stdin {
    batch_size: usize,
}

impl Stdin {
    pub(crate) fn new(spec: &NodeSpec<'_>) -> Result<Stdin, RunError> {
        Ok(Stdin { batch_size: super::batch_size(spec)? })
    }
}

impl Source for Stdin {
    fn run(self: Box<Self>, mut ctx: SourceContext) -> BoxFuture<'static, Result<(), RunError>> {
        Box::pin(async move {
            // A plain thread reads (a blocking read cannot be cancelled; the process exit ends it);
            // the bounded queue stops it reading while the pipeline is full.
            let (tx, mut rx) = mpsc::channel::<std::io::Result<String>>(self.batch_size * 2);
            std::thread::Builder::new()
                .name("flowc-stdin".into())
                .spawn(move || {
                    let stdin = std::io::stdin();
                    let mut reader = stdin.lock();
                    let mut buf = Vec::new();
                    loop {
                        buf.clear();
                        match reader.read_until(b'\n', &mut buf) {
                            Ok(0) => return,
                            Ok(_) => {
                                if buf.last() == Some(&b'\n') {
                                    buf.pop();
                                }
                                let line = String::from_utf8_lossy(&buf).into_owned();
                                if tx.blocking_send(Ok(line)).is_err() {
                                    return;
                                }
                            }
                            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                            Err(err) => {
                                let _ = tx.blocking_send(Err(err));
                                return;
                            }
                        }
                    }
                })
                .map_err(|e| RunError::io(format!("cannot start reading standard input: {e}")))?;
            let mut lines: Vec<String> = Vec::with_capacity(self.batch_size);
            loop {
                // Wait for one line (or shutdown), then take whatever else is already there.
                let first = tokio::select! {
                    biased;
                    _ = ctx.shutdown.wait() => break,
                    line = rx.recv() => line,
                };
                let Some(first) = first else { break };
                lines.push(first.map_err(|e| RunError::io(format!("reading standard input: {e}")))?);
                while lines.len() < self.batch_size {
                    match rx.try_recv() {
                        Ok(line) => lines.push(line.map_err(|e| RunError::io(format!("reading standard input: {e}")))?),
                        Err(_) => break,
                    }
                }
                if ctx.output.send(lines_batch(&lines), Ack::none()).await.is_err() {
                    break;
                }
                lines.clear();
            }
            Ok(())
        })
    }
}
