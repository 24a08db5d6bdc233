//! The partition writer's tests: appends, rolls, raw batches, locks, recovery, group commit, retention.

use super::*;
use crate::log::fsutil::now_ms;
use crate::log::segment::{self, Cursor};
use std::fs::{self, File, OpenOptions};
use std::sync::Arc;

fn cfg() -> TopicConfig {
    TopicConfig { segment_bytes: 4096, index_interval_bytes: 512, ..TopicConfig::default() }
}

fn recs(from: usize, n: usize) -> Vec<Record> {
    (from..from + n).map(|i| Record::from_value(format!("record-{i:06}"))).collect()
}

fn read_all(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for base in segment::list(&*storage::real(), dir).unwrap() {
        let mut c = Cursor::new(Arc::new(File::open(log_path(dir, base)).unwrap()), 0, 1 << 16);
        while let segment::Next::Batch { bytes, .. } = c.next(true).unwrap() {
            let b = crate::log::record_batch::Batch::from_bytes(bytes.to_vec()).unwrap();
            for r in b.records() {
                out.push(String::from_utf8(r.unwrap().value.unwrap().to_vec()).unwrap());
            }
        }
    }
    out
}

#[test]
fn appends_roll_and_reopen_continues() {
    let dir = tempfile::tempdir().unwrap();
    let w = PartitionWriter::open(dir.path(), "t/0", &cfg(), None).unwrap();
    for i in 0..50 {
        let info = w.append(&recs(i * 10, 10)).unwrap();
        assert_eq!(info, AppendInfo { base_offset: i as u64 * 10, next_offset: (i as u64 + 1) * 10 });
    }
    assert!(segment::list(&*storage::real(), dir.path()).unwrap().len() > 3, "rolled by size");
    drop(w);
    let w = PartitionWriter::open(dir.path(), "t/0", &cfg(), None).unwrap();
    assert_eq!(w.next_offset(), 500);
    assert_eq!(w.recovery().truncated, None);
    w.append(&recs(500, 1)).unwrap();
    drop(w);
    let all = read_all(dir.path());
    assert_eq!(all.len(), 501);
    assert!(all.iter().enumerate().all(|(i, v)| *v == format!("record-{i:06}")));
    let info = partition_info(dir.path(), 0).unwrap();
    assert_eq!((info.start_offset, info.end_offset), (0, 501));
}

#[test]
fn one_append_larger_than_a_segment_rolls_at_the_right_offset() {
    let dir = tempfile::tempdir().unwrap();
    // several batches per call (small max batch), and calls that cross segment boundaries
    let c = TopicConfig { max_batch_bytes: 600, ..cfg() };
    let w = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap();
    let mut next = 0;
    for _ in 0..6 {
        let info = w.append(&recs(next, 250)).unwrap();
        assert_eq!(info, AppendInfo { base_offset: next as u64, next_offset: next as u64 + 250 });
        next += 250;
    }
    let bases = segment::list(&*storage::real(), dir.path()).unwrap();
    assert!(bases.len() > 3, "rolled inside appends: {bases:?}");
    drop(w);
    let all = read_all(dir.path());
    assert_eq!(all.len(), 1500);
    assert!(all.iter().enumerate().all(|(i, v)| *v == format!("record-{i:06}")));
    let w = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap();
    assert_eq!(w.next_offset(), 1500);
    assert_eq!(w.recovery().truncated, None);
}

#[test]
fn raw_batches_are_stored_as_sent_with_their_offsets_stamped() {
    let dir = tempfile::tempdir().unwrap();
    let w = PartitionWriter::open(dir.path(), "t/0", &cfg(), None).unwrap();
    w.append(&recs(0, 3)).unwrap();
    // two client batches back to back, both claiming base offset 0, as producers send them
    let mut sent = Vec::new();
    encode_batch(&mut sent, 0, &recs(100, 2), 1);
    encode_batch(&mut sent, 0, &recs(200, 4), 1);
    let mut raw = sent.clone();
    assert_eq!(w.append_raw(&mut raw).unwrap(), AppendInfo { base_offset: 3, next_offset: 9 });
    // a flipped byte anywhere after the base offset refuses the whole request
    let mut bad = sent.clone();
    let n = bad.len();
    bad[n - 3] ^= 1;
    assert!(matches!(w.append_raw(&mut bad), Err(Error::Invalid(_))));
    assert!(matches!(w.append_raw(&mut sent[..40].to_vec()), Err(Error::Invalid(_))));
    assert_eq!(w.next_offset(), 9);
    drop(w);
    let all = read_all(dir.path());
    let want: Vec<String> = [0, 1, 2, 100, 101, 200, 201, 202, 203].iter().map(|i| format!("record-{i:06}")).collect();
    assert_eq!(all, want);
    // the stored bytes are the client's, but for each batch's 8-byte base offset
    let seg = fs::read(log_path(dir.path(), 0)).unwrap();
    let stored = &seg[seg.len() - sent.len()..];
    let second = crate::log::record_batch::parse_header(&sent).unwrap().len;
    let differ: Vec<usize> = (0..sent.len()).filter(|&i| stored[i] != sent[i]).collect();
    assert!(differ.iter().all(|&i| i < 8 || (second..second + 8).contains(&i)), "{differ:?}");
    assert_eq!(&stored[..8], &3i64.to_be_bytes());
    assert_eq!(&stored[second..second + 8], &5i64.to_be_bytes());
}

#[test]
fn second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _w = PartitionWriter::open(dir.path(), "t/0", &cfg(), None).unwrap();
    let err = PartitionWriter::open(dir.path(), "t/0", &cfg(), None).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(err.to_string().contains(&format!("pid {}", std::process::id())), "{err}");
}

#[test]
fn torn_tail_after_recovery_point_is_cut_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let c = TopicConfig { segment_bytes: 1 << 20, ..cfg() };
    let w = PartitionWriter::open(dir.path(), "t/0", &c, Some(FsyncPolicy::Never)).unwrap();
    w.append(&recs(0, 10)).unwrap();
    w.sync().unwrap(); // recovery point = 10
    w.append(&recs(10, 10)).unwrap();
    w.append(&recs(20, 10)).unwrap();
    // simulate a crash: forget the writer without a clean close, then tear the last batch
    std::mem::forget(w);
    let seg = log_path(dir.path(), 0);
    let len = fs::metadata(&seg).unwrap().len();
    let f = OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 7).unwrap();
    // a leaked lock from this process would block: locks are per open file, so reopen works only
    // after the leaked writer's lock is gone; release it by closing the leaked descriptor's twin
    drop(f);
    let lock = dir.path().join("writer.lock");
    fs::remove_file(&lock).unwrap();
    let w = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap();
    assert_eq!(w.next_offset(), 20);
    let (file, pos, cut, _) = w.recovery().truncated.clone().unwrap();
    assert_eq!(file, seg);
    assert!(pos < len && cut > 0);
    w.append(&recs(20, 5)).unwrap();
    drop(w);
    let all = read_all(dir.path());
    assert_eq!(all.len(), 25);
    assert!(all.iter().enumerate().all(|(i, v)| *v == format!("record-{i:06}")));
}

#[test]
fn corruption_in_synced_data_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let c = TopicConfig { segment_bytes: 1 << 20, ..cfg() };
    let w = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap();
    for i in 0..5 {
        w.append(&recs(i * 10, 10)).unwrap();
    }
    drop(w); // clean close: everything synced
    let seg = log_path(dir.path(), 0);
    let mut bytes = fs::read(&seg).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    fs::write(&seg, &bytes).unwrap();
    let err = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Corrupt { .. }), "{msg}");
    assert!(msg.contains("00000000000000000000.log"), "{msg}");
    // and a truncated synced tail is refused too
    bytes[at] ^= 0x01;
    fs::write(&seg, &bytes[..bytes.len() - 3]).unwrap();
    let err = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn always_policy_group_commits_concurrent_appends() {
    let dir = tempfile::tempdir().unwrap();
    let c = TopicConfig { segment_bytes: 1 << 20, ..cfg() };
    let w = PartitionWriter::open(dir.path(), "t/0", &c, Some(FsyncPolicy::Always)).unwrap();
    let start = Arc::new(std::sync::Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let w = w.clone();
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                for i in 0..25 {
                    w.append(&recs(t * 1000 + i, 1)).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(w.next_offset(), 100);
    assert!(w.inner.lock_sync().synced >= 100);
    // every append returned synced, yet they shared fdatasyncs
    assert!(w.fsyncs() < 100, "{} fdatasyncs for 100 appends", w.fsyncs());
}

#[test]
fn retention_by_bytes_and_time_keeps_the_active_segment() {
    let dir = tempfile::tempdir().unwrap();
    let c = TopicConfig { retention_bytes: Some(8192), retention_ms: Some(3_600_000), ..cfg() };
    let w = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap();
    for i in 0..100 {
        w.append(&recs(i * 10, 10)).unwrap();
    }
    let info = partition_info(dir.path(), 0).unwrap();
    assert!(info.start_offset > 0, "old segments deleted: {info:?}");
    assert!(info.size_bytes < 8192 + 2 * 4096, "{info:?}");
    assert_eq!(info.end_offset, 1000);
    // time: records stamped two hours ago go as soon as their segment is sealed
    let dir2 = tempfile::tempdir().unwrap();
    let c2 = TopicConfig { retention_ms: Some(3_600_000), ..cfg() };
    let w2 = PartitionWriter::open(dir2.path(), "t/0", &c2, None).unwrap();
    let old: Vec<Record> = recs(0, 100)
        .into_iter()
        .map(|mut r| {
            r.timestamp = Some(now_ms() - 7_200_000);
            r
        })
        .collect();
    w2.append(&old).unwrap();
    assert!(w2.enforce_retention(now_ms()).unwrap().deleted_segments.is_empty(), "the active segment stays");
    w2.roll().unwrap(); // sealing makes it eligible; rolls run retention
    w2.append(&recs(100, 1)).unwrap();
    let info = partition_info(dir2.path(), 0).unwrap();
    assert_eq!((info.start_offset, info.end_offset, info.segments), (100, 101, 1));
}

#[test]
fn oversized_records_are_refused_and_large_appends_split() {
    let dir = tempfile::tempdir().unwrap();
    let c = TopicConfig { max_batch_bytes: 2048, segment_bytes: 1 << 20, ..cfg() };
    let w = PartitionWriter::open(dir.path(), "t/0", &c, None).unwrap();
    let big = Record::from_value(vec![0u8; 4096]);
    assert!(matches!(w.append(&[big]), Err(Error::RecordTooLarge { .. })));
    let many: Vec<Record> = (0..100).map(|_| Record::from_value(vec![1u8; 100])).collect();
    assert_eq!(w.append(&many).unwrap().next_offset, 100);
    drop(w);
    assert_eq!(read_all(dir.path()).len(), 100);
}
