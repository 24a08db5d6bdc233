//! `object`: the spooldir of object stores. Every `poll_interval` the prefix is listed; each object
//! not yet in the manifest is read, one event per line (`.gz` and `.zst` objects decompressed), and recorded in
//! the manifest (a file in the data directory: one JSON line per object with its key, size and
//! ETag) only after every sink that got its lines has written them. Objects are never renamed or
//! deleted; an object rewritten with a new ETag is read again. A crash before an object is recorded
//! reads it again from its start (at least once).

use super::store::{Store, StoreUrl};
use crate::catalogue::object_store::{ACCESS_KEY_ID, ALLOW_HTTP, ENDPOINT, REGION, SECRET_ACCESS_KEY};
use crate::catalogue::{batch_size, optional, required, unset};
use arrow_array::builder::StringBuilder;
use arrow_array::RecordBatch;
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut};
use flowc_runtime::exec::batch::lines_schema;
use flowc_runtime::exec::{Ack, AckWait, BoxFuture, NodeSpec, RunError, Source, SourceContext};
use flowc_runtime::exec::{Built, Connector};
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use regex::Regex;
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;

/// The spooldir of object stores.
pub(crate) const CONNECTOR: Connector =
    Connector { sig: SIG, build: |spec| Ok(Built::source(ObjectSource::new(spec)?)) };

const SIG: ConnectorSig = ConnectorSig {
    kind: "object",
    role: Role::Source,
    summary: "Pick up new objects under an object-store prefix (S3, GCS, Azure), one line per event.",
    doc: "Lists `url` every `poll_interval` and reads each object not read before, oldest first, one event \
per line (`.gz` and `.zst` objects are decompressed). Objects are never renamed or deleted, unlike `spooldir`'s \
files: a manifest (a file in the data directory) records each object (key, size, ETag) once every sink \
that got its lines has written them; an object rewritten with a new ETag is read again. A run stopped \
or killed before an object is recorded reads it again from its start (at least once). A listing that \
fails (the store unreachable, a missing bucket, wrong credentials) is reported and tried again at the \
next poll. Credentials come from the options or from the usual environment variables; write secrets as \
`${ENV}` references, never literally.",
    params: &[
        required(
            "url",
            ParamType::String,
            "The prefix to watch: `\"s3://bucket/prefix/\"`, `\"gs://…\"` or `\"az://…\"` (a local directory is `spooldir`'s).",
        ),
        optional("poll_interval", ParamType::Duration, "30s", "How often the prefix is listed for new objects."),
        unset(
            "manifest",
            ParamType::String,
            "File the manifest of finished objects is kept in; default: `<data dir>/objects/<source>.manifest`.",
        ),
        unset(
            "include",
            ParamType::Regex,
            "Only object names matching this regular expression are read; default: every object.",
        ),
        optional(
            "max_line_length",
            ParamType::Size,
            "1MiB",
            "Longest line accepted; a longer line is split into several events and counted.",
        ),
        batch_size("1_000"),
        ENDPOINT,
        REGION,
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        ALLOW_HTTP,
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "an object enters the manifest only after all its lines are committed",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "",
    check: None,
    weaker_when: &[],
};

pub(crate) struct ObjectSource {
    objects: Arc<dyn ObjectStore>,
    /// Keeps the store's own runtime alive as long as the source (the listing runs on the executor's).
    _store: Store,
    root: String,
    prefix: ObjectPath,
    include: Option<Regex>,
    poll_interval: Duration,
    manifest: PathBuf,
    batch_size: usize,
    max_line: usize,
}

/// What identifies one version of an object in the manifest.
type Seen = (String, Option<String>);

impl ObjectSource {
    pub(crate) fn new(spec: &NodeSpec<'_>) -> Result<ObjectSource, RunError> {
        let o = &spec.options;
        let url = o.string("url")?.ok_or_else(|| RunError::config("`url` is required"))?;
        let parsed = StoreUrl::parse(&url)?.ok_or_else(|| {
            RunError::unsupported(format!(
                "reading a local directory (`{url}`) with the `object` source (use `spooldir`)"
            ))
        })?;
        let store = Store::open(spec, &parsed)?;
        let prefix = ObjectPath::parse(&parsed.key).map_err(|e| RunError::config(format!("`url`: {e}")))?;
        let include = o
            .string("include")?
            .map(|r| Regex::new(&r).map_err(|e| RunError::config(format!("`include`: {e}"))))
            .transpose()?;
        let manifest = match o.string("manifest")? {
            Some(path) => super::resolve(spec.base_dir, &path),
            None => spec.data_dir.join("objects").join(format!("{}.manifest", spec.name)),
        };
        Ok(ObjectSource {
            objects: store.objects.clone(),
            root: store.root.clone(),
            _store: store,
            prefix,
            include,
            poll_interval: o.duration_or_default("poll_interval")?,
            manifest,
            batch_size: super::batch_size(spec)?,
            max_line: o.size_or_default("max_line_length")?.max(1) as usize,
        })
    }

    /// The objects already read and written, from the manifest.
    fn load_manifest(&self) -> Result<HashSet<Seen>, RunError> {
        let text = match std::fs::read_to_string(&self.manifest) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
            Err(err) => return Err(RunError::io(format!("{}: {err}", self.manifest.display()))),
        };
        // A line cut short by a crash is ignored: that object is read again.
        Ok(text
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter_map(|v| Some((v["key"].as_str()?.to_string(), v["etag"].as_str().map(str::to_string))))
            .collect())
    }

    fn record(&self, meta: &ObjectMeta) -> std::io::Result<()> {
        if let Some(dir) = self.manifest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let line = serde_json::json!({ "key": meta.location.as_ref(), "size": meta.size, "etag": meta.e_tag });
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.manifest)?;
        file.write_all(format!("{line}\n").as_bytes())?;
        file.sync_data()
    }

    /// New objects under the prefix, oldest first.
    async fn list(&self, skip: &HashSet<Seen>) -> Result<Vec<ObjectMeta>, RunError> {
        let mut found = Vec::new();
        let mut listing = self.objects.list(Some(&self.prefix));
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| {
                RunError::io(format!("{}/{}: listing: {}", self.root, self.prefix, super::store::describe(&e)))
            })?;
            let key = meta.location.as_ref().to_string();
            let relative = key.strip_prefix(self.prefix.as_ref()).unwrap_or(&key).trim_start_matches('/');
            if skip.contains(&(key.clone(), meta.e_tag.clone()))
                || self.include.as_ref().is_some_and(|r| !r.is_match(relative))
            {
                continue;
            }
            found.push(meta);
        }
        found.sort_by(|a, b| a.last_modified.cmp(&b.last_modified).then_with(|| a.location.cmp(&b.location)));
        Ok(found)
    }

    /// Reads one object as lines into the output; `None` when the run is stopping.
    async fn read(&self, meta: &ObjectMeta, ctx: &SourceContext) -> Result<Option<AckWait>, RunError> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            RunError::io(format!("{}/{}: {what}: {e}", self.root, meta.location))
        };
        let got = self.objects.get(&meta.location).await.map_err(|e| fail("reading", &super::store::describe(&e)))?;
        let (ack, wait) = Ack::new();
        let mut lines = Lines::new(self.batch_size, self.max_line);
        let mut stream = got.into_stream();
        let mut inflate = Inflate::for_key(meta.location.as_ref()).map_err(|e| fail("zstd", &e))?;
        loop {
            let chunk = match stream.next().await {
                Some(chunk) => chunk.map_err(|e| fail("reading", &super::store::describe(&e)))?,
                None => {
                    if let Some(d) = inflate.take() {
                        let rest = d.finish().map_err(|e| fail("not compressed as its name says", &e))?;
                        lines.push(&rest);
                    }
                    lines.end();
                    if !self.send(&mut lines, &ack, ctx, true).await {
                        return Ok(None);
                    }
                    break;
                }
            };
            match &mut inflate {
                Some(d) => {
                    let out = d.write(&chunk).map_err(|e| fail("not compressed as its name says", &e))?;
                    lines.push(out);
                }
                None => lines.push(&chunk),
            }
            if !self.send(&mut lines, &ack, ctx, false).await {
                return Ok(None);
            }
        }
        if lines.not_text {
            return Err(fail("not UTF-8 text", &"skipped"));
        }
        drop(ack);
        Ok(Some(wait))
    }

    /// Sends the full batches (all of them at the end); `false` when the run is stopping.
    async fn send(&self, lines: &mut Lines, ack: &Ack, ctx: &SourceContext, all: bool) -> bool {
        for batch in lines.take(all) {
            let batch = RecordBatch::try_new(lines_schema(), vec![Arc::new(batch)]).expect("one string column");
            if ctx.shutdown.is_set() || ctx.output.send(batch, ack.clone()).await.is_err() {
                ack.fail();
                return false;
            }
        }
        true
    }
}

/// A decompressor chosen by the object's name (`.gz`, `.zst`), writing into a buffer.
enum Inflate {
    Gzip(flate2::write::GzDecoder<Vec<u8>>),
    Zstd(zstd::stream::write::Decoder<'static, Vec<u8>>),
}

impl Inflate {
    fn for_key(key: &str) -> std::io::Result<Option<Inflate>> {
        Ok(if key.ends_with(".gz") {
            Some(Inflate::Gzip(flate2::write::GzDecoder::new(Vec::new())))
        } else if key.ends_with(".zst") {
            Some(Inflate::Zstd(zstd::stream::write::Decoder::new(Vec::new())?))
        } else {
            None
        })
    }

    /// Decompresses a chunk; returns what came out of it so far (taken from the buffer).
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<&[u8]> {
        match self {
            Inflate::Gzip(d) => {
                d.get_mut().clear();
                d.write_all(chunk)?;
                Ok(d.get_ref())
            }
            Inflate::Zstd(d) => {
                d.get_mut().clear();
                d.write_all(chunk)?;
                d.flush()?;
                Ok(d.get_ref())
            }
        }
    }

    fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            Inflate::Gzip(mut d) => {
                d.get_mut().clear();
                d.finish()
            }
            Inflate::Zstd(mut d) => {
                d.get_mut().clear();
                d.flush()?;
                Ok(d.into_inner())
            }
        }
    }
}

/// Splits chunks of bytes into lines, gathered into batches.
struct Lines {
    carry: Vec<u8>,
    current: StringBuilder,
    rows: usize,
    full: Vec<arrow_array::StringArray>,
    batch_size: usize,
    max_line: usize,
    not_text: bool,
}

impl Lines {
    fn new(batch_size: usize, max_line: usize) -> Lines {
        Lines {
            carry: Vec::new(),
            current: StringBuilder::new(),
            rows: 0,
            full: Vec::new(),
            batch_size,
            max_line,
            not_text: false,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.carry.extend_from_slice(bytes);
        let Some(last) = self.carry.iter().rposition(|b| *b == b'\n') else { return };
        let rest = self.carry.split_off(last + 1);
        let whole = std::mem::replace(&mut self.carry, rest);
        for line in whole[..whole.len() - 1].split(|b| *b == b'\n') {
            self.line(line);
        }
    }

    /// The last line, without its newline.
    fn end(&mut self) {
        if !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            self.line(&line);
        }
    }

    fn line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok(mut rest) = std::str::from_utf8(line) else {
            self.not_text = true;
            return;
        };
        // A line longer than `max_line_length` becomes several events.
        while rest.len() > self.max_line {
            let mut cut = self.max_line;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            let cut = if cut == 0 { rest.chars().next().map_or(rest.len(), char::len_utf8) } else { cut };
            self.append(&rest[..cut]);
            rest = &rest[cut..];
        }
        self.append(rest);
    }

    fn append(&mut self, line: &str) {
        self.current.append_value(line);
        self.rows += 1;
        if self.rows >= self.batch_size {
            self.full.push(self.current.finish());
            self.rows = 0;
        }
    }

    fn take(&mut self, all: bool) -> Vec<arrow_array::StringArray> {
        if all && self.rows > 0 {
            self.full.push(self.current.finish());
            self.rows = 0;
        }
        std::mem::take(&mut self.full)
    }
}

impl Source for ObjectSource {
    fn run(self: Box<Self>, ctx: SourceContext) -> BoxFuture<'static, Result<(), RunError>> {
        Box::pin(async move {
            let this = Arc::new(*self);
            let seen = Arc::new(Mutex::new(this.load_manifest()?));
            // Objects read whole and waiting for their lines to be written.
            let busy: Arc<Mutex<HashSet<Seen>>> = Arc::default();
            let mut finishing: JoinSet<()> = JoinSet::new();
            'poll: while !ctx.shutdown.is_set() {
                while finishing.try_join_next().is_some() {}
                let mut skip = seen.lock().map(|s| s.clone()).unwrap_or_default();
                skip.extend(busy.lock().map(|b| b.clone()).unwrap_or_default());
                let found = match this.list(&skip).await {
                    Ok(found) => found,
                    Err(err) => {
                        // The store may come back: say why and list again at the next poll.
                        tracing::warn!("{}: {err}", ctx.name);
                        ctx.metrics.add_errors(1);
                        Vec::new()
                    }
                };
                for meta in found {
                    if ctx.shutdown.is_set() {
                        break 'poll;
                    }
                    let id: Seen = (meta.location.as_ref().to_string(), meta.e_tag.clone());
                    let wait = match this.read(&meta, &ctx).await {
                        Ok(Some(wait)) => wait,
                        Ok(None) => break 'poll,
                        Err(err) => {
                            tracing::warn!("{}: {err}", ctx.name);
                            ctx.metrics.add_errors(1);
                            continue;
                        }
                    };
                    if let Ok(mut b) = busy.lock() {
                        b.insert(id.clone());
                    }
                    let (this, busy, seen, name, metrics) =
                        (this.clone(), busy.clone(), seen.clone(), ctx.name.clone(), ctx.metrics.clone());
                    finishing.spawn(async move {
                        if wait.wait().await {
                            match this.record(&meta) {
                                Ok(()) => {
                                    if let Ok(mut s) = seen.lock() {
                                        s.insert(id.clone());
                                    }
                                }
                                Err(err) => {
                                    tracing::warn!("{name}: {}: {err}", this.manifest.display());
                                    metrics.add_errors(1);
                                }
                            }
                        }
                        if let Ok(mut b) = busy.lock() {
                            b.remove(&id);
                        }
                    });
                }
                let mut shutdown = ctx.shutdown.clone();
                tokio::select! {
                    _ = tokio::time::sleep(this.poll_interval) => {}
                    _ = shutdown.wait() => {}
                }
            }
            let SourceContext { output, .. } = ctx;
            drop(output);
            while finishing.join_next().await.is_some() {}
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Inflate, Lines};
    use arrow_array::Array;
    use std::io::Write;

    #[test]
    fn gzip_and_zstd_objects_inflate_chunk_by_chunk() {
        let text = "line one\nline two\n".repeat(500);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::stream::encode_all(text.as_bytes(), 3).unwrap();
        for (name, body) in [("a.gz", gz), ("a.zst", zst)] {
            let mut d = Inflate::for_key(name).unwrap().unwrap();
            let mut out = Vec::new();
            for chunk in body.chunks(7) {
                out.extend_from_slice(d.write(chunk).unwrap());
            }
            out.extend(d.finish().unwrap());
            assert_eq!(String::from_utf8(out).unwrap(), text, "{name}");
        }
        assert!(Inflate::for_key("a.log").unwrap().is_none());
    }

    #[test]
    fn chunks_split_into_lines_across_boundaries() {
        let mut lines = Lines::new(2, 4);
        lines.push(b"ab");
        lines.push(b"c\r\nde\nfghij\n");
        lines.push(b"last");
        lines.end();
        let got: Vec<String> = lines
            .take(true)
            .iter()
            .flat_map(|a| (0..a.len()).map(|i| a.value(i).to_string()).collect::<Vec<_>>())
            .collect();
        assert_eq!(got, ["abc", "de", "fghi", "j", "last"]);
    }
}
