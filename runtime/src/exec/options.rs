//! Option values of a node with the signature's defaults filled in: what a connector reads.

use super::RunError;
use flowc_compiler::builtins::{ParamSig, ParamType};
use flowc_compiler::graph::{OptionMap, OptionValue};
use flowc_compiler::syntax::literals::{scale_of, Unit, DURATION_UNITS, SIZE_UNITS};
use flowc_compiler::template::{self, Template};
use std::time::Duration;

/// A node's written options, and its signature for the defaults.
#[derive(Debug, Clone, Copy)]
pub struct Opts<'a> {
    pub node: &'a str,
    pub values: &'a OptionMap,
    pub params: &'a [ParamSig],
}

impl<'a> Opts<'a> {
    pub fn new(node: &'a str, values: &'a OptionMap, params: &'a [ParamSig]) -> Opts<'a> {
        Opts { node, values, params }
    }

    /// The value written, or the signature's default decoded; `None` when neither exists.
    pub fn get(&self, name: &str) -> Option<OptionValue> {
        if let Some(v) = self.values.get(name) {
            return Some(v.clone());
        }
        let sig = self.params.iter().find(|p| p.name == name)?;
        default_value(&sig.ty, sig.default?)
    }

    fn wrong(&self, name: &str, what: &str) -> RunError {
        RunError::config(format!("{}: option `{name}` should be {what}", self.node))
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, RunError> {
        match self.get(name) {
            None => Ok(None),
            Some(OptionValue::Str(s) | OptionValue::Word(s)) => Ok(Some(interpolate(&s)?)),
            Some(OptionValue::Template(t)) => Ok(Some(interpolate(&t.to_string())?)),
            Some(_) => Err(self.wrong(name, "a string")),
        }
    }

    /// A path template as the checker parsed it, with `${NAME}` filled in in its literal text.
    pub fn template(&self, name: &str) -> Result<Option<Template>, RunError> {
        match self.get(name) {
            None => Ok(None),
            Some(OptionValue::Template(t)) => Ok(Some(t.map_literals(interpolate)?)),
            Some(OptionValue::Str(s)) => template::parse(&s)
                .map(Some)
                .map_err(|(_, bad)| RunError::config(format!("{}: `{bad}` is not a path escape", self.node))),
            Some(_) => Err(self.wrong(name, "a path template")),
        }
    }

    /// A list of strings, each interpolated (`${NAME}`); a single string counts as a list of one.
    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>, RunError> {
        match self.get(name) {
            None => Ok(None),
            Some(OptionValue::Str(s) | OptionValue::Word(s)) => Ok(Some(vec![interpolate(&s)?])),
            Some(OptionValue::List(items)) => items
                .into_iter()
                .map(|item| match item {
                    OptionValue::Str(s) | OptionValue::Word(s) => interpolate(&s),
                    _ => Err(self.wrong(name, "a list of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(self.wrong(name, "a list of strings")),
        }
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, RunError> {
        match self.get(name) {
            None => Ok(None),
            Some(OptionValue::Int(n)) => Ok(Some(n)),
            Some(OptionValue::Bytes(n)) => Ok(Some(n as i64)),
            Some(_) => Err(self.wrong(name, "an integer")),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, RunError> {
        match self.get(name) {
            None => Ok(None),
            Some(OptionValue::Bool(b)) => Ok(Some(b)),
            Some(_) => Err(self.wrong(name, "true or false")),
        }
    }

    pub fn duration(&self, name: &str) -> Result<Option<Duration>, RunError> {
        match self.get(name) {
            None => Ok(None),
            Some(OptionValue::DurationMs(ms)) => Ok(Some(Duration::from_millis(ms))),
            Some(_) => Err(self.wrong(name, "a duration")),
        }
    }

    pub fn size(&self, name: &str) -> Result<Option<u64>, RunError> {
        match self.get(name) {
            None => Ok(None),
            Some(OptionValue::Bytes(n)) => Ok(Some(n)),
            Some(OptionValue::Int(n)) if n >= 0 => Ok(Some(n as u64)),
            Some(_) => Err(self.wrong(name, "a size")),
        }
    }

    /// The value written or the signature's default; an error when the signature has none.
    fn defaulted<T>(&self, name: &str, value: Option<T>) -> Result<T, RunError> {
        value.ok_or_else(|| RunError::internal(format!("{}: option `{name}` has no value and no default", self.node)))
    }

    /// [`Opts::string`] of an option with a default.
    pub fn string_or_default(&self, name: &str) -> Result<String, RunError> {
        self.defaulted(name, self.string(name)?)
    }

    /// [`Opts::int`] of an option with a default.
    pub fn int_or_default(&self, name: &str) -> Result<i64, RunError> {
        self.defaulted(name, self.int(name)?)
    }

    /// [`Opts::bool`] of an option with a default.
    pub fn bool_or_default(&self, name: &str) -> Result<bool, RunError> {
        self.defaulted(name, self.bool(name)?)
    }

    /// [`Opts::duration`] of an option with a default.
    pub fn duration_or_default(&self, name: &str) -> Result<Duration, RunError> {
        self.defaulted(name, self.duration(name)?)
    }

    /// [`Opts::size`] of an option with a default.
    pub fn size_or_default(&self, name: &str) -> Result<u64, RunError> {
        self.defaulted(name, self.size(name)?)
    }

    /// A nested block (`roll = { … }`) with its own defaults.
    pub fn record(&self, name: &str) -> Result<Option<(OptionMap, &'static [ParamSig])>, RunError> {
        let Some(sig) = self.params.iter().find(|p| p.name == name) else { return Ok(None) };
        let ParamType::Record(params) = sig.ty else { return Err(self.wrong(name, "a block")) };
        match self.values.get(name) {
            None => Ok(Some((OptionMap::new(), params))),
            Some(OptionValue::Record(map)) => Ok(Some((map.clone(), params))),
            Some(_) => Err(self.wrong(name, "a block")),
        }
    }
}

/// Replaces `${NAME}` with the environment variable's value (an unset one is an error).
pub fn interpolate(text: &str) -> Result<String, RunError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &after[..end];
        match std::env::var(name) {
            Ok(value) => out.push_str(&value),
            Err(_) => return Err(RunError::config(format!("environment variable `{name}` is not set"))),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Decodes a default as written in the catalogue (`10_000`, `3s`, `128MiB`, `".COMPLETED"`, `never`).
pub fn default_value(ty: &ParamType, text: &str) -> Option<OptionValue> {
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return Some(OptionValue::Str(inner.to_string()));
    }
    let digits = |s: &str| s.replace('_', "");
    Some(match ty {
        ParamType::Int { .. } => OptionValue::Int(digits(text).parse().ok()?),
        ParamType::Float => OptionValue::Float(digits(text).parse().ok()?),
        ParamType::Bool => OptionValue::Bool(text.parse().ok()?),
        ParamType::Duration => OptionValue::DurationMs(quantity(text, DURATION_UNITS)?),
        ParamType::Size => OptionValue::Bytes(quantity(text, SIZE_UNITS)?),
        ParamType::PathTemplate => OptionValue::Template(template::parse(text).ok()?),
        ParamType::String | ParamType::Regex | ParamType::Address => OptionValue::Str(text.to_string()),
        _ => OptionValue::Word(text.to_string()),
    })
}

fn quantity(text: &str, units: &[Unit]) -> Option<u64> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '_'))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.replace('_', "").parse().ok()?;
    n.checked_mul(scale_of(units, unit)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_decode_as_written() {
        assert_eq!(default_value(&ParamType::Int { min: 1, max: i64::MAX }, "10_000"), Some(OptionValue::Int(10_000)));
        assert_eq!(default_value(&ParamType::Duration, "500ms"), Some(OptionValue::DurationMs(500)));
        assert_eq!(default_value(&ParamType::Duration, "5m"), Some(OptionValue::DurationMs(300_000)));
        assert_eq!(default_value(&ParamType::Size, "128MiB"), Some(OptionValue::Bytes(128 << 20)));
        assert_eq!(default_value(&ParamType::String, "\".COMPLETED\""), Some(OptionValue::Str(".COMPLETED".into())));
        assert_eq!(default_value(&ParamType::Enum(&["never"]), "never"), Some(OptionValue::Word("never".into())));
    }

    #[test]
    fn env_references_are_interpolated() {
        std::env::set_var("FLOWC_TEST_INTERP", "x");
        assert_eq!(interpolate("a/${FLOWC_TEST_INTERP}/b").unwrap(), "a/x/b");
        assert!(interpolate("${FLOWC_SURELY_UNSET_VAR}").is_err());
    }
}
