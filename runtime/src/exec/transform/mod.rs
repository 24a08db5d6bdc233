//! Transforms between nodes: `where`, `set`, `drop`, `select` and `parse` (json, csv, regex,
//! combined, common, syslog, logfmt), each turning one batch into the next, typed by the node's
//! checked output.

pub(crate) mod parse;

use super::batch::{self, UTC};
use super::expr::{self, Compiled};
use super::RunError;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{new_null_array, Array, ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use arrow_select::filter::filter_record_batch;
use flowc_compiler::ast::{ParsePolicy, TransformKind};
use flowc_compiler::graph::Node;
use parse::{parse, parse_sized, Format, Shares};
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
        /// What each field took of the last batch, to size the next one's builders.
        shares: Shares,
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
                let format = Format::build(parse, &schema)?;
                let policy = match &parse.policy {
                    ParsePolicy::Drop => Rejects::Drop,
                    ParsePolicy::Fail => Rejects::Fail,
                    ParsePolicy::DeadLetter(_) => Rejects::DeadLetter,
                    ParsePolicy::Unknown(word) => {
                        return Err(RunError::internal(format!("`else {}` passed the checker", word.name)))
                    }
                };
                let field = Box::new(parse.clone());
                Op::Parse { field, policy, format, shares: Shares::new(schema.fields().len()) }
            }
        };
        Ok(Transform { op, schema })
    }

    /// Whether this is a `parse` (the transform worth a thread of its own per batch).
    pub fn is_parse(&self) -> bool {
        matches!(self.op, Op::Parse { .. })
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
            Op::Parse { field, policy, format, shares } => {
                let keep = *policy == Rejects::DeadLetter;
                let schema = input.schema();
                let field = field.field(|name| schema.column_with_name(name).is_some());
                let (batch, rejects) = parse_sized(input, &field, &self.schema, format, keep, shares)?;
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

/// Parses a batch of JSON lines (`{ line }`) into `schema`, as `parse json` does: the records and how
/// many were rejected.
pub fn parse_json_values(input: &RecordBatch, schema: &SchemaRef) -> Result<(RecordBatch, u64), RunError> {
    parse(input, "line", schema, &Format::Json(parse::Json::new(schema)), false)
        .map(|(batch, rejected)| (batch, rejected.count))
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
        let (out, rejected) = parse(&input, "line", &schema, &Format::Json(parse::Json::new(&schema)), true).unwrap();
        assert_eq!(rejected.count, 2);
        assert_eq!(rejected.lines, vec![r#"{"host":"b","status":"x"}"#, "not json"]);
        assert_eq!(out.num_rows(), 2);
        assert_eq!(out.column(1).as_primitive::<Int64Type>().values().to_vec(), vec![200, 500]);
        assert!(out.column(2).is_null(1));
    }
}
