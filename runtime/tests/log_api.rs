//! The log's library API end to end: consumer groups in one process (split, handover, resume), key
//! routing through the producer, and the torn-tail property (a cut or garbage at any byte of the
//! unsynced tail recovers to an exact prefix that accepts appends).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::Duration;

use flowc_runtime::log::{
    partition_for_key, ConsumerOptions, FsyncPolicy, Log, LogOptions, OffsetReset, PartitionReader, PartitionWriter,
    Record, TopicConfig,
};

fn open(dir: &Path) -> Log {
    Log::open(dir, LogOptions { create: true }).unwrap()
}

fn group(name: &str) -> ConsumerOptions {
    ConsumerOptions { group: Some(name.into()), reset: OffsetReset::Earliest, ..ConsumerOptions::default() }
}

fn values(records: &[flowc_runtime::log::ConsumedRecord]) -> Vec<String> {
    records.iter().map(|r| String::from_utf8(r.value.clone().unwrap()).unwrap()).collect()
}

#[test]
fn group_members_split_then_hand_over_without_loss_or_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.create_topic("t", &TopicConfig { partitions: 4, ..TopicConfig::default() }).unwrap();
    let mut c1 = log.consumer("t", group("g")).unwrap();
    let mut c2 = log.consumer("t", group("g")).unwrap();
    // membership settles inside poll: wait until each member owns two partitions
    for _ in 0..2000 {
        if c1.assignment().len() == 2 && c2.assignment().len() == 2 {
            break;
        }
        assert!(c1.poll(10, Duration::from_millis(2)).unwrap().is_empty());
        assert!(c2.poll(10, Duration::from_millis(2)).unwrap().is_empty());
    }
    assert_eq!((c1.assignment().len(), c2.assignment().len()), (2, 2));
    let mut producer = log.producer("t", None).unwrap();
    for chunk in 0..20 {
        let batch: Vec<Record> = (0..500).map(|i| Record::from_value(format!("a{:05}", chunk * 500 + i))).collect();
        producer.send(&batch).unwrap();
    }
    let (mut got1, mut got2) = (Vec::new(), Vec::new());
    // poll both until everything is read; membership settles inside poll
    for _ in 0..10_000 {
        if got1.len() + got2.len() == 10_000 {
            break;
        }
        got1.extend(values(&c1.poll(700, Duration::from_millis(5)).unwrap()));
        c1.commit().unwrap();
        got2.extend(values(&c2.poll(700, Duration::from_millis(5)).unwrap()));
        c2.commit().unwrap();
    }
    let a1: BTreeSet<u32> = c1.assignment().into_iter().collect();
    let a2: BTreeSet<u32> = c2.assignment().into_iter().collect();
    assert!(a1.is_disjoint(&a2) && a1.len() + a2.len() == 4, "{a1:?} {a2:?}");
    let s1: BTreeSet<&String> = got1.iter().collect();
    let s2: BTreeSet<&String> = got2.iter().collect();
    assert!(s1.is_disjoint(&s2));
    assert!(!got1.is_empty() && !got2.is_empty());
    assert_eq!(got1.len() + got2.len(), 10_000);
    assert_eq!(s1.len() + s2.len(), 10_000);
    // c2 leaves: c1 takes its partitions from the committed offsets — new records only
    drop(c2);
    let batch: Vec<Record> = (0..400).map(|i| Record::from_value(format!("b{i:05}"))).collect();
    producer.send(&batch).unwrap();
    let mut after = Vec::new();
    for _ in 0..1000 {
        if after.len() >= 400 && c1.assignment().len() == 4 {
            break;
        }
        after.extend(values(&c1.poll(1000, Duration::from_millis(20)).unwrap()));
    }
    assert_eq!(c1.assignment(), vec![0, 1, 2, 3]);
    assert!(after.iter().all(|v| v.starts_with('b')), "no committed record came back");
    assert_eq!(after.len(), 400);
    c1.commit().unwrap();
    let info = log.describe_group("g").unwrap();
    assert_eq!(info.partitions.iter().map(|p| p.lag).sum::<u64>(), 0);
    assert_eq!(info.members.len(), 1);
    // another group sees everything
    let mut other = log.consumer("t", group("other")).unwrap();
    let mut n = 0;
    loop {
        let got = other.poll(5000, Duration::from_millis(20)).unwrap();
        if got.is_empty() {
            break;
        }
        n += got.len();
    }
    assert_eq!(n, 10_400);
}

#[test]
fn keys_route_like_the_java_client_and_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.create_topic("k", &TopicConfig { partitions: 5, ..TopicConfig::default() }).unwrap();
    let mut producer = log.producer("k", None).unwrap();
    let records: Vec<Record> = (0..1000).map(|i| Record::keyed(format!("user-{}", i % 37), format!("{i}"))).collect();
    let positions = producer.send(&records).unwrap();
    for (r, p) in records.iter().zip(&positions) {
        assert_eq!(p.partition, partition_for_key(r.key.as_deref().unwrap(), 5));
    }
    let mut c =
        log.consumer("k", ConsumerOptions { reset: OffsetReset::Earliest, ..ConsumerOptions::default() }).unwrap();
    let got = c.poll(5000, Duration::from_millis(100)).unwrap();
    assert_eq!(got.len(), 1000);
    for key in 0..37 {
        let seq: Vec<u32> = got
            .iter()
            .filter(|r| r.key.as_deref() == Some(format!("user-{key}").as_bytes()))
            .map(|r| String::from_utf8(r.value.clone().unwrap()).unwrap().parse().unwrap())
            .collect();
        assert!(seq.windows(2).all(|w| w[0] < w[1]), "key {key} out of order");
    }
    // keyless records stick to one partition per send and move on
    let keyless: Vec<Record> = (0..10).map(|i| Record::from_value(format!("{i}"))).collect();
    let a = producer.send(&keyless).unwrap();
    let b = producer.send(&keyless).unwrap();
    assert!(a.iter().all(|p| p.partition == a[0].partition));
    assert_eq!(b[0].partition, (a[0].partition + 1) % 5);
}

/// Builds a partition whose first 40 records are synced (clean close) and whose last batches were
/// appended after the recovery point by a writer that then "crashed" (was never closed).
fn crashed_partition(template: &Path) -> (u64, Vec<u64>) {
    let cfg = TopicConfig::default();
    let w = PartitionWriter::open(template, "t/0", &cfg, Some(FsyncPolicy::Never)).unwrap();
    for i in 0..4 {
        let b: Vec<Record> = (0..10).map(|j| Record::from_value(format!("s{}", i * 10 + j))).collect();
        w.append(&b).unwrap();
    }
    w.close().unwrap();
    let synced_len = fs::metadata(template.join("00000000000000000000.log")).unwrap().len();
    let w = PartitionWriter::open(template, "t/0", &cfg, Some(FsyncPolicy::Never)).unwrap();
    let mut ends = Vec::new();
    for i in 0..3 {
        let b: Vec<Record> = (0..(3 + i)).map(|j| Record::from_value(format!("u{i}-{j}"))).collect();
        w.append(&b).unwrap();
        ends.push(fs::metadata(template.join("00000000000000000000.log")).unwrap().len());
    }
    std::mem::forget(w); // a crash: no close, no recovery-point update
    (synced_len, ends)
}

#[test]
fn any_torn_or_garbage_tail_recovers_to_an_exact_prefix() {
    let template = tempfile::tempdir().unwrap();
    let (synced_len, ends) = crashed_partition(template.path());
    let log_bytes = fs::read(template.path().join("00000000000000000000.log")).unwrap();
    let rp = fs::read(template.path().join("recovery-point")).unwrap();
    let counts = [40u64, 43, 47, 52]; // records after the synced prefix and after each tail batch
    let bounds = [synced_len, ends[0], ends[1], ends[2]];
    let mut cases = 0;
    let mut tails: Vec<(usize, Vec<u8>)> =
        (synced_len as usize..=log_bytes.len()).map(|cut| (cut, Vec::new())).collect();
    for (k, garbage) in
        [vec![0u8; 64], vec![0xffu8; 7], b"not a batch at all".to_vec(), vec![0u8; 4096]].into_iter().enumerate()
    {
        for &b in &bounds[k % 3..] {
            tails.push((b as usize, garbage.clone()));
        }
    }
    for (cut, garbage) in tails {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = log_bytes[..cut].to_vec();
        bytes.extend_from_slice(&garbage);
        fs::write(dir.path().join("00000000000000000000.log"), &bytes).unwrap();
        fs::write(dir.path().join("recovery-point"), &rp).unwrap();
        let w = PartitionWriter::open(dir.path(), "t/0", &TopicConfig::default(), None)
            .unwrap_or_else(|e| panic!("cut {cut} + {} garbage bytes: {e}", garbage.len()));
        let whole = bounds.iter().rposition(|&b| b as usize <= cut).unwrap();
        assert_eq!(w.next_offset(), counts[whole], "cut {cut}");
        w.append(&[Record::from_value("next")]).unwrap();
        drop(w);
        let mut r = PartitionReader::open(dir.path(), "t/0", 0).unwrap();
        let mut got = Vec::new();
        loop {
            let batches = r.read(1 << 20).unwrap();
            if batches.is_empty() {
                break;
            }
            for b in &batches {
                got.extend(b.records().map(|x| String::from_utf8(x.unwrap().value.unwrap().to_vec()).unwrap()));
            }
        }
        assert_eq!(got.len() as u64, counts[whole] + 1);
        assert_eq!(got[..40], (0..40).map(|i| format!("s{i}")).collect::<Vec<_>>()[..]);
        assert_eq!(got.last().map(String::as_str), Some("next"));
        cases += 1;
    }
    assert!(cases > 50, "{cases} cases");
}

#[test]
fn a_commit_behind_the_poll_position_is_where_the_group_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.create_topic("t", &TopicConfig { partitions: 1, ..TopicConfig::default() }).unwrap();
    let mut producer = log.producer("t", None).unwrap();
    producer.send(&(0..100).map(|i| Record::from_value(format!("r{i:03}"))).collect::<Vec<_>>()).unwrap();
    let read = |c: &mut flowc_runtime::log::Consumer, n: usize| {
        let mut got = Vec::new();
        for _ in 0..1_000 {
            if got.len() >= n {
                break;
            }
            got.extend(values(&c.poll(100, Duration::from_millis(20)).unwrap()));
        }
        got
    };
    {
        let mut c = log.consumer("t", group("g")).unwrap();
        assert_eq!(read(&mut c, 100).len(), 100);
        // Polled to the end, but only the first 40 were processed.
        c.commit_at(0, 40).unwrap();
    }
    let mut c = log.consumer("t", group("g")).unwrap();
    let again = read(&mut c, 60);
    assert_eq!((again.len(), again.first().map(String::as_str)), (60, Some("r040")));
    // Never ahead of what was polled: asking for more commits the poll position.
    c.commit_at(0, 1_000).unwrap();
    drop(c);
    let mut c = log.consumer("t", group("g")).unwrap();
    assert_eq!(c.positions(), [(0, 100)]);
    assert!(c.poll(100, Duration::from_millis(20)).unwrap().is_empty());
}

#[test]
fn poll_with_borrows_what_poll_copies_in_the_same_order_and_positions() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.create_topic("t", &TopicConfig { partitions: 1, ..TopicConfig::default() }).unwrap();
    let writer = log.partition_writer("t", 0, None).unwrap();
    // Several batches, so a poll's `max` ends inside one and the rest waits for the next poll.
    for chunk in 0..5 {
        writer
            .append(&(0..70).map(|i| Record::from_value(format!("r{:03}", chunk * 70 + i))).collect::<Vec<_>>())
            .unwrap();
    }
    let mut c = log.consumer("t", group("g")).unwrap();
    let mut got = Vec::new();
    for round in 0..1_000 {
        if got.len() == 350 {
            break;
        }
        if round % 3 == 2 {
            got.extend(values(&c.poll(45, Duration::from_millis(20)).unwrap()));
        } else {
            let before = got.len();
            let n = c
                .poll_with(45, Duration::from_millis(20), |p, r| {
                    assert_eq!(p, 0);
                    got.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
                })
                .unwrap();
            assert!(n <= 45 && got.len() - before == n);
        }
        assert_eq!(c.positions(), [(0, got.len() as u64)]);
    }
    let want: Vec<String> = (0..350).map(|i| format!("r{i:03}")).collect();
    assert_eq!(got, want);
    assert_eq!(c.poll_with(45, Duration::from_millis(20), |_, _| panic!("nothing is left")).unwrap(), 0);
}
