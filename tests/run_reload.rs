//! Hot reload of a running `flowc run`, through the real binary: on SIGHUP (or with `--watch` when
//! the file changes) a change of a sink's options swaps that sink between two batches while the tail
//! source keeps its position: every line in the output exactly once, and the new roll size applies
//! to the files written after it; a transform whose text changed is swapped the same way, and a route
//! takes its new conditions between two batches. A file with errors, or a change a live reload does
//! not make, leaves the running pipeline as it was and says why.

mod run_common;

use run_common::{lines_under, tree, Scratch, Watched, PATIENCE};
use std::io::Write;
use std::time::{Duration, Instant};

const FLOW: &str = r#"
source t = tail { path = "in.log", start_at = beginning }
channel c = memory {}
sink k = files { path = "out/", prefix = "part-", roll = { count = 1_000 } }
t -> c -> k
"#;

fn start(s: &Scratch, extra: &[&str]) -> Watched {
    Watched::spawn(s.command(&[&["run", "p.flow", "--stats", "off"], extra].concat()))
}

fn line(i: usize) -> String {
    format!("line {i:07}")
}

fn append(s: &Scratch, lines: std::ops::Range<usize>) {
    let text: String = lines.map(|i| line(i) + "\n").collect();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(s.path().join("in.log")).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn wait_for_output(s: &Scratch, n: usize, run: &Watched) {
    let start = Instant::now();
    while lines_under(&s.path().join("out")).len() < n {
        assert!(start.elapsed() < PATIENCE, "the output never held {n} lines; stderr:\n{}", run.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Lines per output file, by the file's number (`part-7.log` → 7).
fn files_by_number(s: &Scratch) -> Vec<(u64, usize)> {
    let out = s.path().join("out");
    let mut files: Vec<(u64, usize)> = tree(&out)
        .into_iter()
        .filter_map(|name| {
            let n = name.strip_prefix("part-")?.strip_suffix(".log")?.parse().ok()?;
            Some((n, std::fs::read_to_string(out.join(&name)).unwrap().lines().count()))
        })
        .collect();
    files.sort();
    files
}

fn exactly_once(s: &Scratch, total: usize, stderr: &str) {
    let out = lines_under(&s.path().join("out"));
    assert_eq!(out.len(), total, "{stderr}");
    for i in 0..total {
        assert_eq!(out.get(&line(i)), Some(&1), "line {i} once; stderr:\n{stderr}");
    }
}

/// Runs `flow` over 2,000 lines, writes `changed` and sends SIGHUP, waits until the log holds
/// `sign`, then appends 1,000 more lines and returns the run's stderr once all 3,000 are out.
fn reload_between_lines(s: &Scratch, flow: &str, changed: &str, sign: &str) -> String {
    s.write("p.flow", flow);
    append(s, 0..2_000);
    let mut run = start(s, &[]);
    wait_for_output(s, 2_000, &run);
    s.write("p.flow", changed);
    run.signal("HUP");
    run.wait_for(sign, |e| e.contains(sign));
    append(s, 2_000..3_000);
    wait_for_output(s, 3_000, &run);
    run.terminate()
}

#[test]
fn a_reload_that_changes_only_the_sinks_roll_keeps_every_line_exactly_once() {
    let s = Scratch::new();
    s.write("p.flow", FLOW);
    append(&s, 0..3_000);
    let mut run = start(&s, &[]);
    wait_for_output(&s, 3_000, &run);
    // Lines keep coming while the reload happens.
    let writer = {
        let dir = s.path().to_path_buf();
        std::thread::spawn(move || {
            for chunk in 0..20 {
                let from = 3_000 + chunk * 200;
                let text: String = (from..from + 200).map(|i| line(i) + "\n").collect();
                let mut f = std::fs::OpenOptions::new().append(true).open(dir.join("in.log")).unwrap();
                f.write_all(text.as_bytes()).unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    s.write("p.flow", &FLOW.replace("count = 1_000", "count = 250"));
    run.signal("HUP");
    run.wait_for("k: reloaded with its new options", |e| e.contains("k: reloaded with its new options"));
    writer.join().unwrap();
    append(&s, 7_000..8_000);
    wait_for_output(&s, 8_000, &run);
    let stderr = run.terminate();
    assert!(stderr.contains("reload on SIGHUP: swapping k"), "{stderr}");
    exactly_once(&s, 8_000, &stderr);
    // The files before the reload rolled at 1,000 lines, the ones after it at 250.
    let files = files_by_number(&s);
    assert_eq!(&files[..3], &[(0, 1_000), (1, 1_000), (2, 1_000)], "{files:?}");
    let after: Vec<usize> = files.iter().skip_while(|(_, lines)| *lines > 250).map(|(_, n)| *n).collect();
    assert!(after.len() >= 4, "the 1,000 lines appended after the reload are in files of 250: {files:?}");
    assert!(after.iter().all(|&n| n <= 250), "every file after the reload rolls at 250 lines: {files:?}");
}

#[test]
fn a_reload_with_a_type_error_keeps_the_old_pipeline_and_prints_the_diagnostics() {
    let s = Scratch::new();
    s.write("p.flow", FLOW);
    append(&s, 0..1_500);
    let mut run = start(&s, &[]);
    wait_for_output(&s, 1_500, &run);
    s.write("p.flow", &FLOW.replace("roll = { count = 1_000 }", "roll = { count = \"many\" }"));
    run.signal("HUP");
    run.wait_for("the running pipeline is unchanged", |e| e.contains("the running pipeline is unchanged"));
    let stderr = run.stderr();
    assert!(stderr.contains("p.flow has 1 error"), "{stderr}");
    assert!(stderr.contains("× ") && stderr.contains("\"many\""), "the diagnostic is printed: {stderr}");
    // The old pipeline goes on as it was: more lines arrive, still rolled at 1,000.
    append(&s, 1_500..2_500);
    wait_for_output(&s, 2_500, &run);
    let stderr = run.terminate();
    exactly_once(&s, 2_500, &stderr);
    assert_eq!(files_by_number(&s), [(0, 1_000), (1, 1_000), (2, 500)]);
}

#[test]
fn a_reload_that_changes_a_channel_is_refused_and_says_what_changed() {
    let s = Scratch::new();
    s.write("p.flow", FLOW);
    append(&s, 0..100);
    let mut run = start(&s, &[]);
    wait_for_output(&s, 100, &run);
    s.write("p.flow", &FLOW.replace("channel c = memory {}", "channel c = memory { capacity = 500 }"));
    run.signal("HUP");
    run.wait_for("the refusal", |e| e.contains("refused"));
    assert!(run.stderr().contains("channel `c` changed"), "{}", run.stderr());
    append(&s, 100..200);
    wait_for_output(&s, 200, &run);
    let stderr = run.terminate();
    exactly_once(&s, 200, &stderr);
}

#[test]
fn a_reload_that_changes_the_tail_source_restarts_it_from_its_saved_position() {
    let s = Scratch::new();
    let changed = FLOW.replace("start_at = beginning", "start_at = beginning, batch_size = 7");
    let stderr = reload_between_lines(&s, FLOW, &changed, "t: restarted with its new options");
    assert!(stderr.contains("reload on SIGHUP: swapping t"), "{stderr}");
    exactly_once(&s, 3_000, &stderr);
}

#[test]
fn with_watch_a_saved_change_reloads_without_a_signal() {
    let s = Scratch::new();
    s.write("p.flow", FLOW);
    append(&s, 0..1_000);
    let mut run = start(&s, &["--watch"]);
    wait_for_output(&s, 1_000, &run);
    s.write("p.flow", &FLOW.replace("count = 1_000", "count = 100"));
    run.wait_for("k: reloaded with its new options", |e| e.contains("k: reloaded with its new options"));
    append(&s, 1_000..1_500);
    wait_for_output(&s, 1_500, &run);
    let stderr = run.terminate();
    assert!(stderr.contains("reload on a change of the file: swapping k"), "{stderr}");
    exactly_once(&s, 1_500, &stderr);
    let files = files_by_number(&s);
    assert_eq!(files[0], (0, 1_000), "{files:?}");
    assert!(files[1..].iter().all(|&(_, n)| n <= 100) && files.len() >= 6, "{files:?}");
}

#[test]
fn a_reload_that_changes_a_transform_applies_it_to_the_lines_after_it() {
    let flow = r#"
source t = tail { path = "in.log", start_at = beginning }
channel c = memory {}
sink k = files { path = "out/", prefix = "part-", format = json }
t | set tag = "before" -> c -> k
"#;
    let s = Scratch::new();
    let stderr = reload_between_lines(&s, flow, &flow.replace("\"before\"", "\"after\""), ": reloaded");
    assert!(stderr.contains("reload on SIGHUP: swapping t|set#1"), "{stderr}");
    let rows: Vec<serde_json::Value> = lines_under(&s.path().join("out"))
        .into_iter()
        .flat_map(|(l, n)| std::iter::repeat_n(serde_json::from_str(&l).unwrap(), n))
        .collect();
    assert_eq!(rows.len(), 3_000, "each line once: {stderr}");
    for row in &rows {
        let i: usize = row["line"].as_str().unwrap()[5..].parse().unwrap();
        let want = if i < 2_000 { "before" } else { "after" };
        assert_eq!(row["tag"], want, "line {i}");
    }
}

#[test]
fn a_reload_that_changes_a_routes_condition_routes_the_lines_after_it_by_the_new_one() {
    let flow = r#"
source t = tail { path = "in.log", start_at = beginning }
channel c = memory {}
sink odd = files { path = "out/odd/", prefix = "part-" }
sink rest = files { path = "out/rest/", prefix = "part-" }
t -> c -> route {
  ends_with(line, "1") => odd
  else => rest
}
"#;
    let s = Scratch::new();
    let changed = flow.replace("ends_with(line, \"1\")", "ends_with(line, \"2\")");
    let stderr = reload_between_lines(&s, flow, &changed, ": reloaded");
    assert!(stderr.contains("reload on SIGHUP: swapping") && stderr.contains("route"), "{stderr}");
    exactly_once(&s, 3_000, &stderr);
    let odd = lines_under(&s.path().join("out/odd"));
    for i in 0..3_000 {
        let want = if i < 2_000 { i % 10 == 1 } else { i % 10 == 2 };
        assert_eq!(
            odd.contains_key(&line(i)),
            want,
            "line {i} by the {} condition",
            if i < 2_000 { "old" } else { "new" }
        );
    }
}
