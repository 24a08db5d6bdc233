//! `Log`: a data directory of topics, the entry point for producers, consumers, groups and checks.
//!
//! Layout: `<data>/<topic>/topic.json` (the config and the topic's id) and
//! `<data>/<topic>/<partition>/` (segments, `writer.lock`, `recovery-point`); consumer groups under
//! `<data>/__groups/`. Topics are created in a hidden temporary directory and renamed into place, so
//! a topic is either whole or absent.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::consumer::{Consumer, ConsumerOptions};
use super::error::{Error, IoContext, Result};
use super::fsutil::{atomic_write, now_ms};
use super::group::{
    commit_unowned, committed_offsets, group_dir, live_members, read_committed, CommittedOffset, MemberInfo, Membership,
};
use super::io::{self as storage, Open, Storage, StorageRef};
use super::partition::{partition_info_on, PartitionInfo, PartitionWriter};
use super::producer::Producer;
use super::reader::{offset_for_timestamp, PartitionReader};
use super::topic::{validate_group_name, validate_topic_name, FsyncPolicy, TopicConfig, TopicFile, TopicId};
use super::verify::{repair_partition, verify_partition, PartitionCheck};

/// An open data directory.
#[derive(Clone, Debug)]
pub struct Log {
    fs: StorageRef,
    dir: PathBuf,
}

/// How to open a data directory.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogOptions {
    /// Create the directory if it does not exist (otherwise that is an error).
    pub create: bool,
}

/// A topic's config and the state of its partitions.
#[derive(Clone, Debug)]
pub struct TopicInfo {
    /// The topic's name.
    pub name: String,
    /// Its persisted config.
    pub config: TopicConfig,
    /// One entry per partition.
    pub partitions: Vec<PartitionInfo>,
}

/// A consumer group's members and committed positions (what `groups describe` prints).
#[derive(Clone, Debug)]
pub struct GroupInfo {
    /// The group's name.
    pub group: String,
    /// Live members.
    pub members: Vec<MemberInfo>,
    /// One row per partition the group has a committed offset for.
    pub partitions: Vec<GroupPartition>,
}

/// One partition's row in a group description.
#[derive(Clone, Debug)]
pub struct GroupPartition {
    /// Committed offset and current owner.
    pub committed: CommittedOffset,
    /// The partition's log-end offset.
    pub log_end_offset: u64,
    /// `log_end_offset - committed offset`.
    pub lag: u64,
}

impl Log {
    /// Opens the data directory `dir`.
    pub fn open(dir: impl AsRef<Path>, opts: LogOptions) -> Result<Log> {
        Log::open_on(storage::real(), dir.as_ref(), opts)
    }

    /// [`open`](Self::open) on `fs`.
    pub(crate) fn open_on(fs: StorageRef, dir: &Path, opts: LogOptions) -> Result<Log> {
        let dir = dir.to_path_buf();
        match fs.stat(&dir) {
            Ok(Some(m)) if m.is_dir => {}
            Ok(Some(_)) => return Err(Error::Invalid(format!("data directory {} is not a directory", dir.display()))),
            Ok(None) => {
                if !opts.create {
                    return Err(Error::Invalid(format!(
                        "data directory {} does not exist (create a topic first, or pass --data-dir)",
                        dir.display()
                    )));
                }
                storage::create_dir_all_durable(&*fs, &dir).ctx("create data directory", &dir)?;
            }
            Err(e) => return Err(Error::io(e, "open data directory", &dir)),
        }
        Ok(Log { fs, dir })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates a topic with `config` (its partitions' directories and its persisted config, with a
    /// new [`TopicId`]).
    pub fn create_topic(&self, name: &str, config: &TopicConfig) -> Result<()> {
        validate_topic_name(name)?;
        config.validate()?;
        let fs = &*self.fs;
        let final_dir = self.dir.join(name);
        if storage::exists(fs, &final_dir) {
            return Err(Error::TopicExists(name.to_string()));
        }
        let tmp = self.dir.join(format!(".creating-{name}-{}", std::process::id()));
        let _ = fs.remove_dir_all(&tmp);
        fs.create_dir(&tmp).ctx("create", &tmp)?;
        let result = (|| {
            for p in 0..config.partitions {
                let pdir = tmp.join(p.to_string());
                fs.create_dir(&pdir).ctx("create", &pdir)?;
            }
            let file = TopicFile { id: Some(TopicId::new()), config: config.clone() };
            let json = serde_json::to_vec_pretty(&file).expect("config serializes");
            let cfg_path = tmp.join("topic.json");
            atomic_write(fs, &cfg_path, &json).ctx("write", &cfg_path)?;
            fs.sync_dir(&tmp).ctx("sync directory", &tmp)?;
            match fs.rename(&tmp, &final_dir) {
                Ok(()) => Ok(()),
                Err(_) if storage::exists(fs, &final_dir) => Err(Error::TopicExists(name.to_string())),
                Err(e) => Err(Error::io(e, "create topic directory", &final_dir)),
            }
        })();
        if result.is_err() {
            let _ = fs.remove_dir_all(&tmp);
        }
        result?;
        fs.sync_dir(&self.dir).ctx("sync directory", &self.dir)
    }

    /// Raises a topic's partition count to `partitions` (Kafka's CreatePartitions): the new
    /// partitions' directories first, then the config naming them. Existing keys may map to other
    /// partitions from then on, as in Kafka.
    pub fn add_partitions(&self, name: &str, partitions: u32) -> Result<TopicConfig> {
        let TopicFile { id, mut config } = self.topic_file(name)?;
        if partitions <= config.partitions {
            return Err(Error::Invalid(format!(
                "topic `{name}` has {} partitions; the new count must be larger, got {partitions}",
                config.partitions
            )));
        }
        let old = config.partitions;
        config.partitions = partitions;
        config.validate()?;
        let fs = &*self.fs;
        let tdir = self.dir.join(name);
        for p in old..partitions {
            let pdir = tdir.join(p.to_string());
            match fs.create_dir(&pdir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(e, "create", &pdir)),
            }
        }
        fs.sync_dir(&tdir).ctx("sync directory", &tdir)?;
        let file = TopicFile { id, config };
        let json = serde_json::to_vec_pretty(&file).expect("config serializes");
        let cfg_path = tdir.join("topic.json");
        atomic_write(fs, &cfg_path, &json).ctx("write", &cfg_path)?;
        Ok(file.config)
    }

    /// Deletes a topic, and the offsets groups committed in it (as Kafka forgets a deleted topic's
    /// offsets: a topic created again under the name is not read from the old one's positions);
    /// refused while a writer holds one of its partitions.
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        let config = self.topic_config(name)?;
        let fs = &*self.fs;
        let tdir = self.dir.join(name);
        let mut locks = Vec::new();
        for p in 0..config.partitions {
            let lock_path = tdir.join(p.to_string()).join("writer.lock");
            if let Ok(f) = fs.open(&lock_path, Open::Read) {
                if !f.try_lock().ctx("lock", &lock_path)? {
                    return Err(Error::Locked { what: format!("partition {name}/{p}"), holder: "a producer".into() });
                }
                locks.push(f);
            }
        }
        let graveyard = self.dir.join(format!(".deleting-{name}-{}-{}", std::process::id(), now_ms()));
        fs.rename(&tdir, &graveyard).ctx("delete topic directory", &tdir)?;
        fs.sync_dir(&self.dir).ctx("sync directory", &self.dir)?;
        drop(locks);
        fs.remove_dir_all(&graveyard).ctx("remove", &graveyard)?;
        // After the topic went: a crash in between leaves offsets of a topic that is gone (as before),
        // never a topic without its offsets.
        for group in self.groups()? {
            let offsets = group_dir(&self.dir, &group).join("offsets").join(name);
            if storage::is_dir(fs, &offsets) {
                fs.remove_dir_all(&offsets).ctx("remove", &offsets)?;
            }
        }
        Ok(())
    }

    /// The topics, sorted by name.
    pub fn topics(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for name in self.fs.list(&self.dir).ctx("list", &self.dir)? {
            if name.starts_with('.') || name.starts_with("__") {
                continue;
            }
            if matches!(self.fs.stat(&self.dir.join(&name).join("topic.json")), Ok(Some(s)) if !s.is_dir) {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    /// A topic's persisted config.
    pub fn topic_config(&self, name: &str) -> Result<TopicConfig> {
        Ok(self.topic_file(name)?.config)
    }

    /// The id the topic was given when it was created (`None` for a topic made before ids
    /// existed): another one once it is deleted and created again, by this process or another.
    pub fn topic_id(&self, name: &str) -> Result<Option<TopicId>> {
        Ok(self.topic_file(name)?.id)
    }

    fn topic_file(&self, name: &str) -> Result<TopicFile> {
        validate_topic_name(name)?;
        let path = self.dir.join(name).join("topic.json");
        let bytes = match storage::read(&*self.fs, &path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::TopicNotFound(name.to_string())),
            Err(e) => return Err(Error::io(e, "read", &path)),
        };
        let file: TopicFile = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Invalid(format!("{} is not a valid topic config: {e}", path.display())))?;
        file.config.validate()?;
        Ok(file)
    }

    /// A topic's config and partitions' offsets, sizes and oldest records.
    pub fn describe_topic(&self, name: &str) -> Result<TopicInfo> {
        let config = self.topic_config(name)?;
        let partitions = (0..config.partitions)
            .map(|p| partition_info_on(&*self.fs, &self.partition_dir(name, p), p))
            .collect::<Result<Vec<_>>>()?;
        Ok(TopicInfo { name: name.to_string(), config, partitions })
    }

    /// A producer for `topic`, holding every partition's writer lock; `fsync` overrides the topic's.
    pub fn producer(&self, topic: &str, fsync: Option<FsyncPolicy>) -> Result<Producer> {
        let config = self.topic_config(topic)?;
        let writers = (0..config.partitions)
            .map(|p| {
                let (fs, dir) = (Arc::clone(&self.fs), self.partition_dir(topic, p));
                PartitionWriter::open_on(fs, &dir, &format!("{topic}/{p}"), &config, fsync)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Producer::new(topic, writers))
    }

    /// The writer of one partition (the durable-channel building block).
    pub fn partition_writer(&self, topic: &str, partition: u32, fsync: Option<FsyncPolicy>) -> Result<PartitionWriter> {
        let config = self.topic_config(topic)?;
        self.check_partition(topic, partition, &config)?;
        let (fs, dir) = (Arc::clone(&self.fs), self.partition_dir(topic, partition));
        PartitionWriter::open_on(fs, &dir, &format!("{topic}/{partition}"), &config, fsync)
    }

    /// A reader of one partition from `offset`, knowing the [`TopicId`] it was opened on
    /// ([`PartitionReader::topic_id`]).
    pub fn reader(&self, topic: &str, partition: u32, offset: u64) -> Result<PartitionReader> {
        let TopicFile { id, config } = self.topic_file(topic)?;
        self.check_partition(topic, partition, &config)?;
        let (fs, dir) = (Arc::clone(&self.fs), self.partition_dir(topic, partition));
        let mut reader = PartitionReader::open_on(fs, &dir, &format!("{topic}/{partition}"), offset)?;
        reader.topic_id = id;
        Ok(reader)
    }

    /// A consumer of `topic` (joining `opts.group` if set).
    pub fn consumer(&self, topic: &str, opts: ConsumerOptions) -> Result<Consumer> {
        let config = self.topic_config(topic)?;
        if let Some(g) = &opts.group {
            validate_group_name(g)?;
        }
        Consumer::new(Arc::clone(&self.fs), self.dir.clone(), self.dir.join(topic), topic, config.partitions, opts)
    }

    /// The consumer groups that have members or committed offsets, sorted.
    pub fn groups(&self) -> Result<Vec<String>> {
        let root = self.dir.join("__groups");
        let mut out = Vec::new();
        match self.fs.list(&root) {
            Ok(entries) => out.extend(entries.into_iter().filter(|n| !n.starts_with('.'))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(e, "list", &root)),
        }
        out.sort();
        Ok(out)
    }

    /// A group's members, committed offsets, log-end offsets and lag.
    pub fn describe_group(&self, group: &str) -> Result<GroupInfo> {
        validate_group_name(group)?;
        let gdir = group_dir(&self.dir, group);
        let fs = &*self.fs;
        if !storage::is_dir(fs, &gdir) {
            return Err(Error::GroupNotFound(group.to_string()));
        }
        let members = live_members(fs, &gdir)?;
        let mut partitions = Vec::new();
        for c in committed_offsets(fs, &gdir)? {
            let pdir = self.partition_dir(&c.topic, c.partition);
            let log_end_offset =
                if storage::is_dir(fs, &pdir) { partition_info_on(fs, &pdir, c.partition)?.end_offset } else { 0 };
            let lag = log_end_offset.saturating_sub(c.offset);
            partitions.push(GroupPartition { committed: c, log_end_offset, lag });
        }
        Ok(GroupInfo { group: group.to_string(), members, partitions })
    }

    /// Joins `group` as one member consuming `topic`, beside the group's other members in this data
    /// directory (`flowc consume --group`, a pipeline's `group "G"`): it takes its share of the
    /// partitions ([`Membership::assignment`]) by owning each ([`Membership::try_own`]). `flowc
    /// serve` joins so for a group's Kafka members.
    pub fn join_group(&self, group: &str, topic: &str, client_id: &str) -> Result<Membership> {
        validate_group_name(group)?;
        validate_topic_name(topic)?;
        Membership::join(Arc::clone(&self.fs), &self.dir, group, topic, client_id)
    }

    /// Commits `offset` for `group` in `topic`/`partition` without joining the group (a Kafka
    /// client's OffsetCommit): `Ok(false)` while a member of the group here consumes that partition.
    pub fn commit_group_offset(&self, group: &str, topic: &str, partition: u32, offset: u64) -> Result<bool> {
        validate_group_name(group)?;
        validate_topic_name(topic)?;
        commit_unowned(&*self.fs, &self.dir, group, topic, partition, offset)
    }

    /// `group`'s committed offset in `topic`/`partition`, if any.
    pub fn group_offset(&self, group: &str, topic: &str, partition: u32) -> Result<Option<u64>> {
        validate_group_name(group)?;
        validate_topic_name(topic)?;
        read_committed(&*self.fs, &self.dir, group, topic, partition)
    }

    /// The offset of the first record of `topic`/`partition` stamped at or after `timestamp` (ms
    /// since the epoch), `None` when every record is older. Segments wholly older than it are
    /// skipped by their time index; a compressed batch answers with its first offset.
    pub fn offset_for_timestamp(&self, topic: &str, partition: u32, timestamp: i64) -> Result<Option<u64>> {
        let config = self.topic_config(topic)?;
        self.check_partition(topic, partition, &config)?;
        offset_for_timestamp(
            Arc::clone(&self.fs),
            &self.partition_dir(topic, partition),
            &format!("{topic}/{partition}"),
            timestamp,
        )
    }

    /// Verifies every partition of `topic` (or of every topic).
    pub fn verify(&self, topic: Option<&str>) -> Result<Vec<PartitionCheck>> {
        self.each_partition(topic, verify_partition)
    }

    /// Truncates each damaged partition of `topic` (or of every topic) at its first bad batch.
    pub fn repair(&self, topic: Option<&str>) -> Result<Vec<PartitionCheck>> {
        self.each_partition(topic, repair_partition)
    }

    fn each_partition(
        &self,
        topic: Option<&str>,
        f: fn(&dyn Storage, &Path, &str, u32) -> Result<PartitionCheck>,
    ) -> Result<Vec<PartitionCheck>> {
        let topics = match topic {
            Some(t) => vec![t.to_string()],
            None => self.topics()?,
        };
        let mut out = Vec::new();
        for t in topics {
            let config = self.topic_config(&t)?;
            for p in 0..config.partitions {
                out.push(f(&*self.fs, &self.partition_dir(&t, p), &t, p)?);
            }
        }
        Ok(out)
    }

    fn partition_dir(&self, topic: &str, partition: u32) -> PathBuf {
        self.dir.join(topic).join(partition.to_string())
    }

    fn check_partition(&self, topic: &str, partition: u32, config: &TopicConfig) -> Result<()> {
        if partition >= config.partitions {
            return Err(Error::PartitionNotFound {
                topic: topic.to_string(),
                partition,
                partitions: config.partitions,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::record::Record;

    fn values(r: &mut PartitionReader) -> Vec<String> {
        let batches = r.read(1 << 20).unwrap();
        batches
            .iter()
            .flat_map(|b| b.records())
            .map(|r| String::from_utf8(r.unwrap().value.unwrap().to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn a_topic_created_again_under_its_name_has_another_id_and_old_readers_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        let config = TopicConfig::default();
        log.create_topic("t", &config).unwrap();
        let first = log.topic_id("t").unwrap().expect("a new topic has an id");
        let w = log.partition_writer("t", 0, None).unwrap();
        w.append(&[Record::from_value("a0")]).unwrap();
        let mut old = log.reader("t", 0, 0).unwrap();
        assert_eq!(old.topic_id(), Some(first));
        w.append(&[Record::from_value("a1")]).unwrap();
        drop(w);

        log.delete_topic("t").unwrap();
        assert!(matches!(log.topic_id("t"), Err(Error::TopicNotFound(_))));
        log.create_topic("t", &config).unwrap();
        let second = log.topic_id("t").unwrap().expect("a new topic has an id");
        assert_ne!(first, second);
        log.partition_writer("t", 0, None).unwrap().append(&[Record::from_value("b0")]).unwrap();
        // what the id is for: the reader opened before still reads the deleted topic's file
        assert_eq!(old.topic_id(), Some(first));
        assert_eq!(values(&mut old), ["a0", "a1"]);
        let mut new = log.reader("t", 0, 0).unwrap();
        assert_eq!(new.topic_id(), Some(second));
        assert_eq!(values(&mut new), ["b0"]);

        // more partitions keep the id
        log.add_partitions("t", 3).unwrap();
        assert_eq!(log.topic_id("t").unwrap(), Some(second));
    }

    #[test]
    fn a_deleted_topic_takes_the_offsets_groups_committed_in_it_along() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        let config = TopicConfig { partitions: 2, ..TopicConfig::default() };
        log.create_topic("t", &config).unwrap();
        log.create_topic("other", &config).unwrap();
        for (group, topic, partition, offset) in
            [("g", "t", 0, 5), ("g", "t", 1, 7), ("h", "t", 1, 2), ("g", "other", 0, 3)]
        {
            assert!(log.commit_group_offset(group, topic, partition, offset).unwrap());
        }
        log.delete_topic("t").unwrap();
        log.create_topic("t", &config).unwrap();
        for (group, partition) in [("g", 0), ("g", 1), ("h", 1)] {
            assert_eq!(log.group_offset(group, "t", partition).unwrap(), None, "{group} t/{partition}");
        }
        // the groups' other topics keep theirs, and the groups stay
        assert_eq!(log.group_offset("g", "other", 0).unwrap(), Some(3));
        assert_eq!(log.groups().unwrap(), ["g", "h"]);
    }

    #[test]
    fn a_topic_made_before_ids_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        log.create_topic("old", &TopicConfig::default()).unwrap();
        let config = serde_json::to_vec_pretty(&TopicConfig::default()).unwrap();
        std::fs::write(dir.path().join("old/topic.json"), config).unwrap();
        assert_eq!(log.topic_config("old").unwrap(), TopicConfig::default());
        assert_eq!(log.topic_id("old").unwrap(), None);
        assert_eq!(log.reader("old", 0, 0).unwrap().topic_id(), None);
        log.add_partitions("old", 2).unwrap();
        assert_eq!(log.topic_id("old").unwrap(), None, "none is made up later");
    }
}
