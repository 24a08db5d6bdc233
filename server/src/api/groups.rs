//! FindCoordinator (this node), JoinGroup, SyncGroup, Heartbeat, LeaveGroup, ListGroups and
//! DescribeGroups over the coordinator in `groups.rs`; groups with only committed offsets in the
//! data directory (`flowc consume --group`, a pipeline's `group "G"`) are listed and described too.
//! A consumer group's joins and syncs go by its stand-ins in the data directory (`proxy.rs`), so
//! its Kafka members read only the partitions flowc's own members of the group leave to them.

use std::time::{Duration, Instant};

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::metadata::NODE_ID;
use super::{blocking, s, Session};
use crate::broker::Shared;
use crate::groups::{GroupError, Join, POLL};

pub(crate) fn error(e: GroupError) -> ResponseError {
    match e {
        GroupError::UnknownMember => ResponseError::UnknownMemberId,
        GroupError::IllegalGeneration => ResponseError::IllegalGeneration,
        GroupError::RebalanceInProgress => ResponseError::RebalanceInProgress,
        GroupError::InconsistentProtocol => ResponseError::InconsistentGroupProtocol,
    }
}

pub(crate) fn find_coordinator(broker: &Shared, req: FindCoordinatorRequest, version: i16) -> FindCoordinatorResponse {
    let mut r = FindCoordinatorResponse::default();
    if req.key_type != 0 {
        // transaction coordinators: transactions are not served
        r.error_code = ResponseError::CoordinatorNotAvailable.code();
        r.node_id = BrokerId(-1);
        r.host = s("");
        r.port = -1;
        if version >= 1 {
            r.error_message = Some(s("transactions are not supported by flowc serve"));
        }
        return r;
    }
    r.node_id = BrokerId(NODE_ID);
    r.host = s(broker.advertised.0.clone());
    r.port = broker.advertised.1;
    r
}

pub(crate) async fn join(broker: &Shared, session: &Session, req: JoinGroupRequest, version: i16) -> JoinGroupResponse {
    let mut r = JoinGroupResponse::default();
    let group = req.group_id.0.to_string();
    let session_timeout = Duration::from_millis(req.session_timeout_ms.max(1) as u64);
    let rebalance_timeout =
        if version >= 1 { Duration::from_millis(req.rebalance_timeout_ms.max(1) as u64) } else { session_timeout };
    let join = Join {
        member_id: req.member_id.to_string(),
        client_id: session.client_id.clone(),
        host: format!("/{}", session.peer_ip),
        session_timeout,
        rebalance_timeout,
        protocol_type: req.protocol_type.to_string(),
        protocols: req.protocols.into_iter().map(|p| (p.name.to_string(), p.metadata)).collect(),
    };
    let fail = |mut r: JoinGroupResponse, e: ResponseError| {
        r.error_code = e.code();
        r.generation_id = -1;
        r.member_id = req.member_id.clone();
        r
    };
    let member = match broker.groups.join(&group, join) {
        Ok(m) => m,
        Err(e) => return fail(r, error(e)),
    };
    let (b, g) = (broker.clone(), group.clone());
    if let Err(e) = blocking(move || b.proxies.joined(&b.log, &b.groups, &g)).await {
        tracing::error!("group `{group}`: {e}");
    }
    let deadline = Instant::now() + rebalance_timeout + Duration::from_secs(1);
    let joined = loop {
        match broker.groups.join_result(&group, &member) {
            Some(Ok(j)) => break j,
            Some(Err(e)) => return fail(r, error(e)),
            None if Instant::now() >= deadline => return fail(r, ResponseError::RebalanceInProgress),
            None => tokio::time::sleep(POLL).await,
        }
    };
    r.generation_id = joined.generation;
    r.protocol_name = Some(s(joined.protocol));
    if version >= 7 {
        r.protocol_type = Some(s(joined.protocol_type));
    }
    r.leader = s(joined.leader);
    r.member_id = s(joined.member_id);
    r.members = joined
        .members
        .into_iter()
        .map(|(id, meta)| {
            let mut m = JoinGroupResponseMember::default();
            m.member_id = s(id);
            m.metadata = meta;
            m
        })
        .collect();
    r
}

pub(crate) async fn sync(broker: &Shared, req: SyncGroupRequest, version: i16) -> SyncGroupResponse {
    let mut r = SyncGroupResponse::default();
    let group = req.group_id.0.to_string();
    let member = req.member_id.to_string();
    let assignments = req.assignments.into_iter().map(|a| (a.member_id.to_string(), a.assignment)).collect();
    let (b, g, m, generation) = (broker.clone(), group.clone(), member.clone(), req.generation_id);
    let stored = blocking(move || b.proxies.sync(&b.log, &b.groups, &g, &m, generation, assignments)).await;
    match stored {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            r.error_code = error(e).code();
            return r;
        }
        Err(e) => {
            tracing::error!("group `{group}`: {e}");
            r.error_code = ResponseError::UnknownServerError.code();
            return r;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        match broker.groups.sync_result(&group, &member, req.generation_id) {
            Some(Ok(a)) => {
                r.assignment = a;
                break;
            }
            Some(Err(e)) => {
                r.error_code = error(e).code();
                return r;
            }
            None if Instant::now() >= deadline => {
                r.error_code = ResponseError::RebalanceInProgress.code();
                return r;
            }
            None => tokio::time::sleep(POLL).await,
        }
    }
    if version >= 5 {
        if let Some((_, ptype, proto, _)) = broker.groups.describe(&group) {
            r.protocol_type = Some(s(ptype));
            r.protocol_name = Some(s(proto));
        }
    }
    r
}

pub(crate) fn heartbeat(broker: &Shared, req: HeartbeatRequest) -> HeartbeatResponse {
    let mut r = HeartbeatResponse::default();
    if let Err(e) = broker.groups.heartbeat(&req.group_id.0, &req.member_id, req.generation_id) {
        r.error_code = error(e).code();
    }
    r
}

pub(crate) fn leave(broker: &Shared, req: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
    let mut r = LeaveGroupResponse::default();
    let group = req.group_id.0.to_string();
    if version < 3 {
        if let Err(e) = broker.groups.leave(&group, &req.member_id) {
            r.error_code = error(e).code();
        }
        return r;
    }
    for m in req.members {
        let mut mr = MemberResponse::default();
        if let Err(e) = broker.groups.leave(&group, &m.member_id) {
            mr.error_code = error(e).code();
        }
        mr.member_id = m.member_id;
        mr.group_instance_id = m.group_instance_id;
        r.members.push(mr);
    }
    r
}

pub(crate) fn list(broker: &Shared, version: i16) -> ListGroupsResponse {
    let mut r = ListGroupsResponse::default();
    let mut names: Vec<(String, String, String)> = broker
        .groups
        .list()
        .into_iter()
        .map(|(name, state, ptype)| {
            (name, state.name().to_string(), if ptype.is_empty() { "consumer".into() } else { ptype })
        })
        .collect();
    match broker.log.groups() {
        Ok(on_disk) => {
            for g in on_disk {
                if !names.iter().any(|(n, _, _)| *n == g) {
                    names.push((g, "Empty".into(), "consumer".into()));
                }
            }
        }
        Err(e) => tracing::error!("list groups: {e}"),
    }
    names.sort();
    r.groups = names
        .into_iter()
        .map(|(name, state, ptype)| {
            let mut g = ListedGroup::default();
            g.group_id = GroupId(s(name));
            g.protocol_type = s(ptype);
            if version >= 4 {
                g.group_state = s(state);
            }
            g
        })
        .collect();
    r
}

pub(crate) fn describe(broker: &Shared, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let mut r = DescribeGroupsResponse::default();
    for gid in req.groups {
        let mut d = DescribedGroup::default();
        let name = gid.0.to_string();
        d.group_id = gid;
        match broker.groups.describe(&name) {
            Some((state, ptype, proto, members)) => {
                d.group_state = s(state.name());
                d.protocol_type = s(ptype);
                d.protocol_data = s(proto.clone());
                d.members = members
                    .into_iter()
                    .map(|m| {
                        let mut dm = DescribedGroupMember::default();
                        dm.member_metadata =
                            m.protocols.iter().find(|(n, _)| *n == proto).map(|(_, b)| b.clone()).unwrap_or_default();
                        dm.member_id = s(m.id);
                        dm.client_id = s(m.client_id);
                        dm.client_host = s(m.host);
                        dm.member_assignment = m.assignment;
                        dm
                    })
                    .collect();
            }
            None => {
                // known from the data directory only (or not at all): Kafka says Dead for unknown
                let known = broker.log.groups().map(|g| g.contains(&name)).unwrap_or(false);
                d.group_state = s(if known { "Empty" } else { "Dead" });
                d.protocol_type = s(if known { "consumer" } else { "" });
            }
        }
        r.groups.push(d);
    }
    r
}
