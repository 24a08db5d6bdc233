//! Every format over random bytes (as the sources hand them on: invalid UTF-8 replaced) through a
//! whole batch: each text is a record or a counted rejection, never a panic.

use super::*;
use crate::exec::batch::lines_batch;
use arrow_schema::{Field, Schema};
use proptest::prelude::*;

/// Each format with a type of its own fields: some optional, some not, of several types.
fn formats() -> Vec<(Format, SchemaRef)> {
    let ts = DataType::Timestamp(TimeUnit::Millisecond, Some(UTC.into()));
    let schema = |fields: Vec<Field>| -> SchemaRef { Arc::new(Schema::new(fields)) };
    let access = schema(vec![
        Field::new("host", DataType::Utf8, false),
        Field::new("ts", ts.clone(), true),
        Field::new("method", DataType::Utf8, true),
        Field::new("request", DataType::Utf8, true),
        Field::new("status", DataType::Int64, false),
        Field::new("bytes", DataType::Int64, true),
    ]);
    let mut combined = access.fields().to_vec();
    combined.push(Arc::new(Field::new("agent", DataType::Utf8, false)));
    let combined: SchemaRef = Arc::new(Schema::new(combined));
    let syslog = schema(vec![
        Field::new("ts", ts.clone(), true),
        Field::new("host", DataType::Utf8, true),
        Field::new("pid", DataType::Int64, true),
        Field::new("severity", DataType::Utf8, true),
        Field::new("structured_data", DataType::Utf8, true),
        Field::new("message", DataType::Utf8, false),
    ]);
    let loose = schema(vec![
        Field::new("a", DataType::Utf8, true),
        Field::new("b", DataType::Int64, true),
        Field::new("c", DataType::Float64, true),
        Field::new("d", DataType::Boolean, true),
        Field::new("e", ts, true),
    ]);
    vec![
        (Format::Access(access::Access::new(false, &access).unwrap()), access.clone()),
        (Format::Access(access::Access::new(true, &combined).unwrap()), combined),
        (Format::Syslog(syslog::Syslog::new(&syslog).unwrap()), syslog),
        (Format::Logfmt(logfmt::Logfmt::new(&loose)), loose.clone()),
        (Format::Json(json::Json::new(&loose)), loose.clone()),
        (Format::Csv(csv::Csv::new(None, false).unwrap()), loose.clone()),
        (Format::Regex(regex::Regex::new("^(?P<a>[a-z]+) (?P<b>[0-9]+)").unwrap()), loose),
    ]
}

proptest! {
    #[test]
    fn random_bytes_are_records_or_counted_rejections(lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..20)) {
        let texts: Vec<String> = lines.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect();
        let input = lines_batch(&texts);
        for (format, schema) in formats() {
            let (out, rejected) = parse(&input, "line", &schema, &format, true).unwrap();
            prop_assert_eq!(out.num_rows() as u64 + rejected.count, texts.len() as u64);
            prop_assert_eq!(rejected.lines.len() as u64, rejected.count);
        }
    }
}

#[test]
fn a_null_text_is_rejected_with_its_reason() {
    let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true)]));
    let input = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("line", DataType::Utf8, true)])),
        vec![Arc::new(arrow_array::StringArray::from(vec![None::<&str>]))],
    )
    .unwrap();
    let (out, rejected) = parse(&input, "line", &schema, &Format::Logfmt(logfmt::Logfmt::new(&schema)), false).unwrap();
    assert_eq!((out.num_rows(), rejected.count), (0, 1));
    assert_eq!(rejected.first.as_deref(), Some("the field to parse is null: \"\""));
}
