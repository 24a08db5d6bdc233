//! Stream types flow along the edges: each node's output from its inputs, checked where they meet.

use super::build::Builder;
use super::errors;
use super::exprs::{self, type_of};
use super::names::Scope;
use super::{template, Ctx};
use crate::ast::{self, ParsePolicy, TransformKind};
use crate::builtins::{FormatSig, ParamType, StreamIn, StreamOut};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::graph::{EdgeKind, NodeKind, OptionValue};
use crate::suggest::did_you_mean;
use crate::types::{Field, RecordType, StreamType, Type};
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use petgraph::Direction;

/// The option every parse format takes: which string field to parse.
const PARSE_FIELD: crate::builtins::ParamSig = crate::builtins::ParamSig {
    name: "field",
    ty: ParamType::Field,
    required: false,
    default: Some("line"),
    doc: "The string field to parse.",
};

/// Computes every node's output type in topological order (the graph must be acyclic).
pub(crate) fn propagate(ctx: &mut Ctx, scope: &mut Scope, builder: &mut Builder, order: &[NodeIndex]) {
    for &index in order {
        let input = node_input(ctx, builder, index);
        let node = &builder.graph[index];
        let output = match &node.kind {
            NodeKind::Topic { .. } => node.output.clone(),
            NodeKind::Source { connector, options } => match connector.output {
                StreamOut::TopicOf(_) => input.clone(),
                StreamOut::Record { fields, lines_when } => {
                    let lines = lines_when.is_some_and(
                        |(param, word)| matches!(options.get(param), Some(OptionValue::Word(w)) if w == word),
                    );
                    Some(if lines {
                        StreamType::lines()
                    } else {
                        StreamType::typed(StreamOut::record_type(fields), None)
                    })
                }
                _ => Some(StreamType::lines()),
            },
            NodeKind::Channel { .. } | NodeKind::Group { .. } => input.clone(),
            NodeKind::Route(arms) => {
                if let Some(input) = &input {
                    for arm in arms {
                        if let Some(cond) = &arm.condition {
                            check_condition(ctx, cond, &input.record);
                        }
                    }
                }
                input.clone()
            }
            NodeKind::Transform(transform) => {
                let transform = transform.clone();
                input.as_ref().and_then(|input| apply(ctx, scope, &transform, input))
            }
            NodeKind::Sink { .. } => {
                if let Some(input) = &input {
                    check_sink(ctx, builder, index, input);
                }
                None
            }
        };
        builder.graph[index].output = output.clone();
        let out_edges: Vec<_> =
            builder.graph.edges_directed(index, Direction::Outgoing).map(|e| (e.id(), e.weight().kind)).collect();
        for (edge, kind) in out_edges {
            builder.graph[edge].ty = match kind {
                EdgeKind::DeadLetter => Some(StreamType::lines()),
                EdgeKind::GroupMember => input.clone(),
                // A `topic` sink appends what it is fed to its topic.
                _ if matches!(builder.graph[index].kind, NodeKind::Sink { .. }) => input.clone(),
                _ => output.clone(),
            };
        }
    }
}

/// The type arriving at a node; reports disagreeing inputs.
fn node_input(ctx: &mut Ctx, builder: &Builder, index: NodeIndex) -> Option<StreamType> {
    let node = &builder.graph[index];
    let mut incoming: Vec<_> = builder.graph.edges_directed(index, Direction::Incoming).collect();
    incoming.sort_by_key(|e| e.weight().span.start); // the first pipeline written sets the type

    if let NodeKind::Topic { .. } = node.kind {
        let expected = node.output.as_ref()?;
        for edge in &incoming {
            let Some(ty) = &edge.weight().ty else { continue };
            if !expected.accepts(ty) {
                let from = &builder.graph[edge.source()];
                let mut diag = Diagnostic::error(
                    codes::E0501,
                    format!("topic `{}` holds `{expected}`, but is fed `{ty}`", node.name),
                )
                .at(edge.weight().span, format!("`{}` sends `{ty}` here", shown(&from.name)))
                .also(
                    builder.topic_type_spans.get(&index).copied().unwrap_or(node.span),
                    format!("the topic holds `{expected}`"),
                )
                .help(mismatch_help(expected, ty));
                if expected.untyped {
                    diag = diag.help(format!(
                        "the topic has no type, so it holds lines; declare it: `topic {}: {ty}`",
                        node.name
                    ));
                } else if ty.untyped {
                    diag = diag.help(format!(
                        "these are untyped lines; parse them first: `| parse json as {expected} -> {}`",
                        // Through a `topic` sink, the pipeline ends at the sink.
                        if matches!(from.kind, NodeKind::Sink { .. }) { &from.name } else { &node.name }
                    ));
                }
                ctx.diags.push(diag);
            }
        }
        return Some(expected.clone());
    }
    let mut first: Option<(&StreamType, crate::span::Span, String)> = None;
    for edge in &incoming {
        let Some(ty) = &edge.weight().ty else { continue };
        match &first {
            None => first = Some((ty, edge.weight().span, shown(&builder.graph[edge.source()].name).to_string())),
            Some((first_ty, first_span, first_name)) if !first_ty.accepts(ty) => {
                ctx.diags.push(
                    Diagnostic::error(codes::E0504, format!("`{}` is fed two different record types", node.name))
                        .at(
                            edge.weight().span,
                            format!("`{}` sends `{ty}` here", shown(&builder.graph[edge.source()].name)),
                        )
                        .also(*first_span, format!("`{first_name}` sends `{first_ty}` here"))
                        .help(mismatch_help(first_ty, ty)),
                );
            }
            Some(_) => {}
        }
    }
    first.map(|(ty, _, _)| ty.clone())
}

/// The declared name a node's records come from: `web` for the generated `web|parse#1` or `access@A`.
fn shown(name: &str) -> &str {
    name.split(['|', '@']).next().unwrap_or(name)
}

fn mismatch_help(expected: &StreamType, found: &StreamType) -> String {
    let missing: Vec<&str> = expected.record.field_names().filter(|n| found.record.field(n).is_none()).collect();
    let extra: Vec<&str> = found.record.field_names().filter(|n| expected.record.field(n).is_none()).collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {}", missing.join(", ")));
    }
    if !extra.is_empty() {
        parts.push(format!("extra {}", extra.join(", ")));
    }
    if parts.is_empty() {
        parts.push("fields have different types".into());
    }
    format!("{}; use `select {{ … }}`, `set` or `drop` to make the records match", parts.join("; "))
}

fn check_condition(ctx: &mut Ctx, cond: &ast::Expr, input: &RecordType) {
    let ty = type_of(ctx, cond, input);
    if !matches!(ty.base(), Type::Bool | Type::Error) {
        ctx.diags.push(
            Diagnostic::error(codes::E0403, format!("a condition must be a boolean, not `{ty}`"))
                .at(cond.span, format!("this is `{ty}`"))
                .help("compare it: e.g. `status >= 500`, `path =~ \"^/api\"`, `host != \"\"`"),
        );
    } else if exprs::is_constant(cond) {
        ctx.diags.push(
            Diagnostic::warning(codes::W0007, "this condition does not depend on the record")
                .at(cond.span, "always the same result")
                .help(match quoted_field(cond, input) {
                    Some(field) => {
                        format!("`\"{field}\"` is a string; to read the field, write `{field}` without quotes")
                    }
                    None => "compare a field of the record, or remove the stage".to_string(),
                }),
        );
    }
}

/// A string literal in `expr` that names a field of `input` (`where "method" == "GET"`).
fn quoted_field<'e>(expr: &'e ast::Expr, input: &RecordType) -> Option<&'e str> {
    match &expr.kind {
        ast::ExprKind::Lit(ast::ValueKind::Str(s)) => input.field(&s.value).map(|_| s.value.as_str()),
        ast::ExprKind::Unary(_, e) => quoted_field(e, input),
        ast::ExprKind::Binary(_, a, b) => quoted_field(a, input).or_else(|| quoted_field(b, input)),
        ast::ExprKind::List(items) => items.iter().find_map(|e| quoted_field(e, input)),
        _ => None,
    }
}

/// The output of one transform.
fn apply(ctx: &mut Ctx, scope: &mut Scope, transform: &ast::Transform, input: &StreamType) -> Option<StreamType> {
    let record = &input.record;
    Some(match &transform.kind {
        TransformKind::Where(cond) => {
            check_condition(ctx, cond, record);
            input.clone()
        }
        TransformKind::Select(items) => {
            let mut out = RecordType::default();
            let mut written: Vec<&ast::Ident> = Vec::new();
            for item in items {
                let ty = match &item.expr {
                    Some(expr) => type_of(ctx, expr, record),
                    None => match record.field(&item.name.name) {
                        Some(f) => f.ty.clone(),
                        None => {
                            ctx.diags.push(errors::unknown_field(&item.name.name, item.name.span, record));
                            Type::Error
                        }
                    },
                };
                if let Some(first) = written.iter().find(|w| w.name == item.name.name) {
                    ctx.diags.push(duplicate_output(&item.name, first));
                    continue;
                }
                written.push(&item.name);
                out.fields.push(Field { name: item.name.name.clone(), ty });
            }
            StreamType::typed(out, None)
        }
        TransformKind::Set(assignments) => {
            let mut out = record.clone();
            let mut seen: Vec<&ast::Ident> = Vec::new();
            for assignment in assignments {
                let ty = type_of(ctx, &assignment.expr, record);
                if let Some(first) = seen.iter().find(|w| w.name == assignment.name.name) {
                    ctx.diags.push(duplicate_output(&assignment.name, first));
                    continue;
                }
                seen.push(&assignment.name);
                out = out.with(&assignment.name.name, ty);
            }
            StreamType { record: out, untyped: input.untyped && seen.iter().all(|n| n.name == "line"), name: None }
        }
        TransformKind::Drop(fields) => {
            let mut out = record.clone();
            for field in fields {
                if out.field(&field.name).is_none() {
                    ctx.diags.push(errors::unknown_field(&field.name, field.span, &out));
                    continue;
                }
                out = out.without(&field.name);
            }
            StreamType { record: out, untyped: false, name: None }
        }
        TransformKind::Parse(parse) => return check_parse(ctx, scope, parse, transform, input),
    })
}

fn duplicate_output(name: &ast::Ident, first: &ast::Ident) -> Diagnostic {
    Diagnostic::error(codes::E0410, format!("field `{}` is written twice", name.name))
        .at(name.span, "written again here")
        .also(first.span, "first written here")
        .help("each output field is written once; remove one of them")
}

fn check_parse(
    ctx: &mut Ctx,
    scope: &mut Scope,
    parse: &ast::Parse,
    transform: &ast::Transform,
    input: &StreamType,
) -> Option<StreamType> {
    let target = super::names::resolve_inline(ctx, scope, &parse.ty);
    if !matches!(target, Type::Record(_) | Type::Error) {
        ctx.diags.push(
            Diagnostic::error(
                codes::E0311,
                format!("`parse` makes records, so its target must be a record type, not `{target}`"),
            )
            .at(parse.ty.span, format!("`{target}` is not a record"))
            .help("declare the fields: `parse json as { status: int }` or `type T = { … }` and `parse json as T`"),
        );
    }
    let name = match &parse.ty.kind {
        ast::TypeExprKind::Name(ident) => Some(ident.name.clone()),
        _ => None,
    };
    let Some(format) = ctx.registry.format(&parse.format.name) else {
        let names: Vec<&str> = ctx.registry.formats.iter().map(|f| f.name).collect();
        let help = match did_you_mean(&parse.format.name, names.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("the formats are: {}", names.join(", ")),
        };
        ctx.diags.push(
            Diagnostic::error(codes::E0308, format!("unknown format `{}`", parse.format.name))
                .at(parse.format.span, "`parse` does not know this format")
                .help(help),
        );
        return record_of(target, name);
    };
    let before = ctx.diags.len();
    if let Some(options) = &parse.options {
        // `field` (which string field to parse) belongs to every format.
        let mut params = vec![PARSE_FIELD];
        params.extend_from_slice(format.params);
        super::options::check(
            ctx,
            options,
            &params,
            super::options::FlumeNames::of(&[]),
            &format!("`parse {}`", format.name),
        );
    }
    // A misspelt option (`feild`) is reported once, not again as "nothing to parse".
    let options_ok = ctx.diags.len() == before;
    match (&parse.pattern, format.needs_pattern) {
        (None, true) => ctx.diags.push(
            Diagnostic::error(codes::E0310, format!("`parse {}` needs a pattern", format.name))
                .at(parse.format.span, "no pattern given")
                .help(format!("write it after the format: `parse {} \"(?P<host>\\\\S+) …\" as T`", format.name)),
        ),
        (Some((_, span)), false) => ctx.diags.push(
            Diagnostic::error(codes::E0310, format!("`parse {}` takes no pattern", format.name))
                .at(*span, "a pattern is only for `parse regex`")
                .help("remove the string, or use `parse regex \"…\" as T`"),
        ),
        (Some((pattern, span)), true) => match regex::Regex::new(&pattern.value) {
            Err(err) => ctx.diags.push(errors::invalid_regex(*span, &err)),
            Ok(re) => {
                if let Type::Record(record) = &target {
                    let groups: Vec<&str> = re.capture_names().flatten().collect();
                    for field in &record.fields {
                        if !groups.contains(&field.name.as_str()) && !matches!(field.ty, Type::Optional(_)) {
                            ctx.diags.push(
                                Diagnostic::error(codes::E0311, format!("the pattern has no group `{}`", field.name))
                                    .at(*span, format!("no `(?P<{}>…)` in this pattern", field.name))
                                    .also(parse.ty.span, format!("`{}` is a field of the target type", field.name))
                                    .help(format!(
                                        "add a named group `(?P<{}>…)`, or make the field optional",
                                        field.name
                                    )),
                            );
                        }
                    }
                }
            }
        },
        (None, false) => {}
    }
    if let (Some(fixed), Type::Record(record)) = (format.fields, &target) {
        for field in &record.fields {
            match fixed.iter().find(|(n, _)| *n == field.name) {
                None => {
                    let help = match did_you_mean(&field.name, fixed.iter().map(|(n, _)| *n)) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!(
                            "`{}` gives: {}",
                            format.name,
                            fixed.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                        ),
                    };
                    ctx.diags.push(
                        Diagnostic::error(
                            codes::E0311,
                            format!("the `{}` format has no field `{}`", format.name, field.name),
                        )
                        .at(parse.ty.span, format!("`{}` is asked for here", field.name))
                        .help(help),
                    );
                }
                Some((_, scalar)) => {
                    let given = exprs::scalar_type(*scalar);
                    if !field.ty.accepts(&given) && given != Type::String {
                        ctx.diags.push(
                            Diagnostic::error(
                                codes::E0311,
                                format!("`{}` gives `{}` as `{given}`, not `{}`", format.name, field.name, field.ty),
                            )
                            .at(parse.ty.span, format!("`{}: {}` is asked for here", field.name, field.ty))
                            .help(format!("declare `{}: {given}`", field.name)),
                        );
                    }
                }
            }
        }
    }
    if let Type::Record(record) = &target {
        warn_sometimes_absent(ctx, parse, format, record);
    }
    let from = parse.field(|name| input.record.field(name).is_some());
    match input.record.field(&from) {
        _ if !options_ok => {}
        Some(field) if matches!(field.ty.base(), Type::String | Type::Bytes | Type::Error) => {}
        other => {
            let what = other.map_or_else(|| format!("has no field `{from}`"), |f| format!("has `{from}: {}`", f.ty));
            ctx.diags.push(
                Diagnostic::error(codes::E0505, format!("`parse` reads the string field `{from}`, but the stream {what}"))
                    .at(transform.span, "nothing to parse here")
                    .help("parse untyped lines straight from a source, or name a string field: `parse json { field = \"msg\" } as T`"),
            );
        }
    }
    if let ParsePolicy::Unknown(word) = &parse.policy {
        let help = match did_you_mean(&word.name, ["drop", "fail"]) {
            Some(close) => format!("did you mean `else {close}`?"),
            None => "write `else drop` (count and drop), `else fail` (stop), or `else -> topic_or_sink` (dead letter)"
                .into(),
        };
        ctx.diags.push(
            Diagnostic::error(codes::E0306, format!("`{}` is not an error policy", word.name))
                .at(word.span, "unknown policy")
                .help(help),
        );
    }
    record_of(target, name)
}

/// W0009: the target type requires a field some real lines lack (Apache's `-` request has no
/// method, path or protocol), so `parse` drops those lines — unless they go to a dead-letter target.
fn warn_sometimes_absent(ctx: &mut Ctx, parse: &ast::Parse, format: &FormatSig, record: &RecordType) {
    if matches!(parse.policy, ParsePolicy::DeadLetter(_)) {
        return;
    }
    let required: Vec<&str> = record
        .fields
        .iter()
        .filter(|f| {
            format.sometimes_absent.contains(&f.name.as_str()) && !matches!(f.ty, Type::Optional(_) | Type::Error)
        })
        .map(|f| f.name.as_str())
        .collect();
    if required.is_empty() {
        return;
    }
    let listed = required.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let optional = format.sometimes_absent.iter().map(|n| format!("`{n}: string?`")).collect::<Vec<_>>().join(", ");
    ctx.diags.push(
        Diagnostic::warning(
            codes::W0009,
            format!(
                "`parse {}` drops the lines whose request is `-` or not `METHOD PATH PROTOCOL`: the type requires {listed}",
                format.name
            ),
        )
        .at(parse.ty.span, format!("requires {listed}, which a `-` request does not have"))
        .help(format!(
            "declare {optional} to keep those lines as records (and `request: string?` for the request as sent), or route them with `else -> rejects`"
        )),
    );
}

fn record_of(ty: Type, name: Option<String>) -> Option<StreamType> {
    match ty {
        Type::Record(record) => Some(StreamType::typed(record, name)),
        _ => None,
    }
}

/// A sink's needs: typed records for columnar formats, fields named by options and path templates.
fn check_sink(ctx: &mut Ctx, builder: &Builder, index: NodeIndex, input: &StreamType) {
    let node = &builder.graph[index];
    let NodeKind::Sink { connector, options } = &node.kind else { return };
    let written = builder.written_options.get(&index).copied();
    let span_of =
        |name: &str| written.and_then(|o| o.entries.iter().find(|e| e.key.name == name)).map(|e| e.value.span);
    if let StreamIn::RecordWhen { param, values } = connector.input {
        let chosen = match options.get(param) {
            Some(OptionValue::Word(w)) => Some(w.as_str()),
            _ => None,
        };
        if let Some(format) = chosen.filter(|f| values.contains(f)) {
            if input.untyped {
                let incoming = builder.graph.edges_directed(index, Direction::Incoming).next().map(|e| e.weight().span);
                let mut diag = Diagnostic::error(codes::E0502, format!("`{format}` needs typed records, but sink `{}` is fed untyped lines", node.name))
                    .at(span_of(param).unwrap_or(node.span), format!("`{format}` writes one column per field"))
                    .help("parse the lines first: `| parse json as MyType` (or csv, regex, combined), or write `format = lines`");
                if let Some(span) = incoming {
                    diag = diag.also(span, "untyped lines arrive here");
                }
                ctx.diags.push(diag);
            }
        }
    }
    if connector.input == StreamIn::Record && input.untyped {
        ctx.diags.push(
            Diagnostic::error(
                codes::E0502,
                format!("sink `{}` needs typed records, but is fed untyped lines", node.name),
            )
            .at(node.span, "this sink writes fields")
            .help("parse the lines first: `| parse json as MyType`"),
        );
    }
    for param in connector.params {
        let Some(value) = options.get(param.name) else { continue };
        match (param.ty, value) {
            (ParamType::Field, OptionValue::Word(field)) if input.record.field(field).is_none() => {
                ctx.diags.push(errors::unknown_field(field, span_of(param.name).unwrap_or(node.span), &input.record));
            }
            (ParamType::PathTemplate, OptionValue::Template(path)) => {
                template::check_fields(ctx, path, span_of(param.name).unwrap_or(node.span), input);
            }
            _ => {}
        }
    }
}
