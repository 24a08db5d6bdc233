//! `to_int`, `to_float` and `parse_timestamp` in `set`, `where` and `route`: text read as values;
//! a record whose text does not read is malformed — counted and dropped like a record `parse`
//! rejects — while the others in its batch go on.

mod run_common;

use run_common::*;

fn json_lines(s: &Scratch, rel: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(s.path().join(rel))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn text_becomes_numbers_and_times_and_malformed_records_are_counted() {
    let s = Scratch::new();
    s.write(
        "convert.flow",
        r#"
type Raw = { user: string, amount: string, when: string }
source input = stdin { batch_size = 100 }
sink out = files { path = "out/", format = json }
input
  | parse json as Raw
  | set cents = to_int(amount), half = to_float(amount) / 2, at = parse_timestamp(when, "%d/%m/%Y %H:%M")
  -> out
"#,
    );
    let input = [
        r#"{"user":"a","amount":"42","when":"25/11/2026 13:05"}"#,
        r#"{"user":"b","amount":"forty","when":"25/11/2026 13:05"}"#,
        r#"{"user":"c","amount":" 7 ","when":"01/01/2000 00:00"}"#,
        r#"{"user":"d","amount":"3","when":"yesterday"}"#,
    ]
    .join("\n")
        + "\n";
    let out = s.run("convert.flow", &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let rows = json_lines(&s, "out/0.json");
    assert_eq!(rows.len(), 2, "{rows:?}\n{stderr}");
    assert_eq!(rows[0]["user"], "a");
    assert_eq!(rows[0]["cents"], 42);
    assert_eq!(rows[0]["half"], 21.0);
    assert_eq!(rows[0]["at"], "2026-11-25T13:05:00.000Z");
    assert_eq!(rows[1]["user"], "c");
    assert_eq!(rows[1]["cents"], 7);
    assert_eq!(rows[1]["half"], 3.5);
    assert_eq!(rows[1]["at"], "2000-01-01T00:00:00.000Z");
    // `forty` is no int and `yesterday` no time: two malformed records, counted on the `set`.
    let set = stderr.lines().find(|l| l.contains("| set") || l.contains(" set ")).unwrap_or_default();
    let name = set.split_whitespace().next().unwrap_or_default();
    assert_eq!(node_counts(&stderr, name), (4, 2, 2), "{stderr}");
}

#[test]
fn where_and_route_read_text_and_drop_only_the_malformed() {
    let s = Scratch::new();
    s.write(
        "filter.flow",
        r#"
source input = stdin { batch_size = 100 }
sink big = files { path = "out/big/" }
sink small = files { path = "out/small/" }
sink positive = files { path = "out/positive/" }
input -> route {
  to_int(line) >= 100 => big
  else                => small
}
input | where to_float(line) > 0 -> positive
"#,
    );
    let out = s.run("filter.flow", "5\n500\nx\n-2.5\n100\n\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines = |rel: &str| -> Vec<String> {
        std::fs::read_to_string(s.path().join(rel)).unwrap_or_default().lines().map(str::to_string).collect()
    };
    assert_eq!(lines("out/big/0.log"), ["500", "100"]);
    // `-2.5` is a float, not an int: malformed for `to_int`, like `x` and the empty line.
    assert_eq!(lines("out/small/0.log"), ["5"]);
    assert_eq!(lines("out/positive/0.log"), ["5", "500", "100"]);
}
