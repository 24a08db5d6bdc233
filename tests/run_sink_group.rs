//! Sink groups, as Flume's sink processors: `failover` sends everything to the first healthy member
//! and falls back while it fails, returning to it after its cool-down; `load_balance` spreads batches
//! over its members and skips a failing one. A member "fails" because a regular file stands where its
//! directory should be; removing the file makes it writable again. Nothing is lost or doubled.

mod run_common;

use run_common::*;
use std::io::Write;
use std::process::{Child, Stdio};

fn lines_under(s: &Scratch, dir: &str) -> Vec<String> {
    let root = s.path().join(dir);
    if !root.is_dir() {
        return Vec::new();
    }
    tree(&root)
        .iter()
        .flat_map(|f| std::fs::read_to_string(root.join(f)).unwrap().lines().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn start(s: &Scratch, file: &str) -> Child {
    s.command(&["run", file]).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !ok() {
        assert!(started.elapsed() < PATIENCE, "gave up waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn finish(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

fn assert_each_once(mut got: Vec<String>, n: usize, stderr: &str) {
    got.sort_by_key(|l| l.parse::<usize>().unwrap());
    let want: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    assert_eq!(got, want, "every line exactly once\n{stderr}");
}

#[test]
fn failover_uses_the_backup_while_the_primary_fails_and_returns_to_it() {
    let s = Scratch::new();
    s.write(
        "failover.flow",
        r#"
source input = stdin {}
sink primary = files { path = "out/primary/" }
sink backup = files { path = "out/backup/" }
sink both = failover { sinks = [primary, backup], max_penalty = 1s }
input -> both
"#,
    );
    s.write("out/primary", "in the way\n");
    let mut child = start(&s, "failover.flow");
    let mut stdin = child.stdin.take().unwrap();
    for i in 0..50 {
        writeln!(stdin, "{i}").unwrap();
    }
    stdin.flush().unwrap();
    wait_for("the backup to get the first 50 lines", || lines_under(&s, "out/backup").len() == 50);
    assert!(lines_under(&s, "out/primary").is_empty());

    // The primary becomes writable: after its cool-down the group goes back to it.
    std::fs::remove_file(s.path().join("out/primary")).unwrap();
    let mut n = 50;
    wait_for("the primary to be used again", || {
        writeln!(stdin, "{n}").unwrap();
        stdin.flush().unwrap();
        n += 1;
        std::thread::sleep(std::time::Duration::from_millis(50));
        !lines_under(&s, "out/primary").is_empty()
    });
    let before = lines_under(&s, "out/backup").len();
    for _ in 0..20 {
        writeln!(stdin, "{n}").unwrap();
        n += 1;
    }
    drop(stdin);
    let stderr = finish(child);
    assert_eq!(lines_under(&s, "out/backup").len(), before, "a healthy primary takes everything\n{stderr}");
    let all: Vec<String> = lines_under(&s, "out/primary").into_iter().chain(lines_under(&s, "out/backup")).collect();
    assert_each_once(all, n, &stderr);
    assert!(stderr.contains("both: member primary failed"), "{stderr}");
    let (p_in, p_out, p_err) = node_counts(&stderr, "primary");
    assert!(p_err > 0 && p_in == p_out + p_err, "{stderr}");
    assert_eq!(node_counts(&stderr, "both"), (n as u64, n as u64, 0));
}

#[test]
fn load_balance_spreads_batches_and_skips_a_failing_member() {
    let s = Scratch::new();
    s.write(
        "lb.flow",
        r#"
source input = stdin {}
sink k1 = files { path = "out/k1/" }
sink k2 = files { path = "out/k2/" }
sink k3 = files { path = "out/k3/" }
sink spread = load_balance { sinks = [k1, k2, k3], max_backoff = 1s }
input -> spread
"#,
    );
    s.write("out/k2", "in the way\n");
    let mut child = start(&s, "lb.flow");
    let mut stdin = child.stdin.take().unwrap();
    // One line at a time, each its own batch: round robin over the members that work.
    let mut n = 0;
    let mut send = |stdin: &mut std::process::ChildStdin, total: &dyn Fn() -> usize| {
        writeln!(stdin, "{n}").unwrap();
        stdin.flush().unwrap();
        n += 1;
        let want = n;
        wait_for("the line to be written", || total() == want);
    };
    let total = || ["out/k1", "out/k2", "out/k3"].iter().map(|d| lines_under(&s, d).len()).sum::<usize>();
    for _ in 0..30 {
        send(&mut stdin, &total);
    }
    assert!(lines_under(&s, "out/k2").is_empty());
    let (k1, k3) = (lines_under(&s, "out/k1").len(), lines_under(&s, "out/k3").len());
    assert!(k1 >= 5 && k3 >= 5, "the working members share the load: {k1} {k3}");

    std::fs::remove_file(s.path().join("out/k2")).unwrap();
    wait_for("k2 to be used again", || {
        send(&mut stdin, &total);
        !lines_under(&s, "out/k2").is_empty()
    });
    drop(stdin);
    let stderr = finish(child);
    let all: Vec<String> = ["out/k1", "out/k2", "out/k3"].iter().flat_map(|d| lines_under(&s, d)).collect::<Vec<_>>();
    let count = all.len();
    assert_each_once(all, count, &stderr);
    assert!(stderr.contains("spread: member k2 failed"), "{stderr}");
}

#[test]
fn random_load_balance_writes_each_batch_to_one_member() {
    let s = Scratch::new();
    s.write(
        "lb.flow",
        r#"
source input = generator { count = 600, batch_size = 5 }
sink k1 = files { path = "out/k1/" }
sink k2 = files { path = "out/k2/" }
sink k3 = files { path = "out/k3/" }
sink spread = load_balance { sinks = [k1, k2, k3], selector = random }
input -> spread
"#,
    );
    let out = s.run("lb.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let per: Vec<Vec<String>> = ["out/k1", "out/k2", "out/k3"].iter().map(|d| lines_under(&s, d)).collect();
    assert!(per.iter().all(|p| !p.is_empty()), "120 batches at random reach every member");
    assert!(per.iter().all(|p| p.len() % 5 == 0), "whole batches: {:?}", per.iter().map(Vec::len).collect::<Vec<_>>());
    assert_each_once(per.concat(), 600, &stderr);
}

#[test]
fn a_group_whose_members_all_fail_stops_the_run_and_its_source_does_not_advance() {
    let s = Scratch::new();
    s.write(
        "dead.flow",
        r#"
source spool = spooldir { dir = "in", settle = 0s }
sink a = files { path = "out/a/" }
sink b = files { path = "out/b/" }
sink both = failover { sinks = [a, b], max_penalty = 100ms, max_retries = 2 }
spool -> both
"#,
    );
    s.write("in/x.log", "1\n2\n");
    s.write("out/a", "in the way\n");
    s.write("out/b", "in the way\n");
    let out = s.run("dead.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("both: every member failed"), "{stderr}");
    assert!(s.path().join("in/x.log").exists(), "the file is not completed: read again next run");
}

#[test]
fn a_topic_sink_as_a_group_member_is_refused_naming_the_group() {
    let s = Scratch::new();
    s.write(
        "g.flow",
        r#"
topic t {}
source input = stdin {}
sink to_topic = topic { topic = t }
sink disk = files { path = "out/" }
sink both = failover { sinks = [to_topic, disk] }
input -> both
"#,
    );
    let out = s.run("g.flow", "x\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("both: `to_topic` as a member of a sink group"), "{stderr}");
}
