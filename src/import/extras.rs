//! Options that need more than a rename: netcat's address, TAILDIR's file groups, the HDFS sink's path and roll.

use super::*;

impl Translator {
    pub(super) fn address(
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

    pub(super) fn taildir(
        &mut self,
        full: &str,
        keys: &BTreeMap<String, Val>,
        used: &mut HashSet<String>,
        decl: &mut Decl,
    ) {
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

    pub(super) fn hdfs_extras(
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
}
