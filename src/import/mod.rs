//! `flowc import`: a Flume agent's properties file translated into a `.flow` file.
//!
//! Pure functions on text: [`translate`] takes the properties text (and an agent name) and returns the
//! `.flow` text and one [`ImportDiagnostic`] per key it could not translate or that Flume itself would
//! have ignored, with the properties file's line. Option names and types come from the stdlib's
//! connector signatures (`flowc_stdlib::registry()`), so what is written is what `flowc check` reads.
//!
//! What is translated: sources (`spooldir`, `exec`, `TAILDIR`, `netcat`, `http`, `seq`, the stress
//! and Kafka sources), channels (`memory`, `file`), sinks (`logger`, `hdfs`, `file_roll`, the Kafka
//! sink), interceptors (`timestamp`, `host`, `static`, UUID, `regex_filter`) as `set`/`where`, selectors
//! (replicating → fan-out, multiplexing → `route`), sink groups (`failover`, `load_balance`), and
//! several sinks competing for one channel (→ a `load_balance` group). Everything else is reported.

pub mod properties;

use flowc_compiler::builtins::{ParamType, Role};
use properties::Property;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Something about one line of the properties file that the translation could not carry over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportDiagnostic {
    /// 1-based line in the properties file (0 when it is about the file as a whole).
    pub line: usize,
    pub message: String,
}

/// The agents a properties file defines (keys `AGENT.sources|channels|sinks|sinkgroups…`), in order.
pub fn agents(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in properties::parse(text) {
        let mut parts = p.key.splitn(3, '.');
        let (Some(agent), Some(section)) = (parts.next(), parts.next()) else { continue };
        if SECTIONS.contains(&section) && !out.iter().any(|a| a == agent) {
            out.push(agent.to_string());
        }
    }
    out
}

/// Translates one agent of a properties file. `agent` may be omitted when the file defines only one.
/// The error is a sentence for the user (no agent, several agents, an unknown agent).
pub fn translate(text: &str, agent: Option<&str>) -> Result<(String, Vec<ImportDiagnostic>), String> {
    let found = agents(text);
    let agent = match agent {
        Some(name) if found.iter().any(|a| a == name) => name.to_string(),
        Some(name) if found.is_empty() => return Err(format!("no agent `{name}`: the file defines no Flume agent")),
        Some(name) => return Err(format!("no agent `{name}` in the file; it defines: {}", found.join(", "))),
        None => match found.len() {
            0 => {
                return Err("the file defines no Flume agent (no `AGENT.sources`, `.channels` or `.sinks` keys)".into())
            }
            1 => found[0].clone(),
            _ => {
                return Err(format!(
                    "the file defines several agents: {}; choose one with --agent NAME",
                    found.join(", ")
                ))
            }
        },
    };
    let mut t = Translator::new(&agent);
    t.read(text, &found);
    let flow = t.emit();
    let mut diags = t.diags;
    diags.sort_by_key(|d| d.line);
    Ok((flow, diags))
}

const SECTIONS: &[&str] = &["sources", "channels", "sinks", "sinkgroups"];

// ---------------------------------------------------------------- option tables

/// How a Flume value becomes a flowc value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Conv {
    /// By the flowc option's type.
    Same,
    /// Milliseconds → a duration.
    Ms,
    /// Seconds → a duration.
    Secs,
    /// Bytes → a size.
    Bytes,
}

/// `(Flume key, flowc option, conversion)`; a flowc option `a.b` is option `b` of block `a`.
type OptTable = &'static [(&'static str, &'static str, Conv)];

struct Kind {
    /// flowc's connector kind.
    kind: &'static str,
    options: OptTable,
    /// Options the translation always writes (e.g. `mode = sequence` for `seq`).
    fixed: &'static [(&'static str, &'static str)],
}

const SPOOLDIR: OptTable = &[
    ("spoolDir", "dir", Conv::Same),
    ("fileSuffix", "completed_suffix", Conv::Same),
    ("deletePolicy", "delete_policy", Conv::Same),
    ("includePattern", "include", Conv::Same),
    ("ignorePattern", "ignore", Conv::Same),
    ("consumeOrder", "order", Conv::Same),
    ("pollDelay", "poll_interval", Conv::Ms),
    ("recursiveDirectorySearch", "recursive", Conv::Same),
    ("batchSize", "batch_size", Conv::Same),
    ("deserializer.maxLineLength", "max_line_length", Conv::Bytes),
];
const EXEC: OptTable = &[
    ("command", "command", Conv::Same),
    ("shell", "shell", Conv::Same),
    ("restart", "restart", Conv::Same),
    ("restartThrottle", "restart_throttle", Conv::Ms),
    ("logStdErr", "log_stderr", Conv::Same),
    ("batchSize", "batch_size", Conv::Same),
    ("batchTimeout", "batch_timeout", Conv::Ms),
];
const TAILDIR: OptTable = &[("batchSize", "batch_size", Conv::Same)];
const NETCAT: OptTable = &[("max-line-length", "max_line_length", Conv::Bytes), ("ack-every-event", "ack", Conv::Same)];
const SEQ: OptTable = &[("totalEvents", "count", Conv::Same), ("batchSize", "batch_size", Conv::Same)];
const STRESS: OptTable = &[
    ("size", "size", Conv::Bytes),
    ("maxTotalEvents", "count", Conv::Same),
    ("maxEventsPerSecond", "rate", Conv::Same),
    ("batchSize", "batch_size", Conv::Same),
];
const KAFKA_SOURCE: OptTable = &[
    ("kafka.bootstrap.servers", "brokers", Conv::Same),
    ("kafka.topics", "topic", Conv::Same),
    ("kafka.consumer.group.id", "group", Conv::Same),
    ("kafka.consumer.auto.offset.reset", "start", Conv::Same),
    ("batchSize", "batch_size", Conv::Same),
];
const MEMORY: OptTable = &[
    ("capacity", "capacity", Conv::Same),
    ("transactionCapacity", "transaction_capacity", Conv::Same),
    ("byteCapacity", "byte_capacity", Conv::Bytes),
    ("keep-alive", "keep_alive", Conv::Secs),
];
const FILE_CHANNEL: OptTable = &[
    ("dataDirs", "dir", Conv::Same),
    ("capacity", "capacity", Conv::Same),
    ("transactionCapacity", "transaction_capacity", Conv::Same),
    ("maxFileSize", "segment_size", Conv::Bytes),
];
const LOGGER: OptTable = &[("maxBytesToLog", "max_bytes", Conv::Bytes)];
const HDFS: OptTable = &[
    ("hdfs.path", "path", Conv::Same),
    ("hdfs.filePrefix", "prefix", Conv::Same),
    ("hdfs.fileSuffix", "suffix", Conv::Same),
    ("hdfs.inUseSuffix", "in_use_suffix", Conv::Same),
    ("hdfs.rollInterval", "roll.interval", Conv::Secs),
    ("hdfs.rollSize", "roll.size", Conv::Bytes),
    ("hdfs.rollCount", "roll.count", Conv::Same),
    ("hdfs.idleTimeout", "roll.idle", Conv::Secs),
    ("hdfs.batchSize", "batch", Conv::Same),
    ("hdfs.useLocalTimeStamp", "use_local_time", Conv::Same),
    ("hdfs.maxOpenFiles", "max_open_files", Conv::Same),
];
const FILE_ROLL: OptTable = &[
    ("sink.directory", "path", Conv::Same),
    ("sink.rollInterval", "roll.interval", Conv::Secs),
    ("sink.batchSize", "batch", Conv::Same),
];
const KAFKA_SINK: OptTable = &[
    ("kafka.bootstrap.servers", "brokers", Conv::Same),
    ("kafka.topic", "topic", Conv::Same),
    ("kafka.producer.acks", "acks", Conv::Same),
];

fn source_kind(flume: &str) -> Option<Kind> {
    let (kind, options, fixed): (&'static str, OptTable, &'static [(&str, &str)]) = match flume {
        "spooldir" => ("spooldir", SPOOLDIR, &[]),
        "exec" => ("exec", EXEC, &[]),
        "TAILDIR" | "taildir" => ("tail", TAILDIR, &[]),
        "netcat" => ("netcat", NETCAT, &[]),
        "http" | "org.apache.flume.source.http.HTTPSource" => ("http", &[], &[]),
        "seq" => ("generator", SEQ, &[("mode", "sequence")]),
        "org.apache.flume.source.StressSource" => ("generator", STRESS, &[("mode", "stress")]),
        "org.apache.flume.source.kafka.KafkaSource" | "kafka" => ("kafka", KAFKA_SOURCE, &[]),
        _ => return None,
    };
    Some(Kind { kind, options, fixed })
}

fn channel_kind(flume: &str) -> Option<Kind> {
    match flume {
        "memory" => Some(Kind { kind: "memory", options: MEMORY, fixed: &[] }),
        "file" => Some(Kind { kind: "file", options: FILE_CHANNEL, fixed: &[] }),
        _ => None,
    }
}

fn sink_kind(flume: &str) -> Option<Kind> {
    let (kind, options): (&'static str, OptTable) = match flume {
        "logger" => ("logger", LOGGER),
        "null" => ("null", &[]),
        "hdfs" => ("files", HDFS),
        "file_roll" => ("files", FILE_ROLL),
        "org.apache.flume.sink.kafka.KafkaSink" | "kafka" => ("kafka", KAFKA_SINK),
        _ => return None,
    };
    Some(Kind { kind, options, fixed: &[] })
}

// ---------------------------------------------------------------- values

/// A Flume value carrying what looks like an end-of-line note: ` //…` or ` #…`.
fn inline_note(value: &str) -> Option<&str> {
    let bytes = value.as_bytes();
    (1..bytes.len()).find_map(|i| {
        let ws = bytes[i - 1] == b' ' || bytes[i - 1] == b'\t';
        (ws && (value[i..].starts_with("//") || value[i..].starts_with('#'))).then(|| &value[i..])
    })
}

/// A flowc string literal; Flume's `${env:X}` becomes flowc's `${X}`, other `${…}` stay literal.
fn flow_string(value: &str) -> String {
    let mut out = String::from("\"");
    let mut rest = value;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("${") {
            if let Some(end) = after.find('}') {
                let name = after[..end].strip_prefix("env:").unwrap_or(&after[..end]);
                let valid = !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !name.starts_with(|c: char| c.is_ascii_digit());
                if valid {
                    out.push_str(&format!("${{{name}}}"));
                    rest = &after[end + 1..];
                    continue;
                }
            }
            out.push_str("\\$");
            rest = &rest[1..];
            continue;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out.push('"');
    out
}

fn duration(ms: u64) -> String {
    match ms {
        0 => "0s".into(),
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1000) => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

fn size(bytes: u64) -> String {
    const UNITS: &[(u64, &str)] = &[(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes > 0 && bytes.is_multiple_of(*unit) {
            return format!("{}{name}", bytes / unit);
        }
    }
    format!("{bytes}B")
}

fn int_literal(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    if digits.len() < 5 {
        return n.to_string();
    }
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn parse_u64(value: &str) -> Result<u64, String> {
    value.parse::<u64>().map_err(|_| format!("Flume cannot read `{value}` as a number (it would drop the component)"))
}

/// Converts a Flume value for a flowc option of type `ty`.
fn convert(value: &str, conv: Conv, ty: ParamType) -> Result<String, String> {
    let v = value.trim();
    match conv {
        Conv::Ms => return Ok(duration(parse_u64(v)?)),
        Conv::Secs => return Ok(duration(parse_u64(v)?.saturating_mul(1000))),
        Conv::Bytes => return Ok(size(parse_u64(v)?)),
        Conv::Same => {}
    }
    match ty {
        ParamType::String | ParamType::PathTemplate | ParamType::Regex | ParamType::Address => Ok(flow_string(value)),
        ParamType::Int { min, max } => {
            let n: i64 =
                v.parse().map_err(|_| format!("Flume cannot read `{v}` as a number (it would drop the component)"))?;
            if n < min || n > max {
                return Err(format!("{n} is outside flowc's range {min}..={max}"));
            }
            Ok(int_literal(n))
        }
        ParamType::Bool => match v.to_ascii_lowercase().as_str() {
            "true" => Ok("true".into()),
            "false" => Ok("false".into()),
            _ => Err(format!("`{v}` is not `true` or `false` (Flume would read it as false)")),
        },
        ParamType::Enum(choices) => {
            let word = match v {
                "-1" => "all".to_string(),
                _ => v.to_ascii_lowercase(),
            };
            if choices.contains(&word.as_str()) {
                Ok(
                    if word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && !word.starts_with(|c: char| c.is_ascii_digit())
                    {
                        word
                    } else {
                        flow_string(&word)
                    },
                )
            } else {
                Err(format!("`{v}` has no flowc equivalent (flowc's choices: {})", choices.join(", ")))
            }
        }
        _ => Err("no flowc equivalent".into()),
    }
}

/// The type of option `name` (`a.b` = option `b` of record option `a`) of a flowc connector.
fn param_type(role: Role, kind: &str, name: &str) -> Option<ParamType> {
    let sig = flowc_stdlib::registry().connector(role, kind)?;
    let (outer, inner) = match name.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (name, None),
    };
    let param = sig.params.iter().find(|p| p.name == outer)?;
    match (inner, param.ty) {
        (None, ty) => Some(ty),
        (Some(inner), ParamType::Record(fields)) => fields.iter().find(|p| p.name == inner).map(|p| p.ty),
        _ => None,
    }
}

const KEYWORDS: &[&str] = &[
    "type", "topic", "source", "channel", "sink", "group", "where", "select", "set", "drop", "parse", "as", "else",
    "route", "and", "or", "not", "in", "true", "false", "null",
];

fn is_ident(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !KEYWORDS.contains(&name)
}

/// A flowc name for a Flume component name.
fn sanitize(name: &str) -> String {
    let mut out: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

// ---------------------------------------------------------------- the translator

/// One `key = value` of a component, with its line.
#[derive(Clone)]
struct Val {
    value: String,
    line: usize,
}

#[derive(Default)]
struct Component {
    /// Keys below `AGENT.SECTION.NAME.`.
    keys: BTreeMap<String, Val>,
    /// The first line that mentions it.
    line: usize,
}

/// A declaration to write: `ROLE NAME = KIND { options }`, with comments for what was left out.
struct Decl {
    role: &'static str,
    name: String,
    kind: &'static str,
    options: Vec<(String, String)>,
    notes: Vec<String>,
}

struct Translator {
    agent: String,
    diags: Vec<ImportDiagnostic>,
    lists: HashMap<&'static str, (Vec<String>, usize)>,
    comps: HashMap<&'static str, BTreeMap<String, Component>>,
    /// Flume name → flowc name, per section.
    names: HashMap<(&'static str, String), String>,
    used: HashSet<String>,
    decls: Vec<Decl>,
    flows: Vec<String>,
    skipped: Vec<String>,
}

impl Translator {
    fn new(agent: &str) -> Self {
        Translator {
            agent: agent.to_string(),
            diags: Vec::new(),
            lists: HashMap::new(),
            comps: HashMap::new(),
            names: HashMap::new(),
            used: HashSet::new(),
            decls: Vec::new(),
            flows: Vec::new(),
            skipped: Vec::new(),
        }
    }

    fn warn(&mut self, line: usize, message: impl Into<String>) {
        self.diags.push(ImportDiagnostic { line, message: message.into() });
    }

    /// Sorts the agent's keys into component lists and component settings.
    fn read(&mut self, text: &str, agents: &[String]) {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let props: Vec<Property> = properties::parse(text);
        for p in &props {
            if let Some(first) = seen.insert(p.key.clone(), p.line) {
                let belongs = p.key.starts_with(&format!("{}.", self.agent));
                if belongs {
                    self.warn(
                        p.line,
                        format!("`{}` is given twice (lines {first} and {}); Flume keeps the last one", p.key, p.line),
                    );
                }
            }
        }
        for p in props {
            let mut parts = p.key.splitn(4, '.');
            let agent = parts.next().unwrap_or("");
            if agent != self.agent {
                let other_agent = agents.iter().any(|a| a == agent);
                if !other_agent && agents.len() == 1 {
                    self.warn(
                        p.line,
                        format!(
                            "`{}` is not an `AGENT.sources|channels|sinks|sinkgroups…` key; Flume ignores it",
                            p.key
                        ),
                    );
                }
                continue;
            }
            let section = parts.next().unwrap_or("");
            let Some(section) = SECTIONS.iter().copied().find(|s| *s == section) else {
                self.warn(
                    p.line,
                    format!("`{}`: `{section}` is not a section Flume knows (sources, channels, sinks, sinkgroups); Flume ignores it", p.key),
                );
                continue;
            };
            match (parts.next(), parts.next()) {
                (None, _) => {
                    let names: Vec<String> = p.value.split_whitespace().map(str::to_string).collect();
                    self.lists.insert(section, (names, p.line));
                }
                (Some(name), Some(rest)) => {
                    let comp = self.comps.entry(section).or_default().entry(name.to_string()).or_default();
                    if comp.line == 0 || p.line < comp.line {
                        comp.line = p.line;
                    }
                    comp.keys.insert(rest.to_string(), Val { value: p.value, line: p.line });
                }
                (Some(name), None) => self.warn(
                    p.line,
                    format!(
                        "`{}` sets nothing on `{name}` (expected `{}.{section}.{name}.KEY`); Flume ignores it",
                        p.key, self.agent
                    ),
                ),
            }
        }
        // Components configured but not listed are ignored by Flume.
        for section in SECTIONS {
            let listed: Vec<String> = self.lists.get(section).map(|l| l.0.clone()).unwrap_or_default();
            let unlisted: Vec<(String, usize)> = self
                .comps
                .get(section)
                .map(|m| m.iter().filter(|(n, _)| !listed.contains(n)).map(|(n, c)| (n.clone(), c.line)).collect())
                .unwrap_or_default();
            for (name, line) in unlisted {
                self.warn(
                    line,
                    format!(
                        "`{name}` is configured but not listed in `{}.{section}`; Flume ignores it, and so does the import",
                        self.agent
                    ),
                );
            }
        }
    }

    fn listed(&self, section: &'static str) -> (Vec<String>, usize) {
        self.lists.get(section).cloned().unwrap_or_default()
    }

    fn comp(&self, section: &'static str, name: &str) -> Option<&Component> {
        self.comps.get(section).and_then(|m| m.get(name))
    }

    fn name_for(&mut self, section: &'static str, name: &str, line: usize) -> String {
        if let Some(n) = self.names.get(&(section, name.to_string())) {
            return n.clone();
        }
        let mut out = sanitize(name);
        if self.used.contains(&out) {
            let role = &section[..section.len() - 1];
            out = format!("{out}_{role}");
            while self.used.contains(&out) {
                out.push('_');
            }
        }
        if out != name {
            self.warn(line, format!("`{name}` is written `{out}` (flowc names are one namespace of identifiers)"));
        }
        self.used.insert(out.clone());
        self.names.insert((section, name.to_string()), out.clone());
        out
    }

    /// Translates the options of one component through its table; returns the keys it used.
    fn options(
        &mut self,
        role: Role,
        kind: &Kind,
        comp_keys: &BTreeMap<String, Val>,
        full: &str,
        decl: &mut Decl,
    ) -> HashSet<String> {
        let mut used = HashSet::new();
        for (k, v) in kind.fixed {
            decl.options.push((k.to_string(), v.to_string()));
        }
        let mut nested: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (flume, flowc, conv) in kind.options {
            let Some(val) = comp_keys.get(*flume) else { continue };
            used.insert(flume.to_string());
            let Some(value) = self.checked_value(full, flume, val, decl) else { continue };
            let Some(ty) = param_type(role, kind.kind, flowc) else {
                self.not_imported(full, flume, val, decl, "flowc has no such option");
                continue;
            };
            match convert(&value, *conv, ty) {
                Ok(text) => match flowc.split_once('.') {
                    Some((outer, inner)) => {
                        nested.entry(outer.to_string()).or_default().push((inner.to_string(), text))
                    }
                    None => decl.options.push((flowc.to_string(), text)),
                },
                Err(why) => self.not_imported(full, flume, val, decl, &why),
            }
        }
        for (outer, fields) in nested {
            let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            decl.options.push((outer, format!("{{ {} }}", inner.join(", "))));
        }
        used
    }

    /// The value of a key, unless it carries an inline note (reported, and the key is left out).
    fn checked_value(&mut self, full: &str, key: &str, val: &Val, decl: &mut Decl) -> Option<String> {
        if let Some(note) = inline_note(&val.value) {
            self.warn(
                val.line,
                format!(
                    "`{full}.{key}` = `{}`: `{note}` looks like a note, but a properties file has no end-of-line \
                     comments, so Flume reads it as part of the value; not imported (move the note to a `#` line \
                     of its own, or keep it if it is meant, and import again)",
                    val.value
                ),
            );
            decl.notes.push(format!("line {}: {key} = {} (not imported: inline note)", val.line, val.value));
            return None;
        }
        Some(val.value.clone())
    }

    fn not_imported(&mut self, full: &str, key: &str, val: &Val, decl: &mut Decl, why: &str) {
        self.warn(val.line, format!("`{full}.{key}` = `{}`: {why}; not imported", val.value));
        decl.notes.push(format!("line {}: {key} = {} (not imported)", val.line, val.value));
    }

    /// Reports the keys of a component nothing used.
    fn leftovers(
        &mut self,
        full: &str,
        flume_type: &str,
        keys: &BTreeMap<String, Val>,
        used: &HashSet<String>,
        decl: &mut Decl,
    ) {
        for (key, val) in keys {
            if used.contains(key) || key == "type" {
                continue;
            }
            let message = match known_without_equivalent(key) {
                Some(why) => format!("`{full}.{key}`: {why}; not imported"),
                None => format!(
                    "`{full}.{key}`: no flowc equivalent for this option of Flume's `{flume_type}` (or not an option \
                     Flume knows: Flume ignores keys it does not read); not imported"
                ),
            };
            self.warn(val.line, message);
            decl.notes.push(format!("line {}: {key} = {} (not imported)", val.line, val.value));
        }
    }

    fn emit(&mut self) -> String {
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
            let used = self.options(Role::Channel, &kind, &keys, &full, &mut decl);
            self.leftovers(&full, &ty.value, &keys, &used, &mut decl);
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
            let mut used = self.options(Role::Sink, &kind, &keys, &full, &mut decl);
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
            self.leftovers(&full, &ty.value, &keys, &used, &mut decl);
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
            let k = Kind { kind, options: table, fixed: &[] };
            used.extend(self.options(Role::Sink, &k, &keys, &full, &mut decl));
            self.leftovers(&full, kind, &keys, &used, &mut decl);
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
            if list.len() > 1 {
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
            let mut used = self.options(Role::Source, &kind, &keys, &full, &mut decl);
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
            self.leftovers(&full, &ty.value, &keys, &used, &mut decl);
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
            self.decls.retain(|d| !(d.role == "channel" && d.name == c));
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
                Some(c) if fed.get(c) == Some(&1) && consumers.get(c).is_some_and(|l| l.len() == 1) => {
                    self.flows.push(format!("{head}{arrow} {c} -> {}", consumers[c][0]));
                    chained.insert(c.clone());
                }
                _ => self.flows.push(format!("{head}{arrow} {target}")),
            }
        }
        for (ch, list) in &consumers {
            if !chained.contains(ch) {
                for k in list {
                    self.flows.push(format!("{ch} -> {k}"));
                }
            }
        }

        self.render()
    }

    fn address(
        &mut self,
        full: &str,
        keys: &BTreeMap<String, Val>,
        used: &mut HashSet<String>,
        decl: &mut Decl,
        http: bool,
    ) {
        used.insert("bind".into());
        used.insert("port".into());
        let bind = match keys.get("bind") {
            Some(v) => self.checked_value(full, "bind", v, decl),
            None if http => Some("0.0.0.0".into()),
            None => None,
        };
        let port = keys.get("port").and_then(|v| self.checked_value(full, "port", v, decl));
        match (bind, port) {
            (Some(b), Some(p)) => {
                let address = format!("{}:{}", b.trim(), p.trim());
                if address.contains("${") {
                    let line = keys.get("port").or(keys.get("bind")).map_or(0, |v| v.line);
                    self.warn(
                        line,
                        format!(
                            "`{full}`: `{address}` takes part of the address from the environment; `flowc check` \
                             does not accept `${{…}}` in an address yet (E0315): write the value"
                        ),
                    );
                }
                decl.options.push(("address".into(), flow_string(&address)))
            }
            _ => {
                let line = keys.get("type").map_or(0, |v| v.line);
                self.warn(line, format!("`{full}` needs `bind` and `port` (flowc's `address`); not imported"));
            }
        }
    }

    fn taildir(&mut self, full: &str, keys: &BTreeMap<String, Val>, used: &mut HashSet<String>, decl: &mut Decl) {
        let Some(groups) = keys.get("filegroups").cloned() else { return };
        used.insert("filegroups".into());
        let names: Vec<&str> = groups.value.split_whitespace().collect();
        if names.len() != 1 {
            self.warn(groups.line, format!("`{full}.filegroups` names {} groups; flowc's `tail` reads one path pattern per source; only the first is imported", names.len()));
        }
        if let Some(first) = names.first() {
            let key = format!("filegroups.{first}");
            if let Some(v) = keys.get(&key).cloned() {
                used.insert(key.clone());
                if let Some(path) = self.checked_value(full, &key, &v, decl) {
                    decl.options.push(("path".into(), flow_string(path.trim())));
                }
            }
        }
        if let Some(v) = keys.get("skipToEnd").cloned() {
            used.insert("skipToEnd".into());
            let at = if v.value.trim().eq_ignore_ascii_case("true") { "end" } else { "beginning" };
            decl.options.push(("start_at".into(), at.into()));
        }
    }

    fn hdfs_extras(
        &mut self,
        full: &str,
        keys: &BTreeMap<String, Val>,
        used: &mut HashSet<String>,
        decl: &mut Decl,
        any_ts: bool,
    ) {
        for k in ["hdfs.round", "hdfs.roundValue", "hdfs.roundUnit", "hdfs.fileType", "hdfs.codeC", "hdfs.timeZone"] {
            used.insert(k.into());
        }
        let get = |k: &str| keys.get(k).cloned();
        // round = true + roundValue + roundUnit → round = 10m
        let mut noted = false;
        for k in ["hdfs.roundValue", "hdfs.roundUnit"] {
            if let Some(v) = get(k) {
                noted |= self.checked_value(full, k, &v, decl).is_none();
            }
        }
        if noted {
            // Reported above: the rounding cannot be read (nor whether it is on).
            if let Some(r) = get("hdfs.round") {
                self.checked_value(full, "hdfs.round", &r, decl);
            }
        } else if let Some(round) = get("hdfs.round") {
            if let Some(on) = self.checked_value(full, "hdfs.round", &round, decl) {
                let value = get("hdfs.roundValue");
                let unit = get("hdfs.roundUnit");
                let value_text = Some(value.as_ref().map_or("1".to_string(), |v| v.value.clone()));
                let unit_text = Some(unit.as_ref().map_or("second".to_string(), |v| v.value.clone()));
                if on.trim().eq_ignore_ascii_case("true") {
                    if let (Some(n), Some(u)) = (value_text, unit_text) {
                        let secs = match u.trim() {
                            "second" => Some(1),
                            "minute" => Some(60),
                            "hour" => Some(3600),
                            _ => None,
                        };
                        match (n.trim().parse::<u64>(), secs) {
                            (Ok(n), Some(s)) => decl.options.push(("round".into(), duration(n * s * 1000))),
                            _ => self.warn(round.line, format!("`{full}.hdfs.roundValue`/`roundUnit` = `{n}` `{u}` cannot be read; round not imported")),
                        }
                    }
                } else if value.is_some() || unit.is_some() {
                    self.warn(
                        round.line,
                        format!("`{full}.hdfs.round` is not true: Flume ignores roundValue/roundUnit"),
                    );
                }
            }
        } else if let Some(v) = get("hdfs.roundValue").or_else(|| get("hdfs.roundUnit")) {
            self.warn(
                v.line,
                format!("`{full}`: roundValue/roundUnit without `hdfs.round = true`; Flume ignores them"),
            );
        }
        if let Some(ft) = get("hdfs.fileType") {
            if let Some(v) = self.checked_value(full, "hdfs.fileType", &ft, decl) {
                match v.trim() {
                    "DataStream" => decl.options.push(("format".into(), "lines".into())),
                    "CompressedStream" => {
                        decl.options.push(("format".into(), "lines".into()));
                        let codec = get("hdfs.codeC");
                        let c = codec.as_ref().map(|c| c.value.trim().to_ascii_lowercase());
                        match c.as_deref() {
                            Some("gzip") | Some("gzipcodec") => decl.options.push(("compression".into(), "gzip".into())),
                            Some("snappy") | Some("snappycodec") => decl.options.push(("compression".into(), "snappy".into())),
                            _ => self.warn(codec.map_or(ft.line, |c| c.line), format!("`{full}.hdfs.codeC`: flowc compresses with gzip, zstd or snappy; compression not imported")),
                        }
                    }
                    other => {
                        let v = ft.clone();
                        self.not_imported(
                            full,
                            "hdfs.fileType",
                            &v,
                            decl,
                            &format!("flowc writes no `{other}`; the files are written as `lines`"),
                        );
                        decl.options.push(("format".into(), "lines".into()));
                    }
                }
            }
        }
        if let Some(tz) = get("hdfs.timeZone") {
            let v = tz.value.trim();
            if v.eq_ignore_ascii_case("UTC") || v == "GMT" {
                decl.options.push(("timezone".into(), "utc".into()));
            } else {
                self.not_imported(full, "hdfs.timeZone", &tz, decl, "flowc buckets in `utc` or `local` time only");
            }
        }
        let path = get("hdfs.path");
        if let Some(p) = &path {
            if p.value.trim_start().starts_with("hdfs://") && inline_note(&p.value).is_none() {
                self.warn(p.line, format!("`{full}.hdfs.path` is on HDFS: flowc's `files` sink writes local paths and object stores (s3://, gs://, az://); change the path before running"));
            }
            let has_time = ["%Y", "%y", "%m", "%d", "%H", "%M", "%S", "%s"].iter().any(|e| p.value.contains(e));
            let local = decl.options.iter().any(|(k, v)| k == "use_local_time" && v == "true");
            if has_time && !local && any_ts {
                decl.options.push(("time_field".into(), "ts".into()));
            }
        }
    }

    /// Flume interceptors as `| set …` and `| where …` stages.
    fn interceptors(
        &mut self,
        full: &str,
        keys: &BTreeMap<String, Val>,
        used: &mut HashSet<String>,
        decl: &mut Decl,
    ) -> String {
        let Some(list) = keys.get("interceptors").cloned() else { return String::new() };
        used.insert("interceptors".into());
        let mut stages = String::new();
        let mut sets: Vec<String> = Vec::new();
        let flush = |sets: &mut Vec<String>, stages: &mut String| {
            if !sets.is_empty() {
                stages.push_str(&format!("\n  | set {}", sets.join(", ")));
                sets.clear();
            }
        };
        for i in list.value.split_whitespace() {
            let prefix = format!("interceptors.{i}.");
            let mine: Vec<(String, Val)> = keys
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
                .collect();
            for (k, _) in &mine {
                used.insert(format!("{prefix}{k}"));
            }
            let opt = |name: &str| mine.iter().find(|(k, _)| k == name).map(|(_, v)| v.value.trim().to_string());
            let Some(ty) = mine.iter().find(|(k, _)| k == "type").map(|(_, v)| v.clone()) else {
                self.warn(list.line, format!("interceptor `{i}` of `{full}` has no `type`; Flume drops the source"));
                continue;
            };
            let t = ty.value.trim();
            let known: &[&str] = match t {
                _ if is_timestamp(t) => {
                    let field = opt("headerName").unwrap_or_else(|| "ts".into());
                    self.set_field(&mut sets, &field, "now()", &ty, full);
                    &["type", "headerName", "preserveExisting"]
                }
                "host" | "org.apache.flume.interceptor.HostInterceptor$Builder" => {
                    let field = opt("hostHeader").unwrap_or_else(|| "host".into());
                    if opt("useIP").is_none_or(|v| !v.eq_ignore_ascii_case("false")) {
                        self.warn(ty.line, format!("interceptor `{i}`: Flume's host interceptor writes the IP address unless `useIP = false`; flowc's `hostname()` is the host name"));
                    }
                    self.set_field(&mut sets, &field, "hostname()", &ty, full);
                    &["type", "hostHeader", "useIP", "preserveExisting"]
                }
                "static" | "org.apache.flume.interceptor.StaticInterceptor$Builder" => {
                    let field = opt("key").unwrap_or_else(|| "key".into());
                    let value = opt("value").unwrap_or_else(|| "value".into());
                    self.set_field(&mut sets, &field, &flow_string(&value), &ty, full);
                    &["type", "key", "value", "preserveExisting"]
                }
                "org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder" => {
                    let field = opt("headerName").unwrap_or_else(|| "id".into());
                    self.set_field(&mut sets, &field, "uuid()", &ty, full);
                    &["type", "headerName", "preserveExisting"]
                }
                "regex_filter" | "org.apache.flume.interceptor.RegexFilteringInterceptor$Builder" => {
                    flush(&mut sets, &mut stages);
                    let regex = opt("regex").unwrap_or_else(|| ".*".into());
                    let op =
                        if opt("excludeEvents").is_some_and(|v| v.eq_ignore_ascii_case("true")) { "!~" } else { "=~" };
                    stages.push_str(&format!("\n  | where line {op} {}", flow_string(&regex)));
                    &["type", "regex", "excludeEvents"]
                }
                _ => {
                    self.warn(ty.line, format!("interceptor `{i}` of `{full}`: Flume interceptor `{t}` has no flowc equivalent; not imported"));
                    decl.notes.push(format!("line {}: interceptor {i} ({t}) not imported", ty.line));
                    &["type"]
                }
            };
            for (k, v) in &mine {
                if !known.contains(&k.as_str()) {
                    self.warn(
                        v.line,
                        format!("`{full}.{prefix}{k}`: not an option of this interceptor; Flume ignores it"),
                    );
                }
            }
        }
        flush(&mut sets, &mut stages);
        stages
    }

    fn set_field(&mut self, sets: &mut Vec<String>, field: &str, expr: &str, ty: &Val, full: &str) {
        let ok = !field.is_empty()
            && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !field.starts_with(|c: char| c.is_ascii_digit());
        if !ok {
            self.warn(
                ty.line,
                format!("`{full}`: header `{field}` is not a flowc field name; interceptor not imported"),
            );
            return;
        }
        let prefix = format!("{field} = ");
        if let Some(pos) = sets.iter().position(|s| s.starts_with(&prefix)) {
            self.warn(
                ty.line,
                format!("`{full}`: header `{field}` is set twice; the later interceptor's value is kept"),
            );
            sets.remove(pos);
        }
        sets.push(format!("{field} = {expr}"));
    }

    /// The target of a source: its channel, a fan-out, or a route. `Some(single channel)` when one.
    fn selector(
        &mut self,
        full: &str,
        keys: &BTreeMap<String, Val>,
        used: &mut HashSet<String>,
        decl: &mut Decl,
        live: &HashMap<String, String>,
        line: usize,
    ) -> Option<(String, Option<String>)> {
        let Some(chs) = keys.get("channels").cloned() else {
            self.warn(line, format!("`{full}` has no `channels`; Flume drops the source"));
            return None;
        };
        let resolve = |this: &mut Self, names: &str, at: usize| -> Vec<String> {
            names
                .split_whitespace()
                .filter_map(|c| match live.get(c) {
                    Some(n) => Some(n.clone()),
                    None => {
                        this.warn(
                            at,
                            format!("`{full}` writes to channel `{c}`, which is not an imported channel; left out"),
                        );
                        None
                    }
                })
                .collect()
        };
        let selector = keys.get("selector.type").map(|v| v.value.trim().to_string());
        for k in keys.keys().filter(|k| k.starts_with("selector.")) {
            used.insert(k.clone());
        }
        if let Some(opt) = keys.get("selector.optional") {
            let opt = opt.clone();
            self.not_imported(
                full,
                "selector.optional",
                &opt,
                decl,
                "flowc has no optional channels: every target is required",
            );
        }
        match selector.as_deref() {
            None | Some("replicating") => {
                let targets = resolve(self, &chs.value, chs.line);
                match targets.len() {
                    0 => None,
                    1 => Some((targets[0].clone(), Some(targets[0].clone()))),
                    _ => Some((format!("[{}]", targets.join(", ")), None)),
                }
            }
            Some("multiplexing") => {
                let header = keys
                    .get("selector.header")
                    .map_or("flume.selector.header".to_string(), |v| v.value.trim().to_string());
                if !is_ident(&header) {
                    self.warn(
                        line,
                        format!("`{full}.selector.header` = `{header}` is not a flowc field name; route not imported"),
                    );
                    return None;
                }
                let mut arms = Vec::new();
                for (k, v) in keys.iter().filter(|(k, _)| k.starts_with("selector.mapping.")) {
                    let value = &k["selector.mapping.".len()..];
                    let targets = resolve(self, &v.value, v.line);
                    match targets.len() {
                        0 => {}
                        1 => arms.push(format!("{header} == {} => {}", flow_string(value), targets[0])),
                        _ => arms.push(format!("{header} == {} => [{}]", flow_string(value), targets.join(", "))),
                    }
                }
                for (k, v) in keys.iter().filter(|(k, _)| k.starts_with("selector.optional.")) {
                    let v = v.clone();
                    self.not_imported(full, k, &v, decl, "flowc has no optional channels");
                }
                if let Some(d) = keys.get("selector.default") {
                    let targets = resolve(self, &d.value, d.line);
                    match targets.len() {
                        0 => {}
                        1 => arms.push(format!("else => {}", targets[0])),
                        _ => arms.push(format!("else => [{}]", targets.join(", "))),
                    }
                }
                let at = keys.get("selector.type").map_or(line, |v| v.line);
                self.warn(at, format!("`{full}` routes on header `{header}`: in flowc headers are record fields, so `{header}` must be a field of the stream (set it with `| set`, or parse the line)"));
                if arms.is_empty() {
                    return None;
                }
                Some((format!("route {{\n{}\n}}", arms.join("\n")), None))
            }
            Some(other) => {
                let v = keys.get("selector.type").cloned().unwrap_or(chs.clone());
                self.warn(v.line, format!("`{full}.selector.type` = `{other}` has no flowc equivalent; the source fans out to every channel instead"));
                let targets = resolve(self, &chs.value, chs.line);
                match targets.len() {
                    0 => None,
                    1 => Some((targets[0].clone(), Some(targets[0].clone()))),
                    _ => Some((format!("[{}]", targets.join(", ")), None)),
                }
            }
        }
    }

    fn render(&mut self) -> String {
        let mut out = format!("// Flume agent `{}`, translated by `flowc import`.\n", self.agent);
        for s in &self.skipped {
            out.push_str(&format!("// not imported: {s}\n"));
        }
        out.push('\n');
        for d in &mut self.decls {
            d.notes
                .sort_by_key(|n| n.split(':').next().and_then(|l| l.trim_start_matches("line ").parse::<usize>().ok()));
        }
        for role in ["source", "channel", "sink"] {
            let mut any = false;
            for d in self.decls.iter().filter(|d| d.role == role) {
                any = true;
                out.push_str(&format!("{} {} = {} {{", d.role, d.name, d.kind));
                for n in &d.notes {
                    out.push_str(&format!("\n// {n}"));
                }
                for (k, v) in &d.options {
                    out.push_str(&format!("\n{k} = {v}"));
                }
                out.push_str(if d.options.is_empty() && d.notes.is_empty() { "}\n" } else { "\n}\n" });
            }
            if any {
                out.push('\n');
            }
        }
        for f in &self.flows {
            out.push_str(f);
            out.push('\n');
        }
        flowc_compiler::format::format(&out).unwrap_or(out)
    }
}

/// Flume options that flowc does without, and why.
fn known_without_equivalent(key: &str) -> Option<&'static str> {
    Some(match key {
        "positionFile" | "writePosInterval" => {
            "flowc keeps `tail` positions in its data directory and commits them with each batch"
        }
        "checkpointDir" | "backupCheckpointDir" | "useDualCheckpoints" | "checkpointInterval" => {
            "flowc's `file` channel keeps its log and its checkpoints in one `dir`"
        }
        "byteCapacityBufferPercentage" => "flowc's `byte_capacity` counts event bytes only, with no header allowance",
        "charset" | "inputCharset" | "deserializer" => "flowc reads UTF-8 lines; no setting needed",
        "selector.optional" => "flowc has no optional channels: every target is required",
        "hdfs.writeFormat"
        | "hdfs.callTimeout"
        | "hdfs.threadsPoolSize"
        | "hdfs.rollTimerPoolSize"
        | "hdfs.closeTries"
        | "hdfs.retryInterval"
        | "hdfs.minBlockReplicas"
        | "hdfs.inUsePrefix" => "an HDFS client setting; flowc has no HDFS client",
        _ => return None,
    })
}

/// Why a Flume component type has no flowc equivalent, and what to use instead.
fn hint(flume_type: &str) -> &'static str {
    match flume_type {
        "avro" | "thrift" => " (flowc agents share topics instead of Avro/Thrift RPC: declare a topic with `brokers`)",
        "org.apache.flume.channel.kafka.KafkaChannel" => " (declare a topic, or use a `file` channel)",
        "SPILLABLEMEMORY" | "jdbc" => " (use a `file` channel: durable, and as fast as the disk)",
        "syslogtcp" | "multiport_syslogtcp" | "syslogudp" => {
            " (read the lines with `netcat` and `| parse syslog as T`)"
        }
        _ => "",
    }
}

fn is_timestamp(t: &str) -> bool {
    matches!(t.trim(), "timestamp" | "org.apache.flume.interceptor.TimestampInterceptor$Builder")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(duration(3000), "3s");
        assert_eq!(duration(600_000), "10m");
        assert_eq!(duration(1500), "1500ms");
        assert_eq!(size(20), "20B");
        assert_eq!(size(1 << 20), "1MiB");
        assert_eq!(int_literal(10000), "10_000");
        assert_eq!(flow_string("a\"b\\c ${env:HOME} ${X} ${a-b}"), "\"a\\\"b\\\\c ${HOME} ${X} \\${a-b}\"");
        assert_eq!(inline_note("tail -F x //watch"), Some("//watch"));
        assert_eq!(inline_note("hdfs://h:8020/x"), None);
        assert_eq!(inline_note("a # b"), Some("# b"));
    }
}
