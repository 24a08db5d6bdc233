//! A slow sink keeps memory flat. A generator that could emit a gigabyte (a million 1 KiB events)
//! feeds a `logger` sink whose standard output is a pipe this test does not read at first: the pipe
//! fills, the sink's write blocks, the channel fills and the generator waits. Once the process has
//! gone idle (its CPU time stops growing) its peak RSS (`VmHWM`) must be far below what holding the
//! input would need; then the test reads the pipe slowly for a while (every event that comes out is
//! a whole, in-order stress line), samples the RSS again, stops the run with SIGTERM and checks that
//! it drains and exits cleanly. Once through a memory channel (which also reports, past its
//! `keep_alive`, that its sources are waiting), once through a file channel.
//! No timing is asserted: the waits are for conditions, with a generous hang guard.

mod run_common;

use run_common::*;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Peak RSS a bounded pipeline must stay under. Buffering the input would need about 1 GiB;
/// a queue that grew with it would pass this within the first few percent of the input.
const BOUND_KIB: u64 = 200 * 1024;
/// What the test reads from the sink's pipe in its slow phase, and in what steps.
const SLOW_READ_BYTES: usize = 8 << 20;
const SLOW_STEP: usize = 16 << 10;

/// `VmHWM` and `VmRSS` of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process is alive");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// User plus system CPU time of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process is alive");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut text);
    }
    text
}

/// Waits until the process has used (almost) no CPU for a second: everything is blocked on the
/// full pipe. Returns how many samples that took.
fn wait_until_idle(child: &mut Child) -> usize {
    let pid = child.id();
    let started = Instant::now();
    let mut history = vec![cpu_ticks(pid)];
    loop {
        std::thread::sleep(Duration::from_millis(250));
        if let Ok(Some(status)) = child.try_wait() {
            panic!("flowc exited while its sink was blocked ({status:?}): {}", stderr_of(child));
        }
        history.push(cpu_ticks(pid));
        let n = history.len();
        // Over the last second (four samples) at most two ticks (20 ms) of CPU.
        if n > 4 && history[n - 1] - history[n - 5] <= 2 {
            return n;
        }
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("flowc never went idle behind a blocked sink; stderr:\n{}", stderr_of(child));
        }
    }
}

/// Runs the pipeline through `channel`; returns flowc's stderr.
fn slow_sink_keeps_memory_flat(channel: &str) -> String {
    let s = Scratch::new();
    s.write(
        "slow.flow",
        &format!(
            r#"
source g = generator {{ mode = stress, size = 1KiB, count = 1_000_000, batch_size = 500 }}
channel c = {channel}
sink k = logger {{}}
g -> c -> k
"#
        ),
    );
    let mut child = s
        .command(&["run", "slow.flow"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowc starts");
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();

    // Phase 1: nobody reads. Everything fills up and then waits.
    let samples = wait_until_idle(&mut child);
    let (blocked_hwm, blocked_rss) = memory_kib(pid);
    println!("{channel}: idle after {samples} samples: VmHWM {blocked_hwm} KiB, VmRSS {blocked_rss} KiB");
    assert!(blocked_hwm < BOUND_KIB, "{channel}: peak RSS {blocked_hwm} KiB behind a blocked sink");

    // Phase 2: a slow reader. Events flow, a little at a time; memory must stay where it was.
    let line: String = "0123456789abcdefghijklmnopqrstuvwxyz".chars().cycle().take(1024).collect();
    let mut buf = vec![0u8; SLOW_STEP];
    let mut pending = Vec::new();
    let (mut read, mut lines, mut peak) = (0usize, 0usize, blocked_hwm);
    while read < SLOW_READ_BYTES {
        let n = stdout.read(&mut buf).expect("read the sink's output");
        assert!(n > 0, "{channel}: output ended early: {}", stderr_of(&mut child));
        read += n;
        pending.extend_from_slice(&buf[..n]);
        let whole = pending.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for l in pending[..whole].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            assert_eq!(l, line.as_bytes(), "{channel}: line {lines} is not a whole stress line");
            lines += 1;
        }
        pending.drain(..whole);
        peak = peak.max(memory_kib(pid).0);
        std::thread::sleep(Duration::from_millis(2));
    }
    println!("{channel}: read {read} bytes ({lines} lines) slowly: VmHWM {peak} KiB");
    assert!(peak < BOUND_KIB, "{channel}: peak RSS {peak} KiB while a slow sink drained");

    // Stop: the generator ends, the channel drains into the pipe (read to its end), flowc exits 0.
    assert!(Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).expect("read the rest");
    let status = child.wait().unwrap();
    let stderr = stderr_of(&mut child);
    assert!(status.success(), "{channel}: exit {status:?}; stderr:\n{stderr}");
    pending.extend_from_slice(&rest);
    assert!(pending.is_empty() || pending.ends_with(b"\n"), "{channel}: the output ends with a whole line");
    let total = lines + pending.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
    let (_, out, errors) = node_counts(&stderr, "k");
    assert_eq!((out, errors), (total as u64, 0), "{channel}: the sink's count is what came out\n{stderr}");
    assert!(total < 1_000_000, "{channel}: SIGTERM stopped the generator before its count");
    stderr
}

#[test]
fn a_slow_sink_keeps_memory_flat_through_a_memory_channel() {
    let stderr = slow_sink_keeps_memory_flat("memory { capacity = 10_000, byte_capacity = 16MiB, keep_alive = 200ms }");
    // The generator waited far longer than `keep_alive` while nobody read: the channel said so.
    assert!(stderr.contains("WARN channel c is full"), "{stderr}");
    assert!(stderr.contains("keep waiting (nothing is dropped)"), "{stderr}");
}

#[test]
fn a_slow_sink_keeps_memory_flat_through_a_file_channel() {
    slow_sink_keeps_memory_flat(r#"file { dir = "chan", capacity = 20_000, segment_size = 4MiB }"#);
}
