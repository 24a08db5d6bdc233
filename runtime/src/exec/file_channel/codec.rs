//! How a file channel stores events as log records and reads them back into batches.

use super::super::batch::{is_lines, lines_schema, JsonRows};
use super::super::transform::parse_json_values;
use super::super::RunError;
use crate::log::{Header, RecordRef, RecordView};
use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{Schema, SchemaRef};
use std::sync::Arc;

/// The record header (null value) that marks a record's value as a line's bytes, not JSON.
const LINE_HEADER: &str = "line";

/// The header list of a line record: [`LINE_HEADER`], null.
pub(super) fn line_header() -> Vec<Header> {
    vec![Header { key: LINE_HEADER.into(), value: None }]
}

/// The records of a batch, one per row, borrowing what they hold: for untyped lines each line's
/// bytes straight from the batch, marked by `line` (see [`line_header`]); else each row as a JSON
/// object, written into `json`, whose buffers are reused from batch to batch.
pub(super) fn encode_rows<'a>(
    batch: &'a RecordBatch,
    json: &'a mut Vec<Vec<u8>>,
    line: &'a [Header],
) -> Vec<RecordRef<'a>> {
    let rows = batch.num_rows();
    let lines = is_lines(&batch.schema()).then(|| batch.column(0).as_string::<i32>());
    // A null `line` (a `string?` field) keeps its JSON form.
    let is_json = |row: &usize| lines.is_none_or(|l| l.is_null(*row));
    let n_json = lines.map_or(rows, |l| l.null_count());
    json.truncate(n_json);
    json.resize_with(n_json, Vec::new);
    if n_json > 0 {
        let rows_json = JsonRows::new(&batch.schema());
        let mut rows_json = if n_json * 2 >= rows { rows_json.bind_all(batch) } else { rows_json.bind(batch) };
        for (row, value) in (0..rows).filter(is_json).zip(json.iter_mut()) {
            value.clear();
            rows_json.write(row, value);
        }
    }
    let mut values = json.iter();
    (0..rows)
        .map(|row| match lines {
            Some(l) if !l.is_null(row) => {
                RecordRef { value: Some(l.value(row).as_bytes()), headers: line, ..RecordRef::default() }
            }
            _ => RecordRef { value: values.next().map(Vec::as_slice), ..RecordRef::default() },
        })
        .collect()
}

/// Whether a record's value is a line's bytes (else it is a JSON object).
fn is_line(record: &RecordView<'_>) -> bool {
    record.headers.iter().any(|(key, _)| *key == LINE_HEADER.as_bytes())
}

/// Records read back, one at a time, into a batch of the channel's schema. Lines go straight into
/// the string column while the schema is untyped lines and every record so far is a line;
/// everything else is parsed as `parse json` does (a line record as the object `{"line": ...}`).
pub(super) struct Decoder {
    /// Lines, while only lines came and the schema is lines.
    lines: Option<StringBuilder>,
    /// JSON objects, once anything else came (holding the lines before it, as objects).
    json: Option<StringBuilder>,
}

impl Decoder {
    pub(super) fn new(schema: &Schema, records: usize) -> Decoder {
        let lines = is_lines(schema).then(|| StringBuilder::with_capacity(records, records * 128));
        Decoder { lines, json: None }
    }

    pub(super) fn push(&mut self, record: &RecordView<'_>) {
        let bytes = record.value.unwrap_or_default();
        // The quick check first: `from_utf8_lossy` walks valid text more slowly.
        let value = match std::str::from_utf8(bytes) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        };
        let line = is_line(record);
        if let (Some(lines), true) = (self.lines.as_mut(), line) {
            lines.append_value(value);
            return;
        }
        let json = self.json.get_or_insert_with(|| {
            let mut json = StringBuilder::new();
            if let Some(mut lines) = self.lines.take() {
                for line in lines.finish().iter() {
                    json.append_value(serde_json::json!({ "line": line }).to_string());
                }
            }
            json
        });
        if line {
            json.append_value(serde_json::json!({ "line": value }).to_string());
        } else {
            json.append_value(value);
        }
    }

    /// The batch, and how many records were rejected.
    pub(super) fn finish(self, schema: &SchemaRef) -> Result<(RecordBatch, u64), RunError> {
        let batch = |schema: SchemaRef, column: StringBuilder| {
            let mut column = column;
            RecordBatch::try_new(schema, vec![Arc::new(column.finish())])
                .map_err(|e| RunError::internal(format!("a batch of log records: {e}")))
        };
        match (self.lines, self.json) {
            (_, Some(json)) => parse_json_values(&batch(lines_schema(), json)?, schema),
            (Some(lines), None) => Ok((batch(schema.clone(), lines)?, 0)),
            (None, None) => parse_json_values(&batch(lines_schema(), StringBuilder::new())?, schema),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::exec::batch::{lines_batch, row_json};
    use crate::exec::file_channel::{GROUP, TOPIC};
    use crate::log::{AsRecord, ConsumerOptions, Log, LogOptions, OffsetReset, Record, TopicConfig};
    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use std::time::Duration;

    /// Appends `records` to a fresh channel-style log and reads them back into `schema` as the
    /// channel's reader does (polls of at most 3 records, so several batches come out).
    fn through_a_log<R: AsRecord>(records: &[R], schema: &SchemaRef) -> (RecordBatch, u64) {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions { create: true }).unwrap();
        log.create_topic(TOPIC, &TopicConfig { partitions: 1, ..TopicConfig::default() }).unwrap();
        let writer = log.partition_writer(TOPIC, 0, None).unwrap();
        writer.append_borrowed(&records.iter().map(AsRecord::as_record).collect::<Vec<_>>()).unwrap();
        let group =
            ConsumerOptions { group: Some(GROUP.into()), reset: OffsetReset::Earliest, ..ConsumerOptions::default() };
        let mut consumer = log.consumer(TOPIC, group).unwrap();
        let (mut batches, mut rejected, mut read) = (Vec::new(), 0, 0);
        while read < records.len() {
            let mut decoder = Decoder::new(schema, 3);
            let n = consumer.poll_with(3, Duration::from_secs(5), |_, r| decoder.push(r)).unwrap();
            assert!(n > 0, "the log holds {} records, read {read}", records.len());
            let (batch, r) = decoder.finish(schema).unwrap();
            (read, rejected) = (read + n, rejected + r);
            batches.push(batch);
        }
        (arrow_select::concat::concat_batches(schema, &batches).unwrap(), rejected)
    }

    /// The records of `batch`, owned.
    fn encoded(batch: &RecordBatch, json: &mut Vec<Vec<u8>>) -> Vec<Record> {
        let line = line_header();
        let refs = encode_rows(batch, json, &line);
        refs.iter()
            .map(|r| Record {
                key: r.key.map(<[u8]>::to_vec),
                value: r.value.map(<[u8]>::to_vec),
                headers: r.headers.to_vec(),
                timestamp: r.timestamp,
            })
            .collect()
    }

    pub(crate) fn lines_of(batch: &RecordBatch) -> Vec<String> {
        batch.column(0).as_string::<i32>().iter().map(|l| l.unwrap().to_string()).collect()
    }

    #[test]
    fn lines_are_stored_as_their_bytes_and_read_back() {
        let lines = ["a b", "", "{\"line\":\"not json\"}", "é \" \\ \t"];
        // After a typed batch: its JSON buffers stay unused.
        let mut json = Vec::new();
        let typed = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)])),
            vec![Arc::new(Int64Array::from(vec![1, 2]))],
        )
        .unwrap();
        assert_eq!(encoded(&typed, &mut json).len(), 2);
        let records = encoded(&lines_batch(&lines), &mut json);
        assert_eq!(records[0].value.as_deref(), Some(&b"a b"[..]));
        assert!(records.iter().all(|r| r.headers == vec![Header { key: LINE_HEADER.into(), value: None }]));
        let (batch, rejected) = through_a_log(&records, &lines_schema());
        assert_eq!((lines_of(&batch), rejected), (lines.map(String::from).to_vec(), 0));
    }

    /// A channel log written before line records existed holds `{"line": ...}` objects, no header.
    #[test]
    fn old_json_line_records_still_read_alone_and_mixed_with_new_ones() {
        let old = lines_batch(&["old 1", "old \"2\"", "old 3", "old 4"]);
        let mut records: Vec<Record> =
            (0..4).map(|row| Record::from_value(row_json(&old, row).to_string().into_bytes())).collect();
        let (batch, rejected) = through_a_log(&records, &lines_schema());
        let old_lines: Vec<String> = ["old 1", "old \"2\"", "old 3", "old 4"].map(String::from).to_vec();
        assert_eq!((lines_of(&batch), rejected), (old_lines.clone(), 0));
        // The same log continued by this version (a poll of 3 then holds old and new records, in
        // both orders): order kept across the two encodings.
        records.extend(encoded(&lines_batch(&["new 5", "new 6", "new 7"]), &mut Vec::new()));
        records.extend((0..2).map(|row| Record::from_value(row_json(&old, row).to_string().into_bytes())));
        let (batch, rejected) = through_a_log(&records, &lines_schema());
        let mut want = old_lines.clone();
        want.extend(["new 5", "new 6", "new 7", "old 1", "old \"2\""].map(String::from));
        assert_eq!((lines_of(&batch), rejected), (want, 0));
    }

    #[test]
    fn typed_rows_are_json_and_round_trip() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("host", DataType::Utf8, true),
            Field::new("status", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec![Some("a\"b"), None])), Arc::new(Int64Array::from(vec![200, 404]))],
        )
        .unwrap();
        // JSON buffers of a batch before reused (and cut to this batch's rows).
        let mut json = vec![b"{\"old\":1}".to_vec(); 3];
        let records = encoded(&batch, &mut json);
        assert_eq!(records.len(), 2);
        for (row, r) in records.iter().enumerate() {
            assert!(r.headers.is_empty());
            assert_eq!(r.value.as_deref(), Some(row_json(&batch, row).to_string().as_bytes()));
        }
        let (back, rejected) = through_a_log(&records, &schema);
        assert_eq!((back, rejected), (batch, 0));
    }

    #[test]
    fn a_null_line_keeps_its_json_form() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("line", DataType::Utf8, true)]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from(vec![Some("x"), None]))]).unwrap();
        let records = encoded(&batch, &mut Vec::new());
        assert!(records[1].headers.is_empty());
        assert_eq!(records[0].headers, line_header());
        let (back, rejected) = through_a_log(&records, &schema);
        assert_eq!((back, rejected), (batch, 0));
    }
}
