//! The `memory` channel: a bounded in-process queue of batches between its inputs and its outputs.
//!
//! - `capacity` (events) and `byte_capacity` (Arrow buffer bytes): a batch is admitted while the
//!   channel holds less than both; while it is full nothing more is taken from the input queue, so
//!   the sources wait (backpressure, never a drop) and memory stays bounded however fast they are.
//! - `transaction_capacity`: the most events handed on in one take; a larger batch goes out as
//!   several zero-copy slices, in order. A put larger than it is accepted whole (Flume refuses it).
//! - `keep_alive`: once a put has waited that long for space, the channel says on stderr that it is
//!   full and the sources are waiting (once per full spell, at most once a minute) and keeps waiting;
//!   Flume fails the put instead, and sources that cannot retry then lose the events.

use super::connector::{Envelope, NodeMetrics, Output};
use super::RunError;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The shortest time between two "channel full" warnings.
const WARN_EVERY: Duration = Duration::from_secs(60);
/// How often a full channel with an empty input queue looks for a waiting put.
const RECHECK: Duration = Duration::from_millis(100);

/// A memory channel's limits, read from its options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemoryLimits {
    pub(crate) capacity: u64,
    pub(crate) byte_capacity: u64,
    pub(crate) transaction_capacity: usize,
    pub(crate) keep_alive: Duration,
}

/// Runs a memory channel named `name` until its input has ended and everything it held went out.
pub(crate) async fn run(
    name: String,
    mut input: mpsc::Receiver<Envelope>,
    output: Output,
    limits: MemoryLimits,
    metrics: Arc<NodeMetrics>,
) -> Result<(), RunError> {
    let mut queue: VecDeque<Envelope> = VecDeque::new();
    // Rows of the queue's first batch already handed on (its later slices are still to go).
    let mut sent_of_first = 0usize;
    let mut held: u64 = 0;
    let mut held_bytes: u64 = 0;
    let mut open = true;
    let mut full_since: Option<Instant> = None;
    let mut warned_at: Option<Instant> = None;
    loop {
        metrics.set_fill(held, limits.capacity);
        if queue.is_empty() && !open {
            return Ok(());
        }
        let full = held >= limits.capacity || held_bytes >= limits.byte_capacity;
        // A put is waiting when the channel is full and something sits in its input queue.
        full_since = match full_since {
            _ if !(full && open && !input.is_empty()) => None,
            None => Some(Instant::now()),
            since => since,
        };
        let warn_at = match (full_since, warned_at) {
            (Some(since), Some(last)) if last >= since => None,
            (Some(since), last) => Some((since + limits.keep_alive).max(last.map_or(since, |l| l + WARN_EVERY))),
            (None, _) => None,
        };
        // While full, look again now and then: a put may arrive while the sinks take nothing.
        let wake = match warn_at {
            Some(at) => Some(at),
            None if full && open && full_since.is_none() => Some(Instant::now() + RECHECK),
            None => None,
        };
        tokio::select! {
            biased;
            permits = output.reserve(), if !queue.is_empty() => {
                let Ok(permits) = permits else {
                    // Everything downstream is gone (the run is failing): nothing can be delivered.
                    for env in queue.drain(..) {
                        env.ack.fail();
                    }
                    return Ok(());
                };
                let first = queue.front().expect("the queue is not empty");
                let rows = first.batch.num_rows();
                let take = (rows - sent_of_first).min(limits.transaction_capacity);
                let slice = if take == rows {
                    first.clone()
                } else {
                    Envelope { batch: first.batch.slice(sent_of_first, take), ack: first.ack.clone() }
                };
                sent_of_first += take;
                if sent_of_first == rows {
                    let env = queue.pop_front().expect("the queue is not empty");
                    held -= rows as u64;
                    held_bytes -= env.batch.get_array_memory_size() as u64;
                    sent_of_first = 0;
                }
                metrics.tapped(&slice.batch);
                for permit in permits {
                    permit.send(slice.clone());
                }
                metrics.add_out(take as u64);
            }
            next = input.recv(), if open && !full => match next {
                Some(env) => {
                    let rows = env.batch.num_rows() as u64;
                    held += rows;
                    held_bytes += env.batch.get_array_memory_size() as u64;
                    metrics.add_in(rows);
                    queue.push_back(env);
                }
                None => open = false,
            },
            _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                if warn_at.is_none() {
                    continue;
                }
                let waited = full_since.map_or(Duration::ZERO, |s| s.elapsed());
                tracing::warn!(
                    "channel {name} is full ({held} events, {held_bytes} bytes held; capacity \
        {}, byte_capacity {}): its sources have waited {:.1}s for space and keep waiting (nothing is dropped)",
                    limits.capacity,
                    limits.byte_capacity,
                    waited.as_secs_f64()
                );
                warned_at = Some(Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::batch::lines_batch;
    use crate::exec::connector::Ack;
    use arrow_array::cast::AsArray;

    #[tokio::test]
    async fn a_batch_larger_than_a_take_goes_out_in_ordered_slices_and_acks_once() {
        let (in_tx, in_rx) = mpsc::channel(2);
        let (out_tx, mut out_rx) = mpsc::channel(8);
        let metrics = Arc::new(NodeMetrics::default());
        let output = Output { targets: vec![out_tx], metrics: metrics.clone() };
        let limits = MemoryLimits {
            capacity: 10_000,
            byte_capacity: 1 << 30,
            transaction_capacity: 1_000,
            keep_alive: Duration::ZERO,
        };
        let channel = tokio::spawn(run("c".into(), in_rx, output, limits, metrics.clone()));
        let lines: Vec<String> = (0..2_500).map(|i| i.to_string()).collect();
        let (ack, wait) = Ack::new();
        in_tx.send(Envelope { batch: lines_batch(&lines), ack }).await.unwrap();
        drop(in_tx);
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        while let Some(env) = out_rx.recv().await {
            sizes.push(env.batch.num_rows());
            got.extend(env.batch.column(0).as_string::<i32>().iter().map(|v| v.unwrap().to_string()));
        }
        assert_eq!(sizes, vec![1_000, 1_000, 500]);
        assert_eq!(got, lines);
        assert!(wait.wait().await, "delivered once every slice was dropped");
        channel.await.unwrap().unwrap();
        assert_eq!((metrics.events_in(), metrics.events_out()), (2_500, 2_500));
    }
}
