//! `flowc import`: the seed's Flume agents (copied into tests/import/) and the Flume user guide's common
//! shapes translate into `.flow` files that check, and every key that does not carry over is reported
//! with its line.

use flowc::import::{translate, ImportDiagnostic};
use flowc_compiler::{check, FileId, Severity};
use std::path::Path;
use std::process::{Command, Output};

fn flowc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowc")).args(args).env("NO_COLOR", "1").output().expect("flowc runs")
}

fn agent_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import").join(name);
    std::fs::read_to_string(path).unwrap()
}

/// The error codes (sorted) and the number of warnings `flowc check` gives the translation.
fn check_codes(flow: &str) -> (Vec<&'static str>, usize) {
    let (_, diags) = check(FileId(0), flow, flowc_stdlib::registry());
    let mut errors: Vec<&'static str> =
        diags.iter().filter(|d| d.severity == Severity::Error).map(|d| d.code).collect();
    errors.sort();
    (errors, diags.iter().filter(|d| d.severity == Severity::Warning).count())
}

fn import(text: &str) -> (String, Vec<ImportDiagnostic>) {
    translate(text, None).unwrap_or_else(|e| panic!("import failed: {e}"))
}

fn lines(diags: &[ImportDiagnostic]) -> Vec<usize> {
    diags.iter().map(|d| d.line).collect()
}

#[test]
fn spooldir_logger_imports_and_checks_clean() {
    let (flow, diags) = import(&agent_file("spooldir-logger.properties"));
    assert!(diags.is_empty(), "{diags:?}");
    assert!(flow.contains("source r1 = spooldir { dir = \"/home/hadoop/hahaha\" }"), "{flow}");
    assert!(flow.contains("channel c1 = memory {}") && flow.contains("sink s1 = logger {}"), "{flow}");
    assert!(flow.contains("r1 -> c1 -> s1"), "{flow}");
    assert_eq!(check_codes(&flow).0, Vec::<&str>::new(), "{flow}");
}

#[test]
fn exec_hdfs_imports_every_option_and_checks_clean() {
    let (flow, diags) = import(&agent_file("exec-hdfs.properties"));
    // Only the HDFS path is worth a note: flowc writes local paths and object stores.
    assert_eq!(lines(&diags), vec![10], "{diags:?}");
    assert!(diags[0].message.contains("HDFS"), "{diags:?}");
    for expected in [
        "source r1 = exec { command = \"tail -F /usr/local/soft/flume/flume_dir/access.log\" }",
        "path           = \"hdfs://hadoop1:8020/aura/%y-%m-%d/%H%M/\"",
        "prefix         = \"hello-\"",
        "round          = 10m",
        "roll           = { interval = 3s, size = 20B, count = 5 }",
        "batch          = 1",
        "use_local_time = true",
        "format         = lines",
        "r1 -> c1 -> k1",
    ] {
        assert!(flow.contains(expected), "missing `{expected}` in\n{flow}");
    }
    assert_eq!(check_codes(&flow).0, Vec::<&str>::new(), "{flow}");
}

#[test]
fn inline_notes_are_reported_on_their_lines_and_not_guessed() {
    let (flow, diags) = import(&agent_file("exec-hdfs-with-inline-notes.properties"));
    // Lines 7, 9-13, 18, 19 carry `//…` after the value; nothing else is wrong.
    assert_eq!(lines(&diags), vec![7, 9, 10, 11, 12, 13, 18, 19], "{diags:#?}");
    for d in &diags {
        assert!(d.message.contains("part of the value"), "{d:?}");
    }
    assert!(diags[0].message.contains("//watch the log"), "{:?}", diags[0]);
    // Neither the note nor a guess without it becomes an option; the lines are kept as comments.
    let code: Vec<&str> = flow.lines().filter(|l| !l.trim_start().starts_with("//")).collect();
    for option in ["command", "path", "prefix", "round", "use_local_time", "format"] {
        assert!(!code.iter().any(|l| l.trim_start().starts_with(option)), "`{option}` was imported:\n{flow}");
    }
    assert!(flow.contains("// line 7: command = tail -F"), "{flow}");
    // Options without notes are translated.
    assert!(flow.contains("roll  = { interval = 3s, size = 20B, count = 5 }"), "{flow}");
    // The result checks with exactly the errors of what is missing.
    assert_eq!(check_codes(&flow).0, vec!["E0303", "E0303"], "{flow}");
}

#[test]
fn the_command_writes_stdout_or_a_file_and_prints_notes_with_lines() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import/exec-hdfs-with-inline-notes.properties");
    let file = file.to_str().unwrap();
    let out = flowc(&["import", file]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exec-hdfs-with-inline-notes.properties:7: warning:"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("sink k1 = files {"));

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a1.flow");
    let spool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import/spooldir-logger.properties");
    let out = flowc(&["import", spool.to_str().unwrap(), "--agent", "a1", "-o", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    let check = flowc(&["check", "--quiet", target.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stderr));
    // The output is already formatted.
    assert_eq!(flowc(&["fmt", "--check", target.to_str().unwrap()]).status.code(), Some(0));

    assert_eq!(flowc(&["import", "/nonexistent.properties"]).status.code(), Some(2));
    let out = flowc(&["import", spool.to_str().unwrap(), "--agent", "a2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a1"));
}

#[test]
fn several_agents_need_a_choice() {
    let text = "host1.sources = r1\nhost1.channels = c1\nhost2.sinks = k1\n";
    let err = translate(text, None).unwrap_err();
    assert!(err.contains("host1") && err.contains("host2") && err.contains("--agent"), "{err}");
    assert!(translate(text, Some("host2")).is_ok());
    assert!(translate("PROD_BIND=1.2.3.4\n", None).unwrap_err().contains("no Flume agent"));
}

#[test]
fn replicating_selector_is_a_fan_out() {
    let text = "\
a1.sources = r1
a1.channels = c1 c2
a1.sinks = k1 k2
a1.sources.r1.type = netcat
a1.sources.r1.bind = 0.0.0.0
a1.sources.r1.port = 6666
a1.sources.r1.channels = c1 c2
a1.sources.r1.selector.type = replicating
a1.channels.c1.type = memory
a1.channels.c1.capacity = 1000
a1.channels.c1.transactionCapacity = 100
a1.channels.c2.type = memory
a1.sinks.k1.type = logger
a1.sinks.k1.channel = c1
a1.sinks.k2.type = file_roll
a1.sinks.k2.sink.directory = /tmp/flume
a1.sinks.k2.channel = c2
";
    let (flow, diags) = import(text);
    assert!(diags.is_empty(), "{diags:?}");
    assert!(flow.contains("source r1 = netcat { address = \"0.0.0.0:6666\" }"), "{flow}");
    assert!(flow.contains("channel c1 = memory { capacity = 1000, transaction_capacity = 100 }"), "{flow}");
    assert!(flow.contains("r1 -> [c1, c2]") && flow.contains("c1 -> k1") && flow.contains("c2 -> k2"), "{flow}");
    assert_eq!(check_codes(&flow).0, Vec::<&str>::new(), "{flow}");
}

#[test]
fn multiplexing_selector_is_a_route_and_interceptors_are_sets() {
    let text = "\
a1.sources = r1
a1.channels = c1 c2 c3
a1.sinks = k1 k2 k3
a1.sources.r1.type = exec
a1.sources.r1.command = tail -F /var/log/app.log
a1.sources.r1.channels = c1 c2 c3
a1.sources.r1.interceptors = i1 i2 i3 i4
a1.sources.r1.interceptors.i1.type = timestamp
a1.sources.r1.interceptors.i2.type = host
a1.sources.r1.interceptors.i2.useIP = false
a1.sources.r1.interceptors.i3.type = static
a1.sources.r1.interceptors.i3.key = state
a1.sources.r1.interceptors.i3.value = CZ
a1.sources.r1.interceptors.i4.type = org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder
a1.sources.r1.selector.type = multiplexing
a1.sources.r1.selector.header = state
a1.sources.r1.selector.mapping.CZ = c1
a1.sources.r1.selector.mapping.US = c2 c3
a1.sources.r1.selector.default = c3
a1.channels.c1.type = memory
a1.channels.c2.type = file
a1.channels.c3.type = memory
a1.sinks.k1.type = logger
a1.sinks.k1.channel = c1
a1.sinks.k2.type = hdfs
a1.sinks.k2.hdfs.path = /data/%Y-%m-%d/
a1.sinks.k2.channel = c2
a1.sinks.k3.type = logger
a1.sinks.k3.channel = c3
";
    let (flow, diags) = import(text);
    // The only note: the route reads a header, which must be a field (here the static interceptor sets it).
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(diags[0].message.contains("header `state`"), "{diags:?}");
    assert!(flow.contains("| set ts = now(), host = hostname(), state = \"CZ\", id = uuid()"), "{flow}");
    assert!(flow.contains("-> route {"), "{flow}");
    assert!(flow.contains("state == \"CZ\" => c1"), "{flow}");
    assert!(flow.contains("state == \"US\" => [c2, c3]"), "{flow}");
    assert!(flow.contains("else          => c3"), "{flow}");
    // The HDFS sink buckets by the timestamp interceptor's field.
    assert!(flow.contains("time_field = ts"), "{flow}");
    assert_eq!(check_codes(&flow).0, Vec::<&str>::new(), "{flow}");
}

#[test]
fn failover_and_load_balance_sink_groups() {
    let text = "\
a1.sources = r1
a1.channels = c1 c2
a1.sinks = k1 k2 k3 k4
a1.sinkgroups = g1 g2
a1.sources.r1.type = spooldir
a1.sources.r1.spoolDir = /var/spool
a1.sources.r1.channels = c1 c2
a1.channels.c1.type = file
a1.channels.c2.type = memory
a1.sinks.k1.type = logger
a1.sinks.k1.channel = c1
a1.sinks.k2.type = logger
a1.sinks.k2.channel = c1
a1.sinks.k3.type = logger
a1.sinks.k3.channel = c2
a1.sinks.k4.type = logger
a1.sinks.k4.channel = c2
a1.sinkgroups.g1.sinks = k1 k2
a1.sinkgroups.g1.processor.type = failover
a1.sinkgroups.g1.processor.priority.k1 = 5
a1.sinkgroups.g1.processor.priority.k2 = 10
a1.sinkgroups.g1.processor.maxpenalty = 10000
a1.sinkgroups.g2.sinks = k3 k4
a1.sinkgroups.g2.processor.type = load_balance
a1.sinkgroups.g2.processor.backoff = true
a1.sinkgroups.g2.processor.selector = random
";
    let (flow, diags) = import(text);
    assert!(diags.is_empty(), "{diags:?}");
    // Highest priority first.
    assert!(flow.contains("sink g1 = failover { sinks = [k2, k1], max_penalty = 10s }"), "{flow}");
    assert!(flow.contains("sink g2 = load_balance { sinks = [k3, k4], selector = random, backoff = true }"), "{flow}");
    assert!(flow.contains("c1 -> g1") && flow.contains("c2 -> g2"), "{flow}");
    assert!(!flow.contains("-> k1"), "a group member is fed directly:\n{flow}");
    assert_eq!(check_codes(&flow).0, Vec::<&str>::new(), "{flow}");
}

#[test]
fn sinks_competing_for_a_channel_become_a_load_balance_group() {
    let text = "\
a1.sources = r1
a1.channels = c1
a1.sinks = k1 k2
a1.sources.r1.type = seq
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = logger
a1.sinks.k1.channel = c1
a1.sinks.k2.type = logger
a1.sinks.k2.channel = c1
";
    let (flow, diags) = import(text);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(flow.contains("sink c1_sinks = load_balance { sinks = [k1, k2] }"), "{flow}");
    assert!(flow.contains("r1 -> c1 -> c1_sinks"), "{flow}");
    assert_eq!(check_codes(&flow).0, Vec::<&str>::new(), "{flow}");
}

#[test]
fn what_flume_ignores_is_reported_with_its_line() {
    let text = "\
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = spooldir
a1.sources.r1.spoolDri = /var/spool
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = lots
a1.sinks.k1.type = logger
a1.sinks.k1.channel = c1
a1.sinks.k2.type = logger
a1.channel.c9.type = memory
a1.channels = c1
";
    let (flow, diags) = import(text);
    let got: Vec<(usize, bool)> = diags.iter().map(|d| (d.line, d.message.contains("Flume"))).collect();
    // spoolDri (typo), capacity = lots, k2 not listed, `channel` section, channels given twice.
    assert_eq!(lines(&diags), vec![5, 8, 11, 12, 13], "{diags:#?}");
    assert!(got.iter().all(|g| g.1), "{diags:#?}");
    assert!(flow.contains("// line 5: spoolDri = /var/spool (not imported)"), "{flow}");
    // spooldir's `dir` is required: the typo is an error in flowc, where Flume silently ignored it.
    assert_eq!(check_codes(&flow).0, vec!["E0303"], "{flow}");
}

#[test]
fn properties_syntax_continuations_colons_and_escapes() {
    let text = "\
! a comment
a1.sources:r1
a1.channels c1
a1.sinks = k1
a1.sources.r1.type = exec
a1.sources.r1.command = tail \\
    -F /var/log/a\\u0062c.log
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = logger
a1.sinks.k1.channel = c1
";
    let (flow, diags) = import(text);
    assert!(diags.is_empty(), "{diags:?}");
    assert!(flow.contains("command = \"tail -F /var/log/abc.log\""), "{flow}");
    assert_eq!(check_codes(&flow).0, Vec::<&str>::new(), "{flow}");
}

fn upstream(name: &str) -> String {
    agent_file(&format!("upstream/{name}"))
}

#[test]
fn flumes_template_imports_and_checks_clean() {
    let (flow, diags) = import(&upstream("flume-conf.properties.template"));
    assert!(diags.is_empty(), "{diags:?}");
    assert!(flow.contains("source seqGenSrc = generator { mode = sequence }"), "{flow}");
    assert!(flow.contains("seqGenSrc -> memoryChannel -> loggerSink"), "{flow}");
    assert_eq!(check_codes(&flow).0, Vec::<&str>::new(), "{flow}");
}

#[test]
fn flumes_broken_agents_are_reported_line_by_line() {
    let text = upstream("flume-conf.properties");
    let err = translate(&text, None).unwrap_err();
    assert!(err.contains("host1, host2, host3, host4, host5"), "{err}");

    // host1: seq -> memory -> null imports whole.
    let (flow, diags) = translate(&text, Some("host1")).unwrap();
    assert!(diags.is_empty(), "{diags:#?}");
    assert!(flow.contains("source source1 = generator { mode = sequence }"), "{flow}");
    assert!(flow.contains("= null"), "{flow}");
    assert_eq!(check_codes(&flow).0, Vec::<&str>::new(), "{flow}");

    // host4: src1 configured but not listed, ch2 of an unknown type, ch3 not listed.
    let (_, diags) = translate(&text, Some("host4")).unwrap();
    assert!([78, 79, 81, 86, 87].iter().all(|l| lines(&diags).contains(l)), "{diags:#?}");

    // host5: a sink group whose keys say `policy` where Flume reads `processor`.
    let (_, diags) = translate(&text, Some("host5")).unwrap();
    for line in [98, 101, 103, 106, 108, 111, 112, 113, 114] {
        assert!(lines(&diags).contains(&line), "line {line} not reported: {diags:#?}");
    }
    assert!(diags.iter().any(|d| d.line == 112 && d.message.contains("processor")), "{diags:#?}");
}

#[test]
fn environment_variables_and_duplicate_keys() {
    let (flow, diags) = import(&upstream("flume-conf-with-envvars.properties"));
    assert!(flow.contains("address = \"0.0.0.0:${NC_PORT}\""), "{flow}");
    assert!(flow.contains("byte_capacity        = 800000B"), "{flow}");
    // The address from the environment, an option with no equivalent, `a1.channels` given twice.
    assert_eq!(lines(&diags), vec![22, 29, 32], "{diags:#?}");
    let (_, diags) = import(&upstream("flume-conf-init.properties"));
    // Two sources and a sink of test-only classes; their two channels are left unconnected and removed.
    assert_eq!(lines(&diags), vec![31, 36, 40, 43, 46], "{diags:#?}");
}

#[test]
fn taildir_http_kafka_compressed_hdfs_and_a_regex_filter() {
    let text = "\
a1.sources = r1 r2 r3
a1.channels = c1
a1.sinks = k1 k2 k3
a1.sinkgroups = g1
a1.sources.r1.type = TAILDIR
a1.sources.r1.filegroups = f1
a1.sources.r1.filegroups.f1 = /var/log/test1/example.log
a1.sources.r1.positionFile = /var/log/flume/taildir_position.json
a1.sources.r1.channels = c1
a1.sources.r1.interceptors = i1
a1.sources.r1.interceptors.i1.type = regex_filter
a1.sources.r1.interceptors.i1.regex = ^DEBUG\\\\s
a1.sources.r1.interceptors.i1.excludeEvents = true
a1.sources.r2.type = http
a1.sources.r2.port = 5140
a1.sources.r2.channels = c1
a1.sources.r3.type = org.apache.flume.source.kafka.KafkaSource
a1.sources.r3.kafka.bootstrap.servers = localhost:9092
a1.sources.r3.kafka.topics = test1
a1.sources.r3.kafka.consumer.group.id = custom.g.id
a1.sources.r3.channels = c1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = /mnt/flume/checkpoint
a1.channels.c1.dataDirs = /mnt/flume/data
a1.sinks.k1.type = hdfs
a1.sinks.k1.channel = c1
a1.sinks.k1.hdfs.path = /flume/events/%y-%m-%d/%H%M/%S
a1.sinks.k1.hdfs.round = true
a1.sinks.k1.hdfs.roundValue = 10
a1.sinks.k1.hdfs.roundUnit = minute
a1.sinks.k1.hdfs.fileType = CompressedStream
a1.sinks.k1.hdfs.codeC = gzip
a1.sinks.k1.hdfs.useLocalTimeStamp = true
a1.sinks.k2.type = org.apache.flume.sink.kafka.KafkaSink
a1.sinks.k2.kafka.topic = mytopic
a1.sinks.k2.kafka.bootstrap.servers = localhost:9092
a1.sinks.k2.kafka.producer.acks = -1
a1.sinks.k2.channel = c1
a1.sinks.k3.type = logger
a1.sinks.k3.maxBytesToLog = 1024
a1.sinks.k3.channel = c1
a1.sinkgroups.g1.sinks = k1 k2 k3
a1.sinkgroups.g1.processor.type = load_balance
a1.sinkgroups.g1.processor.selector.maxTimeOut = 30000
";
    let (flow, diags) = import(text);
    assert_eq!(lines(&diags), vec![8, 23], "{diags:#?}");
    assert!(diags[0].message.contains("positions") && diags[1].message.contains("`dir`"), "{diags:#?}");
    for expected in [
        "path = \"/var/log/test1/example.log\"",
        "| where line !~ \"^DEBUG\\\\s\"",
        "source r2 = http { address = \"0.0.0.0:5140\" }",
        "source r3 = kafka {\n  brokers = [\"localhost:9092\"]\n  topics  = [\"test1\"]\n  group   = \"custom.g.id\"\n  format  = lines\n}",
        "dir = \"/mnt/flume/data\"",
        "round          = 10m",
        "compression    = gzip",
        "sink k2 = kafka { brokers = [\"localhost:9092\"], topic = \"mytopic\", acks = all }",
        "sink k3 = logger { max_bytes = 1KiB }",
        "sink g1 = load_balance { sinks = [k1, k2, k3], max_backoff = 30s }",
        "c1 -> g1",
    ] {
        assert!(flow.contains(expected), "missing `{expected}` in\n{flow}");
    }
    // Flume's HTTP source binds every interface: kept as it was, and W0008 says so.
    assert_eq!(check_codes(&flow), (Vec::new(), 1), "{flow}");
}

/// Every agent of a properties file translated, with its notes: what a snapshot of the file holds.
fn import_all(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::new();
    for agent in flowc::import::agents(&text) {
        let (flow, diags) = translate(&text, Some(&agent)).unwrap();
        out.push_str(&format!("==== agent {agent}\n{flow}"));
        for d in &diags {
            out.push_str(&format!("-- line {}: {}\n", d.line, d.message));
        }
    }
    out
}

fn assert_import_snapshot(path: &Path) {
    let stem = path.file_stem().unwrap().to_str().unwrap().replace(['.', '-'], "_");
    insta::with_settings!({ snapshot_path => "import/snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(stem, import_all(path));
    });
}

#[test]
fn every_agent_file_imports_as_its_snapshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import");
    let mut files: Vec<_> = ["", "upstream"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().unwrap().to_str().unwrap().contains(".properties"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 7, "{files:?}");
    for path in files {
        assert_import_snapshot(&path);
    }
}

/// The seed-style Flume Kafka agents under examples/flume/: each agent imports as its snapshot, and
/// `flowc check` accepts every translation (exit 0; warnings allowed).
#[test]
fn flume_kafka_examples_import_and_check() {
    let dir = tempfile::tempdir().unwrap();
    for (file, agents) in [("kafka_agent.properties", &["a1", "a2"][..]), ("kafka_channel.properties", &["a1"])] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/flume").join(file);
        assert_eq!(flowc::import::agents(&std::fs::read_to_string(&path).unwrap()), agents, "{file}");
        assert_import_snapshot(&path);
        for agent in agents {
            let target = dir.path().join(format!("{agent}.flow"));
            let out = flowc(&["import", path.to_str().unwrap(), "--agent", agent, "-o", target.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
            let check = flowc(&["check", target.to_str().unwrap()]);
            assert_eq!(
                check.status.code(),
                Some(0),
                "{file} agent {agent}:\n{}\n{}",
                std::fs::read_to_string(&target).unwrap(),
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
}

#[test]
fn a_kafka_channel_without_topic_or_group_takes_flumes_defaults() {
    let text = "\
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.channels = c1
a1.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel
a1.channels.c1.kafka.bootstrap.servers = kafka1:9092
a1.sinks.k1.type = logger
a1.sinks.k1.channel = c1
";
    let (flow, diags) = import(text);
    // Flume's default topic `flume-channel` is no flowc name: the declaration says which name is used.
    assert_eq!(lines(&diags), vec![6], "{diags:#?}");
    assert!(diags[0].message.contains("`flume-channel`") && diags[0].message.contains("`flume_channel`"), "{diags:?}");
    assert!(flow.contains("topic flume_channel { brokers = [\"kafka1:9092\"] }"), "{flow}");
    assert!(flow.contains("r1 -> flume_channel\nflume_channel -> group \"flume\" -> k1"), "{flow}");
    assert_eq!(check_codes(&flow).0, Vec::<&str>::new(), "{flow}");

    // Without brokers the topic stays in the embedded log, and the import says so.
    let (flow, diags) = import(&text.replace("a1.channels.c1.kafka.bootstrap.servers = kafka1:9092\n", ""));
    assert!(diags.iter().any(|d| d.line == 6 && d.message.contains("kafka.bootstrap.servers")), "{diags:#?}");
    assert!(flow.contains("topic flume_channel {}"), "{flow}");
}
