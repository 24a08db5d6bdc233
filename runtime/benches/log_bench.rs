//! Append and read throughput of the embedded log: 100-byte records in batches of 1,000, one and four
//! partitions, each fsync policy, beside the disk's own sequential bandwidth (`dd conv=fdatasync`)
//! measured in the same run. Run with `cargo bench -p flowc-runtime --bench log_bench` (release).
//!
//! Environment: `FLOWC_BENCH_DIR` (scratch directory, default the system temp dir),
//! `FLOWC_BENCH_RECORDS` (records per append run, default 5,000,000), `FLOWC_BENCH_OUT` (also write the
//! markdown table there).

// A benchmark reports its numbers on standard output and its progress on standard error.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use flowc_runtime::log::{FsyncPolicy, Log, LogOptions, Record, TopicConfig};

const BATCH: usize = 1000;
const VALUE_LEN: usize = 100;

struct Row {
    what: String,
    records: u64,
    secs: f64,
    bytes: u64,
}

fn main() {
    let base = std::env::var_os("FLOWC_BENCH_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let root = base.join(format!("flowc-log-bench-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("scratch directory");
    let n: u64 = std::env::var("FLOWC_BENCH_RECORDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5_000_000);
    let n = n - n % BATCH as u64;

    let dd_before = measure_dd(&root);
    eprintln!("dd conv=fdatasync: {:.0} MB/s", dd_before / 1e6);
    let pool = record_pool(100_000);

    let mut appends = Vec::new();
    let mut reads = Vec::new();
    let policies = [
        ("never", FsyncPolicy::Never),
        ("interval(1s)", FsyncPolicy::Interval(Duration::from_secs(1))),
        ("always", FsyncPolicy::Always),
    ];
    for partitions in [1u32, 4] {
        for (name, policy) in policies {
            let n = if policy == FsyncPolicy::Always { n / 5 } else { n };
            let dir = root.join(format!("p{partitions}-{}", name.replace(['(', ')'], "")));
            let (a, r) = run(&dir, partitions, policy, n, &pool);
            appends.push(Row { what: format!("append, {partitions} partition(s), fsync {name}"), ..a });
            reads.push(Row { what: format!("read, {partitions} partition(s), page cache (after fsync {name})"), ..r });
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    // group commit: four threads appending to one partition with fsync always share fdatasyncs
    let dir = root.join("group-commit");
    appends.push(group_commit(&dir, n / 5, &pool));
    let _ = std::fs::remove_dir_all(&dir);
    let dd_after = measure_dd(&root);
    let _ = std::fs::remove_dir_all(&root);
    let dd = (dd_before + dd_after) / 2.0;

    let mut md = String::new();
    md.push_str(&format!(
        "Disk sequential write (`dd bs=1M count=1024 conv=fdatasync`, same run): {:.0} MB/s before, \
         {:.0} MB/s after, **{:.0} MB/s** mean (the \"vs disk\" column).\n\n",
        dd_before / 1e6,
        dd_after / 1e6,
        dd / 1e6
    ));
    md.push_str(
        "| run | records | seconds | records/s | MB/s (log bytes) | vs disk |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for r in appends.iter().chain(reads.iter()) {
        let mbs = r.bytes as f64 / r.secs / 1e6;
        md.push_str(&format!(
            "| {} | {} | {:.2} | {:.0} | {:.0} | {:.0}% |\n",
            r.what,
            r.records,
            r.secs,
            r.records as f64 / r.secs,
            mbs,
            100.0 * mbs * 1e6 / dd
        ));
    }
    print!("{md}");
    if let Some(out) = std::env::var_os("FLOWC_BENCH_OUT") {
        std::fs::write(out, md).expect("write FLOWC_BENCH_OUT");
    }
}

/// Appends `n` records (batches of 1,000) through a producer, syncs, then reads them all back.
fn run(dir: &Path, partitions: u32, policy: FsyncPolicy, n: u64, pool: &[Record]) -> (Row, Row) {
    let log = Log::open(dir, LogOptions { create: true }).expect("open log");
    let config = TopicConfig { partitions, retention_ms: None, fsync: policy, ..TopicConfig::default() };
    log.create_topic("bench", &config).expect("create topic");
    let mut producer = log.producer("bench", None).expect("producer");
    let start = Instant::now();
    for i in 0..(n as usize / BATCH) {
        let at = (i * BATCH) % pool.len();
        producer.send(&pool[at..at + BATCH]).expect("append");
    }
    producer.sync().expect("sync");
    let secs = start.elapsed().as_secs_f64();
    producer.close().expect("close");
    let bytes: u64 = log.describe_topic("bench").expect("describe").partitions.iter().map(|p| p.size_bytes).sum();
    let append = Row { what: String::new(), records: n, secs, bytes };

    let start = Instant::now();
    let mut records = 0u64;
    let mut payload = 0u64;
    for p in 0..partitions {
        let mut reader = log.reader("bench", p, 0).expect("reader");
        loop {
            let batches = reader.read(1 << 20).expect("read");
            if batches.is_empty() {
                break;
            }
            for b in &batches {
                for r in b.records() {
                    let r = r.expect("record");
                    records += 1;
                    payload += r.value.map_or(0, |v| v.len() as u64);
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(records, n, "every record read back");
    assert_eq!(payload, n * VALUE_LEN as u64);
    (append, Row { what: String::new(), records, secs, bytes })
}

fn group_commit(dir: &Path, n: u64, pool: &[Record]) -> Row {
    let log = Log::open(dir, LogOptions { create: true }).expect("open log");
    let config = TopicConfig { retention_ms: None, fsync: FsyncPolicy::Always, ..TopicConfig::default() };
    log.create_topic("bench", &config).expect("create topic");
    let writer = log.partition_writer("bench", 0, None).expect("writer");
    let threads = 4;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let w = writer.clone();
            s.spawn(move || {
                for i in (t..(n as usize / BATCH)).step_by(threads) {
                    let at = (i * BATCH) % pool.len();
                    w.append(&pool[at..at + BATCH]).expect("append");
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    writer.close().expect("close");
    let bytes = log.describe_topic("bench").expect("describe").partitions[0].size_bytes;
    Row { what: "append, 1 partition, fsync always, 4 threads (group commit)".into(), records: n, secs, bytes }
}

/// `rec=NNNNNNNNN ` plus random alphanumerics: 100 bytes, like the W3 workload (`bench/gen_workload.py --kafka-lines`).
fn record_pool(n: usize) -> Vec<Record> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut state: u64 = 20_261_125;
    (0..n)
        .map(|i| {
            let mut v = format!("rec={i:09} ").into_bytes();
            while v.len() < VALUE_LEN {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                v.push(ALPHABET[(state >> 33) as usize % ALPHABET.len()]);
            }
            Record::from_value(v)
        })
        .collect()
}

/// The disk's sequential write bandwidth in bytes/s, by `dd ... conv=fdatasync` on the same filesystem.
fn measure_dd(dir: &Path) -> f64 {
    let file = dir.join("dd.bin");
    let out = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", file.display()))
        .args(["bs=1M", "count=1024", "conv=fdatasync"])
        .output()
        .expect("run dd");
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&out.stderr);
    // "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 2.37 s, 453 MB/s"
    let line = text.lines().find(|l| l.contains("copied")).unwrap_or_else(|| panic!("unexpected dd output: {text}"));
    let bytes: f64 = line.split_whitespace().next().and_then(|b| b.parse().ok()).expect("dd byte count");
    let secs: f64 = line
        .split(", ")
        .find(|p| p.ends_with(" s"))
        .and_then(|p| p.trim_end_matches(" s").trim().parse().ok())
        .expect("dd seconds");
    bytes / secs
}
