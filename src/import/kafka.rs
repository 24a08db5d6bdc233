//! Flume's Kafka channel as a `topic` declaration bound to the cluster with `brokers`: sources
//! write into the topic, and the channel's sinks consume it as one consumer group.

use super::*;

/// The topic Flume's Kafka channel uses when `kafka.topic` is not set.
const DEFAULT_TOPIC: &str = "flume-channel";
/// The consumer group Flume's Kafka channel uses when `kafka.consumer.group.id` is not set.
const DEFAULT_GROUP: &str = "flume";

impl Translator {
    /// Declares the topic a Kafka channel stands for; returns its flowc name.
    pub(super) fn kafka_channel(&mut self, ch: &str, full: &str, keys: &BTreeMap<String, Val>, line: usize) -> String {
        let ty = keys.get("type").map_or_else(String::new, |v| v.value.clone());
        let mut decl = Decl { role: "topic", name: String::new(), kind: "", options: Vec::new(), notes: Vec::new() };
        let kind = Kind { kind: "topic", options: KAFKA_CHANNEL, fixed: &[], unneeded: KAFKA_CHANNEL_UNNEEDED };
        let mut used = self.options(flowc_stdlib::registry().topic_params, &kind, keys, full, &mut decl);
        if !keys.contains_key("kafka.bootstrap.servers") {
            self.warn(
                line,
                format!(
                    "`{full}` has no `kafka.bootstrap.servers`, which Flume's Kafka channel needs; the topic is \
                     declared without `brokers`, in flowc's embedded log"
                ),
            );
        }
        let topic = self.setting(full, "kafka.topic", keys, &mut used, &mut decl).unwrap_or(DEFAULT_TOPIC.into());
        let group =
            self.setting(full, "kafka.consumer.group.id", keys, &mut used, &mut decl).unwrap_or(DEFAULT_GROUP.into());
        let name = self.fresh_name("channels", &topic);
        if name != topic {
            self.warn(
                keys.get("kafka.topic").map_or(line, |v| v.line),
                format!(
                    "channel `{ch}` uses Kafka topic `{topic}`; a flowc topic is named by its declaration, so this \
                     one is `{name}` on the cluster too: rename the topic there, or keep `{name}` if it is new"
                ),
            );
        }
        decl.name = name.clone();
        self.leftovers(full, &ty, kind.unneeded, keys, &used, &mut decl);
        self.decls.push(decl);
        self.topics.insert(name.clone(), group);
        name
    }

    /// The trimmed value of `key`, marked used; `None` when it is absent or carries an inline note.
    fn setting(
        &mut self,
        full: &str,
        key: &str,
        keys: &BTreeMap<String, Val>,
        used: &mut HashSet<String>,
        decl: &mut Decl,
    ) -> Option<String> {
        let val = keys.get(key)?;
        used.insert(key.to_string());
        self.checked_value(full, key, val, decl).map(|v| v.trim().to_string())
    }
}
