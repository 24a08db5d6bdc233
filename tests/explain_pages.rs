//! Every diagnostic code has an explain page whose wrong example emits that code and whose fix is clean.
//!
//! Codes only `flowc check --online` emits (a page with `<!-- online: unreachable -->` or
//! `<!-- online: cluster -->`) have examples that are clean offline; the binary checks them online
//! with their `"kafka1:9092"` replaced: the wrong one by a loopback port nothing listens on
//! (`unreachable`) or by a mock cluster holding topic `orders` (`cluster`), the right one by that
//! cluster.

use flowc_compiler::codes::CODES;
use flowc_compiler::FileId;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

/// The first ```flow block after `heading`, if any.
fn block_after<'a>(page: &'a str, heading: &str) -> Option<&'a str> {
    let section = &page[page.find(heading)? + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let start = section.find("```flow\n")? + "```flow\n".len();
    let end = section[start..].find("```")? + start;
    Some(&section[start..end])
}

#[test]
fn every_page_explains_and_shows_wrong_and_right() {
    let registry = flowc_stdlib::registry();
    let mut problems = Vec::new();
    for info in CODES {
        let page = info.page;
        if !page.starts_with(&format!("# {}: ", info.code)) {
            problems.push(format!("{}: page must start with `# {}: title`", info.code, info.code));
            continue;
        }
        if !page.contains("## Wrong") || !page.contains("## Right") {
            problems.push(format!("{}: page needs `## Wrong` and `## Right` sections", info.code));
            continue;
        }
        if let Some(online) = online_marker(page) {
            problems.extend(check_online_page(info.code, page, online));
            continue;
        }
        match block_after(page, "## Wrong") {
            Some(wrong) => {
                let (_, diags) = flowc_compiler::check(FileId(0), wrong, registry);
                if !diags.iter().any(|d| d.code == info.code) {
                    let got: Vec<&str> = diags.iter().map(|d| d.code).collect();
                    problems.push(format!("{}: the wrong example does not emit it (got {got:?})", info.code));
                }
            }
            // Invalid UTF-8 cannot be written in a Markdown page.
            None if info.code == "E0109" => {}
            None => problems.push(format!("{}: no ```flow block under `## Wrong`", info.code)),
        }
        match block_after(page, "## Right") {
            Some(right) => {
                let (_, diags) = flowc_compiler::check(FileId(0), right, registry);
                let bad: Vec<String> = diags
                    .iter()
                    .filter(|d| d.is_error() || d.code == info.code)
                    .map(|d| format!("{} {}", d.code, d.message))
                    .collect();
                if !bad.is_empty() {
                    problems.push(format!("{}: the right example still reports {bad:?}", info.code));
                }
            }
            None => problems.push(format!("{}: no ```flow block under `## Right`", info.code)),
        }
    }
    assert!(problems.is_empty(), "{} explain page problem(s):\n{}", problems.len(), problems.join("\n"));
}

/// What the wrong example of an online-only page meets: `unreachable` or `cluster`.
fn online_marker(page: &str) -> Option<&str> {
    page.lines().find_map(|line| line.trim().strip_prefix("<!-- online: ")?.strip_suffix(" -->"))
}

/// The codes `flowc check --online --format json` reports for `flow` with `"kafka1:9092"` replaced by `brokers`.
fn online_codes(flow: &str, brokers: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("page.flow");
    let list: Vec<String> = brokers.split(',').map(|b| format!("\"{b}\"")).collect();
    std::fs::write(&path, flow.replace("\"kafka1:9092\"", &list.join(", "))).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["check", "--online", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["diagnostics"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap().to_string()).collect()
}

/// A loopback address nothing listens on: a port the system handed out and that was closed again.
fn unused_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    address.to_string()
}

fn cluster_with_orders() -> MockCluster<'static, DefaultProducerContext> {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("orders", 1, 1).unwrap();
    cluster
}

/// The problems of an online-only page: examples that are not clean offline, a wrong one that does
/// not emit its code online, a right one that reports errors online.
fn check_online_page(code: &str, page: &str, online: &str) -> Vec<String> {
    let registry = flowc_stdlib::registry();
    let mut problems = Vec::new();
    let (Some(wrong), Some(right)) = (block_after(page, "## Wrong"), block_after(page, "## Right")) else {
        return vec![format!("{code}: needs ```flow blocks under `## Wrong` and `## Right`")];
    };
    for (which, flow) in [("wrong", wrong), ("right", right)] {
        let (_, diags) = flowc_compiler::check(FileId(0), flow, registry);
        if let Some(d) = diags.iter().find(|d| d.is_error()) {
            problems.push(format!("{code}: the {which} example does not check offline: {} {}", d.code, d.message));
        }
    }
    let cluster = cluster_with_orders();
    let got = match online {
        "unreachable" => online_codes(wrong, &unused_port()),
        "cluster" => online_codes(wrong, &cluster.bootstrap_servers()),
        other => return vec![format!("{code}: `<!-- online: {other} -->` is neither `unreachable` nor `cluster`")],
    };
    if !got.iter().any(|c| c == code) {
        problems.push(format!("{code}: the wrong example does not emit it online (got {got:?})"));
    }
    let got = online_codes(right, &cluster.bootstrap_servers());
    if got.iter().any(|c| c.starts_with('E')) {
        problems.push(format!("{code}: the right example reports {got:?} online"));
    }
    problems
}

#[test]
fn explain_prints_the_page_and_rejects_unknown_codes() {
    let bin = env!("CARGO_BIN_EXE_flowc");
    let out = std::process::Command::new(bin).args(["explain", "e0301"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("# E0301: "), "{text}");
    let out = std::process::Command::new(bin).args(["explain", "E0999"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no diagnostic code `E0999`"));
}
