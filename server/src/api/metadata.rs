//! Metadata: this node as the only broker and controller, and every (or each asked) topic with its
//! partitions led by it; missing topics are created when auto-creation is on and the client allows.

use flowc_runtime::log::Error as LogError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::ResponseError;

use super::{blocking, s};
use crate::broker::Shared;

/// This node's id in every answer.
pub(crate) const NODE_ID: i32 = 0;

pub(crate) async fn handle(broker: &Shared, req: MetadataRequest, version: i16) -> MetadataResponse {
    let b = broker.clone();
    let topics = blocking(move || topics(&b, req, version)).await.unwrap_or_else(|e| {
        tracing::error!("metadata: {e}");
        Vec::new()
    });
    let mut r = MetadataResponse::default();
    let mut node = MetadataResponseBroker::default();
    node.node_id = BrokerId(NODE_ID);
    node.host = s(broker.advertised.0.clone());
    node.port = broker.advertised.1;
    r.brokers = vec![node];
    r.cluster_id = Some(s("flowc"));
    r.controller_id = BrokerId(NODE_ID);
    r.topics = topics;
    r
}

fn topics(broker: &Shared, req: MetadataRequest, version: i16) -> Vec<MetadataResponseTopic> {
    let allow = version < 4 || req.allow_auto_topic_creation;
    let asked: Option<Vec<String>> = match req.topics {
        None => None,
        Some(t) if t.is_empty() && version == 0 => None,
        Some(t) => Some(t.into_iter().filter_map(|t| t.name.map(|n| n.0.to_string())).collect()),
    };
    let (names, allow) = match asked {
        Some(names) => (names, allow),
        None => match broker.log.topics() {
            Ok(names) => (names, false),
            Err(e) => {
                tracing::error!("metadata: listing topics: {e}");
                (Vec::new(), false)
            }
        },
    };
    names.into_iter().map(|name| describe(broker, name, allow)).collect()
}

fn describe(broker: &Shared, name: String, allow: bool) -> MetadataResponseTopic {
    let mut t = MetadataResponseTopic::default();
    t.name = Some(TopicName(s(name.clone())));
    match broker.topic_or_create(&name, allow) {
        Ok(config) => {
            t.partitions = (0..config.partitions)
                .map(|p| {
                    let mut mp = MetadataResponsePartition::default();
                    mp.partition_index = p as i32;
                    mp.leader_id = BrokerId(NODE_ID);
                    mp.replica_nodes = vec![BrokerId(NODE_ID)];
                    mp.isr_nodes = vec![BrokerId(NODE_ID)];
                    mp
                })
                .collect();
        }
        Err(LogError::TopicNotFound(_)) => t.error_code = ResponseError::UnknownTopicOrPartition.code(),
        Err(LogError::Invalid(_)) => t.error_code = ResponseError::InvalidTopicException.code(),
        Err(e) => {
            tracing::error!("metadata for topic `{name}`: {e}");
            t.error_code = ResponseError::UnknownServerError.code();
        }
    }
    t
}
