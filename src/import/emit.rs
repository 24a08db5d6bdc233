//! The agent's channels, sources, sinks and groups turned into `.flow` declarations and edges.

use super::*;

/// What the steps of [`Translator::emit`] learn about how the imported components connect.
#[derive(Default)]
struct Wiring {
    /// Flume channel name → flowc channel (or topic) name.
    channels: HashMap<String, String>,
    /// The line of the agent's channel list.
    channel_line: usize,
    /// (flowc sink, flowc channel) for every sink reading an imported channel.
    sink_channel: Vec<(String, String)>,
    /// Flume sink name → flowc sink name.
    sinks: HashMap<String, String>,
    /// flowc sink → the flowc sink group it is a member of.
    grouped: HashMap<String, String>,
    /// flowc channel → what consumes it.
    consumers: BTreeMap<String, Vec<String>>,
    /// flowc channel → how many sources feed it (2 per route).
    fed: HashMap<String, usize>,
    /// (source with its stages, target, the single channel it writes to).
    source_stmts: Vec<(String, String, Option<String>)>,
}

impl Translator {
    pub(super) fn emit(&mut self) -> String {
        let mut w = Wiring::default();
        self.channels(&mut w);
        self.sinks(&mut w);
        self.sink_groups(&mut w);
        self.consumers(&mut w);
        self.sources(&mut w);
        self.drop_unused_channels(&mut w);
        self.pipelines(&w);
        self.render()
    }

    /// The channels: declarations, and each Flume channel's flowc name.
    fn channels(&mut self, w: &mut Wiring) {
        let agent = self.agent.clone();
        let (channels, channel_line) = self.listed("channels");
        w.channel_line = channel_line;
        for ch in &channels {
            let full = format!("{agent}.channels.{ch}");
            let Some(comp) = self.comp("channels", ch).map(|c| (c.keys.clone(), c.line)) else {
                self.warn(
                    w.channel_line,
                    format!("channel `{ch}` is listed but not configured (no `{full}.type`); Flume drops it"),
                );
                continue;
            };
            let (keys, line) = comp;
            let Some(ty) = keys.get("type").cloned() else {
                self.warn(line, format!("channel `{ch}` has no `type`; Flume drops it"));
                continue;
            };
            if let Some(kind) = topic_kind(ty.value.trim()) {
                let name = self.kafka_channel(ch, &kind, &full, &keys, line);
                w.channels.insert(ch.clone(), name);
                continue;
            }
            let Some(kind) = component_kind(Role::Channel, ty.value.trim()) else {
                self.warn(
                    ty.line,
                    format!(
                        "channel `{ch}`: Flume channel type `{}` has no flowc equivalent{}; not imported",
                        ty.value,
                        hint(ty.value.trim())
                    ),
                );
                self.skipped.push(format!("channel {ch} (Flume type {}, line {})", ty.value, ty.line));
                continue;
            };
            let name = self.name_for("channels", ch, line);
            let mut decl =
                Decl { role: "channel", name: name.clone(), kind: kind.kind, options: Vec::new(), notes: Vec::new() };
            let used = self.options(&kind, &keys, &full, &mut decl);
            self.leftovers(&full, &ty.value, kind.flume.unneeded, &keys, &used, &mut decl);
            self.decls.push(decl);
            w.channels.insert(ch.clone(), name);
        }
    }

    /// The sinks: declarations, and the channel each reads.
    fn sinks(&mut self, w: &mut Wiring) {
        let agent = self.agent.clone();
        let (sinks, sink_line) = self.listed("sinks");
        let any_timestamp = self.comps.get("sources").is_some_and(|m| {
            m.values().any(|c| {
                c.keys
                    .iter()
                    .any(|(k, v)| k.starts_with("interceptors.") && k.ends_with(".type") && is_timestamp(&v.value))
            })
        });
        for sk in &sinks {
            let full = format!("{agent}.sinks.{sk}");
            let Some((keys, line)) = self.comp("sinks", sk).map(|c| (c.keys.clone(), c.line)) else {
                self.warn(
                    sink_line,
                    format!("sink `{sk}` is listed but not configured (no `{full}.type`); Flume drops it"),
                );
                continue;
            };
            let Some(ty) = keys.get("type").cloned() else {
                self.warn(line, format!("sink `{sk}` has no `type`; Flume drops it"));
                continue;
            };
            let channel = keys.get("channel").cloned();
            let Some(kind) = component_kind(Role::Sink, ty.value.trim()) else {
                let why = format!("Flume sink type `{}` has no flowc equivalent{}", ty.value, hint(ty.value.trim()));
                self.warn(ty.line, format!("sink `{sk}`: {why}; not imported"));
                self.skipped.push(format!("sink {sk} (Flume type {}, line {})", ty.value, ty.line));
                continue;
            };
            let name = self.name_for("sinks", sk, line);
            let mut decl =
                Decl { role: "sink", name: name.clone(), kind: kind.kind, options: Vec::new(), notes: Vec::new() };
            let mut used = self.options(&kind, &keys, &full, &mut decl);
            used.insert("channel".into());
            if ty.value.trim() == "hdfs" {
                self.hdfs_extras(&full, &keys, &mut used, &mut decl, any_timestamp);
            }
            if ty.value.trim() == "file_roll" {
                decl.options.push(("format".into(), "lines".into()));
                if let Some(s) = keys.get("sink.serializer") {
                    used.insert("sink.serializer".into());
                    if !s.value.trim().eq_ignore_ascii_case("text") {
                        let s = s.clone();
                        self.not_imported(
                            &full,
                            "sink.serializer",
                            &s,
                            &mut decl,
                            "flowc writes `lines` or `json`, not this serializer",
                        );
                    }
                }
            }
            if kind.kind == "kafka" && !decl.options.iter().any(|(k, _)| k == "topic") {
                decl.options.push(("topic".into(), "\"default-flume-topic\"".into()));
            }
            self.leftovers(&full, &ty.value, kind.flume.unneeded, &keys, &used, &mut decl);
            match channel {
                Some(ch) => match w.channels.get(ch.value.trim()) {
                    Some(c) => w.sink_channel.push((name.clone(), c.clone())),
                    None => self.warn(
                        ch.line,
                        format!(
                            "sink `{sk}` reads channel `{}`, which is not an imported channel; it gets no input",
                            ch.value
                        ),
                    ),
                },
                None => self.warn(line, format!("sink `{sk}` has no `channel`; Flume drops it")),
            }
            self.decls.push(decl);
            w.sinks.insert(sk.clone(), name);
        }
    }

    /// The sink groups (`failover`, `load_balance`) over the imported sinks.
    fn sink_groups(&mut self, w: &mut Wiring) {
        let agent = self.agent.clone();
        let (groups, group_line) = self.listed("sinkgroups");
        for g in &groups {
            let full = format!("{agent}.sinkgroups.{g}");
            let Some((keys, line)) = self.comp("sinkgroups", g).map(|c| (c.keys.clone(), c.line)) else {
                self.warn(group_line, format!("sink group `{g}` is listed but not configured; Flume drops it"));
                continue;
            };
            let processor = keys.get("processor.type").map(|v| v.value.trim().to_string());
            let Some(kind) = processor.as_deref().and_then(processor_kind) else {
                let what = processor.map_or("no `processor.type`".to_string(), |t| format!("processor `{t}`"));
                self.warn(line, format!("sink group `{g}` has {what}: Flume runs it as the default (single-sink) processor; not imported, its sinks are fed directly"));
                for (key, val) in &keys {
                    if key != "sinks" && key != "processor.type" {
                        self.warn(val.line, format!("`{full}.{key}`: Flume reads `processor.*` keys only; ignored"));
                    }
                }
                continue;
            };
            let mut members: Vec<(String, i64, usize)> = Vec::new();
            let mut used: HashSet<String> = ["sinks".to_string(), "processor.type".to_string()].into();
            if let Some(list) = keys.get("sinks") {
                for (i, m) in list.value.split_whitespace().enumerate() {
                    match w.sinks.get(m) {
                        Some(n) => {
                            let prio_key = format!("processor.priority.{m}");
                            let prio =
                                keys.get(&prio_key).and_then(|v| v.value.trim().parse().ok()).unwrap_or(i64::MIN);
                            used.insert(prio_key);
                            members.push((n.clone(), prio, i));
                        }
                        None => self.warn(
                            list.line,
                            format!("sink group `{g}` lists `{m}`, which is not an imported sink; left out"),
                        ),
                    }
                }
            } else {
                self.warn(line, format!("sink group `{g}` has no `sinks`; Flume drops it"));
            }
            if members.is_empty() {
                continue;
            }
            if kind.kind == "failover" {
                // Highest priority first; unprioritised members keep their order, last.
                members.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
            }
            let name = self.name_for("sinkgroups", g, line);
            let mut decl =
                Decl { role: "sink", name: name.clone(), kind: kind.kind, options: Vec::new(), notes: Vec::new() };
            let list: Vec<&str> = members.iter().map(|m| m.0.as_str()).collect();
            decl.options.push(("sinks".into(), format!("[{}]", list.join(", "))));
            used.extend(self.options(&kind, &keys, &full, &mut decl));
            self.leftovers(&full, kind.kind, kind.flume.unneeded, &keys, &used, &mut decl);
            for m in &members {
                w.grouped.insert(m.0.clone(), name.clone());
            }
            self.decls.push(decl);
        }
    }

    /// Who consumes each channel: groups (once) and ungrouped sinks; several compete through a `load_balance` group, as in Flume (a topic's share its partitions as one consumer group).
    fn consumers(&mut self, w: &mut Wiring) {
        for (sink, ch) in &w.sink_channel {
            let target = w.grouped.get(sink).cloned().unwrap_or_else(|| sink.clone());
            let list = w.consumers.entry(ch.clone()).or_default();
            if !list.contains(&target) {
                list.push(target);
            }
        }
        for (ch, list) in w.consumers.iter_mut() {
            if list.len() > 1 && !self.topics.contains_key(ch) {
                let name = {
                    let mut n = format!("{ch}_sinks");
                    while self.used.contains(&n) {
                        n.push('_');
                    }
                    self.used.insert(n.clone());
                    n
                };
                self.warn(
                    w.channel_line,
                    format!(
                        "sinks {} compete for channel `{ch}`'s events in Flume; flowc says that with the load_balance group `{name}`",
                        list.join(", ")
                    ),
                );
                self.decls.push(Decl {
                    role: "sink",
                    name: name.clone(),
                    kind: "load_balance",
                    options: vec![("sinks".into(), format!("[{}]", list.join(", ")))],
                    notes: Vec::new(),
                });
                *list = vec![name];
            }
        }
    }

    /// The sources: declarations with their interceptors, and what each writes to.
    fn sources(&mut self, w: &mut Wiring) {
        let agent = self.agent.clone();
        let (sources, src_line) = self.listed("sources");
        for src in &sources {
            let full = format!("{agent}.sources.{src}");
            let Some((keys, line)) = self.comp("sources", src).map(|c| (c.keys.clone(), c.line)) else {
                self.warn(
                    src_line,
                    format!("source `{src}` is listed but not configured (no `{full}.type`); Flume drops it"),
                );
                continue;
            };
            let Some(ty) = keys.get("type").cloned() else {
                self.warn(line, format!("source `{src}` has no `type`; Flume drops it"));
                continue;
            };
            let Some(kind) = component_kind(Role::Source, ty.value.trim()) else {
                self.warn(
                    ty.line,
                    format!(
                        "source `{src}`: Flume source type `{}` has no flowc equivalent{}; not imported",
                        ty.value,
                        hint(ty.value.trim())
                    ),
                );
                self.skipped.push(format!("source {src} (Flume type {}, line {})", ty.value, ty.line));
                continue;
            };
            let name = self.name_for("sources", src, line);
            let mut decl =
                Decl { role: "source", name: name.clone(), kind: kind.kind, options: Vec::new(), notes: Vec::new() };
            let mut used = self.options(&kind, &keys, &full, &mut decl);
            used.insert("channels".into());
            match ty.value.trim() {
                "netcat" | "http" | "org.apache.flume.source.http.HTTPSource" => {
                    self.address(&full, &keys, &mut used, &mut decl, ty.value.trim() != "netcat")
                }
                "TAILDIR" | "taildir" => self.taildir(&full, &keys, &mut used, &mut decl),
                _ => {}
            }
            if kind.kind == "kafka" {
                // Flume's event body is the record's value: lines, as its interceptors and sinks saw it.
                decl.options.push(("format".into(), "lines".into()));
            }
            let stages = self.interceptors(&full, &keys, &mut used, &mut decl);
            let target = self.selector(&full, &keys, &mut used, &mut decl, &w.channels, line);
            self.leftovers(&full, &ty.value, kind.flume.unneeded, &keys, &used, &mut decl);
            self.decls.push(decl);
            if let Some((target, single)) = target {
                if let Some(c) = &single {
                    *w.fed.entry(c.clone()).or_default() += 1;
                } else {
                    let words: HashSet<&str> =
                        target.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).collect();
                    for c in w.channels.values() {
                        if words.contains(c.as_str()) {
                            *w.fed.entry(c.clone()).or_default() += 2;
                        }
                    }
                }
                w.source_stmts.push((format!("{name}{stages}"), target, single));
            }
        }
    }

    /// Channels nothing uses any more are removed, as Flume removes them.
    fn drop_unused_channels(&mut self, w: &mut Wiring) {
        let agent = self.agent.clone();
        let unused: Vec<String> =
            w.channels.values().filter(|c| !w.fed.contains_key(*c) && !w.consumers.contains_key(*c)).cloned().collect();
        for c in unused {
            let line = self.comp("channels", &c).map_or(w.channel_line, |comp| comp.line);
            self.warn(line, format!("channel `{c}` is connected to no imported source or sink; Flume removes such a channel, and so does the import"));
            self.decls.retain(|d| !(matches!(d.role, "channel" | "topic") && d.name == c));
        }
        if w.channels.is_empty() {
            self.warn(
                w.channel_line,
                format!(
                    "agent `{agent}` has no channel flowc could import; Flume rejects an agent without a valid channel"
                ),
            );
        }
    }

    /// The edges: `r -> c -> k` when a channel joins exactly one source to one consumer.
    fn pipelines(&mut self, w: &Wiring) {
        let mut chained: HashSet<String> = HashSet::new();
        for (head, target, single) in &w.source_stmts {
            // After interceptor stages the edge goes on its own line too.
            let arrow = if head.contains('\n') { "\n  ->" } else { " ->" };
            match single {
                Some(c)
                    if w.fed.get(c) == Some(&1)
                        && w.consumers.get(c).is_some_and(|l| l.len() == 1)
                        && !self.topics.contains_key(c) =>
                {
                    self.flows.push(format!("{head}{arrow} {c} -> {}", w.consumers[c][0]));
                    chained.insert(c.clone());
                }
                _ => self.flows.push(format!("{head}{arrow} {target}")),
            }
        }
        for (ch, list) in &w.consumers {
            if let Some(group) = self.topics.get(ch) {
                let targets = if list.len() == 1 { list[0].clone() } else { format!("[{}]", list.join(", ")) };
                self.flows.push(format!("{ch} -> group {} -> {targets}", flow_string(group)));
            } else if !chained.contains(ch) {
                for k in list {
                    self.flows.push(format!("{ch} -> {k}"));
                }
            }
        }
    }
}
