//! The log's error type: every failure names what it was doing and which file or topic it concerned.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A `Result` whose error is the log's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the embedded log.
#[derive(Debug)]
pub enum Error {
    /// An I/O operation failed; `context` says what was being done to which path.
    Io { context: String, source: io::Error },
    /// A batch in synced (or sealed) data failed validation: the log refuses to serve it.
    Corrupt { file: PathBuf, position: u64, offset: u64, reason: String },
    /// The topic does not exist in this data directory.
    TopicNotFound(String),
    /// A topic with this name already exists.
    TopicExists(String),
    /// The partition number is outside the topic's partitions.
    PartitionNotFound { topic: String, partition: u32, partitions: u32 },
    /// The consumer group does not exist (no member and no committed offset).
    GroupNotFound(String),
    /// A name, a configuration value or an argument is not acceptable.
    Invalid(String),
    /// Another process already holds the partition's writer lock.
    Locked { what: String, holder: String },
    /// A record is larger than the topic's largest batch.
    RecordTooLarge { size: usize, max: usize },
    /// A previous `fdatasync` failed; the writer stops acknowledging (reopen to recover).
    Poisoned(String),
}

impl Error {
    /// Wraps an I/O error with what was being done and to which path.
    pub fn io(source: io::Error, what: &str, path: &Path) -> Error {
        Error::Io { context: format!("{what} {}", path.display()), source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { context, source } => write!(f, "cannot {context}: {source}"),
            Error::Corrupt { file, position, offset, reason } => write!(
                f,
                "corrupt record batch in {} at byte {position} (offset {offset}): {reason}; \
                 run `flowc log verify` to inspect and `flowc log repair` to truncate it",
                file.display()
            ),
            Error::TopicNotFound(t) => write!(f, "topic `{t}` does not exist"),
            Error::TopicExists(t) => write!(f, "topic `{t}` already exists"),
            Error::PartitionNotFound { topic, partition, partitions } => write!(
                f,
                "topic `{topic}` has no partition {partition} (it has {partitions}: 0..{})",
                partitions.saturating_sub(1)
            ),
            Error::GroupNotFound(g) => write!(f, "consumer group `{g}` does not exist"),
            Error::Invalid(msg) => f.write_str(msg),
            Error::Locked { what, holder } => write!(
                f,
                "{what} is already being written by another process ({holder}); \
                 a partition has one writer at a time"
            ),
            Error::RecordTooLarge { size, max } => {
                write!(f, "record of {size} bytes is larger than the largest batch ({max} bytes)")
            }
            Error::Poisoned(msg) => write!(f, "log writer stopped after an earlier failure: {msg}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Adds path context to `io::Result`s.
pub(crate) trait IoContext<T> {
    /// Maps the error to [`Error::Io`] with "what path".
    fn ctx(self, what: &str, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, what: &str, path: &Path) -> Result<T> {
        self.map_err(|e| Error::io(e, what, path))
    }
}
