//! `spooldir`: Flume's spooling-directory source. Finished files dropped into `dir` are read one at a
//! time, one event per line; a file is renamed with `completed_suffix` (or deleted) only after every
//! sink that got its lines has written them. A file that changed while it was read, or is not UTF-8,
//! is quarantined instead, and the others go on. The source ends only when the run is stopped.
//! Progress inside a file is saved as its lines are written (see [`tracker`]): a run stopped or killed
//! half-way through a file resumes after the last line written, not from the file's start.

mod tracker;

use crate::catalogue::{batch_size, optional, required, unset};
use arrow_array::builder::StringBuilder;
use arrow_array::{Array, RecordBatch, StringArray};
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut};
use flowc_runtime::exec::batch::lines_schema;
use flowc_runtime::exec::{blocking, Ack, AckWait, BoxFuture, NodeSpec, RunError, Source, SourceContext};
use flowc_runtime::exec::{Built, Connector};
use regex::Regex;
use std::collections::HashSet;
use std::io::{BufRead, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::task::JoinSet;
use tracker::{Identity, Tracker};

/// Flume's spooling-directory source, minus its traps.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: |spec| Ok(Built::source(Spooldir::new(spec)?)) };

const SIG: ConnectorSig = ConnectorSig {
    kind: "spooldir",
    role: Role::Source,
    summary: "Ingest finished files dropped into a directory, one line per event, renaming each when done.",
    doc: "Reads every file in `dir` that matches `include` (and not `ignore`), one event per line, one file at \
a time in `order`. A file is read only once it has been unchanged for `settle`, so a file still being \
copied in is not picked up half-written. When a file's last batch has been taken by the channel, it is \
renamed with `completed_suffix` (or deleted, with `delete_policy = immediate`); the position within the \
current file advances only after each batch is committed, so a crash re-reads at most the batches not \
yet committed. Unlike Flume, a file that changes after it was picked up, or that cannot be decoded, does \
not stop the source: it is quarantined (renamed with `quarantine_suffix`, or moved to `quarantine_dir`), \
reported, and the other files go on. Names starting with `.` and names ending in the completed or \
quarantine suffix are never read.",
    params: &[
        required(
            "dir",
            ParamType::String,
            "The spooling directory (Flume's `spoolDir`); relative paths are relative to the `.flow` file.",
        ),
        optional(
            "completed_suffix",
            ParamType::String,
            "\".COMPLETED\"",
            "Suffix appended to a file's name once every line of it has been committed (Flume's `fileSuffix`).",
        ),
        optional(
            "delete_policy",
            ParamType::Enum(&["never", "immediate"]),
            "never",
            "`never` renames finished files with `completed_suffix`; `immediate` deletes them once committed.",
        ),
        unset(
            "include",
            ParamType::Regex,
            "Only file names matching this regular expression are read; default: every file.",
        ),
        unset(
            "ignore",
            ParamType::Regex,
            "File names matching this regular expression are skipped (wins over `include`); default: none.",
        ),
        optional(
            "order",
            ParamType::Enum(&["oldest", "youngest", "random"]),
            "oldest",
            "Which file to read next, by modification time (ties broken by name).",
        ),
        optional(
            "poll_interval",
            ParamType::Duration,
            "500ms",
            "How often the directory is scanned for new files when there is nothing to read.",
        ),
        optional(
            "settle",
            ParamType::Duration,
            "2s",
            "How long a file's size and modification time must stay unchanged before it is read.",
        ),
        optional(
            "max_line_length",
            ParamType::Size,
            "1MiB",
            "Longest line accepted; a longer line is split into several events and counted.",
        ),
        batch_size("100"),
        optional("recursive", ParamType::Bool, "false", "Also read files in subdirectories of `dir`."),
        optional(
            "quarantine_suffix",
            ParamType::String,
            "\".QUARANTINED\"",
            "Suffix appended to a file that changed after it was picked up or could not be read.",
        ),
        unset(
            "quarantine_dir",
            ParamType::String,
            "Move quarantined files into this directory instead of renaming them in place.",
        ),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "a file is renamed (or deleted) only after all its lines are committed to the channel; \
a crash re-reads the uncommitted part",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "spooldir",
    check: None,
    weaker_when: &[],
};

pub(crate) struct Spooldir {
    dir: PathBuf,
    completed_suffix: String,
    delete: bool,
    include: Option<Regex>,
    ignore: Option<Regex>,
    order: Order,
    poll_interval: Duration,
    settle: Duration,
    batch_size: usize,
    max_line: usize,
    recursive: bool,
    quarantine_suffix: String,
    quarantine_dir: Option<PathBuf>,
    tracker: Arc<Tracker>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Oldest,
    Youngest,
    Random,
}

impl Spooldir {
    pub(crate) fn new(spec: &NodeSpec<'_>) -> Result<Spooldir, RunError> {
        let o = &spec.options;
        let regex = |name: &str| -> Result<Option<Regex>, RunError> {
            o.string(name)?.map(|r| Regex::new(&r).map_err(|e| RunError::config(format!("`{name}`: {e}")))).transpose()
        };
        let dir = o.string("dir")?.ok_or_else(|| RunError::config("`dir` is required"))?;
        Ok(Spooldir {
            dir: super::resolve(spec.base_dir, &dir),
            completed_suffix: o.string_or_default("completed_suffix")?,
            delete: o.string("delete_policy")?.as_deref() == Some("immediate"),
            include: regex("include")?,
            ignore: regex("ignore")?,
            order: match o.string("order")?.as_deref() {
                Some("youngest") => Order::Youngest,
                Some("random") => Order::Random,
                _ => Order::Oldest,
            },
            poll_interval: o.duration_or_default("poll_interval")?,
            settle: o.duration_or_default("settle")?,
            batch_size: super::batch_size(spec)?,
            max_line: o.size_or_default("max_line_length")?.max(1) as usize,
            recursive: o.bool_or_default("recursive")?,
            quarantine_suffix: o.string_or_default("quarantine_suffix")?,
            quarantine_dir: o.string("quarantine_dir")?.map(|d| super::resolve(spec.base_dir, &d)),
            tracker: Arc::new(Tracker::open(spec.data_dir, spec.name)),
        })
    }

    /// Files ready to read: settled, not hidden, not finished or quarantined, matching the patterns.
    fn scan(&self, busy: &HashSet<PathBuf>) -> std::io::Result<Vec<PathBuf>> {
        let mut found: Vec<(SystemTime, PathBuf)> = Vec::new();
        let mut dirs = vec![self.dir.clone()];
        let now = SystemTime::now();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let meta = entry.metadata()?;
                let path = entry.path();
                if meta.is_dir() {
                    if self.recursive {
                        dirs.push(path);
                    }
                    continue;
                }
                if !meta.is_file()
                    || name.ends_with(&self.completed_suffix)
                    || name.ends_with(&self.quarantine_suffix)
                    || self.include.as_ref().is_some_and(|r| !r.is_match(&name))
                    || self.ignore.as_ref().is_some_and(|r| r.is_match(&name))
                    || busy.contains(&path)
                {
                    continue;
                }
                let modified = meta.modified()?;
                // Unchanged for `settle`: not still being copied in.
                if now.duration_since(modified).unwrap_or_default() < self.settle {
                    continue;
                }
                found.push((modified, path));
            }
        }
        match self.order {
            Order::Oldest | Order::Random => found.sort(),
            Order::Youngest => found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1))),
        }
        Ok(found.into_iter().map(|(_, p)| p).collect())
    }

    fn quarantine(&self, path: &Path) -> std::io::Result<()> {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let to = match &self.quarantine_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                dir.join(name)
            }
            None => path.with_file_name(format!("{name}{}", self.quarantine_suffix)),
        };
        std::fs::rename(path, to)
    }

    fn finish(&self, path: &Path) -> std::io::Result<()> {
        if self.delete {
            std::fs::remove_file(path)
        } else {
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            std::fs::rename(path, path.with_file_name(format!("{name}{}", self.completed_suffix)))
        }
    }
}

/// How reading one file ended. Each carries the file's progress task: it saves the offset after each
/// batch its sinks wrote, and ends `true` once every batch sent was written.
enum Read {
    /// Every line was handed on.
    Whole(Progress),
    /// The file changed under us or is not UTF-8: quarantine it once what was sent is written.
    Bad(Progress, String),
    /// The run is stopping (or the pipeline is gone): what was sent drains and is saved; the rest of
    /// the file is read next time.
    Stopped(Progress),
}

type Progress = tokio::task::JoinHandle<bool>;

fn stamp(path: &Path) -> std::io::Result<(u64, Option<SystemTime>)> {
    let meta = std::fs::metadata(path)?;
    Ok((meta.len(), meta.modified().ok()))
}

impl Spooldir {
    async fn read_file(&self, path: &Path, ctx: &SourceContext) -> Result<Read, RunError> {
        let io = |e: std::io::Error| RunError::io(format!("{}: {e}", path.display()));
        let before = stamp(path).map_err(io)?;
        let mut file = std::fs::File::open(path).map_err(io)?;
        let identity = Identity::of(&file.metadata().map_err(io)?);
        let mut offset = self.tracker.resume_at(path, identity);
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
        // Batches are written in the order they were sent: the offset after each is saved in turn.
        let (sent, mut written) = tokio::sync::mpsc::unbounded_channel::<(AckWait, u64)>();
        let (tracker, file_path) = (self.tracker.clone(), path.to_path_buf());
        let progress = tokio::spawn(async move {
            let mut all = true;
            while let Some((wait, end)) = written.recv().await {
                if all && wait.wait().await {
                    let _ = tracker.advance(&file_path, identity, end);
                } else {
                    all = false;
                }
            }
            let _ = tracker.flush();
            all
        });
        let mut buf = Vec::new();
        loop {
            // Up to one batch of lines, read off the async workers.
            let (lines, consumed, status) =
                blocking(|| read_lines(&mut reader, &mut buf, self.batch_size, self.max_line)).map_err(io)?;
            offset += consumed;
            if !lines.is_empty() {
                let batch = RecordBatch::try_new(lines_schema(), vec![Arc::new(lines)])
                    .map_err(|e| RunError::internal(e.to_string()))?;
                let (ack, wait) = Ack::new();
                if ctx.shutdown.is_set() || ctx.output.send(batch, ack).await.is_err() {
                    drop(sent);
                    return Ok(Read::Stopped(progress));
                }
                let _ = sent.send((wait, offset));
            }
            match status {
                Chunk::More => {}
                Chunk::End => break,
                Chunk::NotText => {
                    drop(sent);
                    return Ok(Read::Bad(progress, "it is not UTF-8 text".into()));
                }
            }
        }
        drop(sent);
        if stamp(path).map_err(io)? != before {
            return Ok(Read::Bad(progress, "it changed while it was read".into()));
        }
        Ok(Read::Whole(progress))
    }
}

/// How a chunk of lines ended.
enum Chunk {
    More,
    End,
    NotText,
}

/// Reads up to `max` lines (a last line without a newline counts), and how many bytes they took.
fn read_lines(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
    max_line: usize,
) -> std::io::Result<(StringArray, u64, Chunk)> {
    let mut lines = StringBuilder::with_capacity(max, max * 64);
    let mut consumed = 0u64;
    for _ in 0..max {
        buf.clear();
        let n = reader.read_until(b'\n', buf)?;
        if n == 0 {
            return Ok((lines.finish(), consumed, Chunk::End));
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        match std::str::from_utf8(buf) {
            Ok(line) => {
                // A line longer than `max_line_length` becomes several events.
                let mut rest = line;
                while rest.len() > max_line {
                    let mut cut = max_line;
                    while !rest.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    let cut = if cut == 0 { rest.chars().next().map_or(rest.len(), char::len_utf8) } else { cut };
                    lines.append_value(&rest[..cut]);
                    rest = &rest[cut..];
                }
                lines.append_value(rest);
            }
            Err(_) => return Ok((lines.finish(), consumed, Chunk::NotText)),
        }
        consumed += n as u64;
    }
    Ok((lines.finish(), consumed, Chunk::More))
}

impl Source for Spooldir {
    fn run(self: Box<Self>, ctx: SourceContext) -> BoxFuture<'static, Result<(), RunError>> {
        Box::pin(async move {
            if !self.dir.is_dir() {
                return Err(RunError::io(format!("the spooling directory {} does not exist", self.dir.display())));
            }
            let this = Arc::new(*self);
            // Files read whole and waiting for their lines to be written; not read again meanwhile.
            let busy: Arc<Mutex<HashSet<PathBuf>>> = Arc::default();
            let mut finishing: JoinSet<()> = JoinSet::new();
            'scan: while !ctx.shutdown.is_set() {
                while finishing.try_join_next().is_some() {}
                let snapshot = busy.lock().map(|b| b.clone()).unwrap_or_default();
                let files = this.scan(&snapshot).map_err(|e| RunError::io(format!("{}: {e}", this.dir.display())))?;
                if files.is_empty() {
                    let mut shutdown = ctx.shutdown.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(this.poll_interval) => {}
                        _ = shutdown.wait() => {}
                    }
                    continue;
                }
                for path in files {
                    if ctx.shutdown.is_set() {
                        break 'scan;
                    }
                    let read = match this.read_file(&path, &ctx).await {
                        Ok(read) => read,
                        Err(err) => {
                            // A file that vanished or cannot be opened: report it and go on.
                            tracing::warn!("{}: {err}", ctx.name);
                            ctx.metrics.add_errors(1);
                            continue;
                        }
                    };
                    let (progress, bad) = match read {
                        Read::Stopped(progress) => {
                            // What was sent drains; its progress is saved before the source returns.
                            finishing.spawn(async move {
                                let _ = progress.await;
                            });
                            break 'scan;
                        }
                        Read::Whole(progress) => (progress, None),
                        Read::Bad(progress, why) => (progress, Some(why)),
                    };
                    if let Ok(mut b) = busy.lock() {
                        b.insert(path.clone());
                    }
                    let (this, busy, name, metrics) =
                        (this.clone(), busy.clone(), ctx.name.clone(), ctx.metrics.clone());
                    finishing.spawn(async move {
                        let delivered = progress.await.unwrap_or(false);
                        let result = match (&bad, delivered) {
                            (_, false) => Ok(()), // not delivered: read it again next time
                            (None, true) => this.finish(&path),
                            (Some(why), true) => {
                                tracing::warn!("{name}: quarantined {}: {why}", path.display());
                                metrics.add_errors(1);
                                this.quarantine(&path)
                            }
                        };
                        if let Err(err) = result {
                            tracing::warn!("{name}: cannot finish {}: {err}", path.display());
                            metrics.add_errors(1);
                        } else if delivered {
                            let _ = this.tracker.forget(&path);
                        }
                        if let Ok(mut b) = busy.lock() {
                            b.remove(&path);
                        }
                    });
                }
            }
            // Let what was sent drain, then finish the files whose lines were all written.
            let SourceContext { output, .. } = ctx;
            drop(output);
            while finishing.join_next().await.is_some() {}
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{read_lines, Chunk};
    use arrow_array::Array;

    #[test]
    fn long_lines_are_split_into_events_on_character_boundaries() {
        let mut input: &[u8] = "abcdefgh\néé\nlast".as_bytes();
        let mut buf = Vec::new();
        let (lines, consumed, end) = read_lines(&mut input, &mut buf, 100, 3).unwrap();
        assert!(matches!(end, Chunk::End));
        assert_eq!(consumed, "abcdefgh\néé\nlast".len() as u64);
        let got: Vec<&str> = (0..lines.len()).map(|i| lines.value(i)).collect();
        assert_eq!(got, ["abc", "def", "gh", "é", "é", "las", "t"]);
    }
}
