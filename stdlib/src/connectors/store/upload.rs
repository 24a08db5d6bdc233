//! One object being written: the object-store form of the `files` sink's in-use file. Bytes are
//! spooled to a local file in the data directory (so a flushed batch survives a crash of flowc) and
//! shipped as multipart-upload parts of at least 5 MiB as they accumulate; the object appears under
//! its final name only when the upload is completed, never half written. A small journal beside the
//! spool names the object, the upload and its parts, so the next run finishes what a crashed run
//! left ([`recover`]): completed when its flushed bytes are readable as they are (lines), aborted
//! when the format is readable only once finished (the batches in it were not acknowledged yet).

use super::Store;
use bytes::Bytes;
use object_store::multipart::PartId;
use object_store::path::Path as ObjectPath;
use object_store::{MultipartId, ObjectStoreExt, PutPayload};
use serde_json::{json, Value};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Smallest part S3 accepts (except the last); the spool is shipped once it holds this much.
pub(crate) const PART_SIZE: u64 = 5 * 1024 * 1024;

/// An object being written.
pub(crate) struct Upload {
    store: Store,
    key: ObjectPath,
    /// The journal (`<n>.json`) and the spool (`<n>.spool`) in the node's upload directory.
    journal: PathBuf,
    /// `<n>`: other files about this object beside the journal are named after it.
    name: String,
    spool_path: PathBuf,
    spool: File,
    /// Whether a crashed run's leftover is completed (its flushed bytes make a readable object: lines)
    /// or aborted (a format readable only once finished, whose batches were not acknowledged yet).
    recoverable: bool,
    /// Bytes written but not yet in the spool (all of them when not `recoverable`).
    pending: Vec<u8>,
    /// Bytes in the spool (flushed, not yet shipped as a part).
    spooled: u64,
    /// The multipart upload, once the first part was shipped.
    upload: Option<MultipartId>,
    parts: Vec<PartId>,
    bytes: u64,
}

fn store_io(err: flowc_runtime::exec::RunError) -> io::Error {
    io::Error::other(err.message)
}

/// Names unique across runs for the spool and journal files.
fn fresh_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

impl Upload {
    /// Starts an object named `key`, spooling under `dir` (created if missing). Nothing is sent yet.
    pub(crate) fn create(store: &Store, key: &str, dir: &Path, recoverable: bool) -> io::Result<Upload> {
        let key = ObjectPath::parse(key)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{}/{key}: {e}", store.root)))?;
        std::fs::create_dir_all(dir)?;
        let name = fresh_name();
        let spool_path = dir.join(format!("{name}.spool"));
        let spool = OpenOptions::new().read(true).write(true).create_new(true).open(&spool_path)?;
        let upload = Upload {
            store: store.clone(),
            key,
            journal: dir.join(format!("{name}.json")),
            name: name.clone(),
            spool_path,
            spool,
            recoverable,
            pending: Vec::new(),
            spooled: 0,
            upload: None,
            parts: Vec::new(),
            bytes: 0,
        };
        upload.save()?;
        Ok(upload)
    }

    pub(crate) fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.pending.extend_from_slice(buf);
        self.bytes += buf.len() as u64;
        Ok(())
    }

    /// Spools what was written (a crash now loses nothing: the next run finishes the object) and
    /// ships the spool as a part once it holds [`PART_SIZE`].
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if !self.recoverable {
            if self.pending.len() as u64 >= PART_SIZE {
                self.ship_part()?;
            }
            return Ok(());
        }
        if !self.pending.is_empty() {
            self.spool.seek(SeekFrom::Start(self.spooled))?;
            self.spool.write_all(&self.pending)?;
            self.spooled += self.pending.len() as u64;
            self.pending.clear();
            self.save()?;
        }
        if self.spooled >= PART_SIZE {
            self.ship_part()?;
        }
        Ok(())
    }

    /// A file beside the journal for this object (`<n>.<extension>`), which [`recover`] hands to its
    /// `rebuild` when the object was not recoverable as it is.
    pub(crate) fn companion(&self, extension: &str) -> PathBuf {
        self.journal.with_file_name(format!("{}.{extension}", self.name))
    }

    pub(crate) fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Completes the object: it appears under its final name with every byte written.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.flush()?;
        let body = self.read_spool()?;
        finish_object(&self.store, &self.key, self.upload.as_ref(), std::mem::take(&mut self.parts), body)?;
        self.forget();
        Ok(())
    }

    /// Gives the object up: the upload is aborted and nothing appears under its name.
    pub(crate) fn abort(self) -> io::Result<()> {
        if let Some(id) = &self.upload {
            let (store, key, id) = (self.store.clone(), self.key.clone(), id.clone());
            let multipart = store.multipart.clone();
            let k = key.clone();
            store
                .wait(async move { multipart.abort_multipart(&k, &id).await })
                .map_err(|e| store_io(store.error("aborting the upload", &key, &e)))?;
        }
        self.forget();
        Ok(())
    }

    pub(crate) fn describe(&self) -> String {
        format!("{}/{}", self.store.root, self.key)
    }

    /// Ships the spool as the next part, then empties it.
    fn ship_part(&mut self) -> io::Result<()> {
        let body = self.read_spool()?;
        let id = match &self.upload {
            Some(id) => id.clone(),
            None => {
                let (multipart, key) = (self.store.multipart.clone(), self.key.clone());
                let id = self
                    .store
                    .wait(async move { multipart.create_multipart(&key).await })
                    .map_err(|e| store_io(self.store.error("starting a multipart upload", &self.key, &e)))?;
                self.upload = Some(id.clone());
                self.save()?;
                id
            }
        };
        let part = put_part(&self.store, &self.key, &id, self.parts.len(), body)?;
        self.parts.push(part);
        self.spooled = 0;
        self.save()?;
        self.spool.set_len(0)?;
        Ok(())
    }

    /// The bytes of the next part: the spool, or what is pending when nothing is spooled.
    fn read_spool(&mut self) -> io::Result<Bytes> {
        if !self.recoverable {
            return Ok(Bytes::from(std::mem::take(&mut self.pending)));
        }
        let mut body = vec![0; self.spooled as usize];
        self.spool.seek(SeekFrom::Start(0))?;
        self.spool.read_exact(&mut body)?;
        Ok(Bytes::from(body))
    }

    /// Writes the journal: replaced whole (written aside, then renamed), so a crash leaves the old
    /// one or the new one.
    fn save(&self) -> io::Result<()> {
        let journal = json!({
            "root": self.store.root,
            "key": self.key.as_ref(),
            "upload": self.upload,
            "parts": self.parts.iter().map(|p| p.content_id.clone()).collect::<Vec<_>>(),
            "spooled": self.spooled,
            "recoverable": self.recoverable,
            "spool": self.spool_path.file_name().map(|n| n.to_string_lossy().into_owned()),
        });
        let aside = self.journal.with_extension("json.new");
        std::fs::write(&aside, journal.to_string())?;
        std::fs::rename(&aside, &self.journal)
    }

    fn forget(self) {
        let _ = std::fs::remove_file(&self.journal);
        let _ = std::fs::remove_file(&self.spool_path);
    }
}

/// What [`recover`] did.
#[derive(Debug, Default)]
pub(crate) struct Recovered {
    pub(crate) completed: Vec<String>,
    pub(crate) aborted: Vec<String>,
}

fn put_part(store: &Store, key: &ObjectPath, id: &MultipartId, index: usize, body: Bytes) -> io::Result<PartId> {
    let (multipart, k, id) = (store.multipart.clone(), key.clone(), id.clone());
    store
        .wait(async move { multipart.put_part(&k, &id, index, PutPayload::from_bytes(body)).await })
        .map_err(|e| store_io(store.error(&format!("uploading part {}", index + 1), key, &e)))
}

/// Makes an object visible: one PUT when it never needed a multipart upload, else its last part
/// (the rest of the spool) and the completion.
fn finish_object(
    store: &Store,
    key: &ObjectPath,
    upload: Option<&MultipartId>,
    mut parts: Vec<PartId>,
    body: Bytes,
) -> io::Result<()> {
    match upload {
        None => {
            let (objects, k) = (store.objects.clone(), key.clone());
            store
                .wait(async move { objects.put(&k, PutPayload::from_bytes(body)).await })
                .map_err(|e| store_io(store.error("writing the object", key, &e)))?;
        }
        Some(id) => {
            if !body.is_empty() || parts.is_empty() {
                parts.push(put_part(store, key, id, parts.len(), body)?);
            }
            let (multipart, k, id2) = (store.multipart.clone(), key.clone(), id.clone());
            let done = store.wait(async move { multipart.complete_multipart(&k, &id2, parts).await });
            if let Err(err) = done {
                // Completed already (a crash after the completion, before the journal was removed)?
                let (objects, k) = (store.objects.clone(), key.clone());
                if store.wait(async move { objects.head(&k).await }).is_err() {
                    return Err(store_io(store.error("completing the upload", key, &err)));
                }
            }
        }
    }
    Ok(())
}

/// Finishes every object a crashed run left in `dir` (its journal and spool): the spool's flushed
/// bytes become the last part and the object is completed under its final name (or its upload is
/// aborted, see [`Upload`]; then, if the object's `<n>.rows` companion exists, `rebuild` is called
/// with the key and that file to write the object anew). Returns the keys completed and aborted; a
/// journal of another store is left alone.
pub(crate) fn recover(
    store: &Store,
    dir: &Path,
    mut rebuild: impl FnMut(&str, &Path) -> io::Result<()>,
) -> io::Result<Recovered> {
    let mut finished = Recovered::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(finished),
        Err(err) => return Err(err),
    };
    let mut journals: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    journals.sort();
    for journal in journals {
        let text = std::fs::read_to_string(&journal)?;
        let bad =
            || io::Error::new(io::ErrorKind::InvalidData, format!("{}: not an upload journal", journal.display()));
        let v: Value = serde_json::from_str(&text).map_err(|_| bad())?;
        if v["root"].as_str() != Some(store.root.as_str()) {
            continue;
        }
        let key = v["key"].as_str().and_then(|k| ObjectPath::parse(k).ok()).ok_or_else(bad)?;
        let upload = v["upload"].as_str().map(str::to_string);
        let parts: Vec<PartId> = v["parts"]
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .filter_map(|p| p.as_str().map(|c| PartId { content_id: c.to_string() }))
            .collect();
        let spooled = v["spooled"].as_u64().ok_or_else(bad)?;
        let spool = dir.join(v["spool"].as_str().ok_or_else(bad)?);
        let recoverable = v["recoverable"].as_bool().unwrap_or(false);
        // Only what was flushed counts: a batch cut short by the crash was not acknowledged.
        let mut body = match std::fs::read(&spool) {
            Ok(body) => body,
            Err(err) if err.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(err) => return Err(err),
        };
        body.truncate(spooled as usize);
        if !recoverable {
            // Its batches were held unacknowledged until the object was finished: they come again.
            if let Some(id) = upload {
                let (multipart, k) = (store.multipart.clone(), key.clone());
                if let Err(err) = store.wait(async move { multipart.abort_multipart(&k, &id).await }) {
                    if !matches!(err, object_store::Error::NotFound { .. }) {
                        return Err(store_io(store.error("aborting a leftover upload", &key, &err)));
                    }
                }
            }
            let rows = journal.with_extension("rows");
            if rows.exists() {
                rebuild(key.as_ref(), &rows)?;
                finished.completed.push(key.to_string());
            } else {
                finished.aborted.push(key.to_string());
            }
        } else if upload.is_none() && body.is_empty() {
            // Nothing was ever acknowledged into this object.
        } else {
            finish_object(store, &key, upload.as_ref(), parts, Bytes::from(body))?;
            finished.completed.push(key.to_string());
        }
        let _ = std::fs::remove_file(&spool);
        std::fs::remove_file(&journal)?;
    }
    Ok(finished)
}
