//! Fetch: stored batches sent as they lie on disk, within max_bytes and each partition's
//! max_bytes (but always one batch when nothing else fits), waiting up to max_wait_ms for
//! min_bytes — except right after a fetch that returned records, when an empty answer goes out at
//! once so a consumer learns it reached the end; readers stay open on the connection, each used
//! again only while its topic is the one it was opened on.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use flowc_runtime::log::{PartitionReader, TopicId};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};
use kafka_protocol::ResponseError;

use super::{blocking, Session};
use crate::broker::Shared;

/// The open readers of a connection, by topic, then partition (found without allocating a key).
pub(crate) type Readers = HashMap<String, HashMap<u32, PartitionReader>>;

/// How often a long poll looks for appends made by other processes (ours wake it at once).
const POLL: Duration = Duration::from_millis(20);

/// A topic of the request.
struct Topic {
    name: String,
    /// Its id as `topic.json` says this round, read once it is needed (`Some(None)`: it has none,
    /// or it could not be read).
    id: Option<Option<TopicId>>,
}

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
    let mut topics: Vec<Topic> = names.iter().map(|n| Topic { name: n.0.to_string(), id: None }).collect();
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
        let mut readers = std::mem::take(&mut session.readers);
        let check = first;
        let result = blocking(move || {
            let total = fetch_round(&b, &mut readers, &mut topics, &mut parts, max_bytes, check);
            (readers, topics, parts, total)
        })
        .await;
        let total;
        (session.readers, topics, parts, total) = match result {
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

/// Whether `reader`, kept from an earlier round, reads topic `name` as it is now: one deleted and
/// created again has another id, and the reader's files (still open) are the deleted topic's. The
/// id comes from a writer this server holds on the topic (no deletion can happen under it), or is
/// read from `topic.json` once a round, when the topic's first kept reader is about to read (never
/// for partitions at their end); the readers of a topic without one are opened anew in each round
/// that reads.
fn same_topic(broker: &Shared, name: &str, id: &mut Option<Option<TopicId>>, reader: &PartitionReader) -> bool {
    let now = *id.get_or_insert_with(|| broker.log.topic_id(name).ok().flatten());
    now.is_some() && reader.topic_id() == now
}

/// One pass over the partitions; the bytes collected so far in all of them.
fn fetch_round(
    broker: &Shared,
    readers: &mut Readers,
    topics: &mut [Topic],
    parts: &mut [Part],
    max_bytes: usize,
    first: bool,
) -> usize {
    for t in topics.iter_mut() {
        t.id = None; // read again this round, if needed
    }
    let mut total: usize = parts.iter().map(|p| p.data.len()).sum();
    for part in parts.iter_mut() {
        if part.error.is_some() {
            continue;
        }
        let Topic { name: topic, id } = &mut topics[part.topic];
        if part.partition < 0 {
            part.error = Some(ResponseError::UnknownTopicOrPartition);
            continue;
        }
        let p = part.partition as u32;
        let (start, end) = match broker.partition_state(topic, p) {
            Ok(state) => {
                if let Some(known) = state.topic_id {
                    *id = Some(Some(known)); // the held writer's: no need to read topic.json
                }
                (state.start, state.end)
            }
            Err(_) => {
                part.error = Some(ResponseError::UnknownTopicOrPartition);
                forget(readers, topic, p); // deleted, maybe: its files are let go
                continue;
            }
        };
        (part.start, part.end) = (start as i64, end as i64);
        if first && (part.next < start || part.next > end) {
            part.error = Some(ResponseError::OffsetOutOfRange);
            continue;
        }
        if part.next >= end {
            // caught up: its reader stays open for the next fetch but keeps no buffer meanwhile
            if let Some(reader) = readers.get_mut(topic.as_str()).and_then(|kept| kept.get_mut(&p)) {
                reader.release_buffer();
            }
            continue;
        }
        let budget = part.max_bytes.saturating_sub(part.data.len()).min(max_bytes.saturating_sub(total));
        if budget == 0 && total > 0 {
            continue;
        }
        let reader = match readers.get_mut(topic.as_str()).and_then(|kept| kept.get_mut(&p)) {
            Some(r) if r.position() == part.next && same_topic(broker, topic, id, r) => r,
            _ => match broker.log.reader(topic, p, part.next) {
                // (the name is cloned only here, with a reader opened)
                Ok(r) => readers.entry(topic.clone()).or_default().entry(p).insert_entry(r).into_mut(),
                Err(e) => {
                    tracing::error!("fetch from {topic}/{p}: {e}");
                    part.error = Some(ResponseError::KafkaStorageError);
                    forget(readers, topic, p);
                    continue;
                }
            },
        };
        // Room for what may come, so the buffer does not grow by doubling (capped: a client may
        // allow far more per partition than there is).
        part.data.reserve(budget.clamp(1, 4 << 20));
        let (data, max_part) = (&mut part.data, part.max_bytes);
        let mut next = part.next;
        let read = reader.read_with(budget.max(1), |bytes, header| {
            let fits = data.len() + bytes.len() <= max_part && total + bytes.len() <= max_bytes;
            if !fits && total > 0 {
                return false;
            }
            data.extend_from_slice(bytes);
            total += bytes.len();
            next = header.next_offset();
            true
        });
        part.next = next;
        if let Err(e) = read {
            tracing::error!("fetch from {topic}/{p}: {e}");
            part.error = Some(ResponseError::KafkaStorageError);
        }
    }
    total
}

/// Drops the reader of `topic`/`partition`, if one is kept.
fn forget(readers: &mut Readers, topic: &str, partition: u32) {
    if let Some(kept) = readers.get_mut(topic) {
        kept.remove(&partition);
        if kept.is_empty() {
            readers.remove(topic);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::Broker;
    use crate::ServerConfig;
    use flowc_runtime::log::{check_batch, Batch, Check, Log, LogOptions, Record, TopicConfig};
    use std::sync::Arc;

    /// A broker over a fresh data directory whose topic `t` holds `batches` batches of 10 records
    /// of 100 bytes each.
    fn broker_with(dir: &std::path::Path, batches: usize) -> Shared {
        let log = Log::open(dir, LogOptions::default()).unwrap();
        log.create_topic("t", &TopicConfig { partitions: 1, ..TopicConfig::default() }).unwrap();
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.to_path_buf(),
            advertised: None,
            auto_create: false,
            default_partitions: 1,
            max_request_size: 1 << 20,
        };
        let broker = Arc::new(Broker::new(log, config, ("127.0.0.1".into(), 9092)));
        let writer = broker.writer("t", 0).ok().unwrap();
        for b in 0..batches {
            let records: Vec<Record> =
                (0..10).map(|i| Record::from_value(vec![b'a' + (b * 10 + i) as u8 % 26; 100])).collect();
            writer.append(&records).unwrap();
        }
        broker
    }

    fn topics(names: &[&str]) -> Vec<Topic> {
        names.iter().map(|n| Topic { name: n.to_string(), id: None }).collect()
    }

    fn part(next: u64, max_bytes: usize) -> Part {
        Part { topic: 0, partition: 0, next, max_bytes, data: Vec::new(), error: None, start: -1, end: -1 }
    }

    /// The offsets of the records in a part's bytes.
    fn offsets(data: &[u8]) -> Vec<u64> {
        let mut out = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let Check::Valid(header) = check_batch(rest) else { panic!("not a whole batch") };
            let batch = Batch::from_bytes(rest[..header.len].to_vec()).unwrap();
            out.extend(batch.records().map(|r| r.unwrap().offset));
            rest = &rest[header.len..];
        }
        out
    }

    #[test]
    fn partition_and_request_limits_cut_between_batches_and_the_next_fetch_goes_on_from_there() {
        let dir = tempfile::tempdir().unwrap();
        let broker = broker_with(dir.path(), 5);
        let mut topics = topics(&["t"]);
        let mut readers = Readers::new();
        let mut next = 0;
        let mut seen = Vec::new();
        // A batch is a little over 1 KiB: a partition limit of 2.5 KiB takes two, a request limit of
        // 100 bytes (smaller than one batch) still one, the reader kept between fetches.
        let limits = [(2560, usize::MAX), (2560, 100), (2560, usize::MAX), (1 << 20, usize::MAX)];
        for (fetch, (part_max, request_max)) in limits.into_iter().enumerate() {
            let mut parts = vec![part(next, part_max)];
            let total = fetch_round(&broker, &mut readers, &mut topics, &mut parts, request_max, fetch == 0);
            let p = &parts[0];
            assert_eq!(p.error, None);
            assert_eq!(total, p.data.len());
            assert!(p.data.len() <= part_max.max(1100), "one batch at least, else within the limit");
            let got = offsets(&p.data);
            assert_eq!(p.next, next + got.len() as u64);
            next = p.next;
            seen.extend(got);
        }
        assert_eq!(seen, (0..50).collect::<Vec<u64>>(), "every record once, in order");
        // at the end: nothing, no error
        let mut parts = vec![part(next, 1 << 20)];
        assert_eq!(fetch_round(&broker, &mut readers, &mut topics, &mut parts, usize::MAX, false), 0);
        assert_eq!(parts[0].error, None);
    }

    /// The first byte of each record's value in a part's bytes.
    fn fills(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let Check::Valid(header) = check_batch(rest) else { panic!("not a whole batch") };
            let batch = Batch::from_bytes(rest[..header.len].to_vec()).unwrap();
            out.extend(batch.records().map(|r| r.unwrap().value.unwrap()[0]));
            rest = &rest[header.len..];
        }
        out
    }

    #[test]
    fn a_kept_reader_is_not_read_once_its_topic_was_deleted_and_created_again() {
        let dir = tempfile::tempdir().unwrap();
        let broker = broker_with(dir.path(), 5);
        let mut topics = topics(&["t"]);
        let mut readers = Readers::new();
        // a first fetch reads two of the five batches and keeps its reader at offset 20
        let mut parts = vec![part(0, 2560)];
        fetch_round(&broker, &mut readers, &mut topics, &mut parts, usize::MAX, true);
        assert_eq!(parts[0].next, 20);
        let kept = readers.get("t").and_then(|t| t.get(&0)).expect("kept");
        assert_eq!((kept.position(), kept.topic_id()), (20, broker.log.topic_id("t").unwrap()));
        // the topic goes, and comes again with other records
        broker.release_topic("t");
        broker.log.delete_topic("t").unwrap();
        broker.log.create_topic("t", &TopicConfig::default()).unwrap();
        let writer = broker.writer("t", 0).ok().unwrap();
        for _ in 0..3 {
            writer.append(&(0..10).map(|_| Record::from_value(vec![b'Z'; 100])).collect::<Vec<_>>()).unwrap();
        }
        drop(writer);
        // the next fetch from 20 reads the new topic's records 20..30, not the old topic's
        let mut parts = vec![part(20, 1 << 20)];
        fetch_round(&broker, &mut readers, &mut topics, &mut parts, usize::MAX, true);
        assert_eq!(parts[0].error, None);
        assert_eq!(offsets(&parts[0].data), (20..30).collect::<Vec<u64>>());
        assert_eq!(fills(&parts[0].data), vec![b'Z'; 10], "the new topic's records");
        let kept = readers.get("t").and_then(|t| t.get(&0)).expect("kept");
        assert_eq!(kept.topic_id(), broker.log.topic_id("t").unwrap(), "reopened on the new topic");
        // and while it is gone, its reader goes too (the deleted files are let go)
        broker.release_topic("t");
        broker.log.delete_topic("t").unwrap();
        let mut parts = vec![part(30, 1 << 20)];
        fetch_round(&broker, &mut readers, &mut topics, &mut parts, usize::MAX, false);
        assert_eq!(parts[0].error, Some(ResponseError::UnknownTopicOrPartition));
        assert!(readers.is_empty());
    }
}
