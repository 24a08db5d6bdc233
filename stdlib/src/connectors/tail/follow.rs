//! The files one `tail` source follows: directory scans, rotation by rename, truncation and copies,
//! idle handles, and the new lines of each file with the position just after each line.

use super::positions::{Fingerprint, Id, Position, Positions, FINGERPRINT_BYTES};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a `tail` source was configured with.
pub(crate) struct Settings {
    pub(crate) dir: PathBuf,
    pub(crate) pattern: String,
    pub(crate) by_name: bool,
    pub(crate) from_end: bool,
    pub(crate) max_line: usize,
    pub(crate) idle_timeout: Duration,
}

/// A line read (`text`) or, with `text == None`, only a position to remember (a file met).
pub(crate) struct Line {
    pub(crate) id: Id,
    pub(crate) position: Position,
    pub(crate) text: Option<Vec<u8>>,
}

/// One file being followed.
struct Followed {
    /// Its name in the directory, as last seen.
    path: Arc<Path>,
    /// `None` while closed for being idle.
    file: Option<File>,
    /// Bytes read.
    offset: u64,
    /// Bytes after the last newline, not handed on yet.
    partial: Vec<u8>,
    fingerprint: Fingerprint,
    /// Still the file its name leads to (with `follow = name`); a rotated-away file is read until
    /// it stays idle, then its partial last line is handed on and it is closed.
    named: bool,
    last_growth: Instant,
}

impl Followed {
    fn at(&self, offset: u64) -> Position {
        Position { path: self.path.clone(), fingerprint: self.fingerprint, offset }
    }
}

/// Every followed file, and which file each followed name leads to.
pub(crate) struct Follower {
    settings: Settings,
    files: HashMap<Id, Followed>,
    names: BTreeMap<PathBuf, Id>,
    /// Positions saved by an earlier run, used when a file is met in the first scan.
    saved: Positions,
    first: bool,
}

/// A regular file in the directory.
struct Present {
    path: PathBuf,
    len: u64,
    matching: bool,
}

impl Follower {
    pub(crate) fn new(settings: Settings, saved: Positions) -> Follower {
        Follower { settings, files: HashMap::new(), names: BTreeMap::new(), saved, first: true }
    }

    /// The files followed now (their saved positions are kept, others dropped).
    pub(crate) fn live(&self) -> HashSet<Id> {
        self.files.keys().copied().collect()
    }

    /// One pass: new matches, rotation, truncation, idle files, new lines (appended to `out`).
    pub(crate) fn poll(&mut self, out: &mut Vec<Line>) -> std::io::Result<()> {
        let now = Instant::now();
        let present = self.scan();
        for (id, p) in &present {
            if p.matching {
                self.meet(*id, p, now, out)?;
            }
        }
        if std::mem::replace(&mut self.first, false) {
            self.resume_renamed(&present, now, out)?;
            self.saved.clear();
        }
        let ids: Vec<Id> = self.files.keys().copied().collect();
        for id in ids {
            let Some(mut f) = self.files.remove(&id) else { continue };
            if let Some(p) = present.get(&id) {
                if *f.path != *p.path {
                    f.path = Arc::from(p.path.as_path());
                }
            }
            f.named = !self.settings.by_name || self.names.get(&*f.path) == Some(&id);
            self.follow(id, &mut f, &present, now, out)?;
            self.files.insert(id, f);
        }
        // Forget files closed and gone from the directory (a copy found since the scan stays).
        self.files.retain(|id, f| f.file.is_some() || present.contains_key(id) || still_at(&f.path, *id));
        let files = &self.files;
        self.names.retain(|_, id| files.contains_key(id));
        Ok(())
    }

    /// Regular files in the directory by identity (a missing directory has none).
    fn scan(&self) -> HashMap<Id, Present> {
        let mut found = HashMap::new();
        let Ok(entries) = std::fs::read_dir(&self.settings.dir) else { return found };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            if !meta.is_file() {
                continue;
            }
            let matching = glob_match(&self.settings.pattern, &entry.file_name().to_string_lossy());
            found.insert((meta.dev(), meta.ino()), Present { path, len: meta.len(), matching });
        }
        found
    }

    /// A file under a matching name: already followed (maybe renamed), or new to follow.
    fn meet(&mut self, id: Id, p: &Present, now: Instant, out: &mut Vec<Line>) -> std::io::Result<()> {
        if self.files.contains_key(&id) {
            if self.settings.by_name || !self.names.contains_key(&p.path) {
                self.names.insert(p.path.clone(), id);
            }
            return Ok(());
        }
        // `follow = descriptor`: a name keeps leading to the file first met under it while it exists.
        if !self.settings.by_name && self.names.get(&p.path).is_some_and(|old| self.files.contains_key(old)) {
            return Ok(());
        }
        let Ok(file) = File::open(&p.path) else { return Ok(()) };
        let len = file.metadata()?.len();
        let start = match self.saved.remove(&id) {
            Some(s) if s.offset <= len && s.fingerprint.matches(&file, len)? => s.offset,
            _ if self.first && self.settings.from_end => len,
            _ => 0,
        };
        let f = Followed {
            path: Arc::from(p.path.as_path()),
            fingerprint: Fingerprint::of(&file, len)?,
            file: Some(file),
            offset: start,
            partial: Vec::new(),
            named: true,
            last_growth: now,
        };
        out.push(Line { id, position: f.at(start), text: None });
        self.files.insert(id, f);
        self.names.insert(p.path.clone(), id);
        Ok(())
    }

    /// At the start: files with a saved position now under a name outside the glob (rotated while
    /// flowc was stopped) are read on from that position to their end.
    fn resume_renamed(
        &mut self,
        present: &HashMap<Id, Present>,
        now: Instant,
        out: &mut Vec<Line>,
    ) -> std::io::Result<()> {
        for (id, s) in std::mem::take(&mut self.saved) {
            let Some(p) = present.get(&id) else { continue };
            if self.files.contains_key(&id) || s.offset >= p.len {
                continue;
            }
            let Ok(file) = File::open(&p.path) else { continue };
            if !s.fingerprint.matches(&file, p.len)? {
                continue;
            }
            let f = Followed {
                path: Arc::from(p.path.as_path()),
                fingerprint: s.fingerprint,
                file: Some(file),
                offset: s.offset,
                partial: Vec::new(),
                named: false,
                last_growth: now,
            };
            out.push(Line { id, position: f.at(s.offset), text: None });
            self.files.insert(id, f);
        }
        Ok(())
    }

    /// Reopens an idle file that changed, handles truncation, reads new lines, closes idle files.
    fn follow(
        &mut self,
        id: Id,
        f: &mut Followed,
        present: &HashMap<Id, Present>,
        now: Instant,
        out: &mut Vec<Line>,
    ) -> std::io::Result<()> {
        if f.file.is_none() {
            let Some(p) = present.get(&id) else { return Ok(()) };
            if p.len == f.offset {
                return Ok(());
            }
            match File::open(&p.path) {
                Ok(file) if file.metadata().is_ok_and(|m| (m.dev(), m.ino()) == id) => f.file = Some(file),
                _ => return Ok(()),
            }
        }
        let file = f.file.as_ref().expect("opened above");
        let len = file.metadata()?.len();
        if len < f.offset || (len > f.offset && !f.fingerprint.matches(file, len)?) {
            // Truncated or rewritten in place (`> file`, copytruncate): what was not read yet may be in
            // a copy (same first bytes, longer); the rest of the file is read again from its start.
            self.read_copy(id, f, now, out)?;
            if !f.partial.is_empty() {
                let text = std::mem::take(&mut f.partial);
                out.push(Line { id, position: f.at(f.offset), text: Some(text) });
            }
            f.offset = 0;
            f.fingerprint = Fingerprint::default();
        }
        let file = f.file.as_ref().expect("opened above");
        if f.fingerprint.len < FINGERPRINT_BYTES && len > f.fingerprint.len {
            f.fingerprint = Fingerprint::of(file, len)?;
        }
        if read_new(id, f, self.settings.max_line, out)? {
            f.last_growth = now;
        } else if now.duration_since(f.last_growth) >= self.settings.idle_timeout {
            // Idle: close the handle. A rotated-away or deleted file will not get its last newline.
            if (!f.named || !present.contains_key(&id)) && !f.partial.is_empty() {
                let text = std::mem::take(&mut f.partial);
                out.push(Line { id, position: f.at(f.offset), text: Some(text) });
            }
            f.file = None;
        }
        Ok(())
    }

    /// Copytruncate: a file not followed yet that starts like `f` and holds more than was read of
    /// `f` is its copy; what `f` had not handed on is read from the copy, then the copy is closed.
    fn read_copy(&mut self, id: Id, f: &mut Followed, now: Instant, out: &mut Vec<Line>) -> std::io::Result<()> {
        if f.fingerprint.len == 0 {
            return Ok(());
        }
        // Scanned again: the copy may have been made since this poll's scan.
        for (copy_id, p) in &self.scan() {
            if *copy_id == id || self.files.contains_key(copy_id) || p.len <= f.offset {
                continue;
            }
            let Ok(file) = File::open(&p.path) else { continue };
            if !f.fingerprint.matches(&file, p.len)? {
                continue;
            }
            let mut copy = Followed {
                path: Arc::from(p.path.as_path()),
                file: Some(file),
                offset: f.offset,
                partial: std::mem::take(&mut f.partial),
                fingerprint: f.fingerprint,
                named: false,
                last_growth: now,
            };
            while read_new(*copy_id, &mut copy, self.settings.max_line, out)? {}
            if !copy.partial.is_empty() {
                let text = std::mem::take(&mut copy.partial);
                out.push(Line { id: *copy_id, position: copy.at(copy.offset), text: Some(text) });
            }
            copy.file = None;
            self.files.insert(*copy_id, copy);
            return Ok(());
        }
        Ok(())
    }
}

/// Whether `path` is the file `id`.
fn still_at(path: &Path, id: Id) -> bool {
    std::fs::metadata(path).is_ok_and(|m| (m.dev(), m.ino()) == id)
}

/// Most bytes read from one file in one poll.
const READ_PER_POLL: usize = 4 << 20;

/// Reads what was appended since `f.offset` (up to [`READ_PER_POLL`]): complete lines go to `out`
/// (a line longer than `max_line` as several), a partial last line waits. Returns whether anything
/// was read.
fn read_new(id: Id, f: &mut Followed, max_line: usize, out: &mut Vec<Line>) -> std::io::Result<bool> {
    let Some(file) = f.file.take() else { return Ok(false) };
    let result = read_from(&file, id, f, max_line, out);
    f.file = Some(file);
    result
}

fn read_from(file: &File, id: Id, f: &mut Followed, max_line: usize, out: &mut Vec<Line>) -> std::io::Result<bool> {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut read = 0;
    loop {
        // At most this much per file and poll, so a large file is sent on in pieces.
        if read >= READ_PER_POLL {
            return Ok(true);
        }
        let n = file.read_at(&mut chunk, f.offset)?;
        if n == 0 {
            return Ok(read > 0);
        }
        read += n;
        let base = f.offset;
        f.offset += n as u64;
        let mut start = 0;
        for (i, _) in chunk[..n].iter().enumerate().filter(|(_, b)| **b == b'\n') {
            f.partial.extend_from_slice(&chunk[start..i]);
            split_long(id, f, base + i as u64, max_line, out);
            let text = std::mem::take(&mut f.partial);
            out.push(Line { id, position: f.at(base + i as u64 + 1), text: Some(text) });
            start = i + 1;
        }
        f.partial.extend_from_slice(&chunk[start..n]);
        split_long(id, f, f.offset, max_line, out);
    }
}

/// Hands on leading pieces of `f.partial` while it is longer than `max_line` (cut at a UTF-8
/// character boundary when there is one); `end` is the file offset just after `f.partial`.
fn split_long(id: Id, f: &mut Followed, end: u64, max_line: usize, out: &mut Vec<Line>) {
    while f.partial.len() > max_line {
        let mut cut = max_line;
        while cut > 0 && (f.partial[cut] & 0xC0) == 0x80 {
            cut -= 1;
        }
        if cut == 0 {
            cut = max_line;
        }
        let rest = f.partial.split_off(cut);
        let text = std::mem::replace(&mut f.partial, rest);
        let position = f.at(end - f.partial.len() as u64);
        out.push(Line { id, position, text: Some(text) });
    }
}

/// `*` any run of characters, `?` one character; everything else literal.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
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
