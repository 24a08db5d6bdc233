//! Turns record batches into the bytes of one open file, in the sink's format, and hands them to the
//! file's [`Output`].

use super::output::{Output, Writer};
use arrow_array::cast::AsArray;
use arrow_array::{RecordBatch, StringArray};
use flowc_runtime::exec::batch::{is_lines, row_json, row_text};
use std::io::{self, Write};

/// A file format of the `files` sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// The line, or `field=value` pairs for records.
    Lines,
    /// One JSON object per line.
    Json,
}

impl Format {
    /// The format named by the sink's `format` option.
    pub(crate) fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "lines" => Format::Lines,
            "json" => Format::Json,
            _ => return None,
        })
    }

    /// The file-name suffix used when the sink names none.
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Format::Lines => ".log",
            Format::Json => ".json",
        }
    }
}

/// Encodes one open file.
pub(crate) struct Encoder {
    format: Format,
    out: Writer,
    line: String,
}

impl Encoder {
    pub(crate) fn new(format: Format, out: Box<dyn Output>) -> Encoder {
        Encoder { format, out: Writer(out), line: String::new() }
    }

    /// Encodes `rows` of `batch`, in order, stopping early once the file holds `limit` bytes (`0`: no
    /// limit). Returns how many rows it took (at least one, unless `rows` is empty).
    pub(crate) fn write(&mut self, batch: &RecordBatch, rows: &[u32], limit: u64) -> io::Result<usize> {
        // Plain lines are written as they are, without rendering each row.
        let lines: Option<&StringArray> = is_lines(&batch.schema()).then(|| batch.column(0).as_string::<i32>());
        for (i, &row) in rows.iter().enumerate() {
            let row = row as usize;
            self.line.clear();
            match lines {
                Some(column) => self.line.push_str(column.value(row)),
                None if self.format == Format::Json => self.line.push_str(&row_json(batch, row).to_string()),
                None => row_text(batch, row, &mut self.line),
            }
            self.line.push('\n');
            self.out.write_all(self.line.as_bytes())?;
            if limit > 0 && self.bytes() >= limit {
                return Ok(i + 1);
            }
        }
        Ok(rows.len())
    }

    /// Bytes of the file so far, as they will be stored.
    pub(crate) fn bytes(&self) -> u64 {
        self.out.0.bytes_written()
    }

    /// Hands everything encoded so far to the output.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Completes the file and gives it its final name.
    pub(crate) fn finish(self) -> io::Result<()> {
        self.out.0.finish()
    }

    /// What error messages call this file.
    pub(crate) fn describe(&self) -> String {
        self.out.0.describe()
    }
}
