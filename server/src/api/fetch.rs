//! Fetch: stored batches sent as they lie on disk, within max_bytes and each partition's
//! max_bytes (but always one batch when nothing else fits), waiting up to max_wait_ms for
//! min_bytes — except right after a fetch that returned records, when an empty answer goes out at
//! once so a consumer learns it reached the end; readers stay open on the connection.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use flowc_runtime::log::PartitionReader;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};
use kafka_protocol::ResponseError;

use super::{blocking, Session};
use crate::broker::Shared;

/// The open readers of a connection, by topic and partition.
pub(crate) type Readers = HashMap<(String, u32), PartitionReader>;

/// How often a long poll looks for appends made by other processes (ours wake it at once).
const POLL: Duration = Duration::from_millis(20);

struct Part {
    topic: usize,
    partition: i32,
    next: u64,
    max_bytes: usize,
    data: Vec<u8>,
    error: Option<ResponseError>,
    start: i64,
    end: i64,
}

pub(crate) async fn handle(broker: &Shared, session: &mut Session, req: FetchRequest, version: i16) -> FetchResponse {
    let deadline = Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
    let min_bytes = req.min_bytes.max(0) as usize;
    let max_bytes = if req.max_bytes <= 0 || version < 3 { usize::MAX } else { req.max_bytes as usize };
    let names: Vec<TopicName> = req.topics.iter().map(|t| t.topic.clone()).collect();
    let mut parts: Vec<Part> = Vec::new();
    for (i, t) in req.topics.iter().enumerate() {
        for p in &t.partitions {
            parts.push(Part {
                topic: i,
                partition: p.partition,
                next: p.fetch_offset.max(0) as u64,
                max_bytes: p.partition_max_bytes.max(0) as usize,
                data: Vec::new(),
                error: None,
                start: -1,
                end: -1,
            });
        }
    }
    let mut first = true;
    loop {
        let b = broker.clone();
        let topics: Vec<String> = names.iter().map(|n| n.0.to_string()).collect();
        let mut readers = std::mem::take(&mut session.readers);
        let check = first;
        let result = blocking(move || {
            let total = fetch_round(&b, &mut readers, &topics, &mut parts, max_bytes, check);
            (readers, parts, total)
        })
        .await;
        let total;
        (session.readers, parts, total) = match result {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("fetch: {e}");
                return FetchResponse::default();
            }
        };
        let caught_up = first && session.fetched_data;
        first = false;
        let now = Instant::now();
        if total >= min_bytes.max(1) || now >= deadline || parts.iter().all(|p| p.error.is_some()) {
            break;
        }
        if caught_up && total == 0 {
            // the consumer has just read up to the end: say so at once (clients learn they reached
            // the end of the partitions from this answer), and long-poll from the next fetch on
            break;
        }
        broker.wait_append(POLL.min(deadline - now)).await;
    }
    session.fetched_data = parts.iter().any(|p| !p.data.is_empty());
    respond(names, parts, version)
}

/// One pass over the partitions; the bytes collected so far in all of them.
fn fetch_round(
    broker: &Shared,
    readers: &mut Readers,
    topics: &[String],
    parts: &mut [Part],
    max_bytes: usize,
    first: bool,
) -> usize {
    let mut total: usize = parts.iter().map(|p| p.data.len()).sum();
    for part in parts.iter_mut() {
        if part.error.is_some() {
            continue;
        }
        let topic = &topics[part.topic];
        if part.partition < 0 {
            part.error = Some(ResponseError::UnknownTopicOrPartition);
            continue;
        }
        let p = part.partition as u32;
        let (start, end) = match broker.offsets(topic, p) {
            Ok(o) => o,
            Err(_) => {
                part.error = Some(ResponseError::UnknownTopicOrPartition);
                continue;
            }
        };
        (part.start, part.end) = (start as i64, end as i64);
        if first && (part.next < start || part.next > end) {
            part.error = Some(ResponseError::OffsetOutOfRange);
            continue;
        }
        if part.next >= end {
            continue;
        }
        let budget = part.max_bytes.saturating_sub(part.data.len()).min(max_bytes.saturating_sub(total));
        if budget == 0 && total > 0 {
            continue;
        }
        let key = (topic.clone(), p);
        let reader = match readers.get_mut(&key) {
            Some(r) if r.position() == part.next => r,
            _ => match broker.log.reader(topic, p, part.next) {
                Ok(r) => readers.entry(key).insert_entry(r).into_mut(),
                Err(e) => {
                    tracing::error!("fetch from {topic}/{p}: {e}");
                    part.error = Some(ResponseError::KafkaStorageError);
                    continue;
                }
            },
        };
        let batches = match reader.read(budget.max(1)) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!("fetch from {topic}/{p}: {e}");
                part.error = Some(ResponseError::KafkaStorageError);
                continue;
            }
        };
        for batch in &batches {
            let bytes = batch.as_bytes();
            let fits = part.data.len() + bytes.len() <= part.max_bytes && total + bytes.len() <= max_bytes;
            if !fits && total > 0 {
                break;
            }
            part.data.extend_from_slice(bytes);
            total += bytes.len();
            part.next = batch.header().next_offset();
        }
        if reader.position() != part.next {
            // read past what fits: the next fetch reopens at the right place
            readers.remove(&(topic.clone(), p));
        }
    }
    total
}

fn respond(names: Vec<TopicName>, parts: Vec<Part>, version: i16) -> FetchResponse {
    let mut topics: Vec<FetchableTopicResponse> = names
        .into_iter()
        .map(|n| {
            let mut t = FetchableTopicResponse::default();
            t.topic = n;
            t
        })
        .collect();
    for part in parts {
        let mut pd = PartitionData::default();
        pd.partition_index = part.partition;
        pd.high_watermark = part.end;
        if version >= 4 {
            pd.last_stable_offset = part.end;
            pd.aborted_transactions = Some(Vec::new());
        }
        if version >= 5 {
            pd.log_start_offset = part.start;
        }
        if let Some(e) = part.error {
            pd.error_code = e.code();
        }
        pd.records = Some(Bytes::from(part.data));
        topics[part.topic].partitions.push(pd);
    }
    let mut r = FetchResponse::default();
    r.responses = topics;
    r
}
