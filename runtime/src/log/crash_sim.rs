//! Deterministic crash simulation: seeded random workloads on the simulated disk, power losses, checks.
//!
//! Each seed picks a topic config (small segments, maybe size retention) and an fsync policy, then
//! runs epochs: produce random batches, roll, run retention, sync, commit the group's offset, move
//! the clock — until the simulated process dies at a random operation — then cuts the power,
//! reopens and checks: recovery succeeds; every batch reads back (CRC-checked by the reader);
//! offsets are contiguous and records in order, each once; every record known durable (acknowledged
//! under `fsync = always`, or followed by a successful `sync`, or present after a recovery) is
//! there with its value unless retention could have dropped it; the committed offset is the last
//! one committed (or the one in flight) and never past the log end. A third of the seeds also
//! inject EIO/ENOSPC into segment, index, recovery-point and offset-file writes and syncs, segment
//! creation and directory syncs: a failed call acknowledges nothing, and the harness reopens the
//! writer in the same process (no restart) and goes on, checking appends continue at the log end.
//! `FLOWC_SIM_SEEDS=N` runs more seeds, `FLOWC_SIM_FIRST=F` starts elsewhere, `FLOWC_SIM_SEED=S`
//! replays one.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::io::sim::{FaultOp, Rng, SimDisk};
use super::io::StorageRef;
use super::{segment, FsyncPolicy, Log, LogOptions, PartitionWriter, Record, TopicConfig};

/// What a run may break on purpose, to show the harness notices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Variant {
    /// The log as shipped.
    Sound,
    /// `fsync = always` appends acknowledged before their `fdatasync`.
    AckBeforeSync,
    /// Rolls create the next segment without a directory fsync.
    NoDirSyncOnRoll,
}

const DATA: &str = "/data";
const PDIR: &str = "/data/t/0";
const CRASHES_PER_SEED: usize = 3;

struct Model {
    policy: FsyncPolicy,
    /// offset -> sequence number of records known durable.
    durable: BTreeMap<u64, u64>,
    /// Records whose append returned (in the kernel; durable after a sync).
    written: BTreeMap<u64, u64>,
    /// The end of the log as the last writer left it (appends must continue there).
    next_offset: u64,
    next_seq: u64,
    /// The first segment's base when last looked at (retention may only have moved it up).
    start: u64,
    committed: Option<u64>,
    /// A commit that failed with the process: either value may be on disk.
    commit_in_flight: Option<u64>,
    /// Offsets below this are durable (an explicit sync, or acknowledged under `always`).
    durable_end: u64,
}

struct Run {
    rng: Rng,
    /// Injected I/O errors, from their own generator (`None`: this seed has none).
    faults: Option<Rng>,
    disk: Arc<SimDisk>,
    variant: Variant,
    config: TopicConfig,
    model: Model,
}

/// What one seed ran: power losses survived and injected I/O errors returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ran {
    pub(crate) crashes: usize,
    pub(crate) faults: u64,
}

/// Runs one seed; `Err` describes the first violated check.
pub(crate) fn run_seed(seed: u64, variant: Variant) -> Result<Ran, String> {
    let mut rng = Rng::new(seed);
    let policy = match rng.below(4) {
        0 | 1 => FsyncPolicy::Always,
        2 => FsyncPolicy::Interval(Duration::from_secs(1)),
        _ => FsyncPolicy::Never,
    };
    let config = TopicConfig {
        partitions: 1,
        segment_bytes: 1024 + rng.below(3072),
        segment_ms: 60_000,
        index_interval_bytes: 128 + rng.below(512) as u32,
        max_batch_bytes: 1024,
        retention_bytes: if rng.one_in(2) { Some(2048 + rng.below(8192)) } else { None },
        retention_ms: None,
        fsync: policy,
    };
    trace(|| format!("seed {seed}: {config:?}"));
    let disk = SimDisk::new();
    let model = Model {
        policy,
        durable: BTreeMap::new(),
        written: BTreeMap::new(),
        next_offset: 0,
        next_seq: 0,
        start: 0,
        committed: None,
        commit_in_flight: None,
        durable_end: 0,
    };
    let mut faults = Rng::new(seed ^ 0x5eed_fa17);
    let faults = if faults.one_in(3) { Some(faults) } else { None };
    let mut run = Run { rng, faults, disk, variant, config, model };
    let fs = run.disk.process();
    let log = Log::open_on(Arc::clone(&fs), Path::new(DATA), LogOptions { create: true }).map_err(|e| e.to_string())?;
    log.create_topic("t", &run.config).map_err(|e| format!("create topic: {e}"))?;
    for _ in 0..CRASHES_PER_SEED {
        let fs = run.disk.process();
        run.epoch(&fs)?;
        run.disk.clear_faults();
        trace(|| "power loss".to_string());
        run.disk.power_loss(&mut run.rng);
        run.check_after_crash()?;
    }
    Ok(Ran { crashes: CRASHES_PER_SEED, faults: run.disk.faults_hit() })
}

/// With `FLOWC_SIM_TRACE` set, prints what a replayed seed does.
fn trace(line: impl FnOnce() -> String) {
    if std::env::var_os("FLOWC_SIM_TRACE").is_some() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("sim: {}", line());
        }
    }
}

fn value(seq: u64, pad: usize) -> String {
    format!("{seq:010}:{}", "x".repeat(pad))
}

fn seq_of(value: &[u8]) -> Result<u64, String> {
    let s = std::str::from_utf8(value).map_err(|_| "a record value is not UTF-8".to_string())?;
    let (n, pad) = s.split_once(':').ok_or_else(|| format!("a record value is not ours: {s:?}"))?;
    if !pad.bytes().all(|b| b == b'x') {
        return Err(format!("a record value is damaged: {s:?}"));
    }
    n.parse().map_err(|_| format!("a record value is not ours: {s:?}"))
}

impl Run {
    fn open_writer(&self, log: &Log) -> Result<PartitionWriter, String> {
        let w = log.partition_writer("t", 0, None).map_err(|e| format!("recovery failed: {e}"))?;
        match self.variant {
            Variant::Sound => {}
            Variant::AckBeforeSync => w.ack_before_sync_for_test(),
            Variant::NoDirSyncOnRoll => w.skip_roll_dir_sync_for_test(),
        }
        Ok(w)
    }

    /// One process lifetime: random operations until the process dies (or its budget ends).
    fn epoch(&mut self, fs: &StorageRef) -> Result<(), String> {
        let log = Log::open_on(Arc::clone(fs), Path::new(DATA), LogOptions::default())
            .map_err(|e| format!("open data directory: {e}"))?;
        if self.rng.one_in(4) {
            // die during recovery itself (cutting a tail, rewriting indexes, the recovery point)
            self.disk.die_after(self.rng.below(12));
        }
        let mut w = match self.open_writer(&log) {
            Ok(w) => w,
            Err(_) if self.disk.is_dead() => {
                trace(|| "died during recovery".to_string());
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        self.model.next_offset = w.next_offset();
        let budget = 1 + self.rng.below(120);
        self.disk.die_after(budget);
        for _ in 0..400 {
            if self.disk.is_dead() {
                break;
            }
            self.inject_fault();
            if self.step(fs, &log, &w)? && !self.disk.is_dead() {
                // an I/O error: the writer may have stopped; reopen it in the same process
                trace(|| "reopen the writer".to_string());
                self.disk.clear_faults();
                drop(w);
                w = match self.open_writer(&log) {
                    Ok(w) => w,
                    Err(_) if self.disk.is_dead() => break,
                    Err(e) => return Err(format!("reopening after an I/O error: {e}")),
                };
                if w.next_offset() < self.model.next_offset {
                    return Err(format!(
                        "reopened at {} below the log end {}",
                        w.next_offset(),
                        self.model.next_offset
                    ));
                }
                self.model.next_offset = w.next_offset();
            }
        }
        // retention may have deleted a segment just before the process died
        let live = self.disk.live_list(Path::new(PDIR));
        let first = live.iter().filter_map(|n| n.strip_suffix(".log")?.parse::<u64>().ok()).min();
        self.model.start = self.model.start.max(first.unwrap_or(0));
        Ok(())
    }

    /// Now and then, makes one of the log's next writes, syncs or creates fail with EIO or ENOSPC.
    fn inject_fault(&mut self) {
        let Some(rng) = self.faults.as_mut() else { return };
        if !rng.one_in(12) {
            return;
        }
        let targets = [
            (FaultOp::Write, ".log"),
            (FaultOp::Sync, ".log"),
            (FaultOp::Create, ".log"),
            (FaultOp::Write, ".index"),
            (FaultOp::Sync, ".index"),
            (FaultOp::Sync, PDIR),
            (FaultOp::Remove, ".log"),
            (FaultOp::Write, "recovery-point"),
            (FaultOp::Sync, "recovery-point"),
            (FaultOp::Write, ".offset"),
            (FaultOp::Sync, ".offset"),
        ];
        let (op, path) = targets[rng.below(targets.len() as u64) as usize];
        let errno = if rng.one_in(2) { libc::EIO } else { libc::ENOSPC };
        let times = 1 + rng.below(2) as u32;
        trace(|| format!("inject {op:?} on {path}: errno {errno} x{times}"));
        self.disk.fail(op, path, errno, times);
    }

    /// One random operation; `Ok(true)` if the log reported an error while the process lived.
    fn step(&mut self, fs: &StorageRef, log: &Log, w: &PartitionWriter) -> Result<bool, String> {
        let m = &mut self.model;
        let mut failed = false;
        match self.rng.below(20) {
            0..=10 => {
                let n = 1 + self.rng.below(12) as usize;
                let pad = self.rng.below(200) as usize;
                let seqs: Vec<u64> = (m.next_seq..m.next_seq + n as u64).collect();
                m.next_seq += n as u64;
                let recs: Vec<Record> = seqs.iter().map(|&s| Record::from_value(value(s, pad))).collect();
                let r = w.append(&recs);
                trace(|| {
                    format!(
                        "append {n} at {}: {:?}",
                        m.next_offset,
                        r.as_ref().map(|i| i.next_offset).map_err(|e| e.to_string())
                    )
                });
                if r.is_err() {
                    // a failed call may have stored some of its records (unacknowledged)
                    failed = true;
                    m.next_offset = m.next_offset.max(w.next_offset());
                }
                if let Ok(info) = r {
                    if info.base_offset != m.next_offset {
                        return Err(format!(
                            "append landed at {} where the log ended at {}",
                            info.base_offset, m.next_offset
                        ));
                    }
                    m.next_offset = info.next_offset;
                    for (i, &s) in seqs.iter().enumerate() {
                        m.written.insert(info.base_offset + i as u64, s);
                        if m.policy == FsyncPolicy::Always {
                            m.durable.insert(info.base_offset + i as u64, s);
                        }
                    }
                    if m.policy == FsyncPolicy::Always {
                        m.durable_end = info.next_offset;
                    }
                }
            }
            11 => {
                let r = w.roll();
                trace(|| format!("roll: {:?}", r.as_ref().map_err(|e| e.to_string())));
                failed = r.is_err();
            }
            12 => {
                let r = w.enforce_retention(fs.wall_ms());
                trace(|| {
                    format!(
                        "retention: {:?}",
                        r.as_ref().map(|r| r.deleted_segments.clone()).map_err(|e| e.to_string())
                    )
                });
                failed = r.is_err();
            }
            13 => {
                if w.sync().is_ok() {
                    m.durable.extend(m.written.iter().map(|(&o, &s)| (o, s)));
                    m.durable_end = m.next_offset;
                } else {
                    failed = true;
                }
            }
            14 | 15 => {
                let low = m.committed.unwrap_or(0).min(m.durable_end);
                let offset = low + self.rng.below(m.durable_end - low + 1);
                m.commit_in_flight = Some(offset);
                let r = log.commit_group_offset("g", "t", 0, offset);
                trace(|| {
                    format!(
                        "commit {offset}: {:?} (dead: {})",
                        r.as_ref().map_err(|e| e.to_string()),
                        self.disk.is_dead()
                    )
                });
                match r {
                    Ok(true) => {
                        m.committed = Some(offset);
                        m.commit_in_flight = None;
                    }
                    // failed outright: a commit whose write or sync failed is never durable
                    _ if !self.disk.is_dead() => m.commit_in_flight = None,
                    _ => {}
                }
            }
            16 => {
                self.disk.advance(Duration::from_millis(self.rng.below(1500)));
                if matches!(m.policy, FsyncPolicy::Interval(_)) {
                    w.flush_tick_for_test();
                }
            }
            17 => failed = w.flush().is_err(),
            _ => {
                // a reader beside the live writer sees a prefix of what was written, in order
                if let Ok(bases) = segment::list(&**fs, Path::new(PDIR)) {
                    let at = bases.first().copied().unwrap_or(0);
                    let end = w.next_offset();
                    let from = at + self.rng.below(end.saturating_sub(at) + 1);
                    if let Err(e) = read_from(log, from, self.disk.is_dead()) {
                        return Err(format!("live read from {from}: {e}"));
                    }
                }
            }
        }
        if !self.disk.is_dead() {
            if let Ok(bases) = segment::list(&**fs, Path::new(PDIR)) {
                self.model.start = self.model.start.max(bases.first().copied().unwrap_or(0));
            }
        }
        Ok(failed)
    }

    fn check_after_crash(&mut self) -> Result<(), String> {
        let fs = self.disk.process();
        let log = Log::open_on(Arc::clone(&fs), Path::new(DATA), LogOptions::default())
            .map_err(|e| format!("after the crash: {e}"))?;
        let bases = segment::list(&*fs, Path::new(PDIR)).map_err(|e| e.to_string())?;
        let start = bases.first().copied().unwrap_or(0);
        if start > self.model.start {
            return Err(format!("the log starts at {start}, but retention had only reached {}", self.model.start));
        }
        let w = self.open_writer(&log)?;
        let end = w.next_offset();
        // opening runs retention: the log may start later now
        let bases = segment::list(&*fs, Path::new(PDIR)).map_err(|e| e.to_string())?;
        let start = bases.first().copied().unwrap_or(0);
        self.model.start = self.model.start.max(start);
        let present = read_from(&log, 0, false).map_err(|e| format!("read after recovery: {e}"))?;
        let m = &mut self.model;
        for (&o, &s) in m.durable.range(m.start..) {
            match present.get(&o) {
                Some(&got) if got == s => {}
                Some(&got) => return Err(format!("offset {o} holds record {got}, record {s} was acknowledged there")),
                None => {
                    return Err(format!(
                        "acknowledged record {s} at offset {o} is lost (the log holds {start}..{end}, policy {})",
                        m.policy
                    ))
                }
            }
        }
        if end < m.durable_end.max(start) {
            return Err(format!("the log ends at {end}, but offsets below {} were durable", m.durable_end));
        }
        let committed = log.group_offset("g", "t", 0).map_err(|e| format!("read committed offset: {e}"))?;
        if committed != m.committed && (committed.is_none() || committed != m.commit_in_flight) {
            return Err(format!("committed offset is {committed:?}, {:?} was committed", m.committed));
        }
        if let Some(c) = committed {
            if c > end {
                return Err(format!("committed offset {c} is past the log end {end}"));
            }
        }
        // a seek anywhere in the log reads on to the end
        let from = start + self.rng.below(end - start + 1);
        let tail = read_from(&log, from, false).map_err(|e| format!("read from {from} after recovery: {e}"))?;
        if tail.keys().next().is_some_and(|&o| o != from) || tail.len() as u64 != end - from {
            return Err(format!("reading from {from} returned {} records up to {end}", tail.len()));
        }
        let info = super::partition::partition_info_on(&*fs, Path::new(PDIR), 0).map_err(|e| e.to_string())?;
        if info.end_offset != end {
            return Err(format!("describe says the log ends at {}, the writer at {end}", info.end_offset));
        }
        // what survived recovery is durable now
        m.committed = committed;
        m.commit_in_flight = None;
        m.durable = present.clone();
        m.written = present;
        m.next_offset = end;
        m.durable_end = end;
        m.start = start;
        drop(w);
        Ok(())
    }
}

/// Reads `t/0` from `from` to its end: offsets contiguous, records in order once, values intact.
fn read_from(log: &Log, from: u64, dead: bool) -> Result<BTreeMap<u64, u64>, String> {
    let mut out = BTreeMap::new();
    let mut r = match log.reader("t", 0, from) {
        Ok(r) => r,
        Err(_) if dead => return Ok(out),
        Err(e) => return Err(e.to_string()),
    };
    let mut expect = r.position();
    let mut last_seq = None;
    loop {
        let batches = match r.read(1 << 16) {
            Ok(b) => b,
            Err(_) if dead => return Ok(out),
            Err(e) => return Err(e.to_string()),
        };
        if batches.is_empty() {
            return Ok(out);
        }
        for b in &batches {
            for rec in b.records() {
                let rec = rec.map_err(|e| format!("undecodable record: {e}"))?;
                if rec.offset < expect {
                    continue;
                }
                if rec.offset != expect {
                    return Err(format!("offset {} follows {}", rec.offset, expect.wrapping_sub(1)));
                }
                let seq = seq_of(rec.value.unwrap_or_default())?;
                if last_seq.is_some_and(|l| seq <= l) {
                    return Err(format!("record {seq} at offset {} follows record {last_seq:?}", rec.offset));
                }
                last_seq = Some(seq);
                out.insert(rec.offset, seq);
                expect += 1;
            }
        }
    }
}

/// Runs `seeds` on two threads; returns what ran and the failures as "seed S: why".
pub(crate) fn run_many(seeds: Vec<u64>, variant: Variant, stop_at_first: bool) -> (Ran, Vec<String>) {
    let seeds = Arc::new(seeds);
    let found = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let (seeds, found) = (Arc::clone(&seeds), Arc::clone(&found));
            std::thread::spawn(move || {
                let mut ran = Ran::default();
                let mut failures = Vec::new();
                for &seed in seeds.iter().skip(t).step_by(2) {
                    if stop_at_first && found.load(Ordering::Relaxed) {
                        break;
                    }
                    let r = std::panic::catch_unwind(|| run_seed(seed, variant));
                    match r {
                        Ok(Ok(r)) => {
                            ran.crashes += r.crashes;
                            ran.faults += r.faults;
                        }
                        Ok(Err(why)) => failures.push(format!("seed {seed}: {why}")),
                        Err(p) => {
                            let msg = p
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                            failures.push(format!("seed {seed}: panic: {}", msg.unwrap_or_default()));
                        }
                    }
                    if !failures.is_empty() {
                        found.store(true, Ordering::Relaxed);
                    }
                }
                (ran, failures)
            })
        })
        .collect();
    let mut ran = Ran::default();
    let mut failures = Vec::new();
    for t in threads {
        let (r, f) = t.join().expect("a sim thread");
        ran.crashes += r.crashes;
        ran.faults += r.faults;
        failures.extend(f);
    }
    (ran, failures)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

/// The seeds to run: `FLOWC_SIM_SEED` alone, or `FLOWC_SIM_SEEDS` (default `default`) from `FLOWC_SIM_FIRST`.
fn seeds(default: u64) -> Vec<u64> {
    if let Some(s) = env_u64("FLOWC_SIM_SEED") {
        return vec![s];
    }
    let first = env_u64("FLOWC_SIM_FIRST").unwrap_or(0);
    (first..first + env_u64("FLOWC_SIM_SEEDS").unwrap_or(default)).collect()
}

/// Seeds run by `cargo test` (debug build, two threads).
const CI_SEEDS: u64 = 5000;

#[test]
#[allow(clippy::print_stderr)] // the figures the long-run script reports
fn no_acknowledged_record_is_lost_across_simulated_power_losses() {
    let seeds = seeds(CI_SEEDS);
    let n = seeds.len();
    let t = Instant::now();
    let (ran, failures) = run_many(seeds, Variant::Sound, false);
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "crash sim: {n} seeds, {} crash cases, {} injected I/O errors, {secs:.1} s, {:.0} cases/s, {} failing seeds",
        ran.crashes,
        ran.faults,
        ran.crashes as f64 / secs,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failing seed(s) (replay one with FLOWC_SIM_SEED=S):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
#[allow(clippy::print_stderr)] // which seed caught it, for the docs
fn acknowledging_before_fsync_is_caught() {
    let (_, failures) = run_many(seeds(CI_SEEDS), Variant::AckBeforeSync, true);
    eprintln!("ack before fsync caught: {failures:?}");
    assert!(
        failures.iter().any(|f| f.contains("lost") || f.contains("durable")),
        "the broken variant went unnoticed: {failures:?}"
    );
}

#[test]
#[allow(clippy::print_stderr)] // which seed caught it, for the docs
fn skipping_the_directory_fsync_after_a_roll_is_caught() {
    let (_, failures) = run_many(seeds(CI_SEEDS), Variant::NoDirSyncOnRoll, true);
    eprintln!("no dir fsync on roll caught: {failures:?}");
    assert!(!failures.is_empty(), "the broken variant went unnoticed");
}
