//! `flowc check --online` through the real binary: against librdkafka's mock cluster (in this test
//! process) a file whose topics exist is clean, a missing topic is E0702 at the declaration that
//! names it, and brokers on a loopback port nothing listens on are E0701; plain `check` never connects.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use std::path::Path;
use std::process::Output;

fn cluster() -> MockCluster<'static, DefaultProducerContext> {
    let cluster = MockCluster::new(3).expect("librdkafka's mock cluster starts");
    cluster.create_topic("orders", 3, 3).unwrap();
    cluster.create_topic("shipped", 1, 3).unwrap();
    cluster
}

/// A loopback address nothing listens on: a port the system handed out, closed again.
fn unused_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    address.to_string()
}

/// A pipeline with a `kafka` source, a `kafka` sink and a topic bound to `brokers`.
fn pipeline(brokers: &str, source_topic: &str, sink_topic: &str, declared: &str) -> String {
    let list: Vec<String> = brokers.split(',').map(|b| format!("\"{b}\"")).collect();
    let list = list.join(", ");
    format!(
        "source incoming = kafka {{ brokers = [{list}], topics = [\"{source_topic}\"], group = \"archive\" }}\n\
         sink ship = kafka {{ brokers = \"{brokers}\", topic = \"{sink_topic}\" }}\n\
         incoming -> ship\n\
         topic {declared} {{ brokers = [{list}] }}\n\
         source input = stdin {{}}\n\
         input -> {declared}\n\
         sink store = files {{ path = \"out/\" }}\n\
         {declared} -> group \"g\" -> store\n"
    )
}

fn check(dir: &Path, flow: &str, args: &[&str]) -> Output {
    let path = dir.join("pipeline.flow");
    std::fs::write(&path, flow).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_flowc"))
        .arg("check")
        .args(args)
        .arg(&path)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn topics_that_exist_on_the_cluster_check_clean_online() {
    let cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let flow = pipeline(&cluster.bootstrap_servers(), "orders", "shipped", "orders");
    let out = check(dir.path(), &flow, &["--online"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("check ok: 1 file, 0 errors, 0 warnings"), "{}", stdout(&out));
}

#[test]
fn a_missing_topic_is_e0702_at_the_declaration_that_names_it() {
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let flow = pipeline(&brokers, "order", "shipped", "returns");
    let out = check(dir.path(), &flow, &["--online", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: Vec<(String, u64, String)> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (d["code"].as_str().unwrap().into(), d["line"].as_u64().unwrap(), d["labels"][0]["message"].to_string())
        })
        .collect();
    assert_eq!(
        found,
        [
            ("E0702".into(), 1, "\"kafka source `incoming` uses topic `order`\"".into()),
            ("E0702".into(), 4, "\"topic `returns` is declared on this cluster\"".into()),
        ],
        "{report:#}"
    );

    // The rendering a user reads, with the mock cluster's ports made stable.
    let human = stdout(&check(dir.path(), &flow, &["--online", "--quiet"]));
    let mut rendered = human.replace(&brokers, "127.0.0.1:PORTS");
    for (i, b) in brokers.split(',').enumerate() {
        rendered = rendered.replace(b, &format!("127.0.0.1:PORT{i}"));
    }
    rendered = rendered.replace(&dir.path().join("pipeline.flow").display().to_string(), "pipeline.flow");
    insta::with_settings!({ snapshot_path => "diagnostics/snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("E0702_online_missing_topic", rendered);
    });
}

#[test]
fn unreachable_brokers_are_e0701_online_and_plain_check_stays_offline() {
    let dir = tempfile::tempdir().unwrap();
    let port = unused_port();
    let flow = pipeline(&port, "orders", "shipped", "orders");
    let out = check(dir.path(), &flow, &[]);
    assert_eq!(out.status.code(), Some(0), "plain check does not connect: {}", stdout(&out));

    let out = check(dir.path(), &flow, &["--online", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diags = report["diagnostics"].as_array().unwrap();
    let lines: Vec<u64> = diags.iter().map(|d| d["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [1, 2, 4], "each declaration that connects: {report:#}");
    for d in diags {
        assert_eq!(d["code"], "E0701", "{d:#}");
        assert!(d["message"].as_str().unwrap().contains(&port), "names the brokers: {d:#}");
        assert!(d["help"].as_str().unwrap().contains("start the cluster"), "{d:#}");
    }
}
