//! `PartitionWriter::delete_before`: whole sealed segments below an offset go, the active one stays,
//! readers and consumers carry on from the new log start, and a crash part-way through a deletion
//! (a missing prefix, stray index files, a stale recovery point) reopens to the same log end.

use std::fs;
use std::path::Path;
use std::time::Duration;

use flowc_runtime::log::{
    partition_info, ConsumerOptions, FsyncPolicy, Log, LogOptions, OffsetReset, PartitionReader, PartitionWriter,
    Record, TopicConfig,
};

fn cfg() -> TopicConfig {
    TopicConfig { segment_bytes: 4096, index_interval_bytes: 512, ..TopicConfig::default() }
}

/// Appends records `from..from + n` as batches of ten.
fn append(w: &PartitionWriter, from: usize, n: usize) {
    for chunk in (from..from + n).step_by(10) {
        let batch: Vec<Record> =
            (chunk..(chunk + 10).min(from + n)).map(|i| Record::from_value(format!("record-{i:06}"))).collect();
        w.append(&batch).unwrap();
    }
}

fn segment_bases(dir: &Path) -> Vec<u64> {
    let mut bases: Vec<u64> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.strip_suffix(".log")?.parse().ok())
        .collect();
    bases.sort_unstable();
    bases
}

/// Every record from `offset` to the end, as (offset, value).
fn read_from(dir: &Path, offset: u64) -> Vec<(u64, String)> {
    let mut r = PartitionReader::open(dir, "t/0", offset).unwrap();
    let mut got = Vec::new();
    loop {
        let batches = r.read(1 << 20).unwrap();
        if batches.is_empty() {
            return got;
        }
        for b in &batches {
            for rec in b.records() {
                let rec = rec.unwrap();
                if rec.offset >= offset {
                    got.push((rec.offset, String::from_utf8(rec.value.unwrap().to_vec()).unwrap()));
                }
            }
        }
    }
}

fn want(from: usize, to: usize) -> Vec<(u64, String)> {
    (from..to).map(|i| (i as u64, format!("record-{i:06}"))).collect()
}

#[test]
fn only_whole_sealed_segments_below_the_offset_go_and_the_active_one_stays() {
    let dir = tempfile::tempdir().unwrap();
    let w = PartitionWriter::open(dir.path(), "t/0", &cfg(), None).unwrap();
    append(&w, 0, 1_000);
    let before = segment_bases(dir.path());
    assert!(before.len() > 4, "rolled by size: {before:?}");

    // An offset inside the third segment: the first two go, the third (which holds it) stays.
    let cut = before[2] + 1;
    let report = w.delete_before(cut).unwrap();
    assert_eq!(report.deleted_segments, before[..2].to_vec());
    assert!(report.bytes > 0);
    assert_eq!(segment_bases(dir.path()), before[2..].to_vec());
    assert_eq!(read_from(dir.path(), cut), want(cut as usize, 1_000), "from the offset on, nothing is missing");
    // A reader asking for deleted offsets starts at the new log start.
    assert_eq!(read_from(dir.path(), 0), want(before[2] as usize, 1_000));
    // Their index files went with them.
    let leftovers: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{:020}", before[0])) || n.starts_with(&format!("{:020}", before[1])))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Exactly at a segment's base: that segment holds offsets >= it, so it stays.
    assert!(w.delete_before(before[3]).unwrap().deleted_segments == vec![before[2]]);
    // Past the end: every sealed segment goes, never the active one.
    w.delete_before(u64::MAX).unwrap();
    let active = *before.last().unwrap();
    assert_eq!(segment_bases(dir.path()), vec![active]);
    assert_eq!(w.delete_before(u64::MAX).unwrap().deleted_segments, Vec::<u64>::new(), "nothing more to do");

    // Appends continue at the right offsets, and a reopened writer agrees.
    append(&w, 1_000, 50);
    drop(w);
    let w = PartitionWriter::open(dir.path(), "t/0", &cfg(), None).unwrap();
    assert_eq!(w.next_offset(), 1_050);
    assert_eq!(read_from(dir.path(), 0), want(active as usize, 1_050));
    let info = partition_info(dir.path(), 0).unwrap();
    assert_eq!((info.start_offset, info.end_offset), (active, 1_050));
}

#[test]
fn a_crash_part_way_through_a_deletion_reopens_to_the_same_log_end() {
    let template = tempfile::tempdir().unwrap();
    let w = PartitionWriter::open(template.path(), "t/0", &cfg(), Some(FsyncPolicy::Never)).unwrap();
    append(&w, 0, 800);
    let bases = segment_bases(template.path());
    w.close().unwrap();

    // What a crash can leave: the first k `.log` files removed (in order), their index files not yet.
    for k in 1..bases.len() - 1 {
        let dir = tempfile::tempdir().unwrap();
        for entry in fs::read_dir(template.path()).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name() != "writer.lock" {
                fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
            }
        }
        for &b in &bases[..k] {
            fs::remove_file(dir.path().join(format!("{b:020}.log"))).unwrap();
        }
        let w = PartitionWriter::open(dir.path(), "t/0", &cfg(), None)
            .unwrap_or_else(|e| panic!("{k} segment(s) deleted: {e}"));
        assert_eq!(w.next_offset(), 800, "{k} segment(s) deleted");
        assert!(w.recovery().truncated.is_none() && w.recovery().segments_removed == 0, "{:?}", w.recovery());
        let strays: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| bases[..k].iter().any(|b| n.starts_with(&format!("{b:020}"))))
            .collect();
        assert!(strays.is_empty(), "stray index files are swept: {strays:?}");
        // Finishing the deletion after the restart works as if nothing had happened.
        w.delete_before(bases[k + 1]).unwrap();
        append(&w, 800, 10);
        drop(w);
        assert_eq!(read_from(dir.path(), 0), want(bases[k + 1] as usize, 810), "{k} segment(s) deleted");
    }
}

#[test]
fn a_stale_recovery_point_below_the_log_start_rescans_what_is_left() {
    // With interval syncing the recovery point can lag far behind: it may name an offset whose
    // segment is already deleted. Recovery must scan what is left, cutting only a torn tail.
    let dir = tempfile::tempdir().unwrap();
    let w = PartitionWriter::open(dir.path(), "t/0", &cfg(), Some(FsyncPolicy::Never)).unwrap();
    append(&w, 0, 20);
    w.close().unwrap();
    let stale = fs::read(dir.path().join("recovery-point")).unwrap();
    let w = PartitionWriter::open(dir.path(), "t/0", &cfg(), Some(FsyncPolicy::Never)).unwrap();
    append(&w, 20, 600);
    let bases = segment_bases(dir.path());
    w.delete_before(bases[3]).unwrap();
    let last = *bases.last().unwrap();
    drop(w);
    fs::write(dir.path().join("recovery-point"), &stale).unwrap();
    // A torn tail: half a batch of garbage after the last good one.
    let active = dir.path().join(format!("{last:020}.log"));
    let mut bytes = fs::read(&active).unwrap();
    bytes.extend_from_slice(&[0xab; 40]);
    fs::write(&active, bytes).unwrap();

    let w = PartitionWriter::open(dir.path(), "t/0", &cfg(), None).unwrap();
    assert_eq!(w.next_offset(), 620);
    assert!(w.recovery().truncated.is_some(), "the garbage was cut: {:?}", w.recovery());
    drop(w);
    assert_eq!(read_from(dir.path(), 0), want(bases[3] as usize, 620));
}

#[test]
fn a_consumer_group_resumes_at_its_offset_after_the_prefix_it_read_was_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), LogOptions { create: true }).unwrap();
    log.create_topic("t", &TopicConfig { partitions: 1, ..cfg() }).unwrap();
    let w = log.partition_writer("t", 0, None).unwrap();
    append(&w, 0, 700);
    let opts =
        || ConsumerOptions { group: Some("g".into()), reset: OffsetReset::Earliest, ..ConsumerOptions::default() };
    let mut c = log.consumer("t", opts()).unwrap();
    let mut read = 0;
    while read < 450 {
        read += c.poll(450 - read, Duration::from_millis(50)).unwrap().len();
    }
    c.commit().unwrap();
    let committed = c.positions()[0].1;
    assert_eq!(committed, 450);
    drop(c);
    let report = w.delete_before(committed).unwrap();
    assert!(!report.deleted_segments.is_empty());

    let mut c = log.consumer("t", opts()).unwrap();
    let mut got = Vec::new();
    while got.len() < 250 {
        for r in c.poll(1_000, Duration::from_millis(50)).unwrap() {
            got.push((r.offset, String::from_utf8(r.value.unwrap()).unwrap()));
        }
    }
    assert_eq!(got, want(450, 700), "resumed exactly at the committed offset");
}
