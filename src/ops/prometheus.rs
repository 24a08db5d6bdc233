//! The nodes' counters in the OpenMetrics text format (what Prometheus scrapes), read at each scrape
//! from the counters the run keeps anyway: nothing is counted twice.

use flowc_runtime::exec::metrics::BATCH_SECONDS_BOUNDS;
use flowc_runtime::exec::{NodeHandle, NodeMetrics};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use std::sync::Arc;

/// The metrics page: every node's counters, gauges and batch-time histogram.
pub(crate) fn render(nodes: &Arc<Vec<NodeHandle>>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Nodes(nodes.clone())));
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    out
}

/// The content type of [`render`]'s page.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug)]
struct Nodes(Arc<Vec<NodeHandle>>);

/// A counter per node: its name (without `_total`), help, unit, and how to read it.
type Read = fn(&NodeMetrics) -> u64;

const COUNTERS: &[(&str, &str, Option<Unit>, Read)] = &[
    ("flowc_node_events_in", "Events a node took in.", None, NodeMetrics::events_in),
    (
        "flowc_node_events_out",
        "Events a node sent on (sources, transforms, channels) or wrote (sinks).",
        None,
        NodeMetrics::events_out,
    ),
    (
        "flowc_node_errors",
        "Events a node could not handle: rejected by `parse`, failed to evaluate, or not written.",
        None,
        NodeMetrics::errors,
    ),
    ("flowc_node_sent", "Record data a node sent on or wrote.", Some(Unit::Bytes), NodeMetrics::bytes),
    ("flowc_sink_retries", "Writes a sink tried again after a failure.", None, NodeMetrics::retries),
];

impl Collector for Nodes {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let nodes = &self.0;
        for (name, help, unit, read) in COUNTERS {
            let mut family = encoder.encode_descriptor(name, help, unit.as_ref(), MetricType::Counter)?;
            // Sink counters on sinks only.
            let shown = nodes.iter().filter(|n| !name.starts_with("flowc_sink") || n.what.starts_with("sink"));
            for node in shown {
                ConstCounter::new(read(&node.metrics)).encode(family.encode_family(&labels(node))?)?;
            }
        }
        let sinks: Vec<&NodeHandle> = nodes.iter().filter(|n| n.what.starts_with("sink")).collect();
        gauge(&mut encoder, "flowc_sink_files_open", "Files a sink holds open.", &sinks, |m| Some(m.files_open()))?;
        let logs: Vec<&NodeHandle> = nodes.iter().filter(|n| reads_a_log(n)).collect();
        gauge(
            &mut encoder,
            "flowc_node_lag_events",
            "Events a consumer group or `file` channel has yet to read.",
            &logs,
            |m| Some(m.lag()),
        )?;
        let channels: Vec<&NodeHandle> = nodes.iter().filter(|n| n.metrics.fill().is_some()).collect();
        gauge(&mut encoder, "flowc_channel_events", "Events a channel holds.", &channels, |m| m.fill().map(|f| f.0))?;
        gauge(&mut encoder, "flowc_channel_capacity_events", "Most events a channel holds.", &channels, |m| {
            m.fill().map(|f| f.1)
        })?;
        gauge(
            &mut encoder,
            "flowc_node_up",
            "1 while a node runs or drains, 0 once it failed for good.",
            &nodes.iter().collect::<Vec<_>>(),
            |m| Some(u64::from(!m.failed())),
        )?;
        partition_lag(&mut encoder, nodes)?;
        batch_times(&mut encoder, nodes)
    }
}

/// The labels every series of a node carries.
fn labels(node: &NodeHandle) -> [(&'static str, &str); 2] {
    [("node", node.name.as_str()), ("kind", node.what.as_str())]
}

/// Consumer groups, `file` channels and topic or Kafka sources: the nodes whose lag means something.
fn reads_a_log(node: &NodeHandle) -> bool {
    node.what.starts_with("group") || ["channel file", "source topic", "source kafka"].contains(&node.what.as_str())
}

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    nodes: &[&NodeHandle],
    read: impl Fn(&NodeMetrics) -> Option<u64>,
) -> Result<(), std::fmt::Error> {
    if nodes.is_empty() {
        return Ok(());
    }
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for node in nodes {
        if let Some(value) = read(&node.metrics) {
            ConstGauge::new(value as i64).encode(family.encode_family(&labels(node))?)?;
        }
    }
    Ok(())
}

fn partition_lag(encoder: &mut DescriptorEncoder<'_>, nodes: &[NodeHandle]) -> Result<(), std::fmt::Error> {
    let groups: Vec<(&NodeHandle, Vec<(u32, u64)>)> =
        nodes.iter().map(|n| (n, n.metrics.partition_lag())).filter(|(_, lags)| !lags.is_empty()).collect();
    if groups.is_empty() {
        return Ok(());
    }
    let mut family = encoder.encode_descriptor(
        "flowc_group_partition_lag_events",
        "Records of a partition a consumer group has yet to read.",
        None,
        MetricType::Gauge,
    )?;
    for (node, lags) in groups {
        for (partition, lag) in lags {
            let partition = partition.to_string();
            let labels =
                [("node", node.name.as_str()), ("kind", node.what.as_str()), ("partition", partition.as_str())];
            ConstGauge::new(lag as i64).encode(family.encode_family(&labels)?)?;
        }
    }
    Ok(())
}

fn batch_times(encoder: &mut DescriptorEncoder<'_>, nodes: &[NodeHandle]) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(
        "flowc_node_batch_duration",
        "Time a sink took to write a batch, or a transform to evaluate one.",
        Some(&Unit::Seconds),
        MetricType::Histogram,
    )?;
    for node in nodes {
        let times = node.metrics.batch_time();
        if times.count() == 0 {
            continue;
        }
        let bounds = BATCH_SECONDS_BOUNDS.iter().copied().chain([f64::MAX]);
        let buckets: Vec<(f64, u64)> = bounds.zip(times.per_bucket.iter().copied()).collect();
        let labels = labels(node);
        let mut series: MetricEncoder<'_> = family.encode_family(&labels)?;
        series.encode_histogram::<NoLabelSet>(times.sum_seconds, times.count(), &buckets, None)?;
    }
    Ok(())
}
