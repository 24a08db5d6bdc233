//! Consumers: read a topic's partitions live, alone or as a member of a consumer group.
//!
//! A group consumer owns the partitions the group's assignment gives it (see `group.rs`), starts each
//! from the group's committed offset (or the reset policy's end when there is none, which it commits
//! at once so a handover keeps it), and checks the membership every `rebalance_every` inside `poll`.
//! Positions only become durable through [`Consumer::commit`]; a partition handed to another member
//! continues from the last commit (at-least-once). A consumer without a group commits nothing.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::error::{Error, Result};
use super::group::{Membership, OwnedPartition};
use super::io::StorageRef;
use super::partition::partition_info_on;
use super::reader::PartitionReader;
use super::record::{ConsumedRecord, RecordView};

/// Where a consumer starts in a partition that has no committed offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OffsetReset {
    /// The oldest retained record (`--from-beginning`).
    Earliest,
    /// Only records appended from now on.
    #[default]
    Latest,
}

/// How a consumer reads.
#[derive(Clone, Debug)]
pub struct ConsumerOptions {
    /// The consumer group; `None` reads every partition and commits nothing.
    pub group: Option<String>,
    /// Where to start without a committed offset.
    pub reset: OffsetReset,
    /// Shown as the member's client id.
    pub client_id: String,
    /// Without a group: read only these partitions (default all).
    pub partitions: Option<Vec<u32>>,
    /// How often `poll` looks at the group's membership.
    pub rebalance_every: Duration,
    /// Bytes read from one partition at a time.
    pub fetch_bytes: usize,
}

impl Default for ConsumerOptions {
    fn default() -> ConsumerOptions {
        ConsumerOptions {
            group: None,
            reset: OffsetReset::Latest,
            client_id: "flowc".into(),
            partitions: None,
            rebalance_every: Duration::from_millis(100),
            fetch_bytes: 1 << 20,
        }
    }
}

/// A consumer of one topic.
#[derive(Debug)]
pub struct Consumer {
    fs: StorageRef,
    topic_dir: PathBuf,
    topic: String,
    partitions: u32,
    opts: ConsumerOptions,
    assigned: BTreeMap<u32, Assigned>,
    member: Option<Membership>,
    last_rebalance: Option<Instant>,
    rr: usize,
}

/// The commits of one partition, taken out of its consumer by [`Consumer::take_commits`]; the lock
/// on the partition's offset file goes with them.
#[derive(Debug)]
pub struct PartitionCommits {
    owned: OwnedPartition,
    committed: Option<u64>,
}

impl PartitionCommits {
    /// Durably records `offset` as the group's next offset to read in this partition.
    pub fn commit(&mut self, offset: u64) -> Result<()> {
        if self.committed != Some(offset) {
            self.owned.commit(offset)?;
            self.committed = Some(offset);
        }
        Ok(())
    }

    /// The offset last committed, if any.
    pub fn committed(&self) -> Option<u64> {
        self.committed
    }
}

#[derive(Debug)]
struct Assigned {
    reader: PartitionReader,
    ready: VecDeque<ConsumedRecord>,
    /// The next offset `poll` hands out.
    position: u64,
    committed: Option<u64>,
    owned: Option<OwnedPartition>,
}

impl Consumer {
    pub(crate) fn new(
        fs: StorageRef,
        data_dir: PathBuf,
        topic_dir: PathBuf,
        topic: &str,
        partitions: u32,
        opts: ConsumerOptions,
    ) -> Result<Consumer> {
        let member = match &opts.group {
            Some(g) => Some(Membership::join(std::sync::Arc::clone(&fs), &data_dir, g, topic, &opts.client_id)?),
            None => None,
        };
        let mut c = Consumer {
            fs,
            topic_dir,
            topic: topic.to_string(),
            partitions,
            opts,
            assigned: BTreeMap::new(),
            member,
            last_rebalance: None,
            rr: 0,
        };
        if c.member.is_none() {
            let wanted: Vec<u32> = c.opts.partitions.clone().unwrap_or_else(|| (0..partitions).collect());
            for p in wanted {
                if p >= partitions {
                    return Err(Error::PartitionNotFound { topic: c.topic.clone(), partition: p, partitions });
                }
                let start = c.reset_offset(p)?;
                c.add(p, start, None, None)?;
            }
        } else {
            c.rebalance()?;
        }
        Ok(c)
    }

    /// The partitions this consumer reads now.
    pub fn assignment(&self) -> Vec<u32> {
        self.assigned.keys().copied().collect()
    }

    /// The next offset `poll` returns, per assigned partition.
    pub fn positions(&self) -> Vec<(u32, u64)> {
        self.assigned.iter().map(|(&p, a)| (p, a.position)).collect()
    }

    /// This consumer's member id in its group.
    pub fn member_id(&self) -> Option<&str> {
        self.member.as_ref().map(|m| m.info().member_id.as_str())
    }

    /// Moves an assigned partition to `offset` (the log start if retention removed it).
    pub fn seek(&mut self, partition: u32, offset: u64) -> Result<()> {
        let a = self.assigned.get_mut(&partition).ok_or_else(|| {
            Error::Invalid(format!("partition {partition} of `{}` is not assigned to this consumer", self.topic))
        })?;
        a.reader.seek(offset)?;
        a.ready.clear();
        a.position = a.reader.position();
        Ok(())
    }

    /// Returns up to `max` records, waiting up to `timeout` for the first; empty if none came.
    pub fn poll(&mut self, max: usize, timeout: Duration) -> Result<Vec<ConsumedRecord>> {
        let deadline = Instant::now() + timeout;
        let mut backoff = Duration::from_millis(1);
        loop {
            if self.member.is_some() && self.last_rebalance.is_none_or(|t| t.elapsed() >= self.opts.rebalance_every) {
                self.rebalance()?;
            }
            let out = self.take_ready(max);
            if !out.is_empty() {
                return Ok(out);
            }
            if self.fetch()? {
                backoff = Duration::from_millis(1);
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            std::thread::sleep(backoff.min(deadline - now));
            backoff = (backoff * 2).min(Duration::from_millis(50));
        }
    }

    /// [`poll`](Self::poll) without copying each record out of its batch: hands up to `max` records,
    /// in the order `poll` returns them, to `f` (with its partition) borrowed from the batch that
    /// holds it, and returns how many it handed; 0 if none came within `timeout`. What a fetched
    /// batch holds beyond `max` is kept for the next poll, as `poll` keeps it.
    pub fn poll_with(
        &mut self,
        max: usize,
        timeout: Duration,
        mut f: impl FnMut(u32, &RecordView<'_>),
    ) -> Result<usize> {
        let deadline = Instant::now() + timeout;
        let mut backoff = Duration::from_millis(1);
        loop {
            if self.member.is_some() && self.last_rebalance.is_none_or(|t| t.elapsed() >= self.opts.rebalance_every) {
                self.rebalance()?;
            }
            let ready = self.take_ready(max);
            if !ready.is_empty() {
                for r in &ready {
                    let headers = r.headers.iter().map(|h| (h.key.as_bytes(), h.value.as_deref())).collect();
                    let view = RecordView {
                        offset: r.offset,
                        timestamp: r.timestamp,
                        key: r.key.as_deref(),
                        value: r.value.as_deref(),
                        headers,
                    };
                    f(r.partition, &view);
                }
                return Ok(ready.len());
            }
            let handed = self.fetch_with(max, &mut f)?;
            if handed > 0 {
                return Ok(handed);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(0);
            }
            std::thread::sleep(backoff.min(deadline - now));
            backoff = (backoff * 2).min(Duration::from_millis(50));
        }
    }

    /// Durably records, for the group, the position after every record `poll` returned.
    pub fn commit(&mut self) -> Result<()> {
        for a in self.assigned.values_mut() {
            if let Some(owned) = a.owned.as_mut() {
                if a.committed != Some(a.position) {
                    owned.commit(a.position)?;
                    a.committed = Some(a.position);
                }
            }
        }
        Ok(())
    }

    /// Durably records, for the group, `offset` as the next offset to read in `partition`: a position
    /// at or before the one `poll` reached (the records before it were processed; those after it,
    /// already polled, are still in flight and read again after a restart).
    pub fn commit_at(&mut self, partition: u32, offset: u64) -> Result<()> {
        let Some(a) = self.assigned.get_mut(&partition) else { return Ok(()) };
        let offset = offset.min(a.position);
        if let Some(owned) = a.owned.as_mut() {
            if a.committed != Some(offset) {
                owned.commit(offset)?;
                a.committed = Some(offset);
            }
        }
        Ok(())
    }

    /// Takes the commits of an assigned `partition` out of this consumer (which commits nothing for
    /// it from then on), so they can be made apart from polling — on another thread, at positions
    /// this consumer has not reached itself (the caller read those records some other way). `None`
    /// without a group, for a partition not assigned, or once taken.
    pub fn take_commits(&mut self, partition: u32) -> Option<PartitionCommits> {
        let a = self.assigned.get_mut(&partition)?;
        let owned = a.owned.take()?;
        Some(PartitionCommits { owned, committed: a.committed })
    }

    /// Records not yet read, per assigned partition: log-end offset minus position.
    pub fn lag(&self) -> Result<Vec<(u32, u64)>> {
        let mut out = Vec::new();
        for (&p, a) in &self.assigned {
            let end = partition_info_on(&*self.fs, &self.topic_dir.join(p.to_string()), p)?.end_offset;
            out.push((p, end.saturating_sub(a.position)));
        }
        Ok(out)
    }

    fn take_ready(&mut self, max: usize) -> Vec<ConsumedRecord> {
        let mut out = Vec::new();
        let n = self.assigned.len();
        if n == 0 {
            return out;
        }
        let keys: Vec<u32> = self.assigned.keys().copied().collect();
        for i in 0..n {
            let p = keys[(self.rr + i) % n];
            let a = self.assigned.get_mut(&p).expect("listed above");
            while out.len() < max {
                let Some(r) = a.ready.pop_front() else { break };
                a.position = r.offset + 1;
                out.push(r);
            }
        }
        self.rr = self.rr.wrapping_add(1);
        out
    }

    /// Reads more from partitions with nothing ready; `true` if anything arrived.
    fn fetch(&mut self) -> Result<bool> {
        let ready = |c: &Self| c.assigned.values().map(|a| a.ready.len()).sum::<usize>();
        let before = ready(self);
        self.fetch_with(0, &mut |_, _| {})?;
        Ok(ready(self) > before)
    }

    /// [`fetch`](Self::fetch) for [`poll_with`](Self::poll_with): the first `max` new records go to
    /// `f` (advancing the position past each), the rest are kept as ready.
    fn fetch_with(&mut self, max: usize, f: &mut impl FnMut(u32, &RecordView<'_>)) -> Result<usize> {
        let mut handed = 0;
        for (&p, a) in self.assigned.iter_mut() {
            if !a.ready.is_empty() {
                continue;
            }
            for batch in a.reader.read(self.opts.fetch_bytes)? {
                for r in batch.records() {
                    let r = r.map_err(|reason| {
                        Error::Invalid(format!(
                            "malformed record in {}/{p} batch at offset {}: {reason}",
                            self.topic,
                            batch.header().base_offset
                        ))
                    })?;
                    if r.offset < a.position {
                        continue;
                    }
                    if handed < max && a.ready.is_empty() {
                        f(p, &r);
                        a.position = r.offset + 1;
                        handed += 1;
                    } else {
                        a.ready.push_back(r.to_owned_record(p));
                    }
                }
            }
        }
        Ok(handed)
    }

    fn reset_offset(&self, p: u32) -> Result<u64> {
        let info = partition_info_on(&*self.fs, &self.topic_dir.join(p.to_string()), p)?;
        Ok(match self.opts.reset {
            OffsetReset::Earliest => info.start_offset,
            OffsetReset::Latest => info.end_offset,
        })
    }

    fn add(&mut self, p: u32, start: u64, committed: Option<u64>, owned: Option<OwnedPartition>) -> Result<()> {
        let dir = self.topic_dir.join(p.to_string());
        let reader =
            PartitionReader::open_on(std::sync::Arc::clone(&self.fs), &dir, &format!("{}/{p}", self.topic), start)?;
        let position = reader.position();
        self.assigned.insert(p, Assigned { reader, ready: VecDeque::new(), position, committed, owned });
        Ok(())
    }

    fn rebalance(&mut self) -> Result<()> {
        self.last_rebalance = Some(Instant::now());
        let Some(member) = &self.member else { return Ok(()) };
        let desired = member.assignment(self.partitions)?;
        self.assigned.retain(|p, _| desired.contains(p));
        for p in desired {
            if self.assigned.contains_key(&p) {
                continue;
            }
            let member = self.member.as_ref().expect("checked above");
            let Some(mut owned) = member.try_own(&self.topic, p)? else { continue };
            let (start, committed) = match owned.committed()? {
                Some(o) => (o, Some(o)),
                None => {
                    let o = self.reset_offset(p)?;
                    owned.commit(o)?;
                    (o, Some(o))
                }
            };
            self.add(p, start, committed, Some(owned))?;
        }
        Ok(())
    }
}
