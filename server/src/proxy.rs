//! One member in the data directory standing in for a consumer group's Kafka members, per topic
//! they subscribe to, so they and flowc's own members of the group (`flowc consume --group`, a
//! pipeline's `group "G"`) split the partitions instead of both reading them.
//!
//! The stand-in joins the group's membership as flowc's members do (`Log::join_group`, client id
//! `flowc-serve`); flowc's assignment gives it a share of the topic's partitions, which it takes
//! by owning each (the lock on the partition's offset file). SyncGroup hands the Kafka members
//! only the partitions it owns and still should own, whatever the leader's assignor gave them.
//! It lets go of a partition when that partition left its share and no Kafka member may be reading
//! it any more (they rejoined, or left); when its share changes, the Kafka members are rebalanced
//! so they get the new one. Their commits to a partition it owns are written through it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use flowc_runtime::log::{Error as LogError, Log, Membership, OwnedPartition};

use crate::consumer_protocol;
use crate::groups::{Coordinator, GroupError, Usage};

/// The client id the stand-in members show in `flowc groups describe`.
pub(crate) const CLIENT_ID: &str = "flowc-serve";

/// Every group's stand-ins: group → topic → stand-in.
#[derive(Default)]
pub(crate) struct Proxies {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    groups: HashMap<String, BTreeMap<String, Proxy>>,
    /// Groups and topics the data directory refused a member for (said once in the log).
    refused: HashSet<(String, String)>,
}

/// One topic's stand-in in one group.
struct Proxy {
    member: Membership,
    /// Its share, as flowc's assignment gives it.
    share: BTreeSet<u32>,
    /// Shared with a commit under way, which keeps the partition's lock until it is written.
    owned: BTreeMap<u32, Arc<Mutex<OwnedPartition>>>,
    /// What the last SyncGroup let the Kafka members have (`None` before the first).
    handed: Option<BTreeSet<u32>>,
}

impl Proxy {
    /// The partitions Kafka members may be given: owned and in the share.
    fn usable(&self) -> BTreeSet<u32> {
        self.owned.keys().copied().filter(|p| self.share.contains(p)).collect()
    }
}

impl Proxies {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// After a JoinGroup: the group's stand-ins join the data directory's membership (or follow a
    /// changed subscription) and take what of their share is free.
    pub(crate) fn joined(&self, log: &Log, groups: &Coordinator, group: &str) {
        let mut state = self.lock();
        let usage = groups.usage_of(group);
        state.refresh(log, group, usage.as_ref());
    }

    /// A SyncGroup: the leader's assignments keep only the partitions the stand-ins may hand out,
    /// and are stored. Groups of other protocol types pass through unchanged.
    pub(crate) fn sync(
        &self,
        log: &Log,
        groups: &Coordinator,
        group: &str,
        member: &str,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
    ) -> Result<bool, GroupError> {
        let mut state = self.lock();
        let Some(usage) = groups.usage_of(group) else { return groups.sync(group, member, generation, assignments) };
        state.refresh(log, group, Some(&usage));
        let usable: BTreeMap<String, BTreeSet<u32>> =
            state.groups.get(group).into_iter().flatten().map(|(t, p)| (t.clone(), p.usable())).collect();
        let filtered = assignments
            .into_iter()
            .map(|(id, a)| {
                let kept = consumer_protocol::retain(&a, |t, p| {
                    u32::try_from(p).is_ok_and(|p| usable.get(t).is_some_and(|u| u.contains(&p)))
                });
                (id, kept)
            })
            .collect();
        let stored = groups.sync(group, member, generation, filtered)?;
        if stored {
            for (topic, proxy) in state.groups.get_mut(group).into_iter().flatten() {
                proxy.handed = usable.get(topic).cloned();
            }
        }
        Ok(stored)
    }

    /// Periodically: every group's stand-ins follow the data directory's membership (a flowc
    /// member came or went), let go of what they may, take what is free, and a Stable group whose
    /// Kafka members hold other partitions than the stand-ins can hand out is rebalanced.
    pub(crate) fn tick(&self, log: &Log, groups: &Coordinator) {
        let mut state = self.lock();
        // read under this lock: assignments are only stored under it too (`sync`)
        let usage = groups.usage();
        let names: BTreeSet<String> = state.groups.keys().chain(usage.keys()).cloned().collect();
        for group in names {
            if state.refresh(log, &group, usage.get(&group)) && groups.rebalance(&group) {
                tracing::info!(
                    "group `{group}`: its share of the partitions beside flowc's members changed; rebalancing its \
                     Kafka members"
                );
            }
        }
    }

    /// Commits `offset` through the stand-in that owns `topic`/`partition` for `group`; `None` when
    /// none does. The write (an fdatasync) runs outside the stand-ins' lock; a partition let go of
    /// meanwhile keeps its lock until the write is done.
    pub(crate) fn commit(&self, group: &str, topic: &str, partition: u32, offset: u64) -> Option<Result<(), LogError>> {
        let owned = Arc::clone(self.lock().groups.get(group)?.get(topic)?.owned.get(&partition)?);
        let mut owned = owned.lock().unwrap_or_else(|e| e.into_inner());
        Some(owned.commit(offset))
    }

    /// Lets go of everything (shutdown).
    pub(crate) fn close(&self) {
        self.lock().groups.clear();
    }
}

impl State {
    /// Brings `group`'s stand-ins up to date with what its Kafka members read (`usage`, `None`
    /// when it has none) and the data directory's membership; `true` when the group is Stable
    /// and its members hold other partitions than the stand-ins can hand out.
    fn refresh(&mut self, log: &Log, group: &str, usage: Option<&Usage>) -> bool {
        let empty = Usage::default();
        let usage = usage.unwrap_or(&empty);
        for topic in &usage.topics {
            let known = self.groups.get(group).is_some_and(|g| g.contains_key(topic));
            if known || self.refused.contains(&(group.to_string(), topic.clone())) {
                continue;
            }
            match log.topic_config(topic) {
                Ok(_) => {}
                Err(LogError::TopicNotFound(_)) => continue, // joins once the topic exists
                Err(e) => {
                    tracing::warn!("group `{group}`: topic `{topic}`: {e}");
                    continue;
                }
            }
            match log.join_group(group, topic, CLIENT_ID) {
                Ok(member) => {
                    tracing::info!(
                        "group `{group}`: joined the data directory's members for `{topic}` as {}",
                        member.info().member_id
                    );
                    let proxy = Proxy { member, share: BTreeSet::new(), owned: BTreeMap::new(), handed: None };
                    self.groups.entry(group.to_string()).or_default().insert(topic.clone(), proxy);
                }
                Err(e) => {
                    tracing::warn!(
                        "group `{group}`: its Kafka members of `{topic}` are not coordinated with flowc's own: {e}"
                    );
                    self.refused.insert((group.to_string(), topic.clone()));
                }
            }
        }
        let Some(proxies) = self.groups.get_mut(group) else { return false };
        let mut rebalance = false;
        proxies.retain(|topic, proxy| {
            let subscribed = usage.topics.contains(topic);
            let held: BTreeSet<u32> =
                usage.held.iter().filter(|(t, _)| t == topic).filter_map(|&(_, p)| u32::try_from(p).ok()).collect();
            proxy.share = if subscribed { share(log, group, topic, &proxy.member) } else { BTreeSet::new() };
            let share = &proxy.share;
            proxy.owned.retain(|p, _| {
                let keep = share.contains(p) || held.contains(p);
                if !keep {
                    tracing::info!("group `{group}`: let go of {topic}/{p} for another member");
                }
                keep
            });
            for &p in share {
                if proxy.owned.contains_key(&p) {
                    continue;
                }
                match proxy.member.try_own(topic, p) {
                    Ok(Some(owned)) => {
                        tracing::debug!("group `{group}`: took {topic}/{p} for its Kafka members");
                        proxy.owned.insert(p, Arc::new(Mutex::new(owned)));
                    }
                    Ok(None) => {} // its previous owner has not let go yet
                    Err(e) => tracing::warn!("group `{group}`: taking {topic}/{p}: {e}"),
                }
            }
            if usage.stable && proxy.handed.as_ref() != Some(&proxy.usable()) {
                rebalance = true;
            }
            subscribed || !proxy.owned.is_empty()
        });
        if proxies.is_empty() {
            self.groups.remove(group);
        }
        rebalance
    }
}

/// The stand-in's share of `topic` now (empty when that cannot be read).
fn share(log: &Log, group: &str, topic: &str, member: &Membership) -> BTreeSet<u32> {
    let assigned = log.topic_config(topic).and_then(|c| member.assignment(c.partitions));
    match assigned {
        Ok(parts) => parts.into_iter().collect(),
        Err(LogError::TopicNotFound(_)) => BTreeSet::new(),
        Err(e) => {
            tracing::warn!("group `{group}`: the members of `{topic}`: {e}");
            BTreeSet::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::BytesMut;
    use flowc_runtime::log::{LogOptions, TopicConfig};
    use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
    use kafka_protocol::messages::{ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName};
    use kafka_protocol::protocol::{Encodable, StrBytes};

    use super::*;
    use crate::groups::Join;

    fn versioned(version: i16, m: &impl Encodable) -> Bytes {
        let mut out = BytesMut::new();
        out.extend_from_slice(&version.to_be_bytes());
        m.encode(&mut out, version).unwrap();
        out.freeze()
    }

    fn join(id: &str) -> Join {
        let mut s = ConsumerProtocolSubscription::default();
        s.topics = vec![StrBytes::from_static_str("t")];
        Join {
            member_id: id.to_string(),
            client_id: "k".into(),
            host: "/127.0.0.1".into(),
            session_timeout: Duration::from_secs(30),
            rebalance_timeout: Duration::from_secs(30),
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), versioned(0, &s))],
        }
    }

    fn all_of_t() -> Bytes {
        let mut tp = TopicPartition::default();
        tp.topic = TopicName(StrBytes::from_static_str("t"));
        tp.partitions = vec![0, 1, 2, 3];
        let mut a = ConsumerProtocolAssignment::default();
        a.assigned_partitions = vec![tp];
        versioned(0, &a)
    }

    fn assigned(groups: &Coordinator, member: &str, generation: i32) -> Vec<i32> {
        let a = groups.sync_result("g", member, generation).unwrap().unwrap();
        consumer_protocol::assigned(&a).unwrap().into_iter().map(|(_, p)| p).collect()
    }

    #[test]
    fn kafka_members_get_the_stand_ins_share_and_it_lets_go_only_after_they_rejoined() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions { create: true }).unwrap();
        log.create_topic("t", &TopicConfig { partitions: 4, ..TopicConfig::default() }).unwrap();
        let (groups, proxies) = (Coordinator::default(), Proxies::default());
        // a Kafka member alone: the stand-in owns every partition, the leader's assignment passes
        let k = groups.join("g", join("")).unwrap();
        proxies.joined(&log, &groups, "g");
        let gen = groups.join_result("g", &k).unwrap().unwrap().generation;
        assert!(proxies.sync(&log, &groups, "g", &k, gen, vec![(k.clone(), all_of_t())]).unwrap());
        assert_eq!(assigned(&groups, &k, gen), vec![0, 1, 2, 3]);
        assert!(matches!(proxies.commit("g", "t", 1, 7), Some(Ok(()))), "commits go through the stand-in");
        assert_eq!(log.group_offset("g", "t", 1).unwrap(), Some(7));

        // a flowc member joins: the stand-in's share shrinks, but it keeps what the Kafka member reads
        let f = log.join_group("g", "t", "flowc-consume").unwrap();
        let theirs = f.assignment(4).unwrap();
        assert_eq!(theirs, vec![1, 3], "the stand-in joined first");
        proxies.tick(&log, &groups);
        assert!(f.try_own("t", 1).unwrap().is_none(), "still read by the Kafka member");
        assert_eq!(groups.heartbeat("g", &k, gen), Err(GroupError::RebalanceInProgress));
        // it rejoins: nobody reads partition 1 any more, the stand-in lets go of it
        groups.join("g", join(&k)).unwrap();
        let gen = groups.join_result("g", &k).unwrap().unwrap().generation;
        proxies.tick(&log, &groups);
        let mut one = f.try_own("t", 1).unwrap().expect("let go after the rejoin");
        assert_eq!(one.committed().unwrap(), Some(7), "the handover keeps the commit");
        assert!(proxies.sync(&log, &groups, "g", &k, gen, vec![(k.clone(), all_of_t())]).unwrap());
        assert_eq!(assigned(&groups, &k, gen), vec![0, 2], "the leader's assignment keeps the stand-in's share");
        assert!(proxies.commit("g", "t", 1, 9).is_none());
        one.commit(8).unwrap();
        proxies.tick(&log, &groups);
        assert_eq!(groups.heartbeat("g", &k, gen), Ok(()), "nothing changed: no rebalance");

        // the flowc member leaves: the stand-in takes everything and the Kafka member rebalances
        drop(one);
        drop(f);
        proxies.tick(&log, &groups);
        assert_eq!(groups.heartbeat("g", &k, gen), Err(GroupError::RebalanceInProgress));
        groups.join("g", join(&k)).unwrap();
        let gen = groups.join_result("g", &k).unwrap().unwrap().generation;
        assert!(proxies.sync(&log, &groups, "g", &k, gen, vec![(k.clone(), all_of_t())]).unwrap());
        assert_eq!(assigned(&groups, &k, gen), vec![0, 1, 2, 3]);

        // the Kafka member leaves: the stand-in goes too, its partitions free for flowc's members
        groups.leave("g", &k).unwrap();
        proxies.tick(&log, &groups);
        let f = log.join_group("g", "t", "flowc-consume").unwrap();
        assert_eq!(f.assignment(4).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(f.try_own("t", 1).unwrap().expect("free").committed().unwrap(), Some(8));
        assert_eq!(log.describe_group("g").unwrap().members.len(), 1);
    }
}
