//! The `kafka` source and sink: a consumer and a producer of an external Kafka cluster through
//! librdkafka (the `rdkafka` crate), with the client settings and the logging both share.

mod sink;
mod source;

pub(crate) use sink::{KafkaSink, SinkSettings};
pub(crate) use source::{KafkaSource, SourceSettings};

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The connection settings every client of a node starts from.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    /// Bootstrap servers, `host:port` each.
    pub(crate) brokers: Vec<String>,
    /// librdkafka properties passed as they are (`security.protocol=ssl`, `sasl.mechanism=…`).
    pub(crate) properties: Vec<(String, String)>,
}

impl Cluster {
    /// The brokers as librdkafka's `bootstrap.servers` wants them.
    pub(crate) fn bootstrap(&self) -> String {
        self.brokers.join(",")
    }

    /// A client configuration for these brokers; `properties` are applied last, so they win.
    pub(crate) fn config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", self.bootstrap())
            .set("client.id", "flowc")
            .set_log_level(RDKafkaLogLevel::Warning);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

/// Splits `key=value` properties; a text without `=` is a configuration error naming it.
pub(crate) fn parse_properties(node: &str, items: &[String]) -> Result<Vec<(String, String)>, String> {
    items
        .iter()
        .map(|item| match item.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
            _ => Err(format!("{node}: `properties` item {item:?} is not `key=value` (a librdkafka property)")),
        })
        .collect()
}

/// librdkafka's callbacks into `tracing`: errors (an unreachable broker, a lost connection) are
/// warnings naming the node and its brokers, each distinct one at most every ten seconds so an
/// outage is visible without flooding the log.
pub(crate) struct NodeContext {
    node: String,
    brokers: String,
    last: Mutex<Option<(String, Instant)>>,
}

/// How long the same error message stays quiet after it was logged.
const REPEAT_QUIET: Duration = Duration::from_secs(10);

impl NodeContext {
    pub(crate) fn new(node: &str, cluster: &Cluster) -> NodeContext {
        NodeContext { node: node.to_string(), brokers: cluster.bootstrap(), last: Mutex::new(None) }
    }

    fn should_log(&self, message: &str) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some((seen, at)) = last.as_ref() {
            if seen == message && now.duration_since(*at) < REPEAT_QUIET {
                return false;
            }
        }
        *last = Some((message.to_string(), now));
        true
    }
}

impl ClientContext for NodeContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                if self.should_log(message) {
                    tracing::warn!("{}: Kafka at {}: {facility}: {message}", self.node, self.brokers)
                }
            }
            _ => tracing::debug!("{}: librdkafka {facility}: {message}", self.node),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let message = format!("{error}: {reason}");
        if self.should_log(&message) {
            tracing::warn!("{}: Kafka at {}: {message} (retrying)", self.node, self.brokers);
        }
    }
}

impl ConsumerContext for NodeContext {}
