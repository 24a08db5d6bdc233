//! `flowc import`: a Flume agent's properties file translated into a `.flow` file.
//!
//! Pure functions on text: [`translate`] takes the properties text (and an agent name) and returns the
//! `.flow` text and one [`ImportDiagnostic`] per key it could not translate or that Flume itself would
//! have ignored, with the properties file's line. Option names and types come from the stdlib's
//! connector signatures (`flowc_stdlib::registry()`), so what is written is what `flowc check` reads.
//!
//! What is translated: sources (`spooldir`, `exec`, `TAILDIR`, `netcat`, `http`, `seq`, the stress
//! and Kafka sources), channels (`memory`, `file`, and the Kafka channel as a `topic` with `brokers`), sinks (`logger`, `hdfs`, `file_roll`, the Kafka
//! sink), interceptors (`timestamp`, `host`, `static`, UUID, `regex_filter`) as `set`/`where`, selectors
//! (replicating → fan-out, multiplexing → `route`), sink groups (`failover`, `load_balance`), and
//! several sinks competing for one channel (→ a `load_balance` group). Everything else is reported.

pub mod properties;

use flowc_compiler::builtins::flume::{FlumeConv::Combined, FlumeKey};
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

mod emit;
mod extras;
mod interceptors;
mod kafka;
mod tables;
mod values;

use tables::*;
use values::*;

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
    /// Topics declared for Kafka channels → the consumer group their sinks read as.
    topics: HashMap<String, String>,
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
            topics: HashMap::new(),
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
        let out = self.fresh_name(section, name);
        if out != name {
            self.warn(line, format!("`{name}` is written `{out}` (flowc names are one namespace of identifiers)"));
        }
        out
    }

    /// A flowc name for Flume's `name` no other declaration has, remembered for the section.
    fn fresh_name(&mut self, section: &'static str, name: &str) -> String {
        let mut out = sanitize(name);
        if self.used.contains(&out) {
            let role = &section[..section.len() - 1];
            out = format!("{out}_{role}");
            while self.used.contains(&out) {
                out.push('_');
            }
        }
        self.used.insert(out.clone());
        self.names.insert((section, name.to_string()), out.clone());
        out
    }

    /// Translates the options of one component through its table; returns the keys it used.
    fn options(
        &mut self,
        kind: &Kind,
        comp_keys: &BTreeMap<String, Val>,
        full: &str,
        decl: &mut Decl,
    ) -> HashSet<String> {
        let mut used = HashSet::new();
        for (k, v) in kind.flume.fixed {
            decl.options.push((k.to_string(), v.to_string()));
        }
        let mut nested: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for FlumeKey { key: flume, param: flowc, conv } in kind.flume.keys.iter().filter(|k| k.conv != Combined) {
            let Some(val) = comp_keys.get(*flume) else { continue };
            used.insert(flume.to_string());
            let Some(value) = self.checked_value(full, flume, val, decl) else { continue };
            let Some(ty) = param_type(kind.params, flowc) else {
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
        unneeded: &[(&str, &str)],
        keys: &BTreeMap<String, Val>,
        used: &HashSet<String>,
        decl: &mut Decl,
    ) {
        for (key, val) in keys {
            if used.contains(key) || key == "type" {
                continue;
            }
            let why = unneeded.iter().find(|(k, _)| k == key).map(|(_, why)| *why);
            let message = match why.or_else(|| known_without_equivalent(key)) {
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

    fn render(&mut self) -> String {
        let mut out = format!("// Flume agent `{}`, translated by `flowc import`.\n", comment_text(&self.agent));
        for s in &self.skipped {
            out.push_str(&format!("// not imported: {}\n", comment_text(s)));
        }
        out.push('\n');
        for d in &mut self.decls {
            d.notes
                .sort_by_key(|n| n.split(':').next().and_then(|l| l.trim_start_matches("line ").parse::<usize>().ok()));
        }
        for role in ["topic", "source", "channel", "sink"] {
            let mut any = false;
            for d in self.decls.iter().filter(|d| d.role == role) {
                any = true;
                match d.role {
                    "topic" => out.push_str(&format!("topic {} {{", d.name)),
                    _ => out.push_str(&format!("{} {} = {} {{", d.role, d.name, d.kind)),
                }
                for n in &d.notes {
                    out.push_str(&format!("\n// {}", comment_text(n)));
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

/// Text for a `//` comment, on one line: a key or value holding a line break (a properties escape
/// `\n`, a continuation) keeps it as `\n`, so the rest of the text cannot become code.
fn comment_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
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
        assert_eq!(comment_text("rou\ndUnit = minute\r\u{0}"), "rou\\ndUnit = minute\\r\\u{0}");
    }
}
