//! The classic consumer-group coordinator, in memory: members join (JoinGroup), the leader's
//! assignment is handed out (SyncGroup), heartbeats keep sessions alive, and a join, a leave or an
//! expired session starts a rebalance. Member metadata and assignments are opaque bytes passed
//! through, so range, roundrobin and cooperative-sticky assignors work as the clients expect.
//!
//! States as in Kafka: Empty → PreparingRebalance (waiting for every member to rejoin, at most the
//! longest rebalance timeout) → CompletingRebalance (waiting for the leader's SyncGroup) → Stable.
//! Handlers that wait poll the state; [`Coordinator::tick`] expires sessions and finishes
//! rebalances nobody is waiting on. Committed offsets are not kept here but in the data directory.
//!
//! For groups of the "consumer" protocol type it also tells which topics the members subscribe to
//! and which partitions they may be reading at this moment ([`Coordinator::usage`]), so the
//! group's stand-in member in the data directory (`proxy.rs`) knows what it may let go.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::consumer_protocol::{self, Subscription};

/// A group's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl State {
    pub(crate) fn name(self) -> &'static str {
        match self {
            State::Empty => "Empty",
            State::PreparingRebalance => "PreparingRebalance",
            State::CompletingRebalance => "CompletingRebalance",
            State::Stable => "Stable",
        }
    }
}

/// One member as the coordinator knows it.
#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub(crate) id: String,
    pub(crate) client_id: String,
    pub(crate) host: String,
    pub(crate) protocols: Vec<(String, Bytes)>,
    pub(crate) assignment: Bytes,
    /// Its subscription (the "consumer" protocol type only), from its last JoinGroup.
    subscription: Subscription,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    last_seen: Instant,
    /// Joined in the rebalance under way and waiting for its JoinGroup answer.
    awaiting_join: bool,
    /// The answer to its JoinGroup, kept from the moment the join phase ended until it is taken.
    answer: Option<Joined>,
}

/// One group.
#[derive(Debug)]
pub(crate) struct Group {
    /// Its name, for the log.
    name: String,
    pub(crate) state: State,
    pub(crate) generation: i32,
    pub(crate) protocol_type: String,
    pub(crate) protocol: Option<String>,
    pub(crate) leader: Option<String>,
    pub(crate) members: BTreeMap<String, Member>,
    rebalance_deadline: Instant,
}

/// What a member asks for when it joins.
pub(crate) struct Join {
    pub(crate) member_id: String,
    pub(crate) client_id: String,
    pub(crate) host: String,
    pub(crate) session_timeout: Duration,
    pub(crate) rebalance_timeout: Duration,
    pub(crate) protocol_type: String,
    pub(crate) protocols: Vec<(String, Bytes)>,
}

/// A finished join, as JoinGroup answers it.
#[derive(Clone, Debug)]
pub(crate) struct Joined {
    pub(crate) generation: i32,
    pub(crate) protocol: String,
    pub(crate) protocol_type: String,
    pub(crate) leader: String,
    pub(crate) member_id: String,
    /// The members and their metadata for the chosen protocol: only for the leader.
    pub(crate) members: Vec<(String, Bytes)>,
}

/// What a consumer group's members read: the topics they subscribe to and the partitions any of
/// them may be reading now (the assignments they hold, or the partitions a cooperative member
/// keeps while it rejoins).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Stable: every member has its assignment of the current generation.
    pub(crate) stable: bool,
    pub(crate) topics: BTreeSet<String>,
    pub(crate) held: BTreeSet<(String, i32)>,
}

/// The protocol type whose metadata and assignments this server reads.
pub(crate) const CONSUMER: &str = "consumer";

/// Protocol errors the coordinator answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GroupError {
    UnknownMember,
    IllegalGeneration,
    RebalanceInProgress,
    InconsistentProtocol,
}

/// Every group of this server.
#[derive(Default)]
pub(crate) struct Coordinator {
    groups: Mutex<HashMap<String, Group>>,
    seq: AtomicU64,
}

/// How often waiting handlers look at their group again.
pub(crate) const POLL: Duration = Duration::from_millis(10);

impl Group {
    fn new(name: &str) -> Group {
        Group {
            name: name.to_string(),
            state: State::Empty,
            generation: 0,
            protocol_type: String::new(),
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            rebalance_deadline: Instant::now(),
        }
    }

    /// Starts a rebalance: every member has to join again (`why` goes to the log).
    fn prepare(&mut self, now: Instant, why: &str) {
        if self.state != State::PreparingRebalance {
            tracing::info!(
                "group `{}`: rebalancing from generation {} ({why}); {} member(s) to join again",
                self.name,
                self.generation,
                self.members.len()
            );
            self.state = State::PreparingRebalance;
            let longest = self.members.values().map(|m| m.rebalance_timeout).max().unwrap_or_default();
            self.rebalance_deadline = now + longest;
            for m in self.members.values_mut() {
                m.awaiting_join = false;
            }
        }
    }

    /// Finishes the join phase once every member rejoined or the deadline passed.
    fn maybe_complete(&mut self, now: Instant) {
        if self.state != State::PreparingRebalance {
            return;
        }
        let all = self.members.values().all(|m| m.awaiting_join);
        if !all && now < self.rebalance_deadline {
            return;
        }
        let before = self.members.len();
        self.members.retain(|_, m| m.awaiting_join);
        self.generation += 1;
        if self.members.len() < before {
            tracing::info!(
                "group `{}`: {} member(s) did not join again before the rebalance timeout; left out",
                self.name,
                before - self.members.len()
            );
        }
        if self.members.is_empty() {
            self.state = State::Empty;
            self.protocol = None;
            self.leader = None;
            return;
        }
        if !self.leader.as_ref().is_some_and(|l| self.members.contains_key(l)) {
            self.leader = self.members.keys().next().cloned();
        }
        self.protocol = self.choose_protocol();
        self.state = State::CompletingRebalance;
        tracing::info!(
            "group `{}`: generation {} with {} member(s), leader {}",
            self.name,
            self.generation,
            self.members.len(),
            self.leader.as_deref().unwrap_or("")
        );
        let protocol = self.protocol.clone().unwrap_or_default();
        let leader = self.leader.clone().unwrap_or_default();
        let everyone: Vec<(String, Bytes)> = self
            .members
            .values()
            .map(|m| {
                let meta = m.protocols.iter().find(|(n, _)| *n == protocol).map(|(_, b)| b.clone());
                (m.id.clone(), meta.unwrap_or_default())
            })
            .collect();
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
            m.last_seen = now;
            m.awaiting_join = false;
            m.answer = Some(Joined {
                generation: self.generation,
                protocol: protocol.clone(),
                protocol_type: self.protocol_type.clone(),
                leader: leader.clone(),
                member_id: m.id.clone(),
                members: if m.id == leader { everyone.clone() } else { Vec::new() },
            });
        }
    }

    /// The leader's first protocol that every member supports.
    fn choose_protocol(&self) -> Option<String> {
        let leader = self.members.get(self.leader.as_ref()?)?;
        leader
            .protocols
            .iter()
            .map(|(name, _)| name)
            .find(|name| self.members.values().all(|m| m.protocols.iter().any(|(n, _)| n == *name)))
            .cloned()
    }

    fn usage(&self) -> Option<Usage> {
        if self.protocol_type != CONSUMER || self.members.is_empty() {
            return None;
        }
        let mut u = Usage { stable: self.state == State::Stable, ..Usage::default() };
        for m in self.members.values() {
            u.topics.extend(m.subscription.topics.iter().cloned());
            u.held.extend(m.subscription.owned.iter().cloned());
            // a member that rejoined let go of its assignment (eager) or kept what `owned` says;
            // stored assignments decode (SyncGroup hands out only checked ones)
            if !m.awaiting_join {
                u.held.extend(consumer_protocol::assigned(&m.assignment).unwrap_or_default());
            }
        }
        Some(u)
    }

    fn remove(&mut self, member: &str, now: Instant) {
        if self.members.remove(member).is_some() {
            if self.members.is_empty() && self.state != State::PreparingRebalance {
                self.state = State::Empty;
                self.generation += 1;
                self.leader = None;
                self.protocol = None;
            } else {
                self.prepare(now, &format!("{member} left"));
                self.maybe_complete(now);
            }
        }
    }
}

impl Coordinator {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Group>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a join and starts (or joins) the rebalance; returns the member id to wait with.
    pub(crate) fn join(&self, group: &str, join: Join) -> Result<String, GroupError> {
        let now = Instant::now();
        let mut groups = self.lock();
        let g = groups.entry(group.to_string()).or_insert_with(|| Group::new(group));
        if !g.members.is_empty() && g.protocol_type != join.protocol_type {
            return Err(GroupError::InconsistentProtocol);
        }
        let id = if join.member_id.is_empty() {
            let n = self.seq.fetch_add(1, Ordering::Relaxed);
            format!("{}-{:x}-{n}", if join.client_id.is_empty() { "member" } else { &join.client_id }, now_ms())
        } else if g.members.contains_key(&join.member_id) {
            join.member_id.clone()
        } else {
            return Err(GroupError::UnknownMember);
        };
        let mut subscription = Subscription::default();
        if join.protocol_type == CONSUMER {
            for sub in join.protocols.iter().filter_map(|(_, meta)| consumer_protocol::subscription(meta)) {
                subscription.topics.extend(sub.topics);
                subscription.owned.extend(sub.owned);
            }
        }
        g.protocol_type = join.protocol_type.clone();
        g.prepare(now, if join.member_id.is_empty() { "a new member joins" } else { "a member joins again" });
        g.rebalance_deadline = g.rebalance_deadline.max(now + join.rebalance_timeout);
        g.members.insert(
            id.clone(),
            Member {
                id: id.clone(),
                client_id: join.client_id,
                host: join.host,
                protocols: join.protocols,
                assignment: Bytes::new(),
                subscription,
                session_timeout: join.session_timeout,
                rebalance_timeout: join.rebalance_timeout,
                last_seen: now,
                awaiting_join: true,
                answer: None,
            },
        );
        g.maybe_complete(now);
        Ok(id)
    }

    /// Polled by a waiting JoinGroup: `Some` once the join phase is over for `member`.
    pub(crate) fn join_result(&self, group: &str, member: &str) -> Option<Result<Joined, GroupError>> {
        let now = Instant::now();
        let mut groups = self.lock();
        let Some(g) = groups.get_mut(group) else { return Some(Err(GroupError::UnknownMember)) };
        g.maybe_complete(now);
        let Some(m) = g.members.get_mut(member) else { return Some(Err(GroupError::UnknownMember)) };
        m.last_seen = now;
        if let Some(answer) = m.answer.take() {
            return Some(Ok(answer));
        }
        if m.awaiting_join {
            return None;
        }
        Some(Err(GroupError::RebalanceInProgress))
    }

    /// Checks a member and its generation (SyncGroup, Heartbeat, OffsetCommit).
    fn member_of<'a>(
        groups: &'a mut HashMap<String, Group>,
        group: &str,
        member: &str,
        generation: i32,
    ) -> Result<&'a mut Group, GroupError> {
        let g = groups.get_mut(group).ok_or(GroupError::UnknownMember)?;
        if !g.members.contains_key(member) {
            return Err(GroupError::UnknownMember);
        }
        if generation != g.generation {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(g)
    }

    /// A SyncGroup: the leader's assignments are stored (the group becomes Stable); `Ok(true)` when
    /// this call stored them.
    pub(crate) fn sync(
        &self,
        group: &str,
        member: &str,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
    ) -> Result<bool, GroupError> {
        let now = Instant::now();
        let mut groups = self.lock();
        let g = Self::member_of(&mut groups, group, member, generation)?;
        if g.state == State::PreparingRebalance {
            return Err(GroupError::RebalanceInProgress);
        }
        if let Some(m) = g.members.get_mut(member) {
            m.last_seen = now;
        }
        if g.state == State::CompletingRebalance && g.leader.as_deref() == Some(member) {
            for (id, a) in assignments {
                if let Some(m) = g.members.get_mut(&id) {
                    m.assignment = a;
                }
            }
            g.state = State::Stable;
            return Ok(true);
        }
        Ok(false)
    }

    /// Polled by a waiting SyncGroup: `Some` with the member's assignment once the group is Stable.
    pub(crate) fn sync_result(&self, group: &str, member: &str, generation: i32) -> Option<Result<Bytes, GroupError>> {
        let mut groups = self.lock();
        let g = match Self::member_of(&mut groups, group, member, generation) {
            Ok(g) => g,
            Err(GroupError::IllegalGeneration) => return Some(Err(GroupError::RebalanceInProgress)),
            Err(e) => return Some(Err(e)),
        };
        match g.state {
            State::Stable => Some(Ok(g.members.get(member).map(|m| m.assignment.clone()).unwrap_or_default())),
            State::CompletingRebalance => None,
            _ => Some(Err(GroupError::RebalanceInProgress)),
        }
    }

    /// A Heartbeat: keeps the session; says when the member must rejoin.
    pub(crate) fn heartbeat(&self, group: &str, member: &str, generation: i32) -> Result<(), GroupError> {
        let now = Instant::now();
        let mut groups = self.lock();
        let g = groups.get_mut(group).ok_or(GroupError::UnknownMember)?;
        let m = g.members.get_mut(member).ok_or(GroupError::UnknownMember)?;
        m.last_seen = now;
        if g.state == State::PreparingRebalance {
            return Err(GroupError::RebalanceInProgress);
        }
        if generation != g.generation {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(())
    }

    /// A LeaveGroup: the member goes, the rest rebalance.
    pub(crate) fn leave(&self, group: &str, member: &str) -> Result<(), GroupError> {
        let mut groups = self.lock();
        let g = groups.get_mut(group).ok_or(GroupError::UnknownMember)?;
        if !g.members.contains_key(member) {
            return Err(GroupError::UnknownMember);
        }
        g.remove(member, Instant::now());
        Ok(())
    }

    /// Whether an OffsetCommit from `member` of `generation` may commit (-1 and "" commit outside
    /// any membership, as simple consumers do).
    pub(crate) fn may_commit(&self, group: &str, member: &str, generation: i32) -> Result<(), GroupError> {
        if generation < 0 && member.is_empty() {
            return Ok(());
        }
        let mut groups = self.lock();
        let g = Self::member_of(&mut groups, group, member, generation)?;
        if g.state == State::CompletingRebalance {
            return Err(GroupError::RebalanceInProgress);
        }
        Ok(())
    }

    /// Expires members whose session ran out and finishes rebalances whose deadline passed.
    pub(crate) fn tick(&self) {
        let now = Instant::now();
        let mut groups = self.lock();
        for (name, g) in groups.iter_mut() {
            let expired: Vec<String> = g
                .members
                .values()
                .filter(|m| now.duration_since(m.last_seen) > m.session_timeout)
                .filter(|m| !m.awaiting_join)
                .map(|m| m.id.clone())
                .collect();
            for id in expired {
                tracing::info!("group `{name}`: member {id} missed its session timeout; rebalancing");
                g.remove(&id, now);
            }
            g.maybe_complete(now);
        }
    }

    /// What the members of each group of the "consumer" protocol type read (groups without members
    /// are left out).
    pub(crate) fn usage(&self) -> HashMap<String, Usage> {
        let groups = self.lock();
        groups.iter().filter_map(|(name, g)| Some((name.clone(), g.usage()?))).collect()
    }

    /// [`usage`](Self::usage) of one group.
    pub(crate) fn usage_of(&self, group: &str) -> Option<Usage> {
        self.lock().get(group)?.usage()
    }

    /// Starts a rebalance of a Stable group (its members are told to rejoin by their next
    /// Heartbeat); `false` when it is not Stable.
    pub(crate) fn rebalance(&self, group: &str) -> bool {
        let mut groups = self.lock();
        match groups.get_mut(group) {
            Some(g) if g.state == State::Stable => {
                g.prepare(Instant::now(), "flowc's members beside it changed");
                true
            }
            _ => false,
        }
    }

    /// A snapshot of one group: state, protocol type and name, members.
    pub(crate) fn describe(&self, group: &str) -> Option<(State, String, String, Vec<Member>)> {
        let groups = self.lock();
        let g = groups.get(group)?;
        Some((
            g.state,
            g.protocol_type.clone(),
            g.protocol.clone().unwrap_or_default(),
            g.members.values().cloned().collect(),
        ))
    }

    /// Every group's name, state and protocol type.
    pub(crate) fn list(&self) -> Vec<(String, State, String)> {
        self.lock().iter().map(|(n, g)| (n.clone(), g.state, g.protocol_type.clone())).collect()
    }
}

fn now_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(id: &str) -> Join {
        Join {
            member_id: id.to_string(),
            client_id: "c".into(),
            host: "/127.0.0.1".into(),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(10),
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), Bytes::from_static(b"meta"))],
        }
    }

    #[test]
    fn join_sync_second_member_rebalances_and_leave() {
        let c = Coordinator::default();
        let a = c.join("g", join("")).unwrap();
        let ja = c.join_result("g", &a).unwrap().unwrap();
        assert_eq!((ja.generation, ja.leader.as_str(), ja.members.len()), (1, a.as_str(), 1));
        c.sync("g", &a, 1, vec![(a.clone(), Bytes::from_static(b"all"))]).unwrap();
        assert_eq!(c.sync_result("g", &a, 1).unwrap().unwrap(), Bytes::from_static(b"all"));
        // a second member: the first must rejoin before anyone gets an answer
        let b = c.join("g", join("")).unwrap();
        assert!(c.join_result("g", &b).is_none());
        assert_eq!(c.heartbeat("g", &a, 1), Err(GroupError::RebalanceInProgress));
        c.join("g", join(&a)).unwrap();
        let jb = c.join_result("g", &b).unwrap().unwrap();
        let ja = c.join_result("g", &a).unwrap().unwrap();
        assert_eq!((ja.generation, jb.generation), (2, 2));
        assert_eq!(ja.leader, a, "the leader stays");
        assert_eq!(ja.members.len(), 2);
        assert!(jb.members.is_empty());
        assert!(c.sync_result("g", &b, 2).is_none(), "waits for the leader");
        c.sync("g", &a, 2, vec![(a.clone(), Bytes::from_static(b"0")), (b.clone(), Bytes::from_static(b"1"))]).unwrap();
        assert_eq!(c.sync_result("g", &b, 2).unwrap().unwrap(), Bytes::from_static(b"1"));
        assert_eq!(c.heartbeat("g", &b, 1), Err(GroupError::IllegalGeneration));
        // b leaves: a is told to rejoin and then gets generation 3 alone
        c.leave("g", &b).unwrap();
        assert_eq!(c.heartbeat("g", &a, 2), Err(GroupError::RebalanceInProgress));
        c.join("g", join(&a)).unwrap();
        assert_eq!(c.join_result("g", &a).unwrap().unwrap().generation, 3);
        assert_eq!(c.join("g", join("nobody")).err(), Some(GroupError::UnknownMember));
    }

    #[test]
    fn an_expired_session_rebalances_without_it() {
        let c = Coordinator::default();
        let mut short = join("");
        short.session_timeout = Duration::from_millis(1);
        short.rebalance_timeout = Duration::from_millis(1);
        let a = c.join("g", short).unwrap();
        c.join_result("g", &a).unwrap().unwrap();
        std::thread::sleep(Duration::from_millis(5));
        c.tick();
        assert_eq!(c.describe("g").unwrap().0, State::Empty);
        assert_eq!(c.heartbeat("g", &a, 1), Err(GroupError::UnknownMember));
    }
}
