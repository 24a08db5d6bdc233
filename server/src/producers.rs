//! Idempotent produce: per partition, each producer id's epoch and the sequence numbers of its
//! last batches, so a retried batch is answered without being stored twice and a gap is refused.
//!
//! The state lives in memory: after a restart the first batch of a known producer is accepted at
//! whatever sequence it carries (as Kafka does for a producer whose state it no longer has).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

/// How many recent batches per producer a retry is recognised against (Kafka keeps 5, the most a
/// client has in flight with idempotence on).
const RECENT: usize = 5;

/// The sequence state of every producer, per partition.
#[derive(Default)]
pub(crate) struct Producers {
    state: Mutex<HashMap<(String, u32), HashMap<i64, ProducerState>>>,
}

struct ProducerState {
    epoch: i16,
    /// `(first sequence, last sequence, base offset)` of the newest batches, oldest first.
    recent: VecDeque<(i32, i32, i64)>,
}

/// What to do with a batch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not idempotent, or the next in sequence: append it.
    Append,
    /// Already stored at this base offset: answer it, store nothing.
    Duplicate(i64),
    /// A sequence after a gap.
    OutOfOrder,
    /// An epoch older than the producer's current one.
    Fenced,
}

/// The idempotence fields of a RecordBatch header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchIds {
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
    pub(crate) first_seq: i32,
    pub(crate) count: i32,
}

impl BatchIds {
    /// Reads them from a batch's header bytes (offsets 43, 51, 53; count at 57).
    pub(crate) fn of(batch: &[u8]) -> Option<BatchIds> {
        let b = batch.get(..61)?;
        let producer_id = i64::from_be_bytes(b[43..51].try_into().ok()?);
        let epoch = i16::from_be_bytes(b[51..53].try_into().ok()?);
        let first_seq = i32::from_be_bytes(b[53..57].try_into().ok()?);
        let count = i32::from_be_bytes(b[57..61].try_into().ok()?);
        (producer_id >= 0 && first_seq >= 0).then_some(BatchIds { producer_id, epoch, first_seq, count })
    }

    fn last_seq(&self) -> i32 {
        self.first_seq.wrapping_add(self.count - 1)
    }
}

impl Producers {
    fn lock(&self) -> MutexGuard<'_, HashMap<(String, u32), HashMap<i64, ProducerState>>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks a batch against the producer's state in `topic`/`partition`.
    pub(crate) fn check(&self, topic: &str, partition: u32, ids: &BatchIds) -> Verdict {
        let state = self.lock();
        let Some(p) = state.get(&(topic.to_string(), partition)).and_then(|m| m.get(&ids.producer_id)) else {
            return Verdict::Append;
        };
        if ids.epoch < p.epoch {
            return Verdict::Fenced;
        }
        if ids.epoch > p.epoch {
            return if ids.first_seq == 0 { Verdict::Append } else { Verdict::OutOfOrder };
        }
        if let Some(&(_, _, base)) = p.recent.iter().find(|(f, l, _)| *f == ids.first_seq && *l == ids.last_seq()) {
            return Verdict::Duplicate(base);
        }
        let last = p.recent.back().map_or(-1, |&(_, l, _)| l);
        if ids.first_seq == last.wrapping_add(1) || (last == i32::MAX && ids.first_seq == 0) {
            Verdict::Append
        } else {
            Verdict::OutOfOrder
        }
    }

    /// Records a batch appended at `base_offset`.
    pub(crate) fn appended(&self, topic: &str, partition: u32, ids: &BatchIds, base_offset: i64) {
        let mut state = self.lock();
        let per = state.entry((topic.to_string(), partition)).or_default();
        let p = per.entry(ids.producer_id).or_insert(ProducerState { epoch: ids.epoch, recent: VecDeque::new() });
        if ids.epoch != p.epoch {
            p.epoch = ids.epoch;
            p.recent.clear();
        }
        p.recent.push_back((ids.first_seq, ids.last_seq(), base_offset));
        while p.recent.len() > RECENT {
            p.recent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(first_seq: i32, count: i32, epoch: i16) -> BatchIds {
        BatchIds { producer_id: 7, epoch, first_seq, count }
    }

    #[test]
    fn sequences_duplicates_gaps_and_epochs() {
        let p = Producers::default();
        assert_eq!(p.check("t", 0, &ids(0, 10, 0)), Verdict::Append);
        p.appended("t", 0, &ids(0, 10, 0), 100);
        assert_eq!(p.check("t", 0, &ids(0, 10, 0)), Verdict::Duplicate(100));
        assert_eq!(p.check("t", 0, &ids(11, 5, 0)), Verdict::OutOfOrder);
        assert_eq!(p.check("t", 0, &ids(10, 5, 0)), Verdict::Append);
        assert_eq!(p.check("t", 1, &ids(10, 5, 0)), Verdict::Append, "per partition");
        p.appended("t", 0, &ids(10, 5, 0), 110);
        assert_eq!(p.check("t", 0, &ids(0, 10, 0)), Verdict::Duplicate(100), "older batches are remembered");
        assert_eq!(p.check("t", 0, &ids(15, 1, 1)), Verdict::OutOfOrder, "a new epoch starts at 0");
        assert_eq!(p.check("t", 0, &ids(0, 1, 1)), Verdict::Append);
        p.appended("t", 0, &ids(0, 1, 1), 115);
        assert_eq!(p.check("t", 0, &ids(15, 1, 0)), Verdict::Fenced);
    }
}
