//! OffsetCommit and OffsetFetch on the data directory's committed offsets — the same files
//! `flowc groups describe`, `flowc consume --group` and a pipeline's `group "G"` use, so a group is
//! one group whichever side commits. A commit to a partition the group's stand-in member owns for
//! its Kafka members (`proxy.rs`) is written through it. Commit metadata strings are not kept.

use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::offset_fetch_response::{OffsetFetchResponsePartition, OffsetFetchResponseTopic};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::groups::error;
use super::{blocking, s};
use crate::broker::Shared;

pub(crate) async fn commit(broker: &Shared, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let group = req.group_id.0.to_string();
    let verdict = broker.groups.may_commit(&group, &req.member_id, req.generation_id_or_member_epoch);
    let b = broker.clone();
    let topics = blocking(move || {
        req.topics
            .into_iter()
            .map(|t| {
                let topic = t.name.0.to_string();
                let mut tr = OffsetCommitResponseTopic::default();
                tr.name = t.name;
                tr.partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let mut pr = OffsetCommitResponsePartition::default();
                        pr.partition_index = p.partition_index;
                        let code = match verdict {
                            Err(e) => error(e),
                            Ok(()) => commit_one(&b, &group, &topic, p.partition_index, p.committed_offset),
                        };
                        pr.error_code = code.code();
                        pr
                    })
                    .collect();
                tr
            })
            .collect()
    })
    .await
    .unwrap_or_else(|e| {
        tracing::error!("offset commit: {e}");
        Vec::new()
    });
    let mut r = OffsetCommitResponse::default();
    r.topics = topics;
    r
}

/// `ResponseError::Unknown(0)` is success.
fn commit_one(broker: &Shared, group: &str, topic: &str, partition: i32, offset: i64) -> ResponseError {
    if partition < 0 || offset < 0 {
        return ResponseError::InvalidCommitOffsetSize;
    }
    let through_proxy = broker.proxies.commit(group, topic, partition as u32, offset as u64);
    let result = match through_proxy {
        Some(r) => r.map(|()| true),
        None => broker.log.commit_group_offset(group, topic, partition as u32, offset as u64),
    };
    match result {
        Ok(true) => ResponseError::Unknown(0),
        Ok(false) => {
            tracing::warn!(
                "offset commit of group `{group}` for {topic}/{partition} refused: a flowc member of the group consumes it"
            );
            ResponseError::RebalanceInProgress
        }
        Err(flowc_runtime::log::Error::Invalid(m)) => {
            tracing::warn!("offset commit of group `{group}`: {m}");
            ResponseError::InvalidGroupId
        }
        Err(e) => {
            tracing::error!("offset commit of group `{group}` for {topic}/{partition}: {e}");
            ResponseError::KafkaStorageError
        }
    }
}

pub(crate) async fn fetch(broker: &Shared, req: OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
    let group = req.group_id.0.to_string();
    let b = broker.clone();
    let result = blocking(move || {
        let wanted: Vec<(TopicName, Vec<i32>)> = match req.topics {
            Some(t) => t.into_iter().map(|t| (t.name, t.partition_indexes)).collect(),
            None => match b.log.describe_group(&group) {
                Ok(info) => {
                    let mut out: Vec<(TopicName, Vec<i32>)> = Vec::new();
                    for p in info.partitions {
                        let c = p.committed;
                        match out.iter_mut().find(|(n, _)| n.0.as_str() == c.topic) {
                            Some((_, ps)) => ps.push(c.partition as i32),
                            None => out.push((TopicName(s(c.topic)), vec![c.partition as i32])),
                        }
                    }
                    out
                }
                Err(_) => Vec::new(),
            },
        };
        wanted
            .into_iter()
            .map(|(name, partitions)| {
                let topic = name.0.to_string();
                let mut tr = OffsetFetchResponseTopic::default();
                tr.name = name;
                tr.partitions = partitions
                    .into_iter()
                    .map(|p| {
                        let mut pr = OffsetFetchResponsePartition::default();
                        pr.partition_index = p;
                        pr.metadata = Some(s(""));
                        pr.committed_offset = -1;
                        if p >= 0 {
                            match b.log.group_offset(&group, &topic, p as u32) {
                                Ok(Some(o)) => pr.committed_offset = o as i64,
                                Ok(None) => {}
                                Err(flowc_runtime::log::Error::Invalid(_)) => {}
                                Err(e) => {
                                    tracing::error!("offset fetch of group `{group}` for {topic}/{p}: {e}");
                                    pr.error_code = ResponseError::KafkaStorageError.code();
                                }
                            }
                        }
                        pr
                    })
                    .collect();
                tr
            })
            .collect::<Vec<_>>()
    })
    .await;
    let mut r = OffsetFetchResponse::default();
    match result {
        Ok(topics) => r.topics = topics,
        Err(e) => {
            tracing::error!("offset fetch: {e}");
            if version >= 2 {
                r.error_code = ResponseError::UnknownServerError.code();
            }
        }
    }
    r
}
