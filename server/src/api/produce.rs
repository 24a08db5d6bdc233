//! Produce: the client's record batches appended as sent (only the base offset is stamped), after
//! the CRC and the idempotent producer's sequence are checked; acks=0 gets no answer.

use flowc_runtime::log::{check_batch, Check, Error as LogError};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::ResponseError;

use super::{blocking, s};
use crate::broker::{Shared, WriterError};
use crate::producers::{BatchIds, Verdict};

const TRANSACTIONAL: i16 = 0x10;
const CONTROL: i16 = 0x20;

pub(crate) async fn handle(broker: &Shared, req: ProduceRequest, version: i16) -> Option<ProduceResponse> {
    let acks = req.acks;
    let b = broker.clone();
    let responses = match blocking(move || produce(&b, req, version)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("produce: {e}");
            Vec::new()
        }
    };
    broker.appended.notify_waiters();
    if acks == 0 {
        return None;
    }
    let mut r = ProduceResponse::default();
    r.responses = responses;
    Some(r)
}

fn produce(broker: &Shared, req: ProduceRequest, version: i16) -> Vec<TopicProduceResponse> {
    let mut out = Vec::new();
    for topic in req.topic_data {
        let name = topic.name.0.to_string();
        let mut t = TopicProduceResponse::default();
        t.name = topic.name;
        for pd in topic.partition_data {
            let mut pr = PartitionProduceResponse::default();
            pr.index = pd.index;
            match append(broker, &name, pd.index, pd.records.as_deref().unwrap_or(&[])) {
                Ok(base) => pr.base_offset = base,
                Err((err, msg)) => {
                    pr.error_code = err.code();
                    if version >= 8 {
                        pr.error_message = Some(s(msg));
                    }
                }
            }
            t.partition_responses.push(pr);
        }
        out.push(t);
    }
    out
}

type Failure = (ResponseError, String);

/// Appends one partition's batches; the base offset of the first.
fn append(broker: &Shared, topic: &str, partition: i32, records: &[u8]) -> Result<i64, Failure> {
    let config = match broker.log.topic_config(topic) {
        Ok(c) => c,
        Err(LogError::TopicNotFound(_)) | Err(LogError::Invalid(_)) => {
            return Err((ResponseError::UnknownTopicOrPartition, format!("topic `{topic}` does not exist")))
        }
        Err(e) => return Err((ResponseError::KafkaStorageError, e.to_string())),
    };
    if partition < 0 || partition as u32 >= config.partitions {
        return Err((ResponseError::UnknownTopicOrPartition, format!("topic `{topic}` has no partition {partition}")));
    }
    let partition = partition as u32;
    // validate every batch before storing any
    let mut spans = Vec::new();
    let mut pos = 0;
    while pos < records.len() {
        match check_batch(&records[pos..]) {
            Check::Valid(h) => {
                if h.attributes & (TRANSACTIONAL | CONTROL) != 0 {
                    return Err((ResponseError::InvalidRequest, "transactions are not supported".into()));
                }
                if h.len > config.max_batch_bytes as usize {
                    return Err((
                        ResponseError::MessageTooLarge,
                        format!("a {}-byte batch is larger than the topic's {} bytes", h.len, config.max_batch_bytes),
                    ));
                }
                spans.push(pos..pos + h.len);
                pos += h.len;
            }
            Check::Incomplete => return Err((ResponseError::CorruptMessage, "truncated record batch".into())),
            Check::Invalid(reason) => {
                tracing::warn!("produce to {topic}/{partition}: refused a corrupt batch: {reason}");
                return Err((ResponseError::CorruptMessage, reason));
            }
        }
    }
    let writer = match broker.writer(topic, partition) {
        Ok(w) => w,
        Err(WriterError::Locked(who)) => {
            tracing::warn!("produce to {topic}/{partition} refused for now (the client retries): {who}");
            return Err((ResponseError::NotLeaderOrFollower, who));
        }
        Err(WriterError::Unknown) => {
            return Err((ResponseError::UnknownTopicOrPartition, format!("{topic}/{partition}")))
        }
        Err(WriterError::Other(e)) => {
            tracing::error!("produce to {topic}/{partition}: {e}");
            return Err((ResponseError::KafkaStorageError, e));
        }
    };
    let storage = |e: LogError| {
        tracing::error!("produce to {topic}/{partition}: {e}");
        (ResponseError::KafkaStorageError, e.to_string())
    };
    let mut first = None;
    let mut plain = Vec::new(); // consecutive batches without a producer id, appended together
    let flush = |plain: &mut Vec<u8>, first: &mut Option<i64>| -> Result<(), Failure> {
        if !plain.is_empty() {
            let info = writer.append_raw(plain).map_err(storage)?;
            first.get_or_insert(info.base_offset as i64);
            plain.clear();
        }
        Ok(())
    };
    for span in spans {
        let bytes = &records[span];
        match BatchIds::of(bytes) {
            None => plain.extend_from_slice(bytes),
            Some(ids) => {
                flush(&mut plain, &mut first)?;
                match broker.producers.check(topic, partition, &ids) {
                    Verdict::Append => {
                        let info = writer.append_raw(&mut bytes.to_vec()).map_err(storage)?;
                        broker.producers.appended(topic, partition, &ids, info.base_offset as i64);
                        first.get_or_insert(info.base_offset as i64);
                    }
                    Verdict::Duplicate(base) => {
                        first.get_or_insert(base);
                    }
                    Verdict::OutOfOrder => {
                        return Err((
                            ResponseError::OutOfOrderSequenceNumber,
                            format!("sequence {} of producer {} is out of order", ids.first_seq, ids.producer_id),
                        ))
                    }
                    Verdict::Fenced => {
                        return Err((
                            ResponseError::InvalidProducerEpoch,
                            format!("producer {} epoch {} is older than the current one", ids.producer_id, ids.epoch),
                        ))
                    }
                }
            }
        }
    }
    flush(&mut plain, &mut first)?;
    Ok(first.unwrap_or(-1))
}
