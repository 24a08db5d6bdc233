//! The durable `file` channel, run for real: a counted generator through it into files delivers every
//! event once and ends; and a spooldir → file channel (`fsync = always`) → files pipeline killed
//! with SIGKILL several times while files arrive loses nothing: after the last restart every input
//! line is in the sink's files at least once (duplicates are counted and printed, none may be lost),
//! with small segments so that committed ones are deleted between and during the kills. A long run
//! keeps the channel's directory bounded: committed segments are deleted as it goes.

mod run_common;

use run_common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

#[test]
fn a_generator_through_a_file_channel_delivers_every_event_once_and_ends() {
    let s = Scratch::new();
    s.write(
        "gen.flow",
        r#"
source g = generator { count = 5_000, batch_size = 100 }
channel c = file { fsync = always }
sink k = files { path = "out/", prefix = "events-", roll = { count = 1_000 } }
g -> c -> k
"#,
    );
    let out = s.run("gen.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(node_counts(&stderr, "c"), (5_000, 5_000, 0), "{stderr}");
    assert_eq!(node_counts(&stderr, "k"), (5_000, 5_000, 0), "{stderr}");
    let got = lines_under(&s.path().join("out"));
    let want: BTreeMap<String, usize> = (0..5_000).map(|i| (i.to_string(), 1)).collect();
    assert_eq!(got, want, "every event once");
    // The channel's log lives under the data directory, named after the channel.
    assert!(s.path().join(".flow/channels/c/events/0").is_dir(), "{:?}", tree(s.path()));

    // Everything was committed: a second run with an empty input delivers nothing again.
    s.write(
        "stdin.flow",
        "source i = stdin {}\nchannel c = file { dir = \".flow/channels/c\" }\nsink k = null {}\ni -> c -> k\n",
    );
    let again = s.run("stdin.flow", "");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert_eq!(node_counts(&stderr, "k"), (0, 0, 0), "{stderr}");
}

#[test]
fn typed_records_keep_their_fields_through_the_log() {
    let s = Scratch::new();
    s.write(
        "typed.flow",
        r#"
type Hit = { host: string, status: int, ok: bool, ts: timestamp, note: string? }
source i = stdin {}
channel c = file { dir = "chan" }
sink k = logger { format = json }
i | parse json as Hit -> c -> k
"#,
    );
    let input = concat!(
        r#"{"host":"a","status":200,"ok":true,"ts":"2026-11-25T11:00:00.000Z","note":"x"}"#,
        "\n",
        r#"{"host":"b","status":503,"ok":false,"ts":"2026-11-25T11:00:01.500Z"}"#,
        "\n"
    );
    let out = s.run("typed.flow", input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert_eq!(rows[0]["host"], "a");
    assert_eq!(rows[0]["status"], 200);
    assert_eq!(rows[0]["ok"], true);
    assert_eq!(rows[0]["note"], "x");
    assert_eq!(rows[1]["status"], 503);
    assert_eq!(rows[1]["note"], serde_json::Value::Null);
    assert_eq!(rows[0]["ts"], "2026-11-25T11:00:00.000Z");
    assert!(s.path().join("chan/events/0").is_dir());
}

/// Bytes of the segment files (`.log`) under `dir`, and how many there are (0 when it is gone).
fn segments_under(dir: &Path) -> (u64, usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return (0, 0) };
    let sizes: Vec<u64> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .collect();
    (sizes.iter().sum(), sizes.len())
}

#[test]
fn a_long_run_keeps_the_channel_directory_bounded() {
    // 300,000 events (about 7 MB of log records) through a channel holding at most 5,000 uncommitted
    // events in 64 KiB segments: committed segments are deleted while the run goes on, so the
    // directory never holds more than a few segments.
    const EVENTS: usize = 300_000;
    let s = Scratch::new();
    s.write(
        "long.flow",
        r#"
source g = generator { count = 300_000, batch_size = 1_000 }
channel c = file { dir = "chan", capacity = 5_000, segment_size = 64KiB }
sink k = files { path = "out/", prefix = "events-", roll = { count = 100_000 } }
g -> c -> k
"#,
    );
    let segments = s.path().join("chan/events/0");
    let mut child = s
        .command(&["run", "long.flow"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowc starts");
    let (mut peak_bytes, mut peak_files, mut samples) = (0, 0, 0);
    let started = Instant::now();
    let status = loop {
        let (bytes, files) = segments_under(&segments);
        (peak_bytes, peak_files) = (peak_bytes.max(bytes), peak_files.max(files));
        samples += 1;
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("the run did not end; stderr:\n{}", stderr_of(&mut child));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let stderr = stderr_of(&mut child);
    assert!(status.success(), "{stderr}");
    assert_eq!(node_counts(&stderr, "k"), (EVENTS as u64, EVENTS as u64, 0), "{stderr}");
    let got = lines_under(&s.path().join("out"));
    assert_eq!(got.len(), EVENTS, "every event delivered");
    assert!(got.values().all(|&n| n == 1), "no event twice in one run");
    println!("{samples} samples: at most {peak_files} segment(s), {peak_bytes} bytes");
    // Kept whole, the log would reach about 7 MB; 5,000 uncommitted events and a couple of segments are
    // well under 1 MiB.
    assert!(peak_bytes < 1 << 20, "the channel directory grew to {peak_bytes} bytes ({peak_files} segments)");
    // Everything was committed by the end: only the segment being written is left.
    assert_eq!(segments_under(&segments).1, 1, "{:?}", tree(&segments));
}

const FILES: usize = 24;
const LINES_PER_FILE: usize = 400;
const KILLS: usize = 4;

fn start(s: &Scratch) -> Child {
    s.command(&["run", "agent.flow"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowc starts")
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut text);
    }
    text
}

/// Waits (with a hang guard) until the sink's files hold more than `than` lines in all.
fn wait_for_more(s: &Scratch, than: usize, child: &mut Child) -> usize {
    let started = Instant::now();
    loop {
        let n: usize = lines_under(&s.path().join("out")).values().sum();
        if n > than {
            return n;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("flowc exited early ({status:?}): {}", stderr_of(child));
        }
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("no progress past {than} lines; stderr:\n{}", stderr_of(child));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn sigkill_while_spooling_loses_nothing_with_a_file_channel() {
    let s = Scratch::new();
    s.write(
        "agent.flow",
        r#"
source r = spooldir { dir = "spool", settle = 0s, poll_interval = 20ms }
channel c = file { fsync = always, capacity = 2_000, segment_size = 16KiB }
sink k = files { path = "out/", prefix = "part-", roll = { count = 500 } }
r -> c -> k
"#,
    );
    std::fs::create_dir_all(s.path().join("spool")).unwrap();
    let mut expected = Vec::new();
    let mut next_file = 0;
    // Drops `n` more files into the spool directory, each written under a hidden name first.
    let mut drop_files = |n: usize, expected: &mut Vec<String>| {
        for _ in 0..n {
            if next_file == FILES {
                return;
            }
            let lines: Vec<String> = (0..LINES_PER_FILE).map(|i| format!("file {next_file} line {i}")).collect();
            let hidden = s.path().join(format!("spool/.f{next_file}.partial"));
            std::fs::write(&hidden, lines.join("\n") + "\n").unwrap();
            std::fs::rename(&hidden, s.path().join(format!("spool/f{next_file:02}.log"))).unwrap();
            expected.extend(lines);
            next_file += 1;
        }
    };

    let mut seen = 0;
    for kill in 0..KILLS {
        let mut child = start(&s);
        drop_files(FILES / (KILLS + 1), &mut expected);
        // Kill it mid-stream: once the sink has written something new, while more is on its way.
        seen = wait_for_more(&s, seen + kill * 300, &mut child);
        child.kill().expect("SIGKILL");
        let status = child.wait().unwrap();
        assert!(!status.success(), "kill {kill}: flowc was still running when killed");
    }

    // The last run: the rest of the files, then wait until every line is there, then SIGTERM.
    let mut child = start(&s);
    drop_files(FILES, &mut expected);
    assert_eq!(expected.len(), FILES * LINES_PER_FILE);
    let started = Instant::now();
    loop {
        let got = lines_under(&s.path().join("out"));
        if expected.iter().all(|l| got.contains_key(l)) {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("flowc exited early ({status:?}): {}", stderr_of(&mut child));
        }
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            let missing = expected.iter().filter(|l| !got.contains_key(*l)).count();
            panic!("{missing} lines never arrived; stderr:\n{}", stderr_of(&mut child));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    let stderr = stderr_of(&mut child);
    assert!(status.success(), "exit {status:?}; stderr:\n{stderr}");

    let got = lines_under(&s.path().join("out"));
    let lost: Vec<&String> = expected.iter().filter(|l| !got.contains_key(*l)).collect();
    // A SIGKILL between two writes of the files sink can leave a torn last line in the file it had
    // open; its whole line is delivered again by the next run. Anything else would be corruption.
    let wanted: std::collections::BTreeSet<&String> = expected.iter().collect();
    let torn: Vec<&String> = got.keys().filter(|l| !wanted.contains(l)).collect();
    let unexpected: Vec<&&String> =
        torn.iter().filter(|l| !expected.iter().any(|e| e.starts_with(l.as_str()))).collect();
    let duplicates: Vec<(&String, &usize)> = got.iter().filter(|(_, n)| **n > 1).collect();
    let extra: usize = duplicates.iter().map(|(_, n)| **n - 1).sum();
    println!(
        "{} lines, {KILLS} SIGKILLs: {} delivered more than once ({extra} extra copies)",
        expected.len(),
        duplicates.len()
    );
    for (line, n) in duplicates.iter().take(50) {
        println!("  duplicate x{n}: {line}");
    }
    assert!(lost.is_empty(), "{} lines lost, e.g. {:?}", lost.len(), &lost[..lost.len().min(10)]);
    assert!(unexpected.is_empty(), "lines nobody wrote: {unexpected:?}");
    assert!(torn.len() <= KILLS, "more torn lines than kills: {torn:?}");
    if !torn.is_empty() {
        println!("torn by a SIGKILL (and written whole again): {torn:?}");
    }
    let spool = tree(&s.path().join("spool"));
    assert_eq!(spool.len(), FILES);
    assert!(spool.iter().all(|f| f.ends_with(".COMPLETED")), "every spooled file completed: {spool:?}");
}
