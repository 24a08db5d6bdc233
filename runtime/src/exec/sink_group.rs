//! Sink groups, Flume's sink processors: `failover` writes each batch to the first healthy member in
//! priority order, `load_balance` to one member chosen round robin or at random. A member whose write
//! fails is set aside for a cool-down (1 s, doubling with each failure in a row, up to `max_penalty` /
//! `max_backoff`) and the same batch is tried on the next member, so a failing member loses nothing.
//! The group is itself a [`Sink`]: a write in which every member failed is retried like any sink's
//! (waiting first while every member is cooling down), and after the last attempt the run fails.

use super::connector::{BoxFuture, NodeMetrics, Sink};
use super::{ErrorKind, RunError};
use arrow_array::RecordBatch;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The first cool-down of a failed member; it doubles with each failure in a row.
const FIRST_PENALTY: Duration = Duration::from_secs(1);

/// How a group picks the member for a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Policy {
    /// The first member (in list order) not cooling down.
    Failover { max_penalty: Duration },
    /// Members in turn (or at random); with `backoff`, failed members are skipped while cooling down.
    LoadBalance { random: bool, backoff: Option<Duration> },
}

impl Policy {
    /// The longest cool-down, or `None` when failed members are not set aside.
    fn max_penalty(&self) -> Option<Duration> {
        match self {
            Policy::Failover { max_penalty } => Some(*max_penalty),
            Policy::LoadBalance { backoff, .. } => *backoff,
        }
    }
}

/// One member sink, with its own counters (shown on its own summary line) and its cool-down.
pub(crate) struct Member {
    pub name: String,
    pub sink: Box<dyn Sink>,
    pub metrics: Arc<NodeMetrics>,
    failures: u32,
    until: Option<Instant>,
}

impl Member {
    pub(crate) fn new(name: String, sink: Box<dyn Sink>, metrics: Arc<NodeMetrics>) -> Member {
        Member { name, sink, metrics, failures: 0, until: None }
    }

    fn cooling(&self, now: Instant) -> bool {
        self.until.is_some_and(|t| t > now)
    }
}

/// A sink group ready to run: it owns its members' sinks.
pub(crate) struct SinkGroup {
    pub name: String,
    policy: Policy,
    members: Vec<Member>,
    /// Round robin: the member the next batch starts at.
    next: usize,
    /// Random selection: a xorshift state.
    seed: u64,
    /// The member that wrote the last batch: it holds that batch's acknowledgement.
    wrote: Option<usize>,
}

impl SinkGroup {
    pub(crate) fn new(name: String, policy: Policy, members: Vec<Member>) -> SinkGroup {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15)
            | 1;
        SinkGroup { name, policy, members, next: 0, seed, wrote: None }
    }

    /// The members to try for the next batch, in order: those not cooling down.
    fn order(&mut self, now: Instant) -> Vec<usize> {
        let n = self.members.len();
        let mut order: Vec<usize> = match self.policy {
            Policy::Failover { .. } => (0..n).collect(),
            Policy::LoadBalance { random: false, .. } => {
                let start = self.next % n.max(1);
                self.next = self.next.wrapping_add(1);
                (0..n).map(|i| (start + i) % n).collect()
            }
            Policy::LoadBalance { random: true, .. } => {
                let mut order: Vec<usize> = (0..n).collect();
                for i in (1..n).rev() {
                    self.seed ^= self.seed << 13;
                    self.seed ^= self.seed >> 7;
                    self.seed ^= self.seed << 17;
                    order.swap(i, (self.seed % (i as u64 + 1)) as usize);
                }
                order
            }
        };
        order.retain(|&i| !self.members[i].cooling(now));
        order
    }

    /// Writes one batch to one member, trying the others in order when it fails; waits first when
    /// every member is cooling down. `Err` when every member tried failed (the caller retries).
    async fn write_once(&mut self, batch: &RecordBatch) -> Result<(), RunError> {
        let rows = batch.num_rows() as u64;
        let order = loop {
            let now = Instant::now();
            let order = self.order(now);
            if !order.is_empty() {
                break order;
            }
            // Everyone is cooling down: wait for the first to come back.
            let back = self.members.iter().filter_map(|m| m.until).min().unwrap_or(now);
            tokio::time::sleep(back.saturating_duration_since(now)).await;
        };
        let mut last = None;
        for i in order {
            let member = &mut self.members[i];
            member.metrics.add_in(rows);
            match member.sink.write(batch).await {
                Ok(()) => {
                    member.metrics.add_out(rows);
                    member.failures = 0;
                    member.until = None;
                    self.wrote = Some(i);
                    return Ok(());
                }
                Err(err) if err.kind == ErrorKind::Internal => return Err(err.in_node(&member.name)),
                Err(err) => {
                    member.metrics.add_errors(rows);
                    member.failures += 1;
                    let penalty = self
                        .policy
                        .max_penalty()
                        .map(|max| FIRST_PENALTY.saturating_mul(1 << (member.failures - 1).min(16)).min(max));
                    member.until = penalty.map(|p| Instant::now() + p);
                    let aside = penalty.map(|p| format!(", set aside for {p:?}")).unwrap_or_default();
                    tracing::warn!("{}: member {} failed{aside}: {err}", self.name, member.name);
                    last = Some(err.in_node(&member.name));
                }
            }
        }
        let last = last.expect("at least one member was tried");
        Err(RunError { kind: last.kind, message: format!("every member failed; the last: {last}") })
    }
}

impl Sink for SinkGroup {
    fn write<'a>(&'a mut self, batch: &'a RecordBatch) -> BoxFuture<'a, Result<(), RunError>> {
        Box::pin(self.write_once(batch))
    }

    /// The member that wrote the batch keeps its acknowledgement, if it needs to.
    fn hold(&mut self, ack: &crate::exec::Ack) {
        if let Some(i) = self.wrote.take() {
            self.members[i].sink.hold(ack);
        }
    }

    /// The shortest of the members' intervals.
    fn tick_interval(&self) -> Option<Duration> {
        self.members.iter().filter_map(|m| m.sink.tick_interval()).min()
    }

    fn tick(&mut self) -> BoxFuture<'_, Result<(), RunError>> {
        Box::pin(async move {
            for member in &mut self.members {
                if member.sink.tick_interval().is_some() {
                    member.sink.tick().await.map_err(|e| e.in_node(&member.name))?;
                }
            }
            Ok(())
        })
    }

    /// Closes every member; the first error stands.
    fn close(&mut self) -> BoxFuture<'_, Result<(), RunError>> {
        Box::pin(async move {
            let mut first = None;
            for member in &mut self.members {
                if let Err(err) = member.sink.close().await {
                    first.get_or_insert(err.in_node(&member.name));
                }
            }
            first.map_or(Ok(()), Err)
        })
    }
}
