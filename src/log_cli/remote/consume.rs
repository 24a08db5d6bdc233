//! `flowc consume TOPIC --brokers …`: a Kafka topic's records printed one per line, alone (every
//! partition, nothing committed) or as a member of a group (what was printed is committed).

use super::{inspector, kafka_failure, metadata, Failure, PATIENCE};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::io::Write;
use std::time::{Duration, Instant};

/// What to read and how to print it.
pub(crate) struct Consume<'a> {
    pub(crate) topic: &'a str,
    pub(crate) group: Option<&'a str>,
    pub(crate) from_beginning: bool,
    pub(crate) partition: Option<u32>,
    pub(crate) max_messages: Option<u64>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) print_key: bool,
    pub(crate) print_offset: bool,
    pub(crate) print_partition: bool,
    pub(crate) print_timestamp: bool,
}

pub(crate) fn run(brokers: &str, c: Consume<'_>) -> Result<i32, Failure> {
    let consumer = consumer(brokers, &c)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let max = c.max_messages.unwrap_or(u64::MAX);
    let mut printed = 0u64;
    let mut last_new = Instant::now();
    let mut line = Vec::with_capacity(256);
    let started = Instant::now();
    while printed < max {
        // A group member's idle time starts once the group gave it partitions (joining takes a while).
        if c.group.is_some() && consumer.assignment().map_or(true, |a| a.count() == 0) && started.elapsed() < PATIENCE {
            last_new = Instant::now();
        }
        let wait = match c.timeout {
            Some(t) => match t.checked_sub(last_new.elapsed()) {
                Some(left) if !left.is_zero() => left.min(Duration::from_millis(500)),
                _ => break,
            },
            None => Duration::from_millis(500),
        };
        let message = match consumer.poll(wait) {
            None => continue,
            Some(Err(e)) => {
                tracing::debug!("kafka consumer: {e}");
                continue;
            }
            Some(Ok(m)) => m,
        };
        last_new = Instant::now();
        line.clear();
        if c.print_timestamp {
            let ts = message.timestamp().to_millis().unwrap_or(-1);
            line.extend_from_slice(format!("CreateTime:{ts}\t").as_bytes());
        }
        if c.print_partition {
            line.extend_from_slice(format!("Partition:{}\t", message.partition()).as_bytes());
        }
        if c.print_offset {
            line.extend_from_slice(format!("Offset:{}\t", message.offset()).as_bytes());
        }
        if c.print_key {
            line.extend_from_slice(message.key().unwrap_or(b"null"));
            line.push(b'\t');
        }
        line.extend_from_slice(message.payload().unwrap_or(b"null"));
        line.push(b'\n');
        if let Err(e) = out.write_all(&line).and_then(|()| out.flush()) {
            if super::super::is_broken_pipe(&e) {
                break;
            }
            return Err(Failure::usage(format!("cannot write stdout after {printed} records: {e}")));
        }
        printed += 1;
        if c.group.is_some() {
            // What was printed is the group's position from now on.
            consumer.store_offset_from_message(&message).map_err(|e| kafka_failure(brokers, e))?;
        }
    }
    if c.group.is_some() && printed > 0 {
        match consumer.commit_consumer_state(CommitMode::Sync) {
            // Nothing left to commit: the periodic commit already took every stored offset.
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => return Err(kafka_failure(brokers, e)),
        }
    }
    eprintln!("Processed a total of {printed} messages");
    Ok(0)
}

/// A group member subscribed to the topic, or a reader assigned every partition (or one).
fn consumer(brokers: &str, c: &Consume<'_>) -> Result<BaseConsumer, Failure> {
    let reset = if c.from_beginning { "earliest" } else { "latest" };
    let Some(group) = c.group else {
        let consumer = inspector(brokers, "flowc-console")?;
        let meta = metadata(brokers, Some(c.topic))?;
        let topic = meta
            .topics()
            .iter()
            .find(|t| t.name() == c.topic && t.error().is_none())
            .ok_or_else(|| Failure::usage(format!("topic {} does not exist at {brokers}", c.topic)))?;
        let start = if c.from_beginning { Offset::Beginning } else { Offset::End };
        let mut list = TopicPartitionList::new();
        for p in topic.partitions() {
            if c.partition.is_none_or(|only| only as i32 == p.id()) {
                list.add_partition_offset(c.topic, p.id(), start).map_err(|e| kafka_failure(brokers, e))?;
            }
        }
        consumer.assign(&list).map_err(|e| kafka_failure(brokers, e))?;
        return Ok(consumer);
    };
    let consumer: BaseConsumer = super::config(brokers)
        .set("group.id", group)
        .set("client.id", "flowc-consume")
        .set("auto.offset.reset", reset)
        .set("enable.auto.offset.store", "false")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .create()
        .map_err(|e| kafka_failure(brokers, e))?;
    consumer.subscribe(&[c.topic]).map_err(|e| kafka_failure(brokers, e))?;
    Ok(consumer)
}
