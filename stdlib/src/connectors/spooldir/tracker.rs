//! Where `spooldir` got to in the files it has not finished (Flume's tracker file): the byte offset
//! after the last line every sink wrote, saved under the data directory so a stopped or killed run
//! resumes inside a file instead of reading it again from its start.

use serde_json::{json, Map, Value};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A spooled file as it was when reading began: a different file under the same name (or the same
/// file changed) does not match, and is read from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl Identity {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Identity {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
        }
    }

    fn to_json(self, offset: u64) -> Value {
        json!({
            "dev": self.dev, "ino": self.ino, "len": self.len,
            "mtime_ns": self.mtime_ns.to_string(), "offset": offset,
        })
    }

    fn matches(&self, entry: &Value) -> bool {
        entry["dev"].as_u64() == Some(self.dev)
            && entry["ino"].as_u64() == Some(self.ino)
            && entry["len"].as_u64() == Some(self.len)
            && entry["mtime_ns"].as_str() == Some(self.mtime_ns.to_string().as_str())
    }
}

/// The saved offsets of one `spooldir` source, by file path.
pub(crate) struct Tracker {
    path: PathBuf,
    state: Mutex<State>,
}

struct State {
    files: Map<String, Value>,
    dirty: bool,
    saved: Instant,
}

/// Progress is written at most this often while lines flow (and always when a file ends or the run stops).
const EVERY: Duration = Duration::from_millis(200);

impl Tracker {
    /// Loads `<data dir>/sources/<name>/spooldir.json`; a missing or unreadable file is an empty tracker.
    pub(crate) fn open(data_dir: &Path, name: &str) -> Tracker {
        let path = data_dir.join("sources").join(name).join("spooldir.json");
        let files = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .and_then(|v| v.get("files").and_then(Value::as_object).cloned())
            .unwrap_or_default();
        Tracker { path, state: Mutex::new(State { files, dirty: false, saved: Instant::now() }) }
    }

    /// Where to resume `file`: its saved offset when it is still the same file, else 0.
    pub(crate) fn resume_at(&self, file: &Path, identity: Identity) -> u64 {
        let state = self.lock();
        match state.files.get(&key(file)) {
            Some(entry) if identity.matches(entry) => entry["offset"].as_u64().unwrap_or(0).min(identity.len),
            _ => 0,
        }
    }

    /// Every line of `file` before `offset` was written by every sink.
    pub(crate) fn advance(&self, file: &Path, identity: Identity, offset: u64) -> std::io::Result<()> {
        let mut state = self.lock();
        state.files.insert(key(file), identity.to_json(offset));
        state.dirty = true;
        if state.saved.elapsed() >= EVERY {
            self.save(&mut state)?;
        }
        Ok(())
    }

    /// `file` is finished (renamed, deleted or quarantined): nothing to resume.
    pub(crate) fn forget(&self, file: &Path) -> std::io::Result<()> {
        let mut state = self.lock();
        if state.files.remove(&key(file)).is_some() {
            state.dirty = true;
        }
        self.save(&mut state)
    }

    /// Writes what changed since the last save.
    pub(crate) fn flush(&self) -> std::io::Result<()> {
        let mut state = self.lock();
        self.save(&mut state)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Written whole under a temporary name and renamed over the old file: a crash leaves one or the other.
    fn save(&self, state: &mut State) -> std::io::Result<()> {
        if !state.dirty {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(&json!({ "files": state.files })).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.path)?;
        state.dirty = false;
        state.saved = Instant::now();
        Ok(())
    }
}

fn key(file: &Path) -> String {
    file.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_is_resumed_only_for_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.log");
        std::fs::write(&file, "one\ntwo\n").unwrap();
        let id = Identity::of(&std::fs::metadata(&file).unwrap());
        let tracker = Tracker::open(dir.path(), "r");
        assert_eq!(tracker.resume_at(&file, id), 0);
        tracker.advance(&file, id, 4).unwrap();
        tracker.flush().unwrap();

        let again = Tracker::open(dir.path(), "r");
        assert_eq!(again.resume_at(&file, id), 4, "a new run resumes after `one`");
        // The same name, other contents: read from the start.
        std::fs::write(&file, "something else entirely\n").unwrap();
        let other = Identity::of(&std::fs::metadata(&file).unwrap());
        assert_eq!(again.resume_at(&file, other), 0);
        again.forget(&file).unwrap();
        assert_eq!(Tracker::open(dir.path(), "r").resume_at(&file, id), 0);
    }
}
