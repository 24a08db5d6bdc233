//! EIO and ENOSPC injected into the log's writes, fsyncs, creates and renames on the simulated disk.
//!
//! What must hold: the caller sees the error and nothing failed is acknowledged; once the error
//! clears, appends go on where the log ended (no hole, no restart) — after a failed `fdatasync` by
//! reopening the partition, which must not trust the page cache — and a power loss afterwards keeps
//! everything acknowledged. The same for the group offset commit path and topic creation.

use std::path::Path;
use std::sync::Arc;

use super::io::sim::{FaultOp, Rng, SimDisk};
use super::{Error, FsyncPolicy, Log, LogOptions, PartitionWriter, Record, TopicConfig};

const DATA: &str = "/data";

fn config() -> TopicConfig {
    TopicConfig { segment_bytes: 4096, fsync: FsyncPolicy::Always, ..TopicConfig::default() }
}

fn setup() -> (Arc<SimDisk>, Log, PartitionWriter) {
    let disk = SimDisk::new();
    let log = Log::open_on(disk.process(), Path::new(DATA), LogOptions { create: true }).unwrap();
    log.create_topic("t", &config()).unwrap();
    let w = log.partition_writer("t", 0, None).unwrap();
    (disk, log, w)
}

fn recs(from: u64, n: u64) -> Vec<Record> {
    (from..from + n).map(|i| Record::from_value(format!("record-{i:06}"))).collect()
}

/// Every record of `t/0` from the start, as values; panics on a read error.
fn values(log: &Log) -> Vec<String> {
    let mut r = log.reader("t", 0, 0).unwrap();
    let mut out = Vec::new();
    loop {
        let batches = r.read(1 << 20).unwrap();
        if batches.is_empty() {
            return out;
        }
        for b in &batches {
            for rec in b.records() {
                out.push(String::from_utf8(rec.unwrap().value.unwrap().to_vec()).unwrap());
            }
        }
    }
}

fn expected(n: u64) -> Vec<String> {
    (0..n).map(|i| format!("record-{i:06}")).collect()
}

/// Cuts the power and reopens the data directory on the new "boot".
fn reboot(disk: &Arc<SimDisk>, seed: u64) -> Log {
    disk.power_loss(&mut Rng::new(seed));
    Log::open_on(disk.process(), Path::new(DATA), LogOptions::default()).unwrap()
}

#[test]
fn enospc_and_eio_on_a_segment_write_are_reported_and_appends_continue_without_a_hole() {
    for (errno, times) in [(libc::ENOSPC, 1), (libc::EIO, 1), (libc::ENOSPC, u32::MAX)] {
        let (disk, log, w) = setup();
        w.append(&recs(0, 10)).unwrap();
        disk.fail(FaultOp::Write, ".log", errno, times);
        for _ in 0..3 {
            let err = w.append(&recs(10, 5)).unwrap_err();
            assert!(matches!(&err, Error::Io { source, .. } if source.raw_os_error() == Some(errno)), "{err}");
            assert_eq!(w.next_offset(), 10, "a failed append takes no offsets");
            if times == 1 {
                break;
            }
        }
        assert_eq!(values(&log), expected(10), "no partial batch is served");
        disk.clear_faults();
        assert_eq!(w.append(&recs(10, 5)).unwrap().base_offset, 10);
        assert_eq!(values(&log), expected(15));
        drop(w);
        for seed in 0..8 {
            let log = reboot(&disk, seed);
            let w = log.partition_writer("t", 0, None).unwrap();
            assert_eq!(values(&log), expected(15), "seed {seed}");
            drop(w);
        }
    }
}

#[test]
fn a_failed_fdatasync_is_never_acknowledged_and_a_reopen_continues_durably() {
    for seed in 0..16 {
        let (disk, log, w) = setup();
        w.append(&recs(0, 10)).unwrap();
        disk.fail(FaultOp::Sync, ".log", libc::EIO, 1);
        let err = w.append(&recs(10, 5)).unwrap_err();
        assert!(err.to_string().contains("fdatasync"), "{err}");
        // the writer stops for good: its pages may be gone from the disk yet read back from memory
        assert!(matches!(w.append(&recs(10, 5)), Err(Error::Poisoned(_))));
        drop(w);
        disk.clear_faults();
        // reopened in the same process: the unacknowledged batch is still in the page cache
        let w = log.partition_writer("t", 0, None).unwrap();
        let end = w.next_offset();
        assert!(end == 10 || end == 15, "{end}");
        let next = w.append(&recs(end, 5)).unwrap();
        assert_eq!(next.base_offset, end);
        drop(w);
        let log = reboot(&disk, seed);
        let w = log.partition_writer("t", 0, None).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(w.next_offset(), end + 5, "seed {seed}: everything acknowledged survives");
        assert_eq!(values(&log), expected(end + 5), "seed {seed}");
    }
}

#[test]
fn failures_while_rolling_are_reported_and_the_log_stays_contiguous() {
    for (op, path) in [(FaultOp::Create, ".log"), (FaultOp::Write, ".index"), (FaultOp::Sync, "/data/t/0")] {
        let (disk, log, w) = setup();
        let mut next = 0;
        while w.next_offset() < 60 {
            next = w.append(&recs(next, 10)).unwrap().next_offset;
        }
        disk.fail(op, path, libc::ENOSPC, 1);
        let _ = w.roll().map(|_| panic!("{op:?} on {path}: the roll succeeded"));
        disk.clear_faults();
        let w = match w.append(&recs(next, 10)) {
            Ok(_) => w,
            Err(Error::Poisoned(_)) => {
                drop(w);
                let w = log.partition_writer("t", 0, None).unwrap();
                w.append(&recs(next, 10)).unwrap();
                w
            }
            Err(e) => panic!("{op:?} on {path}: {e}"),
        };
        w.roll().unwrap();
        w.append(&recs(next + 10, 10)).unwrap();
        assert_eq!(values(&log), expected(next + 20), "{op:?} on {path}");
        drop(w);
        let log = reboot(&disk, 5);
        let _w = log.partition_writer("t", 0, None).unwrap();
        assert_eq!(values(&log), expected(next + 20), "{op:?} on {path} after a power loss");
    }
}

#[test]
fn group_offset_commits_report_enospc_and_eio_and_keep_the_last_good_offset() {
    for (op, errno) in [(FaultOp::Write, libc::ENOSPC), (FaultOp::Write, libc::EIO), (FaultOp::Sync, libc::EIO)] {
        let (disk, log, w) = setup();
        w.append(&recs(0, 30)).unwrap();
        assert!(log.commit_group_offset("g", "t", 0, 10).unwrap());
        disk.fail(op, ".offset", errno, 1);
        let err = log.commit_group_offset("g", "t", 0, 20).unwrap_err();
        assert!(matches!(&err, Error::Io { source, .. } if source.raw_os_error() == Some(errno)), "{err}");
        disk.clear_faults();
        assert!(log.commit_group_offset("g", "t", 0, 25).unwrap());
        assert_eq!(log.group_offset("g", "t", 0).unwrap(), Some(25));
        drop(w);
        for seed in 0..8 {
            let log = reboot(&disk, seed);
            assert_eq!(log.group_offset("g", "t", 0).unwrap(), Some(25), "{op:?} {errno}, seed {seed}");
        }
    }
}

#[test]
fn a_failed_rename_leaves_no_topic_and_creation_succeeds_once_it_clears() {
    for op in [FaultOp::Rename, FaultOp::Create, FaultOp::Sync] {
        let disk = SimDisk::new();
        let log = Log::open_on(disk.process(), Path::new(DATA), LogOptions { create: true }).unwrap();
        disk.fail(op, "", libc::ENOSPC, 1);
        assert!(log.create_topic("t", &config()).is_err(), "{op:?}");
        assert!(log.topics().unwrap().is_empty(), "{op:?}: no half-made topic");
        disk.clear_faults();
        log.create_topic("t", &config()).unwrap();
        let w = log.partition_writer("t", 0, None).unwrap();
        w.append(&recs(0, 3)).unwrap();
        drop(w);
        let log = reboot(&disk, 1);
        assert_eq!(log.topics().unwrap(), vec!["t".to_string()], "{op:?}");
        let _w = log.partition_writer("t", 0, None).unwrap();
        assert_eq!(values(&log), expected(3));
    }
}

#[test]
fn a_failing_retention_never_fails_an_append_and_catches_up_once_the_error_clears() {
    let disk = SimDisk::new();
    let log = Log::open_on(disk.process(), Path::new(DATA), LogOptions { create: true }).unwrap();
    let c = TopicConfig { segment_bytes: 1024, retention_bytes: Some(2048), ..config() };
    log.create_topic("t", &c).unwrap();
    let w = log.partition_writer("t", 0, None).unwrap();
    disk.fail(FaultOp::Remove, ".log", libc::EIO, u32::MAX);
    let mut next = 0;
    for _ in 0..40 {
        next = w.append(&recs(next, 3)).unwrap().next_offset;
    }
    assert_eq!(log.describe_topic("t").unwrap().partitions[0].start_offset, 0, "nothing deleted yet");
    disk.clear_faults();
    w.roll().unwrap();
    let info = &log.describe_topic("t").unwrap().partitions[0];
    assert!(info.start_offset > 0 && info.size_bytes < 2048 + 2 * 1024, "{info:?}");
    assert_eq!(info.end_offset, next);
}

/// Seed 100616: after a commit whose fdatasync failed, the page cache showed its slot as the
/// newest, so the next commit went to the other slot — the last durable one — and a failed write
/// there, then a power loss, took the group back to an older offset.
#[test]
fn failed_commits_never_overwrite_the_last_durable_offset() {
    for seed in 0..32 {
        let (disk, log, w) = setup();
        w.append(&recs(0, 200)).unwrap();
        assert!(log.commit_group_offset("g", "t", 0, 61).unwrap());
        assert!(log.commit_group_offset("g", "t", 0, 70).unwrap());
        disk.fail(FaultOp::Sync, ".offset", libc::ENOSPC, 1);
        assert!(log.commit_group_offset("g", "t", 0, 84).is_err());
        disk.fail(FaultOp::Write, ".offset", libc::EIO, 3);
        assert!(log.commit_group_offset("g", "t", 0, 131).is_err());
        assert!(log.commit_group_offset("g", "t", 0, 124).is_err());
        drop(w);
        let log = reboot(&disk, seed);
        assert_eq!(log.group_offset("g", "t", 0).unwrap(), Some(70), "seed {seed}");
    }
}

/// Seed 111203: after the flusher's fdatasync failed (the writer stopped), an explicit roll still
/// synced the now clean segment and started the next one; a power loss then left a gap where the
/// lost tail had been. A stopped writer now refuses to roll.
#[test]
fn a_stopped_writer_refuses_to_roll() {
    for seed in 0..16 {
        let (disk, log, w) = setup();
        drop(w);
        let w = log.partition_writer("t", 0, Some(FsyncPolicy::Never)).unwrap();
        w.append(&recs(0, 10)).unwrap();
        w.sync().unwrap();
        w.append(&recs(10, 10)).unwrap();
        disk.fail(FaultOp::Sync, ".log", libc::EIO, 1);
        assert!(w.sync().is_err());
        assert!(matches!(w.roll(), Err(Error::Poisoned(_))), "seed {seed}");
        drop(w);
        let log = reboot(&disk, seed);
        let w = log.partition_writer("t", 0, None).unwrap();
        let end = w.next_offset();
        assert!(end == 10 || end == 20, "seed {seed}: {end}");
        w.append(&recs(end, 5)).unwrap();
        assert_eq!(values(&log), expected(end + 5), "seed {seed}");
    }
}
