//! Flume interceptors as `set`/`where` stages, and channel selectors as fan-out or `route`.

use super::*;

impl Translator {
    /// Flume interceptors as `| set …` and `| where …` stages.
    pub(super) fn interceptors(
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

    pub(super) fn set_field(&mut self, sets: &mut Vec<String>, field: &str, expr: &str, ty: &Val, full: &str) {
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
    pub(super) fn selector(
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
}
