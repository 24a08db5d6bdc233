//! `flowc groups list|describe --brokers …`: a Kafka cluster's consumer groups, their committed
//! offsets, log-end offsets, lag and members, in the columns `kafka-consumer-groups.sh` prints.

use super::{inspector, kafka_failure, metadata, Failure, PATIENCE};
use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;

pub(crate) fn list(brokers: &str) -> Result<i32, Failure> {
    let client = inspector(brokers, "flowc-console")?;
    let groups = client.fetch_group_list(None, PATIENCE).map_err(|e| kafka_failure(brokers, e))?;
    let mut names: Vec<&str> = groups.groups().iter().map(|g| g.name()).collect();
    names.sort_unstable();
    for name in names {
        println!("{name}");
    }
    Ok(0)
}

pub(crate) fn describe(brokers: &str, group: &str) -> Result<i32, Failure> {
    let client = inspector(brokers, group)?;
    // Who holds which partition, from the members' assignments (Kafka's consumer protocol).
    let mut owners: HashMap<(String, i32), (String, String, String)> = HashMap::new();
    // A cluster that cannot describe groups (librdkafka's mock) still shows the offsets.
    let groups = client.fetch_group_list(Some(group), PATIENCE);
    if let Err(e) = &groups {
        tracing::debug!("describing group {group}: {e}");
    }
    let mut n_members = 0;
    for g in groups.iter().flat_map(|l| l.groups()).filter(|g| g.name() == group) {
        for m in g.members() {
            n_members += 1;
            for (topic, partition) in m.assignment().map(assigned).unwrap_or_default() {
                owners.insert(
                    (topic, partition),
                    (m.id().to_string(), m.client_host().to_string(), m.client_id().to_string()),
                );
            }
        }
    }
    // Committed offsets of every partition of every topic; those the group never committed drop out.
    let meta = metadata(brokers, None)?;
    let mut list = TopicPartitionList::new();
    for t in meta.topics().iter().filter(|t| !t.name().starts_with("__")) {
        for p in t.partitions() {
            list.add_partition(t.name(), p.id());
        }
    }
    let committed = client.committed_offsets(list, PATIENCE).map_err(|e| kafka_failure(brokers, e))?;
    let mut rows = Vec::new();
    for e in committed.elements() {
        let Offset::Offset(current) = e.offset() else { continue };
        let (_, end) =
            client.fetch_watermarks(e.topic(), e.partition(), PATIENCE).map_err(|err| kafka_failure(brokers, err))?;
        let (id, host, client_id) = owners.get(&(e.topic().to_string(), e.partition())).cloned().unwrap_or((
            "-".into(),
            "-".into(),
            "-".into(),
        ));
        rows.push(vec![
            group.to_string(),
            e.topic().to_string(),
            e.partition().to_string(),
            current.to_string(),
            end.to_string(),
            (end - current).max(0).to_string(),
            id,
            host,
            client_id,
        ]);
    }
    if rows.is_empty() {
        println!("Consumer group '{group}' has no committed offsets ({n_members} member(s)).");
        return Ok(0);
    }
    rows.sort_by(|a, b| (&a[1], a[2].parse::<i32>().ok()).cmp(&(&b[1], b[2].parse::<i32>().ok())));
    print!("{}", super::super::groups::offsets_table(&rows));
    Ok(0)
}

/// The partitions in a consumer-protocol assignment: version (i16), then topics, each a name and
/// its partitions; anything that does not read that way holds none.
fn assigned(bytes: &[u8]) -> Vec<(String, i32)> {
    let mut at = 2; // version
    let mut take = |n: usize| -> Option<&[u8]> {
        let s = bytes.get(at..at + n)?;
        at += n;
        Some(s)
    };
    let mut out = Vec::new();
    let mut read = || -> Option<()> {
        let n_topics = i32::from_be_bytes(take(4)?.try_into().ok()?);
        for _ in 0..n_topics.max(0) {
            let len = i16::from_be_bytes(take(2)?.try_into().ok()?).max(0) as usize;
            let topic = String::from_utf8_lossy(take(len)?).into_owned();
            let n_partitions = i32::from_be_bytes(take(4)?.try_into().ok()?);
            for _ in 0..n_partitions.max(0) {
                out.push((topic.clone(), i32::from_be_bytes(take(4)?.try_into().ok()?)));
            }
        }
        Some(())
    };
    let _ = read();
    out
}
