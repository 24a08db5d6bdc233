//! Batches: the Arrow schema of a checked stream type, building batches of lines, and rendering rows
//! as text (`line`, or `field=value` pairs) and as JSON.

use super::RunError;
use arrow_array::cast::AsArray;
use arrow_array::types::{DurationMillisecondType, Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use flowc_compiler::types::{StreamType, Type};
use std::fmt::Write as _;
use std::sync::Arc;

/// The time zone every timestamp column carries.
pub const UTC: &str = "UTC";

pub use super::json_rows::{BoundRows, JsonRows};

/// The bytes of record data a batch carries: string and binary values plus fixed-width values, not
/// Arrow's buffer capacity (the `bytes` a node shows while the run goes).
pub fn data_bytes(batch: &RecordBatch) -> u64 {
    let mut total = 0u64;
    for column in batch.columns() {
        let len = column.len() as u64;
        total += match column.data_type() {
            DataType::Utf8 => {
                let offsets = column.as_string::<i32>().value_offsets();
                (offsets[offsets.len() - 1] - offsets[0]) as u64
            }
            DataType::Binary => {
                let offsets = column.as_binary::<i32>().value_offsets();
                (offsets[offsets.len() - 1] - offsets[0]) as u64
            }
            DataType::Boolean | DataType::Null => len.div_ceil(8),
            other => other.primitive_width().map_or(0, |w| w as u64 * len),
        };
    }
    total
}

/// The Arrow type of a checked value type (`None` for types batches cannot carry yet).
pub fn data_type(ty: &Type) -> Option<DataType> {
    Some(match ty.base() {
        Type::String => DataType::Utf8,
        Type::Int => DataType::Int64,
        Type::Float => DataType::Float64,
        Type::Bool => DataType::Boolean,
        Type::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, Some(UTC.into())),
        Type::Bytes => DataType::Binary,
        Type::Duration => DataType::Duration(TimeUnit::Millisecond),
        Type::Null => DataType::Null,
        Type::List(_) | Type::Record(_) | Type::Optional(_) | Type::Error => return None,
    })
}

/// The Arrow schema of a stream: one column per field, nullable when the field is optional.
pub fn schema(stream: &StreamType) -> Result<SchemaRef, RunError> {
    let mut fields = Vec::with_capacity(stream.record.fields.len());
    for field in &stream.record.fields {
        let Some(dt) = data_type(&field.ty) else {
            return Err(RunError::unsupported(format!(
                "field `{}: {}`: lists and nested records do not run yet",
                field.name, field.ty
            )));
        };
        let nullable = matches!(field.ty, Type::Optional(_) | Type::Null);
        fields.push(Field::new(&field.name, dt, nullable));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// The schema of untyped lines: `{ line: string }`.
pub fn lines_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("line", DataType::Utf8, false)]))
}

/// A batch of untyped lines.
pub fn lines_batch<S: AsRef<str>>(lines: &[S]) -> RecordBatch {
    let column: ArrayRef = Arc::new(StringArray::from_iter_values(lines.iter().map(|s| s.as_ref())));
    RecordBatch::try_new(lines_schema(), vec![column]).expect("a string column matches the lines schema")
}

/// The bytes of a string column's values: of its own rows only when it is a slice of a larger one.
pub(crate) fn string_bytes(c: &StringArray) -> &[u8] {
    let offsets = c.value_offsets();
    let (first, last) = (offsets[0].max(0) as usize, offsets[offsets.len() - 1].max(0) as usize);
    c.value_data().get(first..last).unwrap_or(c.value_data())
}

/// Whether a batch is plain lines (one string field `line`): such rows render as the line itself.
pub fn is_lines(schema: &Schema) -> bool {
    schema.fields().len() == 1 && schema.field(0).name() == "line" && schema.field(0).data_type() == &DataType::Utf8
}

/// Milliseconds since the epoch as RFC 3339 in UTC (`2026-11-25T11:00:00.000Z`).
pub fn rfc3339(ms: i64) -> String {
    if let Some(text) = rfc3339_bytes(ms) {
        return text.iter().map(|&b| b as char).collect();
    }
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ms.to_string(),
    }
}

/// `rfc3339` of a time in the years 0000 to 9999, without chrono's formatting machinery (the
/// files sink writes one per row); `None` outside them.
pub(crate) fn rfc3339_bytes(ms: i64) -> Option<[u8; 24]> {
    // 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z.
    if !(-62_167_219_200_000..253_402_300_800_000).contains(&ms) {
        return None;
    }
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: i64| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, ms_of_day / 3_600_000);
    put(14, 2, ms_of_day / 60_000 % 60);
    put(17, 2, ms_of_day / 1000 % 60);
    put(20, 3, ms_of_day % 1000);
    Some(out)
}

/// One value as text; `None` for null.
pub fn value_text(column: &dyn Array, row: usize) -> Option<String> {
    if column.is_null(row) {
        return None;
    }
    Some(match column.data_type() {
        DataType::Utf8 => column.as_string::<i32>().value(row).to_string(),
        DataType::Int64 => column.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Float64 => column.as_primitive::<Float64Type>().value(row).to_string(),
        DataType::Boolean => column.as_boolean().value(row).to_string(),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            rfc3339(column.as_primitive::<TimestampMillisecondType>().value(row))
        }
        DataType::Duration(TimeUnit::Millisecond) => {
            format!("{}ms", column.as_primitive::<DurationMillisecondType>().value(row))
        }
        DataType::Binary => String::from_utf8_lossy(column.as_binary::<i32>().value(row)).into_owned(),
        DataType::Null => return None,
        other => format!("<{other}>"),
    })
}

/// One row as a readable line: the line itself for plain lines, else `field=value` pairs (strings
/// with spaces, quotes or `=` are quoted, nulls are `null`).
pub fn row_text(batch: &RecordBatch, row: usize, out: &mut String) {
    let schema = batch.schema();
    if is_lines(&schema) {
        out.push_str(batch.column(0).as_string::<i32>().value(row));
        return;
    }
    for (i, field) in schema.fields().iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(field.name());
        out.push('=');
        match value_text(batch.column(i).as_ref(), row) {
            None => out.push_str("null"),
            Some(text) => {
                let quote = matches!(field.data_type(), DataType::Utf8 | DataType::Binary)
                    && (text.is_empty() || text.contains([' ', '"', '=', '\t', '\n']));
                if quote {
                    let _ = write!(out, "{text:?}");
                } else {
                    out.push_str(&text);
                }
            }
        }
    }
}

/// One row as a JSON object (timestamps as RFC 3339 strings, durations in milliseconds).
pub fn row_json(batch: &RecordBatch, row: usize) -> serde_json::Value {
    let schema = batch.schema();
    let mut map = serde_json::Map::with_capacity(schema.fields().len());
    for (i, field) in schema.fields().iter().enumerate() {
        let column = batch.column(i);
        let value = if column.is_null(row) {
            serde_json::Value::Null
        } else {
            match column.data_type() {
                DataType::Int64 => column.as_primitive::<Int64Type>().value(row).into(),
                DataType::Float64 => serde_json::Number::from_f64(column.as_primitive::<Float64Type>().value(row))
                    .map_or(serde_json::Value::Null, serde_json::Value::Number),
                DataType::Boolean => column.as_boolean().value(row).into(),
                DataType::Duration(TimeUnit::Millisecond) => {
                    column.as_primitive::<DurationMillisecondType>().value(row).into()
                }
                _ => value_text(column.as_ref(), row).map_or(serde_json::Value::Null, serde_json::Value::String),
            }
        };
        map.insert(field.name().clone(), value);
    }
    serde_json::Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowc_compiler::types::{Field as TField, RecordType};

    proptest::proptest! {
        #[test]
        fn the_fast_rfc3339_is_chronos(ms in -70_000_000_000_000i64..260_000_000_000_000) {
            let chrono = chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
            proptest::prop_assert_eq!(rfc3339(ms), chrono);
        }
    }

    #[test]
    fn written_json_rows_are_what_row_json_renders() {
        use arrow_array::{BooleanArray, Float64Array, Int64Array, TimestampMillisecondArray};
        let schema = Arc::new(Schema::new(vec![
            Field::new("zeta", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, Some(UTC.into())), true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("a\"b\\\n\u{1}é"), None, Some("")])),
                Arc::new(Int64Array::from(vec![Some(-5), Some(i64::MAX), None])),
                Arc::new(Float64Array::from(vec![Some(1.5), Some(f64::NAN), Some(3.0)])),
                Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
                Arc::new(
                    TimestampMillisecondArray::from(vec![Some(971_211_336_000), None, Some(0)]).with_timezone(UTC),
                ),
            ],
        )
        .unwrap();
        let rows = JsonRows::new(&schema);
        for row in 0..3 {
            let mut out = Vec::new();
            rows.write(&batch, row, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), row_json(&batch, row).to_string());
        }
    }

    #[test]
    fn stream_types_map_to_arrow() {
        let stream = StreamType::typed(
            RecordType {
                fields: vec![
                    TField { name: "host".into(), ty: Type::String },
                    TField { name: "ts".into(), ty: Type::Timestamp },
                    TField { name: "n".into(), ty: Type::Optional(Box::new(Type::Int)) },
                ],
            },
            None,
        );
        let schema = schema(&stream).unwrap();
        assert_eq!(schema.field(0).data_type(), &DataType::Utf8);
        assert_eq!(schema.field(1).data_type(), &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())));
        assert!(!schema.field(1).is_nullable());
        assert!(schema.field(2).is_nullable());
    }

    #[test]
    fn rows_render_as_lines_or_pairs() {
        let batch = lines_batch(&["a b", "c"]);
        let mut out = String::new();
        row_text(&batch, 0, &mut out);
        assert_eq!(out, "a b");
        assert_eq!(row_json(&batch, 1), serde_json::json!({"line": "c"}));
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
    }
}
