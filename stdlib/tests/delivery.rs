//! Delivery guarantees reported by `check` follow the connectors' declared guarantees and options.

use flowc_compiler::builtins::Guarantee;
use flowc_compiler::FileId;

fn paths(source: &str) -> Vec<(String, Guarantee, String)> {
    let (program, diags) = flowc_compiler::check(FileId(0), source, flowc_stdlib::registry());
    let program = program.unwrap_or_else(|| panic!("{diags:?}"));
    program.paths.into_iter().map(|p| (p.nodes.join(" -> "), p.guarantee, p.reason)).collect()
}

#[test]
fn durable_hops_keep_at_least_once() {
    let got = paths("source t = tail { path = \"a.log\" }\nchannel c = file {}\nsink s = logger {}\nt -> c -> s\n");
    assert_eq!(got[0].0, "t -> c -> s");
    assert_eq!(got[0].1, Guarantee::AtLeastOnce);
}

#[test]
fn a_memory_channel_loses_what_it_holds_on_a_crash() {
    let got = paths("source t = tail { path = \"a.log\" }\nchannel c = memory {}\nsink s = logger {}\nt -> c -> s\n");
    assert_eq!(got[0].1, Guarantee::AtMostOnceOnCrash);
    assert!(got[0].2.contains("channel `c` (memory)"), "{}", got[0].2);
}

#[test]
fn exec_is_best_effort() {
    let got = paths(
        "source e = exec { command = \"tail -F a.log\" }\nchannel c = file {}\nsink s = logger {}\ne -> c -> s\n",
    );
    assert_eq!(got[0].1, Guarantee::BestEffort);
}

#[test]
fn options_that_weaken_a_connector_weaken_the_path() {
    let got = paths(
        "source n = netcat { address = \"127.0.0.1:44444\", ack = false }\n\
         channel c = file { fsync = always }\n\
         sink k = kafka { brokers = \"127.0.0.1:9092\", topic = \"t\", acks = 0 }\n\
         sink l = logger {}\n\
         n -> c -> [k, l]\n",
    );
    let by_path: std::collections::HashMap<_, _> = got.iter().map(|(p, g, r)| (p.as_str(), (*g, r.as_str()))).collect();
    assert_eq!(by_path["n -> c -> k"].0, Guarantee::BestEffort, "{got:?}");
    assert!(by_path["n -> c -> k"].1.contains("acks = 0"), "{got:?}");
    assert_eq!(by_path["n -> c -> l"].0, Guarantee::AtMostOnceOnCrash, "{got:?}");
    assert!(by_path["n -> c -> l"].1.contains("ack = false"), "{got:?}");
    let fsync_never = paths(
        "source t = tail { path = \"a.log\" }\nchannel c = file { fsync = never }\nsink s = logger {}\nt -> c -> s\n",
    );
    assert_eq!(fsync_never[0].1, Guarantee::AtMostOnceOnCrash);
}
