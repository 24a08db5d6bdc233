//! Expressions of `where`, `set` and `select`, compiled once and evaluated a whole batch at a time
//! with Arrow compute kernels (comparison, boolean logic, arithmetic); string functions and regex
//! matches go row by row over the string column.

use super::batch::UTC;
use super::RunError;
use arrow_arith::boolean::{and_kleene, is_not_null, is_null, not, or_kleene};
use arrow_arith::numeric;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{
    new_null_array, Array, ArrayRef, BooleanArray, DurationMillisecondArray, Float64Array, Int64Array, RecordBatch,
    StringArray, TimestampMillisecondArray,
};
use arrow_ord::cmp;
use arrow_schema::DataType;
use flowc_compiler::ast::{BinaryOp, Expr, ExprKind, UnaryOp, ValueKind};
use regex::Regex;
use std::sync::Arc;

mod convert;
pub use convert::{converts, drop_malformed};

/// An expression ready to run.
#[derive(Debug, Clone)]
pub enum Compiled {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    DurationMs(i64),
    Field(String),
    Now,
    Hostname(String),
    ToString(Box<Compiled>),
    Uuid,
    Str1(StrFn, Box<Compiled>),
    Str2(StrFn2, Box<Compiled>, Box<Compiled>),
    /// `to_int`, `to_float`, `parse_timestamp`: text read as a value; text that does not read makes
    /// the record malformed (see [`drop_malformed`]).
    Convert(Conversion, Box<Compiled>, Option<Box<Compiled>>),
    Not(Box<Compiled>),
    Neg(Box<Compiled>),
    Binary(BinaryOp, Box<Compiled>, Box<Compiled>),
    Matches {
        value: Box<Compiled>,
        regex: Regex,
        negate: bool,
    },
    In(Box<Compiled>, Vec<Compiled>),
}

#[derive(Debug, Clone, Copy)]
pub enum StrFn {
    Lower,
    Upper,
    Trim,
    Len,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    Int,
    Float,
    /// With a strftime format (the second argument).
    Timestamp,
}

#[derive(Debug, Clone, Copy)]
pub enum StrFn2 {
    Contains,
    StartsWith,
    EndsWith,
}

/// Compiles a checked expression; constructs `flowc run` does not evaluate yet are errors here,
/// before anything runs.
pub fn compile(expr: &Expr) -> Result<Compiled, RunError> {
    Ok(match &expr.kind {
        ExprKind::Lit(value) => match value {
            ValueKind::Str(s) => Compiled::Str(super::options::interpolate(&s.value)?),
            ValueKind::Int(n) => Compiled::Int(*n),
            ValueKind::Float(f) => Compiled::Float(*f),
            ValueKind::Bool(b) => Compiled::Bool(*b),
            ValueKind::Null => Compiled::Null,
            ValueKind::Duration(ms) => Compiled::DurationMs(*ms as i64),
            ValueKind::Size(n) => Compiled::Int(*n as i64),
            other => return Err(RunError::unsupported(format!("{} in an expression", other.describe()))),
        },
        ExprKind::Path(parts) if parts.len() == 1 => Compiled::Field(parts[0].name.clone()),
        ExprKind::Path(_) => return Err(RunError::unsupported("nested field paths (`a.b`)")),
        ExprKind::Call(name, args) => {
            let args = args.iter().map(compile).collect::<Result<Vec<_>, _>>()?;
            let mut args = args.into_iter();
            let mut arg = || Box::new(args.next().unwrap_or(Compiled::Null));
            match name.name.as_str() {
                "now" => Compiled::Now,
                "hostname" => Compiled::Hostname(gethostname::gethostname().to_string_lossy().into_owned()),
                "lower" => Compiled::Str1(StrFn::Lower, arg()),
                "upper" => Compiled::Str1(StrFn::Upper, arg()),
                "trim" => Compiled::Str1(StrFn::Trim, arg()),
                "len" => Compiled::Str1(StrFn::Len, arg()),
                "contains" => Compiled::Str2(StrFn2::Contains, arg(), arg()),
                "starts_with" => Compiled::Str2(StrFn2::StartsWith, arg(), arg()),
                "ends_with" => Compiled::Str2(StrFn2::EndsWith, arg(), arg()),
                "to_string" => Compiled::ToString(arg()),
                "uuid" => Compiled::Uuid,
                "to_int" => Compiled::Convert(Conversion::Int, arg(), None),
                "to_float" => Compiled::Convert(Conversion::Float, arg(), None),
                "parse_timestamp" => Compiled::Convert(Conversion::Timestamp, arg(), Some(arg())),
                other => return Err(RunError::unsupported(format!("the function `{other}()`"))),
            }
        }
        ExprKind::Unary(UnaryOp::Not, e) => Compiled::Not(Box::new(compile(e)?)),
        ExprKind::Unary(UnaryOp::Neg, e) => Compiled::Neg(Box::new(compile(e)?)),
        ExprKind::Binary(op @ (BinaryOp::Match | BinaryOp::NotMatch), value, pattern) => {
            let ExprKind::Lit(ValueKind::Str(p)) = &pattern.kind else {
                return Err(RunError::unsupported("a regex match against something other than a string literal"));
            };
            let regex = Regex::new(&p.value).map_err(|e| RunError::config(format!("invalid regex: {e}")))?;
            Compiled::Matches { value: Box::new(compile(value)?), regex, negate: *op == BinaryOp::NotMatch }
        }
        ExprKind::Binary(BinaryOp::In, value, list) => {
            let ExprKind::List(items) = &list.kind else {
                return Err(RunError::unsupported("`in` with something other than a list literal"));
            };
            Compiled::In(Box::new(compile(value)?), items.iter().map(compile).collect::<Result<_, _>>()?)
        }
        ExprKind::Binary(op, a, b) => Compiled::Binary(*op, Box::new(compile(a)?), Box::new(compile(b)?)),
        ExprKind::List(_) => return Err(RunError::unsupported("a list outside `in`")),
    })
}

/// Evaluates to one value per row of the batch.
pub fn eval(expr: &Compiled, batch: &RecordBatch) -> Result<ArrayRef, RunError> {
    let n = batch.num_rows();
    let arr: ArrayRef = match expr {
        Compiled::Str(s) => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(s.as_str(), n))),
        Compiled::Int(v) => Arc::new(Int64Array::from_value(*v, n)),
        Compiled::Float(v) => Arc::new(Float64Array::from_value(*v, n)),
        Compiled::Bool(v) => Arc::new(BooleanArray::from(vec![*v; n])),
        Compiled::Null => new_null_array(&DataType::Null, n),
        Compiled::DurationMs(v) => Arc::new(DurationMillisecondArray::from_value(*v, n)),
        Compiled::Field(name) => batch
            .column_by_name(name)
            .cloned()
            .ok_or_else(|| RunError::internal(format!("records have no field `{name}`")))?,
        Compiled::Now => {
            let now = chrono::Utc::now().timestamp_millis();
            Arc::new(TimestampMillisecondArray::from_value(now, n).with_timezone(UTC))
        }
        Compiled::Hostname(h) => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(h.as_str(), n))),
        Compiled::ToString(a) => {
            let a = eval(a, batch)?;
            Arc::new((0..n).map(|row| super::batch::value_text(a.as_ref(), row)).collect::<StringArray>())
        }
        Compiled::Uuid => Arc::new(StringArray::from_iter_values((0..n).map(|_| uuid_v4()))),
        Compiled::Str1(f, a) => {
            let a = eval(a, batch)?;
            let a = strings(&a)?;
            match f {
                StrFn::Lower => Arc::new(a.iter().map(|v| v.map(str::to_lowercase)).collect::<StringArray>()),
                StrFn::Upper => Arc::new(a.iter().map(|v| v.map(str::to_uppercase)).collect::<StringArray>()),
                StrFn::Trim => Arc::new(a.iter().map(|v| v.map(str::trim)).collect::<StringArray>()),
                StrFn::Len => Arc::new(a.iter().map(|v| v.map(|s| s.chars().count() as i64)).collect::<Int64Array>()),
            }
        }
        Compiled::Str2(f, a, b) => {
            let (a, b) = (eval(a, batch)?, eval(b, batch)?);
            let (a, b) = (strings(&a)?, strings(&b)?);
            let out: BooleanArray = a
                .iter()
                .zip(b.iter())
                .map(|(x, y)| match (x, y) {
                    (Some(x), Some(y)) => Some(match f {
                        StrFn2::Contains => x.contains(y),
                        StrFn2::StartsWith => x.starts_with(y),
                        StrFn2::EndsWith => x.ends_with(y),
                    }),
                    _ => None,
                })
                .collect();
            Arc::new(out)
        }
        Compiled::Convert(conversion, a, format) => {
            let a = eval(a, batch)?;
            let format = format.as_ref().map(|f| eval(f, batch)).transpose()?;
            convert::convert(*conversion, &a, format.as_ref())?.0
        }
        Compiled::Not(a) => Arc::new(not(booleans(&eval(a, batch)?)?).map_err(RunError::eval)?),
        Compiled::Neg(a) => numeric::neg(eval(a, batch)?.as_ref()).map_err(RunError::eval)?,
        Compiled::Matches { value, regex, negate } => {
            let v = eval(value, batch)?;
            let out: BooleanArray = strings(&v)?.iter().map(|s| s.map(|s| regex.is_match(s) != *negate)).collect();
            Arc::new(out)
        }
        Compiled::In(value, items) => {
            let v = eval(value, batch)?;
            let mut acc = BooleanArray::from(vec![false; n]);
            for item in items {
                let hit = compare(BinaryOp::Eq, &v, &eval(item, batch)?)?;
                acc = or_kleene(&acc, booleans(&hit)?).map_err(RunError::eval)?;
            }
            Arc::new(acc)
        }
        Compiled::Binary(op, a, b) => {
            let (a, b) = (eval(a, batch)?, eval(b, batch)?);
            match op {
                BinaryOp::And => Arc::new(and_kleene(booleans(&a)?, booleans(&b)?).map_err(RunError::eval)?),
                BinaryOp::Or => Arc::new(or_kleene(booleans(&a)?, booleans(&b)?).map_err(RunError::eval)?),
                BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                    compare(*op, &a, &b)?
                }
                BinaryOp::Add if a.data_type() == &DataType::Utf8 || b.data_type() == &DataType::Utf8 => {
                    let (a, b) = (strings(&a)?, strings(&b)?);
                    let out: StringArray = a
                        .iter()
                        .zip(b.iter())
                        .map(|(x, y)| match (x, y) {
                            (Some(x), Some(y)) => Some(format!("{x}{y}")),
                            _ => None,
                        })
                        .collect();
                    Arc::new(out)
                }
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                    let (a, b) = coerce(a, b);
                    let f = match op {
                        BinaryOp::Add => numeric::add,
                        BinaryOp::Sub => numeric::sub,
                        BinaryOp::Mul => numeric::mul,
                        BinaryOp::Div => numeric::div,
                        _ => numeric::rem,
                    };
                    f(&a, &b).map_err(RunError::eval)?
                }
                other => return Err(RunError::unsupported(format!("the operator `{}`", other.as_str()))),
            }
        }
    };
    Ok(arr)
}

/// Evaluates a condition: a boolean per row, null counting as false.
pub fn eval_predicate(expr: &Compiled, batch: &RecordBatch) -> Result<BooleanArray, RunError> {
    let out = eval(expr, batch)?;
    let b = booleans(&out)?;
    Ok(match b.nulls() {
        None => b.clone(),
        Some(_) => b.iter().map(|v| Some(v.unwrap_or(false))).collect(),
    })
}

/// A random (version 4) UUID. The bits come from SipHash with per-process random keys over a counter
/// and the clock: unique and unpredictable enough to tell events apart, not for secrets.
fn uuid_v4() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static KEYS: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let keys = KEYS.get_or_init(std::collections::hash_map::RandomState::new);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let half = |salt: u64| {
        let mut h = keys.build_hasher();
        h.write_u64(count);
        h.write_u64(nanos);
        h.write_u64(salt);
        h.finish()
    };
    let mut bits = (u128::from(half(1)) << 64) | u128::from(half(2));
    bits = (bits & !(0xf << 76)) | (0x4 << 76); // version 4
    bits = (bits & !(0x3 << 62)) | (0x2 << 62); // variant 10
    let hex = format!("{bits:032x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

fn compare(op: BinaryOp, a: &ArrayRef, b: &ArrayRef) -> Result<ArrayRef, RunError> {
    // `x == null` asks whether x is null.
    if a.data_type() == &DataType::Null || b.data_type() == &DataType::Null {
        let other = if a.data_type() == &DataType::Null { b } else { a };
        let out = match op {
            BinaryOp::Eq => is_null(other.as_ref()),
            BinaryOp::Ne => is_not_null(other.as_ref()),
            _ => Ok(BooleanArray::new_null(other.len())),
        }
        .map_err(RunError::eval)?;
        return Ok(Arc::new(out));
    }
    let (a, b) = coerce(a.clone(), b.clone());
    let out = match op {
        BinaryOp::Eq => cmp::eq(&a, &b),
        BinaryOp::Ne => cmp::neq(&a, &b),
        BinaryOp::Lt => cmp::lt(&a, &b),
        BinaryOp::Le => cmp::lt_eq(&a, &b),
        BinaryOp::Gt => cmp::gt(&a, &b),
        _ => cmp::gt_eq(&a, &b),
    }
    .map_err(RunError::eval)?;
    Ok(Arc::new(out))
}

/// Mixed int and float operands compute in float.
fn coerce(a: ArrayRef, b: ArrayRef) -> (ArrayRef, ArrayRef) {
    match (a.data_type(), b.data_type()) {
        (DataType::Int64, DataType::Float64) => (to_float(&a), b),
        (DataType::Float64, DataType::Int64) => (a, to_float(&b)),
        _ => (a, b),
    }
}

pub(crate) fn to_float(a: &ArrayRef) -> ArrayRef {
    let ints = a.as_primitive::<Int64Type>();
    Arc::new(ints.iter().map(|v| v.map(|v| v as f64)).collect::<Float64Array>())
}

fn booleans(a: &ArrayRef) -> Result<&BooleanArray, RunError> {
    a.as_boolean_opt().ok_or_else(|| RunError::internal(format!("expected booleans, got {}", a.data_type())))
}

pub(crate) fn strings(a: &ArrayRef) -> Result<&StringArray, RunError> {
    a.as_string_opt::<i32>().ok_or_else(|| RunError::internal(format!("expected strings, got {}", a.data_type())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{Field, Schema};
    use flowc_compiler::ast::Ident;
    use flowc_compiler::Span;

    fn e(kind: ExprKind) -> Expr {
        Expr { kind, span: Span::new(0, 0) }
    }
    fn field(name: &str) -> Expr {
        e(ExprKind::Path(vec![Ident { name: name.into(), span: Span::new(0, 0) }]))
    }
    fn bin(op: BinaryOp, a: Expr, b: Expr) -> Expr {
        e(ExprKind::Binary(op, Box::new(a), Box::new(b)))
    }

    #[test]
    fn uuids_are_version_4_and_distinct() {
        let a = uuid_v4();
        let b = uuid_v4();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn conditions_evaluate_on_whole_batches() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("status", DataType::Int64, false),
            Field::new("ratio", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![200, 404, 503])),
                Arc::new(Float64Array::from(vec![Some(0.5), None, Some(2.0)])),
            ],
        )
        .unwrap();
        let cond = bin(
            BinaryOp::Or,
            bin(BinaryOp::Ge, field("status"), e(ExprKind::Lit(ValueKind::Int(500)))),
            bin(BinaryOp::Lt, field("ratio"), e(ExprKind::Lit(ValueKind::Int(1)))),
        );
        let mask = eval_predicate(&compile(&cond).unwrap(), &batch).unwrap();
        assert_eq!(mask, BooleanArray::from(vec![true, false, true]));
        let sum = bin(BinaryOp::Add, field("status"), e(ExprKind::Lit(ValueKind::Int(1))));
        let out = eval(&compile(&sum).unwrap(), &batch).unwrap();
        assert_eq!(out.as_primitive::<Int64Type>().values().to_vec(), vec![201, 405, 504]);
        let is_null = bin(BinaryOp::Eq, field("ratio"), e(ExprKind::Lit(ValueKind::Null)));
        let mask = eval_predicate(&compile(&is_null).unwrap(), &batch).unwrap();
        assert_eq!(mask, BooleanArray::from(vec![false, true, false]));
    }
}
