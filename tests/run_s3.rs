//! `flowc run` against a real S3-compatible server (moto, started per test on 127.0.0.1): the
//! `files` sink writing objects into time buckets, read back with boto3; a run killed with SIGKILL
//! mid-upload; the `object` source picking up new objects once; and the bad-input cases (an
//! unreachable endpoint, a missing bucket, wrong credentials) — each a clear error naming the node.

mod run_common;
mod s3_common;

use run_common::*;
use s3_common::S3Server;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};

/// The connection options every test writes (credentials moto accepts; never the machine's own).
fn connection(server: &S3Server) -> String {
    format!(
        "endpoint = \"{}\", allow_http = true, region = \"us-east-1\", access_key_id = \"testing\", secret_access_key = \"testing\"",
        server.endpoint()
    )
}

/// `flowc run FILE` with extra environment variables, in the background.
fn start_env(s: &Scratch, file: &str, env: &[(&str, &str)]) -> Running {
    let mut cmd = s.command(&["run", file]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Running { child, lines: rx }
}

/// Reads the run's standard error until a line contains `text` (the reader then keeps draining it);
/// the line, or `None` if the run ended first.
fn wait_stderr(run: &mut Running, text: &str) -> Option<String> {
    use std::io::BufRead;
    let stderr = run.child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let text = text.to_string();
    std::thread::spawn(move || {
        let mut found = false;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !found && line.contains(&text) {
                found = true;
                let _ = tx.send(line);
            }
        }
    });
    rx.recv_timeout(PATIENCE).ok()
}

fn put(server: &S3Server, bucket: &str, key: &str, body: &str) {
    server.python(&format!("s3.put_object(Bucket={bucket:?}, Key={key:?}, Body={body:?}.encode())"));
}

#[test]
fn object_source_reads_each_new_object_once_and_remembers_it() {
    let server = S3Server::start();
    server.create_bucket("inbox");
    put(&server, "inbox", "logs/a.log", "a1\na2\n");
    put(&server, "inbox", "logs/b.log", "b1\nb2\nb3");
    put(&server, "inbox", "other/c.log", "not under the prefix\n");
    put(&server, "inbox", "logs/skip.tmp", "excluded by include\n");
    let s = Scratch::new();
    s.write(
        "agent.flow",
        &format!(
            "source r = object {{ url = \"s3://inbox/logs/\", poll_interval = 200ms, include = \"\\\\.log(\\\\.gz)?$\", {} }}\nsink k = logger {{}}\nr -> k\n",
            connection(&server)
        ),
    );
    let mut run = start_env(&s, "agent.flow", &[]);
    let mut got = run.take(5);
    got.sort();
    assert_eq!(got, ["a1", "a2", "b1", "b2", "b3"]);
    // A new object arrives while it runs.
    put(&server, "inbox", "logs/c.log", "c1\n");
    assert_eq!(run.take(1), ["c1"]);
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "nothing read twice: {rest:?}");

    // The next run reads only what is new (the manifest in the data directory remembers the rest).
    server.python("import gzip\ns3.put_object(Bucket='inbox', Key='logs/d.log.gz', Body=gzip.compress(b'd1\\nd2\\n'))");
    let mut run = start_env(&s, "agent.flow", &[]);
    let mut got = run.take(2);
    got.sort();
    assert_eq!(got, ["d1", "d2"]);
    let (status, rest, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "nothing read twice: {rest:?}");
}

#[test]
fn object_source_with_an_unreachable_endpoint_says_so_and_keeps_polling() {
    // A port nothing listens on: bind one and let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let s = Scratch::new();
    s.write(
        "agent.flow",
        &format!(
            "source r = object {{ url = \"s3://inbox/logs/\", poll_interval = 100ms, endpoint = \"http://127.0.0.1:{port}\", allow_http = true, access_key_id = \"${{KEY}}\", secret_access_key = \"${{SECRET}}\" }}\nsink k = logger {{}}\nr -> k\n"
        ),
    );
    let mut run = start_env(&s, "agent.flow", &[("KEY", "testing"), ("SECRET", "testing")]);
    let said = wait_stderr(&mut run, " r: s3://inbox/logs: listing: the endpoint does not answer");
    assert!(said.is_some(), "no clear message");
    // It goes on polling (the store may come back) until it is stopped.
    let (status, _, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
}

/// Parses every line of every object as JSON; panics on a torn line.
fn rows(objects: &std::collections::BTreeMap<String, String>) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    for (key, body) in objects {
        assert!(body.ends_with('\n'), "{key} ends in a torn line");
        for line in body.lines() {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{key}: a torn line {line:?}: {e}"));
            out.push((key.clone(), v));
        }
    }
    out
}

#[test]
fn files_sink_writes_ndjson_objects_into_time_buckets() {
    let server = S3Server::start();
    server.create_bucket("logs");
    let s = Scratch::new();
    s.write(
        "agent.flow",
        &format!(
            r#"
type Hit = {{ ts: timestamp, path: string, n: int }}
source input = stdin {{ batch_size = 25 }}
sink out = files {{
  path   = "s3://logs/access/%Y/%m/%d/"
  prefix = "part-"
  format = json
  roll   = {{ count = 40 }}
  {}
}}
input | parse json as Hit -> out
"#,
            connection(&server)
        ),
    );
    let mut input = String::new();
    for n in 0..300 {
        let day = 23 + n % 3;
        input.push_str(&format!(
            "{{\"ts\": \"2026-11-{day}T10:{:02}:00Z\", \"path\": \"/p/{n}\", \"n\": {n}}}\n",
            n % 60
        ));
    }
    let out = s.run("agent.flow", &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let objects = server.objects("logs");
    let mut seen = Vec::new();
    for (key, row) in rows(&objects) {
        let n = row["n"].as_i64().unwrap();
        let day = 23 + n % 3;
        assert!(
            key.starts_with(&format!("access/2026/11/{day}/part-")) && key.ends_with(".json"),
            "{key} holds row {n}"
        );
        seen.push(n);
    }
    seen.sort();
    assert_eq!(seen, (0..300).collect::<Vec<_>>(), "every row exactly once");
    for (key, body) in &objects {
        assert!(body.lines().count() <= 40, "{key} rolled at 40 rows");
    }
    assert!(server.uploads_in_progress("logs").is_empty(), "no upload left open");
}

/// Lines of about 100 bytes, numbered, `files` files of `per_file` lines in `dir`.
fn spool_files(s: &Scratch, dir: &str, files: usize, per_file: usize) -> usize {
    let pad = "x".repeat(80);
    let mut n = 0;
    for f in 0..files {
        let mut text = String::with_capacity(per_file * 100);
        for _ in 0..per_file {
            text.push_str(&format!("{{\"n\": {n}, \"pad\": \"{pad}\"}}\n"));
            n += 1;
        }
        s.write(&format!("{dir}/f{f}.log"), &text);
    }
    n
}

/// Waits for a condition; on giving up, says what flowc said and which files the scratch holds.
fn wait_until(s: &Scratch, run: &mut Running, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !ready() {
        if std::time::Instant::now() > deadline {
            let _ = run.child.kill();
            let mut stderr = String::new();
            if let Some(mut e) = run.child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut stderr);
            }
            panic!("gave up waiting for {what}; files: {:?}\nstderr:\n{stderr}", tree(s.path()));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_run_killed_mid_upload_leaves_no_partial_object_and_the_restart_completes_it() {
    let server = S3Server::start();
    server.create_bucket("logs");
    let s = Scratch::new();
    // Three files of ~4 MiB: more than one 5 MiB part, in one object that never rolls by itself.
    let total = spool_files(&s, "in", 3, 40_000);
    s.write(
        "agent.flow",
        &format!(
            r#"
source r = spooldir {{ dir = "in", settle = 0s, poll_interval = 100ms }}
sink out = files {{
  path = "s3://logs/raw/"
  roll = {{ interval = 0s, idle = 0s, size = 1GiB }}
  {}
}}
r -> out
"#,
            connection(&server)
        ),
    );
    let mut run = start_env(&s, "agent.flow", &[]);
    wait_until(&s, &mut run, "every input file to be read and a part uploaded", || {
        let done = (0..3).all(|f| s.path().join(format!("in/f{f}.log.COMPLETED")).exists());
        done && !server.uploads_in_progress("logs").is_empty()
    });
    let pid = run.child.id().to_string();
    assert!(Command::new("kill").args(["-KILL", &pid]).status().unwrap().success());
    let _ = run.child.wait();
    assert!(server.objects("logs").is_empty(), "nothing under a final name while the upload is unfinished");

    // The restart completes the upload with every acknowledged line.
    let mut run = start_env(&s, "agent.flow", &[]);
    wait_until(&s, &mut run, "the leftover upload to be completed", || !server.objects("logs").is_empty());
    let (status, _, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    let mut seen: Vec<i64> = rows(&server.objects("logs")).iter().map(|(_, v)| v["n"].as_i64().unwrap()).collect();
    seen.sort();
    assert_eq!(seen, (0..total as i64).collect::<Vec<_>>(), "every line exactly once");
    assert!(server.uploads_in_progress("logs").is_empty(), "no upload left open");
}

/// A pipeline through a durable channel into a sink that cannot write: it says why, naming the
/// sink, gives up after its `max_retries` with exit 2, and the channel keeps every event for the next run.
fn failing_sink_keeps_events(server: &S3Server, bucket: &str, endpoint: &str, expect: &str, fix: impl FnOnce()) {
    let s = Scratch::new();
    let flow = |endpoint: &str| {
        format!(
            r#"
source input = stdin {{}}
channel c = file {{ dir = "chan" }}
sink out = files {{ path = "s3://{bucket}/x/", endpoint = "{endpoint}", allow_http = true, access_key_id = "testing", secret_access_key = "testing", max_retries = 2 }}
input -> c -> out
"#
        )
    };
    s.write("agent.flow", &flow(endpoint));
    let out = s.run("agent.flow", "one\ntwo\nthree\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(expect), "expected {expect:?} in:\n{stderr}");
    assert!(stderr.contains("out: write failed (attempt 1 of 3"), "retried with backoff:\n{stderr}");
    assert!(stderr.contains("out: write failed (attempt 2 of 3"), "retried with backoff:\n{stderr}");
    assert!(!stderr.contains("attempt 3 of 3"), "`max_retries = 2` tries 3 times:\n{stderr}");
    // Fixed, the next run writes what the channel kept.
    fix();
    s.write("agent.flow", &flow(&server.endpoint()));
    let out = s.run("agent.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let mut lines: Vec<String> =
        server.objects(bucket).values().flat_map(|b| b.lines().map(str::to_string).collect::<Vec<_>>()).collect();
    lines.sort();
    assert_eq!(lines, ["one", "three", "two"]);
}

#[test]
fn a_missing_bucket_is_named_and_nothing_is_lost() {
    let server = S3Server::start();
    failing_sink_keeps_events(
        &server,
        "later",
        &server.endpoint(),
        "out: s3://later/x: listing: not found (does the bucket exist?)",
        || server.create_bucket("later"),
    );
}

#[test]
fn an_unreachable_endpoint_is_named_and_nothing_is_lost() {
    let server = S3Server::start();
    server.create_bucket("logs");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    failing_sink_keeps_events(
        &server,
        "logs",
        &format!("http://127.0.0.1:{port}"),
        "out: s3://logs/x: listing: the endpoint does not answer",
        || {},
    );
}

#[test]
fn wrong_credentials_are_named() {
    // Moto checks credentials after its first request (the bucket's creation).
    let server = S3Server::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "1")]);
    server.create_bucket("logs");
    let s = Scratch::new();
    s.write(
        "agent.flow",
        &format!(
            "source input = stdin {{}}\nsink out = files {{ path = \"s3://logs/x/\", {} }}\ninput -> out\n",
            connection(&server)
        ),
    );
    let out = s.run("agent.flow", "one\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("out: s3://logs/x: listing: access denied (check the credentials"), "{stderr}");
}

#[test]
fn files_sink_writes_parquet_objects_with_the_declared_types() {
    let server = S3Server::start();
    server.create_bucket("lake");
    let s = Scratch::new();
    s.write(
        "agent.flow",
        &format!(
            r#"
type Hit = {{ ts: timestamp, path: string, n: int, ok: bool }}
source input = stdin {{ batch_size = 50 }}
sink out = files {{
  path   = "s3://lake/hits/%Y-%m-%d/"
  format = parquet
  roll   = {{ count = 100 }}
  {}
}}
input | parse json as Hit -> out
"#,
            connection(&server)
        ),
    );
    let mut input = String::new();
    for n in 0..250 {
        let day = 24 + n % 2;
        input.push_str(&format!(
            "{{\"ts\": \"2026-11-{day}T08:00:00Z\", \"path\": \"/p/{n}\", \"n\": {n}, \"ok\": {}}}\n",
            n % 2 == 0
        ));
    }
    let out = s.run("agent.flow", &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // An independent reader: pyarrow's own S3 filesystem.
    let read = server.python(
        "import pyarrow.parquet as pq, pyarrow.fs as pfs\n\
         fs = pfs.S3FileSystem(endpoint_override=endpoint, scheme='http', access_key='testing', secret_key='testing', region='us-east-1')\n\
         out = []\n\
         for info in fs.get_file_info(pfs.FileSelector('lake/hits', recursive=True)):\n\
         \x20   if info.type != pfs.FileType.File: continue\n\
         \x20   t = pq.read_table(info.path, filesystem=fs)\n\
         \x20   types = {f.name: str(f.type) for f in t.schema}\n\
         \x20   for row in t.to_pylist():\n\
         \x20       out.append([info.path, row['n'], row['ts'].isoformat(), types])\n\
         json.dump(out, sys.stdout)",
    );
    let rows: Vec<(String, i64, String, BTreeMap<String, String>)> = serde_json::from_str(&read).unwrap();
    let mut seen: Vec<i64> = Vec::new();
    for (path, n, ts, types) in &rows {
        let day = 24 + n % 2;
        assert!(path.starts_with(&format!("lake/hits/2026-11-{day}/")) && path.ends_with(".parquet"), "{path}");
        assert!(ts.starts_with(&format!("2026-11-{day}T08:00:00")), "{ts}");
        assert_eq!(types["n"], "int64");
        assert_eq!(types["ok"], "bool");
        assert_eq!(types["path"], "string");
        assert!(types["ts"].starts_with("timestamp[ms"), "{types:?}");
        seen.push(*n);
    }
    seen.sort();
    assert_eq!(seen, (0..250).collect::<Vec<_>>(), "every row exactly once");
    assert!(server.uploads_in_progress("lake").is_empty(), "no upload left open");
}
