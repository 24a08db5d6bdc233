//! The `files` sink on an object store (`s3://`, `gs://`, `az://`): each open file is an [`Upload`]
//! behind the [`Output`] seam, numbered after the objects already under its directory, and a crashed
//! run's uploads are finished (or aborted) when the sink starts.

use super::encode::{self, Settings};
use super::output::Output;
use crate::connectors::store::upload::{recover, Upload};
use crate::connectors::store::{Store, StoreUrl};
use flowc_runtime::exec::{NodeSpec, RunError};
use object_store::path::Path as ObjectPath;
use std::io;
use std::path::PathBuf;

/// Where a sink's objects go, and where its uploads are journaled.
pub(crate) struct Target {
    store: Store,
    /// `<data dir>/uploads/<node>`: each open object's journal and spool.
    journal: PathBuf,
}

impl Target {
    /// Opens the store and finishes what an earlier run of this node left (see [`recover`]): text
    /// objects are completed with their spooled bytes, the others (Parquet, Arrow, compressed) are
    /// aborted and written anew from their rows' journal.
    pub(crate) fn open(spec: &NodeSpec<'_>, url: &StoreUrl, settings: &Settings) -> Result<Target, RunError> {
        let target = Target { store: Store::open(spec, url)?, journal: spec.data_dir.join("uploads").join(spec.name) };
        let rebuild = |key: &str, rows: &std::path::Path| {
            let upload = Upload::create(&target.store, key, &target.journal, false)?;
            encode::recover(settings, rows, Box::new(ObjectFile(upload))).map(|_| ())
        };
        let done = recover(&target.store, &target.journal, rebuild).map_err(|e| {
            RunError::io(format!(
                "finishing the uploads an earlier run left ({}): {e}; they are tried again at the next start",
                target.journal.display()
            ))
        })?;
        if !done.completed.is_empty() {
            tracing::warn!("{}: completed {} upload(s) an earlier run left", spec.name, done.completed.len());
        }
        if !done.aborted.is_empty() {
            tracing::warn!(
                "{}: aborted {} unfinished upload(s) an earlier run left (their events are written again)",
                spec.name,
                done.aborted.len()
            );
        }
        Ok(target)
    }

    /// The first number `n` after every `<prefix><n><suffix>` already under `dir`. Listing is also
    /// the first request a new bucket directory makes: a missing bucket, wrong credentials or an
    /// unreachable endpoint show up here, before any event is taken into a file.
    pub(crate) fn first_free(&self, dir: &str, prefix: &str, suffix: &str) -> Result<u64, RunError> {
        let path = ObjectPath::parse(dir).map_err(|e| RunError::config(format!("{}/{dir}: {e}", self.store.root)))?;
        let objects = self.store.objects.clone();
        let listing = self.store.wait(async move {
            let list = objects.list_with_delimiter(Some(&path)).await?;
            Ok::<_, object_store::Error>(list.objects)
        });
        let listed = listing.map_err(|e| self.store.error("listing", &ObjectPath::from(dir), &e))?;
        let mut next = 0;
        for meta in listed {
            let name = meta.location.filename().unwrap_or_default();
            let number = name.strip_prefix(prefix).and_then(|r| r.strip_suffix(suffix));
            if let Some(n) = number.and_then(|n| n.parse::<u64>().ok()) {
                next = next.max(n + 1);
            }
        }
        Ok(next)
    }

    /// Starts the object `<dir>/<name>`, and names the journal its rows go to when the format keeps
    /// one (a crashed run's leftover of such a format is written anew from it; a text object's
    /// spooled bytes are readable as they are and completed).
    pub(crate) fn create(
        &self,
        dir: &str,
        name: &str,
        settings: &Settings,
    ) -> Result<(Box<dyn Output>, Option<PathBuf>), RunError> {
        let key = if dir.is_empty() || dir.ends_with('/') { format!("{dir}{name}") } else { format!("{dir}/{name}") };
        let upload = Upload::create(&self.store, &key, &self.journal, !settings.journaled())
            .map_err(|e| RunError::io(format!("{}/{key}: {e}", self.store.root)))?;
        let rows = settings.journaled().then(|| upload.companion("rows"));
        Ok((Box::new(ObjectFile(upload)), rows))
    }

    /// `s3://bucket`, for messages.
    pub(crate) fn root(&self) -> &str {
        &self.store.root
    }
}

/// An object being written, as the `files` sink's open file.
struct ObjectFile(Upload);

impl Output for ObjectFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }

    fn bytes_written(&self) -> u64 {
        self.0.bytes_written()
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        self.0.finish()
    }

    fn abort(self: Box<Self>) -> io::Result<()> {
        self.0.abort()
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}
