//! Saved positions of a `tail` source: which file (device, inode and a fingerprint of its first bytes)
//! was read up to which byte, kept in `<data_dir>/sources/<node>/positions.json` and rewritten
//! atomically (temporary file, fsync, rename) only once the batches before a position were delivered.

use flowc_runtime::exec::{AckWait, RunError};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc;

/// (device, inode) of a file.
pub(crate) type Id = (u64, u64);

/// How many leading bytes identify a file beyond its inode (an inode is reused after a delete).
pub(crate) const FINGERPRINT_BYTES: u64 = 1024;

/// A hash of a file's first `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Fingerprint {
    pub(crate) len: u64,
    pub(crate) hash: u64,
}

impl Fingerprint {
    /// The fingerprint of the first `min(upto, FINGERPRINT_BYTES)` bytes of `file`.
    pub(crate) fn of(file: &File, upto: u64) -> std::io::Result<Fingerprint> {
        let want = upto.min(FINGERPRINT_BYTES) as usize;
        let mut buf = vec![0u8; want];
        let mut got = 0;
        while got < want {
            let n = file.read_at(&mut buf[got..], got as u64)?;
            if n == 0 {
                break;
            }
            got += n;
        }
        Ok(Fingerprint { len: got as u64, hash: fnv1a(&buf[..got]) })
    }

    /// Whether `file` still starts with the bytes this fingerprint was taken of.
    pub(crate) fn matches(&self, file: &File, file_len: u64) -> std::io::Result<bool> {
        if self.len == 0 {
            return Ok(true);
        }
        if file_len < self.len {
            return Ok(false);
        }
        Ok(Fingerprint::of(file, self.len)? == *self)
    }
}

/// 64-bit FNV-1a: stable across builds and platforms, unlike the standard library's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Where one file was read up to (the byte after the last line handed on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) path: Arc<Path>,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) offset: u64,
}

/// Every saved position by file.
pub(crate) type Positions = BTreeMap<Id, Position>;

/// The positions file of source `node` under the run's data directory.
pub(crate) fn file_of(data_dir: &Path, node: &str) -> PathBuf {
    data_dir.join("sources").join(node).join("positions.json")
}

/// Reads the saved positions (none when the file does not exist yet).
pub(crate) fn load(path: &Path) -> Result<Positions, RunError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Positions::new()),
        Err(e) => return Err(RunError::io(format!("cannot read the saved positions {}: {e}", path.display()))),
    };
    parse(&text).ok_or_else(|| {
        RunError::config(format!(
            "the saved positions {} are damaged (not the JSON flowc writes); delete the file to read every file \
             again from `start_at`",
            path.display()
        ))
    })
}

fn parse(text: &str) -> Option<Positions> {
    let value: Value = serde_json::from_str(text).ok()?;
    if value.get("version")?.as_u64()? != 1 {
        return None;
    }
    let mut out = Positions::new();
    for entry in value.get("files")?.as_array()? {
        let num = |key: &str| entry.get(key).and_then(Value::as_u64);
        let fingerprint = entry.get("fingerprint")?;
        let hash = u64::from_str_radix(fingerprint.get("fnv1a")?.as_str()?, 16).ok()?;
        let position = Position {
            path: Arc::from(Path::new(entry.get("path")?.as_str()?)),
            fingerprint: Fingerprint { len: fingerprint.get("bytes")?.as_u64()?, hash },
            offset: num("offset")?,
        };
        out.insert((num("device")?, num("inode")?), position);
    }
    Some(out)
}

fn render(positions: &Positions) -> String {
    let files: Vec<Value> = positions
        .iter()
        .map(|((device, inode), p)| {
            json!({
                "path": p.path.to_string_lossy(),
                "device": device,
                "inode": inode,
                "offset": p.offset,
                "fingerprint": { "bytes": p.fingerprint.len, "fnv1a": format!("{:016x}", p.fingerprint.hash) },
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&json!({ "version": 1, "files": files })).unwrap_or_default();
    text.push('\n');
    text
}

/// Creates the positions file's directory, so an unwritable data directory fails at the start.
pub(crate) fn prepare(path: &Path) -> Result<(), RunError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| RunError::io(format!("cannot create {} for the saved positions: {e}", dir.display())))
}

/// Replaces the positions file: a crash leaves either the old or the new file, never a torn one.
pub(crate) fn save(path: &Path, positions: &Positions) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(render(positions).as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// What the reading side hands the committer, in the order batches were sent.
pub(crate) struct Commit {
    /// Resolves once the batch these positions follow was delivered; `None`: nothing to wait for.
    pub(crate) delivered: Option<AckWait>,
    pub(crate) positions: Vec<(Id, Position)>,
    /// The files still followed or present: saved positions of others are dropped.
    pub(crate) live: Option<HashSet<Id>>,
}

/// Applies commits in order and saves after each group: a position is saved only after every batch
/// sent before it was delivered. After a batch that was not delivered nothing advances any more (the
/// run is failing; a restart reads again from the last saved positions). Returns the errors counted.
pub(crate) async fn committer(
    mut rx: mpsc::UnboundedReceiver<Commit>,
    path: PathBuf,
    mut saved: Positions,
    node: String,
) -> u64 {
    let mut failed = false;
    let mut errors = 0;
    let mut warned = false;
    while let Some(first) = rx.recv().await {
        let mut dirty = false;
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(commit) = next.take() {
            if let Some(wait) = commit.delivered {
                if !wait.wait().await {
                    failed = true;
                }
            }
            if !failed {
                for (id, position) in commit.positions {
                    if saved.get(&id) != Some(&position) {
                        saved.insert(id, position);
                        dirty = true;
                    }
                }
                if let Some(live) = commit.live {
                    let before = saved.len();
                    saved.retain(|id, _| live.contains(id));
                    dirty |= saved.len() != before;
                }
            }
            // Save once for what is already queued (bounded, so a slow sink does not hold it back long).
            taken += 1;
            if taken < 64 {
                next = rx.try_recv().ok();
            }
        }
        if dirty {
            let snapshot = saved.clone();
            let target = path.clone();
            let result = tokio::task::spawn_blocking(move || save(&target, &snapshot)).await;
            let err = match result {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(e.to_string()),
            };
            if let Some(err) = err {
                errors += 1;
                if !warned {
                    tracing::warn!("{node}: cannot save positions to {}: {err}", path.display());
                    warned = true;
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_damage_is_refused() {
        let mut p = Positions::new();
        p.insert(
            (1, 42),
            Position {
                path: Arc::from(Path::new("/x/app.log")),
                fingerprint: Fingerprint { len: 7, hash: 99 },
                offset: 12,
            },
        );
        assert_eq!(parse(&render(&p)), Some(p));
        assert_eq!(parse("{\"version\":1}"), None);
        assert_eq!(parse("[1,2"), None);
    }

    #[test]
    fn fingerprints_see_other_first_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "hello world\n").unwrap();
        let f = File::open(&path).unwrap();
        let fp = Fingerprint::of(&f, 100).unwrap();
        assert_eq!(fp.len, 12);
        assert!(fp.matches(&f, 12).unwrap());
        std::fs::write(&path, "jello world\nmore\n").unwrap();
        assert!(!fp.matches(&f, 17).unwrap());
        assert!(!fp.matches(&f, 3).unwrap());
    }
}
