//! `tail`: follow growing files like `tail -F`, with positions saved once the channel took the lines.
//! `path` is a file or a glob in its last component (`logs/*.log`). Files are followed by identity
//! (device and inode, checked against a fingerprint of their first bytes): with `follow = name` a file
//! renamed away (rename-and-create rotation) is read on until it stays idle and the new file under the
//! name is read from its start; a renamed file that still matches the glob keeps its position (never
//! read again); a file that shrank or whose first bytes changed (truncation, copytruncate) is read
//! again from its start, after what was not read yet is taken from its copy when one is found; a
//! partial last line waits for its newline. With `follow = descriptor` a name keeps leading to the
//! file first met under it while that file exists, like `tail -f`.
//!
//! Positions live in `<data_dir>/sources/<node>/positions.json`, saved only after the batches before
//! them were delivered: a restart resumes each known file where the last delivered line ended (after
//! a crash, lines sent but not yet delivered are read again; none is lost). Files never seen begin at
//! `start_at` in the first scan and at their start when they appear later.

mod follow;
mod positions;

use crate::catalogue::{batch_size, optional, required};
use arrow_array::builder::StringBuilder;
use arrow_array::RecordBatch;
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut};
use flowc_runtime::exec::batch::lines_schema;
use flowc_runtime::exec::{blocking, Ack, BoxFuture, NodeSpec, RunError, Source, SourceContext};
use flowc_runtime::exec::{Built, Connector};
use follow::{Follower, Line, Settings};
use positions::{Commit, Id, Position, Positions};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Flume's TAILDIR source done right: follow files by name, persist positions.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: |spec| Ok(Built::source(Tail::new(spec)?)) };

const SIG: ConnectorSig = ConnectorSig {
    kind: "tail",
    role: Role::Source,
    summary: "Follow one or many growing files (a path or a glob), like `tail -F`, with persisted positions.",
    doc: "Reads new lines appended to every file matching `path`, following each file by device, inode and \
a fingerprint of its first bytes. With `follow = name` (the default, like `tail -F`) a file renamed away is \
read on until it has been idle for `idle_timeout` and the new file under the name is read from its start, \
so rename-and-create rotation loses nothing and re-reads nothing; a renamed file that still matches the \
glob keeps its position (Flume's TAILDIR reads it again). A truncated file (copytruncate, `> file`) is read \
again from its start after what was not read yet is taken from its copy; lines written between the copy \
and the truncation are in neither file, as with every tailer. `follow = descriptor` keeps reading the open \
file after a rename, like `tail -f`. Positions are saved in the run's data directory once the channel took \
the lines, so a restart resumes where the last delivered line ended, also in a file rotated meanwhile. A \
partial last line is held back until its newline arrives.",
    params: &[
        required(
            "path",
            ParamType::String,
            "The file to follow, or a glob such as `\"logs/*.log\"` (re-expanded every `poll_interval`).",
        ),
        optional(
            "follow",
            ParamType::Enum(&["name", "descriptor"]),
            "name",
            "`name` follows the file name across rotation (`tail -F`); `descriptor` follows the open file (`tail -f`).",
        ),
        optional(
            "start_at",
            ParamType::Enum(&["beginning", "end"]),
            "beginning",
            "Where to start in a file with no saved position: its first line, or only lines written from now on.",
        ),
        optional(
            "poll_interval",
            ParamType::Duration,
            "250ms",
            "How often files are checked for growth, rotation and new glob matches.",
        ),
        optional(
            "idle_timeout",
            ParamType::Duration,
            "2m",
            "Close a file that has not grown for this long; it is reopened when it grows.",
        ),
        optional(
            "max_line_length",
            ParamType::Size,
            "1MiB",
            "Longest line accepted; a longer line is split into several events and counted.",
        ),
        batch_size("100"),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "file positions are saved with the channel commit; a crash re-reads only uncommitted lines",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "TAILDIR",
    check: None,
    weaker_when: &[],
};

pub(crate) struct Tail {
    settings: Settings,
    poll_interval: Duration,
    batch_size: usize,
    positions: PathBuf,
    saved: Positions,
}

impl Tail {
    pub(crate) fn new(spec: &NodeSpec<'_>) -> Result<Tail, RunError> {
        let o = &spec.options;
        let path = o.string("path")?.ok_or_else(|| RunError::config("`path` is required"))?;
        let full = super::resolve(spec.base_dir, &path);
        let pattern = full.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let dir = full.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        if dir.to_string_lossy().contains(['*', '?', '[']) {
            return Err(RunError::unsupported("a glob in a directory of `path` (only in the file name)"));
        }
        if pattern.contains(['[', ']', '{', '}']) {
            return Err(RunError::unsupported(format!(
                "`[...]` or `{{...}}` in the glob `{pattern}` (only `*` and `?`)"
            )));
        }
        let positions = positions::file_of(spec.data_dir, spec.name);
        let saved = positions::load(&positions)?;
        positions::prepare(&positions)?;
        let settings = Settings {
            dir,
            pattern,
            by_name: o.string("follow")?.as_deref() != Some("descriptor"),
            from_end: o.string("start_at")?.as_deref() == Some("end"),
            max_line: o.size_or_default("max_line_length")?.max(1) as usize,
            idle_timeout: o.duration_or_default("idle_timeout")?,
        };
        Ok(Tail {
            settings,
            poll_interval: o.duration_or_default("poll_interval")?,
            batch_size: super::batch_size(spec)?,
            positions,
            saved,
        })
    }
}

/// Lines of one batch and the position each file reaches with them.
#[derive(Default)]
struct Pending {
    builder: Option<StringBuilder>,
    rows: usize,
    positions: HashMap<Id, Position>,
}

impl Pending {
    fn add(&mut self, line: Line) {
        if let Some(text) = line.text {
            let builder = self.builder.get_or_insert_with(StringBuilder::new);
            builder.append_value(String::from_utf8_lossy(&text));
            self.rows += 1;
        }
        self.positions.insert(line.id, line.position);
    }

    /// Sends the lines (if any) with an acknowledgement and queues their positions behind it.
    /// Returns `false` when the pipeline is gone.
    async fn flush(&mut self, ctx: &SourceContext, commits: &mpsc::UnboundedSender<Commit>) -> Result<bool, RunError> {
        let positions: Vec<(Id, Position)> = self.positions.drain().collect();
        let delivered = match self.builder.take() {
            Some(mut builder) if self.rows > 0 => {
                self.rows = 0;
                let batch = RecordBatch::try_new(lines_schema(), vec![Arc::new(builder.finish())])
                    .map_err(|e| RunError::internal(e.to_string()))?;
                let (ack, wait) = Ack::new();
                if ctx.output.send(batch, ack).await.is_err() {
                    return Ok(false);
                }
                Some(wait)
            }
            _ => None,
        };
        if delivered.is_some() || !positions.is_empty() {
            let _ = commits.send(Commit { delivered, positions, live: None });
        }
        Ok(true)
    }
}

impl Source for Tail {
    fn run(self: Box<Self>, ctx: SourceContext) -> BoxFuture<'static, Result<(), RunError>> {
        Box::pin(async move {
            let Tail { settings, poll_interval, batch_size, positions, saved } = *self;
            let dir = settings.dir.clone();
            let (commits, rx) = mpsc::unbounded_channel();
            let committer = tokio::spawn(positions::committer(rx, positions, saved.clone(), ctx.name.clone()));
            let mut follower = Follower::new(settings, saved);
            let mut live: Option<HashSet<Id>> = None;
            let mut lines: Vec<Line> = Vec::new();
            let mut pending = Pending::default();
            'run: while !ctx.shutdown.is_set() {
                lines.clear();
                blocking(|| follower.poll(&mut lines)).map_err(|e| RunError::io(format!("{}: {e}", dir.display())))?;
                let read = lines.iter().any(|l| l.text.is_some());
                for line in lines.drain(..) {
                    pending.add(line);
                    if pending.rows >= batch_size && !pending.flush(&ctx, &commits).await? {
                        break 'run;
                    }
                }
                if !pending.flush(&ctx, &commits).await? {
                    break;
                }
                let now = follower.live();
                if live.as_ref() != Some(&now) {
                    let _ = commits.send(Commit { delivered: None, positions: Vec::new(), live: Some(now.clone()) });
                    live = Some(now);
                }
                if !read {
                    let mut shutdown = ctx.shutdown.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(poll_interval) => {}
                        _ = shutdown.wait() => {}
                    }
                }
            }
            // Let what was sent drain, then save the positions it reached.
            let SourceContext { output, metrics, .. } = ctx;
            drop(output);
            drop(commits);
            if let Ok(errors) = committer.await {
                metrics.add_errors(errors);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::follow::glob_match;

    #[test]
    fn globs_match_names() {
        assert!(glob_match("*.log", "access.log"));
        assert!(glob_match("access*.log", "access.2.log"));
        assert!(!glob_match("*.log", "access.log.1"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("access.log", "access.log"));
        assert!(!glob_match("access.log", "access.log.1"));
    }
}
