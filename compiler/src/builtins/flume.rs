//! Flume's names for a connector, as data: the component types it replaces and how each of their
//! keys carries over to its options. `flowc import` translates with them and the checker's "did you
//! mean" reads them; nothing else holds Flume names.

/// A Flume component type a connector (or a topic declaration) replaces.
#[derive(Debug, Clone, Copy)]
pub struct FlumeType {
    /// What Flume's `type` (for a sink group, `processor.type`) says for it: short names and class
    /// names. The first is the name the docs show.
    pub names: &'static [&'static str],
    /// `true` when the names are a sink group's `processor.type`, not a component's `type`.
    pub processor: bool,
    /// The keys that carry over, each to one option.
    pub keys: &'static [FlumeKey],
    /// Options the translation always writes (e.g. `mode = sequence` for `seq`).
    pub fixed: &'static [(&'static str, &'static str)],
    /// Keys of this type flowc does without, and why.
    pub unneeded: &'static [(&'static str, &'static str)],
}

impl FlumeType {
    /// A component type whose `keys` carry over.
    pub const fn component(names: &'static [&'static str], keys: &'static [FlumeKey]) -> FlumeType {
        FlumeType { names, processor: false, keys, fixed: &[], unneeded: &[] }
    }

    /// A sink processor (`processor.type`) whose `keys` carry over.
    pub const fn processor(names: &'static [&'static str], keys: &'static [FlumeKey]) -> FlumeType {
        FlumeType { names, processor: true, keys, fixed: &[], unneeded: &[] }
    }

    /// The same, also writing `fixed` options.
    pub const fn fixed(self, fixed: &'static [(&'static str, &'static str)]) -> FlumeType {
        FlumeType { fixed, ..self }
    }

    /// The same, with keys flowc does without.
    pub const fn unneeded(self, unneeded: &'static [(&'static str, &'static str)]) -> FlumeType {
        FlumeType { unneeded, ..self }
    }

    /// Whether Flume's type name `name` is this type.
    pub fn is(&self, name: &str) -> bool {
        self.names.contains(&name)
    }
}

/// One Flume key and the option it becomes: `param` `a.b` is option `b` of record option `a`.
#[derive(Debug, Clone, Copy)]
pub struct FlumeKey {
    pub key: &'static str,
    pub param: &'static str,
    pub conv: FlumeConv,
}

/// A key that carries over to `param`, its value converted by `conv`.
pub const fn key(key: &'static str, param: &'static str, conv: FlumeConv) -> FlumeKey {
    FlumeKey { key, param, conv }
}

/// How a Flume value becomes a flowc value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlumeConv {
    /// By the flowc option's type.
    Same,
    /// Milliseconds → a duration.
    Ms,
    /// Seconds → a duration.
    Secs,
    /// Bytes → a size.
    Bytes,
    /// Read together with other keys by the importer (netcat's `bind` and `port` → `address`).
    Combined,
}

/// The option whose Flume key is `written` — the key itself or its last dotted parts
/// (`fileSuffix`, `rollInterval` for `hdfs.rollInterval`) — among `types`, as "did you mean" says
/// it: at the top of a block `roll = { interval = … }` for an option inside a record option; inside
/// record option `block`, only that record's options.
pub fn option_for_key(types: &[FlumeType], block: Option<&str>, written: &str) -> Option<String> {
    let matches = |k: &FlumeKey| k.key == written || k.key.strip_suffix(written).is_some_and(|p| p.ends_with('.'));
    types.iter().flat_map(|t| t.keys).filter(|k| matches(k)).find_map(|k| match (block, k.param.split_once('.')) {
        (None, None) => Some(k.param.to_string()),
        (None, Some((outer, inner))) => Some(format!("{outer} = {{ {inner} = … }}")),
        (Some(block), Some((outer, inner))) if outer == block => Some(inner.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HDFS: &[FlumeType] = &[FlumeType::component(
        &["hdfs"],
        &[
            key("hdfs.filePrefix", "prefix", FlumeConv::Same),
            key("hdfs.rollInterval", "roll.interval", FlumeConv::Secs),
        ],
    )];

    #[test]
    fn keys_are_found_whole_or_by_their_last_parts() {
        assert_eq!(option_for_key(HDFS, None, "filePrefix").as_deref(), Some("prefix"));
        assert_eq!(option_for_key(HDFS, None, "hdfs.filePrefix").as_deref(), Some("prefix"));
        assert_eq!(option_for_key(HDFS, None, "rollInterval").as_deref(), Some("roll = { interval = … }"));
        assert_eq!(option_for_key(HDFS, Some("roll"), "rollInterval").as_deref(), Some("interval"));
        assert_eq!(option_for_key(HDFS, Some("roll"), "filePrefix"), None);
        assert_eq!(option_for_key(HDFS, None, "Prefix"), None);
    }
}
