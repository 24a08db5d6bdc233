//! Every format over random bytes (as the sources hand them on: invalid UTF-8 replaced) through a
//! whole batch: each text is a record or a counted rejection, never a panic.

use super::*;
use crate::exec::batch::lines_batch;
use arrow_schema::{Field, Schema};
use proptest::prelude::*;
use samples::formats;

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
