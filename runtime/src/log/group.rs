//! Consumer groups shared by processes through the data directory: membership, assignment, offsets.
//!
//! Layout under `<data>/__groups/<group>/`:
//! - `members/<member-id>.json`: one file per live member, describing it (pid, host, client id,
//!   topic, join time). The member holds an exclusive `flock` on its file for its whole life; the
//!   kernel drops it when the process exits or is killed, so the lock *is* the lease and its
//!   heartbeat. Anyone who can lock a member file has proved that member dead and removes the file.
//! - `offsets/<topic>/<partition>.offset`: the committed offset (a CRC'd slot file, fdatasync'd on
//!   every commit; the directories above it are made durable when created). The member consuming the partition holds an exclusive `flock` on this file, so
//!   two members never read one partition at the same time; `<partition>.owner` names the holder.
//!
//! Assignment: the live members subscribed to a topic, sorted by join time, take partitions round-
//! robin (`partition % members`). Every member computes it from the same files; a member releases a
//! partition it should no longer own (dropping its lock) and takes one it should own as soon as its
//! lock is free, starting from the committed offset, so a handover neither skips nor repeats what
//! was committed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::error::{IoContext, Result};
use super::fsutil::{now_ms, read_slot_file, SlotFile};
use super::io::{self as storage, FileRef, Open, Storage, StorageRef};

/// A live member of a consumer group, as it described itself when it joined.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// Unique id (`<client id>-<join time>-<pid>-<n>`).
    pub member_id: String,
    /// The client's name (`flowc-consume` for the console consumer).
    pub client_id: String,
    /// Host name of the member's machine.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// The topic it consumes.
    pub topic: String,
    /// When it joined (ms since the epoch).
    pub joined_ms: i64,
}

/// This process's membership in a group (see [`Log::join_group`](super::Log::join_group)); leaving
/// happens on drop, and the kernel drops its lock if the process dies first.
#[derive(Debug)]
pub struct Membership {
    fs: StorageRef,
    group_dir: PathBuf,
    info: MemberInfo,
    file_path: PathBuf,
    _file: FileRef,
}

/// A partition this member consumes: the lock on its offset file, and the committed offset. No
/// other member can take the partition (nor commit to it) until this is dropped.
#[derive(Debug)]
pub struct OwnedPartition {
    slot: SlotFile,
    path: PathBuf,
}

/// The committed position of one partition and who consumes it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedOffset {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: u32,
    /// The next offset the group will read.
    pub offset: u64,
    /// The member consuming it now, if any.
    pub owner: Option<MemberInfo>,
}

static MEMBER_SEQ: AtomicU64 = AtomicU64::new(0);

/// `<data>/__groups/<group>`.
pub(crate) fn group_dir(data: &Path, group: &str) -> PathBuf {
    data.join("__groups").join(group)
}

impl Membership {
    /// Joins `group` as a consumer of `topic`.
    pub(crate) fn join(fs: StorageRef, data: &Path, group: &str, topic: &str, client_id: &str) -> Result<Membership> {
        let group_dir = group_dir(data, group);
        let members = group_dir.join("members");
        storage::create_dir_all(&*fs, &members).ctx("create", &members)?;
        let joined_ms = now_ms();
        let pid = std::process::id();
        let n = MEMBER_SEQ.fetch_add(1, Ordering::Relaxed);
        let info = MemberInfo {
            member_id: format!("{client_id}-{joined_ms:x}-{pid}-{n}"),
            client_id: client_id.to_string(),
            host: hostname(),
            pid,
            topic: topic.to_string(),
            joined_ms,
        };
        // write and lock under a temporary name, then rename: nobody ever sees an unlocked member
        let tmp = members.join(format!(".{}.tmp", info.member_id));
        let file_path = members.join(format!("{}.json", info.member_id));
        let json = serde_json::to_vec(&info).expect("member info serializes");
        storage::write(&*fs, &tmp, &json).ctx("write", &tmp)?;
        let file = fs.open(&tmp, Open::Read).ctx("open", &tmp)?;
        file.try_lock().ctx("lock", &tmp)?;
        fs.rename(&tmp, &file_path).ctx("rename", &tmp)?;
        Ok(Membership { fs, group_dir, info, file_path, _file: file })
    }

    /// This member's description.
    pub fn info(&self) -> &MemberInfo {
        &self.info
    }

    /// The partitions of `topic` (of `partitions`) this member should consume now.
    pub fn assignment(&self, partitions: u32) -> Result<Vec<u32>> {
        let mut members: Vec<MemberInfo> =
            live_members(&*self.fs, &self.group_dir)?.into_iter().filter(|m| m.topic == self.info.topic).collect();
        if !members.iter().any(|m| m.member_id == self.info.member_id) {
            members.push(self.info.clone());
        }
        members.sort_by(|a, b| (a.joined_ms, &a.member_id).cmp(&(b.joined_ms, &b.member_id)));
        let n = members.len() as u32;
        let me = members.iter().position(|m| m.member_id == self.info.member_id).expect("self is a member") as u32;
        Ok((0..partitions).filter(|p| p % n == me).collect())
    }

    /// Tries to take `partition`; `None` while another member still holds it.
    pub fn try_own(&self, topic: &str, partition: u32) -> Result<Option<OwnedPartition>> {
        let fs = &*self.fs;
        let dir = self.group_dir.join("offsets").join(topic);
        storage::create_dir_all_durable(fs, &dir).ctx("create", &dir)?;
        let path = dir.join(format!("{partition}.offset"));
        let slot = SlotFile::open(fs, &path).ctx("open", &path)?;
        if !slot.file().try_lock().ctx("lock", &path)? {
            return Ok(None);
        }
        let owner = dir.join(format!("{partition}.owner"));
        storage::write(fs, &owner, self.info.member_id.as_bytes()).ctx("write", &owner)?;
        Ok(Some(OwnedPartition { slot, path }))
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        let _ = self.fs.remove_file(&self.file_path);
    }
}

impl OwnedPartition {
    /// The committed offset, if the group ever committed one.
    pub fn committed(&self) -> Result<Option<u64>> {
        Ok(self.slot.read().ctx("read", &self.path)?.map(|(o, _)| o))
    }

    /// Durably commits `offset` (the next offset to read).
    pub fn commit(&mut self, offset: u64) -> Result<()> {
        self.slot.write(offset, now_ms()).ctx("commit offset to", &self.path)
    }
}

/// Commits `offset` as `group`'s next offset in `topic`/`partition` from outside a membership (a
/// Kafka client's commit through `flowc serve`): the same file a member of the group writes, taken
/// under its lock for the write. `Ok(false)` while a member here consumes that partition.
pub(crate) fn commit_unowned(
    fs: &dyn Storage,
    data: &Path,
    group: &str,
    topic: &str,
    partition: u32,
    offset: u64,
) -> Result<bool> {
    let dir = group_dir(data, group).join("offsets").join(topic);
    storage::create_dir_all_durable(fs, &dir).ctx("create", &dir)?;
    let path = dir.join(format!("{partition}.offset"));
    let mut slot = SlotFile::open(fs, &path).ctx("open", &path)?;
    if !slot.file().try_lock().ctx("lock", &path)? {
        return Ok(false);
    }
    slot.write(offset, now_ms()).ctx("commit offset to", &path)?;
    Ok(true)
}

/// `group`'s committed offset in `topic`/`partition`, if it has one.
pub(crate) fn read_committed(
    fs: &dyn Storage,
    data: &Path,
    group: &str,
    topic: &str,
    partition: u32,
) -> Result<Option<u64>> {
    let path = group_dir(data, group).join("offsets").join(topic).join(format!("{partition}.offset"));
    Ok(read_slot_file(fs, &path).ctx("read", &path)?.map(|(o, _)| o))
}

/// The live members of the group at `group_dir`; dead members' files are removed on the way.
pub(crate) fn live_members(fs: &dyn Storage, group_dir: &Path) -> Result<Vec<MemberInfo>> {
    let dir = group_dir.join("members");
    let entries = match fs.list(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(super::error::Error::io(e, "list", &dir)),
    };
    let mut out = Vec::new();
    for name in entries {
        let path = dir.join(name);
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Ok(file) = fs.open(&path, Open::Read) else { continue };
        match file.try_lock() {
            Ok(true) => {
                // nobody holds it: that member is gone
                let _ = fs.remove_file(&path);
            }
            Ok(false) => {
                if let Ok(info) = serde_json::from_slice::<MemberInfo>(&storage::read(fs, &path).unwrap_or_default()) {
                    out.push(info);
                }
            }
            Err(_) => continue,
        }
    }
    out.sort_by(|a, b| (a.joined_ms, &a.member_id).cmp(&(b.joined_ms, &b.member_id)));
    Ok(out)
}

/// Every committed offset of the group at `group_dir`, with the member consuming each partition.
pub(crate) fn committed_offsets(fs: &dyn Storage, group_dir: &Path) -> Result<Vec<CommittedOffset>> {
    let members: BTreeMap<String, MemberInfo> =
        live_members(fs, group_dir)?.into_iter().map(|m| (m.member_id.clone(), m)).collect();
    let root = group_dir.join("offsets");
    let mut out = Vec::new();
    let topics = match fs.list(&root) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(super::error::Error::io(e, "list", &root)),
    };
    for topic in topics {
        let tdir = root.join(&topic);
        for f in fs.list(&tdir).ctx("list", &tdir)? {
            let path = tdir.join(f);
            let Some(p) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".offset")) else {
                continue;
            };
            let Ok(partition) = p.parse::<u32>() else { continue };
            let Some((offset, _)) = read_slot_file(fs, &path).ctx("read", &path)? else { continue };
            let held = match fs.open(&path, Open::Read) {
                Ok(f) => !f.try_lock().unwrap_or(true),
                Err(_) => false,
            };
            let owner = if held {
                let id = storage::read(fs, &tdir.join(format!("{partition}.owner"))).unwrap_or_default();
                let id = String::from_utf8_lossy(&id);
                members.get(id.trim()).cloned()
            } else {
                None
            };
            out.push(CommittedOffset { topic: topic.clone(), partition, offset, owner });
        }
    }
    out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok(out)
}

fn hostname() -> String {
    let h = gethostname::gethostname().to_string_lossy().trim().to_string();
    if h.is_empty() {
        "localhost".into()
    } else {
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::io::real;

    #[test]
    fn members_split_partitions_and_dead_members_disappear() {
        let dir = tempfile::tempdir().unwrap();
        let a = Membership::join(real(), dir.path(), "g", "t", "test").unwrap();
        assert_eq!(a.assignment(3).unwrap(), vec![0, 1, 2]);
        let b = Membership::join(real(), dir.path(), "g", "t", "test").unwrap();
        let other = Membership::join(real(), dir.path(), "g", "other-topic", "test").unwrap();
        let (aa, bb) = (a.assignment(3).unwrap(), b.assignment(3).unwrap());
        assert_eq!(aa.len() + bb.len(), 3);
        assert!(aa.iter().all(|p| !bb.contains(p)));
        assert_eq!(other.assignment(2).unwrap(), vec![0, 1]);
        drop(b);
        assert_eq!(a.assignment(3).unwrap(), vec![0, 1, 2]);
        assert_eq!(live_members(&*real(), &group_dir(dir.path(), "g")).unwrap().len(), 2);
    }

    #[test]
    fn one_owner_per_partition_and_commits_survive() {
        let dir = tempfile::tempdir().unwrap();
        let a = Membership::join(real(), dir.path(), "g", "t", "test").unwrap();
        let b = Membership::join(real(), dir.path(), "g", "t", "test").unwrap();
        let mut owned = a.try_own("t", 0).unwrap().unwrap();
        assert!(b.try_own("t", 0).unwrap().is_none());
        assert_eq!(owned.committed().unwrap(), None);
        owned.commit(42).unwrap();
        let rows = committed_offsets(&*real(), &group_dir(dir.path(), "g")).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].offset, rows[0].owner.as_ref().map(|m| m.member_id.clone())),
            (42, Some(a.info().member_id.clone()))
        );
        drop(owned);
        let again = b.try_own("t", 0).unwrap().unwrap();
        assert_eq!(again.committed().unwrap(), Some(42));
    }
}
