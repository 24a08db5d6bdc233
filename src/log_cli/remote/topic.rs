//! `flowc topic create|list|describe|delete --brokers …`: Kafka's AdminClient and metadata.

use super::{block_on, config, kafka_failure, metadata, Failure, PATIENCE};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

/// What `topic create` asks of the cluster.
pub(crate) struct Create<'a> {
    pub(crate) name: &'a str,
    pub(crate) partitions: u32,
    pub(crate) replication_factor: u32,
    /// Topic configs (`retention.ms`, …) as Kafka names them.
    pub(crate) configs: Vec<(&'static str, String)>,
    pub(crate) if_not_exists: bool,
}

fn admin(brokers: &str) -> Result<AdminClient<DefaultClientContext>, Failure> {
    config(brokers).create().map_err(|e| kafka_failure(brokers, e))
}

fn options() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(PATIENCE)).request_timeout(Some(PATIENCE))
}

pub(crate) fn create(brokers: &str, c: Create<'_>) -> Result<i32, Failure> {
    let admin = admin(brokers)?;
    let mut topic = NewTopic::new(c.name, c.partitions as i32, TopicReplication::Fixed(c.replication_factor as i32));
    for (key, value) in &c.configs {
        topic = topic.set(key, value);
    }
    let results = block_on(admin.create_topics([&topic], &options()))?.map_err(|e| kafka_failure(brokers, e))?;
    for result in results {
        match result {
            Ok(_) => eprintln!(
                "Created topic {} with {} partition(s), replication factor {}.",
                c.name, c.partitions, c.replication_factor
            ),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) if c.if_not_exists => {}
            Err((name, code)) => return Err(kafka_failure(brokers, format!("cannot create topic {name}: {code}"))),
        }
    }
    Ok(0)
}

pub(crate) fn delete(brokers: &str, name: &str, if_exists: bool) -> Result<i32, Failure> {
    let admin = admin(brokers)?;
    let results = block_on(admin.delete_topics(&[name], &options()))?.map_err(|e| kafka_failure(brokers, e))?;
    for result in results {
        match result {
            Ok(_) => eprintln!("Deleted topic {name}."),
            Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) if if_exists => {}
            Err((name, code)) => return Err(kafka_failure(brokers, format!("cannot delete topic {name}: {code}"))),
        }
    }
    Ok(0)
}

/// Every topic but Kafka's internal ones (`__consumer_offsets`), sorted.
pub(crate) fn list(brokers: &str) -> Result<i32, Failure> {
    let meta = metadata(brokers, None)?;
    let mut names: Vec<&str> = meta.topics().iter().map(|t| t.name()).filter(|n| !n.starts_with("__")).collect();
    names.sort_unstable();
    for name in names {
        println!("{name}");
    }
    Ok(0)
}

/// Kafka's `kafka-topics.sh --describe` layout: a line for the topic, a line per partition.
pub(crate) fn describe(brokers: &str, name: &str) -> Result<i32, Failure> {
    let meta = metadata(brokers, Some(name))?;
    let topic = meta
        .topics()
        .iter()
        .find(|t| t.name() == name)
        .ok_or_else(|| Failure::usage(format!("topic {name} does not exist at {brokers}")))?;
    if let Some(err) = topic.error() {
        return Err(kafka_failure(brokers, format!("topic {name}: {}", RDKafkaErrorCode::from(err))));
    }
    let replication = topic.partitions().first().map_or(0, |p| p.replicas().len());
    println!("Topic: {name}\tPartitionCount: {}\tReplicationFactor: {replication}", topic.partitions().len());
    let ids = |ids: &[i32]| ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    let mut partitions: Vec<_> = topic.partitions().iter().collect();
    partitions.sort_by_key(|p| p.id());
    for p in partitions {
        println!(
            "\tTopic: {name}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}",
            p.id(),
            p.leader(),
            ids(p.replicas()),
            ids(p.isr())
        );
    }
    Ok(0)
}
