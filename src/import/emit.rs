//! The agent's channels, sources, sinks and groups turned into `.flow` declarations and edges.

use super::*;

impl Translator {
    pub(super) fn emit(&mut self) -> String {
        let agent = self.agent.clone();
        // ---- channels
        let (channels, ch_line) = self.listed("channels");
        let mut live_channels: HashMap<String, String> = HashMap::new();
        for ch in &channels {
            let full = format!("{agent}.channels.{ch}");
            let Some(comp) = self.comp("channels", ch).map(|c| (c.keys.clone(), c.line)) else {
                self.warn(
                    ch_line,
                    format!("channel `{ch}` is listed but not configured (no `{full}.type`); Flume drops it"),
                );
                continue;
            };
            let (keys, line) = comp;
            let Some(ty) = keys.get("type").cloned() else {
                self.warn(line, format!("channel `{ch}` has no `type`; Flume drops it"));
                continue;
            };
            if ty.value.trim() == KAFKA_CHANNEL_TYPE {
                let name = self.kafka_channel(ch, &full, &keys, line);
                live_channels.insert(ch.clone(), name);
                continue;
            }
            let Some(kind) = channel_kind(ty.value.trim()) else {
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
            let used = self.options(connector_params(Role::Channel, kind.kind), &kind, &keys, &full, &mut decl);
            self.leftovers(&full, &ty.value, kind.unneeded, &keys, &used, &mut decl);
            self.decls.push(decl);
            live_channels.insert(ch.clone(), name);
        }

        // ---- sinks
        let (sinks, sink_line) = self.listed("sinks");
        let mut sink_channel: Vec<(String, String)> = Vec::new(); // (flowc sink, flowc channel)
        let mut live_sinks: HashMap<String, String> = HashMap::new();
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
            let Some(kind) = sink_kind(ty.value.trim()) else {
                let why = format!("Flume sink type `{}` has no flowc equivalent{}", ty.value, hint(ty.value.trim()));
                self.warn(ty.line, format!("sink `{sk}`: {why}; not imported"));
                self.skipped.push(format!("sink {sk} (Flume type {}, line {})", ty.value, ty.line));
                continue;
            };
            let name = self.name_for("sinks", sk, line);
            let mut decl =
                Decl { role: "sink", name: name.clone(), kind: kind.kind, options: Vec::new(), notes: Vec::new() };
            let mut used = self.options(connector_params(Role::Sink, kind.kind), &kind, &keys, &full, &mut decl);
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
            self.leftovers(&full, &ty.value, kind.unneeded, &keys, &used, &mut decl);
            match channel {
                Some(ch) => match live_channels.get(ch.value.trim()) {
                    Some(c) => sink_channel.push((name.clone(), c.clone())),
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
            live_sinks.insert(sk.clone(), name);
        }

        // ---- sink groups
        let (groups, group_line) = self.listed("sinkgroups");
        let mut grouped: HashMap<String, String> = HashMap::new(); // member → group
        for g in &groups {
            let full = format!("{agent}.sinkgroups.{g}");
            let Some((keys, line)) = self.comp("sinkgroups", g).map(|c| (c.keys.clone(), c.line)) else {
                self.warn(group_line, format!("sink group `{g}` is listed but not configured; Flume drops it"));
                continue;
            };
            let processor = keys.get("processor.type").map(|v| v.value.trim().to_string());
            let kind = match processor.as_deref() {
                Some("failover") => "failover",
                Some("load_balance") => "load_balance",
                other => {
                    let what = other.map_or("no `processor.type`".to_string(), |t| format!("processor `{t}`"));
                    self.warn(line, format!("sink group `{g}` has {what}: Flume runs it as the default (single-sink) processor; not imported, its sinks are fed directly"));
                    for (key, val) in &keys {
                        if key != "sinks" && key != "processor.type" {
                            self.warn(
                                val.line,
                                format!("`{full}.{key}`: Flume reads `processor.*` keys only; ignored"),
                            );
                        }
                    }
                    continue;
                }
            };
            let mut members: Vec<(String, i64, usize)> = Vec::new();
            let mut used: HashSet<String> = ["sinks".to_string(), "processor.type".to_string()].into();
            if let Some(list) = keys.get("sinks") {
                for (i, m) in list.value.split_whitespace().enumerate() {
                    match live_sinks.get(m) {
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
            if kind == "failover" {
                // Highest priority first; unprioritised members keep their order, last.
                members.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
            }
            let name = self.name_for("sinkgroups", g, line);
            let mut decl = Decl { role: "sink", name: name.clone(), kind, options: Vec::new(), notes: Vec::new() };
            let list: Vec<&str> = members.iter().map(|m| m.0.as_str()).collect();
            decl.options.push(("sinks".into(), format!("[{}]", list.join(", "))));
            let table: OptTable = if kind == "failover" {
                &[("processor.maxpenalty", "max_penalty", Conv::Ms)]
            } else {
                &[
                    ("processor.selector", "selector", Conv::Same),
                    ("processor.backoff", "backoff", Conv::Same),
                    ("processor.selector.maxTimeOut", "max_backoff", Conv::Ms),
                ]
            };
            let k = Kind { kind, options: table, fixed: &[], unneeded: &[] };
            used.extend(self.options(connector_params(Role::Sink, kind), &k, &keys, &full, &mut decl));
            self.leftovers(&full, kind, &[], &keys, &used, &mut decl);
            for m in &members {
                grouped.insert(m.0.clone(), name.clone());
            }
            self.decls.push(decl);
        }

        // ---- consumers of each channel: groups (once) and ungrouped sinks
        let mut consumers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (sink, ch) in &sink_channel {
            let target = grouped.get(sink).cloned().unwrap_or_else(|| sink.clone());
            let list = consumers.entry(ch.clone()).or_default();
            if !list.contains(&target) {
                list.push(target);
            }
        }
        for (ch, list) in consumers.iter_mut() {
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
                    ch_line,
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

        // ---- sources
        let (sources, src_line) = self.listed("sources");
        let mut fed: HashMap<String, usize> = HashMap::new();
        let mut source_stmts: Vec<(String, String, Option<String>)> = Vec::new(); // (head+stages, target, single channel)
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
            let Some(kind) = source_kind(ty.value.trim()) else {
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
            let mut used = self.options(connector_params(Role::Source, kind.kind), &kind, &keys, &full, &mut decl);
            used.insert("channels".into());
            match ty.value.trim() {
                "netcat" | "http" | "org.apache.flume.source.http.HTTPSource" => {
                    self.address(&full, &keys, &mut used, &mut decl, ty.value.trim() != "netcat")
                }
                "TAILDIR" | "taildir" => self.taildir(&full, &keys, &mut used, &mut decl),
                _ => {}
            }
            let stages = self.interceptors(&full, &keys, &mut used, &mut decl);
            let target = self.selector(&full, &keys, &mut used, &mut decl, &live_channels, line);
            self.leftovers(&full, &ty.value, kind.unneeded, &keys, &used, &mut decl);
            self.decls.push(decl);
            if let Some((target, single)) = target {
                if let Some(c) = &single {
                    *fed.entry(c.clone()).or_default() += 1;
                } else {
                    let words: HashSet<&str> =
                        target.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).collect();
                    for c in live_channels.values() {
                        if words.contains(c.as_str()) {
                            *fed.entry(c.clone()).or_default() += 2;
                        }
                    }
                }
                source_stmts.push((format!("{name}{stages}"), target, single));
            }
        }

        // ---- channels nothing uses any more are removed, as Flume removes them
        let unused: Vec<String> =
            live_channels.values().filter(|c| !fed.contains_key(*c) && !consumers.contains_key(*c)).cloned().collect();
        for c in unused {
            let line = self.comp("channels", &c).map_or(ch_line, |comp| comp.line);
            self.warn(line, format!("channel `{c}` is connected to no imported source or sink; Flume removes such a channel, and so does the import"));
            self.decls.retain(|d| !(matches!(d.role, "channel" | "topic") && d.name == c));
        }
        if live_channels.is_empty() {
            self.warn(
                ch_line,
                format!(
                    "agent `{agent}` has no channel flowc could import; Flume rejects an agent without a valid channel"
                ),
            );
        }

        // ---- pipelines: `r -> c -> k` when a channel joins exactly one source to one consumer
        let mut chained: HashSet<String> = HashSet::new();
        for (head, target, single) in &source_stmts {
            // After interceptor stages the edge goes on its own line too.
            let arrow = if head.contains('\n') { "\n  ->" } else { " ->" };
            match single {
                Some(c)
                    if fed.get(c) == Some(&1)
                        && consumers.get(c).is_some_and(|l| l.len() == 1)
                        && !self.topics.contains_key(c) =>
                {
                    self.flows.push(format!("{head}{arrow} {c} -> {}", consumers[c][0]));
                    chained.insert(c.clone());
                }
                _ => self.flows.push(format!("{head}{arrow} {target}")),
            }
        }
        for (ch, list) in &consumers {
            if let Some(group) = self.topics.get(ch) {
                let targets = if list.len() == 1 { list[0].clone() } else { format!("[{}]", list.join(", ")) };
                self.flows.push(format!("{ch} -> group {} -> {targets}", flow_string(group)));
            } else if !chained.contains(ch) {
                for k in list {
                    self.flows.push(format!("{ch} -> {k}"));
                }
            }
        }

        self.render()
    }
}
