//! `files`: the HDFS sink's semantics on the local file system. Each event's directory is `path` with
//! its escapes expanded (time escapes from the event time rounded down to `round`, `%{field}` from the
//! record, encoded so a value can never leave the root); each directory and prefix has one open file
//! `<prefix><n><suffix>`, written under `in_use_suffix` until `roll` closes it and it gets its final
//! name. A batch is acknowledged only after its events are flushed. On an object store (`object.rs`)
//! the open file is an unfinished multipart upload instead.

mod check;
mod encode;
mod object;
mod output;

use crate::catalogue::object_store::{ACCESS_KEY_ID, ALLOW_HTTP, ENDPOINT, REGION, SECRET_ACCESS_KEY};
use crate::catalogue::{int_from, optional, required, unset};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{Array, PrimitiveArray, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use check::{bucket_time, BucketTime};
use chrono::{Local, TimeZone, Utc};
use encode::{Encoder, Settings};
use flowc_compiler::builtins::flume::{key, FlumeConv::*, FlumeType};
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamSig, ParamType, Role, StreamIn, StreamOut};
use flowc_compiler::template::Part;
use flowc_runtime::exec::batch::{self as arrow_batch, value_text};
use flowc_runtime::exec::{blocking, BoxFuture, NodeMetrics, NodeSpec, Opts, RunError, Sink};
use flowc_runtime::exec::{Built, Connector};
use output::{finish_leftovers, first_free, LocalFile, Output};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Flume's HDFS sink, grown up: local files or object stores, text or columnar.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: |spec| Ok(Built::sink(Files::new(spec)?)) };

/// Why Flume's HDFS client settings are not needed.
const HDFS_CLIENT: &str = "an HDFS client setting; flowc has no HDFS client";

const SIG: ConnectorSig = ConnectorSig {
    kind: "files",
    role: Role::Sink,
    summary: "Write events to time-bucketed, rolled files on a local disk or an object store (S3, GCS, Azure).",
    doc: "The HDFS sink's semantics on any file system. Each event's bucket is `path` with its escapes \
expanded (`%Y %y %m %d %H %M %S %s` from the event time, rounded down to a multiple of `round`; \
`%{field}` from the record, encoded so a value can never escape the root). Each bucket has one open \
file, named `<prefix><n><suffix>` and written under the `in_use_suffix` (on object stores: an unfinished \
multipart upload) until `roll` closes it; only then does it get its final name, so readers never see \
half a file, and a leftover in-use file is finished on restart (Parquet, Arrow and compressed files, \
unreadable when cut short, are rebuilt from a journal of their acknowledged rows kept beside them). \
A take is committed only after its events are flushed. Defaults roll every 5 minutes or 128 MiB \
instead of Flume's 30 s / 1 KiB / 10 events, which made thousands of tiny files; `check` warns about settings that still would. Columnar \
formats (`csv`, `parquet`, `arrow`) need a typed record stream and write its checked schema. On an \
object store, an open file is a multipart upload: its bytes are spooled in the data directory as they \
are flushed (a committed take survives a crash) and shipped in parts of at least 5 MiB; the object \
appears under its final name only once the upload is completed, and a run that crashed has its uploads \
completed (text formats) or aborted and written anew from their journal (Parquet, Arrow, compressed) \
when it starts again.",
    params: &[
        required(
            "path",
            ParamType::PathTemplate,
            "Directory template: local (`\"out/%Y-%m-%d/%H%M/\"`) or `s3://`, `gs://`, `az://` URL (Flume's `hdfs.path`).",
        ),
        unset(
            "prefix",
            ParamType::PathTemplate,
            "Start of each file name, may use the path escapes (Flume's `filePrefix`); default: none.",
        ),
        unset(
            "suffix",
            ParamType::String,
            "End of each file name; default: the format's extension (`.log`, `.json`, `.csv`, `.parquet`, `.arrow`, plus `.gz` or `.zst`).",
        ),
        optional(
            "in_use_suffix",
            ParamType::String,
            "\".tmp\"",
            "Suffix of a file still being written, dropped when it is closed.",
        ),
        unset(
            "round",
            ParamType::Duration,
            "Round the bucket time down to a multiple of this (e.g. `10m`: 11:54 → 1150); default: no rounding.",
        ),
        unset(
            "roll",
            ParamType::Record(ROLL),
            "When an open file is closed: `{ interval, size, count, idle }`, whichever comes first; omitted fields keep the defaults below.",
        ),
        optional(
            "batch",
            int_from(1),
            "1_000",
            "Events per take from the channel; each take is flushed before it is committed (Flume's `batchSize`).",
        ),
        optional(
            "format",
            ParamType::Enum(&["lines", "json", "csv", "parquet", "arrow"]),
            "lines",
            "File format: lines, NDJSON, CSV, Parquet or Arrow IPC; `csv`, `parquet` and `arrow` need a typed record stream.",
        ),
        unset(
            "compression",
            ParamType::Enum(&["none", "gzip", "zstd", "snappy"]),
            "`gzip` or `zstd` for text formats; `zstd`, `snappy` or `none` inside Parquet; `zstd` or `none` inside Arrow; default: `none` (Parquet: `zstd`).",
        ),
        optional(
            "csv_header",
            ParamType::Bool,
            "true",
            "Write a header row of field names at the start of each CSV file.",
        ),
        optional(
            "row_group_size",
            int_from(1),
            "1_000_000",
            "Most rows per Parquet row group.",
        ),
        unset(
            "time_field",
            ParamType::Field,
            "Bucket by this timestamp field of the record; default: the event's timestamp (when its source read it).",
        ),
        optional(
            "use_local_time",
            ParamType::Bool,
            "false",
            "Bucket by the sink's clock when it writes, ignoring event timestamps (Flume's `useLocalTimeStamp`).",
        ),
        optional(
            "timezone",
            ParamType::Enum(&["utc", "local"]),
            "utc",
            "Time zone of the path escapes; `local` is the machine's zone (Flume's default).",
        ),
        optional(
            "max_open_files",
            int_from(1),
            "1_000",
            "Most files open at once; the least recently written is closed beyond it.",
        ),
        ENDPOINT,
        REGION,
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        ALLOW_HTTP,
        crate::catalogue::max_retries(),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "a take is committed after its events are flushed; a crash may repeat the last \
uncommitted take in a new file",
    output: StreamOut::PassThrough,
    input: StreamIn::RecordWhen { param: "format", values: &["csv", "parquet", "arrow"] },
    flume: &[
        FlumeType::component(
            &["hdfs"],
            &[
                key("hdfs.path", "path", Same),
                key("hdfs.filePrefix", "prefix", Same),
                key("hdfs.fileSuffix", "suffix", Same),
                key("hdfs.inUseSuffix", "in_use_suffix", Same),
                key("hdfs.rollInterval", "roll.interval", Secs),
                key("hdfs.rollSize", "roll.size", Bytes),
                key("hdfs.rollCount", "roll.count", Same),
                key("hdfs.idleTimeout", "roll.idle", Secs),
                key("hdfs.batchSize", "batch", Same),
                key("hdfs.useLocalTimeStamp", "use_local_time", Same),
                key("hdfs.maxOpenFiles", "max_open_files", Same),
                key("hdfs.round", "round", Combined),
                key("hdfs.roundValue", "round", Combined),
                key("hdfs.roundUnit", "round", Combined),
                key("hdfs.fileType", "format", Combined),
                key("hdfs.codeC", "compression", Combined),
                key("hdfs.timeZone", "timezone", Combined),
            ],
        )
        .unneeded(&[
            ("hdfs.writeFormat", HDFS_CLIENT),
            ("hdfs.callTimeout", HDFS_CLIENT),
            ("hdfs.threadsPoolSize", HDFS_CLIENT),
            ("hdfs.rollTimerPoolSize", HDFS_CLIENT),
            ("hdfs.closeTries", HDFS_CLIENT),
            ("hdfs.retryInterval", HDFS_CLIENT),
            ("hdfs.minBlockReplicas", HDFS_CLIENT),
            ("hdfs.inUsePrefix", HDFS_CLIENT),
        ]),
        FlumeType::component(
            &["file_roll"],
            &[
                key("sink.directory", "path", Same),
                key("sink.rollInterval", "roll.interval", Secs),
                key("sink.batchSize", "batch", Same),
                key("sink.serializer", "format", Combined),
            ],
        ),
    ],
    check: Some(check::check),
    weaker_when: &[],
};

/// The nested `roll = { … }` block of the `files` sink.
const ROLL: &[ParamSig] = &[
    optional(
        "interval",
        ParamType::Duration,
        "5m",
        "Close a file this long after it was opened; `0s` = never by time (Flume's `rollInterval`, default 30 s).",
    ),
    optional(
        "size",
        ParamType::Size,
        "128MiB",
        "Close a file once this many bytes are written, counted after encoding and compression; `0B` = never by size.",
    ),
    optional(
        "count",
        int_from(0),
        "0",
        "Close a file after this many events; `0` = never by count (Flume's default 10 makes tiny files).",
    ),
    optional(
        "idle",
        ParamType::Duration,
        "1m",
        "Close a file that received nothing for this long (e.g. the previous time bucket); `0s` = never.",
    ),
];

pub(crate) struct Files {
    base: PathBuf,
    dir: Vec<Part>,
    prefix: Vec<Part>,
    suffix: String,
    in_use: String,
    round_ms: i64,
    roll: Roll,
    settings: Settings,
    time: Time,
    local: bool,
    max_open: usize,
    open: HashMap<Key, Open>,
    next: HashMap<Key, u64>,
    /// The object store when `path` is an `s3://`, `gs://` or `az://` URL (`dir` is then the key).
    store: Option<object::Target>,
}

/// A bucket: its directory and file-name prefix, expanded.
type Key = (PathBuf, String);

struct Roll {
    interval: Option<Duration>,
    size: u64,
    count: u64,
    idle: Option<Duration>,
}

enum Time {
    /// The sink's clock when it writes.
    Now,
    /// A timestamp field of the record.
    Field(String),
}

struct Open {
    encoder: Encoder,
    count: u64,
    /// `count` after the last successful flush.
    flushed_count: u64,
    opened: Instant,
    last: Instant,
}

/// `0s` means never.
fn nonzero(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

impl Files {
    pub(crate) fn new(spec: &NodeSpec<'_>) -> Result<Files, RunError> {
        let o = &spec.options;
        let path = o.template("path")?.ok_or_else(|| RunError::config("`path` is required"))?;
        let url = crate::connectors::store::StoreUrl::parse(&path.to_string())?;
        let dir = match &url {
            // The bucket is written out, so `scheme://bucket/` is literal text at the start.
            Some(u) => path
                .skip_literal(path.to_string().len() - u.key.len())
                .ok_or_else(|| RunError::config(format!("`{path}`: the bucket name must be written out")))?,
            None => path,
        };
        let format = o.string_or_default("format")?;
        let (schema, typed) = match spec.input {
            Some(t) if !t.untyped => (arrow_batch::schema(t)?, true),
            _ => (arrow_batch::lines_schema(), false),
        };
        let settings = Settings::new(
            &format,
            o.string("compression")?.as_deref(),
            o.bool_or_default("csv_header")?,
            o.int_or_default("row_group_size")?.max(1) as usize,
            schema,
            typed,
        )
        .map_err(RunError::config)?;
        let (roll_map, roll_params) = o.record("roll")?.unwrap_or_default();
        let roll = Opts::new(spec.name, &roll_map, roll_params);
        let time =
            match bucket_time(o.bool_or_default("use_local_time")?, o.string("time_field")?.as_deref(), spec.input) {
                BucketTime::Field(field) => Time::Field(field),
                // `check` refuses a path with time escapes and no time chosen; without escapes, any will do.
                BucketTime::Clock | BucketTime::Unchosen(_) => Time::Now,
            };
        let mut files = Files {
            base: spec.base_dir.to_path_buf(),
            dir: dir.parts,
            prefix: o.template("prefix")?.unwrap_or_default().parts,
            suffix: o.string("suffix")?.unwrap_or_else(|| settings.suffix()),
            in_use: o.string_or_default("in_use_suffix")?,
            round_ms: o.duration("round")?.map_or(0, |d| d.as_millis() as i64),
            roll: Roll {
                interval: nonzero(roll.duration_or_default("interval")?),
                size: roll.size_or_default("size")?,
                count: roll.int_or_default("count")?.max(0) as u64,
                idle: nonzero(roll.duration_or_default("idle")?),
            },
            settings,
            time,
            local: o.string_or_default("timezone")? == "local",
            max_open: o.int_or_default("max_open_files")?.max(1) as usize,
            open: HashMap::new(),
            next: HashMap::new(),
            store: None,
        };
        if let Some(url) = &url {
            files.store = Some(object::Target::open(spec, url, &files.settings)?);
            return Ok(files);
        }
        // Only under a fixed directory of the path: never a walk of the whole working directory.
        let root = literal_root(&files.dir);
        if !root.is_empty() {
            let root = super::resolve(&files.base, &root);
            let finish = |tmp: &Path, done: &Path| files.finish_leftover(tmp, done);
            match finish_leftovers(&root, &literal_start(&files.prefix), &files.suffix, &files.in_use, finish) {
                Ok(0) => {}
                Ok(n) => tracing::info!("{}: finished {n} in-use file(s) an earlier run left", spec.name),
                Err(err) => tracing::warn!("{}: looking for in-use files left in {}: {err}", spec.name, root.display()),
            }
        }
        Ok(files)
    }

    /// Finishes the in-use file `tmp` an earlier run left (or only its journal): rebuilt from its
    /// journal when the format keeps one, renamed otherwise; a journal whose file was finished is
    /// dropped. Returns whether a file got its final name.
    fn finish_leftover(&self, tmp: &Path, done: &Path) -> std::io::Result<bool> {
        let journal = journal_path(tmp);
        if done.exists() {
            // Finished before the crash; only its journal was left.
            if journal.exists() {
                std::fs::remove_file(&journal)?;
            }
            return Ok(false);
        }
        if journal.exists() {
            if tmp.exists() {
                std::fs::remove_file(tmp)?;
            }
            let out: Box<dyn Output> = Box::new(LocalFile::create(tmp.to_path_buf(), done.to_path_buf())?);
            encode::recover(&self.settings, &journal, out)?;
            return Ok(true);
        }
        if !tmp.exists() {
            return Ok(false);
        }
        if self.settings.journaled() {
            // Cut short before its journal existed: it holds no acknowledged row.
            std::fs::remove_file(tmp)?;
            return Ok(false);
        }
        // A kill mid-write can leave half a line at the end: cut it (the line is delivered again,
        // its batch was never acknowledged), so a finished file holds whole lines only.
        cut_torn_line(tmp)?;
        std::fs::rename(tmp, done)?;
        Ok(true)
    }

    /// A template expanded for one event.
    fn expand(&self, parts: &[Part], ms: i64, batch: &RecordBatch, row: usize, out: &mut String) {
        for part in parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Time('s') => out.push_str(&ms.div_euclid(1000).to_string()),
                Part::Time(c) => {
                    let spec = format!("%{c}");
                    let text = if self.local {
                        Local.timestamp_millis_opt(ms).single().map(|t| t.format(&spec).to_string())
                    } else {
                        Utc.timestamp_millis_opt(ms).single().map(|t| t.format(&spec).to_string())
                    };
                    out.push_str(&text.unwrap_or_default());
                }
                Part::Field(name, _) => {
                    let value = batch.column_by_name(name).and_then(|c| value_text(c.as_ref(), row));
                    encode_component(value.as_deref(), out);
                }
            }
        }
    }

    fn open_file(&mut self, key: &Key) -> Result<(), RunError> {
        if let Some(store) = &self.store {
            let (dir, prefix) = (key.0.to_string_lossy(), &key.1);
            let n = match self.next.get(key) {
                Some(n) => *n,
                None => store.first_free(&dir, prefix, &self.suffix)?,
            };
            let name = format!("{prefix}{n}{}", self.suffix);
            let (out, journal) = store.create(&dir, &name, &self.settings)?;
            self.next.insert(key.clone(), n + 1);
            let encoder = Encoder::new(&self.settings, out, journal)
                .map_err(|e| RunError::io(format!("{}/{dir}{name}: {e}", store.root())))?;
            return self.opened(key, encoder);
        }
        let (dir, prefix) = key;
        let io = |e: std::io::Error| RunError::from_io(dir.display(), &e);
        std::fs::create_dir_all(dir).map_err(io)?;
        let n = match self.next.get(key) {
            Some(n) => *n,
            None => first_free(dir, prefix, &self.suffix, &self.in_use).map_err(io)?,
        };
        self.next.insert(key.clone(), n + 1);
        let done = dir.join(format!("{prefix}{n}{}", self.suffix));
        let tmp = dir.join(format!("{prefix}{n}{}{}", self.suffix, self.in_use));
        let journal = self.settings.journaled().then(|| journal_path(&tmp));
        let file = LocalFile::create(tmp.clone(), done).map_err(|e| RunError::from_io(tmp.display(), &e))?;
        let encoder = Encoder::new(&self.settings, Box::new(file), journal)
            .map_err(|e| RunError::io(format!("{}: {e}", tmp.display())))?;
        self.opened(key, encoder)
    }

    /// Takes a newly opened file into the open set, closing the least recently written beyond
    /// `max_open_files`.
    fn opened(&mut self, key: &Key, encoder: Encoder) -> Result<(), RunError> {
        let now = Instant::now();
        let open = Open { encoder, count: 0, flushed_count: 0, opened: now, last: now };
        self.open.insert(key.clone(), open);
        if self.open.len() > self.max_open {
            let oldest =
                self.open.iter().filter(|(k, _)| *k != key).min_by_key(|(_, f)| f.last).map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.close_file(&oldest)?;
            }
        }
        Ok(())
    }

    /// Flushes a file and gives it its final name.
    fn close_file(&mut self, key: &Key) -> Result<(), RunError> {
        let Some(f) = self.open.remove(key) else { return Ok(()) };
        f.encoder.finish().map_err(|e| RunError::io(e.to_string()))
    }

    fn expired(&self, f: &Open, now: Instant) -> bool {
        self.roll.interval.is_some_and(|d| now.duration_since(f.opened) >= d)
            || self.roll.idle.is_some_and(|d| now.duration_since(f.last) >= d)
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), RunError> {
        let now_ms = Utc::now().timestamp_millis();
        let stamps: Option<PrimitiveArray<TimestampMillisecondType>> = match &self.time {
            Time::Now => None,
            Time::Field(name) => match batch.column_by_name(name) {
                Some(c) if matches!(c.data_type(), DataType::Timestamp(TimeUnit::Millisecond, _)) => {
                    Some(c.as_primitive::<TimestampMillisecondType>().clone())
                }
                _ => return Err(RunError::internal(format!("no timestamp field `{name}`"))),
            },
        };
        let per_row_path = self.dir.iter().chain(&self.prefix).any(|p| matches!(p, Part::Field(..)));
        // The path changes at most once per `span` of event time: worked out again only when a row
        // falls in another span than the row before (never, for a path without time parts).
        let span = time_span_ms(self.dir.iter().chain(&self.prefix), self.local);
        let now = Instant::now();
        // Each bucket's rows, in order; buckets in the order they first appear.
        let mut buckets: Vec<(Key, Vec<u32>)> = Vec::new();
        // The bucket of the previous row, and the span it was computed for.
        let mut last: Option<(i64, usize)> = None;
        for row in 0..batch.num_rows() {
            let mut ms = match &stamps {
                Some(c) if c.is_valid(row) => c.value(row),
                _ => now_ms,
            };
            if self.round_ms > 0 {
                ms -= ms.rem_euclid(self.round_ms);
            }
            let second = ms.div_euclid(span);
            let index = match last {
                Some((s, index)) if !per_row_path && s == second => index,
                _ => {
                    let mut dir = String::new();
                    self.expand(&self.dir, ms, batch, row, &mut dir);
                    let mut prefix = String::new();
                    self.expand(&self.prefix, ms, batch, row, &mut prefix);
                    let dir = match self.store {
                        Some(_) => PathBuf::from(dir),
                        None => super::resolve(&self.base, &dir),
                    };
                    let key = (dir, prefix);
                    match buckets.iter().position(|(k, _)| *k == key) {
                        Some(index) => index,
                        None => {
                            buckets.push((key, Vec::new()));
                            buckets.len() - 1
                        }
                    }
                }
            };
            last = Some((second, index));
            buckets[index].1.push(row as u32);
        }
        for (key, rows) in &buckets {
            let mut rest = rows.as_slice();
            while !rest.is_empty() {
                let fresh = match self.open.get(key) {
                    None => true,
                    Some(f) => self.roll.interval.is_some_and(|d| now.duration_since(f.opened) >= d),
                };
                if fresh {
                    self.close_file(key)?;
                    self.open_file(key)?;
                }
                let f = self.open.get_mut(key).expect("just opened");
                let mut take = rest.len();
                if self.roll.count > 0 {
                    take = take.min((self.roll.count - f.count) as usize);
                }
                let taken =
                    f.encoder.write(batch, &rest[..take], self.roll.size).map_err(|e| RunError::io(e.to_string()))?;
                rest = &rest[taken..];
                f.count += taken as u64;
                f.last = now;
                if (self.roll.count > 0 && f.count >= self.roll.count) || f.encoder.is_full(self.roll.size) {
                    self.close_file(key)?;
                }
            }
        }
        // The take is committed only once its events are flushed.
        for f in self.open.values_mut() {
            f.encoder.flush().map_err(|e| RunError::io(e.to_string()))?;
            f.flushed_count = f.count;
        }
        Ok(())
    }

    /// After a failed write: every open file back to its last flush where it can be, so the retry
    /// does not write the rows that did get in a second time; a file that cannot be put back is
    /// closed as it is (a text file's torn last line is cut when it is finished on the next start).
    fn rewind(&mut self) {
        let mut broken = Vec::new();
        for (key, f) in &mut self.open {
            match f.encoder.rewind() {
                Ok(true) => f.count = f.flushed_count,
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!("cannot put {} back after a failed write: {err}", key.0.display());
                    broken.push(key.clone());
                }
            }
        }
        for key in broken {
            // Left under its in-use name: finished (torn line cut) when the sink next starts.
            self.open.remove(&key);
        }
    }
}

/// The longest span of event time (ms, aligned to the epoch) within which the time parts of a
/// path template all stay the same: a second for `%S`/`%s`, a minute for `%M`, an hour for `%H`, a
/// day for the date's parts; in local time at most 15 minutes (zone offsets and their changes fall
/// on quarter hours); without time parts, forever.
fn time_span_ms<'a>(parts: impl Iterator<Item = &'a Part>, local: bool) -> i64 {
    let span = parts
        .filter_map(|p| match p {
            Part::Time('M') => Some(60_000),
            Part::Time('H') => Some(3_600_000),
            Part::Time('Y' | 'y' | 'm' | 'd') => Some(86_400_000),
            Part::Time(_) => Some(1000),
            _ => None,
        })
        .min();
    match span {
        None => i64::MAX,
        Some(span) if local => span.min(900_000),
        Some(span) => span,
    }
}

/// Writes a field's value as one path component that cannot climb out of the root or split in two.
/// A value too long for one file-name component (255 bytes on most file systems) keeps its start
/// and gets a hash of the whole value, so different long values stay apart.
fn encode_component(value: Option<&str>, out: &mut String) {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        out.push('_');
        return;
    };
    let start = out.len();
    for (i, c) in value.char_indices() {
        match c {
            '/' | '\\' | '%' | '\0' => out.push_str(&format!("%{:02X}", c as u32)),
            '.' if i == 0 => out.push_str("%2E"),
            c => out.push(c),
        }
        if out.len() - start > COMPONENT_BYTES {
            let mut cut = start + COMPONENT_BYTES - 17;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push_str(&format!("~{:016x}", fnv1a(value.as_bytes())));
            return;
        }
    }
}

/// Longest path component `encode_component` writes, in bytes.
const COMPONENT_BYTES: usize = 200;

/// The 64-bit FNV-1a hash: stable across runs and Rust versions (names must not change on restart).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Where the rows of the in-use file `tmp` are journaled.
fn journal_path(tmp: &Path) -> PathBuf {
    let mut name = tmp.as_os_str().to_owned();
    name.push(".rows");
    PathBuf::from(name)
}

/// The directory every expansion of a path template lies under: its text up to the last `/` before
/// the first escape.
fn literal_root(parts: &[Part]) -> String {
    let mut root = String::new();
    for part in parts {
        match part {
            Part::Literal(text) => root.push_str(text),
            _ => {
                root.truncate(root.rfind('/').map_or(0, |i| i + 1));
                return root;
            }
        }
    }
    root
}

/// The fixed start of a template (`hello-` of `hello-%H`).
fn literal_start(parts: &[Part]) -> String {
    match parts.first() {
        Some(Part::Literal(text)) => text.clone(),
        _ => String::new(),
    }
}

impl Sink for Files {
    fn write<'a>(&'a mut self, batch: &'a RecordBatch) -> BoxFuture<'a, Result<(), RunError>> {
        Box::pin(async move {
            blocking(|| {
                let written = self.write_batch(batch);
                if written.is_err() {
                    self.rewind();
                }
                written
            })
        })
    }

    fn tick_interval(&self) -> Option<Duration> {
        let shortest = [self.roll.interval, self.roll.idle].into_iter().flatten().min()?;
        Some((shortest / 4).clamp(Duration::from_millis(50), Duration::from_secs(1)))
    }

    fn tick(&mut self) -> BoxFuture<'_, Result<(), RunError>> {
        Box::pin(async move {
            let now = Instant::now();
            let due: Vec<Key> =
                self.open.iter().filter(|(_, f)| self.expired(f, now)).map(|(k, _)| k.clone()).collect();
            blocking(|| due.iter().try_for_each(|key| self.close_file(key)))
        })
    }

    fn close(&mut self) -> BoxFuture<'_, Result<(), RunError>> {
        Box::pin(async move {
            let keys: Vec<Key> = self.open.keys().cloned().collect();
            let mut first_error = None;
            blocking(|| {
                for key in keys {
                    if let Err(err) = self.close_file(&key) {
                        first_error.get_or_insert(err);
                    }
                }
            });
            first_error.map_or(Ok(()), Err)
        })
    }

    fn report(&self, metrics: &NodeMetrics) {
        metrics.set_files_open(self.open.len() as u64);
    }

    fn own_thread(&self) -> bool {
        true
    }
}

/// Truncates `path` after its last newline, if anything follows it.
fn cut_torn_line(path: &Path) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk[..n])?;
        if let Some(at) = chunk[..n].iter().rposition(|&b| b == b'\n') {
            let keep = start + at as u64 + 1;
            if keep < len {
                file.set_len(keep)?;
                file.sync_all()?;
            }
            return Ok(());
        }
        end = start;
    }
    // No newline at all: the whole file is one torn line.
    if len > 0 {
        file.set_len(0)?;
        file.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowc_compiler::graph::{OptionMap, OptionValue};

    #[test]
    fn unwritten_roll_options_take_the_signature_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = flowc_compiler::template::parse("out/").unwrap();
        let roll = OptionMap::from([("count".to_string(), OptionValue::Int(5))]);
        let options = OptionMap::from([
            ("path".to_string(), OptionValue::Template(path)),
            ("roll".to_string(), OptionValue::Record(roll)),
        ]);
        let files = Files::new(&crate::connectors::test_spec(&CONNECTOR.sig, &options, dir.path())).unwrap();
        // The signature says 128MiB; the builder once fell back to 0 (never by size).
        assert_eq!(files.roll.size, 128 << 20);
        assert_eq!(files.roll.interval, Some(Duration::from_secs(300)));
        assert_eq!(files.roll.count, 5);
        assert_eq!(files.in_use, ".tmp");
        assert_eq!(files.max_open, 1_000);
    }

    #[test]
    fn field_values_stay_one_component() {
        let mut out = String::new();
        encode_component(Some("../etc/passwd"), &mut out);
        assert_eq!(out, "%2E.%2Fetc%2Fpasswd");
        out.clear();
        encode_component(None, &mut out);
        assert_eq!(out, "_");
        // Long values are cut, and told apart by a hash of the whole value.
        let (mut a, mut b) = (String::new(), String::new());
        encode_component(Some(&format!("{}x", "é".repeat(3000))), &mut a);
        encode_component(Some(&format!("{}y", "é".repeat(3000))), &mut b);
        assert!(a.len() <= COMPONENT_BYTES && b.len() <= COMPONENT_BYTES, "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn a_path_is_worked_out_again_as_often_as_its_finest_time_part_changes() {
        let span = |template: &str, local: bool| {
            time_span_ms(flowc_compiler::template::parse(template).unwrap().parts.iter(), local)
        };
        assert_eq!(span("out/", false), i64::MAX);
        assert_eq!(span("out/%{level}/", false), i64::MAX);
        assert_eq!(span("out/%Y-%m-%d/", false), 86_400_000);
        assert_eq!(span("out/%Y/%m/%d/%H/", false), 3_600_000);
        assert_eq!(span("out/%Y/%H%M/", false), 60_000);
        assert_eq!(span("out/%s/", false), 1000);
        assert_eq!(span("out/%Y-%m-%d/", true), 900_000);
        assert_eq!(span("out/%Y-%m-%d/%H%M%S/", true), 1000);
    }

    #[test]
    fn the_literal_root_ends_before_the_first_escape() {
        assert_eq!(literal_root(&flowc_compiler::template::parse("out/%y-%m-%d/%H%M/").unwrap().parts), "out/");
        assert_eq!(literal_root(&flowc_compiler::template::parse("logs/%{host}").unwrap().parts), "logs/");
        assert_eq!(literal_root(&flowc_compiler::template::parse("x%Y").unwrap().parts), "");
    }

    #[test]
    fn a_torn_last_line_is_cut_and_whole_lines_stay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.tmp");
        for (text, kept) in [("a\nb\nhal", "a\nb\n"), ("a\nb\n", "a\nb\n"), ("no newline", ""), ("", "")] {
            std::fs::write(&path, text).unwrap();
            super::cut_torn_line(&path).unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), kept, "{text:?}");
        }
    }
}
