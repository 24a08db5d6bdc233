//! `parse csv`: columns fill the type's fields in order, or by the header's names with
//! `header = true` (the header line is skipped every time it comes, as at the top of each spooled
//! file); quoted fields, another delimiter, empty optional fields as null; rows that do not fit go
//! to the dead-letter target.

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
fn columns_fill_fields_in_order_and_misfits_are_dead_letters() {
    let s = Scratch::new();
    s.write(
        "csv.flow",
        r#"
type Row = { user: string, amount: float, currency: string?, note: string }
source input = stdin {}
sink out = files { path = "out/", format = json }
sink bad = files { path = "bad/" }
input | parse csv as Row else -> bad -> out
"#,
    );
    let input = concat!(
        "ann,2.5,EUR,plain\n",
        "\"bob, jr\",10,,\"said \"\"hi\"\"\"\n",
        "cid,not a number,USD,x\n",
        "dan,1,USD,x,one too many\n",
        "eve,3,\"unclosed\n",
        "fay,4\n",
    );
    let out = s.run("csv.flow", input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let rows = json_lines(&s, "out/0.json");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0], serde_json::json!({"user": "ann", "amount": 2.5, "currency": "EUR", "note": "plain"}));
    assert_eq!(rows[1]["user"], "bob, jr");
    assert_eq!(rows[1]["currency"], serde_json::Value::Null);
    assert_eq!(rows[1]["note"], "said \"hi\"");
    let bad = std::fs::read_to_string(s.path().join("bad/0.log")).unwrap();
    assert_eq!(
        bad.lines().collect::<Vec<_>>(),
        ["cid,not a number,USD,x", "dan,1,USD,x,one too many", "eve,3,\"unclosed", "fay,4"],
        "a wrong type, too many columns, an open quote, a missing required field"
    );
    assert!(
        stderr.contains("did not parse because field `amount` is missing or not a float: \"cid,not a number,USD,x\""),
        "{stderr}"
    );
}

#[test]
fn a_header_matches_columns_by_name_and_is_skipped_in_every_file() {
    let s = Scratch::new();
    s.write(
        "csv.flow",
        r#"
type Row = { user: string, amount: float, currency: string? }
source spool = spooldir { dir = "in", settle = 0s }
sink out = files { path = "out/", format = json }
spool | parse csv { delimiter = ";", header = true } as Row -> out
"#,
    );
    s.write("in/a.csv", "amount;user;extra\n1.5;ann;x\n2;bob;y\n");
    s.write("in/b.csv", "amount;user;extra\n3;cid;z\n");
    let mut run = s.start("csv.flow");
    let started = std::time::Instant::now();
    while !(s.path().join("in/a.csv.COMPLETED").exists() && s.path().join("in/b.csv.COMPLETED").exists()) {
        assert!(started.elapsed() < PATIENCE, "the files were never completed");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = run.take(0);
    let (status, _, stderr) = run.terminate();
    assert!(status.success(), "{stderr}");
    let mut rows: Vec<(String, f64)> = json_lines(&s, "out/0.json")
        .iter()
        .map(|r| {
            assert_eq!(r["currency"], serde_json::Value::Null, "no such column: null");
            (r["user"].as_str().unwrap().to_string(), r["amount"].as_f64().unwrap())
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(rows, [("ann".to_string(), 1.5), ("bob".to_string(), 2.0), ("cid".to_string(), 3.0)]);
    let parse = stderr.lines().find(|l| l.contains("parse")).unwrap();
    assert!(parse.trim_end().ends_with("errors 0"), "headers are not errors: {stderr}");
}

#[test]
fn a_delimiter_of_more_than_one_character_is_refused_naming_the_node() {
    let s = Scratch::new();
    s.write(
        "csv.flow",
        "type Row = { a: string }\nsource input = stdin {}\nsink o = null {}\ninput | parse csv { delimiter = \";;\" } as Row -> o\n",
    );
    let out = s.run("csv.flow", "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("input|parse") && stderr.contains("`delimiter` must be one character"), "{stderr}");
}
