//! Turns record batches into the bytes of one open file — lines, NDJSON, CSV (text formats, optionally
//! gzip or zstd), Parquet or Arrow IPC — and hands them to the file's [`Output`]. Files whose bytes
//! cannot be read back after a crash (compressed text, Parquet and Arrow before their footer) keep a
//! journal beside them: the rows as an Arrow IPC stream, flushed with every batch, from which a
//! leftover file is rebuilt on restart.

use super::output::{Output, Writer};
use arrow_array::cast::AsArray;
use arrow_array::{RecordBatch, StringArray, UInt32Array};
use arrow_ipc::writer::{FileWriter, IpcWriteOptions, StreamWriter};
use arrow_schema::{ArrowError, SchemaRef};
use flowc_runtime::exec::batch::{is_lines, row_text, value_text, JsonRows};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Most bytes of a Parquet row group held in memory, whatever `row_group_size` says.
const ROW_GROUP_BYTES: usize = 128 << 20;

/// Bytes of a Parquet data page before it is compressed.
const PAGE_BYTES: usize = 128 << 10;

/// A file format of the `files` sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// The line, or `field=value` pairs for records.
    Lines,
    /// One JSON object per line.
    Json,
    /// Comma-separated values, RFC 4180 quoting.
    Csv,
    Parquet,
    /// Arrow IPC file format.
    Arrow,
}

/// How a file's bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
    Snappy,
}

/// How every file of a sink is encoded.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) format: Format,
    pub(crate) compression: Compression,
    pub(crate) csv_header: bool,
    pub(crate) row_group_size: usize,
    /// The columns written (the checked record type; one `line` column for untyped streams).
    pub(crate) schema: SchemaRef,
}

impl Settings {
    /// Settings from the sink's option values; an error says which combination cannot be written.
    pub(crate) fn new(
        format: &str,
        compression: Option<&str>,
        csv_header: bool,
        row_group_size: usize,
        schema: SchemaRef,
        typed: bool,
    ) -> Result<Settings, String> {
        let format = match format {
            "lines" => Format::Lines,
            "json" => Format::Json,
            "csv" => Format::Csv,
            "parquet" => Format::Parquet,
            "arrow" => Format::Arrow,
            other => return Err(format!("`format = {other}` is not a file format")),
        };
        let compression = match (compression, format) {
            (None, Format::Parquet) => Compression::Zstd,
            (None | Some("none"), _) => Compression::None,
            (Some("gzip"), Format::Lines | Format::Json | Format::Csv) => Compression::Gzip,
            (Some("zstd"), _) => Compression::Zstd,
            (Some("snappy"), Format::Parquet) => Compression::Snappy,
            (Some(other), _) => {
                return Err(format!(
                    "`compression = {other}` does not apply to `format = {}` (text formats: gzip or zstd; \
parquet: zstd, snappy or none; arrow: zstd or none)",
                    format.name()
                ))
            }
        };
        if matches!(format, Format::Csv | Format::Parquet | Format::Arrow) && !typed {
            return Err(format!("`format = {}` needs a typed record stream", format.name()));
        }
        Ok(Settings { format, compression, csv_header, row_group_size: row_group_size.max(1), schema })
    }

    /// The file-name suffix used when the sink names none: the format's extension, then the
    /// compression's for text formats (Parquet and Arrow compress inside the file).
    pub(crate) fn suffix(&self) -> String {
        let ext = match self.format {
            Format::Lines => ".log",
            Format::Json => ".json",
            Format::Csv => ".csv",
            Format::Parquet => ".parquet",
            Format::Arrow => ".arrow",
        };
        let text = matches!(self.format, Format::Lines | Format::Json | Format::Csv);
        match self.compression {
            Compression::Gzip if text => format!("{ext}.gz"),
            Compression::Zstd if text => format!("{ext}.zst"),
            _ => ext.to_string(),
        }
    }

    /// Whether a file cut short by a crash is unreadable, so its rows are journaled.
    pub(crate) fn journaled(&self) -> bool {
        matches!(self.format, Format::Parquet | Format::Arrow) || self.compression != Compression::None
    }
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Lines => "lines",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Arrow => "arrow",
        }
    }
}

/// Encodes one open file.
pub(crate) struct Encoder {
    settings: Settings,
    body: Body,
    journal: Option<Journal>,
    line: String,
    name: String,
    /// Bytes of the file after its last successful flush (where [`Encoder::rewind`] goes back to).
    flushed: u64,
}

enum Body {
    Text(Text),
    Parquet(Box<ArrowWriter<Writer>>),
    Arrow(Box<FileWriter<Writer>>),
}

/// The byte stream of a text format, compressed or not.
enum Text {
    Plain(Writer),
    Gzip(flate2::write::GzEncoder<Writer>),
    Zstd(zstd::stream::write::Encoder<'static, Writer>),
}

impl Text {
    fn get_ref(&self) -> &Writer {
        match self {
            Text::Plain(w) => w,
            Text::Gzip(w) => w.get_ref(),
            Text::Zstd(w) => w.get_ref(),
        }
    }

    fn stream(&mut self) -> &mut dyn Write {
        match self {
            Text::Plain(w) => w,
            Text::Gzip(w) => w,
            Text::Zstd(w) => w,
        }
    }

    fn finish(self) -> io::Result<Writer> {
        match self {
            Text::Plain(w) => Ok(w),
            Text::Gzip(w) => w.finish(),
            Text::Zstd(w) => w.finish(),
        }
    }
}

/// The rows of an open file as an Arrow IPC stream, readable up to the last flushed batch.
struct Journal {
    path: PathBuf,
    writer: StreamWriter<BufWriter<File>>,
}

fn arrow_io(err: ArrowError) -> io::Error {
    match err {
        ArrowError::IoError(_, err) => err,
        other => io::Error::other(other.to_string()),
    }
}

/// The size at which a Parquet file rolling at `limit` is full: within 5%, rather than start a tiny
/// last row group.
fn parquet_full(limit: u64) -> u64 {
    limit - limit / 20
}

/// An error with the name of the file it happened to.
fn wrap(name: &str, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("{name}: {err}"))
}

fn parquet_io(err: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(err.to_string())
}

impl Encoder {
    /// Starts a file in `out`; with a `journal` path, its rows are also journaled there.
    pub(crate) fn new(settings: &Settings, out: Box<dyn Output>, journal: Option<PathBuf>) -> io::Result<Encoder> {
        let name = out.describe();
        let out = Writer(out);
        let body = match settings.format {
            Format::Parquet => {
                let compression = match settings.compression {
                    Compression::Zstd => ParquetCompression::ZSTD(ZstdLevel::default()),
                    Compression::Snappy => ParquetCompression::SNAPPY,
                    _ => ParquetCompression::UNCOMPRESSED,
                };
                let props = WriterProperties::builder()
                    .set_compression(compression)
                    .set_max_row_group_row_count(Some(settings.row_group_size))
                    // Small pages keep the estimate of a row group in memory close to its stored size.
                    .set_data_page_size_limit(PAGE_BYTES)
                    // Bounds the memory of a row group of wide rows.
                    .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
                    .build();
                let writer = ArrowWriter::try_new(out, settings.schema.clone(), Some(props)).map_err(parquet_io)?;
                Body::Parquet(Box::new(writer))
            }
            Format::Arrow => {
                let compression =
                    (settings.compression == Compression::Zstd).then_some(arrow_ipc::CompressionType::ZSTD);
                let options = IpcWriteOptions::default().try_with_compression(compression).map_err(arrow_io)?;
                let writer = FileWriter::try_new_with_options(out, &settings.schema, options).map_err(arrow_io)?;
                Body::Arrow(Box::new(writer))
            }
            Format::Lines | Format::Json | Format::Csv => {
                let mut text = match settings.compression {
                    Compression::Gzip => Text::Gzip(flate2::write::GzEncoder::new(out, flate2::Compression::default())),
                    Compression::Zstd => Text::Zstd(zstd::stream::write::Encoder::new(out, 3)?),
                    _ => Text::Plain(out),
                };
                if settings.format == Format::Csv && settings.csv_header {
                    let mut header = String::new();
                    for (i, field) in settings.schema.fields().iter().enumerate() {
                        if i > 0 {
                            header.push(',');
                        }
                        csv_value(field.name(), &mut header);
                    }
                    header.push('\n');
                    text.stream().write_all(header.as_bytes())?;
                    // The header is where a rewind goes back to.
                    text.stream().flush()?;
                }
                Body::Text(text)
            }
        };
        let journal = match journal {
            Some(path) => {
                let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
                let writer = StreamWriter::try_new(BufWriter::with_capacity(256 * 1024, file), &settings.schema)
                    .map_err(arrow_io)?;
                Some(Journal { path, writer })
            }
            None => None,
        };
        let mut encoder = Encoder { settings: settings.clone(), body, journal, line: String::new(), name, flushed: 0 };
        encoder.flushed = encoder.bytes();
        Ok(encoder)
    }

    /// Encodes `rows` of `batch`, in order, stopping early once the file holds `limit` bytes (`0`: no
    /// limit). Returns how many rows it took (at least one, unless `rows` is empty).
    pub(crate) fn write(&mut self, batch: &RecordBatch, rows: &[u32], limit: u64) -> io::Result<usize> {
        let mut taken = 0;
        while taken < rows.len() {
            // Columnar files take a chunk at a time, checking the size between chunks.
            let chunk = match &self.body {
                Body::Text(_) => rows.len() - taken,
                _ if limit == 0 => rows.len() - taken,
                _ => (rows.len() - taken).min(8_192),
            };
            let part = &rows[taken..taken + chunk];
            let n = match &mut self.body {
                Body::Text(text) => write_text(&self.settings, text, &mut self.line, batch, part, limit)
                    .map_err(|e| wrap(&self.name, e))?,
                Body::Parquet(w) => {
                    let projected = project(&self.settings.schema, batch, part)?;
                    w.write(&projected).map_err(parquet_io).map_err(|e| wrap(&self.name, e))?;
                    let flushed = w.inner().0.bytes_written();
                    let estimate = w.in_progress_size() as u64;
                    if limit > 0 && estimate > 0 && flushed + estimate >= parquet_full(limit) {
                        // The estimate counts the page being filled uncompressed: measure exactly
                        // by flushing the row group; the file goes on if it is not full after all.
                        w.flush().map_err(parquet_io).map_err(|e| wrap(&self.name, e))?;
                    }
                    part.len()
                }
                Body::Arrow(w) => {
                    let projected = project(&self.settings.schema, batch, part)?;
                    w.write(&projected).map_err(arrow_io).map_err(|e| wrap(&self.name, e))?;
                    part.len()
                }
            };
            if let Some(journal) = &mut self.journal {
                let projected = project(&self.settings.schema, batch, &part[..n])?;
                let path = journal.path.display().to_string();
                journal.writer.write(&projected).map_err(|e| io::Error::other(format!("{path}: {e}")))?;
            }
            taken += n;
            if self.is_full(limit) {
                break;
            }
        }
        Ok(taken)
    }

    /// Bytes of the file so far as they will be stored: written after encoding and compression, plus
    /// for Parquet the estimated stored size of the row group still in memory.
    pub(crate) fn bytes(&self) -> u64 {
        match &self.body {
            Body::Text(text) => text.get_ref().0.bytes_written(),
            Body::Parquet(w) => w.inner().0.bytes_written() + w.in_progress_size() as u64,
            Body::Arrow(w) => w.get_ref().0.bytes_written(),
        }
    }

    /// Whether the file reached `limit` bytes (`0`: never); a Parquet file, within 5% of it.
    pub(crate) fn is_full(&self, limit: u64) -> bool {
        match &self.body {
            _ if limit == 0 => false,
            Body::Parquet(_) => self.bytes() >= parquet_full(limit),
            _ => self.bytes() >= limit,
        }
    }

    /// Makes every row written so far survive a crash: text is flushed through its compressor (a
    /// sync flush) to the output; a journal is flushed to its file.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if let Some(journal) = &mut self.journal {
            journal.writer.flush().map_err(arrow_io)?;
        }
        let result = match &mut self.body {
            Body::Text(text) => text.stream().flush(),
            // Parquet and Arrow files are rebuilt from the journal after a crash.
            Body::Parquet(_) | Body::Arrow(_) => Ok(()),
        };
        result.map_err(|e| wrap(&self.name, e))?;
        self.flushed = self.bytes();
        Ok(())
    }

    /// After a failed write: puts an uncompressed text file back to its last flush, so the batch's
    /// retry writes its rows once. `false` when it cannot (compressed, columnar, or a store that
    /// cannot): the retry may repeat rows, and the journal still rebuilds columnar files.
    pub(crate) fn rewind(&mut self) -> io::Result<bool> {
        match &mut self.body {
            Body::Text(Text::Plain(out)) if self.journal.is_none() => out.0.rewind(self.flushed),
            _ => Ok(false),
        }
    }

    /// Completes the file (its footer, the compressor's trailer), gives it its final name, then
    /// drops its journal.
    pub(crate) fn finish(self) -> io::Result<()> {
        let name = self.name;
        let wrap = |e: io::Error| io::Error::new(e.kind(), format!("{name}: {e}"));
        let out = match self.body {
            Body::Text(text) => text.finish().map_err(wrap)?,
            Body::Parquet(w) => w.into_inner().map_err(parquet_io).map_err(wrap)?,
            Body::Arrow(w) => w.into_inner().map_err(arrow_io).map_err(wrap)?,
        };
        out.0.finish().map_err(wrap)?;
        if let Some(journal) = self.journal {
            drop(journal.writer);
            std::fs::remove_file(&journal.path)?;
        }
        Ok(())
    }
}

fn write_text(
    settings: &Settings,
    text: &mut Text,
    line: &mut String,
    batch: &RecordBatch,
    rows: &[u32],
    limit: u64,
) -> io::Result<usize> {
    // Plain lines are written as they are, without rendering each row.
    let lines: Option<&StringArray> = is_lines(&batch.schema()).then(|| batch.column(0).as_string::<i32>());
    // JSON rows are written straight into bytes, in the key order `row_json` gives.
    let json = (lines.is_none() && matches!(settings.format, Format::Json)).then(|| JsonRows::new(&batch.schema()));
    // A whole-column check for escapes pays when most of the batch is written here: most of its
    // rows, and (with a size limit) room in the file for about all the batch holds — a batch cut
    // into many files by size is not scanned again for each.
    let room = if limit == 0 { u64::MAX } else { limit.saturating_sub(text.get_ref().0.bytes_written()) };
    let most = rows.len() * 2 >= batch.num_rows() && room >= batch.get_array_memory_size() as u64;
    let mut json = json.as_ref().map(|json| if most { json.bind_all(batch) } else { json.bind(batch) });
    // Uncompressed, rows are gathered and written PENDING bytes at a time: the file's size is what
    // it holds plus what is gathered, as if each row were written alone. A compressor's output
    // size only moves as it writes, so compressed rows are handed to it one at a time.
    const PENDING: usize = 64 << 10;
    let gather = matches!(text, Text::Plain(_));
    let mut bytes = Vec::with_capacity(if gather { PENDING + (8 << 10) } else { 0 });
    for (i, &row) in rows.iter().enumerate() {
        let row = row as usize;
        match (lines, settings.format, &mut json) {
            (_, Format::Csv, _) => {
                line.clear();
                csv_row(&settings.schema, batch, row, line);
                bytes.extend_from_slice(line.as_bytes());
            }
            (Some(column), _, _) => bytes.extend_from_slice(column.value(row).as_bytes()),
            (None, _, Some(json)) => json.write(row, &mut bytes),
            (None, _, None) => {
                line.clear();
                row_text(batch, row, line);
                bytes.extend_from_slice(line.as_bytes());
            }
        }
        bytes.push(b'\n');
        let full = if gather {
            let full = limit > 0 && text.get_ref().0.bytes_written() + bytes.len() as u64 >= limit;
            if full || bytes.len() >= PENDING {
                text.stream().write_all(&bytes)?;
                bytes.clear();
            }
            full
        } else {
            text.stream().write_all(&bytes)?;
            bytes.clear();
            limit > 0 && text.get_ref().0.bytes_written() >= limit
        };
        if full {
            return Ok(i + 1);
        }
    }
    text.stream().write_all(&bytes)?;
    Ok(rows.len())
}

/// One CSV record: the schema's fields in order, empty for null.
fn csv_row(schema: &SchemaRef, batch: &RecordBatch, row: usize, out: &mut String) {
    for (i, field) in schema.fields().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let value = batch.column_by_name(field.name()).and_then(|c| value_text(c.as_ref(), row));
        if let Some(value) = value {
            csv_value(&value, out);
        }
    }
}

/// A CSV field, quoted when it holds a separator, quote or line break (RFC 4180).
fn csv_value(value: &str, out: &mut String) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// The `rows` of `batch` as the schema's columns, in the schema's order.
fn project(schema: &SchemaRef, batch: &RecordBatch, rows: &[u32]) -> io::Result<RecordBatch> {
    let indices = UInt32Array::from(rows.to_vec());
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let column = batch
            .column_by_name(field.name())
            .ok_or_else(|| io::Error::other(format!("the batch has no column `{}`", field.name())))?;
        columns.push(arrow_select::take::take(column.as_ref(), &indices, None).map_err(arrow_io)?);
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(arrow_io)
}

/// Rebuilds a file a crash interrupted from its journal: every complete batch of the journal is
/// encoded into `out` (a partial last batch was never acknowledged), `out` is finished, and the
/// journal removed. Returns how many rows were recovered.
pub(crate) fn recover(settings: &Settings, journal: &Path, out: Box<dyn Output>) -> io::Result<usize> {
    let file = File::open(journal)?;
    let mut rows = 0;
    let mut encoder = Encoder::new(settings, out, None)?;
    // A journal cut before its schema message holds no rows.
    if let Ok(reader) = arrow_ipc::reader::StreamReader::try_new_buffered(file, None) {
        for batch in reader {
            let Ok(batch) = batch else { break };
            let all: Vec<u32> = (0..batch.num_rows() as u32).collect();
            rows += encoder.write(&batch, &all, 0)?;
        }
    }
    encoder.finish()?;
    std::fs::remove_file(journal)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        let mut out = String::new();
        csv_value("plain", &mut out);
        out.push(',');
        csv_value("a,b \"c\"", &mut out);
        assert_eq!(out, "plain,\"a,b \"\"c\"\"\"");
    }

    #[test]
    fn suffixes_follow_format_and_compression() {
        let schema = flowc_runtime::exec::batch::lines_schema();
        let s = |f: &str, c: Option<&str>| Settings::new(f, c, true, 10, schema.clone(), false).map(|s| s.suffix());
        assert_eq!(s("lines", None).unwrap(), ".log");
        assert_eq!(s("json", Some("gzip")).unwrap(), ".json.gz");
        assert_eq!(s("lines", Some("zstd")).unwrap(), ".log.zst");
        assert!(s("json", Some("snappy")).unwrap_err().contains("does not apply"));
        assert!(s("parquet", None).unwrap_err().contains("typed record stream"));
    }

    /// A local file whose writes fail with `fail` once armed, after letting the first `prefix`
    /// bytes of the failing write reach the disk (a write cut short by a full disk).
    struct Faulty {
        file: super::super::output::LocalFile,
        armed: std::sync::Arc<std::sync::atomic::AtomicBool>,
        fail: i32,
        prefix: usize,
    }

    impl Output for Faulty {
        fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
            if self.armed.load(std::sync::atomic::Ordering::SeqCst) {
                self.file.write_all(&buf[..self.prefix.min(buf.len())])?;
                self.file.flush()?;
                return Err(io::Error::from_raw_os_error(self.fail));
            }
            self.file.write_all(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            if self.armed.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(io::Error::from_raw_os_error(self.fail));
            }
            self.file.flush()
        }
        fn bytes_written(&self) -> u64 {
            self.file.bytes_written()
        }
        fn rewind(&mut self, len: u64) -> io::Result<bool> {
            self.file.rewind(len)
        }
        fn finish(self: Box<Self>) -> io::Result<()> {
            Box::new(self.file).finish()
        }
        fn abort(self: Box<Self>) -> io::Result<()> {
            Box::new(self.file).abort()
        }
        fn describe(&self) -> String {
            self.file.describe()
        }
    }

    #[test]
    fn a_write_failed_by_a_full_disk_or_an_io_error_is_put_back_and_written_once_by_its_retry() {
        let schema = flowc_runtime::exec::batch::lines_schema();
        let settings = Settings::new("lines", None, false, 10, schema, false).unwrap();
        for (fail, what) in [(28, "ENOSPC"), (5, "EIO")] {
            let dir = tempfile::tempdir().unwrap();
            let (tmp, done) = (dir.path().join("f.log.tmp"), dir.path().join("f.log"));
            let armed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let file = super::super::output::LocalFile::create(tmp, done.clone()).unwrap();
            let out = Faulty { file, armed: armed.clone(), fail, prefix: 7 };
            let mut encoder = Encoder::new(&settings, Box::new(out), None).unwrap();
            let first = flowc_runtime::exec::batch::lines_batch(&["a1", "a2"]);
            let second = flowc_runtime::exec::batch::lines_batch(&["b1", "b2", "b3"]);
            encoder.write(&first, &[0, 1], 0).unwrap();
            encoder.flush().unwrap();
            // The disk fills while the second batch is written: part of it reaches the file.
            armed.store(true, std::sync::atomic::Ordering::SeqCst);
            let failed = encoder.write(&second, &[0, 1, 2], 0).and_then(|_| encoder.flush());
            let err = failed.expect_err("the armed write fails");
            let disk = io::Error::from_raw_os_error(fail);
            assert_eq!(err.kind(), disk.kind(), "{what}: the error is the disk's: {err}");
            assert!(err.to_string().contains(&disk.to_string()), "{what}: it says why: {err}");
            assert!(encoder.rewind().unwrap(), "{what}: a plain text file is put back");
            // Room again: the retry writes the batch once, after the first.
            armed.store(false, std::sync::atomic::Ordering::SeqCst);
            encoder.write(&second, &[0, 1, 2], 0).unwrap();
            encoder.flush().unwrap();
            encoder.finish().unwrap();
            assert_eq!(std::fs::read_to_string(&done).unwrap(), "a1\na2\nb1\nb2\nb3\n", "{what}");
        }
    }
}
