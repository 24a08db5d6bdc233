//! What connectors see of the executor: a [`Connector`] (a signature and its builder), the `Source`
//! and `Sink` traits, the handle a source emits batches into, delivery acknowledgements, the shutdown
//! signal and per-node counters.

pub use super::metrics::NodeMetrics;
use super::plan::Task;
use super::{NodeSpec, RunError};
use arrow_array::RecordBatch;
use flowc_compiler::builtins::ConnectorSig;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// One connector kind: its signature (what `check` reads) and how its node is built for a run.
#[derive(Debug, Clone, Copy)]
pub struct Connector {
    pub sig: ConnectorSig,
    pub build: Build,
}

/// Builds a node from its options (the signature's defaults filled in), before anything runs.
pub type Build = fn(&NodeSpec<'_>) -> Result<Built, RunError>;

/// A built source, channel or sink, ready to run: a connector's [`Source`] or [`Sink`], or one of
/// the nodes the executor implements itself ([`builtin`](super::builtin)).
pub struct Built(pub(crate) Task);

impl Built {
    pub fn source(source: impl Source) -> Built {
        Built(Task::Source(Box::new(source)))
    }

    pub fn sink(sink: impl Sink) -> Built {
        Built(Task::Sink(Box::new(sink)))
    }
}

/// A boxed, sendable future: keeps the connector traits object-safe without `async-trait`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A source of events. `run` emits batches into [`SourceContext::output`] until its input ends
/// (a finite source) or [`SourceContext::shutdown`] is set; then it returns and the run drains.
pub trait Source: Send + 'static {
    fn run(self: Box<Self>, ctx: SourceContext) -> BoxFuture<'static, Result<(), RunError>>;
}

/// A sink: writes batches. A batch counts as delivered once `write` returned `Ok` (its data is
/// written and flushed); only then is the batch's [`Ack`] released towards its source.
pub trait Sink: Send + 'static {
    fn write<'a>(&'a mut self, batch: &'a RecordBatch) -> BoxFuture<'a, Result<(), RunError>>;
    /// How often [`Sink::tick`] wants to be called while no batch arrives (rolling files by time).
    fn tick_interval(&self) -> Option<Duration> {
        None
    }
    fn tick(&mut self) -> BoxFuture<'_, Result<(), RunError>> {
        Box::pin(async { Ok(()) })
    }
    /// Called once when the input has ended: finish and close everything.
    fn close(&mut self) -> BoxFuture<'_, Result<(), RunError>>;
    /// Called with a batch's acknowledgement once [`Sink::write`] returned `Ok`. A sink whose writes
    /// become safe only later — a Parquet file is readable once its footer is written at close, an
    /// object is visible once its upload completes — keeps a clone of `ack` with the file the batch
    /// went to and drops it only then (calling [`Ack::fail`] first if finishing failed), so the source
    /// or the `file` channel keeps the batch until it is really safe. The default keeps nothing: the
    /// batch is safe once `write` returned. A sink that holds acks must finish its files by itself
    /// (roll `interval`, `idle`) so that a source waiting on them is never stuck.
    fn hold(&mut self, _ack: &Ack) {}
    /// Called after each write and tick: a sink sets the gauges only it knows (files open).
    fn report(&self, _metrics: &NodeMetrics) {}
    /// Whether every write keeps its thread busy (encoding and writing files): the sink then runs on
    /// a thread of its own, where [`blocking`] calls straight through, rather than handing a worker
    /// of the shared runtime on to another thread at each write.
    fn own_thread(&self) -> bool {
        false
    }
}

/// What a source is given to run.
pub struct SourceContext {
    pub name: String,
    pub output: Output,
    pub shutdown: Shutdown,
    pub metrics: Arc<NodeMetrics>,
    /// Directory relative paths in options are resolved against (the `.flow` file's directory).
    pub base_dir: PathBuf,
}

/// A batch on its way, with the acknowledgement its source waits for.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub batch: RecordBatch,
    pub ack: Ack,
}

/// A delivery token. Every copy of an envelope holds a clone; when the last clone is dropped the
/// source learns whether every sink that got the batch wrote it ([`Ack::fail`] marks a failure).
/// Batches a transform filtered away count as delivered.
#[derive(Debug, Clone, Default)]
pub struct Ack(Option<Arc<AckInner>>);

#[derive(Debug)]
struct AckInner {
    failed: AtomicBool,
    done: Mutex<Option<oneshot::Sender<bool>>>,
}

impl Drop for AckInner {
    fn drop(&mut self) {
        let ok = !self.failed.load(Ordering::SeqCst);
        if let Some(tx) = self.done.get_mut().ok().and_then(Option::take) {
            let _ = tx.send(ok);
        }
    }
}

impl Ack {
    /// A token nobody waits for.
    pub fn none() -> Ack {
        Ack(None)
    }

    /// A token and the handle that resolves once every clone of it is gone.
    pub fn new() -> (Ack, AckWait) {
        let (tx, rx) = oneshot::channel();
        (Ack(Some(Arc::new(AckInner { failed: AtomicBool::new(false), done: Mutex::new(Some(tx)) }))), AckWait(rx))
    }

    /// Marks the batch as not delivered: the source must not advance past it.
    pub fn fail(&self) {
        if let Some(inner) = &self.0 {
            inner.failed.store(true, Ordering::SeqCst);
        }
    }
}

/// Resolves when every clone of an [`Ack`] is dropped: `true` when all were delivered.
#[derive(Debug)]
pub struct AckWait(oneshot::Receiver<bool>);

impl AckWait {
    pub async fn wait(self) -> bool {
        self.0.await.unwrap_or(false)
    }
}

/// Where a node sends its batches: one bounded queue per downstream node (fan-out replicates).
#[derive(Debug, Clone)]
pub struct Output {
    pub(crate) targets: Vec<mpsc::Sender<Envelope>>,
    pub(crate) metrics: Arc<NodeMetrics>,
}

/// The downstream side went away (the run is failing); the sender should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl Output {
    /// Sends a batch to every downstream node, waiting while any queue is full (backpressure).
    pub async fn send(&self, batch: RecordBatch, ack: Ack) -> Result<(), Closed> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let rows = batch.num_rows() as u64;
        self.metrics.add_bytes_out(super::batch::data_bytes(&batch));
        self.metrics.tapped(&batch);
        for tx in &self.targets {
            tx.send(Envelope { batch: batch.clone(), ack: ack.clone() }).await.map_err(|_| Closed)?;
        }
        self.metrics.add_out(rows);
        Ok(())
    }

    /// Like [`Output::send`], but all or nothing within `patience`: when some downstream queue has no
    /// room by then, nothing is sent and `Ok(false)` says the pipeline is full (an HTTP source answers
    /// 503 instead of holding its client).
    pub async fn send_within(&self, batch: RecordBatch, ack: Ack, patience: Duration) -> Result<bool, Closed> {
        if batch.num_rows() == 0 {
            return Ok(true);
        }
        let permits = match tokio::time::timeout(patience, self.reserve()).await {
            Ok(permits) => permits?,
            Err(_) => return Ok(false),
        };
        self.metrics.add_bytes_out(super::batch::data_bytes(&batch));
        self.metrics.add_out(batch.num_rows() as u64);
        self.metrics.tapped(&batch);
        for permit in permits {
            permit.send(Envelope { batch: batch.clone(), ack: ack.clone() });
        }
        Ok(true)
    }

    /// Space in every downstream queue, reserved at once (cancel-safe: dropped permits free it).
    pub(crate) async fn reserve(&self) -> Result<Vec<mpsc::Permit<'_, Envelope>>, Closed> {
        let mut permits = Vec::with_capacity(self.targets.len());
        for tx in &self.targets {
            permits.push(tx.reserve().await.map_err(|_| Closed)?);
        }
        Ok(permits)
    }
}

/// Set when the run should stop reading (SIGINT/SIGTERM, or a failure): sources return, the rest drains.
#[derive(Debug, Clone)]
pub struct Shutdown(pub(crate) watch::Receiver<bool>);

impl Shutdown {
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown is requested (at once if it already was).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|set| *set).await;
    }
}

/// Runs blocking I/O (a write to a full pipe, a disk flush) without holding up the other tasks: on a
/// multi-threaded runtime the worker hands its tasks to another thread first.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}
