//! Option blocks checked against a signature: unknown, missing, mistyped and out-of-range options.

use super::errors::invalid_regex;
use super::Ctx;
use crate::ast::{self, ValueKind};
use crate::builtins::flume::{option_for_key, FlumeType};
use crate::builtins::{Clash, ParamSig, ParamType};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::graph::{OptionMap, OptionValue};
use crate::suggest::did_you_mean;

/// The Flume keys "did you mean" knows in an option block: those of the Flume types its owner
/// replaces, inside record option `block` when it is one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlumeNames<'a> {
    pub(crate) types: &'a [FlumeType],
    pub(crate) block: Option<&'a str>,
}

impl<'a> FlumeNames<'a> {
    /// The keys of `types`, at the top of the block.
    pub(crate) fn of(types: &'a [FlumeType]) -> Self {
        FlumeNames { types, block: None }
    }
}

/// Checks `options` against `params`; `owner` names what they belong to ("spooldir source `r1`").
pub(crate) fn check(
    ctx: &mut Ctx,
    options: &ast::Options,
    params: &[ParamSig],
    flume: FlumeNames<'_>,
    owner: &str,
) -> OptionMap {
    let mut map = OptionMap::new();
    for entry in &options.entries {
        let Some(param) = params.iter().find(|p| p.name == entry.key.name) else {
            let names = params.iter().map(|p| p.name);
            let help = match synonym(&entry.key.name, params)
                .or_else(|| did_you_mean(&entry.key.name, names.clone()))
                .map(str::to_string)
                .or_else(|| option_for_key(flume.types, flume.block, &entry.key.name))
                .or_else(|| flume_spelling(&entry.key.name, params).map(str::to_string))
            {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("{owner} takes: {}", params.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")),
            };
            ctx.diags.push(
                Diagnostic::error(codes::E0302, format!("{owner} has no option `{}`", entry.key.name))
                    .at(entry.key.span, "unknown option")
                    .help(help),
            );
            continue;
        };
        if let Some(value) = check_value(ctx, &entry.value, &param.ty, param.name, flume, owner) {
            map.insert(param.name.to_string(), value);
        }
    }
    conflicts(ctx, options, &map, params, owner);
    for param in params.iter().filter(|p| p.required) {
        if !options.entries.iter().any(|e| e.key.name == param.name) {
            ctx.diags.push(
                Diagnostic::error(codes::E0303, format!("{owner} needs option `{}`", param.name))
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
        let mut diag = Diagnostic::error(codes::E0307, format!("{owner} {message}"))
            .at(at, format!("conflicts with `{}`", rule.other))
            .help(rule.help);
        if let Some(span) = written(rule.other) {
            diag = diag.also(span, format!("`{}` is set here", rule.other));
        }
        ctx.diags.push(diag);
    }
}

/// Other tools' words for options flowc names differently (Kafka's `auto.offset.reset` and
/// kcat's `-o` say where to start: `from`), when the block has that option.
fn synonym<'a>(written: &str, params: &'a [ParamSig]) -> Option<&'a str> {
    let ours = match written {
        "start" | "offset" | "offset_reset" | "auto_offset_reset" | "reset" => "from",
        "topic" => "topics",
        "bootstrap_servers" | "servers" | "broker" => "brokers",
        "group_id" | "consumer_group" => "group",
        _ => return None,
    };
    params.iter().map(|p| p.name).find(|name| *name == ours)
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

fn check_value(
    ctx: &mut Ctx,
    value: &ast::Value,
    ty: &ParamType,
    name: &str,
    flume: FlumeNames<'_>,
    owner: &str,
) -> Option<OptionValue> {
    let wrong = |ctx: &mut Ctx, help: String| {
        ctx.diags.push(
            Diagnostic::error(codes::E0304, format!("option `{name}` of {owner} expects {}", ty.describe()))
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
                    Diagnostic::error(codes::E0315, format!("`{}` is not a network address", s.value))
                        .at(value.span, why)
                        .help("write \"host:port\", e.g. \"127.0.0.1:44444\"; listeners bind to loopback unless you say otherwise"),
                );
                return None;
            }
            if let Some(host) = non_loopback_host(&s.value) {
                ctx.diags.push(
                    Diagnostic::warning(
                        codes::W0008,
                        format!("{owner} listens on `{host}`, which other hosts can reach"),
                    )
                    .at(value.span, "not a loopback address")
                    .help(
                        "the protocol has no authentication: use \"127.0.0.1:PORT\" unless other hosts must send to it",
                    ),
                );
            }
            Some(OptionValue::Str(s.value.clone()))
        }
        (ParamType::Brokers, ValueKind::Str(s)) => {
            // Flume's (and librdkafka's) form: one string, brokers separated by commas.
            let entries: Vec<&str> = s.value.split(',').map(str::trim).filter(|b| !b.is_empty()).collect();
            if entries.is_empty() {
                ctx.diags.push(no_broker(name, owner, value.span, "no broker in this string"));
                return None;
            }
            let mut ok = true;
            for entry in &entries {
                if let Err(why) = check_address(entry) {
                    ctx.diags.push(bad_broker(entry, value.span, why));
                    ok = false;
                }
            }
            ok.then(|| OptionValue::List(entries.iter().map(|b| OptionValue::Str(b.to_string())).collect()))
        }
        (ParamType::Brokers, ValueKind::List(items)) => {
            if items.is_empty() {
                ctx.diags.push(no_broker(name, owner, value.span, "an empty list"));
                return None;
            }
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match &item.kind {
                    ValueKind::Error => return None,
                    ValueKind::Str(s) => match check_address(s.value.trim()) {
                        Ok(()) => out.push(OptionValue::Str(s.value.trim().to_string())),
                        Err(why) => ctx.diags.push(bad_broker(&s.value, item.span, why)),
                    },
                    _ => {
                        return wrong(ctx, format!("write each broker as a string: `{name} = [\"kafka1:9092\", …]`"));
                    }
                }
            }
            (out.len() == items.len()).then_some(OptionValue::List(out))
        }
        (ParamType::Brokers, ValueKind::Ident(w)) => wrong(ctx, format!("quote it: `{name} = [\"{w}:9092\"]`")),
        (ParamType::Brokers, _) => wrong(ctx, format!("write a list of \"host:port\": `{name} = [\"kafka1:9092\"]`")),
        (ParamType::Int { min, max }, ValueKind::Int(n)) => {
            if n < min || n > max {
                let range =
                    if *max == i64::MAX { format!("at least {min}") } else { format!("between {min} and {max}") };
                ctx.diags.push(
                    Diagnostic::error(codes::E0305, format!("option `{name}` of {owner} must be {range}"))
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
                out.push(check_value(ctx, v, item, name, flume, owner)?);
            }
            Some(OptionValue::List(out))
        }
        (ParamType::Record(params), ValueKind::Record(options)) => {
            let inner = FlumeNames { types: flume.types, block: Some(name) };
            Some(OptionValue::Record(check(ctx, options, params, inner, &format!("`{name}` of {owner}"))))
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
        Diagnostic::error(codes::E0306, format!("`{word}` is not a choice for option `{name}` of {owner}"))
            .at(value.span, "unknown value")
            .help(help),
    );
    None
}

/// E0315 for one broker of a `brokers` list: `why` says what is wrong with `entry`.
fn bad_broker(entry: &str, span: crate::span::Span, why: String) -> Diagnostic {
    Diagnostic::error(codes::E0315, format!("`{entry}` is not a broker address"))
        .at(span, why)
        .help("write each broker as \"host:port\", e.g. `brokers = [\"kafka1:9092\", \"kafka2:9092\"]`")
}

/// E0315 for a `brokers` value that names none.
fn no_broker(name: &str, owner: &str, span: crate::span::Span, label: &str) -> Diagnostic {
    Diagnostic::error(codes::E0315, format!("option `{name}` of {owner} names no broker"))
        .at(span, label)
        .help("write each broker as \"host:port\", e.g. `brokers = [\"kafka1:9092\", \"kafka2:9092\"]`")
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
