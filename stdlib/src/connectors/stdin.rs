//! `stdin`: one event per line of standard input; end of input ends the source.

use crate::catalogue::batch_size;
use arrow_array::builder::StringBuilder;
use arrow_array::RecordBatch;
use flowc_compiler::builtins::{ConnectorSig, Guarantee, Role, StreamIn, StreamOut};
use flowc_runtime::exec::batch::lines_schema;
use flowc_runtime::exec::{Ack, BoxFuture, NodeSpec, RunError, Source, SourceContext};
use flowc_runtime::exec::{Built, Connector};
use std::io::BufRead;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Standard input.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: |spec| Ok(Built::source(Stdin::new(spec)?)) };

const SIG: ConnectorSig = ConnectorSig {
    kind: "stdin",
    role: Role::Source,
    summary: "Read lines from flowc's standard input; the run ends when it is closed.",
    doc: "One event per line of standard input. End of input ends the source, and once everything it read \
is delivered, the run. Within a run nothing is lost (a full channel simply stops reading), but standard \
input cannot be replayed: lines read and not yet committed when flowc crashes are gone.",
    params: &[batch_size("100")],
    guarantee: Guarantee::AtMostOnceOnCrash,
    guarantee_note:
        "nothing is lost within a run, but a pipe cannot be replayed: a crash loses lines read and not yet delivered",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: &[],
    check: None,
    weaker_when: &[],
};

pub(crate) struct Stdin {
    batch_size: usize,
}

impl Stdin {
    pub(crate) fn new(spec: &NodeSpec<'_>) -> Result<Stdin, RunError> {
        Ok(Stdin { batch_size: super::batch_size(spec)? })
    }
}

/// Reads standard input into batches of up to `batch_size` lines; a batch is handed on as soon as
/// the next read would wait, so a slow writer's lines are not held back.
fn read_batches(batch_size: usize, tx: mpsc::Sender<Result<RecordBatch, String>>) {
    let mut reader = std::io::BufReader::with_capacity(1 << 16, std::io::stdin().lock());
    let mut buf = Vec::new();
    let mut lines = StringBuilder::new();
    let mut count = 0;
    let send = |lines: &mut StringBuilder, count: &mut usize| -> bool {
        if *count == 0 {
            return true;
        }
        let rows = std::mem::take(count);
        let column = lines.finish();
        // The next batch's builder sized like this one, so it fills without growing (each growth
        // copies what it holds into fresh pages).
        let bytes = column.value_data().len();
        *lines = StringBuilder::with_capacity(rows, bytes + bytes / 8);
        let batch = RecordBatch::try_new(lines_schema(), vec![Arc::new(column)]).map_err(|e| e.to_string());
        tx.blocking_send(batch).is_ok()
    };
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => {
                send(&mut lines, &mut count);
                return;
            }
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                match std::str::from_utf8(&buf) {
                    Ok(line) => lines.append_value(line),
                    Err(_) => lines.append_value(String::from_utf8_lossy(&buf)),
                }
                count += 1;
                if (count >= batch_size || reader.buffer().is_empty()) && !send(&mut lines, &mut count) {
                    return;
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => {
                send(&mut lines, &mut count);
                let _ = tx.blocking_send(Err(format!("reading standard input: {err}")));
                return;
            }
        }
    }
}

impl Source for Stdin {
    fn run(self: Box<Self>, mut ctx: SourceContext) -> BoxFuture<'static, Result<(), RunError>> {
        Box::pin(async move {
            // A plain thread reads (a blocking read cannot be cancelled; the process exit ends it);
            // the bounded queue stops it reading while the pipeline is full.
            let (tx, mut rx) = mpsc::channel(2);
            let batch_size = self.batch_size;
            std::thread::Builder::new()
                .name("flowc-stdin".into())
                .spawn(move || read_batches(batch_size, tx))
                .map_err(|e| RunError::io(format!("cannot start reading standard input: {e}")))?;
            loop {
                let next = tokio::select! {
                    biased;
                    _ = ctx.shutdown.wait() => break,
                    next = rx.recv() => next,
                };
                let Some(batch) = next else { break };
                let batch = batch.map_err(RunError::io)?;
                if ctx.output.send(batch, Ack::none()).await.is_err() {
                    break;
                }
            }
            Ok(())
        })
    }
}
