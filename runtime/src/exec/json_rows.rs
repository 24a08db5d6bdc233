//! Rows as JSON objects, written straight into bytes: the columns looked up and cast once per batch,
//! a string column's bytes checked for escapes once (almost always none: its values are then copied
//! whole), other strings escaped a word at a time, timestamps formatted once per second they hold. The output is
//! byte for byte what `serde_json` renders for [`row_json`](super::batch::row_json).

use super::batch::{rfc3339, rfc3339_bytes, string_bytes, value_text};
use arrow_array::cast::AsArray;
use arrow_array::types::{DurationMillisecondType, Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, BooleanArray, PrimitiveArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Schema, TimeUnit};

/// Writes rows of a schema as JSON objects, keys in `serde_json::Map`'s order.
pub struct JsonRows {
    /// Positions of the schema's fields in key order, each with its `"key":` (and the comma before
    /// all but the first).
    fields: Vec<(usize, Vec<u8>)>,
}

/// [`JsonRows`] on one batch: its columns, cast.
pub struct BoundRows<'a> {
    columns: Vec<(&'a [u8], Column<'a>)>,
    /// The second of the last timestamp written and its text (the milliseconds patched per value).
    last_second: Option<(i64, [u8; 24])>,
}

enum Column<'a> {
    /// Strings, and whether none of the column's bytes needs an escape.
    Str(&'a StringArray, bool),
    Int(&'a PrimitiveArray<Int64Type>),
    Float(&'a PrimitiveArray<Float64Type>),
    Bool(&'a BooleanArray),
    Duration(&'a PrimitiveArray<DurationMillisecondType>),
    Time(&'a PrimitiveArray<TimestampMillisecondType>),
    /// Anything else, as its text.
    Other(&'a dyn Array),
}

impl JsonRows {
    pub fn new(schema: &Schema) -> JsonRows {
        let map: serde_json::Map<String, serde_json::Value> =
            schema.fields().iter().enumerate().map(|(i, f)| (f.name().clone(), serde_json::Value::from(i))).collect();
        let fields = map
            .iter()
            .enumerate()
            .map(|(n, (name, i))| {
                let mut key = if n == 0 { b"{".to_vec() } else { b",".to_vec() };
                key.extend_from_slice(serde_json::Value::from(name.as_str()).to_string().as_bytes());
                key.push(b':');
                (i.as_u64().unwrap_or_default() as usize, key)
            })
            .collect();
        JsonRows { fields }
    }

    /// The writer of `batch`'s rows (a batch of the schema given to [`new`](Self::new)).
    pub fn bind<'a>(&'a self, batch: &'a RecordBatch) -> BoundRows<'a> {
        self.bind_checking(batch, false)
    }

    /// The writer of `batch`'s rows for writing most of them: each string column's bytes are
    /// first checked for escapes as a whole (a pass over all of them, however few rows are written).
    pub fn bind_all<'a>(&'a self, batch: &'a RecordBatch) -> BoundRows<'a> {
        self.bind_checking(batch, true)
    }

    fn bind_checking<'a>(&'a self, batch: &'a RecordBatch, check: bool) -> BoundRows<'a> {
        let columns = self
            .fields
            .iter()
            .filter_map(|(i, key)| batch.columns().get(*i).map(|c| (key.as_slice(), Column::of(c.as_ref(), check))))
            .collect();
        BoundRows { columns, last_second: None }
    }

    /// Appends one row's object to `out` (binding the batch for each row: [`bind`](Self::bind) once
    /// for many rows).
    pub fn write(&self, batch: &RecordBatch, row: usize, out: &mut Vec<u8>) {
        self.bind(batch).write(row, out);
    }
}

impl<'a> Column<'a> {
    /// The column cast; with `check`, a string column's bytes are checked for escapes.
    fn of(column: &'a dyn Array, check: bool) -> Column<'a> {
        let cast = match column.data_type() {
            DataType::Utf8 => {
                column.as_string_opt::<i32>().map(|c| Column::Str(c, check && !needs_escape(string_bytes(c))))
            }
            DataType::Int64 => column.as_primitive_opt::<Int64Type>().map(Column::Int),
            DataType::Float64 => column.as_primitive_opt::<Float64Type>().map(Column::Float),
            DataType::Boolean => column.as_boolean_opt().map(Column::Bool),
            DataType::Duration(TimeUnit::Millisecond) => {
                column.as_primitive_opt::<DurationMillisecondType>().map(Column::Duration)
            }
            DataType::Timestamp(TimeUnit::Millisecond, _) => {
                column.as_primitive_opt::<TimestampMillisecondType>().map(Column::Time)
            }
            _ => None,
        };
        cast.unwrap_or(Column::Other(column))
    }
}

impl BoundRows<'_> {
    /// Appends one row's object to `out`.
    pub fn write(&mut self, row: usize, out: &mut Vec<u8>) {
        if self.columns.is_empty() {
            out.extend_from_slice(b"{}");
            return;
        }
        for (key, column) in &self.columns {
            out.extend_from_slice(key);
            match column {
                Column::Str(c, true) if !c.is_null(row) => {
                    let s = c.value(row).as_bytes();
                    out.reserve(s.len() + 2);
                    out.push(b'"');
                    out.extend_from_slice(s);
                    out.push(b'"');
                }
                Column::Str(c, false) if !c.is_null(row) => write_str(out, c.value(row).as_bytes()),
                Column::Int(c) if !c.is_null(row) => write_int(out, c.value(row)),
                Column::Duration(c) if !c.is_null(row) => write_int(out, c.value(row)),
                Column::Bool(c) if !c.is_null(row) => {
                    out.extend_from_slice(if c.value(row) { b"true" } else { b"false" })
                }
                Column::Float(c) if !c.is_null(row) => {
                    use serde::Serialize;
                    // Serializing into a Vec cannot fail; NaN and the infinities are null.
                    let number = serde_json::Number::from_f64(c.value(row));
                    let _ = number.serialize(&mut serde_json::Serializer::new(&mut *out));
                }
                Column::Time(c) if !c.is_null(row) => write_time(out, c.value(row), &mut self.last_second),
                Column::Other(c) => match value_text(*c, row) {
                    Some(text) => write_str(out, text.as_bytes()),
                    None => out.extend_from_slice(b"null"),
                },
                _ => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }
}

/// A timestamp as its quoted RFC 3339 text; the text of the last one is kept, and only its time of
/// day rewritten while the day stays the same.
fn write_time(out: &mut Vec<u8>, ms: i64, last: &mut Option<(i64, [u8; 24])>) {
    let second = ms.div_euclid(1000);
    let text = match last {
        // The same day: only the time of day changes.
        Some((s, text)) if s.div_euclid(86_400) == second.div_euclid(86_400) => {
            if *s != second {
                let of_day = second.rem_euclid(86_400);
                for (at, v) in [(11, of_day / 3600), (14, of_day / 60 % 60), (17, of_day % 60)] {
                    text[at] = b'0' + (v / 10) as u8;
                    text[at + 1] = b'0' + (v % 10) as u8;
                }
                *s = second;
            }
            let milli = ms.rem_euclid(1000) as u32;
            text[20] = b'0' + (milli / 100) as u8;
            text[21] = b'0' + (milli / 10 % 10) as u8;
            text[22] = b'0' + (milli % 10) as u8;
            Some(*text)
        }
        _ => {
            let text = rfc3339_bytes(ms);
            *last = text.map(|t| (second, t));
            text
        }
    };
    match text {
        Some(text) => {
            out.push(b'"');
            out.extend_from_slice(&text);
            out.push(b'"');
        }
        None => write_str(out, rfc3339(ms).as_bytes()),
    }
}

/// An integer in decimal.
fn write_int(out: &mut Vec<u8>, v: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = v.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of the 8 bytes of `w` must be escaped in a JSON string: a control character, `"`
/// or `\`.
fn word_needs_escape(w: u64) -> bool {
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    below_space | zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\'))) != 0
}

/// Whether any byte of `s` must be escaped in a JSON string: one branch-free pass (the compiler does
/// it 16 or 32 bytes at a time).
fn needs_escape(s: &[u8]) -> bool {
    s.iter().fold(false, |any, &b| any | (b < 0x20) | (b == b'"') | (b == b'\\'))
}

/// `s` as a quoted JSON string, escaped as `serde_json` escapes (short forms for `\b \f \n \r \t`,
/// `\u00xx` for the other control characters, everything else as it is).
fn write_str(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    // Almost every string needs no escape: told in one pass, then copied whole.
    if !needs_escape(s) {
        out.extend_from_slice(s);
        out.push(b'"');
        return;
    }
    // `s[done..]` is what is left to write; words are checked 8 bytes at a time.
    let mut done = 0;
    let mut at = 0;
    while at < s.len() {
        if let Some(word) = s.get(at..at + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            if !word_needs_escape(u64::from_le_bytes(w)) {
                at += 8;
                continue;
            }
        }
        let end = (at + 8).min(s.len());
        for i in at..end {
            let b = s[i];
            let short: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                0x00..=0x1f => b"",
                _ => continue,
            };
            out.extend_from_slice(&s[done..i]);
            if short.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            } else {
                out.extend_from_slice(short);
            }
            done = i + 1;
        }
        at = end;
    }
    out.extend_from_slice(&s[done..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn strings_are_escaped_as_serde_json_escapes_them(s in "(?s).{0,40}", pad in 0usize..9) {
            // Control characters, quotes and backslashes at every position of a word.
            let s = format!("{}{s}\u{1}\"\\\u{7f}é", "x".repeat(pad));
            let mut out = Vec::new();
            write_str(&mut out, s.as_bytes());
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn strings_with_and_without_escapes_are_written_as_serde_json_writes_them(s in "(?s).{0,70}", plain in "[ -!#-\\[\\]-~é]{0,70}") {
            for s in [s, plain] {
                let mut out = Vec::new();
                write_str(&mut out, s.as_bytes());
                proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
            }
        }

        #[test]
        fn integers_are_written_as_serde_json_writes_them(v: i64) {
            let mut out = Vec::new();
            write_int(&mut out, v);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }

        #[test]
        fn times_of_one_day_and_the_next_are_written_whole(start in -70_000_000_000_000i64..260_000_000_000_000, steps in proptest::collection::vec(proptest::prop_oneof![0i64..1500, 0i64..90_000_000, -90_000_000i64..0], 1..8)) {
            let mut last = None;
            let mut ms = start;
            for step in steps {
                ms += step;
                let mut out = Vec::new();
                write_time(&mut out, ms, &mut last);
                proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), format!("\"{}\"", rfc3339(ms)));
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn a_column_checked_whole_writes_what_each_value_checked_alone_writes(
            values in proptest::collection::vec(proptest::option::of("(?s).{0,12}|[a-z/]{0,12}"), 1..20),
            start in 0usize..20,
            len in 0usize..20,
        ) {
            use std::sync::Arc;
            let schema = Arc::new(Schema::new(vec![arrow_schema::Field::new("s", DataType::Utf8, true)]));
            let column: StringArray = values.iter().map(Option::as_deref).collect();
            let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(column)]).unwrap();
            // A slice too: only its own bytes decide, and a value outside it changes nothing.
            let start = start.min(batch.num_rows());
            let batch = batch.slice(start, len.min(batch.num_rows() - start));
            let rows = JsonRows::new(&schema);
            let (mut all, mut each) = (rows.bind_all(&batch), rows.bind(&batch));
            for row in 0..batch.num_rows() {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                all.write(row, &mut a);
                each.write(row, &mut b);
                proptest::prop_assert_eq!(&a, &b);
                proptest::prop_assert_eq!(String::from_utf8(a).unwrap(), super::super::batch::row_json(&batch, row).to_string());
            }
        }
    }

    #[test]
    fn a_clean_slice_of_a_column_with_escapes_elsewhere_is_copied_whole() {
        use std::sync::Arc;
        let schema = Arc::new(Schema::new(vec![arrow_schema::Field::new("s", DataType::Utf8, true)]));
        let column = StringArray::from(vec!["a\"b", "plain", "also plain", "tab\there"]);
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(column)]).unwrap();
        let rows = JsonRows::new(&schema);
        let clean = |b: &BoundRows| matches!(b.columns[0].1, Column::Str(_, true));
        assert!(!clean(&rows.bind_all(&batch)), "the whole column holds escapes");
        let middle = batch.slice(1, 2);
        let bound = rows.bind_all(&middle);
        assert!(clean(&bound), "its middle rows hold none");
        assert!(!clean(&rows.bind(&middle)), "bind does not look");
        let mut out = Vec::new();
        let mut bound = bound;
        bound.write(1, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"s":"also plain"}"#);
    }

    #[test]
    fn every_control_character_and_the_extremes() {
        let all: String = (0u8..0x80).map(char::from).collect();
        let mut out = Vec::new();
        write_str(&mut out, all.as_bytes());
        assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&all).unwrap());
        for v in [0, -1, i64::MIN, i64::MAX, 10, -10] {
            let mut out = Vec::new();
            write_int(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
    }
}
