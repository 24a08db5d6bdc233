//! The hand-over from a file channel's writer to its reader: the batches just appended to the log,
//! kept in memory up to a byte limit, so a reader that keeps up delivers them without reading them
//! back from the segment files (the log still holds every one of them, appended and synced per the
//! channel's `fsync` before it is handed over).
//!
//! A batch the writer appends while the hand-over is full is not kept: the reader, finding the
//! offset it needs missing here, reads the log from there, as it does after a restart.

use arrow_array::RecordBatch;
use std::collections::VecDeque;
use std::sync::Mutex;

/// Bytes of batches held by default (about ten batches of 10,000 access-log lines).
pub(crate) const HANDOFF_BYTES: usize = 16 << 20;

/// Batches appended to the log, each with the offset of its first row, oldest first.
#[derive(Debug)]
pub(crate) struct Handoff {
    state: Mutex<State>,
    limit: usize,
}

#[derive(Debug, Default)]
struct State {
    batches: VecDeque<(u64, RecordBatch, usize)>,
    bytes: usize,
}

impl Handoff {
    /// A hand-over holding at most `limit` bytes of batches.
    pub(crate) fn new(limit: usize) -> Handoff {
        Handoff { state: Mutex::new(State::default()), limit }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `batch`, whose rows are the log's offsets `base..`, if there is room for it; `false`
    /// when it was not kept.
    pub(crate) fn push(&self, base: u64, batch: RecordBatch) -> bool {
        if batch.num_rows() == 0 {
            return false;
        }
        let size = batch.get_array_memory_size();
        let mut st = self.lock();
        if st.bytes + size > self.limit {
            return false;
        }
        st.bytes += size;
        st.batches.push_back((base, batch, size));
        true
    }

    /// The rows from offset `position` on, at most `max` of them, if the hand-over holds
    /// `position`; batches wholly before `position` are let go.
    pub(crate) fn take(&self, position: u64, max: usize) -> Option<RecordBatch> {
        let mut st = self.lock();
        loop {
            let (base, batch, size) = st.batches.front()?;
            let end = base + batch.num_rows() as u64;
            if end <= position {
                let size = *size;
                st.batches.pop_front();
                st.bytes -= size;
                continue;
            }
            if *base > position {
                return None;
            }
            let skip = (position - base) as usize;
            let len = (batch.num_rows() - skip).min(max.max(1));
            return Some(batch.slice(skip, len));
        }
    }

    /// Lets every batch go (the reader stops).
    pub(crate) fn clear(&self) {
        let mut st = self.lock();
        st.batches.clear();
        st.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::batch::lines_batch;
    use arrow_array::cast::AsArray;

    fn lines(batch: &RecordBatch) -> Vec<String> {
        batch.column(0).as_string::<i32>().iter().map(|l| l.unwrap().to_string()).collect()
    }

    #[test]
    fn hands_rows_in_order_sliced_to_the_take_size() {
        let h = Handoff::new(1 << 20);
        assert!(h.push(10, lines_batch(&["a", "b", "c"])));
        assert!(h.push(13, lines_batch(&["d", "e"])));
        assert!(h.take(9, 10).is_none(), "offset 9 is not held");
        assert_eq!(lines(&h.take(10, 2).unwrap()), ["a", "b"]);
        assert_eq!(lines(&h.take(12, 10).unwrap()), ["c"]);
        assert_eq!(lines(&h.take(13, 10).unwrap()), ["d", "e"]);
        assert!(h.take(15, 10).is_none());
        assert_eq!(h.lock().bytes, 0, "everything before the position is let go");
    }

    #[test]
    fn a_position_past_some_batches_lets_them_go() {
        let h = Handoff::new(1 << 20);
        h.push(0, lines_batch(&["a", "b"]));
        h.push(2, lines_batch(&["c", "d", "e"]));
        // The reader read 0..3 from the log meanwhile.
        assert_eq!(lines(&h.take(3, 10).unwrap()), ["d", "e"]);
        assert_eq!(h.lock().batches.len(), 1);
    }

    #[test]
    fn a_full_hand_over_keeps_nothing_more_and_a_gap_is_not_bridged() {
        let one = lines_batch(&["x"; 100]);
        let h = Handoff::new(one.get_array_memory_size() + 1);
        assert!(h.push(0, one.clone()));
        assert!(!h.push(100, one.clone()), "no room");
        assert_eq!(h.take(0, 1000).unwrap().num_rows(), 100);
        // The reader let the first go once past it; the next fits again, after a gap.
        assert!(h.take(100, 10).is_none());
        assert!(h.push(200, one));
        assert!(h.take(100, 10).is_none(), "offsets 100..200 are only in the log");
        assert_eq!(h.take(200, 10).unwrap().num_rows(), 10);
        h.clear();
        assert!(h.take(200, 10).is_none());
    }
}
