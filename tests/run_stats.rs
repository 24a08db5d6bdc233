//! What `flowc run` shows while it runs: a live table of per-node rates on a terminal, `tracing`
//! lines at an interval otherwise, and the summary at the end either way.

mod run_common;

use run_common::Scratch;
use std::process::Stdio;

/// A generator held to 1,000 events/s for 3,000 events: the run lasts about three seconds, long
/// enough for several redraws (every 500 ms) and log intervals (every 200 ms).
const SLOW: &str = "\
source gen = generator { mode = sequence, count = 3000, rate = 1000 }
sink out = null {}
gen -> out
";

fn stderr_of(s: &Scratch, args: &[&str]) -> String {
    let out = s.command(args).stdin(Stdio::null()).output().expect("flowc runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stderr).expect("stderr is UTF-8")
}

#[test]
fn live_stats_redraw_a_table_of_every_node_in_place() {
    let s = Scratch::new();
    s.write("p.flow", SLOW);
    let stderr = stderr_of(&s, &["run", "p.flow", "--stats", "live"]);
    // The table: a header and one row per node, drawn more than once (moved up over and cleared).
    let header = stderr.lines().filter(|l| l.contains("in/s") && l.contains("out/s") && l.contains("lag")).count();
    assert!(header >= 2, "the table was drawn {header} time(s):\n{stderr}");
    assert!(stderr.contains("\x1b[4F\x1b[J"), "the table is redrawn in place:\n{stderr}");
    assert!(stderr.lines().any(|l| l.trim_start().starts_with("gen ") && l.contains("source generator")), "{stderr}");
    assert!(stderr.lines().any(|l| l.trim_start().starts_with("out ") && l.contains("sink null")), "{stderr}");
    // Then the summary, in the table's place.
    assert_eq!(run_common::node_counts(&stderr, "out"), (3000, 3000, 0), "{stderr}");
    assert!(stderr.ends_with("flowc run: every source ended and its events drained\n"), "{stderr}");
}

#[test]
fn off_a_terminal_the_counters_are_logged_at_the_interval() {
    let s = Scratch::new();
    s.write("p.flow", SLOW);
    let stderr = stderr_of(&s, &["run", "p.flow", "--stats-interval", "200ms"]);
    assert!(!stderr.contains('\x1b'), "no terminal escapes in a log:\n{stderr}");
    let logged: Vec<&str> = stderr.lines().filter(|l| l.contains("INFO out (sink null): in ")).collect();
    assert!(logged.len() >= 2, "logged {} time(s):\n{stderr}", logged.len());
    // Totals only grow, and each line carries a rate, bytes, errors and lag.
    let totals: Vec<u64> = logged
        .iter()
        .map(|l| l.split("in ").nth(1).and_then(|t| t.split(' ').next()).unwrap().parse().unwrap())
        .collect();
    assert!(totals.windows(2).all(|w| w[0] <= w[1]), "{totals:?}");
    assert!(logged.iter().all(|l| l.contains("/s)") && l.contains("errors 0") && l.contains("lag ")), "{stderr}");
    assert_eq!(run_common::node_counts(&stderr, "out"), (3000, 3000, 0), "{stderr}");
}

#[test]
fn stats_off_shows_only_the_summary() {
    let s = Scratch::new();
    s.write("p.flow", SLOW);
    let stderr = stderr_of(&s, &["run", "p.flow", "--stats", "off"]);
    assert!(!stderr.contains("INFO") && !stderr.contains("in/s"), "{stderr}");
    assert_eq!(run_common::node_counts(&stderr, "gen"), (0, 3000, 0), "{stderr}");
}

#[test]
fn on_a_terminal_auto_means_live() {
    // `script` gives flowc a pseudo-terminal, as a user's shell would.
    if std::process::Command::new("script").arg("--version").output().is_err() {
        panic!("this test needs `script` (util-linux) to give flowc a terminal");
    }
    let s = Scratch::new();
    s.write("p.flow", SLOW);
    let flowc = env!("CARGO_BIN_EXE_flowc");
    let out = std::process::Command::new("script")
        .args(["-qec", &format!("{flowc} run p.flow"), "/dev/null"])
        .current_dir(s.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("script runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("in/s") && text.contains("\x1b[J"), "no live table on a terminal:\n{text}");
}

#[test]
fn a_bad_interval_is_a_usage_error() {
    let s = Scratch::new();
    s.write("p.flow", SLOW);
    let out = s.command(&["run", "p.flow", "--stats-interval", "10 parsecs"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a unit"), "{}", String::from_utf8_lossy(&out.stderr));
}
