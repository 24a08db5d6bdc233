//! Every format with a type of its own, for the property tests and the fuzz targets: the same
//! entry points over the same formats.

use super::{access, csv, json, logfmt, syslog, Format};
use crate::exec::batch::UTC;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::Arc;

/// Each format with a type of its own fields: some optional, some not, of several types.
pub(crate) fn formats() -> Vec<(Format, SchemaRef)> {
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
        (Format::Access(access::Access::new(false, &access).expect("a fixed sample format")), access.clone()),
        (Format::Access(access::Access::new(true, &combined).expect("a fixed sample format")), combined),
        (Format::Syslog(syslog::Syslog::new(&syslog).expect("a fixed sample format")), syslog),
        (Format::Logfmt(logfmt::Logfmt::new(&loose)), loose.clone()),
        (Format::Json(json::Json::new(&loose)), loose.clone()),
        (Format::Csv(csv::Csv::new(None, false).expect("a fixed sample format")), loose.clone()),
        (Format::Regex(regex::Regex::new("^(?P<a>[a-z]+) (?P<b>[0-9]+)").expect("a fixed sample format")), loose),
    ]
}
