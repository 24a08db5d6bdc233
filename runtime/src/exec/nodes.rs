//! The tasks of the nodes between sources and channels: transforms, routes and sinks.

use super::reload::{RouteSwap, SinkSwap, SourceSwap, TransformSwap};
use super::transform::Applied;
use super::*;

/// Runs a transform; a `parse`'s rejected records go to `dead` (its dead-letter target, if any) with
/// the batch's acknowledgement, so the source advances only once they are written there too.
///
/// A `parse` works on up to [`PARSE_IN_FLIGHT`] batches at once, each on a blocking thread of its
/// own, and hands them on in the order they came: one parse node uses both cores while the source
/// reads ahead. The other transforms are cheap next to it and run one batch at a time.
pub(super) async fn run_transform(
    name: &str,
    transform: Transform,
    mut input: mpsc::Receiver<Envelope>,
    output: Output,
    dead: Output,
    metrics: Arc<NodeMetrics>,
    mut swaps: Option<mpsc::Receiver<TransformSwap>>,
) -> Result<(), RunError> {
    let depth = if transform.is_parse() { PARSE_IN_FLIGHT } else { 1 };
    let mut transform = Arc::new(transform);
    // A reload's new transform, taken once the batches in flight are handed on.
    let mut pending: Option<Transform> = None;
    let mut warned = false;
    let mut warned_reject = false;
    let mut in_flight: std::collections::VecDeque<(Envelope, Applying)> = std::collections::VecDeque::new();
    let mut closed = false;
    loop {
        if let Some(rx) = swaps.as_mut() {
            if let Ok(swap) = rx.try_recv() {
                pending = Some(swap.transform);
            }
        }
        if in_flight.is_empty() {
            if let Some(new) = pending.take() {
                transform = Arc::new(new);
                tracing::info!("{name}: reloaded");
            }
        }
        // Start what is waiting, up to the depth; wait for input (or a reload) only when nothing is
        // in flight. Nothing new starts while a reload waits for the batches in flight.
        while !closed && pending.is_none() && in_flight.len() < depth {
            let next = if in_flight.is_empty() {
                tokio::select! {
                    next = input.recv() => next,
                    swap = next_transform_swap(&mut swaps) => {
                        pending = Some(swap.transform);
                        break;
                    }
                }
            } else {
                match input.try_recv() {
                    Ok(env) => Some(env),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => None,
                }
            };
            let Some(env) = next else {
                closed = true;
                break;
            };
            metrics.add_in(env.batch.num_rows() as u64);
            let applying = apply(&transform, &env.batch, depth > 1);
            in_flight.push_back((env, applying));
        }
        let Some((env, applying)) = in_flight.pop_front() else {
            if pending.is_some() {
                continue;
            }
            break;
        };
        let rows = env.batch.num_rows() as u64;
        let (applied, took) = match applying.finish().await {
            Ok(done) => done,
            Err(err) => {
                env.ack.fail();
                fail_all(in_flight);
                return Err(err);
            }
        };
        metrics.observe_batch(took);
        match applied {
            Ok(applied) => {
                metrics.add_errors(applied.rejected);
                if let Some(first) = applied.first_rejected.filter(|_| !warned_reject) {
                    // Once per node: the summary counts the rest.
                    let sent = if dead.targets.is_empty() { "dropped" } else { "sent to the dead-letter target" };
                    tracing::warn!(
                        "{name}: a line did not parse because {first} ({sent}; the summary counts them all)"
                    );
                    warned_reject = true;
                }
                if let Some(rejected) = applied.dead {
                    if dead.send(rejected, env.ack.clone()).await.is_err() {
                        env.ack.fail();
                        fail_all(in_flight);
                        return Ok(());
                    }
                }
                if output.send(applied.batch, env.ack).await.is_err() {
                    fail_all(in_flight);
                    return Ok(());
                }
            }
            // `parse … else fail`: the run stops.
            Err(err) if err.kind == ErrorKind::Io => {
                env.ack.fail();
                fail_all(in_flight);
                return Err(err);
            }
            Err(err) => {
                // Records an expression cannot be evaluated on are counted and dropped.
                metrics.add_errors(rows);
                if !warned {
                    tracing::warn!("{rows} record(s) dropped: {err}");
                    warned = true;
                }
            }
        }
    }
    Ok(())
}

/// The batches still being transformed when a transform stops early: not delivered, so their
/// sources do not advance past them.
fn fail_all(in_flight: std::collections::VecDeque<(Envelope, Applying)>) {
    for (env, _) in in_flight {
        env.ack.fail();
    }
}

/// Batches one `parse` node works on at once (one per core of the 2-core machines flowc is sized for).
const PARSE_IN_FLIGHT: usize = 2;

/// One batch being transformed: done already, or on a blocking thread.
enum Applying {
    Done(Result<Applied, RunError>, Duration),
    Running(tokio::task::JoinHandle<(Result<Applied, RunError>, Duration)>),
}

impl Applying {
    async fn finish(self) -> Result<(Result<Applied, RunError>, Duration), RunError> {
        match self {
            Applying::Done(applied, took) => Ok((applied, took)),
            Applying::Running(handle) => {
                handle.await.map_err(|e| RunError::internal(format!("a transform thread failed: {e}")))
            }
        }
    }
}

/// Applies `transform` to `batch`, here or (`pooled`) on a blocking thread.
fn apply(transform: &Arc<Transform>, batch: &arrow_array::RecordBatch, pooled: bool) -> Applying {
    let run = |transform: &Transform, batch: &arrow_array::RecordBatch| {
        let started = std::time::Instant::now();
        let applied = transform.apply(batch);
        (applied, started.elapsed())
    };
    if !pooled {
        let (applied, took) = run(transform, batch);
        return Applying::Done(applied, took);
    }
    let (transform, batch) = (transform.clone(), batch.clone());
    Applying::Running(tokio::task::spawn_blocking(move || run(&transform, &batch)))
}

/// What a source's task keeps across the source's restarts on reload: its queue senders (so the
/// queues stay open between two incarnations), its counters, the run's shutdown.
pub(super) struct SourceRun {
    pub(super) name: String,
    pub(super) output: Output,
    pub(super) shutdown: Shutdown,
    pub(super) metrics: Arc<NodeMetrics>,
    pub(super) base_dir: std::path::PathBuf,
}

/// Runs a source until it ends or the run stops. On reload the source is stopped as SIGTERM would
/// stop it (what it sent drains, its positions are saved), then the new one is built and goes on
/// from there; if it cannot be built, the old options are built again.
pub(super) async fn run_source(
    run: SourceRun,
    mut source: Box<dyn Source>,
    mut swaps: Option<mpsc::Receiver<SourceSwap>>,
) -> Result<(), RunError> {
    let SourceRun { name, output, mut shutdown, metrics, base_dir } = run;
    loop {
        let (stop_tx, stop_rx) = watch::channel(shutdown.is_set());
        let ctx = SourceContext {
            name: name.clone(),
            output: output.clone(),
            shutdown: Shutdown(stop_rx),
            metrics: metrics.clone(),
            base_dir: base_dir.clone(),
        };
        let running = source.run(ctx);
        tokio::pin!(running);
        let mut swap = None;
        let result = loop {
            let (stopping, swapping) = (*stop_tx.borrow(), swap.is_some());
            tokio::select! {
                result = &mut running => break result,
                () = shutdown.wait(), if !stopping => {
                    let _ = stop_tx.send(true);
                }
                next = next_source_swap(&mut swaps), if !stopping && !swapping => {
                    swap = Some(next);
                    let _ = stop_tx.send(true);
                }
            }
        };
        result?;
        let Some(swap) = swap else { return Ok(()) };
        if shutdown.is_set() {
            return Ok(());
        }
        source = match blocking(swap.build) {
            Ok(new) => {
                tracing::info!("{name}: restarted with its new options");
                new
            }
            Err(err) => {
                tracing::error!("{name}: the reloaded source cannot start ({err}); going on with its old options");
                blocking(swap.fallback)?
            }
        };
    }
}

/// The next source a reload hands over; never, once nobody can reload any more.
async fn next_source_swap(swaps: &mut Option<mpsc::Receiver<SourceSwap>>) -> SourceSwap {
    if let Some(rx) = swaps {
        if let Some(swap) = rx.recv().await {
            return swap;
        }
        *swaps = None;
    }
    std::future::pending().await
}

/// A route: each record goes to the targets of the first arm whose condition holds (`else` takes
/// the rest; without one, what matches nothing is dropped). Each target gets its records in input
/// order, once per batch, even when several arms lead to it. A reload's new conditions are taken
/// between two batches.
pub(super) async fn run_route(
    name: &str,
    mut arms: Vec<Option<expr::Compiled>>,
    targets: Vec<(mpsc::Sender<Envelope>, Vec<usize>)>,
    mut input: mpsc::Receiver<Envelope>,
    metrics: Arc<NodeMetrics>,
    mut swaps: Option<mpsc::Receiver<RouteSwap>>,
) -> Result<(), RunError> {
    let mut warned = false;
    loop {
        let env = tokio::select! {
            env = input.recv() => env,
            swap = next_route_swap(&mut swaps) => {
                arms = swap.arms;
                tracing::info!("{name}: reloaded");
                continue;
            }
        };
        let Some(env) = env else { break };
        let rows = env.batch.num_rows();
        metrics.add_in(rows as u64);
        let routed = expr::drop_malformed(arms.iter().flatten(), &env.batch)
            .and_then(|(batch, malformed)| Ok((route_batch(&arms, &targets, &batch)?, malformed)));
        let sends = match routed {
            Ok((sends, malformed)) => {
                metrics.add_errors(malformed);
                Ok(sends)
            }
            Err(err) => Err(err),
        };
        let sends = match sends {
            Ok(sends) => sends,
            Err(err) => {
                metrics.add_errors(rows as u64);
                if !warned {
                    tracing::warn!("{rows} record(s) dropped: {err}");
                    warned = true;
                }
                continue;
            }
        };
        let (batches, routed) = sends;
        for ((tx, _), batch) in targets.iter().zip(batches) {
            if batch.num_rows() > 0 && tx.send(Envelope { batch, ack: env.ack.clone() }).await.is_err() {
                return Ok(());
            }
        }
        metrics.add_out(routed);
    }
    Ok(())
}

/// The batch each target gets, and how many records were routed anywhere.
pub(super) fn route_batch<T>(
    arms: &[Option<expr::Compiled>],
    targets: &[(T, Vec<usize>)],
    batch: &arrow_array::RecordBatch,
) -> Result<(Vec<arrow_array::RecordBatch>, u64), RunError> {
    use arrow_arith::boolean::{and, not, or};
    use arrow_array::BooleanArray;
    let rows = batch.num_rows();
    let mut left = BooleanArray::from(vec![true; rows]);
    let mut picked = Vec::with_capacity(arms.len());
    for arm in arms {
        let mask = match arm {
            None => left.clone(),
            Some(cond) => and(&left, &expr::eval_predicate(cond, batch)?).map_err(RunError::eval)?,
        };
        left = and(&left, &not(&mask).map_err(RunError::eval)?).map_err(RunError::eval)?;
        picked.push(mask);
    }
    let routed = rows - left.true_count();
    let mut out = Vec::with_capacity(targets.len());
    for (_, arms_of_target) in targets {
        let mut mask = BooleanArray::from(vec![false; rows]);
        for arm in arms_of_target {
            mask = or(&mask, &picked[*arm]).map_err(RunError::eval)?;
        }
        out.push(arrow_select::filter::filter_record_batch(batch, &mask).map_err(RunError::eval)?);
    }
    Ok((out, routed as u64))
}

/// Writes a batch, retrying a failed write with a doubling pause (up to [`RETRY_LONGEST_PAUSE`]):
/// without end by default, as Flume's sink runner does, or `max_retries` times. An error retrying
/// cannot fix ([`ErrorKind::Denied`], [`ErrorKind::Internal`]) stands at once; so does the last one.
pub(super) async fn write_with_retries(
    sink: &mut dyn Sink,
    batch: &arrow_array::RecordBatch,
    name: &str,
    max_retries: Option<u32>,
    metrics: &NodeMetrics,
) -> Result<(), RunError> {
    let mut pause = RETRY_FIRST_PAUSE;
    for attempt in 1u32.. {
        match sink.write(batch).await {
            Ok(()) => return Ok(()),
            Err(err) if matches!(err.kind, ErrorKind::Internal | ErrorKind::Denied) => return Err(err),
            Err(err) if max_retries.is_some_and(|max| attempt > max) => return Err(err),
            Err(err) => {
                let of = max_retries.map_or(String::new(), |max| format!(" of {}", max + 1));
                tracing::warn!("{name}: write failed (attempt {attempt}{of}, again in {pause:?}): {err}");
                metrics.add_retry();
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RETRY_LONGEST_PAUSE);
            }
        }
    }
    unreachable!("the loop returns")
}

pub(super) async fn run_sink(
    name: String,
    mut sink: Box<dyn Sink>,
    mut input: mpsc::Receiver<Envelope>,
    metrics: Arc<NodeMetrics>,
    shutdown: Arc<watch::Sender<bool>>,
    max_retries: Option<u32>,
    mut swaps: Option<mpsc::Receiver<SinkSwap>>,
) -> Result<(), RunError> {
    let mut failed: Option<RunError> = None;
    let mut ticker = ticker_of(sink.as_ref());
    loop {
        let next = tokio::select! {
            next = input.recv() => next,
            () = tick(&mut ticker) => {
                if failed.is_none() {
                    if let Err(err) = sink.tick().await {
                        failed = Some(err);
                        metrics.set_failed();
                        let _ = shutdown.send(true);
                    }
                    sink.report(&metrics);
                }
                continue;
            }
            swap = next_swap(&mut swaps) => {
                if failed.is_none() {
                    if let Err(err) = swap_sink(&name, &mut sink, swap).await {
                        failed = Some(err);
                        metrics.set_failed();
                        let _ = shutdown.send(true);
                    }
                    ticker = ticker_of(sink.as_ref());
                    sink.report(&metrics);
                }
                continue;
            }
        };
        let Some(env) = next else { break };
        let rows = env.batch.num_rows() as u64;
        metrics.add_in(rows);
        if failed.is_some() {
            // After a failure nothing more is written; the sources are stopping and must not advance.
            env.ack.fail();
            metrics.add_errors(rows);
            continue;
        }
        let started = std::time::Instant::now();
        let written = write_with_retries(sink.as_mut(), &env.batch, &name, max_retries, &metrics).await;
        sink.report(&metrics);
        match written {
            Ok(()) => {
                metrics.observe_batch(started.elapsed());
                sink.hold(&env.ack);
                metrics.add_out(rows);
                metrics.add_bytes_out(batch::data_bytes(&env.batch));
                metrics.tapped(&env.batch);
            }
            Err(err) => {
                env.ack.fail();
                metrics.add_errors(rows);
                failed = Some(err);
                metrics.set_failed();
                let _ = shutdown.send(true);
            }
        }
    }
    let closed = sink.close().await;
    match (failed, closed) {
        (Some(err), _) | (None, Err(err)) => Err(err),
        (None, Ok(())) => Ok(()),
    }
}

/// The timer of a sink that wants ticks (rolling files by time).
fn ticker_of(sink: &dyn Sink) -> Option<tokio::time::Interval> {
    sink.tick_interval().map(|d| {
        let mut t = tokio::time::interval(d.max(Duration::from_millis(10)));
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    })
}

/// The next tick; never, for a sink without a timer.
async fn tick(ticker: &mut Option<tokio::time::Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// A route's next conditions from a reload; never, once nobody can reload any more.
async fn next_route_swap(swaps: &mut Option<mpsc::Receiver<RouteSwap>>) -> RouteSwap {
    if let Some(rx) = swaps {
        if let Some(swap) = rx.recv().await {
            return swap;
        }
        *swaps = None;
    }
    std::future::pending().await
}

/// The next transform a reload hands over; never, once nobody can reload any more.
async fn next_transform_swap(swaps: &mut Option<mpsc::Receiver<TransformSwap>>) -> TransformSwap {
    if let Some(rx) = swaps {
        if let Some(swap) = rx.recv().await {
            return swap;
        }
        *swaps = None;
    }
    std::future::pending().await
}

/// The next sink a reload hands over; never, once nobody can reload any more.
async fn next_swap(swaps: &mut Option<mpsc::Receiver<SinkSwap>>) -> SinkSwap {
    if let Some(rx) = swaps {
        if let Some(swap) = rx.recv().await {
            return swap;
        }
        *swaps = None;
    }
    std::future::pending().await
}

/// Closes the running sink (its files get their final names) and puts the new one in its place; if
/// the new one cannot be built, the old options are built again. Between two batches, so every
/// batch is written whole by one of them.
async fn swap_sink(name: &str, sink: &mut Box<dyn Sink>, swap: SinkSwap) -> Result<(), RunError> {
    sink.close().await?;
    match blocking(swap.build) {
        Ok(new) => {
            *sink = new;
            tracing::info!("{name}: reloaded with its new options");
            Ok(())
        }
        Err(err) => {
            tracing::error!("{name}: the reloaded sink cannot start ({err}); going on with its old options");
            *sink = blocking(swap.fallback)?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, RecordBatch, StringArray};

    /// A sink whose first `failures` writes fail with `kind`.
    struct Flaky {
        failures: u32,
        kind: ErrorKind,
        writes: u32,
    }

    impl Sink for Flaky {
        fn write<'a>(&'a mut self, _batch: &'a RecordBatch) -> BoxFuture<'a, Result<(), RunError>> {
            self.writes += 1;
            let fail = self.writes <= self.failures;
            let kind = self.kind;
            Box::pin(async move {
                match fail {
                    true => Err(RunError { kind, message: "no".into() }),
                    false => Ok(()),
                }
            })
        }
        fn close(&mut self) -> BoxFuture<'_, Result<(), RunError>> {
            Box::pin(async { Ok(()) })
        }
    }

    fn batch() -> RecordBatch {
        let values: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
        RecordBatch::try_from_iter([("line", values)]).unwrap()
    }

    async fn write(failures: u32, kind: ErrorKind, max_retries: Option<u32>) -> (Result<(), RunError>, u32, u64) {
        let mut sink = Flaky { failures, kind, writes: 0 };
        let metrics = NodeMetrics::default();
        let result = write_with_retries(&mut sink, &batch(), "k", max_retries, &metrics).await;
        (result, sink.writes, metrics.retries())
    }

    #[tokio::test(start_paused = true)]
    async fn without_max_retries_a_write_is_tried_until_it_succeeds() {
        let (result, writes, retries) = write(40, ErrorKind::Io, None).await;
        assert!(result.is_ok());
        assert_eq!((writes, retries), (41, 40));
    }

    #[tokio::test(start_paused = true)]
    async fn max_retries_bounds_the_tries() {
        let (result, writes, retries) = write(10, ErrorKind::Io, Some(2)).await;
        assert_eq!(result.unwrap_err().kind, ErrorKind::Io);
        assert_eq!((writes, retries), (3, 2));
        let (result, writes, _) = write(2, ErrorKind::Io, Some(2)).await;
        assert!(result.is_ok());
        assert_eq!(writes, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_retrying_cannot_fix_fails_at_once() {
        for kind in [ErrorKind::Denied, ErrorKind::Internal] {
            let (result, writes, retries) = write(5, kind, None).await;
            assert_eq!(result.unwrap_err().kind, kind);
            assert_eq!((writes, retries), (1, 0));
        }
    }

    #[test]
    fn io_errors_retrying_cannot_fix_are_denied() {
        use std::io::{Error, ErrorKind as K};
        assert_eq!(RunError::from_io("out", &Error::from(K::PermissionDenied)).kind, ErrorKind::Denied);
        assert_eq!(RunError::from_io("out", &Error::from(K::ReadOnlyFilesystem)).kind, ErrorKind::Denied);
        assert_eq!(RunError::from_io("out", &Error::from(K::NotADirectory)).kind, ErrorKind::Io, "a sink that is down");
        assert_eq!(RunError::from_io("out", &Error::from(K::StorageFull)).kind, ErrorKind::Io);
        assert_eq!(RunError::from_io("out", &Error::from(K::TimedOut)).kind, ErrorKind::Io);
    }
}
