//! Drives the real `flowc lsp` process over stdio as an editor would: Content-Length framed JSON-RPC,
//! initialize, open a file with an error, fix it, hover, complete, jump, rename, format, shut down;
//! and test blocks, in a pipeline and in a tests file checked against its (open) pipeline.

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

/// Only guards against a hung server (the test would otherwise wait forever); nothing is timed.
const HANG_GUARD: Duration = Duration::from_secs(120);

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    /// Messages read while waiting for something else.
    pending: VecDeque<Value>,
    next_id: i64,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flowc"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("flowc lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        Client { child, stdin, incoming, pending: VecDeque::new(), next_id: 1 }
    }

    fn send(&mut self, message: Value) {
        let body = serde_json::to_string(&message).unwrap();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and returns its whole response (`result` or `error`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        self.wait_for(|m| m["id"] == json!(id) && m.get("method").is_none())
    }

    fn result(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params);
        assert!(response.get("error").is_none(), "{method} failed: {response}");
        response["result"].clone()
    }

    fn wait_for(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.pending.iter().position(&wanted) {
            return self.pending.remove(i).unwrap();
        }
        loop {
            let message = self.incoming.recv_timeout(HANG_GUARD).expect("the server answers");
            if wanted(&message) {
                return message;
            }
            self.pending.push_back(message);
        }
    }

    fn diagnostics(&mut self) -> Value {
        self.wait_for(|m| m["method"] == "textDocument/publishDiagnostics")["params"].clone()
    }
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length: ") {
            length = value.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

const URI: &str = "file:///work/agent.flow";

/// Line 3 names `ot`, which is not declared (E0202, "did you mean `out`?"). The Chinese comment on
/// line 0 and the one before `ot` check that columns are UTF-16 units, not bytes.
const BROKEN: &str = "// 访问日志：从文件到控制台\n\
source web = tail { path = \"logs/access.log\" }\n\
sink out = logger {}\n\
/*日志*/web -> ot\n";

fn fixed() -> String {
    BROKEN.replace("-> ot", "-> out")
}

fn pos(line: u32, character: u32) -> Value {
    json!({ "line": line, "character": character })
}

fn at(line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": URI }, "position": pos(line, character) })
}

#[test]
fn an_editor_session_over_stdio() {
    let mut client = Client::start();

    let init = client.result("initialize", json!({ "processId": null, "rootUri": null, "capabilities": {} }));
    let caps = &init["capabilities"];
    assert_eq!(caps["textDocumentSync"], json!(1), "full sync: {caps}");
    assert_eq!(caps["hoverProvider"], json!(true));
    assert_eq!(caps["renameProvider"]["prepareProvider"], json!(true));
    client.notify("initialized", json!({}));

    // Open a file with an error: its diagnostics arrive, with code and UTF-16 range.
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": URI, "languageId": "flow", "version": 1, "text": BROKEN } }),
    );
    let published = client.diagnostics();
    assert_eq!(published["uri"], URI);
    let diagnostics = published["diagnostics"].as_array().unwrap();
    let undefined = diagnostics.iter().find(|d| d["code"] == "E0202").unwrap_or_else(|| panic!("{published}"));
    // `/*日志*/` is 6 UTF-16 units (10 bytes); then `web -> ` is 7 more.
    assert_eq!(undefined["range"], json!({ "start": pos(3, 13), "end": pos(3, 15) }));
    assert_eq!(undefined["severity"], json!(1));
    assert_eq!(undefined["source"], "flowc");
    let message = undefined["message"].as_str().unwrap();
    assert!(message.contains("`ot` is not declared") && message.contains("help: did you mean `out`?"), "{message}");

    // The "did you mean" quick fix.
    let actions = client.result(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": URI }, "range": undefined["range"], "context": { "diagnostics": [] } }),
    );
    let action = &actions[0];
    assert_eq!(action["kind"], "quickfix", "{actions}");
    assert_eq!(action["edit"]["changes"][URI][0], json!({ "range": undefined["range"], "newText": "out" }));

    // Fix it: the diagnostics are cleared.
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": URI, "version": 2 }, "contentChanges": [{ "text": fixed() }] }),
    );
    let published = client.diagnostics();
    assert_eq!(published["version"], json!(2));
    assert_eq!(published["diagnostics"], json!([]), "{published}");

    // Hover on `web` in the pipeline: its declaration and stream type.
    let hover = client.result("textDocument/hover", at(3, 7));
    let markdown = hover["contents"]["value"].as_str().unwrap();
    assert!(markdown.contains("source web = tail { path = \"logs/access.log\" }"), "{markdown}");
    assert!(markdown.contains("source emits untyped lines"), "{markdown}");
    assert_eq!(hover["range"], json!({ "start": pos(3, 6), "end": pos(3, 9) }));

    // Completion after `->`: the declared sink, replacing the word being typed.
    let items = client.result("textDocument/completion", at(3, 14));
    let labels: Vec<&str> = items.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["out"], "{items}");
    // Completion of a connector kind on a new line.
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": URI, "version": 3 }, "contentChanges": [{ "text": format!("{}channel c = m", fixed()) }] }),
    );
    client.diagnostics();
    let items = client.result("textDocument/completion", at(4, 13));
    let labels: Vec<&str> = items.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["memory"], "{items}");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": URI, "version": 4 }, "contentChanges": [{ "text": fixed() }] }),
    );
    client.diagnostics();

    // Go to definition of `out`: its declaration on line 2.
    let definition = client.result("textDocument/definition", at(3, 14));
    assert_eq!(definition, json!({ "uri": URI, "range": { "start": pos(2, 5), "end": pos(2, 8) } }));

    // Rename `web` everywhere.
    let prepared = client.result("textDocument/prepareRename", at(3, 8));
    assert_eq!(prepared, json!({ "start": pos(3, 6), "end": pos(3, 9) }));
    let mut params = at(3, 8);
    params["newName"] = json!("site");
    let edit = client.result("textDocument/rename", params);
    let edits = edit["changes"][URI].as_array().unwrap();
    assert_eq!(edits.len(), 2, "{edit}");
    assert!(edits.contains(&json!({ "range": { "start": pos(1, 7), "end": pos(1, 10) }, "newText": "site" })));
    assert!(edits.contains(&json!({ "range": { "start": pos(3, 6), "end": pos(3, 9) }, "newText": "site" })));
    // A keyword is refused with an error, and the server goes on.
    let mut params = at(3, 8);
    params["newName"] = json!("where");
    let refused = client.request("textDocument/rename", params);
    assert!(refused["error"]["message"].as_str().unwrap().contains("not a valid name"), "{refused}");

    // Formatting: the canonical layout, as edits (here: the spacing inside the sink's braces).
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": URI, "version": 5 }, "contentChanges": [{ "text": fixed().replace("logger {}", "logger {  }") }] }),
    );
    client.diagnostics();
    let edits = client.result(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    let edits = edits.as_array().unwrap();
    assert_eq!(edits.len(), 1, "{edits:?}");
    assert_eq!(edits[0]["range"]["start"]["line"], json!(2), "{edits:?}");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": URI, "version": 6 }, "contentChanges": [{ "text": fixed() }] }),
    );
    client.diagnostics();

    // Symbols, and an unknown method.
    let symbols = client.result("textDocument/documentSymbol", json!({ "textDocument": { "uri": URI } }));
    assert_eq!(symbols.as_array().unwrap().len(), 2, "{symbols}");
    let unknown = client.request("flowc/unknown", json!({}));
    assert_eq!(unknown["error"]["code"], json!(-32601));

    // Close: diagnostics cleared.
    client.notify("textDocument/didClose", json!({ "textDocument": { "uri": URI } }));
    assert_eq!(client.diagnostics()["diagnostics"], json!([]));

    // Shut down cleanly: `shutdown` answers null, `exit` ends the process with 0.
    let shutdown = client.request("shutdown", Value::Null);
    assert_eq!(shutdown["result"], Value::Null);
    client.notify("exit", Value::Null);
    let status = client.child.wait().expect("flowc lsp exits");
    assert!(status.success(), "exit status {status}");
}

#[test]
fn exit_without_shutdown_is_exit_code_1() {
    let mut client = Client::start();
    client.result("initialize", json!({ "capabilities": {} }));
    client.notify("initialized", json!({}));
    client.notify("exit", Value::Null);
    let status = client.child.wait().expect("flowc lsp exits");
    assert_eq!(status.code(), Some(1));
}

#[test]
fn half_typed_text_never_breaks_the_server() {
    let mut client = Client::start();
    client.result("initialize", json!({ "capabilities": {} }));
    client.notify("initialized", json!({}));
    let text = "source web = tail {\n  path = \"日志\n}\nweb -> [a, \nsink = \n| where ->\n";
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": URI, "languageId": "flow", "version": 1, "text": text } }),
    );
    assert!(!client.diagnostics()["diagnostics"].as_array().unwrap().is_empty());
    // Every position of every line, past the ends too: no request fails.
    for line in 0..7 {
        for character in 0..24 {
            for method in ["textDocument/hover", "textDocument/completion", "textDocument/definition"] {
                let response = client.request(method, at(line, character));
                assert!(response.get("error").is_none(), "{method} at {line}:{character}: {response}");
            }
        }
    }
    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert!(client.child.wait().unwrap().success());
}

#[test]
fn test_blocks_are_diagnosed_inline_and_in_a_tests_file_against_its_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = "source web = tail { path = \"logs/access.log\" }\nsink out = logger {}\nweb -> out\n";
    std::fs::write(dir.path().join("agent.flow"), pipeline).unwrap();
    let mut client = Client::start();
    client.result("initialize", json!({ "capabilities": {} }));
    client.notify("initialized", json!({}));

    // A test inside the pipeline file: the event at `out` is a number, not a line.
    let inline = format!("{pipeline}test \"t\" {{\n  input web = [\"a\"]\n  expect out = [42]\n}}\n");
    let uri = format!("file://{}", dir.path().join("agent.flow").display());
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "flow", "version": 1, "text": inline } }),
    );
    let published = client.diagnostics();
    let diagnostics = published["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{published}");
    assert_eq!(diagnostics[0]["code"], "E0803");
    assert_eq!(diagnostics[0]["range"]["start"], pos(5, 16));

    // A tests-only file: the server reads the pipeline it names from disk.
    let tests = "tests \"agent.flow\"\n\ntest \"t\" {\n  input web = [\"a\"]\n  expect uot = [\"a\"]\n}\n";
    let tests_uri = format!("file://{}", dir.path().join("agent.test.flow").display());
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": tests_uri, "languageId": "flow", "version": 1, "text": tests } }),
    );
    let published = client.diagnostics();
    assert_eq!(published["uri"], json!(tests_uri));
    let diagnostics = published["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{published}");
    assert_eq!(diagnostics[0]["code"], "E0801");
    assert_eq!(diagnostics[0]["range"]["start"], pos(4, 9));
    assert!(diagnostics[0]["message"].as_str().unwrap().contains("`uot`"), "{published}");

    // The pipeline, edited (not saved) so that a sink is named `uot`: the tests file is checked again.
    let renamed = pipeline.replace("out", "uot");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": renamed }] }),
    );
    let pipeline_published = client.diagnostics();
    assert_eq!(pipeline_published["uri"], json!(uri), "{pipeline_published}");
    let published = client.diagnostics();
    assert_eq!(published["uri"], json!(tests_uri), "{published}");
    assert_eq!(published["diagnostics"], json!([]), "{published}");

    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert!(client.child.wait().unwrap().success());
}
