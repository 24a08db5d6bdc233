//! ListOffsets: earliest (-2), latest (-1) and the first offset at or after a timestamp (through the
//! time index); -3 (the largest timestamp) is answered with the latest offset.

use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::ResponseError;

use super::blocking;
use crate::broker::Shared;

pub(crate) async fn handle(broker: &Shared, req: ListOffsetsRequest, _version: i16) -> ListOffsetsResponse {
    let b = broker.clone();
    let topics = blocking(move || {
        req.topics
            .into_iter()
            .map(|t| {
                let name = t.name.0.to_string();
                let mut tr = ListOffsetsTopicResponse::default();
                tr.name = t.name;
                tr.partitions = t.partitions.iter().map(|p| one(&b, &name, p.partition_index, p.timestamp)).collect();
                tr
            })
            .collect()
    })
    .await
    .unwrap_or_else(|e| {
        tracing::error!("list offsets: {e}");
        Vec::new()
    });
    let mut r = ListOffsetsResponse::default();
    r.topics = topics;
    r
}

fn one(broker: &Shared, topic: &str, partition: i32, timestamp: i64) -> ListOffsetsPartitionResponse {
    let mut r = ListOffsetsPartitionResponse::default();
    r.partition_index = partition;
    let offsets = if partition < 0 { Err(String::new()) } else { broker.offsets(topic, partition as u32) };
    let Ok((start, end)) = offsets else {
        r.error_code = ResponseError::UnknownTopicOrPartition.code();
        return r;
    };
    r.timestamp = -1;
    r.offset = match timestamp {
        -2 => start as i64,
        -1 | -3 => end as i64,
        ts => match broker.log.offset_for_timestamp(topic, partition as u32, ts) {
            Ok(Some(o)) => {
                r.timestamp = ts;
                o as i64
            }
            Ok(None) => -1,
            Err(e) => {
                tracing::error!("list offsets of {topic}/{partition}: {e}");
                r.error_code = ResponseError::KafkaStorageError.code();
                -1
            }
        },
    };
    r
}
