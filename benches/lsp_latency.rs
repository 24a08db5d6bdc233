//! Benchmark: time from `didChange` to `publishDiagnostics` through the language server on a generated
//! 1,000-line file (target: under 20 ms), beside the time to just `analyze` the same text. The server
//! runs in-process on `Connection::memory()`, so the time is the server's own (no pipe, no JSON framing
//! on stdio; the JSON encoding of messages is included). Writes its section into BENCHMARKS.md.
//!
//! Run: `cargo bench -p flowc --bench lsp_latency` (add `-- --no-write` to only print).

use flowc_compiler::FileId;
use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::json;
use std::time::{Duration, Instant};

const RUNS: usize = 31;

/// About `n_lines` lines of a realistic file: doc comments, Chinese comments, typed topics, parsing,
/// filtering, consumer groups; it checks without errors.
fn generate(n_lines: usize) -> String {
    let mut out = String::from("// 生成的基准文件：访问日志管道\n");
    let mut i = 0;
    while out.lines().count() + 10 <= n_lines {
        out.push_str(&format!(
            "/// Unit {i}: access events of site {i}.\n\
             type Access{i} = {{ host: string, status: int, bytes: int, path: string }}\n\
             topic access{i}: Access{i} {{ partitions = 3, retention = 168h, key = host }}\n\
             source web{i} = tail {{ path = \"logs/{i}/access.log\" }} // 日志 {i}\n\
             channel buf{i} = file {{ dir = \"data/buf{i}\", capacity = 10_000 }}\n\
             sink show{i} = logger {{}}\n\
             sink errors{i} = files {{ path = \"out/{i}/%Y-%m-%d/\", use_local_time = true, format = json }}\n\
             web{i} | parse json as Access{i} | where status >= 500 or bytes > 1_000_000 -> access{i}\n\
             access{i} -> group \"A\" -> buf{i} -> show{i}\n\
             access{i} -> group \"B\" | where path =~ \"^/api\" -> errors{i}\n"
        ));
        i += 1;
    }
    while out.lines().count() < n_lines {
        out.push_str("// 填充 padding\n");
    }
    out
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Waits for the `publishDiagnostics` of document version `version`; returns how many diagnostics.
fn wait_for_diagnostics(client: &Connection, version: i32) -> usize {
    for message in &client.receiver {
        if let Message::Notification(n) = message {
            if n.method == "textDocument/publishDiagnostics" && n.params["version"] == json!(version) {
                return n.params["diagnostics"].as_array().map_or(0, Vec::len);
            }
        }
    }
    panic!("the server stopped before publishing version {version}");
}

fn main() {
    let write = !std::env::args().any(|a| a == "--no-write");
    let text = generate(1_000);
    let n_lines = text.lines().count();
    let registry = flowc_stdlib::registry();
    let analysis = flowc_compiler::analyze(FileId(0), &text, registry);
    assert!(!analysis.has_errors(), "the generated file must check without errors: {:?}", analysis.diagnostics.first());

    // Baseline: the checker alone.
    let analyze = median(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(flowc_compiler::analyze(FileId(0), &text, registry));
                start.elapsed()
            })
            .collect(),
    );

    // The server, in-process.
    let (server, client) = Connection::memory();
    let server_thread = std::thread::spawn(move || flowc::lsp::run(server).expect("the server runs"));
    client
        .sender
        .send(Request::new(RequestId::from(1), "initialize".into(), json!({ "capabilities": {} })).into())
        .unwrap();
    for message in &client.receiver {
        if matches!(message, Message::Response(_)) {
            break;
        }
    }
    client.sender.send(Notification::new("initialized".into(), json!({})).into()).unwrap();
    let uri = "file:///bench/pipeline.flow";
    client
        .sender
        .send(
            Notification::new(
                "textDocument/didOpen".into(),
                json!({ "textDocument": { "uri": uri, "languageId": "flow", "version": 0, "text": text } }),
            )
            .into(),
        )
        .unwrap();
    wait_for_diagnostics(&client, 0);

    // Each change edits one line in the middle (an edit as typed), alternating between a clean file and
    // one with an undefined name, so both the clean and the error path are measured.
    let middle = text.len() / 2;
    let line_start = text[..middle].rfind('\n').map_or(0, |i| i + 1);
    let mut latencies = Vec::new();
    let mut n_diagnostics = (0, 0);
    for version in 1..=(RUNS as i32 + 1) {
        let edited = if version % 2 == 0 {
            text.clone()
        } else {
            let mut t = text.clone();
            t.insert_str(line_start, "web0 -> nowhere\n");
            t
        };
        let start = Instant::now();
        client
            .sender
            .send(
                Notification::new(
                    "textDocument/didChange".into(),
                    json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": edited }] }),
                )
                .into(),
            )
            .unwrap();
        let count = wait_for_diagnostics(&client, version);
        let elapsed = start.elapsed();
        if version > 1 {
            latencies.push(elapsed);
        }
        if version % 2 == 0 {
            n_diagnostics.0 = count;
        } else {
            n_diagnostics.1 = count;
        }
    }
    client.sender.send(Request::new(RequestId::from(2), "shutdown".into(), json!(null)).into()).unwrap();
    client.sender.send(Notification::new("exit".into(), json!(null)).into()).unwrap();
    server_thread.join().expect("the server thread ends");

    let latency = median(latencies);
    let verdict = if latency < Duration::from_millis(20) { "meets" } else { "misses" };
    let section = format!(
        "## Language server\n\n`cargo bench -p flowc --bench lsp_latency` (release, median of {RUNS}). A generated \
         {n_lines}-line file ({} bytes: doc and Chinese comments, typed topics, `parse`/`where` pipelines, consumer \
         groups) is opened in the in-process server (`Connection::memory()`); each `didChange` sends the whole text \
         (full sync) with one line in the middle changed, alternating between a clean file (diagnostics: {}) and one \
         with an undefined name (diagnostics: {}), and the time is taken until that version's \
         `publishDiagnostics` arrives. \"analyze\" is the checker alone on the same text.\n\n\
         | measure | ms |\n|---|---:|\n\
         | `didChange` → `publishDiagnostics` | {:.2} |\n\
         | `analyze` alone (baseline) | {:.2} |\n\
         | server overhead (line index, names, JSON) | {:.2} |\n\n\
         {n_lines} lines: {:.2} ms, which {verdict} the 20 ms target.\n",
        text.len(),
        n_diagnostics.0,
        n_diagnostics.1,
        ms(latency),
        ms(analyze),
        ms(latency.saturating_sub(analyze)),
        ms(latency),
    );
    print!("{section}");
    if write {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
        let current = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".into());
        let (start, end) = ("<!-- lsp-bench:start -->", "<!-- lsp-bench:end -->");
        let block = format!("{start}\n{section}{end}");
        let updated = match (current.find(start), current.find(end)) {
            (Some(s), Some(e)) => format!("{}{block}{}", &current[..s], &current[e + end.len()..]),
            _ => format!("{}\n\n{block}\n", current.trim_end()),
        };
        std::fs::write(path, updated).expect("BENCHMARKS.md is writable");
    }
}
