//! One handler per API; `handle` dispatches a decoded request to it.

mod admin;
mod api_versions;
mod fetch;
mod groups;
mod list_offsets;
mod metadata;
mod offsets;
mod produce;
mod producer_id;

use kafka_protocol::messages::{RequestKind, ResponseKind};
use kafka_protocol::protocol::StrBytes;

pub(crate) use api_versions::fallback as api_versions_fallback;
pub(crate) use fetch::Readers;

use crate::broker::Shared;
use crate::frame::Request;

/// A connection's own state: who it is, and the readers its fetches keep open between requests.
#[derive(Default)]
pub(crate) struct Session {
    pub(crate) readers: Readers,
    pub(crate) peer_ip: String,
    pub(crate) client_id: String,
    /// The last Fetch on this connection returned records: a consumer that has just caught up.
    pub(crate) fetched_data: bool,
}

/// The response to `req`, or `None` when none is sent (Produce with acks=0). `Err` names a request
/// this server does not answer (the connection is then closed).
pub(crate) async fn handle(
    broker: &Shared,
    session: &mut Session,
    req: Request,
) -> Result<Option<ResponseKind>, String> {
    let v = req.header.request_api_version;
    if let Some(id) = &req.header.client_id {
        if session.client_id != id.as_str() {
            session.client_id = id.to_string();
        }
    }
    Ok(Some(match req.body {
        RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(api_versions::handle()),
        RequestKind::Metadata(r) => ResponseKind::Metadata(metadata::handle(broker, r, v).await),
        RequestKind::Produce(r) => match produce::handle(broker, r, v).await {
            Some(resp) => ResponseKind::Produce(resp),
            None => return Ok(None),
        },
        RequestKind::Fetch(r) => ResponseKind::Fetch(fetch::handle(broker, session, r, v).await),
        RequestKind::ListOffsets(r) => ResponseKind::ListOffsets(list_offsets::handle(broker, r, v).await),
        RequestKind::InitProducerId(r) => ResponseKind::InitProducerId(producer_id::handle(broker, r)),
        RequestKind::FindCoordinator(r) => ResponseKind::FindCoordinator(groups::find_coordinator(broker, r, v)),
        RequestKind::JoinGroup(r) => ResponseKind::JoinGroup(groups::join(broker, session, r, v).await),
        RequestKind::SyncGroup(r) => ResponseKind::SyncGroup(groups::sync(broker, r, v).await),
        RequestKind::Heartbeat(r) => ResponseKind::Heartbeat(groups::heartbeat(broker, r)),
        RequestKind::LeaveGroup(r) => ResponseKind::LeaveGroup(groups::leave(broker, r, v)),
        RequestKind::ListGroups(_) => ResponseKind::ListGroups(groups::list(broker, v)),
        RequestKind::DescribeGroups(r) => ResponseKind::DescribeGroups(groups::describe(broker, r)),
        RequestKind::OffsetCommit(r) => ResponseKind::OffsetCommit(offsets::commit(broker, r).await),
        RequestKind::CreateTopics(r) => ResponseKind::CreateTopics(admin::create_topics(broker, r, v).await),
        RequestKind::DeleteTopics(r) => ResponseKind::DeleteTopics(admin::delete_topics(broker, r, v).await),
        RequestKind::CreatePartitions(r) => ResponseKind::CreatePartitions(admin::create_partitions(broker, r).await),
        RequestKind::DescribeConfigs(r) => ResponseKind::DescribeConfigs(admin::describe_configs(broker, r, v).await),
        RequestKind::OffsetFetch(r) => ResponseKind::OffsetFetch(offsets::fetch(broker, r, v).await),
        _ => return Err(format!("{:?} is decoded but not served", req.api_key)),
    }))
}

/// A string for a response field.
pub(crate) fn s(text: impl Into<String>) -> StrBytes {
    StrBytes::from_string(text.into())
}

/// Runs blocking log I/O off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f).await.map_err(|e| format!("a log task failed: {e}"))
}
