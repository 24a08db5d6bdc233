//! Routing (Flume's multiplexing selector) runs: each record goes to the targets of the first arm whose
//! condition holds, a fan-out arm to all of its targets, `else` takes the rest; every record once.

mod run_common;

use run_common::*;

#[test]
fn each_record_goes_to_the_first_matching_arm() {
    let s = Scratch::new();
    s.write(
        "route.flow",
        r#"
type Event = { level: string, service: string, n: int }

source events = stdin {}
sink pager  = logger {}
sink errors = files { path = "out/errors/", format = json }
sink rest   = files { path = "out/rest/", format = json }

events | parse json as Event -> route {
  level == "fatal"            => [pager, errors]
  level in ["error", "warn"]  => errors
  else                        => rest
}
"#,
    );
    let levels = ["info", "fatal", "warn", "error", "debug"];
    let mut input = String::new();
    for n in 0..50 {
        let level = levels[n % levels.len()];
        input.push_str(&format!("{{\"level\":\"{level}\",\"service\":\"s{}\",\"n\":{n}}}\n", n % 3));
    }
    let out = s.run("route.flow", &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let ns = |rel: &str| -> Vec<i64> {
        let text = std::fs::read_to_string(s.path().join(rel)).unwrap();
        text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["n"].as_i64().unwrap()).collect()
    };
    let with = |wanted: &[&str]| -> Vec<i64> {
        (0..50).filter(|n| wanted.contains(&levels[*n as usize % levels.len()])).collect()
    };
    assert_eq!(tree(&s.path().join("out")), ["errors/0.json", "rest/0.json"]);
    assert_eq!(ns("out/errors/0.json"), with(&["fatal", "warn", "error"]));
    assert_eq!(ns("out/rest/0.json"), with(&["info", "debug"]));
    let pager: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    let fatal: Vec<String> = with(&["fatal"]).iter().map(|n| format!("level=fatal service=s{} n={n}", n % 3)).collect();
    assert_eq!(pager, fatal);
}
