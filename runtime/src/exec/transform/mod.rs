//! Transforms between nodes: `where`, `set`, `drop`, `select` and `parse` (json, csv, regex,
//! combined, common), each turning one batch into the next, typed by the node's checked output.

mod csv;

use super::batch::{self, UTC};
use super::expr::{self, Compiled};
use super::RunError;
use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{new_null_array, Array, ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use arrow_select::filter::filter_record_batch;
use flowc_compiler::ast::{ParsePolicy, TransformKind};
use flowc_compiler::graph::Node;
use std::sync::Arc;

/// A transform ready to run.
#[derive(Debug)]
pub struct Transform {
    op: Op,
    /// The checked type of what it emits.
    schema: SchemaRef,
}

#[derive(Debug)]
enum Op {
    Where(Compiled),
    /// Computed fields; every other output field is copied from the input by name.
    Compute(Vec<(String, Compiled)>),
    Parse {
        /// The parse as written: which field it reads follows the incoming batch's fields.
        field: Box<flowc_compiler::ast::Parse>,
        policy: Rejects,
        format: Format,
    },
}

/// What `parse` does with a record it rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejects {
    Drop,
    Fail,
    /// Sent on, as `{ line }`, to the dead-letter target.
    DeadLetter,
}

/// What one batch became: the output, how many input records were rejected (with the first one's
/// reason and text, from `parse`), and (with a dead-letter target) the rejected text as lines.
pub struct Applied {
    pub batch: RecordBatch,
    pub rejected: u64,
    pub first_rejected: Option<String>,
    pub dead: Option<RecordBatch>,
}

impl Transform {
    pub fn build(node: &Node, ast: &flowc_compiler::ast::Transform) -> Result<Transform, RunError> {
        let output =
            node.output.as_ref().ok_or_else(|| RunError::internal(format!("{}: no checked output type", node.name)))?;
        let schema = batch::schema(output)?;
        let op = match &ast.kind {
            TransformKind::Where(cond) => Op::Where(expr::compile(cond)?),
            TransformKind::Set(assignments) => Op::Compute(
                assignments
                    .iter()
                    .map(|a| Ok((a.name.name.clone(), expr::compile(&a.expr)?)))
                    .collect::<Result<_, RunError>>()?,
            ),
            TransformKind::Drop(_) => Op::Compute(Vec::new()),
            TransformKind::Select(items) => Op::Compute(
                items
                    .iter()
                    .filter_map(|item| item.expr.as_ref().map(|e| (item.name.name.clone(), e)))
                    .map(|(name, e)| Ok((name, expr::compile(e)?)))
                    .collect::<Result<_, RunError>>()?,
            ),
            TransformKind::Parse(parse) => {
                let format = match parse.format.name.as_str() {
                    "json" => Format::Json,
                    "csv" => {
                        let option = |name: &str| {
                            parse
                                .options
                                .iter()
                                .flat_map(|o| &o.entries)
                                .find(|e| e.key.name == name)
                                .map(|e| &e.value.kind)
                        };
                        let delimiter = match option("delimiter") {
                            Some(flowc_compiler::ast::ValueKind::Str(s)) => Some(s.value.as_str()),
                            _ => None,
                        };
                        let header = matches!(option("header"), Some(flowc_compiler::ast::ValueKind::Bool(true)));
                        Format::Csv(csv::Csv::new(delimiter, header)?)
                    }
                    "regex" => {
                        let pattern = parse.pattern.as_ref().map(|(p, _)| p.value.as_str()).unwrap_or_default();
                        let regex =
                            regex::Regex::new(pattern).map_err(|e| RunError::config(format!("invalid regex: {e}")))?;
                        Format::Regex { regex, log: false }
                    }
                    "combined" => Format::Regex { regex: log_regex(true), log: true },
                    "common" => Format::Regex { regex: log_regex(false), log: true },
                    other => {
                        return Err(RunError::unsupported(format!(
                            "`parse {other}` (json, csv, regex, combined and common run today)"
                        )))
                    }
                };
                let policy = match &parse.policy {
                    ParsePolicy::Drop => Rejects::Drop,
                    ParsePolicy::Fail => Rejects::Fail,
                    ParsePolicy::DeadLetter(_) => Rejects::DeadLetter,
                    ParsePolicy::Unknown(word) => {
                        return Err(RunError::internal(format!("`else {}` passed the checker", word.name)))
                    }
                };
                let field = Box::new(parse.clone());
                Op::Parse { field, policy, format }
            }
        };
        Ok(Transform { op, schema })
    }

    pub fn apply(&self, input: &RecordBatch) -> Result<Applied, RunError> {
        match &self.op {
            Op::Where(cond) => {
                let (input, malformed) = expr::drop_malformed([cond], input)?;
                let mask = expr::eval_predicate(cond, &input)?;
                let batch = filter_record_batch(&input, &mask).map_err(RunError::eval)?;
                Ok(Applied { batch, rejected: malformed, first_rejected: None, dead: None })
            }
            Op::Compute(fields) => {
                let (input, malformed) = expr::drop_malformed(fields.iter().map(|(_, e)| e), input)?;
                let input = &input;
                let mut computed: Vec<(&str, ArrayRef)> = Vec::with_capacity(fields.len());
                for (name, e) in fields {
                    computed.push((name, expr::eval(e, input)?));
                }
                let mut columns = Vec::with_capacity(self.schema.fields().len());
                for field in self.schema.fields() {
                    let column = match computed.iter().find(|(n, _)| *n == field.name()) {
                        Some((_, c)) => c.clone(),
                        None => input
                            .column_by_name(field.name())
                            .cloned()
                            .ok_or_else(|| RunError::internal(format!("no field `{}` to copy", field.name())))?,
                    };
                    columns.push(conform(column, field.data_type())?);
                }
                let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(RunError::eval)?;
                Ok(Applied { batch, rejected: malformed, first_rejected: None, dead: None })
            }
            Op::Parse { field, policy, format } => {
                let keep = *policy == Rejects::DeadLetter;
                let schema = input.schema();
                let field = field.field(|name| schema.column_with_name(name).is_some());
                let (batch, rejects) = parse(input, &field, &self.schema, format, keep)?;
                let rejected = rejects.count;
                if *policy == Rejects::Fail && rejected > 0 {
                    return Err(RunError::io(format!("{rejected} record(s) did not parse (`else fail`)")));
                }
                let dead = keep.then(|| batch::lines_batch(&rejects.lines)).filter(|b| b.num_rows() > 0);
                Ok(Applied { batch, rejected, first_rejected: rejects.first, dead })
            }
        }
    }
}

/// Makes a computed column fit its declared type (a null literal, an int into a float field).
fn conform(column: ArrayRef, want: &DataType) -> Result<ArrayRef, RunError> {
    if column.data_type() == want {
        return Ok(column);
    }
    match (column.data_type(), want) {
        (DataType::Null, _) => Ok(new_null_array(want, column.len())),
        (DataType::Int64, DataType::Float64) => {
            let ints = column.as_primitive::<Int64Type>();
            Ok(Arc::new(ints.iter().map(|v| v.map(|v| v as f64)).collect::<Float64Array>()))
        }
        (DataType::Timestamp(TimeUnit::Millisecond, _), DataType::Timestamp(TimeUnit::Millisecond, _)) => {
            let ts = column.as_primitive::<arrow_array::types::TimestampMillisecondType>();
            Ok(Arc::new(ts.clone().with_timezone(UTC)))
        }
        (have, _) => Err(RunError::internal(format!("a computed {have} where {want} was checked"))),
    }
}

/// One builder per output column.
enum Col {
    Str(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Ts(TimestampMillisecondBuilder),
}

/// How `parse` reads a string.
#[derive(Debug)]
enum Format {
    /// One JSON object; its keys fill the fields of the same name.
    Json,
    /// Delimited values, filling the fields in order or by a header's names.
    Csv(csv::Csv),
    /// Named capture groups fill the fields of the same name. `log`: the Apache formats, where `-`
    /// means absent (null for an optional field, 0 for a number).
    Regex { regex: regex::Regex, log: bool },
}

/// The Apache common log format, and with `combined` the referer and user agent after it.
fn log_regex(combined: bool) -> regex::Regex {
    let common = r#"^(?P<host>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<ts>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+)(?: (?P<protocol>[^"]*))?" (?P<status>\d{3}) (?P<bytes>\d+|-)"#;
    let pattern = if combined {
        format!(r#"{common} "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)""#)
    } else {
        common.to_string()
    };
    regex::Regex::new(&pattern).expect("the log format patterns are valid")
}

/// A time as written in logs: RFC 3339, Apache's `10/Oct/2000:13:55:36 -0700`, or epoch milliseconds.
fn parse_time(text: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = chrono::DateTime::parse_from_str(text, "%d/%b/%Y:%H:%M:%S %z") {
        return Some(t.timestamp_millis());
    }
    text.parse().ok()
}

/// Text (a capture group) converted to a column's type; `Err(())` when it does not fit.
fn convert_text(v: Option<&str>, dt: &DataType, nullable: bool, log: bool) -> Result<Val, ()> {
    let v = match v {
        Some("-") if log && dt != &DataType::Utf8 => {
            return match (nullable, dt) {
                (true, _) => Ok(Val::Null),
                (false, DataType::Int64) => Ok(Val::Int(0)),
                _ => Err(()),
            }
        }
        None => return if nullable { Ok(Val::Null) } else { Err(()) },
        Some(v) => v,
    };
    match dt {
        DataType::Utf8 => Ok(Val::Str(v.to_string())),
        DataType::Int64 => v.parse().map(Val::Int).map_err(|_| ()),
        DataType::Float64 => v.parse().map(Val::Float).map_err(|_| ()),
        DataType::Boolean => v.parse().map(Val::Bool).map_err(|_| ()),
        DataType::Timestamp(..) => parse_time(v).map(Val::Int).ok_or(()),
        _ => Err(()),
    }
}

/// A JSON value converted to a column's type; `Err(())` when it does not fit.
enum Val {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

fn convert(v: Option<&serde_json::Value>, dt: &DataType, nullable: bool) -> Result<Val, ()> {
    use serde_json::Value as J;
    let v = match v {
        None | Some(J::Null) => return if nullable { Ok(Val::Null) } else { Err(()) },
        Some(v) => v,
    };
    match (dt, v) {
        (DataType::Utf8, J::String(s)) => Ok(Val::Str(s.clone())),
        (DataType::Int64, J::Number(n)) => n.as_i64().map(Val::Int).ok_or(()),
        (DataType::Float64, J::Number(n)) => n.as_f64().map(Val::Float).ok_or(()),
        (DataType::Boolean, J::Bool(b)) => Ok(Val::Bool(*b)),
        (DataType::Timestamp(..), J::Number(n)) => n.as_i64().map(Val::Int).ok_or(()),
        (DataType::Timestamp(..), J::String(s)) => parse_time(s).map(Val::Int).ok_or(()),
        _ => Err(()),
    }
}

/// The records `parse` rejected: how many, (when asked) their text, a null as the empty string, and
/// why the first was rejected, with its text.
#[derive(Default)]
struct Rejected {
    count: u64,
    lines: Vec<String>,
    first: Option<String>,
}

/// Why `parse` rejected a line.
enum Why<'a> {
    Null,
    NotJson,
    NotObject,
    NoMatch,
    Columns,
    Quote,
    /// The field is missing (and not optional) or its value is not of its type.
    Field(&'a arrow_schema::Field),
}

impl std::fmt::Display for Why<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Null => f.write_str("the field to parse is null"),
            Why::NotJson => f.write_str("it is not JSON"),
            Why::NotObject => f.write_str("it is JSON but not an object"),
            Why::NoMatch => f.write_str("the pattern does not match it"),
            Why::Columns => f.write_str("it has more columns than the type has fields"),
            Why::Quote => f.write_str("a quote in it does not close"),
            Why::Field(field) => {
                let ty = match field.data_type() {
                    DataType::Utf8 => "a string",
                    DataType::Int64 => "an int",
                    DataType::Float64 => "a float",
                    DataType::Boolean => "a bool",
                    _ => "a time",
                };
                write!(f, "field `{}` is missing or not {ty}", field.name())
            }
        }
    }
}

/// Parses the string field of every record into the target type. Records that do not match the
/// format, lack a required field or have a value of the wrong type are rejected (counted, and their
/// text kept when `keep`).
fn parse(
    input: &RecordBatch,
    field: &str,
    schema: &SchemaRef,
    format: &Format,
    keep: bool,
) -> Result<(RecordBatch, Rejected), RunError> {
    let source = input
        .column_by_name(field)
        .and_then(|c| c.as_string_opt::<i32>().cloned())
        .ok_or_else(|| RunError::internal(format!("no string field `{field}` to parse")))?;
    let mut cols: Vec<Col> = Vec::new();
    for f in schema.fields() {
        cols.push(match f.data_type() {
            DataType::Utf8 => Col::Str(StringBuilder::new()),
            DataType::Int64 => Col::Int(Int64Builder::new()),
            DataType::Float64 => Col::Float(Float64Builder::new()),
            DataType::Boolean => Col::Bool(BooleanBuilder::new()),
            DataType::Timestamp(TimeUnit::Millisecond, _) => Col::Ts(TimestampMillisecondBuilder::new()),
            other => return Err(RunError::unsupported(format!("`parse` into a field of type {other}"))),
        });
    }
    let mut rejected = Rejected::default();
    let mut row: Vec<Val> = Vec::with_capacity(cols.len());
    for text in source.iter() {
        row.clear();
        let ok = match (format, text) {
            (_, None) => Err(Why::Null),
            (Format::Json, Some(text)) => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(object)) => schema.fields().iter().try_for_each(|f| {
                    row.push(
                        convert(object.get(f.name()), f.data_type(), f.is_nullable()).map_err(|()| Why::Field(f))?,
                    );
                    Ok(())
                }),
                Ok(_) => Err(Why::NotObject),
                Err(_) => Err(Why::NotJson),
            },
            (Format::Csv(csv), Some(text)) => match csv.line(text) {
                // The header line: neither a record nor a rejection.
                csv::Line::Header => continue,
                csv::Line::Columns(columns) if csv.fits(&columns, schema.fields().len()) => {
                    schema.fields().iter().enumerate().try_for_each(|(i, f)| {
                        let value = csv.value(&columns, f.name(), i).filter(|v| !(v.is_empty() && f.is_nullable()));
                        row.push(
                            convert_text(value, f.data_type(), f.is_nullable(), false).map_err(|()| Why::Field(f))?,
                        );
                        Ok(())
                    })
                }
                csv::Line::Columns(_) => Err(Why::Columns),
                csv::Line::Malformed => Err(Why::Quote),
            },
            (Format::Regex { regex, log }, Some(text)) => match regex.captures(text) {
                Some(caps) => schema.fields().iter().try_for_each(|f| {
                    let value = caps.name(f.name()).map(|m| m.as_str());
                    row.push(convert_text(value, f.data_type(), f.is_nullable(), *log).map_err(|()| Why::Field(f))?);
                    Ok(())
                }),
                None => Err(Why::NoMatch),
            },
        };
        if let Err(why) = ok {
            if rejected.count == 0 {
                let text: String = text.unwrap_or_default().chars().take(200).collect();
                rejected.first = Some(format!("{why}: {text:?}"));
            }
            rejected.count += 1;
            if keep {
                rejected.lines.push(text.unwrap_or_default().to_string());
            }
            continue;
        }
        for (col, val) in cols.iter_mut().zip(row.drain(..)) {
            match (col, val) {
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
    }
    let columns: Vec<ArrayRef> = cols
        .into_iter()
        .map(|c| -> ArrayRef {
            match c {
                Col::Str(mut b) => Arc::new(b.finish()),
                Col::Int(mut b) => Arc::new(b.finish()),
                Col::Float(mut b) => Arc::new(b.finish()),
                Col::Bool(mut b) => Arc::new(b.finish()),
                Col::Ts(mut b) => Arc::new(b.finish().with_timezone(UTC)),
            }
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(RunError::eval)?;
    Ok((batch, rejected))
}

/// Parses a batch of JSON lines (`{ line }`) into `schema`, as `parse json` does: the records and how
/// many were rejected.
pub fn parse_json_values(input: &RecordBatch, schema: &SchemaRef) -> Result<(RecordBatch, u64), RunError> {
    parse(input, "line", schema, &Format::Json, false).map(|(batch, rejected)| (batch, rejected.count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{Field, Schema};

    #[test]
    fn json_lines_become_typed_rows_and_bad_ones_are_counted() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("host", DataType::Utf8, false),
            Field::new("status", DataType::Int64, false),
            Field::new("ms", DataType::Float64, true),
        ]));
        let input = batch::lines_batch(&[
            r#"{"host":"a","status":200,"ms":1.5}"#,
            r#"{"host":"b","status":"x"}"#,
            "not json",
            r#"{"host":"c","status":500}"#,
        ]);
        let (out, rejected) = parse(&input, "line", &schema, &Format::Json, true).unwrap();
        assert_eq!(rejected.count, 2);
        assert_eq!(rejected.lines, vec![r#"{"host":"b","status":"x"}"#, "not json"]);
        assert_eq!(out.num_rows(), 2);
        assert_eq!(out.column(1).as_primitive::<Int64Type>().values().to_vec(), vec![200, 500]);
        assert!(out.column(2).is_null(1));
    }
}
