//! The connector catalogue: the static [`Registry`] built from one module per kind of builtin.
//!
//! Defaults are written exactly as they would appear in a `.flow` file (`10_000`, `3s`, `128MiB`,
//! `".COMPLETED"`, `interval`); the tests at the bottom of this file check that every one of them parses
//! as its declared type, so the reference and the checker never disagree.

use flowc_compiler::builtins::{Clash, Conflict, ParamSig, ParamType, Registry};

pub mod formats;
pub mod functions;
pub mod topic;

/// Options that contradict each other wherever a block has both (E0307).
const CONFLICTS: &[Conflict] = &[
    Conflict {
        param: "transaction_capacity",
        other: "capacity",
        when: Clash::Exceeds,
        message: "has `transaction_capacity = {param}`, more than its `capacity` of {other}",
        help: "one transaction must fit in the channel: make `transaction_capacity` at most `capacity`",
    },
    Conflict {
        param: "use_local_time",
        other: "time_field",
        when: Clash::WrittenAs("true"),
        message: "sets both `time_field` and `use_local_time = true`",
        help: "choose one clock: `time_field` buckets by the record's time, `use_local_time` by the time of writing",
    },
    Conflict {
        param: "completed_suffix",
        other: "delete_policy",
        when: Clash::OtherIs("immediate"),
        message: "deletes finished files, so `completed_suffix` is never used",
        help: "remove `completed_suffix`, or keep the files with `delete_policy = never`",
    },
    Conflict {
        param: "fsync_interval",
        other: "fsync",
        when: Clash::OtherIsNot("interval"),
        message: "sets `fsync_interval`, but `fsync = {other}` never syncs on an interval",
        help: "remove `fsync_interval`, or write `fsync = interval`",
    },
];

/// Every builtin flowc knows; the connectors in the order [`crate::connectors`] lists them.
pub static REGISTRY: Registry = Registry {
    connectors: &crate::connectors::SIGNATURES,
    topic_params: topic::PARAMS,
    topic_flume: topic::FLUME,
    formats: formats::FORMATS,
    functions: functions::FUNCTIONS,
    conflicts: CONFLICTS,
};

/// A required option: it has no default.
pub const fn required(name: &'static str, ty: ParamType, doc: &'static str) -> ParamSig {
    ParamSig { name, ty, required: true, default: None, doc }
}

/// An optional option with a default, written as in a `.flow` file.
pub const fn optional(name: &'static str, ty: ParamType, default: &'static str, doc: &'static str) -> ParamSig {
    ParamSig { name, ty, required: false, default: Some(default), doc }
}

/// An optional option whose absence means something no literal expresses (the doc says what).
pub const fn unset(name: &'static str, ty: ParamType, doc: &'static str) -> ParamSig {
    ParamSig { name, ty, required: false, default: None, doc }
}

/// An integer at least `min`.
pub const fn int_from(min: i64) -> ParamType {
    ParamType::Int { min, max: i64::MAX }
}

/// A batch size: how many events move in one channel transaction.
pub const fn batch_size(default: &'static str) -> ParamSig {
    optional("batch_size", int_from(1), default, "Events per batch handed to the channel in one put.")
}

/// How often a sink tries a failed write again before the run fails; unset, it tries without end.
pub const fn max_retries() -> ParamSig {
    unset(
        "max_retries",
        int_from(0),
        "Times a failed write is tried again (the pause doubles from 200ms up to 30s) before the sink fails for good and the run stops; default: without end, as Flume's sink runner. An error retrying cannot fix (permission denied, a read-only disk, refused credentials) fails at once.",
    )
}

/// Object-store connection options shared by the `object` source and the `files` sink.
pub(crate) mod object_store {
    use super::{optional, unset};
    use flowc_compiler::builtins::{ParamSig, ParamType};

    pub(crate) const ENDPOINT: ParamSig = unset(
        "endpoint",
        ParamType::String,
        "Object-store endpoint URL for S3-compatible servers (e.g. `\"http://127.0.0.1:9000\"`); default: `${AWS_ENDPOINT_URL}` or the provider's own.",
    );
    pub(crate) const REGION: ParamSig = unset(
        "region",
        ParamType::String,
        "Region of the bucket; default: `${AWS_REGION}` (or `${AWS_DEFAULT_REGION}`).",
    );
    pub(crate) const ACCESS_KEY_ID: ParamSig = unset(
        "access_key_id",
        ParamType::String,
        "Access key id; default: `${AWS_ACCESS_KEY_ID}` or the provider's usual credential chain. Write `\"${MY_KEY}\"` rather than the key itself.",
    );
    pub(crate) const SECRET_ACCESS_KEY: ParamSig = unset(
        "secret_access_key",
        ParamType::String,
        "Secret access key; default: `${AWS_SECRET_ACCESS_KEY}` or the provider's usual credential chain. Write `\"${MY_SECRET}\"`, never the secret itself.",
    );
    pub(crate) const ALLOW_HTTP: ParamSig = optional(
        "allow_http",
        ParamType::Bool,
        "false",
        "Allow plain `http://` endpoints (local test servers); default also honours `${AWS_ALLOW_HTTP}`.",
    );
}

#[cfg(test)]
mod tests {
    use super::REGISTRY;
    use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamSig, ParamType, Role, StreamIn, StreamOut};
    use flowc_compiler::syntax::literals::{Unit, DURATION_UNITS, SIZE_UNITS};
    use std::collections::HashSet;

    /// Every option list in the registry, named for failure messages (nested records included).
    fn all_param_lists() -> Vec<(String, &'static [ParamSig])> {
        let mut lists: Vec<(String, &'static [ParamSig])> = Vec::new();
        for sig in REGISTRY.connectors {
            lists.push((format!("{} {}", sig.role.as_str(), sig.kind), sig.params));
        }
        lists.push(("topic".into(), REGISTRY.topic_params));
        for format in REGISTRY.formats {
            lists.push((format!("format {}", format.name), format.params));
        }
        let mut i = 0;
        while i < lists.len() {
            let (owner, params) = lists[i].clone();
            for param in params {
                if let ParamType::Record(fields) = param.ty {
                    lists.push((format!("{owner}.{}", param.name), fields));
                }
            }
            i += 1;
        }
        lists
    }

    fn is_snake_case(name: &str) -> bool {
        let mut chars = name.chars();
        matches!(chars.next(), Some('a'..='z'))
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !name.ends_with('_')
            && !name.contains("__")
    }

    /// Digits with `_` separators (`10_000`), as an integer.
    fn parse_int(text: &str) -> Option<i64> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if digits.is_empty()
            || !digits.starts_with(|c: char| c.is_ascii_digit())
            || digits.ends_with('_')
            || digits.contains("__")
            || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
        {
            return None;
        }
        let value: i64 = digits.replace('_', "").parse().ok()?;
        Some(if negative { -value } else { value })
    }

    /// A number followed by one of `units` (longest unit first, so `ms` is not read as `m`).
    fn number_with_unit(text: &str, units: &[Unit]) -> bool {
        let digits_end = text.find(|c: char| !(c.is_ascii_digit() || c == '_')).unwrap_or(text.len());
        let (number, unit) = text.split_at(digits_end);
        matches!(parse_int(number), Some(n) if n >= 0) && units.iter().any(|u| u.name == unit)
    }

    fn is_quoted_string(text: &str) -> bool {
        text.len() >= 2
            && text.starts_with('"')
            && text.ends_with('"')
            && !text[1..text.len() - 1].replace("\\\"", "").contains('"')
    }

    fn is_identifier(text: &str) -> bool {
        matches!(text.chars().next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }

    /// Whether `text` is a literal of type `ty` as it would be written in a `.flow` file.
    fn default_parses(ty: &ParamType, text: &str) -> bool {
        match ty {
            ParamType::String | ParamType::Regex | ParamType::PathTemplate | ParamType::Address => {
                is_quoted_string(text)
            }
            ParamType::Int { min, max } => {
                matches!(parse_int(text), Some(n) if *min <= n && n <= *max)
            }
            ParamType::Float => parse_int(text).is_some() || text.replace('_', "").parse::<f64>().is_ok(),
            ParamType::Bool => text == "true" || text == "false",
            ParamType::Duration => number_with_unit(text, DURATION_UNITS),
            ParamType::Size => number_with_unit(text, SIZE_UNITS),
            ParamType::Enum(words) => {
                let word = if is_quoted_string(text) { &text[1..text.len() - 1] } else { text };
                words.contains(&word)
            }
            ParamType::Brokers => text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).is_some_and(|inner| {
                !inner.trim().is_empty() && inner.split(',').all(|part| is_quoted_string(part.trim()))
            }),
            ParamType::List(item) => match text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                Some(inner) if inner.trim().is_empty() => true,
                Some(inner) => inner.split(',').all(|part| default_parses(item, part.trim())),
                None => false,
            },
            // A block's defaults live on its fields; a default for the block itself is not supported.
            ParamType::Record(_) => false,
            ParamType::SinkRef | ParamType::TopicRef | ParamType::Field => is_identifier(text),
        }
    }

    #[test]
    fn default_checker_accepts_and_rejects() {
        assert!(default_parses(&ParamType::Duration, "500ms"));
        assert!(default_parses(&ParamType::Duration, "168h"));
        assert!(!default_parses(&ParamType::Duration, "3"));
        assert!(!default_parses(&ParamType::Duration, "3MiB"));
        assert!(default_parses(&ParamType::Size, "128MiB"));
        assert!(!default_parses(&ParamType::Size, "128mib"));
        assert!(!default_parses(&ParamType::Size, "3s"));
        assert!(default_parses(&ParamType::Int { min: 1, max: i64::MAX }, "10_000"));
        assert!(!default_parses(&ParamType::Int { min: 1, max: i64::MAX }, "0"));
        assert!(!default_parses(&ParamType::Int { min: 0, max: 10 }, "1__0"));
        assert!(default_parses(&ParamType::String, "\".COMPLETED\""));
        assert!(!default_parses(&ParamType::String, ".COMPLETED"));
        assert!(default_parses(&ParamType::Enum(&["a", "b"]), "b"));
        assert!(default_parses(&ParamType::Enum(&["a", "b"]), "\"a\""));
        assert!(!default_parses(&ParamType::Enum(&["a", "b"]), "c"));
        assert!(default_parses(&ParamType::List(&ParamType::SinkRef), "[k1, k2]"));
    }

    #[test]
    fn every_sink_the_executor_retries_takes_max_retries() {
        // The `topic` sink appends to the embedded log inside the run; every other sink's writes go
        // through the executor's retries.
        for sig in REGISTRY.connectors.iter().filter(|s| s.role == Role::Sink && s.kind != "topic") {
            assert!(sig.params.iter().any(|p| p.name == "max_retries"), "sink {} has no `max_retries`", sig.kind);
        }
    }

    #[test]
    fn kinds_are_unique_per_role() {
        let mut seen = HashSet::new();
        for sig in REGISTRY.connectors {
            assert!(seen.insert((sig.role, sig.kind)), "duplicate {} `{}`", sig.role.as_str(), sig.kind);
            assert!(is_snake_case(sig.kind), "kind `{}` is not snake_case", sig.kind);
        }
    }

    #[test]
    fn formats_and_functions_are_unique() {
        let mut formats = HashSet::new();
        for format in REGISTRY.formats {
            assert!(formats.insert(format.name), "duplicate format `{}`", format.name);
            assert!(!format.summary.is_empty(), "format `{}` has no summary", format.name);
            if let Some(fields) = format.fields {
                let mut names = HashSet::new();
                for (name, _) in fields {
                    assert!(names.insert(*name), "format `{}` repeats field `{name}`", format.name);
                }
            }
        }
        let mut functions = HashSet::new();
        for function in REGISTRY.functions {
            assert!(functions.insert(function.name), "duplicate function `{}`", function.name);
            assert!(is_snake_case(function.name), "function `{}` is not snake_case", function.name);
            assert!(!function.doc.is_empty(), "function `{}` has no doc", function.name);
        }
    }

    #[test]
    fn param_names_are_unique_and_snake_case() {
        for (owner, params) in all_param_lists() {
            let mut seen = HashSet::new();
            for param in params {
                assert!(seen.insert(param.name), "{owner}: duplicate option `{}`", param.name);
                assert!(is_snake_case(param.name), "{owner}: option `{}` is not snake_case", param.name);
            }
        }
    }

    #[test]
    fn params_are_documented_on_one_line() {
        for (owner, params) in all_param_lists() {
            for param in params {
                assert!(!param.doc.trim().is_empty(), "{owner}: option `{}` has no doc", param.name);
                assert!(!param.doc.contains('\n'), "{owner}: option `{}` doc spans lines", param.name);
            }
        }
    }

    #[test]
    fn required_params_have_no_default() {
        for (owner, params) in all_param_lists() {
            for param in params {
                if param.required {
                    assert_eq!(param.default, None, "{owner}: required option `{}` has a default", param.name);
                }
            }
        }
    }

    #[test]
    fn every_default_parses_as_its_type() {
        for (owner, params) in all_param_lists() {
            for param in params {
                if let Some(default) = param.default {
                    assert!(
                        default_parses(&param.ty, default),
                        "{owner}: default `{default}` of `{}` is not a {}",
                        param.name,
                        param.ty.describe()
                    );
                }
            }
        }
    }

    #[test]
    fn types_are_well_formed() {
        fn check(owner: &str, name: &str, ty: &ParamType) {
            match ty {
                ParamType::Int { min, max } => {
                    assert!(min <= max, "{owner}: `{name}` has an empty range")
                }
                ParamType::Enum(words) => {
                    assert!(!words.is_empty(), "{owner}: `{name}` has no enum words");
                    let unique: HashSet<_> = words.iter().collect();
                    assert_eq!(unique.len(), words.len(), "{owner}: `{name}` repeats an enum word");
                }
                ParamType::List(item) => check(owner, name, item),
                ParamType::Record(fields) => {
                    assert!(!fields.is_empty(), "{owner}: `{name}` is an empty block")
                }
                _ => {}
            }
        }
        for (owner, params) in all_param_lists() {
            for param in params {
                check(&owner, param.name, &param.ty);
            }
        }
    }

    fn param<'a>(sig: &'a ConnectorSig, name: &str) -> Option<&'a ParamSig> {
        sig.params.iter().find(|param| param.name == name)
    }

    #[test]
    fn stream_shapes_name_existing_params() {
        for sig in REGISTRY.connectors {
            if let StreamIn::RecordWhen { param: name, values } = sig.input {
                let p = param(sig, name).unwrap_or_else(|| {
                    panic!("{} `{}`: RecordWhen names no option `{name}`", sig.role.as_str(), sig.kind)
                });
                if let ParamType::Enum(words) = p.ty {
                    for value in values {
                        assert!(words.contains(value), "`{}`: `{value}` is not a `{name}` word", sig.kind);
                    }
                }
            }
            if let StreamOut::Record { lines_when: Some((name, word)), .. } = sig.output {
                let p =
                    param(sig, name).unwrap_or_else(|| panic!("`{}`: lines_when names no option `{name}`", sig.kind));
                assert!(matches!(p.ty, ParamType::Enum(words) if words.contains(&word)), "`{}`: `{word}`", sig.kind);
            }
            if let StreamOut::TopicOf(name) = sig.output {
                let p = param(sig, name).unwrap_or_else(|| {
                    panic!("{} `{}`: TopicOf names no option `{name}`", sig.role.as_str(), sig.kind)
                });
                assert_eq!(p.ty, ParamType::TopicRef, "`{}`: `{name}` must be a topic name", sig.kind);
                assert!(p.required, "`{}`: `{name}` must be required", sig.kind);
            }
        }
    }

    #[test]
    fn roles_have_the_right_stream_shapes() {
        for sig in REGISTRY.connectors {
            match sig.role {
                Role::Source => {
                    assert_ne!(sig.output, StreamOut::PassThrough, "source `{}` passes through", sig.kind);
                    assert_eq!(sig.input, StreamIn::Any, "source `{}` has an input", sig.kind);
                }
                Role::Channel | Role::Sink => {
                    assert_eq!(sig.output, StreamOut::PassThrough, "{} `{}`", sig.role.as_str(), sig.kind)
                }
            }
        }
    }

    #[test]
    fn every_connector_is_documented() {
        for sig in REGISTRY.connectors {
            let name = format!("{} `{}`", sig.role.as_str(), sig.kind);
            assert!(!sig.summary.trim().is_empty(), "{name} has no summary");
            assert!(!sig.summary.contains('\n'), "{name}: summary spans lines");
            assert!(!sig.doc.trim().is_empty(), "{name} has no doc");
            assert!(!sig.guarantee_note.trim().is_empty(), "{name} has no guarantee note");
        }
    }

    #[test]
    fn every_flume_key_names_an_option_and_every_flume_type_one_connector() {
        let param = |params: &[ParamSig], name: &str| -> bool {
            let (outer, inner) = name.split_once('.').map_or((name, None), |(a, b)| (a, Some(b)));
            match (params.iter().find(|p| p.name == outer).map(|p| p.ty), inner) {
                (Some(_), None) => true,
                (Some(ParamType::Record(fields)), Some(inner)) => fields.iter().any(|f| f.name == inner),
                _ => false,
            }
        };
        let mut claimed: Vec<(Role, bool, &str)> = Vec::new();
        let owners = REGISTRY.connectors.iter().map(|s| (Some(s.role), s.flume, s.params, s.kind));
        for (role, types, params, kind) in owners.chain([(None, REGISTRY.topic_flume, REGISTRY.topic_params, "topic")])
        {
            for t in types {
                assert!(!t.names.is_empty(), "{kind}: a Flume type without a name");
                for k in t.keys {
                    assert!(
                        param(params, k.param),
                        "{kind}: Flume's `{}` becomes `{}`, no option of it",
                        k.key,
                        k.param
                    );
                }
                for (k, _) in t.fixed {
                    assert!(param(params, k), "{kind}: fixed option `{k}` is no option of it");
                }
                for name in t.names {
                    let entry = (role.unwrap_or(Role::Channel), t.processor, *name);
                    assert!(!claimed.contains(&entry), "Flume's `{name}` is replaced twice");
                    claimed.push(entry);
                }
            }
        }
    }

    /// An option's doc saying it is Flume's `X` (a name one could write as an option) is what
    /// "did you mean" answers for `X`, through the signature's Flume keys.
    #[test]
    fn flume_names_in_option_docs_are_flume_keys() {
        use flowc_compiler::builtins::flume::option_for_key;
        for sig in REGISTRY.connectors {
            let inner = sig.params.iter().flat_map(|p| match p.ty {
                ParamType::Record(fields) => {
                    fields.iter().map(|f| (format!("{} = {{ {} = … }}", p.name, f.name), f.doc)).collect()
                }
                _ => vec![(p.name.to_string(), p.doc)],
            });
            for (name, doc) in inner {
                for mention in doc.split("Flume's `").skip(1).filter_map(|rest| rest.split('`').next()) {
                    if mention.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        assert_eq!(
                            option_for_key(sig.flume, None, mention).as_deref(),
                            Some(name.as_str()),
                            "{} `{}`: Flume's `{mention}`",
                            sig.role.as_str(),
                            sig.kind
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_seed_flume_components_are_present() {
        let expect = [
            (Role::Source, "spooldir", "spooldir"),
            (Role::Source, "exec", "exec"),
            (Role::Source, "tail", "TAILDIR"),
            (Role::Source, "netcat", "netcat"),
            (Role::Channel, "memory", "memory"),
            (Role::Channel, "file", "file"),
            (Role::Sink, "logger", "logger"),
            (Role::Sink, "files", "hdfs"),
        ];
        for (role, kind, flume) in expect {
            let sig = REGISTRY.connector(role, kind).unwrap_or_else(|| panic!("missing {} `{kind}`", role.as_str()));
            assert_eq!(sig.flume_name(), Some(flume), "{kind} replaces Flume's {flume}");
        }
        // The seed's second agent: files { path, prefix, round, roll = { interval, size, count }, batch }.
        let files = REGISTRY.connector(Role::Sink, "files").unwrap();
        for name in ["path", "prefix", "round", "roll", "batch"] {
            assert!(param(files, name).is_some(), "files has no `{name}`");
        }
        let Some(ParamType::Record(roll)) = param(files, "roll").map(|p| p.ty) else {
            panic!("files.roll is not a block");
        };
        for name in ["interval", "size", "count", "idle"] {
            assert!(roll.iter().any(|p| p.name == name), "files.roll has no `{name}`");
        }
    }

    #[test]
    fn declared_guarantees_match_what_a_crash_loses() {
        let guarantee = |role, kind| REGISTRY.connector(role, kind).unwrap().guarantee;
        assert_eq!(guarantee(Role::Source, "exec"), Guarantee::BestEffort);
        assert_eq!(guarantee(Role::Channel, "memory"), Guarantee::AtMostOnceOnCrash);
        assert_eq!(guarantee(Role::Channel, "file"), Guarantee::AtLeastOnce);
        let memory = REGISTRY.connector(Role::Channel, "memory").unwrap();
        assert!(memory.guarantee_note.contains("capacity"), "memory must say how much a crash loses");
    }

    #[test]
    fn columnar_formats_need_records() {
        let files = REGISTRY.connector(Role::Sink, "files").unwrap();
        assert_eq!(files.input, StreamIn::RecordWhen { param: "format", values: &["csv", "parquet", "arrow"] });
    }

    #[test]
    fn topic_params_have_kafka_shapes() {
        let partitions = REGISTRY.topic_params.iter().find(|p| p.name == "partitions").unwrap();
        assert_eq!(partitions.ty, ParamType::Int { min: 1, max: 100_000 });
        for name in ["retention", "retention_bytes", "key", "fsync", "brokers"] {
            assert!(REGISTRY.topic_params.iter().any(|p| p.name == name), "topic has no `{name}`");
        }
    }
}
