//! Option blocks checked against a signature: unknown, missing, mistyped and out-of-range options.

use super::errors::invalid_regex;
use super::Ctx;
use crate::ast::{self, ValueKind};
use crate::builtins::{Clash, ParamSig, ParamType};
use crate::diagnostic::Diagnostic;
use crate::graph::{OptionMap, OptionValue};
use crate::suggest::did_you_mean;

/// Checks `options` against `params`; `owner` names what they belong to ("spooldir source `r1`").
pub(crate) fn check(ctx: &mut Ctx, options: &ast::Options, params: &[ParamSig], owner: &str) -> OptionMap {
    let mut map = OptionMap::new();
    for entry in &options.entries {
        let Some(param) = params.iter().find(|p| p.name == entry.key.name) else {
            let names = params.iter().map(|p| p.name);
            let help = match did_you_mean(&entry.key.name, names.clone())
                .map(str::to_string)
                .or_else(|| flume_name(&entry.key.name, params))
                .or_else(|| flume_spelling(&entry.key.name, params).map(str::to_string))
            {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("{owner} takes: {}", params.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")),
            };
            ctx.diags.push(
                Diagnostic::error("E0302", format!("{owner} has no option `{}`", entry.key.name))
                    .at(entry.key.span, "unknown option")
                    .help(help),
            );
            continue;
        };
        if let Some(value) = check_value(ctx, &entry.value, &param.ty, param.name, owner) {
            map.insert(param.name.to_string(), value);
        }
    }
    conflicts(ctx, options, &map, params, owner);
    for param in params.iter().filter(|p| p.required) {
        if !options.entries.iter().any(|e| e.key.name == param.name) {
            ctx.diags.push(
                Diagnostic::error("E0303", format!("{owner} needs option `{}`", param.name))
                    .at(
                        options.span,
                        if options.span.is_empty() {
                            format!("no option block: `{{ {} = … }}` belongs here", param.name)
                        } else {
                            format!("`{}` is missing from this block", param.name)
                        },
                    )
                    .help(format!("add `{} = …` ({}): {}", param.name, param.ty.describe(), param.doc)),
            );
        }
    }
    map
}

/// Options that are each fine alone but contradict each other (E0307): the registry's rules.
fn conflicts(ctx: &mut Ctx, options: &ast::Options, map: &OptionMap, params: &[ParamSig], owner: &str) {
    let written = |name: &str| options.entries.iter().find(|e| e.key.name == name).map(|e| e.value.span);
    let int = |name: &str| match map.get(name) {
        Some(OptionValue::Int(n)) => Some(*n),
        Some(_) => None,
        None => params.iter().find(|p| p.name == name)?.default?.replace('_', "").parse().ok(),
    };
    let text = |name: &str| match map.get(name) {
        Some(OptionValue::Word(w)) => Some(w.clone()),
        Some(OptionValue::Bool(b)) => Some(b.to_string()),
        Some(OptionValue::Int(n)) => Some(n.to_string()),
        Some(OptionValue::Str(s)) => Some(s.clone()),
        Some(OptionValue::Template(t)) => Some(t.to_string()),
        _ => None,
    };
    for rule in ctx.registry.conflicts {
        if !params.iter().any(|p| p.name == rule.param) || !params.iter().any(|p| p.name == rule.other) {
            continue;
        }
        let Some(at) = written(rule.param) else { continue };
        let (mine, theirs) = (text(rule.param).unwrap_or_default(), text(rule.other).unwrap_or_default());
        let both = written(rule.other).is_some();
        let clash = match rule.when {
            Clash::Exceeds => matches!((int(rule.param), int(rule.other)), (Some(a), Some(b)) if a > b),
            Clash::WrittenAs(value) => both && mine == value,
            Clash::OtherIs(value) => both && theirs == value,
            Clash::OtherIsNot(value) => both && theirs != value,
        };
        if !clash {
            continue;
        }
        let theirs = match rule.when {
            Clash::Exceeds => int(rule.other).map(|n| n.to_string()).unwrap_or(theirs),
            _ => theirs,
        };
        let message = rule.message.replace("{param}", &mine).replace("{other}", &theirs);
        let mut diag = Diagnostic::error("E0307", format!("{owner} {message}"))
            .at(at, format!("conflicts with `{}`", rule.other))
            .help(rule.help);
        if let Some(span) = written(rule.other) {
            diag = diag.also(span, format!("`{}` is set here", rule.other));
        }
        ctx.diags.push(diag);
    }
}

/// The option whose documentation says it is Flume's `written` (`fileSuffix` → `completed_suffix`),
/// also inside blocks (`rollInterval` → `roll = { interval = … }`).
fn flume_name(written: &str, params: &[ParamSig]) -> Option<String> {
    let mention = format!("Flume's `{written}`");
    params.iter().find_map(|p| match p.ty {
        _ if p.doc.contains(&mention) => Some(p.name.to_string()),
        ParamType::Record(inner) => {
            inner.iter().find(|q| q.doc.contains(&mention)).map(|q| format!("{} = {{ {} = … }}", p.name, q.name))
        }
        _ => None,
    })
}

/// Flume's camelCase and dotted option names, mapped to ours by shape.
fn flume_spelling<'a>(written: &str, params: &'a [ParamSig]) -> Option<&'a str> {
    let mut snake = String::new();
    for c in written.chars() {
        if c.is_ascii_uppercase() {
            snake.push('_');
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    params.iter().map(|p| p.name).find(|name| *name == snake || snake.ends_with(name) || name.ends_with(snake.as_str()))
}

fn check_value(ctx: &mut Ctx, value: &ast::Value, ty: &ParamType, name: &str, owner: &str) -> Option<OptionValue> {
    let wrong = |ctx: &mut Ctx, help: String| {
        ctx.diags.push(
            Diagnostic::error("E0304", format!("option `{name}` of {owner} expects {}", ty.describe()))
                .at(value.span, format!("this is {}", value.kind.describe()))
                .help(help),
        );
        None
    };
    match (ty, &value.kind) {
        (_, ValueKind::Error) => None,
        (ParamType::String, ValueKind::Str(s)) => Some(OptionValue::Str(s.value.clone())),
        (ParamType::PathTemplate, ValueKind::Str(s)) => {
            super::template::check_escapes(ctx, &s.value, value.span).map(OptionValue::Template)
        }
        (ParamType::Enum(words), ValueKind::Int(n)) if words.contains(&n.to_string().as_str()) => {
            Some(OptionValue::Word(n.to_string()))
        }
        (ParamType::Regex, ValueKind::Str(s)) => {
            if let Err(err) = regex::Regex::new(&s.value) {
                let mut diag = invalid_regex(value.span, &err);
                if s.value.starts_with('*') {
                    let tail = regex::escape(s.value.trim_start_matches('*')).replace('\\', "\\\\");
                    diag.help = Some(format!(
                        "`{name}` is a regular expression, not a glob: for names ending in `{}` write `\"{tail}$\"`",
                        s.value.trim_start_matches('*')
                    ));
                }
                ctx.diags.push(diag);
                return None;
            }
            Some(OptionValue::Str(s.value.clone()))
        }
        (ParamType::Address, ValueKind::Str(s)) => {
            if let Err(why) = check_address(&s.value) {
                ctx.diags.push(
                    Diagnostic::error("E0315", format!("`{}` is not a network address", s.value))
                        .at(value.span, why)
                        .help("write \"host:port\", e.g. \"127.0.0.1:44444\"; listeners bind to loopback unless you say otherwise"),
                );
                return None;
            }
            if let Some(host) = non_loopback_host(&s.value) {
                ctx.diags.push(
                    Diagnostic::warning("W0008", format!("{owner} listens on `{host}`, which other hosts can reach"))
                        .at(value.span, "not a loopback address")
                        .help("the protocol has no authentication: use \"127.0.0.1:PORT\" unless other hosts must send to it"),
                );
            }
            Some(OptionValue::Str(s.value.clone()))
        }
        (ParamType::Int { min, max }, ValueKind::Int(n)) => {
            if n < min || n > max {
                let range =
                    if *max == i64::MAX { format!("at least {min}") } else { format!("between {min} and {max}") };
                ctx.diags.push(
                    Diagnostic::error("E0305", format!("option `{name}` of {owner} must be {range}"))
                        .at(value.span, format!("{n} is out of range"))
                        .help(format!("use a value {}", range.replace("at least", "of at least"))),
                );
                return None;
            }
            Some(OptionValue::Int(*n))
        }
        (ParamType::Float, ValueKind::Float(x)) => Some(OptionValue::Float(*x)),
        (ParamType::Float, ValueKind::Int(n)) => Some(OptionValue::Float(*n as f64)),
        (ParamType::Bool, ValueKind::Bool(b)) => Some(OptionValue::Bool(*b)),
        (ParamType::Duration, ValueKind::Duration(ms)) => Some(OptionValue::DurationMs(*ms)),
        (ParamType::Size, ValueKind::Size(bytes)) => Some(OptionValue::Bytes(*bytes)),
        (ParamType::Duration, ValueKind::Int(n)) => wrong(ctx, format!("add a unit: `{n}s`, `{n}m` or `{n}ms`")),
        (ParamType::Duration, ValueKind::Size(_)) => {
            wrong(ctx, "this is a size; a duration is written like `3s`, `10m`, `168h`".into())
        }
        (ParamType::Size, ValueKind::Int(n)) => wrong(ctx, format!("add a unit: `{n}B`, `{n}KiB` or `{n}MiB`")),
        (ParamType::Size, ValueKind::Duration(_)) => {
            wrong(ctx, "this is a duration; a size is written like `20B`, `64KiB`, `128MiB`".into())
        }
        (ParamType::Enum(words), ValueKind::Ident(word)) => enum_word(ctx, words, word, value, name, owner),
        (ParamType::Enum(words), ValueKind::Str(s)) => enum_word(ctx, words, &s.value, value, name, owner),
        (ParamType::SinkRef | ParamType::TopicRef | ParamType::Field, ValueKind::Ident(word)) => {
            Some(OptionValue::Word(word.clone()))
        }
        (ParamType::SinkRef | ParamType::TopicRef | ParamType::Field, ValueKind::Str(s)) => {
            Some(OptionValue::Word(s.value.clone()))
        }
        (ParamType::List(item), ValueKind::List(values)) => {
            let mut out = Vec::new();
            for v in values {
                out.push(check_value(ctx, v, item, name, owner)?);
            }
            Some(OptionValue::List(out))
        }
        (ParamType::Record(params), ValueKind::Record(options)) => {
            Some(OptionValue::Record(check(ctx, options, params, &format!("`{name}` of {owner}"))))
        }
        (ParamType::String | ParamType::PathTemplate | ParamType::Regex | ParamType::Address, ValueKind::Ident(w)) => {
            wrong(ctx, format!("quote it: `{name} = \"{w}\"`"))
        }
        (ParamType::String | ParamType::PathTemplate | ParamType::Regex | ParamType::Address, _) => {
            wrong(ctx, format!("write a string in double quotes: `{name} = \"…\"`"))
        }
        (ParamType::Int { .. } | ParamType::Float, ValueKind::Str(s)) if s.value.trim().parse::<f64>().is_ok() => {
            wrong(ctx, format!("remove the quotes: `{name} = {}`", s.value.trim()))
        }
        (ParamType::Bool, ValueKind::Str(s)) if matches!(s.value.as_str(), "true" | "false") => {
            wrong(ctx, format!("remove the quotes: `{name} = {}`", s.value))
        }
        (ParamType::List(_), ValueKind::Ident(w)) => wrong(ctx, format!("write a list in brackets: `{name} = [{w}]`")),
        (ParamType::List(_), _) => wrong(ctx, format!("write a list in brackets: `{name} = [ … ]`")),
        (ParamType::Record(params), _) => {
            wrong(ctx, format!("write a block: `{name} = {{ {} = … }}`", params.first().map_or("option", |p| p.name)))
        }
        _ => wrong(ctx, format!("write {}", ty.describe())),
    }
}

fn enum_word(
    ctx: &mut Ctx,
    words: &[&str],
    word: &str,
    value: &ast::Value,
    name: &str,
    owner: &str,
) -> Option<OptionValue> {
    if words.contains(&word) {
        return Some(OptionValue::Word(word.to_string()));
    }
    // Kafka's and Flume's words for the same choices.
    let synonym = match word {
        "latest" => Some("end"),
        "earliest" => Some("beginning"),
        "inode" => Some("descriptor"),
        "roundrobin" | "round-robin" => Some("round_robin"),
        _ => None,
    }
    .filter(|s| words.contains(s));
    let help = match did_you_mean(word, words.iter().copied()).or(synonym) {
        Some(close) => format!("did you mean `{close}`? The choices are {}", words.join(", ")),
        None => format!("the choices are {}", words.join(", ")),
    };
    ctx.diags.push(
        Diagnostic::error("E0306", format!("`{word}` is not a choice for option `{name}` of {owner}"))
            .at(value.span, "unknown value")
            .help(help),
    );
    None
}

/// W0008: the host of a listening address, when it is not loopback (`0.0.0.0`, a LAN address, a
/// host name other than `localhost`); `None` for loopback or a `${ENV}` value (known only at run time).
fn non_loopback_host(text: &str) -> Option<&str> {
    let (host, _) = text.rsplit_once(':')?;
    if text.contains("${") || host.eq_ignore_ascii_case("localhost") {
        return None;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_loopback() => None,
        _ => Some(host),
    }
}

fn check_address(text: &str) -> Result<(), String> {
    if text.contains("${") {
        return Ok(()); // `${ENV}` is filled in when the pipeline runs; checked then
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err("no `:port`".into());
    };
    if host.is_empty() {
        return Err("no host before `:`".into());
    }
    match port.parse::<u16>() {
        Ok(_) => Ok(()),
        Err(_) => Err(format!("`{port}` is not a port (0–65535)")),
    }
}
