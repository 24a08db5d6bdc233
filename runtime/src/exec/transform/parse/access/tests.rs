//! The scanner against the regular expressions it replaced (kept here as the oracle), on generated
//! lines and on the real-world lines the regular expressions rejected or read wrongly.

use super::super::{parse, text_value, Col, Format, Val};
use super::*;
use crate::exec::batch::lines_batch;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use proptest::prelude::*;
use std::sync::Arc;

/// The regular expression `parse combined` / `parse common` ran before the scanner.
fn oracle_regex(combined: bool) -> regex::Regex {
    let common = r#"^(?P<host>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<ts>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+)(?: (?P<protocol>[^"]*))?" (?P<status>\d{3}) (?P<bytes>\d+|-)"#;
    let pattern = if combined {
        format!(r#"{common} "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)""#)
    } else {
        common.into()
    };
    regex::Regex::new(&pattern).unwrap()
}

/// What the regular expression made of a line: a value per field, or `None` when it rejected it.
fn oracle<'a>(re: &regex::Regex, text: &'a str, schema: &SchemaRef) -> Option<Vec<Val<'a>>> {
    let caps = re.captures(text)?;
    schema
        .fields()
        .iter()
        .map(|f| text_value(caps.name(f.name()).map(|m| Cow::Borrowed(m.as_str())), f, true).ok())
        .collect()
}

/// What the scanner made of a line, read back from the batch `parse` built of it.
fn scanned(access: &Access, text: &str, schema: &SchemaRef) -> Option<Vec<Val<'static>>> {
    scanned_with(access, text, schema, &mut Memo::default())
}

/// [`scanned`], with the memo of the lines read before.
fn scanned_with(access: &Access, text: &str, schema: &SchemaRef, memo: &mut Memo) -> Option<Vec<Val<'static>>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, TimestampMillisecondType};
    let mut cols = schema.fields().iter().map(|f| Col::new(f, 1, text.len())).collect::<Result<Vec<_>, _>>().unwrap();
    access.append(text, schema, &mut cols, memo).ok()?;
    let columns: Vec<_> = cols.into_iter().map(Col::finish).collect();
    let value = |c: &dyn arrow_array::Array| match c.data_type() {
        _ if c.is_null(0) => Val::Null,
        DataType::Utf8 => Val::Str(Cow::Owned(c.as_string::<i32>().value(0).to_string())),
        DataType::Int64 => Val::Int(c.as_primitive::<Int64Type>().value(0)),
        DataType::Float64 => Val::Float(c.as_primitive::<Float64Type>().value(0)),
        DataType::Boolean => Val::Bool(c.as_boolean().value(0)),
        _ => Val::Int(c.as_primitive::<TimestampMillisecondType>().value(0)),
    };
    Some(columns.iter().map(|c| value(c.as_ref())).collect())
}

fn schema(fields: &[(&str, DataType, bool)]) -> SchemaRef {
    Arc::new(Schema::new(fields.iter().map(|(n, t, o)| Field::new(*n, t.clone(), *o)).collect::<Vec<_>>()))
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// The combined format's fields, all required but `bytes` (as the benchmarks declare them).
fn combined_schema(optional_request: bool) -> SchemaRef {
    use DataType::{Int64, Utf8};
    schema(&[
        ("host", Utf8, false),
        ("ident", Utf8, false),
        ("user", Utf8, false),
        ("ts", ts(), false),
        ("method", Utf8, optional_request),
        ("path", Utf8, optional_request),
        ("protocol", Utf8, optional_request),
        ("status", Int64, false),
        ("bytes", Int64, true),
        ("referer", Utf8, false),
        ("agent", Utf8, false),
    ])
}

fn schemas(combined: bool) -> Vec<SchemaRef> {
    use DataType::{Int64, Utf8};
    let mut all = vec![
        combined_schema(false),
        combined_schema(true),
        schema(&[("host", Utf8, false), ("status", Int64, false), ("bytes", Int64, false)]),
        schema(&[("ts", ts(), true), ("protocol", Utf8, true), ("user", Int64, true), ("host", Utf8, true)]),
        // Types the log does not suggest: read by `text_value` as any other format's text.
        schema(&[("status", DataType::Float64, false), ("bytes", DataType::Boolean, true), ("user", ts(), true)]),
    ];
    if !combined {
        all = all
            .into_iter()
            .map(|s| {
                Arc::new(Schema::new(
                    s.fields()
                        .iter()
                        .filter(|f| !matches!(f.name().as_str(), "referer" | "agent"))
                        .cloned()
                        .collect::<Vec<_>>(),
                ))
            })
            .collect();
    }
    all
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-".to_string()),
        "[a-z0-9.:-]{1,12}",
        "(192|203)\\.0\\.(2|113)\\.[0-9]{1,3}",
        "2001:db8(:[0-9a-f]{1,4}){1,5}(::1)?",
        "[^\\s\\[\\]\"\\\\]{1,6}",
    ]
}

fn time_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (1u32..32, 0usize..12, 1990u32..2040, 0u32..24, 0u32..60, 0u32..61, "[+-](0[0-9]|1[0-4])(00|30|45)").prop_map(
            |(d, m, y, h, mi, s, off)| {
                let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][m];
                format!("{d:02}/{month}/{y}:{h:02}:{mi:02}:{s:02} {off}")
            }
        ),
        1 => Just("-".to_string()),
        1 => Just("2026-01-01T00:00:00Z".to_string()),
        1 => "[^\\]]{1,10}",
    ]
}

fn request() -> impl Strategy<Value = String> {
    let method = prop_oneof![Just("GET".to_string()), Just("POST".to_string()), "[A-Z]{1,7}", "[^\\s\"\\\\]{1,4}"];
    let path = prop_oneof!["/[a-z0-9/._?=&%-]{0,30}", "[^\\s\"\\\\]{1,8}"];
    let protocol = prop_oneof![
        Just(None),
        Just(Some("HTTP/1.1".to_string())),
        Just(Some("HTTP/1.0".to_string())),
        Just(Some(String::new())),
        "[^ \"\\\\]{0,6}".prop_map(Some),
    ];
    (method, path, protocol).prop_map(|(m, p, q)| match q {
        Some(q) => format!("{m} {p} {q}"),
        None => format!("{m} {p}"),
    })
}

fn quoted_text() -> impl Strategy<Value = String> {
    prop_oneof![Just("-".to_string()), Just("Mozilla/5.0 (X11; Linux x86_64)".to_string()), "[^\"\\\\]{0,20}"]
}

prop_compose! {
    fn access_line(combined: bool)(
        host in word(), ident in word(), user in word(), ts in time_text(), request in request(),
        status in "[0-9]{3}", bytes in prop_oneof![Just("-".to_string()), "[0-9]{1,7}"],
        referer in quoted_text(), agent in quoted_text(), tail in prop_oneof![Just(String::new()), " [a-z=0-9 ]{0,10}"],
    ) -> String {
        let common = format!("{host} {ident} {user} [{ts}] \"{request}\" {status} {bytes}");
        if combined { format!("{common} \"{referer}\" \"{agent}\"{tail}") } else { format!("{common}{tail}") }
    }
}

/// Compares the scanner with the oracle on one line (and every prefix of it, which the oracle mostly
/// rejects) for every test type.
fn agree(line: &str, combined: bool) -> Result<(), TestCaseError> {
    let re = oracle_regex(combined);
    for schema in schemas(combined) {
        let access = Access::new(combined, &schema).unwrap();
        prop_assert_eq!(scanned(&access, line, &schema), oracle(&re, line, &schema), "{}", line);
        let cut = line.char_indices().map(|(i, _)| i).nth(line.chars().count() / 2).unwrap_or(0);
        let prefix = &line[..cut];
        prop_assert_eq!(scanned(&access, prefix, &schema), oracle(&re, prefix, &schema), "{}", prefix);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn combined_agrees_with_the_regular_expression(line in access_line(true)) {
        agree(&line, true)?;
    }

    #[test]
    fn common_agrees_with_the_regular_expression(line in access_line(false)) {
        agree(&line, false)?;
        // A combined line is a common line with more after it.
        agree(&format!("{line} \"-\" \"curl/8\""), false)?;
    }

    #[test]
    fn random_text_never_panics_the_scanner(text in any::<String>(), combined in any::<bool>()) {
        for schema in schemas(combined) {
            let access = Access::new(combined, &schema).unwrap();
            let _ = scanned(&access, &text, &schema);
        }
    }
}

const SAMPLE: &str = "203.0.113.9 - frank [10/Oct/2000:13:55:36 -0700]";

fn values(line: &str, schema: &SchemaRef) -> Option<Vec<Val<'static>>> {
    scanned(&Access::new(true, schema).unwrap(), line, schema)
}

fn request_schema(optional: bool) -> SchemaRef {
    use DataType::{Int64, Utf8};
    schema(&[
        ("method", Utf8, optional),
        ("path", Utf8, optional),
        ("protocol", Utf8, optional),
        ("request", Utf8, true),
        ("status", Int64, false),
        ("bytes", Int64, false),
    ])
}

fn s(text: &str) -> Val<'static> {
    Val::Str(Cow::Owned(text.to_string()))
}

#[test]
fn a_dash_or_binary_request_is_a_record_when_method_path_and_protocol_are_optional() {
    let dash = format!(r#"{SAMPLE} "-" 408 - "-" "-""#);
    assert_eq!(
        values(&dash, &request_schema(true)),
        Some(vec![Val::Null, Val::Null, Val::Null, s("-"), Val::Int(408), Val::Int(0)])
    );
    assert_eq!(values(&dash, &request_schema(false)), None);
    let tls = format!(r#"{SAMPLE} "\x16\x03\x01" 400 226 "-" "-""#);
    assert_eq!(
        values(&tls, &request_schema(true)),
        Some(vec![Val::Null, Val::Null, Val::Null, s(r"\x16\x03\x01"), Val::Int(400), Val::Int(226)])
    );
    assert_eq!(values(&tls, &request_schema(false)), None);
    // The regular expression rejected both whatever the type.
    assert!(oracle_regex(true).captures(&dash).is_none() && oracle_regex(true).captures(&tls).is_none());
}

#[test]
fn a_raw_space_stays_in_the_path_and_the_protocol_is_the_last_word() {
    let line = format!(r#"{SAMPLE} "GET /a file.html HTTP/1.1" 200 5 "-" "-""#);
    assert_eq!(
        values(&line, &request_schema(false)),
        Some(vec![
            s("GET"),
            s("/a file.html"),
            s("HTTP/1.1"),
            s("GET /a file.html HTTP/1.1"),
            Val::Int(200),
            Val::Int(5)
        ])
    );
    // HTTP/0.9: no protocol.
    let line = format!(r#"{SAMPLE} "GET /" 200 5 "-" "-""#);
    assert_eq!(
        values(&line, &request_schema(true)),
        Some(vec![s("GET"), s("/"), Val::Null, s("GET /"), Val::Int(200), Val::Int(5)])
    );
    assert_eq!(values(&line, &request_schema(false)), None);
}

#[test]
fn escaped_quotes_and_backslashes_are_undone_in_request_referer_and_agent() {
    use DataType::Utf8;
    let schema = schema(&[("path", Utf8, false), ("referer", Utf8, false), ("agent", Utf8, false)]);
    let line =
        format!(r#"{SAMPLE} "GET /say\"hi\"\\x HTTP/1.1" 200 5 "http://e.com/?q=\"a\"" "Bot \"2\" C:\\bin \x01""#);
    assert_eq!(
        values(&line, &schema),
        Some(vec![s(r#"/say"hi"\x"#), s(r#"http://e.com/?q="a""#), s(r#"Bot "2" C:\bin \x01"#)])
    );
}

#[test]
fn edge_cases_ipv6_dash_bytes_missing_agent_non_utf8_and_overlong_lines() {
    use DataType::{Int64, Utf8};
    let schema = schema(&[("host", Utf8, false), ("bytes", Int64, true), ("agent", Utf8, false)]);
    let line = r#"2001:db8::1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 304 - "-" "curl/8""#;
    assert_eq!(values(line, &schema), Some(vec![s("2001:db8::1"), Val::Null, s("curl/8")]));
    // Referer and agent missing: not a combined line, but a common one.
    let short = r#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 5"#;
    assert_eq!(values(short, &schema), None);
    let common = Access::new(false, &request_schema(false)).unwrap();
    assert!(scanned(&common, short, &request_schema(false)).is_some());
    // What a non-UTF-8 byte becomes on the way in (U+FFFD) is kept as text.
    let bad = r#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET /� HTTP/1.1" 200 5 "-" "Mo�zilla""#;
    assert_eq!(values(bad, &schema), Some(vec![s("192.0.2.1"), Val::Int(5), s("Mo\u{fffd}zilla")]));
    // A megabyte of path.
    let long =
        format!(r#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET /{} HTTP/1.1" 200 5 "-" "x""#, "a".repeat(1 << 20));
    assert_eq!(values(&long, &schema), Some(vec![s("192.0.2.1"), Val::Int(5), s("x")]));
    assert_eq!(values(&long[..long.len() / 2], &schema), None);
}

#[test]
fn a_batch_counts_what_it_rejects_and_keeps_the_rest_in_order() {
    let schema = combined_schema(false);
    let format = Format::Access(Access::new(true, &schema).unwrap());
    let good = format!(r#"{SAMPLE} "GET / HTTP/1.1" 200 5 "-" "-""#);
    let input = lines_batch(&[good.as_str(), "not a log", &format!(r#"{SAMPLE} "-" 408 - "-" "-""#), good.as_str()]);
    let (out, rejected) = parse(&input, "line", &schema, &format, true).unwrap();
    assert_eq!(out.num_rows(), 2);
    assert_eq!(rejected.count, 2);
    assert_eq!(rejected.lines[0], "not a log");
    assert_eq!(rejected.first.as_deref(), Some(r#"the pattern does not match it: "not a log""#));
}

#[test]
fn the_generated_lines_are_mostly_access_lines_so_the_comparison_means_something() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    for combined in [true, false] {
        let re = oracle_regex(combined);
        let schema = combined_schema(true);
        let schema = if combined { schema } else { schemas(false).swap_remove(1) };
        let access = Access::new(combined, &schema).unwrap();
        let mut accepted = 0;
        // One memo across the lines, as a batch reads them.
        let mut memo = Memo::default();
        for _ in 0..2000 {
            let line = access_line(combined).new_tree(&mut runner).unwrap().current();
            let want = oracle(&re, &line, &schema);
            assert_eq!(scanned_with(&access, &line, &schema, &mut memo), want, "{line}");
            accepted += usize::from(want.is_some());
        }
        assert!(accepted > 1000, "only {accepted} of 2000 generated lines were access lines");
    }
}

#[test]
fn status_and_bytes_are_read_as_str_parse_reads_them() {
    for text in
        ["0", "007", "19485", "9223372036854775807", "9223372036854775808", "99999999999999999999", "", "1a", "+1"]
    {
        assert_eq!(decimal(text), text.parse::<i64>().ok().filter(|_| !text.starts_with('+')), "{text:?}");
    }
    // Bytes too large for an int reject the line, as the regular expression's reading did.
    let schema = combined_schema(false);
    let line = format!(r#"{SAMPLE} "GET / HTTP/1.1" 200 99999999999999999999 "-" "-""#);
    assert_eq!(values(&line, &schema), None);
}

#[test]
fn builders_sized_by_the_last_batch_give_the_same_records() {
    let schema = combined_schema(false);
    let format = Format::Access(Access::new(true, &schema).unwrap());
    let shares = super::super::Shares::new(schema.fields().len());
    let line = |i: usize| {
        format!(r#"{SAMPLE} "GET /{} HTTP/1.1" 200 {i} "-" "{}""#, "p".repeat(i % 7), "a".repeat(i * 13 % 200))
    };
    // A small batch first, then one with far longer agents than its shares were measured on.
    for lines in [(0..3).map(line).collect::<Vec<_>>(), (0..500).map(|i| line(i * 31)).collect()] {
        let input = lines_batch(&lines);
        let (sized, _) = super::super::parse_sized(&input, "line", &schema, &format, false, &shares).unwrap();
        // Measured: the next batch's string builders are sized from this one.
        assert!(shares.bytes(10, 1000).is_some_and(|agent| agent > 0), "the agent's share is kept");
        assert_eq!(shares.bytes(7, 1000), None, "status is no string");
        let (plain, _) = parse(&input, "line", &schema, &format, false).unwrap();
        assert_eq!(sized, plain);
    }
}
