//! A failed test in words: per `expect`, per event, per field, what was expected and what arrived,
//! values written as `.flow` literals.

use flowc_runtime::exec::testing::Observed;
use serde_json::Value as Json;
use std::fmt::Write as _;

/// The differences of every `expect` that does not hold; empty when the test passed.
pub(super) fn report(observed: &[Observed]) -> String {
    let mut out = String::new();
    for o in observed {
        let lines = differences(o);
        if lines.is_empty() {
            continue;
        }
        let (want, got) = (o.expected.len(), o.actual.len());
        let _ = writeln!(out, "expect `{}`: {want} event{} expected, {got} arrived", o.node, s(want),);
        for line in lines {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

fn s(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// One line per event that differs (events are compared in order).
fn differences(o: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..o.expected.len().max(o.actual.len()) {
        let n = i + 1;
        match (o.expected.get(i), o.actual.get(i)) {
            (Some(want), Some(got)) => {
                let fields = field_differences(want, got);
                if !fields.is_empty() {
                    out.push(format!("event {n}: {}", literal(got)));
                    out.extend(fields.into_iter().map(|f| format!("  {f}")));
                }
            }
            (Some(want), None) => out.push(format!("event {n}: expected {}, nothing arrived", literal(want))),
            (None, Some(got)) => out.push(format!("event {n}: not expected, arrived {}", literal(got))),
            (None, None) => {}
        }
    }
    out
}

/// The fields `want` lists whose value in `got` differs (fields `want` leaves out are not compared).
fn field_differences(want: &Json, got: &Json) -> Vec<String> {
    let (Json::Object(want), Json::Object(got)) = (want, got) else {
        return if want == got { Vec::new() } else { vec![format!("expected {}", literal(want))] };
    };
    let mut out = Vec::new();
    for (field, value) in want {
        let actual = got.get(field).unwrap_or(&Json::Null);
        if !same(value, actual) {
            out.push(format!("{field}: expected {}, got {}", literal(value), literal(actual)));
        }
    }
    out
}

/// Equal values; numbers by value (`200` and `200.0` are the same).
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// A value as a `.flow` literal; a record that is only a `line` as that line.
pub(super) fn literal(value: &Json) -> String {
    match value {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => quoted(s),
        Json::Array(items) => format!("[{}]", items.iter().map(literal).collect::<Vec<_>>().join(", ")),
        Json::Object(map) if map.len() == 1 && map.get("line").is_some_and(Json::is_string) => literal(&map["line"]),
        Json::Object(map) if map.is_empty() => "{}".into(),
        Json::Object(map) => {
            let fields: Vec<String> = map.iter().map(|(k, v)| format!("{k} = {}", literal(v))).collect();
            format!("{{ {} }}", fields.join(", "))
        }
    }
}

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn observed(expected: Vec<Json>, actual: Vec<Json>) -> Observed {
        Observed { node: "out".into(), expected, actual }
    }

    #[test]
    fn listed_fields_are_compared_and_others_not() {
        let o = observed(vec![json!({ "status": 200 })], vec![json!({ "status": 200, "path": "/" })]);
        assert_eq!(report(&[o]), "");
        let o = observed(vec![json!({ "status": 200 })], vec![json!({ "status": 404, "path": "/" })]);
        assert_eq!(
            report(&[o]),
            "expect `out`: 1 event expected, 1 arrived\n  event 1: { path = \"/\", status = 404 }\n    status: expected 200, got 404\n"
        );
    }

    #[test]
    fn missing_and_extra_events_are_named() {
        let o = observed(vec![json!({ "line": "a" }), json!({ "line": "b\"" })], vec![json!({ "line": "a" })]);
        assert_eq!(
            report(&[o]),
            "expect `out`: 2 events expected, 1 arrived\n  event 2: expected \"b\\\"\", nothing arrived\n"
        );
        let o = observed(vec![], vec![json!({ "status": 1.5 })]);
        assert_eq!(
            report(&[o]),
            "expect `out`: 0 events expected, 1 arrived\n  event 1: not expected, arrived { status = 1.5 }\n"
        );
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(same(&json!(200), &json!(200.0)));
        assert!(!same(&json!(200), &json!("200")));
    }
}
