//! Producers: route records to a topic's partitions (murmur2 for keys, sticky round-robin without).
//!
//! A keyed record goes where the Java client would put it: `toPositive(murmur2(key)) % partitions`.
//! Keyless records are *sticky per call*: all keyless records of one [`Producer::send`] go to one
//! partition and the next call moves to the next partition, round-robin (Kafka's sticky partitioner
//! with a batch per call, so batches stay large and partitions stay even).

use std::borrow::Borrow;

use super::error::{Error, Result};
use super::murmur2::partition_for_key;
use super::partition::{AppendInfo, PartitionWriter};
use super::record::Record;

/// Writes to every partition of one topic (holding each partition's writer lock).
#[derive(Debug)]
pub struct Producer {
    topic: String,
    writers: Vec<PartitionWriter>,
    sticky: u32,
}

/// Where one record landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordPosition {
    /// The partition.
    pub partition: u32,
    /// Its offset there.
    pub offset: u64,
}

impl Producer {
    pub(crate) fn new(topic: &str, writers: Vec<PartitionWriter>) -> Producer {
        let sticky = std::process::id() % writers.len().max(1) as u32;
        Producer { topic: topic.to_string(), writers, sticky }
    }

    /// The topic's partition count.
    pub fn partitions(&self) -> u32 {
        self.writers.len() as u32
    }

    /// The writer of one partition.
    pub fn writer(&self, partition: u32) -> Option<&PartitionWriter> {
        self.writers.get(partition as usize)
    }

    /// The partition a record goes to (for keyless records: this call's sticky partition).
    pub fn partition_of(&self, record: &Record) -> u32 {
        match &record.key {
            Some(k) => partition_for_key(k, self.partitions()),
            None => self.sticky,
        }
    }

    /// Appends `records`, one batch per partition, returning each record's position in input order.
    pub fn send<R: Borrow<Record>>(&mut self, records: &[R]) -> Result<Vec<RecordPosition>> {
        let n = self.partitions();
        let route = |r: &Record, sticky: u32| r.key.as_deref().map_or(sticky, |k| partition_for_key(k, n));
        let mut groups: Vec<Vec<&Record>> = vec![Vec::new(); n as usize];
        let mut slots = Vec::with_capacity(records.len());
        for r in records {
            let r = r.borrow();
            let p = route(r, self.sticky);
            slots.push((p, groups[p as usize].len() as u64));
            groups[p as usize].push(r);
        }
        if records.iter().any(|r| r.borrow().key.is_none()) {
            self.sticky = (self.sticky + 1) % n;
        }
        let mut bases = vec![0u64; n as usize];
        for (p, group) in groups.iter().enumerate() {
            if !group.is_empty() {
                bases[p] = self.writers[p].append_refs(group)?.base_offset;
            }
        }
        Ok(slots.into_iter().map(|(p, i)| RecordPosition { partition: p, offset: bases[p as usize] + i }).collect())
    }

    /// Appends `records` to one partition, ignoring their keys.
    pub fn send_to(&mut self, partition: u32, records: &[Record]) -> Result<AppendInfo> {
        let n = self.partitions();
        let w = self.writers.get(partition as usize).ok_or_else(|| Error::PartitionNotFound {
            topic: self.topic.clone(),
            partition,
            partitions: n,
        })?;
        w.append(records)
    }

    /// Writes in-memory index entries out, so readers in other processes seek faster.
    pub fn flush(&self) -> Result<()> {
        self.writers.iter().try_for_each(PartitionWriter::flush)
    }

    /// Forces everything sent so far to disk.
    pub fn sync(&self) -> Result<()> {
        self.writers.iter().try_for_each(PartitionWriter::sync)
    }

    /// Syncs and releases every partition.
    pub fn close(self) -> Result<()> {
        self.writers.into_iter().try_for_each(PartitionWriter::close)
    }
}
