//! `files`: the HDFS sink's semantics on the local file system. Each event's directory is `path` with
//! its escapes expanded (time escapes from the event time rounded down to `round`, `%{field}` from the
//! record, encoded so a value can never leave the root); each directory and prefix has one open file
//! `<prefix><n><suffix>`, written under `in_use_suffix` until `roll` closes it and it gets its final
//! name. A batch is acknowledged only after its events are flushed.

mod encode;
mod output;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{Array, PrimitiveArray, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use chrono::{Local, TimeZone, Utc};
use encode::{Encoder, Format};
use flowc_compiler::check::template::{self, Part};
use flowc_runtime::exec::batch::value_text;
use flowc_runtime::exec::{blocking, BoxFuture, NodeSpec, Opts, RunError, Sink};
use output::{finish_leftovers, first_free, LocalFile};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub(crate) struct Files {
    base: PathBuf,
    dir: Vec<Part>,
    prefix: Vec<Part>,
    suffix: String,
    in_use: String,
    round_ms: i64,
    roll: Roll,
    format: Format,
    time: Time,
    local: bool,
    max_open: usize,
    open: HashMap<Key, Open>,
    next: HashMap<Key, u64>,
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
    opened: Instant,
    last: Instant,
}

fn nonzero(d: Option<Duration>) -> Option<Duration> {
    d.filter(|d| !d.is_zero())
}

impl Files {
    pub(crate) fn new(spec: &NodeSpec<'_>) -> Result<Files, RunError> {
        let o = &spec.options;
        let path = o.string("path")?.ok_or_else(|| RunError::config("`path` is required"))?;
        if path.contains("://") {
            return Err(RunError::unsupported("writing to an object store (`s3://`, `gs://`, `az://`)"));
        }
        let format_name = o.string("format")?.unwrap_or_else(|| "lines".into());
        let Some(format) = Format::parse(&format_name) else {
            return Err(RunError::unsupported(format!("`format = {format_name}` (lines and json run today)")));
        };
        if let Some(c) = o.string("compression")?.filter(|c| c != "none") {
            return Err(RunError::unsupported(format!("`compression = {c}`")));
        }
        let parse = |text: &str| {
            template::parse(text).map_err(|(_, bad)| RunError::config(format!("`{bad}` is not a path escape")))
        };
        let (roll_map, roll_params) = o.record("roll")?.unwrap_or_default();
        let roll = Opts::new(spec.name, &roll_map, roll_params);
        let local_time = o.bool("use_local_time")?.unwrap_or(false);
        let time = match (local_time, o.string("time_field")?) {
            (true, _) => Time::Now,
            (false, Some(field)) => Time::Field(field),
            (false, None) => {
                // One timestamp field is the event's time; otherwise the time it is written.
                let stamps: Vec<&str> = spec
                    .input
                    .map(|t| {
                        t.record
                            .fields
                            .iter()
                            .filter(|f| matches!(f.ty.base(), flowc_compiler::types::Type::Timestamp))
                            .map(|f| f.name.as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                match stamps.as_slice() {
                    [one] => Time::Field(one.to_string()),
                    _ => Time::Now,
                }
            }
        };
        let files = Files {
            base: spec.base_dir.to_path_buf(),
            dir: parse(&path)?,
            prefix: parse(&o.string("prefix")?.unwrap_or_default())?,
            suffix: o.string("suffix")?.unwrap_or_else(|| format.suffix().into()),
            in_use: o.string("in_use_suffix")?.unwrap_or_else(|| ".tmp".into()),
            round_ms: o.duration("round")?.map_or(0, |d| d.as_millis() as i64),
            roll: Roll {
                interval: nonzero(roll.duration("interval")?),
                size: roll.size("size")?.unwrap_or(0),
                count: roll.int("count")?.unwrap_or(0).max(0) as u64,
                idle: nonzero(roll.duration("idle")?),
            },
            format,
            time,
            local: o.string("timezone")?.as_deref() == Some("local"),
            max_open: o.int("max_open_files")?.unwrap_or(1_000).max(1) as usize,
            open: HashMap::new(),
            next: HashMap::new(),
        };
        // Only under a fixed directory of the path: never a walk of the whole working directory.
        let root = literal_root(&files.dir);
        if !root.is_empty() {
            let root = super::resolve(&files.base, &root);
            match finish_leftovers(&root, &literal_start(&files.prefix), &files.suffix, &files.in_use) {
                Ok(0) => {}
                Ok(n) => eprintln!("flowc run: {}: finished {n} in-use file(s) an earlier run left", spec.name),
                Err(err) => eprintln!(
                    "flowc run: {}: warning: looking for in-use files left in {}: {err}",
                    spec.name,
                    root.display()
                ),
            }
        }
        Ok(files)
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
        let (dir, prefix) = key;
        let io = |e: std::io::Error| RunError::io(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(io)?;
        let n = match self.next.get(key) {
            Some(n) => *n,
            None => first_free(dir, prefix, &self.suffix, &self.in_use).map_err(io)?,
        };
        self.next.insert(key.clone(), n + 1);
        let done = dir.join(format!("{prefix}{n}{}", self.suffix));
        let tmp = dir.join(format!("{prefix}{n}{}{}", self.suffix, self.in_use));
        let file = LocalFile::create(tmp.clone(), done).map_err(|e| RunError::io(format!("{}: {e}", tmp.display())))?;
        let now = Instant::now();
        let open = Open { encoder: Encoder::new(self.format, Box::new(file)), count: 0, opened: now, last: now };
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
        let name = f.encoder.describe();
        f.encoder.finish().map_err(|e| RunError::io(format!("{name}: {e}")))
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
        let now = Instant::now();
        // Each bucket's rows, in order; buckets in the order they first appear.
        let mut buckets: Vec<(Key, Vec<u32>)> = Vec::new();
        // The bucket of the previous row, and the second it was computed for.
        let mut last: Option<(i64, usize)> = None;
        for row in 0..batch.num_rows() {
            let mut ms = match &stamps {
                Some(c) if c.is_valid(row) => c.value(row),
                _ => now_ms,
            };
            if self.round_ms > 0 {
                ms -= ms.rem_euclid(self.round_ms);
            }
            let second = ms.div_euclid(1000);
            let index = match last {
                Some((s, index)) if !per_row_path && s == second => index,
                _ => {
                    let mut dir = String::new();
                    self.expand(&self.dir, ms, batch, row, &mut dir);
                    let mut prefix = String::new();
                    self.expand(&self.prefix, ms, batch, row, &mut prefix);
                    let key = (super::resolve(&self.base, &dir), prefix);
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
                let taken = f
                    .encoder
                    .write(batch, &rest[..take], self.roll.size)
                    .map_err(|e| RunError::io(format!("{}: {e}", f.encoder.describe())))?;
                rest = &rest[taken..];
                f.count += taken as u64;
                f.last = now;
                if (self.roll.count > 0 && f.count >= self.roll.count)
                    || (self.roll.size > 0 && f.encoder.bytes() >= self.roll.size)
                {
                    self.close_file(key)?;
                }
            }
        }
        // The take is committed only once its events are flushed.
        for f in self.open.values_mut() {
            f.encoder.flush().map_err(|e| RunError::io(format!("{}: {e}", f.encoder.describe())))?;
        }
        Ok(())
    }
}

/// Writes a field's value as one path component that cannot climb out of the root or split in two.
fn encode_component(value: Option<&str>, out: &mut String) {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        out.push('_');
        return;
    };
    for (i, c) in value.char_indices() {
        match c {
            '/' | '\\' | '%' | '\0' => out.push_str(&format!("%{:02X}", c as u32)),
            '.' if i == 0 => out.push_str("%2E"),
            c => out.push(c),
        }
    }
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
        Box::pin(async move { blocking(|| self.write_batch(batch)) })
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_values_stay_one_component() {
        let mut out = String::new();
        encode_component(Some("../etc/passwd"), &mut out);
        assert_eq!(out, "%2E.%2Fetc%2Fpasswd");
        out.clear();
        encode_component(None, &mut out);
        assert_eq!(out, "_");
    }

    #[test]
    fn the_literal_root_ends_before_the_first_escape() {
        assert_eq!(literal_root(&template::parse("out/%y-%m-%d/%H%M/").unwrap()), "out/");
        assert_eq!(literal_root(&template::parse("logs/%{host}").unwrap()), "logs/");
        assert_eq!(literal_root(&template::parse("x%Y").unwrap()), "");
    }
}
