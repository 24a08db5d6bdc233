//! `netcat`: Flume's netcat source. Every `\n`-terminated line a TCP client sends is one event; with
//! `ack = true` each line is answered `OK` once its batch is delivered, or `FAILED: …`.
//!
//! Each connection reads what has arrived, cuts it into lines and hands them to one batcher as a
//! chunk; the batcher joins the chunks waiting at that moment into one batch (never waiting for a
//! batch to fill), sends it and tells every chunk's connection whether it was delivered. A
//! connection's replies are written in the order of its lines. A line longer than
//! `max_line_length` is answered `FAILED` and ends the connection; a line that is not UTF-8 is
//! answered `FAILED` and dropped. On shutdown the listener closes, connections stop reading, and
//! what they read is delivered and acknowledged before they close.

use super::listen::{self, Problems};
use crate::catalogue::{batch_size, int_from, optional, required};
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut, Weakening};
use flowc_runtime::exec::batch::lines_batch;
use flowc_runtime::exec::{Ack, BoxFuture, NodeMetrics, NodeSpec, Output, RunError, Shutdown, Source, SourceContext};
use flowc_runtime::exec::{Built, Connector};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinSet;

/// Flume's netcat source: TCP lines, acknowledged.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: |spec| Ok(Built::source(Netcat::new(spec)?)) };

const SIG: ConnectorSig = ConnectorSig {
    kind: "netcat",
    role: Role::Source,
    summary: "Listen on a TCP address and turn each newline-terminated line into an event, replying `OK`.",
    doc: "Accepts TCP connections on `address` (like `nc -k -l`); every `\\n`-terminated line is one event \
(a `\\r` before the `\\n` is dropped). With `ack = true` each line is answered `OK` once the channel has \
committed it (with a memory channel: once the sinks wrote it), or `FAILED: <reason>` when it could not \
be, so a client that resends unacknowledged lines loses nothing. A line longer than `max_line_length` \
is answered `FAILED: event too long` and the connection is closed (nothing of it is kept; lines before \
it are committed and acknowledged first); a line that is not UTF-8 is answered `FAILED: not UTF-8` and \
dropped, the connection going on; the unterminated rest of a connection the client closes is not an \
event (a client that died mid-line resends the whole line). Each of these counts as an error. Lines from all \
connections are gathered into batches of up to `batch_size` without waiting for a batch to fill. \
`port 0` picks a free port; the address listened on is printed on standard error. Bind a loopback \
address such as `\"127.0.0.1:44444\"` unless other hosts must reach it: the protocol has no \
authentication (flowc warns when the address is not loopback). SIGINT/SIGTERM stop accepting and \
reading; lines already read are committed and acknowledged before the connections close.",
    params: &[
        required(
            "address",
            ParamType::Address,
            "The address to listen on, e.g. `\"127.0.0.1:44444\"` (Flume's `bind` and `port`); port `0` picks a free one.",
        ),
        optional(
            "ack",
            ParamType::Bool,
            "true",
            "Reply `OK` to each line after it is committed (Flume's `ack-every-event`); `false`: reply nothing.",
        ),
        optional(
            "max_line_length",
            ParamType::Size,
            "512B",
            "Longest line accepted (without its newline); a longer line gets `FAILED` and the connection is closed.",
        ),
        optional(
            "max_connections",
            int_from(1),
            "100",
            "Connections served at once; further ones wait to be accepted.",
        ),
        optional(
            "idle_timeout",
            ParamType::Duration,
            "10m",
            "Close a connection that sent nothing for this long (its slot goes to a waiting one).",
        ),
        batch_size("100"),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "with `ack = true` a line is acknowledged only after the channel committed it; \
with `ack = false` lines in flight when flowc crashes are lost",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "netcat",
    check: None,
    weaker_when: &[Weakening {
        param: "ack",
        values: &["false"],
        guarantee: Guarantee::AtMostOnceOnCrash,
        note: "with `ack = false` the sender never learns what was committed, so it cannot resend what a crash lost",
    }],
};

/// Bytes read from a socket at once.
const READ_SIZE: usize = 64 << 10;
/// Chunks of one connection whose acknowledgement is awaited before it reads on.
const REPLIES_IN_FLIGHT: usize = 16;
/// How long a closing connection keeps reading (and discarding) so its last replies reach the client.
const LINGER: Duration = Duration::from_secs(2);

pub(crate) struct Netcat {
    listener: std::net::TcpListener,
    config: Arc<Config>,
}

struct Config {
    ack: bool,
    max_line: usize,
    max_connections: usize,
    idle_timeout: Duration,
    batch_size: usize,
    problems: Problems,
}

impl Netcat {
    pub(crate) fn new(spec: &NodeSpec<'_>) -> Result<Netcat, RunError> {
        let o = &spec.options;
        let address = o.string("address")?.ok_or_else(|| RunError::config("`address` is required"))?;
        let config = Config {
            ack: o.bool_or_default("ack")?,
            max_line: o.size_or_default("max_line_length")?.max(1) as usize,
            max_connections: o.int_or_default("max_connections")?.max(1) as usize,
            idle_timeout: o.duration_or_default("idle_timeout")?,
            batch_size: super::batch_size(spec)?,
            problems: Problems::default(),
        };
        let listener = listen::bind(&address)?;
        Ok(Netcat { listener, config: Arc::new(config) })
    }
}

impl Source for Netcat {
    fn run(self: Box<Self>, ctx: SourceContext) -> BoxFuture<'static, Result<(), RunError>> {
        Box::pin(async move {
            let listener =
                TcpListener::from_std(self.listener).map_err(|e| RunError::io(format!("cannot listen: {e}")))?;
            listen::announce(&ctx.name, "netcat", &listener);
            let config = self.config;
            let (chunks, chunks_rx) = mpsc::channel::<Chunk>(config.max_connections.clamp(16, 1024));
            let batcher = tokio::spawn(batch_chunks(chunks_rx, ctx.output.clone(), config.batch_size));
            let slots = Arc::new(Semaphore::new(config.max_connections));
            let mut connections = JoinSet::new();
            let mut shutdown = ctx.shutdown.clone();
            loop {
                let Some((accepted, slot)) = listen::next_connection(&listener, &slots, &mut shutdown).await else {
                    break;
                };
                match accepted {
                    Ok((stream, peer)) => {
                        let conn = Connection {
                            node: ctx.name.clone(),
                            peer,
                            config: config.clone(),
                            chunks: chunks.clone(),
                            metrics: ctx.metrics.clone(),
                        };
                        let shutdown = ctx.shutdown.clone();
                        connections.spawn(async move {
                            conn.serve(stream, shutdown).await;
                            drop(slot);
                        });
                    }
                    Err(err) => listen::accept_failed(&ctx.name, &err).await,
                }
                while connections.try_join_next().is_some() {}
            }
            drop(listener);
            while connections.join_next().await.is_some() {}
            drop(chunks);
            batcher.await.map_err(|e| RunError::internal(format!("the batcher failed: {e}")))?;
            Ok(())
        })
    }
}

/// Lines of one connection on their way to the batcher; `done` learns whether they were delivered.
struct Chunk {
    lines: Vec<String>,
    done: Option<oneshot::Sender<bool>>,
}

/// Joins the chunks waiting at each moment into batches of up to `batch_size` lines and sends them;
/// once a batch's acknowledgement resolves, every chunk in it learns the outcome.
async fn batch_chunks(mut chunks: mpsc::Receiver<Chunk>, output: Output, batch_size: usize) {
    let mut carried: Option<Chunk> = None;
    loop {
        let first = match carried.take() {
            Some(chunk) => chunk,
            None => match chunks.recv().await {
                Some(chunk) => chunk,
                None => return,
            },
        };
        let mut lines = first.lines;
        let mut dones = vec![first.done];
        while lines.len() < batch_size {
            let Ok(next) = chunks.try_recv() else { break };
            if lines.len() + next.lines.len() > batch_size {
                carried = Some(next);
                break;
            }
            lines.extend(next.lines);
            dones.push(next.done);
        }
        let (ack, wait) = Ack::new();
        if output.send(lines_batch(&lines), ack).await.is_err() {
            // Nothing downstream any more (the run is failing): nothing of this was delivered.
            for done in dones.into_iter().flatten() {
                let _ = done.send(false);
            }
            continue;
        }
        if dones.iter().any(Option::is_some) {
            tokio::spawn(async move {
                let delivered = wait.wait().await;
                for done in dones.into_iter().flatten() {
                    let _ = done.send(delivered);
                }
            });
        }
    }
}

/// What a connection answers, in the order of its lines.
enum Reply {
    /// `count` lines whose delivery `done` tells.
    Lines(usize, oneshot::Receiver<bool>),
    /// One line refused at once.
    Failed(String),
}

struct Connection {
    node: String,
    peer: SocketAddr,
    config: Arc<Config>,
    chunks: mpsc::Sender<Chunk>,
    metrics: Arc<NodeMetrics>,
}

impl Connection {
    async fn serve(self, mut stream: TcpStream, shutdown: Shutdown) {
        let (replies, replies_rx) = mpsc::channel(REPLIES_IN_FLIGHT);
        {
            let (reader, writer) = stream.split();
            tokio::join!(self.read(reader, replies, shutdown), write_replies(writer, replies_rx));
        }
        // Our replies are out: close our side, then read and discard what the client still sends for
        // a moment, so closing with unread input does not reset the connection before it read them.
        let _ = stream.shutdown().await;
        let mut sink = [0u8; 4096];
        let _ = tokio::time::timeout(LINGER, async {
            while let Ok(n) = stream.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
    }

    /// Reads lines until the client closes, idles past `idle_timeout`, breaks the protocol, or the
    /// run stops; hands them on chunk by chunk, queueing the replies.
    async fn read(&self, mut reader: ReadHalf<'_>, replies: mpsc::Sender<Reply>, mut shutdown: Shutdown) {
        let mut buf = vec![0u8; READ_SIZE];
        // The unterminated line read so far.
        let mut partial: Vec<u8> = Vec::new();
        let mut lines: Vec<String> = Vec::new();
        loop {
            let read = tokio::select! {
                biased;
                _ = shutdown.wait() => return ,
                read = tokio::time::timeout(self.config.idle_timeout, reader.read(&mut buf)) => read,
            };
            let n = match read {
                // Idle for `idle_timeout`: the slot goes to a waiting client.
                Err(_) => return,
                Ok(Ok(0)) | Ok(Err(_)) => {
                    if !partial.is_empty() {
                        self.problem(format_args!(
                            "closed in the middle of a line; its {} bytes dropped",
                            partial.len()
                        ));
                    }
                    return;
                }
                Ok(Ok(n)) => n,
            };
            let mut data = &buf[..n];
            while let Some(at) = data.iter().position(|&b| b == b'\n') {
                let line = if partial.is_empty() {
                    &data[..at]
                } else {
                    partial.extend_from_slice(&data[..at]);
                    &partial[..]
                };
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.len() > self.config.max_line {
                    return self.refuse_long(&mut lines, &replies).await;
                }
                match std::str::from_utf8(line) {
                    Ok(text) => lines.push(text.to_string()),
                    Err(_) => {
                        self.problem(format_args!("a line that is not UTF-8 was refused"));
                        if !self.flush(&mut lines, &replies).await
                            || !self.reply(&replies, Reply::Failed("FAILED: not UTF-8".into())).await
                        {
                            return;
                        }
                    }
                }
                partial.clear();
                data = &data[at + 1..];
                if lines.len() >= self.config.batch_size && !self.flush(&mut lines, &replies).await {
                    return;
                }
            }
            partial.extend_from_slice(data);
            // A `\r` may still come before the `\n`.
            if partial.len() > self.config.max_line + 1 {
                return self.refuse_long(&mut lines, &replies).await;
            }
            if !self.flush(&mut lines, &replies).await {
                return;
            }
        }
    }

    /// A line over `max_line_length`: what came before it is delivered, the line is refused, and the
    /// connection ends.
    async fn refuse_long(&self, lines: &mut Vec<String>, replies: &mpsc::Sender<Reply>) {
        self.problem(format_args!(
            "a line longer than max_line_length ({} bytes) was refused; connection closed",
            self.config.max_line
        ));
        if self.flush(lines, replies).await {
            let text = format!("FAILED: event too long (max_line_length is {} bytes)", self.config.max_line);
            self.reply(replies, Reply::Failed(text)).await;
        }
    }

    /// Hands the lines read so far to the batcher; `false` when the run is going away.
    async fn flush(&self, lines: &mut Vec<String>, replies: &mpsc::Sender<Reply>) -> bool {
        if lines.is_empty() {
            return true;
        }
        let count = lines.len();
        let (done, wait) = if self.config.ack {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        if self.chunks.send(Chunk { lines: std::mem::take(lines), done }).await.is_err() {
            return false;
        }
        match wait {
            Some(wait) => self.reply(replies, Reply::Lines(count, wait)).await,
            None => true,
        }
    }

    /// Queues a reply (none without `ack`); `false` when the client is gone.
    async fn reply(&self, replies: &mpsc::Sender<Reply>, reply: Reply) -> bool {
        !self.config.ack || replies.send(reply).await.is_ok()
    }

    fn problem(&self, what: std::fmt::Arguments<'_>) {
        self.metrics.add_errors(1);
        self.config.problems.report(&self.node, format_args!("{}: {what}", self.peer));
    }
}

/// Writes each reply once it is known, in order; stops when the client stops reading.
async fn write_replies(mut writer: WriteHalf<'_>, mut replies: mpsc::Receiver<Reply>) {
    let mut out = Vec::new();
    while let Some(reply) = replies.recv().await {
        out.clear();
        match reply {
            Reply::Lines(count, done) => {
                let text: &[u8] =
                    if done.await.unwrap_or(false) { b"OK\n" } else { b"FAILED: not delivered, send again\n" };
                for _ in 0..count {
                    out.extend_from_slice(text);
                }
            }
            Reply::Failed(text) => {
                out.extend_from_slice(text.as_bytes());
                out.push(b'\n');
            }
        }
        if writer.write_all(&out).await.is_err() {
            return;
        }
    }
}
