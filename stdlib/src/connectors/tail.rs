//! `tail`: follow growing files like `tail -F`. `path` is a file or a glob in its last component
//! (`logs/*.log`). With `follow = name` a file renamed away (rename-and-create rotation) is read to
//! its end and the new file under the name is read from its start; a file that shrank (truncation,
//! copytruncate) is read again from its start; a partial last line waits for its newline. With
//! `follow = descriptor` the open file is followed wherever it was renamed. Files present at the start
//! begin at `start_at`; files that appear later are read from their start.
//!
//! Positions are not persisted yet: a restart reads from `start_at` again (duplicates with
//! `beginning`, a gap with `end`).

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, RecordBatch};
use flowc_runtime::exec::batch::lines_schema;
use flowc_runtime::exec::{blocking, Ack, BoxFuture, NodeSpec, RunError, Source, SourceContext};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct Tail {
    dir: PathBuf,
    pattern: String,
    by_name: bool,
    from_end: bool,
    poll_interval: Duration,
    max_line: usize,
    batch_size: usize,
}

/// Every followed file by name, and where rotated-away files were left.
#[derive(Default)]
struct State {
    files: BTreeMap<PathBuf, Followed>,
    rotated: std::collections::HashMap<(u64, u64), u64>,
}

/// One followed file.
struct Followed {
    file: File,
    /// (device, inode) of the open file.
    id: (u64, u64),
    offset: u64,
    /// Bytes after the last newline.
    partial: Vec<u8>,
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
        Ok(Tail {
            dir,
            pattern,
            by_name: o.string("follow")?.as_deref() != Some("descriptor"),
            from_end: o.string("start_at")?.as_deref() == Some("end"),
            poll_interval: o.duration("poll_interval")?.unwrap_or(Duration::from_millis(250)),
            max_line: o.size("max_line_length")?.unwrap_or(1 << 20).max(1) as usize,
            batch_size: super::batch_size(spec)?,
        })
    }

    /// Files in `dir` whose names match the pattern now.
    fn matching(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter(|e| glob_match(&self.pattern, &e.file_name().to_string_lossy()))
            .map(|e| e.path())
            .collect();
        found.sort();
        found
    }

    /// One pass over every file: new matches, rotation, truncation, new lines. Returns the lines read.
    fn poll(&self, state: &mut State, first: bool, out: &mut Vec<Vec<u8>>) -> std::io::Result<()> {
        let State { files, rotated } = state;
        for path in self.matching() {
            if files.contains_key(&path) {
                continue;
            }
            let Ok(mut f) = open(&path) else { continue };
            // A followed file renamed to a name that also matches: the rotation below handles it.
            if files.values().any(|g| g.id == f.id) {
                continue;
            }
            if let Some(offset) = rotated.get(&f.id) {
                // Rotated away earlier and read to its end then: go on from there, never from the start.
                f.offset = *offset;
            } else if first && self.from_end {
                f.offset = f.file.metadata()?.len();
            }
            files.insert(path, f);
        }
        let paths: Vec<PathBuf> = files.keys().cloned().collect();
        for path in paths {
            let f = files.get_mut(&path).expect("listed above");
            // Truncated (copytruncate, `> file`): start again from the beginning.
            if f.file.metadata()?.len() < f.offset {
                f.offset = 0;
                f.partial.clear();
            }
            read_new(f, self.max_line, out)?;
            if !self.by_name {
                continue;
            }
            match std::fs::metadata(&path) {
                // Rotated away: what was left in the old file is read above; the new one from its start.
                Ok(meta) if (meta.dev(), meta.ino()) != f.id => {
                    if !f.partial.is_empty() {
                        out.push(std::mem::take(&mut f.partial));
                    }
                    rotated.insert(f.id, f.offset);
                    match open(&path) {
                        Ok(mut fresh) => {
                            read_new(&mut fresh, self.max_line, out)?;
                            files.insert(path, fresh);
                        }
                        Err(_) => {
                            files.remove(&path);
                        }
                    }
                }
                Ok(_) => {}
                // Gone (renamed, not yet recreated): keep the old file until a new one appears.
                Err(_) => {}
            }
        }
        Ok(())
    }
}

fn open(path: &Path) -> std::io::Result<Followed> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    Ok(Followed { file, id: (meta.dev(), meta.ino()), offset: 0, partial: Vec::new() })
}

/// Reads what was appended since `offset`; complete lines go to `out`, a partial one waits.
fn read_new(f: &mut Followed, max_line: usize, out: &mut Vec<Vec<u8>>) -> std::io::Result<()> {
    f.file.seek(SeekFrom::Start(f.offset))?;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = f.file.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        f.offset += n as u64;
        let mut rest = &chunk[..n];
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            f.partial.extend_from_slice(&rest[..i]);
            out.push(std::mem::take(&mut f.partial));
            rest = &rest[i + 1..];
        }
        f.partial.extend_from_slice(rest);
        // A line longer than the limit is split into several events.
        while f.partial.len() >= max_line {
            let tail = f.partial.split_off(max_line);
            out.push(std::mem::replace(&mut f.partial, tail));
        }
    }
}

/// `*` any run of characters, `?` one character; everything else literal.
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

impl Source for Tail {
    fn run(self: Box<Self>, ctx: SourceContext) -> BoxFuture<'static, Result<(), RunError>> {
        Box::pin(async move {
            let mut state = State::default();
            let mut first = true;
            let mut lines: Vec<Vec<u8>> = Vec::new();
            while !ctx.shutdown.is_set() {
                lines.clear();
                blocking(|| self.poll(&mut state, first, &mut lines))
                    .map_err(|e| RunError::io(format!("{}: {e}", self.dir.display())))?;
                first = false;
                for chunk in lines.chunks(self.batch_size) {
                    let mut builder = StringBuilder::with_capacity(chunk.len(), chunk.iter().map(Vec::len).sum());
                    for line in chunk {
                        builder.append_value(String::from_utf8_lossy(line));
                    }
                    let column = builder.finish();
                    if column.is_empty() {
                        continue;
                    }
                    let batch = RecordBatch::try_new(lines_schema(), vec![Arc::new(column)])
                        .map_err(|e| RunError::internal(e.to_string()))?;
                    if ctx.output.send(batch, Ack::none()).await.is_err() {
                        return Ok(());
                    }
                }
                if lines.is_empty() {
                    let mut shutdown = ctx.shutdown.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(self.poll_interval) => {}
                        _ = shutdown.wait() => {}
                    }
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

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
