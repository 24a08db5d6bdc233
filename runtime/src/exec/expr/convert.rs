//! Conversions in expressions — `to_int`, `to_float`, `parse_timestamp` — and the records they make
//! malformed: text that does not read drops its record (counted), not the batch.

use super::{eval, strings, to_float, Compiled, Conversion};
use crate::exec::batch::UTC;
use crate::exec::RunError;
use arrow_array::{
    new_null_array, Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, TimestampMillisecondArray,
};
use arrow_schema::DataType;
use std::sync::Arc;

/// Reads text as the conversion's type: the values (null where the text is null or does not read)
/// and, per row, whether it did not read (a malformed record).
pub(crate) fn convert(
    conversion: Conversion,
    a: &ArrayRef,
    format: Option<&ArrayRef>,
) -> Result<(ArrayRef, BooleanArray), RunError> {
    let n = a.len();
    match (conversion, a.data_type()) {
        (Conversion::Int, DataType::Int64) => return Ok((a.clone(), BooleanArray::from(vec![false; n]))),
        (Conversion::Float, DataType::Int64) => return Ok((to_float(a), BooleanArray::from(vec![false; n]))),
        (Conversion::Float, DataType::Float64) => return Ok((a.clone(), BooleanArray::from(vec![false; n]))),
        (_, DataType::Null) => {
            let dt = match conversion {
                Conversion::Int => DataType::Int64,
                Conversion::Float => DataType::Float64,
                Conversion::Timestamp => DataType::Timestamp(arrow_schema::TimeUnit::Millisecond, Some(UTC.into())),
            };
            return Ok((new_null_array(&dt, n), BooleanArray::from(vec![false; n])));
        }
        _ => {}
    }
    let text = strings(a)?;
    let formats = format.map(strings).transpose()?;
    let mut bad = Vec::with_capacity(n);
    let out: ArrayRef = match conversion {
        Conversion::Int => Arc::new(
            text.iter()
                .map(|v| {
                    let r = v.map(|s| s.trim().parse::<i64>().ok());
                    bad.push(matches!(r, Some(None)));
                    r.flatten()
                })
                .collect::<Int64Array>(),
        ),
        Conversion::Float => Arc::new(
            text.iter()
                .map(|v| {
                    let r = v.map(|s| s.trim().parse::<f64>().ok());
                    bad.push(matches!(r, Some(None)));
                    r.flatten()
                })
                .collect::<Float64Array>(),
        ),
        Conversion::Timestamp => Arc::new(
            text.iter()
                .enumerate()
                .map(|(row, v)| {
                    let format = formats.and_then(|f| f.is_valid(row).then(|| f.value(row)));
                    let r = v.zip(format).map(|(s, f)| parse_timestamp(s, f));
                    bad.push(matches!(r, Some(None)));
                    r.flatten()
                })
                .collect::<TimestampMillisecondArray>()
                .with_timezone(UTC),
        ),
    };
    Ok((out, BooleanArray::from(bad)))
}

/// `parse_timestamp(text, format)`: milliseconds since the epoch; no zone in the format means UTC,
/// and a format without a time of day means midnight.
fn parse_timestamp(text: &str, format: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_str(text, format) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
        return Some(t.and_utc().timestamp_millis());
    }
    let date = chrono::NaiveDate::parse_from_str(text, format).ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// Whether an expression reads text as a value somewhere (so records can be malformed).
pub fn converts(expr: &Compiled) -> bool {
    match expr {
        Compiled::Convert(..) => true,
        Compiled::ToString(a) | Compiled::Str1(_, a) | Compiled::Not(a) | Compiled::Neg(a) => converts(a),
        Compiled::Matches { value, .. } => converts(value),
        Compiled::Str2(_, a, b) | Compiled::Binary(_, a, b) => converts(a) || converts(b),
        Compiled::In(a, items) => converts(a) || items.iter().any(converts),
        _ => false,
    }
}

/// Marks the rows on which a conversion inside `expr` did not read its text.
fn mark_malformed(expr: &Compiled, batch: &RecordBatch, bad: &mut Vec<bool>) -> Result<(), RunError> {
    match expr {
        Compiled::Convert(conversion, a, format) => {
            mark_malformed(a, batch, bad)?;
            let value = eval(a, batch)?;
            let format = format.as_ref().map(|f| eval(f, batch)).transpose()?;
            for (row, b) in convert(*conversion, &value, format.as_ref())?.1.iter().enumerate() {
                bad[row] |= b == Some(true);
            }
        }
        Compiled::ToString(a) | Compiled::Str1(_, a) | Compiled::Not(a) | Compiled::Neg(a) => {
            mark_malformed(a, batch, bad)?
        }
        Compiled::Matches { value, .. } => mark_malformed(value, batch, bad)?,
        Compiled::Str2(_, a, b) | Compiled::Binary(_, a, b) => {
            mark_malformed(a, batch, bad)?;
            mark_malformed(b, batch, bad)?;
        }
        Compiled::In(a, items) => {
            mark_malformed(a, batch, bad)?;
            for item in items {
                mark_malformed(item, batch, bad)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The batch without the records some conversion in `exprs` could not read (`to_int("abc")`), and
/// how many those were: they are handled like records a `parse` rejects (counted and dropped).
pub fn drop_malformed<'a>(
    exprs: impl IntoIterator<Item = &'a Compiled>,
    batch: &RecordBatch,
) -> Result<(RecordBatch, u64), RunError> {
    let mut bad = vec![false; batch.num_rows()];
    for expr in exprs {
        if converts(expr) {
            mark_malformed(expr, batch, &mut bad)?;
        }
    }
    let dropped = bad.iter().filter(|b| **b).count() as u64;
    if dropped == 0 {
        return Ok((batch.clone(), 0));
    }
    let keep = BooleanArray::from(bad.into_iter().map(|b| !b).collect::<Vec<_>>());
    let kept = arrow_select::filter::filter_record_batch(batch, &keep).map_err(RunError::eval)?;
    Ok((kept, dropped))
}
