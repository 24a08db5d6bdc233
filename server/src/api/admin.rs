//! CreateTopics, DeleteTopics, CreatePartitions and DescribeConfigs on the data directory's topics.
//! One flowc node keeps one copy of each partition: a replication factor above 1 is refused.

use flowc_runtime::log::{format_duration_ms, Error as LogError, FsyncPolicy, TopicConfig};
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_configs_response::{DescribeConfigsResourceResult, DescribeConfigsResult};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::{blocking, s};
use crate::broker::Shared;

const TOPIC: i8 = 2;
const SOURCE_TOPIC: i8 = 1;
const SOURCE_DEFAULT: i8 = 5;

type Failure = (ResponseError, String);

fn log_error(e: LogError) -> Failure {
    match e {
        LogError::TopicExists(_) => (ResponseError::TopicAlreadyExists, e.to_string()),
        LogError::TopicNotFound(_) => (ResponseError::UnknownTopicOrPartition, e.to_string()),
        LogError::Invalid(_) => (ResponseError::InvalidRequest, e.to_string()),
        LogError::Locked { .. } => (ResponseError::NotLeaderOrFollower, e.to_string()),
        _ => (ResponseError::KafkaStorageError, e.to_string()),
    }
}

/// A topic config from CreateTopics' settings (Kafka's names; `flowc.fsync` for the fsync policy).
fn config_of(topic: &CreatableTopic, default_partitions: u32) -> Result<TopicConfig, Failure> {
    let partitions = if topic.num_partitions < 0 { default_partitions } else { topic.num_partitions as u32 };
    let mut c = TopicConfig { partitions, ..TopicConfig::default() };
    if topic.replication_factor > 1 {
        return Err((
            ResponseError::InvalidReplicationFactor,
            format!(
                "replication factor {} is not possible: one flowc node keeps one copy of each partition",
                topic.replication_factor
            ),
        ));
    }
    if !topic.assignments.is_empty() {
        return Err((ResponseError::InvalidReplicaAssignment, "replica assignments are not supported".into()));
    }
    for kv in &topic.configs {
        let value = kv.value.as_ref().map(|v| v.to_string()).unwrap_or_default();
        let bad = || (ResponseError::InvalidConfig, format!("`{value}` is not a valid value for {}", kv.name.as_str()));
        let num = || value.parse::<i64>().map_err(|_| bad());
        match kv.name.as_str() {
            "retention.ms" => c.retention_ms = u64::try_from(num()?).ok(),
            "retention.bytes" => c.retention_bytes = u64::try_from(num()?).ok(),
            "segment.bytes" => c.segment_bytes = u64::try_from(num()?).map_err(|_| bad())?,
            "segment.ms" => c.segment_ms = u64::try_from(num()?).map_err(|_| bad())?,
            "max.message.bytes" => c.max_batch_bytes = u32::try_from(num()?).map_err(|_| bad())?,
            "flowc.fsync" => c.fsync = value.parse::<FsyncPolicy>().map_err(|_| bad())?,
            other => {
                return Err((
                    ResponseError::InvalidConfig,
                    format!("config `{other}` is not supported (supported: {})", NAMES.join(", ")),
                ))
            }
        }
    }
    c.validate().map_err(|e| (ResponseError::InvalidConfig, e.to_string()))?;
    Ok(c)
}

const NAMES: &[&str] =
    &["retention.ms", "retention.bytes", "segment.bytes", "segment.ms", "max.message.bytes", "flowc.fsync"];

pub(crate) async fn create_topics(broker: &Shared, req: CreateTopicsRequest, version: i16) -> CreateTopicsResponse {
    let b = broker.clone();
    let topics = blocking(move || {
        req.topics
            .into_iter()
            .map(|t| {
                let mut r = CreatableTopicResult::default();
                let outcome = config_of(&t, b.config.default_partitions).and_then(|c| {
                    if !req.validate_only {
                        b.log.create_topic(&t.name.0, &c).map_err(log_error)?;
                        tracing::info!("created topic `{}` ({} partitions)", t.name.0.as_str(), c.partitions);
                    }
                    Ok(c)
                });
                match outcome {
                    Ok(c) if version >= 5 => {
                        r.num_partitions = c.partitions as i32;
                        r.replication_factor = 1;
                        r.configs = Some(Vec::new());
                    }
                    Ok(_) => {}
                    Err((e, msg)) => {
                        r.error_code = e.code();
                        if version >= 1 {
                            r.error_message = Some(s(msg));
                        }
                    }
                }
                r.name = t.name;
                r
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    let mut r = CreateTopicsResponse::default();
    r.topics = topics;
    r
}

pub(crate) async fn delete_topics(broker: &Shared, req: DeleteTopicsRequest, version: i16) -> DeleteTopicsResponse {
    let names: Vec<TopicName> =
        if version >= 6 { req.topics.into_iter().filter_map(|t| t.name).collect() } else { req.topic_names };
    let b = broker.clone();
    let responses = blocking(move || {
        names
            .into_iter()
            .map(|name| {
                let mut r = DeletableTopicResult::default();
                b.release_topic(&name.0);
                if let Err(e) = b.log.delete_topic(&name.0) {
                    let (code, msg) = log_error(e);
                    r.error_code = code.code();
                    if version >= 5 {
                        r.error_message = Some(s(msg));
                    }
                } else {
                    tracing::info!("deleted topic `{}`", name.0.as_str());
                }
                r.name = Some(name);
                r
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    let mut r = DeleteTopicsResponse::default();
    r.responses = responses;
    r
}

pub(crate) async fn create_partitions(broker: &Shared, req: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let b = broker.clone();
    let results = blocking(move || {
        req.topics
            .into_iter()
            .map(|t| {
                let mut r = CreatePartitionsTopicResult::default();
                let outcome = if t.assignments.is_some() {
                    Err((ResponseError::InvalidReplicaAssignment, "replica assignments are not supported".to_string()))
                } else if t.count < 1 {
                    Err((ResponseError::InvalidPartitions, format!("{} partitions", t.count)))
                } else if req.validate_only {
                    Ok(())
                } else {
                    b.log.add_partitions(&t.name.0, t.count as u32).map(|_| ()).map_err(|e| match e {
                        LogError::Invalid(m) => (ResponseError::InvalidPartitions, m),
                        e => log_error(e),
                    })
                };
                if let Err((code, msg)) = outcome {
                    r.error_code = code.code();
                    r.error_message = Some(s(msg));
                }
                r.name = t.name;
                r
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    let mut r = CreatePartitionsResponse::default();
    r.results = results;
    r
}

pub(crate) async fn describe_configs(
    broker: &Shared,
    req: DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResponse {
    let b = broker.clone();
    let results = blocking(move || {
        req.resources
            .into_iter()
            .map(|res| {
                let mut r = DescribeConfigsResult::default();
                r.resource_type = res.resource_type;
                r.resource_name = res.resource_name.clone();
                if res.resource_type != TOPIC {
                    // a broker's settings are the command line's; none is described
                    return r;
                }
                match b.log.topic_config(&res.resource_name) {
                    Ok(c) => {
                        let keys = res.configuration_keys.as_ref().filter(|k| !k.is_empty());
                        r.configs = entries(&c)
                            .into_iter()
                            .filter(|(n, _, _)| keys.is_none_or(|k| k.iter().any(|k| k.as_str() == *n)))
                            .map(|(name, value, default)| {
                                let mut e = DescribeConfigsResourceResult::default();
                                e.name = s(name);
                                e.value = Some(s(value));
                                e.read_only = true;
                                if version >= 1 {
                                    e.config_source = if default { SOURCE_DEFAULT } else { SOURCE_TOPIC };
                                }
                                e
                            })
                            .collect();
                    }
                    Err(e) => {
                        let (code, msg) = log_error(e);
                        r.error_code = code.code();
                        r.error_message = Some(s(msg));
                    }
                }
                r
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    let mut r = DescribeConfigsResponse::default();
    r.results = results;
    r
}

/// `(Kafka name, value, is the default)` of a topic's settings.
fn entries(c: &TopicConfig) -> Vec<(&'static str, String, bool)> {
    let d = TopicConfig::default();
    let opt = |v: Option<u64>| v.map_or("-1".to_string(), |v| v.to_string());
    vec![
        ("retention.ms", opt(c.retention_ms), c.retention_ms == d.retention_ms),
        ("retention.bytes", opt(c.retention_bytes), c.retention_bytes == d.retention_bytes),
        ("segment.bytes", c.segment_bytes.to_string(), c.segment_bytes == d.segment_bytes),
        ("segment.ms", c.segment_ms.to_string(), c.segment_ms == d.segment_ms),
        ("max.message.bytes", c.max_batch_bytes.to_string(), c.max_batch_bytes == d.max_batch_bytes),
        ("flowc.fsync", c.fsync.to_string(), c.fsync == d.fsync),
        ("flowc.segment.age", format_duration_ms(c.segment_ms), c.segment_ms == d.segment_ms),
    ]
}
