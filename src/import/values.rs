//! Flume option values rewritten as `.flow` literals and names.

use super::*;
use flowc_compiler::builtins::flume::FlumeConv;
use flowc_compiler::builtins::ParamSig;
use flowc_compiler::syntax::keywords::KEYWORDS;

/// A Flume value carrying what looks like an end-of-line note: ` //…` or ` #…`.
pub(super) fn inline_note(value: &str) -> Option<&str> {
    let bytes = value.as_bytes();
    (1..bytes.len()).find_map(|i| {
        let ws = bytes[i - 1] == b' ' || bytes[i - 1] == b'\t';
        (ws && (value[i..].starts_with("//") || value[i..].starts_with('#'))).then(|| &value[i..])
    })
}

/// A flowc string literal; Flume's `${env:X}` becomes flowc's `${X}`, other `${…}` stay literal.
pub(super) fn flow_string(value: &str) -> String {
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

pub(super) fn duration(ms: u64) -> String {
    match ms {
        0 => "0s".into(),
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1000) => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

pub(super) fn size(bytes: u64) -> String {
    const UNITS: &[(u64, &str)] = &[(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes > 0 && bytes.is_multiple_of(*unit) {
            return format!("{}{name}", bytes / unit);
        }
    }
    format!("{bytes}B")
}

pub(super) fn int_literal(n: i64) -> String {
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

pub(super) fn parse_u64(value: &str) -> Result<u64, String> {
    value.parse::<u64>().map_err(|_| format!("Flume cannot read `{value}` as a number (it would drop the component)"))
}

/// Converts a Flume value for a flowc option of type `ty`.
pub(super) fn convert(value: &str, conv: FlumeConv, ty: ParamType) -> Result<String, String> {
    let v = value.trim();
    match conv {
        FlumeConv::Ms => return Ok(duration(parse_u64(v)?)),
        FlumeConv::Secs => return Ok(duration(parse_u64(v)?.saturating_mul(1000))),
        FlumeConv::Bytes => return Ok(size(parse_u64(v)?)),
        FlumeConv::Same | FlumeConv::Combined => {}
    }
    match ty {
        ParamType::String | ParamType::PathTemplate | ParamType::Regex | ParamType::Address => Ok(flow_string(value)),
        // Flume writes lists of brokers and topics as one comma-separated value.
        ParamType::Brokers | ParamType::List(&ParamType::String) => {
            let items: Vec<String> =
                v.split(',').map(str::trim).filter(|item| !item.is_empty()).map(flow_string).collect();
            if items.is_empty() {
                return Err("names nothing".into());
            }
            Ok(format!("[{}]", items.join(", ")))
        }
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

/// The type of option `name` (`a.b` = option `b` of record option `a`) among `params`.
pub(super) fn param_type(params: &[ParamSig], name: &str) -> Option<ParamType> {
    let (outer, inner) = match name.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (name, None),
    };
    let param = params.iter().find(|p| p.name == outer)?;
    match (inner, param.ty) {
        (None, ty) => Some(ty),
        (Some(inner), ParamType::Record(fields)) => fields.iter().find(|p| p.name == inner).map(|p| p.ty),
        _ => None,
    }
}

pub(super) fn is_ident(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !KEYWORDS.contains(&name)
}

/// A flowc name for a Flume component name.
pub(super) fn sanitize(name: &str) -> String {
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
