//! `parse FORMAT as T`: the string field of every record of a batch read by one format (json, csv,
//! regex, combined, common, syslog, logfmt) straight into Arrow builders of the checked type; the
//! records a format rejects counted, and kept as text for a dead-letter target.

mod access;
mod csv;
mod json;
mod logfmt;
pub(crate) mod samples;
mod syslog;
mod time;

#[cfg(test)]
mod tests;

use super::super::batch::{string_bytes, UTC};
use super::super::RunError;
use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, SchemaRef, TimeUnit};
use flowc_compiler::ast;
use std::borrow::Cow;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

pub(crate) use json::Json;
pub(crate) use time::parse_time;

/// How `parse` reads a string.
#[derive(Debug)]
pub(crate) enum Format {
    /// One JSON object; its keys fill the fields of the same name.
    Json(json::Json),
    /// Delimited values, filling the fields in order or by a header's names.
    Csv(csv::Csv),
    /// Named capture groups fill the fields of the same name.
    Regex(regex::Regex),
    /// Apache's common and combined formats, where `-` means absent (null for an optional field, 0
    /// for a number).
    Access(access::Access),
    /// RFC 3164 and RFC 5424 syslog messages.
    Syslog(syslog::Syslog),
    /// `key=value` pairs.
    Logfmt(logfmt::Logfmt),
}

impl Format {
    /// The format of a checked `parse`, reading into `schema`.
    pub(crate) fn build(parse: &ast::Parse, schema: &SchemaRef) -> Result<Format, RunError> {
        let option = |name: &str| {
            parse.options.iter().flat_map(|o| &o.entries).find(|e| e.key.name == name).map(|e| &e.value.kind)
        };
        Ok(match parse.format.name.as_str() {
            "json" => Format::Json(json::Json::new(schema)),
            "csv" => {
                let delimiter = match option("delimiter") {
                    Some(ast::ValueKind::Str(s)) => Some(s.value.as_str()),
                    _ => None,
                };
                let header = matches!(option("header"), Some(ast::ValueKind::Bool(true)));
                Format::Csv(csv::Csv::new(delimiter, header)?)
            }
            "regex" => {
                let pattern = parse.pattern.as_ref().map(|(p, _)| p.value.as_str()).unwrap_or_default();
                Format::Regex(regex::Regex::new(pattern).map_err(|e| RunError::config(format!("invalid regex: {e}")))?)
            }
            "combined" => Format::Access(access::Access::new(true, schema)?),
            "common" => Format::Access(access::Access::new(false, schema)?),
            "syslog" => Format::Syslog(syslog::Syslog::new(schema)?),
            "logfmt" => Format::Logfmt(logfmt::Logfmt::new(schema)),
            other => {
                return Err(RunError::unsupported(format!(
                    "`parse {other}` (json, csv, regex, combined, common, syslog and logfmt run today)"
                )))
            }
        })
    }

    /// Reads one text into `row`, a value per field of `schema` in order, or (formats that can)
    /// straight into the builders `cols`.
    fn fill<'a>(
        &self,
        text: &'a str,
        schema: &SchemaRef,
        row: &mut Vec<Val<'a>>,
        cols: &mut [Col],
        memo: &mut time::Memo,
    ) -> Result<Step, Why> {
        match self {
            Format::Json(json) => json.fill(text, schema, row),
            Format::Csv(csv) => match csv.line(text) {
                // The header line: neither a record nor a rejection.
                csv::Line::Header => Ok(Step::Skip),
                csv::Line::Columns(columns) if csv.fits(&columns, schema.fields().len()) => {
                    for (i, f) in schema.fields().iter().enumerate() {
                        let value = csv.value(&columns, f.name(), i).filter(|v| !(v.is_empty() && f.is_nullable()));
                        let value = value.map(|v| Cow::Owned(v.to_string()));
                        row.push(text_value(value, f, false).map_err(|()| Why::Field(i))?);
                    }
                    Ok(Step::Row)
                }
                csv::Line::Columns(_) => Err(Why::Columns),
                csv::Line::Malformed => Err(Why::Quote),
            },
            Format::Regex(regex) => {
                let caps = regex.captures(text).ok_or(Why::NoMatch)?;
                for (i, f) in schema.fields().iter().enumerate() {
                    let value = caps.name(f.name()).map(|m| Cow::Borrowed(m.as_str()));
                    row.push(text_value(value, f, false).map_err(|()| Why::Field(i))?);
                }
                Ok(Step::Row)
            }
            Format::Access(access) => access.append(text, schema, cols, memo).map(|()| Step::Appended),
            Format::Syslog(syslog) => syslog.fill(text, schema, row),
            Format::Logfmt(logfmt) => logfmt.fill(text, schema, row),
        }
    }
}

/// What one text became.
enum Step {
    /// A value per field, for the builders.
    Row,
    /// Already in the builders.
    Appended,
    /// Neither a record nor a rejection (a CSV header line).
    Skip,
}

/// One field's value, read from a text (borrowed from it where it can be).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Str(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// Text converted to a field's type; `Err(())` when it does not fit. `None` is absent: null for an
/// optional field, a rejection otherwise.
pub(crate) fn text_value<'a>(v: Option<Cow<'a, str>>, field: &Field, log: bool) -> Result<Val<'a>, ()> {
    let dt = field.data_type();
    let v = match v {
        // The Apache formats write `-` for "none": null when optional, 0 bytes.
        Some(v) if log && !matches!(dt, DataType::Utf8) && v.as_bytes() == b"-" => {
            return match (field.is_nullable(), dt) {
                (true, _) => Ok(Val::Null),
                (false, DataType::Int64) => Ok(Val::Int(0)),
                _ => Err(()),
            }
        }
        None => return if field.is_nullable() { Ok(Val::Null) } else { Err(()) },
        Some(v) => v,
    };
    match dt {
        DataType::Utf8 => Ok(Val::Str(v)),
        DataType::Int64 => v.parse().map(Val::Int).map_err(|_| ()),
        DataType::Float64 => v.parse().map(Val::Float).map_err(|_| ()),
        DataType::Boolean => v.parse().map(Val::Bool).map_err(|_| ()),
        DataType::Timestamp(..) => parse_time(&v).map(Val::Int).ok_or(()),
        _ => Err(()),
    }
}

/// Why `parse` rejected a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    Null,
    NotJson,
    NotObject,
    NoMatch,
    Columns,
    Quote,
    NotSyslog,
    NotLogfmt,
    /// The field (by position in the type) is missing and not optional, or its value is not of its type.
    Field(usize),
}

impl Why {
    fn describe(self, schema: &SchemaRef) -> String {
        match self {
            Why::Null => "the field to parse is null".into(),
            Why::NotJson => "it is not JSON".into(),
            Why::NotObject => "it is JSON but not an object".into(),
            Why::NoMatch => "the pattern does not match it".into(),
            Why::Columns => "it has more columns than the type has fields".into(),
            Why::Quote => "a quote in it does not close".into(),
            Why::NotSyslog => "it is not a syslog message (RFC 3164 or RFC 5424)".into(),
            Why::NotLogfmt => "it is not `key=value` pairs".into(),
            Why::Field(i) => {
                let field = schema.field(i);
                let ty = match field.data_type() {
                    DataType::Utf8 => "a string",
                    DataType::Int64 => "an int",
                    DataType::Float64 => "a float",
                    DataType::Boolean => "a bool",
                    _ => "a time",
                };
                format!("field `{}` is missing or not {ty}", field.name())
            }
        }
    }
}

/// The records `parse` rejected: how many, (when asked) their text, a null as the empty string, and
/// why the first was rejected, with its text.
#[derive(Default)]
pub(crate) struct Rejected {
    pub(crate) count: u64,
    pub(crate) lines: Vec<String>,
    pub(crate) first: Option<String>,
}

/// One builder per output column.
enum Col {
    Str(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Ts(TimestampMillisecondBuilder),
}

impl Col {
    fn new(field: &Field, rows: usize, bytes: usize) -> Result<Col, RunError> {
        Ok(match field.data_type() {
            DataType::Utf8 => Col::Str(StringBuilder::with_capacity(rows, bytes)),
            DataType::Int64 => Col::Int(Int64Builder::with_capacity(rows)),
            DataType::Float64 => Col::Float(Float64Builder::with_capacity(rows)),
            DataType::Boolean => Col::Bool(BooleanBuilder::with_capacity(rows)),
            DataType::Timestamp(TimeUnit::Millisecond, _) => Col::Ts(TimestampMillisecondBuilder::with_capacity(rows)),
            other => return Err(RunError::unsupported(format!("`parse` into a field of type {other}"))),
        })
    }

    fn append(&mut self, val: Val<'_>) {
        match (self, val) {
            (Col::Str(b), Val::Str(s)) => b.append_value(s),
            (Col::Str(b), _) => b.append_null(),
            (Col::Int(b), Val::Int(v)) => b.append_value(v),
            (Col::Int(b), _) => b.append_null(),
            (Col::Float(b), Val::Float(v)) => b.append_value(v),
            (Col::Float(b), _) => b.append_null(),
            (Col::Bool(b), Val::Bool(v)) => b.append_value(v),
            (Col::Bool(b), _) => b.append_null(),
            (Col::Ts(b), Val::Int(v)) => b.append_value(v),
            (Col::Ts(b), _) => b.append_null(),
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Col::Str(mut b) => Arc::new(b.finish()),
            Col::Int(mut b) => Arc::new(b.finish()),
            Col::Float(mut b) => Arc::new(b.finish()),
            Col::Bool(mut b) => Arc::new(b.finish()),
            Col::Ts(mut b) => Arc::new(b.finish().with_timezone(UTC)),
        }
    }
}

/// What share of its input's bytes each field took in the last batch a `parse` read, so that the
/// next batch's builders start at about the size they end at instead of growing by doubling.
#[derive(Debug, Default)]
pub(crate) struct Shares(Vec<AtomicU32>);

/// A share's unit: 1/65536 of the input's bytes.
const SHARE_ONE: u64 = 1 << 16;

impl Shares {
    /// Shares for a type of `n_fields` fields, none seen yet.
    pub(crate) fn new(n_fields: usize) -> Shares {
        Shares((0..n_fields).map(|_| AtomicU32::new(0)).collect())
    }

    /// The bytes to reserve for field `i` of a batch of `input` bytes, if a batch was seen before.
    fn bytes(&self, i: usize, input: usize) -> Option<usize> {
        let share = u64::from(self.0.get(i)?.load(Ordering::Relaxed));
        // A sixteenth more than last time, for batches that differ a little.
        (share > 0).then(|| (input as u64 * share / SHARE_ONE + input as u64 * share / SHARE_ONE / 16 + 64) as usize)
    }

    fn remember(&self, columns: &[ArrayRef], input: usize) {
        if input == 0 {
            return;
        }
        for (share, column) in self.0.iter().zip(columns) {
            if let Some(strings) = column.as_string_opt::<i32>() {
                let held = string_bytes(strings).len() as u64 * SHARE_ONE / input as u64;
                share.store(held.clamp(1, SHARE_ONE) as u32, Ordering::Relaxed);
            }
        }
    }
}

/// Parses the string field of every record into the target type. Records that do not match the
/// format, lack a required field or have a value of the wrong type are rejected (counted, and their
/// text kept when `keep`).
pub(crate) fn parse(
    input: &RecordBatch,
    field: &str,
    schema: &SchemaRef,
    format: &Format,
    keep: bool,
) -> Result<(RecordBatch, Rejected), RunError> {
    parse_sized(input, field, schema, format, keep, &Shares::default())
}

/// [`parse`], with the builders sized from what the fields took of the last batch (`shares`, which
/// it updates for the next one).
pub(crate) fn parse_sized(
    input: &RecordBatch,
    field: &str,
    schema: &SchemaRef,
    format: &Format,
    keep: bool,
    shares: &Shares,
) -> Result<(RecordBatch, Rejected), RunError> {
    let source = input
        .column_by_name(field)
        .and_then(|c| c.as_string_opt::<i32>().cloned())
        .ok_or_else(|| RunError::internal(format!("no string field `{field}` to parse")))?;
    let input_bytes = string_bytes(&source).len();
    // Each string column gets its share of the input's bytes up front (an equal one for the first
    // batch): most of a line ends up in some field, so the builders rarely grow.
    let strings = schema.fields().iter().filter(|f| f.data_type() == &DataType::Utf8).count().max(1);
    let mut cols = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| Col::new(f, source.len(), shares.bytes(i, input_bytes).unwrap_or(input_bytes / strings)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rejected = Rejected::default();
    let mut row: Vec<Val> = Vec::with_capacity(cols.len());
    let mut memo = time::Memo::default();
    for text in source.iter() {
        row.clear();
        let step = match text {
            None => Err(Why::Null),
            Some(text) => format.fill(text, schema, &mut row, &mut cols, &mut memo),
        };
        match step {
            Ok(Step::Skip | Step::Appended) => {}
            Ok(Step::Row) => {
                for (col, val) in cols.iter_mut().zip(row.drain(..)) {
                    col.append(val);
                }
            }
            Err(why) => {
                if rejected.count == 0 {
                    let text: String = text.unwrap_or_default().chars().take(200).collect();
                    rejected.first = Some(format!("{}: {text:?}", why.describe(schema)));
                }
                rejected.count += 1;
                if keep {
                    rejected.lines.push(text.unwrap_or_default().to_string());
                }
            }
        }
    }
    let columns: Vec<ArrayRef> = cols.into_iter().map(Col::finish).collect();
    shares.remember(&columns, input_bytes);
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(RunError::eval)?;
    Ok((batch, rejected))
}
