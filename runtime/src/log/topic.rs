//! Topic configuration and id (persisted as `<data>/<topic>/topic.json`), fsync policies and name
//! rules.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::units::{format_duration_ms, parse_duration};

/// A topic's settings, fixed at creation and stored in the data directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopicConfig {
    /// Number of partitions (≥ 1).
    pub partitions: u32,
    /// Sealed segments whose newest record is older than this are deleted; `None` keeps forever.
    pub retention_ms: Option<u64>,
    /// Per partition: the oldest sealed segments are deleted while the rest still holds this much.
    pub retention_bytes: Option<u64>,
    /// The active segment rolls before it would grow past this size.
    pub segment_bytes: u64,
    /// The active segment rolls when it is this old (so time retention works on quiet topics).
    pub segment_ms: u64,
    /// A sparse index entry every this many bytes of log.
    pub index_interval_bytes: u32,
    /// The largest batch written; bigger appends are split, a bigger single record is refused.
    pub max_batch_bytes: u32,
    /// When appends reach the disk.
    pub fsync: FsyncPolicy,
}

/// Which incarnation of a topic name this is: drawn when the topic is created and kept in its
/// `topic.json`, so a topic deleted and created again under the same name, by this process or
/// another, has another id. (Topics created before ids existed have none.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct TopicId(u64);

impl TopicId {
    /// A fresh id: the process's random hash keys over the time, the process id and a counter.
    pub(crate) fn new() -> TopicId {
        use std::hash::{BuildHasher, Hasher};
        static DRAWN: AtomicU64 = AtomicU64::new(0);
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        h.write_u128(now);
        h.write_u32(std::process::id());
        h.write_u64(DRAWN.fetch_add(1, Ordering::Relaxed));
        TopicId(h.finish())
    }
}

impl fmt::Display for TopicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl From<TopicId> for String {
    fn from(id: TopicId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for TopicId {
    type Error = String;
    fn try_from(s: String) -> Result<TopicId, String> {
        match u64::from_str_radix(&s, 16) {
            Ok(n) if s.len() == 16 => Ok(TopicId(n)),
            _ => Err(format!("invalid topic id `{s}` (expected 16 hexadecimal digits)")),
        }
    }
}

/// What `topic.json` holds: the topic's id (absent in topics made before ids) beside its settings.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TopicFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<TopicId>,
    #[serde(flatten)]
    pub(crate) config: TopicConfig,
}

/// When appended data is forced to disk with `fdatasync`.
///
/// In every policy, data is handed to the kernel (`write(2)`) before an append returns, so a killed
/// process loses nothing acknowledged; the policy decides what a power loss can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum FsyncPolicy {
    /// An append returns after an `fdatasync` covering it; concurrent appends share one (group commit).
    Always,
    /// A background flusher syncs every interval; a power loss can take the last interval.
    Interval(Duration),
    /// Only segment rolls and clean closes sync; the OS writes back when it likes.
    Never,
}

impl Default for TopicConfig {
    fn default() -> TopicConfig {
        TopicConfig {
            partitions: 1,
            retention_ms: Some(168 * 3_600_000),
            retention_bytes: None,
            segment_bytes: 64 << 20,
            segment_ms: 3_600_000,
            index_interval_bytes: 4096,
            max_batch_bytes: 1 << 20,
            fsync: FsyncPolicy::default(),
        }
    }
}

impl TopicConfig {
    /// Checks that the settings are usable.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(m));
        if self.partitions == 0 || self.partitions > 10_000 {
            return bad(format!("partition count must be between 1 and 10000, got {}", self.partitions));
        }
        if self.segment_bytes < 1024 || self.segment_bytes > u64::from(u32::MAX) {
            return bad(format!("segment size must be between 1KiB and 4GiB, got {} bytes", self.segment_bytes));
        }
        if self.max_batch_bytes < 1024 || self.max_batch_bytes > 16 << 20 {
            return bad(format!("max batch size must be between 1KiB and 16MiB, got {}", self.max_batch_bytes));
        }
        if self.segment_ms == 0 {
            return bad("segment age must be positive".into());
        }
        if let FsyncPolicy::Interval(d) = self.fsync {
            if d.is_zero() {
                return bad("fsync interval must be positive".into());
            }
        }
        Ok(())
    }
}

impl Default for FsyncPolicy {
    fn default() -> FsyncPolicy {
        FsyncPolicy::Interval(Duration::from_secs(1))
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsyncPolicy::Always => f.write_str("always"),
            FsyncPolicy::Never => f.write_str("never"),
            FsyncPolicy::Interval(d) => write!(f, "interval({})", format_duration_ms(d.as_millis() as u64)),
        }
    }
}

impl std::str::FromStr for FsyncPolicy {
    type Err = String;

    /// `always`, `never`, `interval` (1s), `interval(500ms)` or `interval:500ms`.
    fn from_str(s: &str) -> Result<FsyncPolicy, String> {
        let s = s.trim();
        match s {
            "always" => return Ok(FsyncPolicy::Always),
            "never" | "none" => return Ok(FsyncPolicy::Never),
            "interval" => return Ok(FsyncPolicy::default()),
            _ => {}
        }
        let inner = s
            .strip_prefix("interval(")
            .and_then(|r| r.strip_suffix(')'))
            .or_else(|| s.strip_prefix("interval:"))
            .or_else(|| s.strip_prefix("interval="))
            .ok_or_else(|| format!("invalid fsync policy `{s}` (expected always, never or interval(DURATION))"))?;
        let d = parse_duration(inner)?;
        if d.is_zero() {
            return Err("fsync interval must be positive".into());
        }
        Ok(FsyncPolicy::Interval(d))
    }
}

impl From<FsyncPolicy> for String {
    fn from(p: FsyncPolicy) -> String {
        p.to_string()
    }
}

impl TryFrom<String> for FsyncPolicy {
    type Error = String;
    fn try_from(s: String) -> Result<FsyncPolicy, String> {
        s.parse()
    }
}

/// Checks a topic name: 1–249 of `[a-zA-Z0-9._-]`, not `.`/`..`, not starting with `.` or `__`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    validate_name("topic", name)?;
    if name.starts_with("__") {
        return Err(Error::Invalid(format!("topic name `{name}` is reserved (names starting with `__` are internal)")));
    }
    Ok(())
}

/// Checks a consumer group name (same character rules as topics, so it can name a directory).
pub fn validate_group_name(name: &str) -> Result<()> {
    validate_name("group", name)
}

fn validate_name(what: &str, name: &str) -> Result<()> {
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if name.is_empty() || name.len() > 249 || !ok_chars || name.starts_with('.') {
        return Err(Error::Invalid(format!(
            "invalid {what} name `{name}`: use 1-249 characters from [a-zA-Z0-9._-], not starting with `.`"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_through_json() {
        let c = TopicConfig {
            partitions: 3,
            fsync: FsyncPolicy::Always,
            retention_bytes: Some(10),
            ..TopicConfig::default()
        };
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"fsync\":\"always\""), "{json}");
        assert_eq!(serde_json::from_str::<TopicConfig>(&json).unwrap(), c);
    }

    #[test]
    fn topic_file_keeps_the_id_beside_the_settings_and_reads_files_without_one() {
        let config = TopicConfig { partitions: 2, ..TopicConfig::default() };
        let (a, b) = (TopicId::new(), TopicId::new());
        assert_ne!(a, b, "each creation draws another id");
        let json = serde_json::to_string(&TopicFile { id: Some(a), config: config.clone() }).unwrap();
        assert!(json.contains(&format!("\"id\":\"{a}\"")), "{json}");
        let back: TopicFile = serde_json::from_str(&json).unwrap();
        assert_eq!((back.id, back.config), (Some(a), config.clone()));
        // a topic.json written before ids existed: only the settings
        let old: TopicFile = serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
        assert_eq!((old.id, old.config), (None, config.clone()));
        // and an older flowc reading a file with an id sees its settings
        assert_eq!(serde_json::from_str::<TopicConfig>(&json).unwrap(), config);
        assert!(serde_json::from_str::<TopicFile>(r#"{"id":"xyz","partitions":1}"#).is_err());
    }

    #[test]
    fn fsync_policies_parse() {
        assert_eq!("always".parse::<FsyncPolicy>().unwrap(), FsyncPolicy::Always);
        assert_eq!(
            "interval(200ms)".parse::<FsyncPolicy>().unwrap(),
            FsyncPolicy::Interval(Duration::from_millis(200))
        );
        assert_eq!("interval:2s".parse::<FsyncPolicy>().unwrap(), FsyncPolicy::Interval(Duration::from_secs(2)));
        assert!("sometimes".parse::<FsyncPolicy>().is_err());
        assert!("interval(0s)".parse::<FsyncPolicy>().is_err());
        assert_eq!(FsyncPolicy::Interval(Duration::from_secs(1)).to_string(), "interval(1s)");
    }

    #[test]
    fn names() {
        assert!(validate_topic_name("access.log-v2_x").is_ok());
        for bad in ["", ".", "..", "a/b", "__groups", "é", ".hidden"] {
            assert!(validate_topic_name(bad).is_err(), "{bad}");
        }
        assert!(TopicConfig { partitions: 0, ..TopicConfig::default() }.validate().is_err());
    }
}
