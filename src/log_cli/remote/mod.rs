//! The console tools against an external Kafka cluster (`--brokers`), through librdkafka: the same
//! commands and output as on the data directory, so the seed's scripts work against either.

pub(super) mod consume;
pub(super) mod groups;
pub(super) mod produce;
pub(super) mod topic;

use super::Failure;
use clap::Args;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::metadata::Metadata;
use std::time::Duration;

/// `--brokers`: the commands talk to a Kafka cluster instead of the data directory.
#[derive(Debug, Clone, Args)]
pub struct Brokers {
    /// Bootstrap servers of an external Kafka cluster (`host:port,host:port`); without it the
    /// command works on the data directory.
    #[arg(long, value_name = "HOST:PORT,...", conflicts_with = "data_dir")]
    pub brokers: Option<String>,
}

/// How long a request to the cluster may take before the command gives up and says so.
pub(super) const PATIENCE: Duration = Duration::from_secs(30);

/// A client configuration for `brokers`.
pub(super) fn config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers).set("client.id", "flowc").set_log_level(RDKafkaLogLevel::Error);
    config
}

/// A consumer that joins no group: metadata, watermarks and committed offsets of `group`.
pub(super) fn inspector(brokers: &str, group: &str) -> Result<BaseConsumer, Failure> {
    config(brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| kafka_failure(brokers, e))
}

/// The cluster's metadata, for one topic or all.
pub(super) fn metadata(brokers: &str, topic: Option<&str>) -> Result<Metadata, Failure> {
    inspector(brokers, "flowc-console")?.fetch_metadata(topic, PATIENCE).map_err(|e| kafka_failure(brokers, e))
}

/// A Kafka error as the command's failure, naming the cluster.
pub(super) fn kafka_failure(brokers: &str, e: impl std::fmt::Display) -> Failure {
    Failure::usage(format!("Kafka at {brokers}: {e}"))
}

/// Runs an async admin request on a small runtime of its own.
pub(super) fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| Failure::usage(format!("cannot start a runtime: {e}")))?;
    Ok(runtime.block_on(future))
}
