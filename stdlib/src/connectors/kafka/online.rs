//! `flowc check --online`: each Kafka cluster a checked program names (its `kafka` sources and sinks,
//! its topics with `brokers`) asked once for its metadata; brokers that do not answer are E0701, a
//! topic the cluster does not hold is E0702, both at the declaration that names them.

use super::{parse_properties, Cluster, SINK_SIG, SOURCE_SIG};
use crate::catalogue::topic::PARAMS as TOPIC_PARAMS;
use flowc_compiler::codes;
use flowc_compiler::graph::{NodeKind, Program};
use flowc_compiler::{Diagnostic, Span};
use flowc_runtime::exec::Opts;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A cluster as told apart: its brokers and the librdkafka properties clients connect with.
type ClusterKey = (Vec<String>, Vec<(String, String)>);

/// One declaration that reaches a cluster: what it is, where, and the topics it needs there.
struct Use {
    what: String,
    span: Span,
    topics: Vec<String>,
    /// A declared topic (its own name is the topic), not a connector naming one.
    declared: bool,
}

/// Asks every cluster `program` names about its topics, each within `timeout`; diagnostics for the
/// brokers that do not answer and the topics that are missing. Values that need `${ENV}` the
/// environment does not have are left to `flowc run`, which reports them.
pub fn check(program: &Program, timeout: Duration) -> Vec<Diagnostic> {
    let mut clusters: BTreeMap<ClusterKey, Vec<Use>> = BTreeMap::new();
    for node in program.graph.node_weights() {
        let (params, what, topics_param) = match &node.kind {
            NodeKind::Source { connector, .. } if connector.kind == SOURCE_SIG.kind => {
                (SOURCE_SIG.params, format!("kafka source `{}`", node.name), Some("topics"))
            }
            NodeKind::Sink { connector, .. } if connector.kind == SINK_SIG.kind => {
                (SINK_SIG.params, format!("kafka sink `{}`", node.name), Some("topic"))
            }
            NodeKind::Topic { .. } => (TOPIC_PARAMS, format!("topic `{}`", node.name), None),
            _ => continue,
        };
        let Some(options) = node.kind.options() else { continue };
        let opts = Opts::new(&node.name, options, params);
        let Ok(Some(brokers)) = opts.strings("brokers") else { continue };
        let topics = match topics_param {
            Some(param) => match opts.strings(param) {
                Ok(Some(topics)) => topics,
                _ => continue,
            },
            None => vec![node.name.clone()],
        };
        let declared = topics_param.is_none();
        let Ok(properties) = opts.strings("properties").map(Option::unwrap_or_default) else { continue };
        let Ok(properties) = parse_properties(&node.name, &properties) else { continue };
        let Ok(cluster) = Cluster::new(&node.name, &brokers, properties) else { continue };
        clusters.entry((cluster.brokers, cluster.properties)).or_default().push(Use {
            what,
            span: node.span,
            topics,
            declared,
        });
    }
    let mut diags = Vec::new();
    for ((brokers, properties), uses) in clusters {
        let cluster = Cluster { brokers, properties };
        match topics_of(&cluster, timeout) {
            Err(why) => {
                for u in &uses {
                    diags.push(
                        Diagnostic::error(
                            codes::E0701,
                            format!("the Kafka brokers {} do not answer: {why}", cluster.bootstrap()),
                        )
                        .at(u.span, format!("{} connects to them", u.what))
                        .help(
                            "start the cluster, or correct `brokers` (and `properties` for TLS or SASL); plain \
                             `flowc check` does not connect",
                        ),
                    );
                }
            }
            Ok(held) => {
                for u in &uses {
                    for topic in u.topics.iter().filter(|t| !held.contains(*t)) {
                        diags.push(
                            Diagnostic::error(
                                codes::E0702,
                                format!(
                                    "topic `{topic}` does not exist on the Kafka cluster at {}",
                                    cluster.bootstrap()
                                ),
                            )
                            .at(
                                u.span,
                                if u.declared {
                                    format!("{} is declared on this cluster", u.what)
                                } else {
                                    format!("{} uses topic `{topic}`", u.what)
                                },
                            )
                            .help(format!(
                                "create it (`flowc topic create {topic} --brokers {} --partitions 3 \
                                 --replication-factor 3`) or correct the name",
                                cluster.bootstrap()
                            )),
                        );
                    }
                }
            }
        }
    }
    diags
}

/// The topics the cluster holds, or why it did not answer within `timeout`.
fn topics_of(cluster: &Cluster, timeout: Duration) -> Result<BTreeSet<String>, String> {
    let mut config = cluster.config();
    // The probe's own failures are its answer; librdkafka's log of them would only repeat it.
    config.set_log_level(RDKafkaLogLevel::Emerg).set("log.connection.close", "false");
    let consumer: BaseConsumer = config.create().map_err(|e| e.to_string())?;
    let metadata = consumer.fetch_metadata(None, timeout).map_err(|e| e.to_string())?;
    if metadata.brokers().is_empty() {
        return Err("no broker in the cluster's answer".into());
    }
    Ok(metadata.topics().iter().filter(|t| t.error().is_none()).map(|t| t.name().to_string()).collect())
}
